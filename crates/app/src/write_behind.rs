//! Fewer, larger writes: history entries recorded in batches, and a guild's queue snapshot
//! written once however often the queue changed within a second.
//!
//! Both are decorators over their port, so the use cases call the port as before. Each has a
//! background loop the composition root spawns ([`BatchedHistoryRepo::run`],
//! [`DebouncedQueueStore::run`]) and a `flush` for shutdown, so nothing buffered is left behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_domain::{GuildId, HistoryEntry, UserId};
use tokio::sync::Notify;
use tracing::warn;

use crate::ports::{HistoryRepo, QueueSnapshot, QueueStore, StoreError};

/// When a [`BatchedHistoryRepo`] writes what it buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBatching {
    /// A batch this large is written at once.
    pub max_entries: usize,
    /// An entry waits at most this long.
    pub max_delay: Duration,
}

impl Default for HistoryBatching {
    fn default() -> Self {
        Self {
            max_entries: 16,
            max_delay: Duration::from_secs(2),
        }
    }
}

/// A [`HistoryRepo`] that buffers recorded entries and writes them with one `record` call per
/// batch: when `max_entries` wait, `max_delay` after the first of them, or on
/// [`BatchedHistoryRepo::flush`]. Reading a user's history writes the buffer first, so a track
/// that just started is in it.
pub struct BatchedHistoryRepo {
    inner: Arc<dyn HistoryRepo>,
    batching: HistoryBatching,
    buffer: Mutex<Vec<HistoryEntry>>,
    /// Told when the first entry enters an empty buffer: the delay starts.
    arrived: Notify,
}

impl BatchedHistoryRepo {
    pub fn new(inner: Arc<dyn HistoryRepo>, batching: HistoryBatching) -> Self {
        Self {
            inner,
            batching: HistoryBatching {
                max_entries: batching.max_entries.max(1),
                ..batching
            },
            buffer: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        }
    }

    /// Writes everything buffered as one batch; returns how many entries were written.
    ///
    /// # Errors
    /// The inner repository's error; the batch is then dropped (and logged by the caller), as
    /// a single failed history write always was.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return Ok(0);
        }
        self.inner.record(&batch).await?;
        Ok(batch.len())
    }

    /// Writes each batch at most `max_delay` after its first entry, for as long as the task
    /// lives.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.arrived.notified().await;
            tokio::time::sleep(self.batching.max_delay).await;
            if let Err(error) = self.flush().await {
                warn!(?error, "could not record history");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<HistoryEntry>> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl HistoryRepo for BatchedHistoryRepo {
    /// Buffers `entries`; writes the batch at once when it is full.
    async fn record(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        let full = {
            let mut buffer = self.lock();
            if buffer.is_empty() && !entries.is_empty() {
                self.arrived.notify_one();
            }
            buffer.extend_from_slice(entries);
            buffer.len() >= self.batching.max_entries
        };
        if full {
            self.flush().await?;
        }
        Ok(())
    }

    async fn for_user(
        &self,
        user: UserId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        if let Err(error) = self.flush().await {
            warn!(?error, "could not record history");
        }
        self.inner.for_user(user, offset, limit).await
    }
}

impl std::fmt::Debug for BatchedHistoryRepo {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BatchedHistoryRepo")
            .field("batching", &self.batching)
            .finish_non_exhaustive()
    }
}

/// A [`QueueStore`] that coalesces each guild's snapshots: a save is written at most `delay`
/// after it was made, and of several saves of one guild within that time only the last one
/// is. `delete` writes at once (and forgets a waiting save); `load` and `load_all` see waiting
/// saves.
pub struct DebouncedQueueStore {
    inner: Arc<dyn QueueStore>,
    delay: Duration,
    pending: Mutex<HashMap<GuildId, QueueSnapshot>>,
    /// Writes to the inner store one at a time, so a delete never overtakes a save taken out
    /// of `pending` before it.
    writing: tokio::sync::Mutex<()>,
    arrived: Notify,
}

impl DebouncedQueueStore {
    /// The bound: a queue change is saved within a second.
    pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

    pub fn new(inner: Arc<dyn QueueStore>, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            pending: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
            arrived: Notify::new(),
        }
    }

    /// Writes every waiting snapshot now; returns how many were written. A snapshot the store
    /// refused waits for the next flush, unless a newer one came meanwhile.
    pub async fn flush(&self) -> usize {
        let _writing = self.writing.lock().await;
        let waiting: Vec<QueueSnapshot> =
            self.lock().drain().map(|(_, snapshot)| snapshot).collect();
        let mut written = 0;
        for snapshot in waiting {
            match self.inner.save(&snapshot).await {
                Ok(()) => written += 1,
                Err(error) => {
                    warn!(guild = %snapshot.guild, ?error, "could not save the queue snapshot");
                    let mut pending = self.lock();
                    if pending.is_empty() {
                        self.arrived.notify_one();
                    }
                    pending.entry(snapshot.guild).or_insert(snapshot);
                }
            }
        }
        written
    }

    /// Writes waiting snapshots at most `delay` after they were made, for as long as the task
    /// lives.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.arrived.notified().await;
            tokio::time::sleep(self.delay).await;
            self.flush().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GuildId, QueueSnapshot>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl QueueStore for DebouncedQueueStore {
    async fn save(&self, snapshot: &QueueSnapshot) -> Result<(), StoreError> {
        let mut pending = self.lock();
        if pending.is_empty() {
            self.arrived.notify_one();
        }
        pending.insert(snapshot.guild, snapshot.clone());
        Ok(())
    }

    async fn load(&self, guild: GuildId) -> Result<Option<QueueSnapshot>, StoreError> {
        if let Some(waiting) = self.lock().get(&guild).cloned() {
            return Ok(Some(waiting));
        }
        self.inner.load(guild).await
    }

    async fn load_all(&self) -> Result<Vec<QueueSnapshot>, StoreError> {
        let mut snapshots = self.inner.load_all().await?;
        let waiting = self.lock().clone();
        snapshots.retain(|snapshot| !waiting.contains_key(&snapshot.guild));
        snapshots.extend(waiting.into_values());
        snapshots.sort_by_key(|snapshot| snapshot.guild);
        Ok(snapshots)
    }

    async fn delete(&self, guild: GuildId) -> Result<(), StoreError> {
        let _writing = self.writing.lock().await;
        self.lock().remove(&guild);
        self.inner.delete(guild).await
    }
}

impl std::fmt::Debug for DebouncedQueueStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DebouncedQueueStore")
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
