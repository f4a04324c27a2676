//! [`RedisEventBus`]: the `EventBus` port over a Redis stream, so that several processes see
//! each other's domain events.
//!
//! # Design
//! - `publish` delivers to this process's subscribers at once (a tokio broadcast channel, as
//!   the in-process bus does) and hands the event to a writer task, which `XADD`s it to the
//!   stream `{key_prefix}events` (trimmed with `MAXLEN ~ max_len`) with two fields: `origin`,
//!   this process's id, and `event`, the event as JSON (a DTO here; the domain derives no
//!   serde). `publish` never waits for Redis: the hand-over is a bounded queue, and an event
//!   that does not fit is counted and left to local delivery.
//! - One consumer group per process (named after its process id) reads the stream: every
//!   process gets every entry, which is what an event bus is for. A reader task
//!   `XREADGROUP`s new entries, re-broadcasts those of OTHER processes to local subscribers
//!   (its own were delivered by `publish`), and `XACK`s every entry it has handled. Entries
//!   older than `max_age` are acknowledged without being delivered: a process that was away
//!   does not replay minutes-old "now playing" news.
//! - Entries read but never acknowledged (the reader lost its connection, or the process
//!   crashed between read and acknowledgement) stay pending in the group. The reader takes
//!   them over with `XAUTOCLAIM` once they have been idle for `claim_idle` (at start and every
//!   `claim_every`) and delivers them then. A process restarted with the same id (set one
//!   with `process_id`) thereby delivers what its previous run read but did not handle.
//! - Redis down: local delivery is unaffected; the first failure logs a warning and sets the
//!   gauge [`EVENT_BUS_DEGRADED_GAUGE`] to 1, events published meanwhile reach only this
//!   process, and both tasks retry in the background after a growing, jittered pause (up to
//!   `max_backoff`); the first success logs that the bus recovered and sets the gauge to 0.
//!
//! Delivery to other processes is at least once: a crash after delivering and before the
//! acknowledgement redelivers that entry.

mod wire;

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::streams::{StreamId, StreamMaxlen, StreamReadOptions, StreamReadReply};
use deadpool_redis::redis::{Cmd, FromRedisValue};
use minstrel_app::ports::{CacheError, EventBus};
use minstrel_app::redact::redact_url;
use minstrel_domain::DomainEvent;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{debug, info, warn};

use crate::streams::{
    PAGE, RetryPauses, StreamConnection, Tasks, added_millis, block_millis, field, now_millis,
};

/// Reads 1 while the Redis event bus cannot reach Redis (events then reach only this process).
pub const EVENT_BUS_DEGRADED_GAUGE: &str = "minstrel_event_bus_degraded";
/// Counts events that reached only this process: Redis was unreachable or the queue was full.
pub const EVENT_BUS_LOCAL_ONLY_COUNTER: &str = "minstrel_event_bus_local_only_total";

/// How a [`RedisEventBus`] reaches its stream.
#[derive(Clone)]
pub struct RedisEventBusConfig {
    /// `redis://[user:password@]host[:port][/db]`; never logged as given.
    pub url: String,
    /// The stream is `{key_prefix}events`.
    pub key_prefix: String,
    /// This process's name on the stream: its entries' `origin` and its consumer group. Two
    /// running processes must never share one, or each skips the other's events as its own.
    pub process_id: String,
    /// The stream keeps about this many entries (`MAXLEN ~`).
    pub max_len: usize,
    /// Entries older than this are acknowledged without being delivered.
    pub max_age: Duration,
    /// Pending entries idle this long are taken over (`XAUTOCLAIM`).
    pub claim_idle: Duration,
    /// How often pending entries are looked for.
    pub claim_every: Duration,
    /// The most one Redis call may take (a read waits `read_block` more).
    pub timeout: Duration,
    /// How long one `XREADGROUP` waits for new entries.
    pub read_block: Duration,
    /// The longest pause between two attempts while Redis is down.
    pub max_backoff: Duration,
    /// Events waiting for the writer at most; more are delivered locally only.
    pub queue: usize,
    /// Capacity of the local broadcast channel.
    pub local_capacity: usize,
}

