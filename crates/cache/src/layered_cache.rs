use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use minstrel_app::ports::{Cache, CacheError};
use tracing::{debug, info, warn};

use crate::moka_cache::record_read;
use crate::{MokaCache, RedisCache};

/// The gauge that is 1 while a [`LayeredCache`] runs on memory alone, 0 otherwise.
pub const DEGRADED_GAUGE: &str = "minstrel_cache_degraded";

/// How a [`LayeredCache`] decides Redis is down and when it tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayeredCacheConfig {
    /// Consecutive failed Redis calls that open the circuit (memory alone from then on).
    pub failure_threshold: u32,
    /// How long after a failure the background task asks Redis again (`PING`).
    pub cool_down: Duration,
    /// The longest an entry stays in memory. Memory is this process's alone while Redis is
    /// shared, so this bounds how long a change made through another process may go unseen.
    pub memory_ttl: Duration,
    /// Keys whose Redis copy may be stale (written or deleted while Redis failed) that are
    /// remembered one by one; past this many, the whole key prefix is dropped from Redis on
    /// recovery instead.
    pub unsynced_key_limit: usize,
}

impl LayeredCacheConfig {
    pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
    pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(5);
    pub const DEFAULT_MEMORY_TTL: Duration = Duration::from_mins(1);
    pub const DEFAULT_UNSYNCED_KEY_LIMIT: usize = 10_000;

    #[must_use]
    pub fn with_failure_threshold(mut self, failure_threshold: u32) -> Self {
        self.failure_threshold = failure_threshold;
        self
    }

    #[must_use]
    pub fn with_cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    #[must_use]
    pub fn with_memory_ttl(mut self, memory_ttl: Duration) -> Self {
        self.memory_ttl = memory_ttl;
        self
    }

    #[must_use]
    pub fn with_unsynced_key_limit(mut self, unsynced_key_limit: usize) -> Self {
        self.unsynced_key_limit = unsynced_key_limit;
        self
    }
}

impl Default for LayeredCacheConfig {
    /// Three failures, five seconds, one minute, ten thousand keys.
    fn default() -> Self {
        Self {
            failure_threshold: Self::DEFAULT_FAILURE_THRESHOLD,
            cool_down: Self::DEFAULT_COOL_DOWN,
            memory_ttl: Self::DEFAULT_MEMORY_TTL,
            unsynced_key_limit: Self::DEFAULT_UNSYNCED_KEY_LIMIT,
        }
    }
}

/// The [`Cache`] port on two layers: process memory ([`MokaCache`]) in front of Redis
/// ([`RedisCache`]), which keeps answering from memory alone while Redis is down.
///
/// - `get` reads memory, then Redis; a Redis hit is copied into memory for the entry's
///   remaining lifetime, at most [`LayeredCacheConfig::memory_ttl`].
/// - `set` and `delete` apply to memory, then to Redis.
/// - A failed Redis call is logged at debug level and otherwise ignored: the caller gets the
///   memory layer's answer, never an error because of Redis.
///
/// **Circuit breaker.** After `failure_threshold` consecutive failed Redis calls the circuit
/// opens: Redis is skipped entirely (no caller waits on it), [`LayeredCache::is_degraded`]
/// turns true, the gauge [`DEGRADED_GAUGE`] reads 1 and a warning is logged. A background task
/// then asks Redis every `cool_down` (the half-open probe); once it answers, the task first
/// deletes from Redis every key that was written or deleted meanwhile (their Redis copies are
/// stale), then closes the circuit and logs that the cache recovered. The same repair runs
/// when a single write or delete fails while the circuit is closed; until it has, that key
/// is served from memory only, so a stale Redis copy is never read back.
///
/// A Redis hit races a concurrent `delete` of the same key: memory may keep the old value
/// for up to `memory_ttl`. SQL is the source of truth; the cache holds copies.
///
/// Clones share both layers and the breaker.
#[derive(Clone)]
pub struct LayeredCache {
    memory: MokaCache,
    shared: Arc<Shared>,
}

struct Shared {
    redis: RedisCache,
    config: LayeredCacheConfig,
    state: Mutex<State>,
}

struct State {
    breaker: Breaker,
    unsynced: Unsynced,
    /// A background repair task is alive (at most one at a time).
    repairing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    Closed { consecutive_failures: u32 },
    Open { since: Instant },
}

