use std::sync::Mutex;

use async_trait::async_trait;
use minstrel_app::ports::{AuditEntry, AuditLog, StoreError};
use minstrel_domain::GuildId;

use super::lock;

/// [`AuditLog`] kept in memory, in the order entries were recorded.
#[derive(Debug, Default)]
pub struct MemoryAuditLog {
    entries: Mutex<Vec<AuditEntry>>,
}

impl MemoryAuditLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, oldest first (for tests and the console).
    pub fn entries(&self) -> Vec<AuditEntry> {
        lock(&self.entries).clone()
    }
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        lock(&self.entries).push(entry.clone());
        Ok(())
    }

    async fn for_guild(&self, guild: GuildId, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(lock(&self.entries)
            .iter()
            .rev()
            .filter(|entry| entry.guild == Some(guild))
            .take(limit)
            .cloned()
            .collect())
    }
}