impl RedisEventBusConfig {
    /// Production defaults for the server at `url`, with a process id unique to this run.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: crate::DEFAULT_KEY_PREFIX.to_owned(),
            process_id: unique_process_id(),
            max_len: 10_000,
            max_age: Duration::from_mins(1),
            claim_idle: Duration::from_secs(10),
            claim_every: Duration::from_secs(5),
            timeout: Duration::from_millis(500),
            read_block: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            queue: 1024,
            local_capacity: 1024,
        }
    }

    #[must_use]
    pub fn with_key_prefix(mut self, key_prefix: impl Into<String>) -> Self {
        self.key_prefix = key_prefix.into();
        self
    }

    #[must_use]
    pub fn with_process_id(mut self, process_id: impl Into<String>) -> Self {
        self.process_id = process_id.into();
        self
    }

    /// The stream's key.
    pub fn stream_key(&self) -> String {
        format!("{}events", self.key_prefix)
    }
}

impl fmt::Debug for RedisEventBusConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisEventBusConfig")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("process_id", &self.process_id)
            .field("max_len", &self.max_len)
            .field("max_age", &self.max_age)
            .field("claim_idle", &self.claim_idle)
            .finish_non_exhaustive()
    }
}

/// `{host}-{pid}-{start time}`: unique among running processes.
fn unique_process_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|host| !host.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|host| host.trim().to_owned())
        })
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "minstrel".to_owned());
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    format!("{host}-{}-{started}", std::process::id())
}

/// Whether Redis answers, shared by the writer and the reader, with the log line and gauge of
/// each change.
struct Health {
    degraded: AtomicBool,
    /// How many times Redis went from answering to not answering.
    outages: AtomicU64,
    /// The server as it may be logged.
    shown: String,
}

impl Health {
    fn failed(&self, what: &str, error: &str) {
        if self.degraded.swap(true, Ordering::SeqCst) {
            debug!(redis = %self.shown, error, "the Redis event bus could still not {what}");
        } else {
            self.outages.fetch_add(1, Ordering::SeqCst);
            metrics::gauge!(EVENT_BUS_DEGRADED_GAUGE).set(1.0);
            warn!(
                redis = %self.shown,
                error,
                "the Redis event bus could not {what}; events reach only this process until \
                 Redis answers again"
            );
        }
    }

    fn succeeded(&self) {
        if self.degraded.swap(false, Ordering::SeqCst) {
            metrics::gauge!(EVENT_BUS_DEGRADED_GAUGE).set(0.0);
            info!(redis = %self.shown, "the Redis event bus reaches Redis again");
        }
    }
}

struct Shared {
    config: RedisEventBusConfig,
    stream: String,
    redis: StreamConnection,
    health: Health,
    local: broadcast::Sender<DomainEvent>,
    /// Events delivered to local subscribers from other processes.
    received: AtomicU64,
    /// True once this process's group exists: from then on no entry is missed.
    reading: watch::Sender<bool>,
}

impl Shared {
    async fn query<T: FromRedisValue>(&self, command: &Cmd, extra: Duration) -> Result<T, String> {
        self.redis.query(command, extra).await
    }
}

/// The [`EventBus`] port over a Redis stream (see the module documentation for the design).
///
/// Build it with [`RedisEventBus::new`], subscribe what must not miss an event, then
/// [`RedisEventBus::start`] the background tasks (on the current tokio runtime). Dropping the
/// bus stops them.
pub struct RedisEventBus {
    shared: Arc<Shared>,
    outgoing: mpsc::Sender<DomainEvent>,
    /// Taken by [`RedisEventBus::start`].
    waiting: Mutex<Option<mpsc::Receiver<DomainEvent>>>,
    tasks: Tasks,
}

impl RedisEventBus {
    /// Builds the bus; nothing connects until [`RedisEventBus::start`].
    ///
    /// # Errors
    /// `Unavailable` when the URL is not a usable Redis URL (its password never shown).
    pub fn new(config: RedisEventBusConfig) -> Result<Self, CacheError> {
        // Enough connections for the blocked reader, the writer and a claim at once.
        let redis = StreamConnection::new(&config.url, 4, config.timeout)?;
        let (local, _) = broadcast::channel(config.local_capacity.max(16));
        let (outgoing, waiting) = mpsc::channel(config.queue.max(1));
        Ok(Self {
            shared: Arc::new(Shared {
                stream: config.stream_key(),
                config,
                health: Health {
                    degraded: AtomicBool::new(false),
                    outages: AtomicU64::new(0),
                    shown: redis.shown().to_owned(),
                },
                redis,
                local,
                received: AtomicU64::new(0),
                reading: watch::channel(false).0,
            }),
            outgoing,
            waiting: Mutex::new(Some(waiting)),
            tasks: Tasks::new(),
        })
    }

