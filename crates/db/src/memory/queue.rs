use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{QueueSnapshot, QueueStore, StoreError};
use minstrel_domain::GuildId;

use super::lock;

/// [`QueueStore`] kept in memory: one snapshot per guild, the latest save wins.
#[derive(Debug, Default)]
pub struct MemoryQueueStore {
    // Ordered so `load_all` restores guilds in a stable order.
    snapshots: Mutex<BTreeMap<GuildId, QueueSnapshot>>,
}

impl MemoryQueueStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl QueueStore for MemoryQueueStore {
    async fn save(&self, snapshot: &QueueSnapshot) -> Result<(), StoreError> {
        lock(&self.snapshots).insert(snapshot.guild, snapshot.clone());
        Ok(())
    }

    async fn load(&self, guild: GuildId) -> Result<Option<QueueSnapshot>, StoreError> {
        Ok(lock(&self.snapshots).get(&guild).cloned())
    }

    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError> {
        Ok(lock(&self.snapshots).values().cloned().collect())
    }

    /// Deleting a guild without a snapshot is not an error: the goal, no snapshot, is reached.
    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        lock(&self.snapshots).remove(&guild);
        Ok(())
    }
}
