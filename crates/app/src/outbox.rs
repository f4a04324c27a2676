//! The database outbox: writes the database could not take because it is unreachable wait here,
//! in memory and in order, until it answers again.
//!
//! A write goes to the database at once while nothing waits. When the database reports
//! `Unavailable`, the write is held and the caller gets `Ok` (it is acknowledged); from then on
//! every write queues behind the held ones, so the database sees them in the order they were
//! made. One background task ([`Outbox::spawn`]) replays the oldest held write after growing,
//! jittered pauses (backon) until the database takes it, then the next. The outbox is bounded: when it is full a write
//! is refused with [`StoreError::Backlogged`], a sentence the user reads, never dropped quietly.
//!
//! Writes that set a whole value (settings, a guild's queue snapshot, the active playlist)
//! carry a key: a newer held write of the same key replaces the older one, so a long outage
//! does not fill the outbox with snapshots nobody will read.
//!
//! The depth is the [`OUTBOX_DEPTH_GAUGE`] gauge; a line is logged when writes start to wait
//! and when they are all saved.
//!
//! [`OutboxHistoryRepo`], [`OutboxQueueStore`] and [`OutboxAuditLog`] send their port's writes
//! through it. Like the write-behind of history ([`crate::write_behind`]), it knows the ports
//! only, no database technology.

mod repos;

pub use repos::{OutboxAuditLog, OutboxHistoryRepo, OutboxQueueStore};

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::sync::Notify;

use crate::ports::StoreError;

/// Gauge: database writes waiting in the outbox.
pub const OUTBOX_DEPTH_GAUGE: &str = "minstrel_outbox_depth";

/// A write the outbox can run, and run again when the database was unavailable.
pub type OutboxWrite =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>> + Send + Sync>;

/// How large the outbox is and how often it asks the database again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Writes held at most; the next one is refused with [`StoreError::Backlogged`].
    pub capacity: usize,
    /// The shortest pause before a held write is tried again; the pauses double on every
    /// failure, each drawn between its step and twice it so that processes do not retry in
    /// step…
    pub retry_min_delay: Duration,
    /// …and none is longer than this.
    pub retry_max_delay: Duration,
}

impl OutboxConfig {
    pub const DEFAULT_CAPACITY: usize = 1_000;

    /// The pauses between attempts at a held write: exponential with jitter, the steps capped
    /// at half of `retry_max_delay` since jitter adds up to one step more.
    fn retry_pauses(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.retry_min_delay)
            .with_max_delay((self.retry_max_delay / 2).max(self.retry_min_delay))
            .with_jitter()
            .without_max_times()
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            capacity: Self::DEFAULT_CAPACITY,
            retry_min_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(5),
        }
    }
}

/// What became of a submitted write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The database took it.
    Now,
    /// The outbox holds it; the database gets it when it answers again.
    Held,
}

/// The outbox. Cheap to clone: clones share the held writes.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    config: OutboxConfig,
    state: Mutex<State>,
    /// Told when a write is held, so the flusher wakes.
    held: Notify,
    /// Told when the last held write is saved.
    drained: Notify,
    /// Mirrors `state.pending.len()` for readers that must not lock.
    depth: AtomicUsize,
}

#[derive(Default)]
struct State {
    pending: VecDeque<Pending>,
    /// The flusher is running the first pending write: it may neither be replaced nor removed.
    head_in_flight: bool,
    degraded: bool,
}

struct Pending {
    what: &'static str,
    key: Option<String>,
    write: OutboxWrite,
}

impl Outbox {
    /// An outbox and its flusher task, spawned on the current tokio runtime.
    pub fn spawn(config: OutboxConfig) -> Self {
        let outbox = Self::new(config);
        tokio::spawn(flush_held(Arc::clone(&outbox.shared)));
        outbox
    }