    /// Starts the writer and the reader on the current runtime; later calls do nothing.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(&self) {
        let Some(waiting) = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let writer = tokio::spawn(write_events(
            Arc::clone(&self.shared),
            waiting,
            self.tasks.stop_signal(),
        ));
        let reader = tokio::spawn(read_events(
            Arc::clone(&self.shared),
            self.tasks.stop_signal(),
        ));
        self.tasks.push(writer);
        self.tasks.push(reader);
    }

    /// This process's id on the stream.
    pub fn process_id(&self) -> &str {
        &self.shared.config.process_id
    }

    /// The stream's key.
    pub fn stream_key(&self) -> &str {
        &self.shared.stream
    }

    /// The server's URL with any password blanked out.
    pub fn display_url(&self) -> &str {
        &self.shared.health.shown
    }

    /// Whether Redis was unreachable at the last attempt.
    pub fn is_degraded(&self) -> bool {
        self.shared.health.degraded.load(Ordering::SeqCst)
    }

    /// Waits until the reader has its consumer group, so that every entry added from then on
    /// reaches this process; `false` when that did not happen within `limit`.
    pub async fn wait_until_reading(&self, limit: Duration) -> bool {
        let mut reading = self.shared.reading.subscribe();
        tokio::time::timeout(limit, reading.wait_for(|reading| *reading))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// How many times Redis stopped answering since the start (each logged once).
    pub fn outages(&self) -> u64 {
        self.shared.health.outages.load(Ordering::SeqCst)
    }

    /// How many events from other processes were delivered here so far.
    pub fn received_from_others(&self) -> u64 {
        self.shared.received.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for RedisEventBus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisEventBus")
            .field("url", &self.shared.health.shown)
            .field("stream", &self.shared.stream)
            .field("process_id", &self.shared.config.process_id)
            .finish_non_exhaustive()
    }
}

