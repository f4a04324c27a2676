//! minstrel's database schema as sea-orm migrations, for `SQLite` and Postgres alike.
//!
//! [`Migrator`] lists every migration in order; `minstrel migrate` and the binary's startup apply
//! them through `minstrel_db::SqlDatabase`. Every migration is reversible (`down` undoes `up`
//! exactly) and runs inside a transaction on every backend, so a failed migration leaves the
//! schema as it was.
//!
//! Conventions shared by every table:
//! - Ids are `BIGINT` (Discord snowflakes and Telegram ids exceed 32 bits). Discord ids are
//!   unsigned in the domain and stay below `2^63`; the adapters convert them with checked
//!   conversions.
//! - Instants are `BIGINT` milliseconds since the Unix epoch, in columns ending in `_ms`: exact,
//!   the same on both backends, and free of time-zone handling.
//! - Structured values that are only ever read whole (a queue's tracks, a filter chain, lists of
//!   presets) are JSON in `TEXT` columns.
//!
//! This crate knows sea-orm-migration only: not the domain, the ports or any adapter.

use sea_orm_migration::prelude::*;

/// The trait whose associated functions run [`Migrator`] (`up`, `down`, `get_pending_migrations`…).
pub use sea_orm_migration::MigratorTrait;

mod m20261123_000001_users_and_settings;
mod m20261123_000002_playlists;
mod m20261123_000003_history;
mod m20261123_000004_queue_snapshots;
mod m20261123_000005_telegram;
mod m20261123_000006_audit_log;
mod m20261207_000007_queue_current_attempts;
mod m20261207_000008_default_voice_channel;
mod steps;

use steps::Applied;

/// Every table the migrations create, in creation order (the migration bookkeeping table
/// `seaql_migrations` is not among them).
pub const TABLES: [&str; 12] = [
    "users",
    "user_settings",
    "guild_settings",
    "playlists",
    "playlist_tracks",
    "active_playlists",
    "user_history",
    "queue_snapshots",
    "telegram_chat_links",
    "telegram_chat_members",
    "link_codes",
    "audit_log",
];

/// minstrel's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Applied(m20261123_000001_users_and_settings::Migration)),
            Box::new(Applied(m20261123_000002_playlists::Migration)),
            Box::new(Applied(m20261123_000003_history::Migration)),
            Box::new(Applied(m20261123_000004_queue_snapshots::Migration)),
            Box::new(Applied(m20261123_000005_telegram::Migration)),
            Box::new(Applied(m20261123_000006_audit_log::Migration)),
            Box::new(Applied(m20261207_000007_queue_current_attempts::Migration)),
            Box::new(Applied(m20261207_000008_default_voice_channel::Migration)),
        ]
    }
}
