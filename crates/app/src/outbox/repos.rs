//! Repository decorators that send their writes through the [`Outbox`]: history, queue
//! snapshots and the audit log. Reads go straight to the inner repository.
//!
//! The settings and playlist writes go through the outbox inside minstrel-cache's caching
//! decorators (`CachedSettingsRepo::with_outbox`, `CachedPlaylistRepo::with_outbox`), which
//! also put a held value in the cache, so it is read back while the database is away.

use std::sync::Arc;

use async_trait::async_trait;
use minstrel_domain::{GuildId, HistoryEntry, UserId};

use super::{Outbox, outbox_write};
use crate::ports::{AuditEntry, AuditLog, HistoryRepo, QueueSnapshot, QueueStore, StoreError};

/// A [`HistoryRepo`] whose batches wait in the outbox while the database is away.
#[derive(Clone)]
pub struct OutboxHistoryRepo {
    inner: Arc<dyn HistoryRepo>,
    outbox: Outbox,
}

impl OutboxHistoryRepo {
    pub fn new(inner: Arc<dyn HistoryRepo>, outbox: Outbox) -> Self {
        Self { inner, outbox }
    }
}

#[async_trait]
impl HistoryRepo for OutboxHistoryRepo {
    async fn record(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        let entries: Arc<[HistoryEntry]> = entries.into();
        let write = outbox_write(move || {
            let inner = Arc::clone(&inner);
            let entries = Arc::clone(&entries);
            async move { inner.record(&entries).await }
        });
        self.outbox.submit("history", None, write).await.map(drop)
    }

    async fn for_user(
        &self,
        user: UserId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.for_user(user, offset, limit).await
    }
}

/// A [`QueueStore`] whose saves and deletes wait in the outbox while the database is away. A
/// guild's newer snapshot (or its delete) replaces the one held before it.
#[derive(Clone)]
pub struct OutboxQueueStore {
    inner: Arc<dyn QueueStore>,
    outbox: Outbox,
}

impl OutboxQueueStore {
    pub fn new(inner: Arc<dyn QueueStore>, outbox: Outbox) -> Self {
        Self { inner, outbox }
    }
}

fn snapshot_key(guild: GuildId) -> String {
    format!("queue_snapshot:{guild}")
}

#[async_trait]
impl QueueStore for OutboxQueueStore {
    async fn save(&self, snapshot: &QueueSnapshot) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let snapshot = Arc::new(snapshot.clone());
        let key = Some(snapshot_key(snapshot.guild));
        let write = outbox_write(move || {
            let inner = Arc::clone(&inner);
            let snapshot = Arc::clone(&snapshot);
            async move { inner.save(&snapshot).await }
        });
        self.outbox
            .submit("queue snapshot", key, write)
            .await
            .map(drop)
    }

    async fn load(&self, guild: GuildId) -> Result<Option<QueueSnapshot>, StoreError> {
        self.inner.load(guild).await
    }

    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError> {
        self.inner.load_all().await
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let write = outbox_write(move || {
            let inner = Arc::clone(&inner);
            async move { inner.delete(guild).await }
        });
        self.outbox
            .submit("queue snapshot delete", Some(snapshot_key(guild)), write)
            .await
            .map(drop)
    }
}

/// An [`AuditLog`] whose entries wait in the outbox while the database is away.
#[derive(Clone)]
pub struct OutboxAuditLog {
    inner: Arc<dyn AuditLog>,
    outbox: Outbox,
}

impl OutboxAuditLog {
    pub fn new(inner: Arc<dyn AuditLog>, outbox: Outbox) -> Self {
        Self { inner, outbox }
    }
}

#[async_trait]
impl AuditLog for OutboxAuditLog {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let entry = Arc::new(entry.clone());
        let write = outbox_write(move || {
            let inner = Arc::clone(&inner);
            let entry = Arc::clone(&entry);
            async move { inner.record(&entry).await }
        });
        self.outbox
            .submit("audit entry", None, write)
            .await
            .map(drop)
    }

    async fn for_guild(&self, guild: GuildId, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.for_guild(guild, limit).await
    }
}

macro_rules! opaque_debug {
    ($($name:ident),+) => {
        $(impl std::fmt::Debug for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter
                    .debug_struct(stringify!($name))
                    .field("outbox", &self.outbox)
                    .finish_non_exhaustive()
            }
        })+
    };
}

opaque_debug!(OutboxHistoryRepo, OutboxQueueStore, OutboxAuditLog);
