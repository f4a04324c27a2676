//! In-process adapters of the storage ports.
//!
//! Everything lives in a `std::sync::Mutex`-guarded map and is lost when the process ends. No lock
//! is ever held across an `.await`, so the blocking mutex is the right tool here.

mod audit;
mod chat_links;
mod history;
mod link_codes;
mod playlists;
mod queue;
mod settings;
mod telegram_members;

#[cfg(test)]
mod tests;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use audit::MemoryAuditLog;
pub use chat_links::MemoryChatLinkRepo;
pub use history::MemoryHistoryRepo;
pub use link_codes::MemoryLinkCodeRepo;
pub use playlists::MemoryPlaylistRepo;
pub use queue::MemoryQueueStore;
pub use settings::MemorySettingsRepo;
pub use telegram_members::MemoryTelegramMemberRepo;

/// Locks `mutex`, recovering the data when an earlier holder panicked.
///
/// Recovering is sound here: every critical section in this module either completes its change
/// or does not start it (they contain no panicking code between two related writes), so a
/// poisoned lock still guards consistent data. Refusing all further storage calls would turn
/// one bug into a permanent outage.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `limit` items of `items` starting at `offset`, the pagination every listing port uses.
fn page<T>(items: impl IntoIterator<Item = T>, offset: usize, limit: usize) -> Vec<T> {
    items.into_iter().skip(offset).take(limit).collect()
}
