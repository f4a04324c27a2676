use std::cmp::Reverse;
use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{HistoryRepo, StoreError};
use minstrel_domain::{HistoryEntry, RequesterId, UserId};

use super::{lock, page};

/// [`HistoryRepo`] kept in memory. It grows without bound, which is fine for tests and short
/// local sessions, the only places it is used.
#[derive(Debug, Default)]
pub struct MemoryHistoryRepo {
    // In recording order; the position breaks ties between equal `played_at` (later wins).
    entries: Mutex<Vec<HistoryEntry>>,
}

impl MemoryHistoryRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HistoryRepo for MemoryHistoryRepo {
    async fn record(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        lock(&self.entries).extend_from_slice(entries);
        Ok(())
    }

    async fn for_user(
        &self,
        user: UserId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let requester = RequesterId::Discord(user);
        let mut own: Vec<HistoryEntry> = lock(&self.entries)
            .iter()
            .rev()
            .filter(|entry| entry.requester == requester)
            .cloned()
            .collect();
        // Stable sort over reversed recording order: among equal times the later record comes
        // first, as `ORDER BY played_at DESC, id DESC` would in SQL.
        own.sort_by_key(|entry| Reverse(entry.played_at));
        Ok(page(own, offset, limit))
    }
}
