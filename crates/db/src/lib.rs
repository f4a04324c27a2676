//! minstrel's persistence adapters: the implementations of the storage ports of
//! `minstrel_app::ports` (`SettingsRepo`, `PlaylistRepo`, `HistoryRepo`, `QueueStore`,
//! `ChatLinkRepo`, `LinkCodeRepo`, `TelegramMemberRepo`, `AuditLog`).
//!
//! [`sql`] holds the SQL adapters (`SQLite` and Postgres through one sea-orm code path) and
//! [`SqlDatabase`], which connects and migrates. [`memory`] holds in-process adapters, kept as
//! test doubles. `conformance` (feature `conformance`) is the one repository suite every adapter
//! here must pass; `tests/sql.rs` runs it on `SQLite` and on Postgres.
//!
//! This crate knows the domain, the ports and its own storage technology only: no presentation
//! (twilight, teloxide, console), no other adapter technology (redis, moka, songbird, symphonia).
//! Adapter errors become [`minstrel_app::ports::StoreError`] before they cross a port.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod memory;
mod messages;
pub mod sql;

pub use memory::{
    MemoryAuditLog, MemoryChatLinkRepo, MemoryHistoryRepo, MemoryLinkCodeRepo, MemoryPlaylistRepo,
    MemoryQueueStore, MemorySettingsRepo, MemoryTelegramMemberRepo,
};
pub use sql::{
    SqlAuditLog, SqlBackend, SqlChatLinkRepo, SqlDatabase, SqlHistoryRepo, SqlLinkCodeRepo,
    SqlPlaylistRepo, SqlQueueStore, SqlSettingsRepo, SqlTelegramMemberRepo, SqlTimeouts,
};
