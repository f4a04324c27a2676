//! sea-orm row types, one module per table. They mirror the migrations in `migrations/` and
//! never leave this crate: the repositories convert them to and from domain types.

// The sea-orm derives generate `pub` items (`Column`, `ActiveModel`, …) inside these private
// modules; they are crate-internal however they are spelled.
#![allow(unreachable_pub)]

pub(crate) mod active_playlists;
pub(crate) mod audit_log;
pub(crate) mod guild_settings;
pub(crate) mod link_codes;
pub(crate) mod playlist_tracks;
pub(crate) mod playlists;
pub(crate) mod queue_snapshots;
pub(crate) mod telegram_chat_links;
pub(crate) mod telegram_chat_members;
pub(crate) mod user_history;
pub(crate) mod user_settings;
pub(crate) mod users;