impl EventBus for RedisEventBus {
    fn publish(&self, event: DomainEvent) {
        // No local subscriber is not an error: events are informational.
        let _ = self.shared.local.send(event.clone());
        if self.outgoing.try_send(event).is_err() {
            metrics::counter!(EVENT_BUS_LOCAL_ONLY_COUNTER).increment(1);
            debug!("the Redis event bus queue is full; an event reached only this process");
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.shared.local.subscribe()
    }
}

/// `XADD`s every published event; while Redis is down, drops events (they were delivered
/// locally) until the next attempt is due.
async fn write_events(
    shared: Arc<Shared>,
    mut waiting: mpsc::Receiver<DomainEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pauses = RetryPauses::new(shared.config.max_backoff);
    let mut next_attempt = tokio::time::Instant::now();
    loop {
        let event = tokio::select! {
            event = waiting.recv() => match event {
                Some(event) => event,
                None => return,
            },
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        if tokio::time::Instant::now() < next_attempt {
            metrics::counter!(EVENT_BUS_LOCAL_ONLY_COUNTER).increment(1);
            continue;
        }
        let json = match wire::encode(&event) {
            Ok(json) => json,
            Err(error) => {
                warn!(event = event.name(), %error, "an event could not be put on the Redis stream");
                continue;
            }
        };
        let command = Cmd::xadd_maxlen(
            shared.stream.as_str(),
            StreamMaxlen::Approx(shared.config.max_len.max(1)),
            "*",
            &[
                ("origin", shared.config.process_id.as_str()),
                ("event", json.as_str()),
            ],
        );
        match shared.query::<()>(&command, Duration::ZERO).await {
            Ok(()) => {
                shared.health.succeeded();
                pauses.reset();
            }
            Err(error) => {
                metrics::counter!(EVENT_BUS_LOCAL_ONLY_COUNTER).increment(1);
                shared.health.failed("publish an event", &error);
                next_attempt = tokio::time::Instant::now() + pauses.next_pause();
            }
        }
    }
}

/// Reads the group, delivers other processes' events, acknowledges, and takes over pending
/// entries; on any failure pauses (growing) and starts over.
async fn read_events(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let consumer = format!("{}:reader", shared.config.process_id);
    let mut pauses = RetryPauses::new(shared.config.max_backoff);
    loop {
        let outcome = tokio::select! {
            outcome = read_until_failure(&shared, &consumer, &mut pauses) => outcome,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        let Err(error) = outcome;
        shared.health.failed("read the event stream", &error);
        tokio::select! {
            () = tokio::time::sleep(pauses.next_pause()) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// Reads until a Redis call fails; returns that failure.
async fn read_until_failure(
    shared: &Shared,
    consumer: &str,
    pauses: &mut RetryPauses,
) -> Result<Infallible, String> {
    ensure_group(shared).await?;
    shared.reading.send_replace(true);
    let mut next_claim = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_claim {
            claim_pending(shared, consumer).await?;
            next_claim = tokio::time::Instant::now() + shared.config.claim_every;
        }
        let entries = read_new(shared, consumer).await?;
        shared.health.succeeded();
        pauses.reset();
        handle(shared, entries).await?;
    }
}

/// Creates this process's group at the stream's end (and the stream), unless it exists.
async fn ensure_group(shared: &Shared) -> Result<(), String> {
    let group = &shared.config.process_id;
    shared.redis.ensure_group(&shared.stream, group, "$").await
}

/// Entries never delivered to this process's group (`>`), waiting up to `read_block` for one.
async fn read_new(shared: &Shared, consumer: &str) -> Result<Vec<StreamId>, String> {
    let block = shared.config.read_block;
    let options = StreamReadOptions::default()
        .group(shared.config.process_id.as_str(), consumer)
        .count(PAGE)
        .block(block_millis(block));
    let command = Cmd::xread_options(&[shared.stream.as_str()], &[">"], &options);
    let reply: Option<StreamReadReply> = shared.query(&command, block).await?;
    Ok(reply
        .into_iter()
        .flat_map(|reply| reply.keys)
        .flat_map(|stream| stream.ids)
        .collect())
}

async fn claim_pending(shared: &Shared, consumer: &str) -> Result<(), String> {
    let mut start = "0-0".to_owned();
    loop {
        let page = shared
            .redis
            .autoclaim(
                &shared.stream,
                &shared.config.process_id,
                consumer,
                shared.config.claim_idle,
                &start,
            )
            .await?;
        if !page.claimed.is_empty() {
            debug!(
                entries = page.claimed.len(),
                "took over pending event stream entries"
            );
        }
        handle(shared, page.claimed).await?;
        if page.next_stream_id == "0-0" {
            return Ok(());
        }
        start = page.next_stream_id;
    }
}

/// Delivers what is due to local subscribers, then acknowledges every entry.
async fn handle(shared: &Shared, entries: Vec<StreamId>) -> Result<(), String> {
    if entries.is_empty() {
        return Ok(());
    }
    let oldest_wanted = u128::from(now_millis()).saturating_sub(shared.config.max_age.as_millis());
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        ids.push(entry.id.clone());
        if field(&entry, "origin").as_deref() == Some(shared.config.process_id.as_str()) {
            continue;
        }
        if added_millis(&entry.id).is_some_and(|at| at < oldest_wanted) {
            debug!(id = %entry.id, "skipped an event stream entry older than max_age");
            continue;
        }
        let Some(event) = field(&entry, "event") else {
            warn!(id = %entry.id, "an event stream entry has no event; skipped");
            continue;
        };
        match wire::decode(&event) {
            Ok(event) => {
                shared.received.fetch_add(1, Ordering::SeqCst);
                let _ = shared.local.send(event);
            }
            Err(error) => {
                warn!(id = %entry.id, %error, "an event stream entry is damaged; skipped");
            }
        }
    }
    let command = Cmd::xack(
        shared.stream.as_str(),
        shared.config.process_id.as_str(),
        &ids,
    );
    shared
        .query::<usize>(&command, Duration::ZERO)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ids_differ_and_debug_hides_the_password() {
        let first = RedisEventBusConfig::new("redis://bot:hunter2@127.0.0.1:6379");
        let shown = format!("{first:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(first.process_id.contains(&std::process::id().to_string()));
        assert_eq!(first.stream_key(), "minstrel:events");
    }
}
