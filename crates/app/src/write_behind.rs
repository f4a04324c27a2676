//! Fewer, larger writes: history entries recorded in batches.
//!
//! A decorator over the port, so the use cases call it as before, with a background loop the
//! composition root spawns ([`BatchedHistoryRepo::run`]) and a `flush` for shutdown, so nothing
//! buffered is left behind. Queue snapshots are not debounced: a trailing debounce loses the
//! last acknowledged change when the process is killed inside its window.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_domain::{HistoryEntry, UserId};
use tokio::sync::Notify;
use tracing::warn;

use crate::ports::{HistoryRepo, StoreError};

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

#[cfg(test)]
mod tests;