/// Keys whose Redis copy may be stale, each with the mark that recorded it last, so a repair
/// that deleted a key does not forget a newer mark of the same key.
enum Unsynced {
    Keys {
        marks: HashMap<String, u64>,
        next_mark: u64,
    },
    /// Too many keys to remember: every key under the prefix counts as stale.
    Everything,
}

impl Unsynced {
    fn none() -> Self {
        Self::Keys {
            marks: HashMap::new(),
            next_mark: 0,
        }
    }

    fn contains(&self, key: &str) -> bool {
        match self {
            Self::Keys { marks, .. } => marks.contains_key(key),
            Self::Everything => true,
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            Self::Keys { marks, .. } => Some(marks.len()),
            Self::Everything => None,
        }
    }

    fn mark(&mut self, key: &str, limit: usize) {
        if let Self::Keys { marks, next_mark } = self {
            *next_mark += 1;
            marks.insert(key.to_owned(), *next_mark);
            if marks.len() > limit {
                *self = Self::Everything;
            }
        }
    }
}

/// What one round of the repair deletes from Redis.
enum Repair {
    Keys(Vec<(String, u64)>),
    Everything,
}

impl LayeredCache {
    /// The `layer` label of reads answered by Redis (memory's are [`MokaCache::MEMORY_LAYER`]).
    pub const REDIS_LAYER: &'static str = "redis";

    /// Memory in front of `redis`. Connects to nothing yet; the background task starts on the
    /// first failure, inside the caller's tokio runtime.
    pub fn new(memory: MokaCache, redis: RedisCache, config: LayeredCacheConfig) -> Self {
        metrics::gauge!(DEGRADED_GAUGE).set(0.0);
        Self {
            memory,
            shared: Arc::new(Shared {
                redis,
                config,
                state: Mutex::new(State {
                    breaker: Breaker::Closed {
                        consecutive_failures: 0,
                    },
                    unsynced: Unsynced::none(),
                    repairing: false,
                }),
            }),
        }
    }

    /// True while the circuit is open: Redis is skipped and memory alone answers.
    pub fn is_degraded(&self) -> bool {
        matches!(self.shared.lock().breaker, Breaker::Open { .. })
    }

    pub fn memory(&self) -> &MokaCache {
        &self.memory
    }

    pub fn redis(&self) -> &RedisCache {
        &self.shared.redis
    }

    pub fn config(&self) -> LayeredCacheConfig {
        self.shared.config
    }