    /// An outbox without a flusher: what it holds stays until [`Outbox::flush_once`] runs.
    fn new(config: OutboxConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config: OutboxConfig {
                    capacity: config.capacity.max(1),
                    ..config
                },
                state: Mutex::new(State::default()),
                held: Notify::new(),
                drained: Notify::new(),
                depth: AtomicUsize::new(0),
            }),
        }
    }

    /// Writes held now.
    pub fn depth(&self) -> usize {
        self.shared.depth.load(Ordering::Relaxed)
    }

    /// True while any write waits for the database.
    pub fn is_degraded(&self) -> bool {
        self.depth() > 0
    }

    /// Runs `write` now, or holds it when writes already wait (to keep their order) or the
    /// database is unavailable. `what` names it in log lines; a write with a `key` replaces a
    /// held write of the same key.
    ///
    /// # Errors
    /// `Backlogged` when the outbox is full (the write is not taken); any error of the write
    /// other than `Unavailable` (a conflict, a missing row) as it is.
    pub async fn submit(
        &self,
        what: &'static str,
        key: Option<String>,
        write: OutboxWrite,
    ) -> Result<Written, StoreError> {
        if self.is_degraded() {
            self.hold(what, key, write)?;
            return Ok(Written::Held);
        }
        match write().await {
            Ok(()) => Ok(Written::Now),
            Err(StoreError::Unavailable(cause)) => {
                tracing::debug!(what, %cause, "the database did not take a write");
                self.hold(what, key, write)?;
                Ok(Written::Held)
            }
            Err(other) => Err(other),
        }
    }

    /// For a write that cannot wait (its answer comes from the database): refused while writes
    /// are held, since it would overtake them and the database is most likely still away.
    ///
    /// # Errors
    /// `Unavailable` while writes are held.
    pub fn ensure_nothing_held(&self) -> Result<(), StoreError> {
        match self.depth() {
            0 => Ok(()),
            held => Err(StoreError::Unavailable(format!(
                "{held} writes wait in the outbox for the database"
            ))),
        }
    }

    /// Waits until no write is held (at once when none is).
    pub async fn drained(&self) {
        loop {
            let drained = self.shared.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.depth() == 0 {
                return;
            }
            drained.await;
        }
    }

    fn hold(
        &self,
        what: &'static str,
        key: Option<String>,
        write: OutboxWrite,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let skip = usize::from(state.head_in_flight);
        let replaced = key.as_ref().and_then(|key| {
            state
                .pending
                .iter()
                .skip(skip)
                .position(|pending| pending.key.as_ref() == Some(key))
                .map(|index| index + skip)
        });
        match replaced {
            Some(index) => {
                state.pending.remove(index);
            }
            None if state.pending.len() >= self.shared.config.capacity => {
                let waiting = state.pending.len();
                tracing::warn!(
                    what,
                    waiting,
                    "the database outbox is full; a write was refused and the user told so"
                );
                return Err(StoreError::Backlogged { waiting });
            }
            None => {}
        }
        state.pending.push_back(Pending { what, key, write });
        if !state.degraded {
            state.degraded = true;
            tracing::warn!(
                what,
                "the database is unreachable; writes wait in the outbox until it answers"
            );
        }
        self.publish_depth(&state);
        drop(state);
        self.shared.held.notify_one();
        Ok(())
    }

    /// Replays the oldest held write until the database takes it (or refuses it for good).
    /// Returns false when nothing was held.
    async fn flush_once(&self) -> bool {
        let (what, write) = {
            let mut state = self.lock();
            let Some(head) = state.pending.front() else {
                return false;
            };
            let head = (head.what, Arc::clone(&head.write));
            state.head_in_flight = true;
            head
        };
        let result = (|| write())
            .retry(self.shared.config.retry_pauses())
            .sleep(tokio::time::sleep)
            .when(|error| matches!(error, StoreError::Unavailable(_)))
            .notify(|error, pause| {
                tracing::debug!(what, %error, ?pause, "the database still does not take held writes");
            })
            .await;
        if let Err(error) = &result {
            // Retrying cannot help (the row it needs is gone, a value is refused): keeping it
            // would block every later write forever.
            tracing::error!(what, %error, details = ?error, "the database refused a held write; it is dropped");
        }
        let mut state = self.lock();
        state.pending.pop_front();
        state.head_in_flight = false;
        self.publish_depth(&state);
        if state.pending.is_empty() && state.degraded {
            state.degraded = false;
            tracing::info!("the database answers again; every held write is saved");
            self.shared.drained.notify_waiters();
        }
        true
    }

    fn publish_depth(&self, state: &State) {
        let depth = state.pending.len();
        self.shared.depth.store(depth, Ordering::Relaxed);
        metrics::gauge!(OUTBOX_DEPTH_GAUGE)
            .set(f64::from(u32::try_from(depth).unwrap_or(u32::MAX)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Outbox")
            .field("depth", &self.depth())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// The flusher: sleeps until a write is held, then saves held writes oldest first.
async fn flush_held(shared: Arc<Shared>) {
    let outbox = Outbox { shared };
    loop {
        if !outbox.flush_once().await {
            outbox.shared.held.notified().await;
        }
    }
}

/// Builds an [`OutboxWrite`] from a closure returning a future.
pub fn outbox_write<F, Fut>(write: F) -> OutboxWrite
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    Arc::new(move || Box::pin(write()))
}

#[cfg(test)]
mod tests;
