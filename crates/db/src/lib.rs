//! minstrel's persistence adapters: the implementations of the storage ports of
//! `minstrel_app::ports` (`SettingsRepo`, `PlaylistRepo`, `HistoryRepo`, `QueueStore`,
//! `ChatLinkRepo`).
//!
//! [`memory`] holds in-process adapters, used until the SQL adapters exist and kept afterwards as
//! test doubles. `conformance` (feature `conformance`) is the one repository suite every adapter
//! here must pass.
//!
//! This crate knows the domain, the ports and its own storage technology only: no presentation
//! (twilight, teloxide, console), no other adapter technology (redis, moka, songbird, symphonia).
//! Adapter errors become [`minstrel_app::ports::StoreError`] before they cross a port.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod memory;
mod messages;

pub use memory::{
    MemoryChatLinkRepo, MemoryHistoryRepo, MemoryPlaylistRepo, MemoryQueueStore, MemorySettingsRepo,
};