    fn memory_ttl(&self, ttl: Duration) -> Duration {
        ttl.min(self.shared.config.memory_ttl)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is valid after every statement, so a panic elsewhere leaves nothing torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call about `key` should go to Redis now.
    fn redis_allowed(&self, key: &str) -> bool {
        let state = self.lock();
        matches!(state.breaker, Breaker::Closed { .. }) && !state.unsynced.contains(key)
    }

    fn record_success(&self) {
        if let Breaker::Closed {
            consecutive_failures,
        } = &mut self.lock().breaker
        {
            *consecutive_failures = 0;
        }
    }

    fn record_failure(self: &Arc<Self>, error: &CacheError) {
        let mut state = self.lock();
        let Breaker::Closed {
            consecutive_failures,
        } = &mut state.breaker
        else {
            // A call that started before the circuit opened.
            return;
        };
        *consecutive_failures += 1;
        let failures = *consecutive_failures;
        debug!(
            error = cause(error),
            failures, "a Redis cache call failed; memory answered"
        );
        if failures >= self.config.failure_threshold {
            state.breaker = Breaker::Open {
                since: Instant::now(),
            };
            metrics::gauge!(DEGRADED_GAUGE).set(1.0);
            warn!(
                redis = self.redis.display_url(),
                error = cause(error),
                failures,
                retry_every = ?self.config.cool_down,
                "the Redis cache is unreachable; serving from memory alone until it answers again"
            );
            self.start_repair(&mut state);
        }
    }

    /// Remembers that Redis may hold a stale copy of `key`, which the repair deletes.
    fn mark_unsynced(self: &Arc<Self>, key: &str) {
        let mut state = self.lock();
        state.unsynced.mark(key, self.config.unsynced_key_limit);
        self.start_repair(&mut state);
    }

    fn start_repair(self: &Arc<Self>, state: &mut State) {
        if state.repairing {
            return;
        }
        // Without a runtime there is nowhere to run it; the next call from inside one starts it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        state.repairing = true;
        runtime.spawn(repair(Arc::downgrade(self)));
    }

    /// One attempt: `PING`, delete the stale keys, close the circuit. False while Redis fails.
    async fn try_repair(&self) -> bool {
        if let Err(error) = self.redis.ping().await {
            debug!(
                error = cause(&error),
                "the Redis cache still does not answer"
            );
            return false;
        }
        loop {
            let work = {
                let mut state = self.lock();
                match &state.unsynced {
                    Unsynced::Everything => Repair::Everything,
                    Unsynced::Keys { marks, .. } if marks.is_empty() => {
                        self.close(&mut state);
                        return true;
                    }
                    Unsynced::Keys { marks, .. } => Repair::Keys(
                        marks
                            .iter()
                            .map(|(key, mark)| (key.clone(), *mark))
                            .collect(),
                    ),
                }
            };
            match work {
                Repair::Everything => match self.redis.forget_all().await {
                    Ok(removed) => {
                        debug!(removed, "dropped every Redis cache entry of this prefix");
                        // Nothing reached Redis meanwhile (it is skipped for every key), so
                        // what the scan removed is all there was.
                        self.lock().unsynced = Unsynced::none();
                    }
                    Err(error) => {
                        debug!(
                            error = cause(&error),
                            "could not drop the stale Redis cache entries"
                        );
                        return false;
                    }
                },
                Repair::Keys(keys) => {
                    let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
                    if let Err(error) = self.redis.delete_many(&names).await {
                        debug!(
                            error = cause(&error),
                            "could not delete the stale Redis cache entries"
                        );
                        return false;
                    }
                    let mut state = self.lock();
                    if let Unsynced::Keys { marks, .. } = &mut state.unsynced {
                        for (key, mark) in &keys {
                            if marks.get(key) == Some(mark) {
                                marks.remove(key);
                            }
                        }
                    }
                }
            }
        }
    }

    fn close(&self, state: &mut State) {
        state.repairing = false;
        match state.breaker {
            Breaker::Open { since } => {
                state.breaker = Breaker::Closed {
                    consecutive_failures: 0,
                };
                metrics::gauge!(DEGRADED_GAUGE).set(0.0);
                info!(
                    redis = self.redis.display_url(),
                    degraded_for = ?since.elapsed(),
                    "the Redis cache answers again; using it beside memory"
                );
            }
            Breaker::Closed { .. } => {}
        }
    }
}

/// What went wrong, for the log: the port's message is the sentence for a user, the variant
/// carries the cause.
fn cause(error: &CacheError) -> &str {
    match error {
        CacheError::Unavailable(cause) => cause,
    }
}

/// The background half of the breaker: every cool-down, try to repair, until it worked or the
/// cache is gone.
async fn repair(shared: Weak<Shared>) {
    loop {
        let Some(cool_down) = shared.upgrade().map(|shared| shared.config.cool_down) else {
            return;
        };
        tokio::time::sleep(cool_down).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.try_repair().await {
            return;
        }
    }
}

impl fmt::Debug for LayeredCache {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        formatter
            .debug_struct("LayeredCache")
            .field("memory", &self.memory)
            .field("redis", &self.shared.redis)
            .field("config", &self.shared.config)
            .field("breaker", &state.breaker)
            .field("unsynced_keys", &state.unsynced.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Cache for LayeredCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        if let Some(value) = self.memory.get(key).await? {
            return Ok(Some(value));
        }
        if !self.shared.redis_allowed(key) {
            return Ok(None);
        }
        match self.shared.redis.get_with_ttl(key).await {
            Ok(found) => {
                self.shared.record_success();
                record_read(Self::REDIS_LAYER, found.is_some());
                let Some((value, left)) = found else {
                    return Ok(None);
                };
                let ttl = self.memory_ttl(left.unwrap_or(Duration::MAX));
                self.memory.set(key, value.clone(), ttl).await?;
                Ok(Some(value))
            }
            Err(error) => {
                self.shared.record_failure(&error);
                Ok(None)
            }
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        if !self.shared.redis_allowed(key) {
            self.memory.set(key, value, self.memory_ttl(ttl)).await?;
            self.shared.mark_unsynced(key);
            return Ok(());
        }
        self.memory
            .set(key, value.clone(), self.memory_ttl(ttl))
            .await?;
        if let Err(error) = self.shared.redis.set(key, value, ttl).await {
            self.shared.record_failure(&error);
            self.shared.mark_unsynced(key);
        } else {
            self.shared.record_success();
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.memory.delete(key).await?;
        if !self.shared.redis_allowed(key) {
            self.shared.mark_unsynced(key);
            return Ok(());
        }
        if let Err(error) = self.shared.redis.delete(key).await {
            self.shared.record_failure(&error);
            self.shared.mark_unsynced(key);
        } else {
            self.shared.record_success();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisCacheConfig;
    use crate::moka_cache::tests::{reads, reads_since};

    const MINUTE: Duration = Duration::from_mins(1);

    /// `MINSTREL_TEST_REDIS_URL`, required when `CI` is set (as in `tests/cache/support.rs`).
    fn redis_url() -> Option<String> {
        let url = std::env::var("MINSTREL_TEST_REDIS_URL")
            .ok()
            .filter(|url| !url.trim().is_empty());
        let in_ci =
            std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"));
        assert!(
            url.is_some() || !in_ci,
            "MINSTREL_TEST_REDIS_URL is not set, and CI is: the Redis half must run in CI"
        );
        url
    }

    fn layered(url: &str) -> LayeredCache {
        let prefix = format!(
            "minstrel-test:{}:{:?}:metrics:",
            std::process::id(),
            Instant::now()
        );
        let redis = RedisCache::new(RedisCacheConfig::new(url).with_key_prefix(prefix)).unwrap();
        LayeredCache::new(MokaCache::default(), redis, LayeredCacheConfig::default())
    }

    #[tokio::test]
    async fn a_failed_redis_read_is_a_memory_miss_and_no_redis_count() {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cache = layered(&format!("redis://127.0.0.1:{port}"));
        assert_eq!(cache.get("absent").await.unwrap(), None);
        // Redis did not answer: that read is neither a Redis hit nor a Redis miss.
        assert_eq!(
            reads_since(&snapshotter),
            reads(&[(MokaCache::MISSES_COUNTER, "memory", 1)])
        );
    }

    #[tokio::test]
    async fn reads_count_hits_and_misses_per_layer() {
        let Some(url) = redis_url() else {
            eprintln!("note: MINSTREL_TEST_REDIS_URL is not set; skipping the Redis layer");
            return;
        };
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let writer = layered(&url);
        // A second process's memory: empty, so its read reaches Redis.
        let reader = LayeredCache::new(
            MokaCache::default(),
            writer.redis().clone(),
            LayeredCacheConfig::default(),
        );
        assert_eq!(reader.get("k").await.unwrap(), None);
        writer.set("k", b"v".to_vec(), MINUTE).await.unwrap();
        assert_eq!(reader.get("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(reader.get("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(
            reads_since(&snapshotter),
            reads(&[
                (MokaCache::HITS_COUNTER, "memory", 1),
                (MokaCache::MISSES_COUNTER, "memory", 2),
                (MokaCache::HITS_COUNTER, "redis", 1),
                (MokaCache::MISSES_COUNTER, "redis", 1),
            ])
        );
        writer.delete("k").await.unwrap();
    }

    #[test]
    fn past_the_limit_every_key_counts_as_unsynced() {
        let mut unsynced = Unsynced::none();
        unsynced.mark("a", 2);
        unsynced.mark("b", 2);
        unsynced.mark("a", 2);
        assert_eq!(unsynced.len(), Some(2));
        assert!(unsynced.contains("a") && !unsynced.contains("c"));
        unsynced.mark("c", 2);
        assert_eq!(unsynced.len(), None);
        assert!(unsynced.contains("anything"));
        assert_eq!(Unsynced::none().len(), Some(0));
    }

    #[test]
    fn a_later_mark_of_a_key_is_newer() {
        let mut unsynced = Unsynced::none();
        unsynced.mark("a", 10);
        let Unsynced::Keys { marks, .. } = &unsynced else {
            unreachable!()
        };
        let first = marks["a"];
        unsynced.mark("a", 10);
        let Unsynced::Keys { marks, .. } = &unsynced else {
            unreachable!()
        };
        assert!(marks["a"] > first);
    }
}
