//! What the two Redis Streams adapters share ([`crate::RedisEventBus`] and
//! [`crate::RedisCommandBus`]): a pooled connection that runs the redis crate's typed stream
//! commands with a deadline on every call and errors that name the server with its password
//! blanked out, the jittered pause between attempts while Redis is down, consumer-group
//! creation and one `XAUTOCLAIM` page.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use deadpool_redis::redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamId};
use deadpool_redis::redis::{AsyncConnectionConfig, Cmd, FromRedisValue};
use deadpool_redis::{Manager, Pool, PoolConfig, Runtime, Timeouts};
use minstrel_app::ports::CacheError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::redact::Redacted;

/// The entries one read or claim asks for at most.
pub(crate) const PAGE: usize = 100;

/// A Redis pool for stream work: every call has a deadline, every error is one sentence.
pub(crate) struct StreamConnection {
    pool: Pool,
    url: Redacted,
    timeout: Duration,
}

impl StreamConnection {
    /// A pool of `size` connections to `url`; nothing connects yet.
    ///
    /// # Errors
    /// `Unavailable` when the URL is not a usable Redis URL (its password never shown).
    pub(crate) fn new(url: &str, size: usize, timeout: Duration) -> Result<Self, CacheError> {
        let shown = Redacted::new(url);
        let mut pool_config = PoolConfig::new(size);
        pool_config.timeouts = Timeouts {
            wait: Some(timeout),
            create: Some(timeout),
            recycle: Some(timeout),
        };
        // The redis client's own response timeout (500 ms by default) would cut every
        // blocking XREAD/XREADGROUP short and make a healthy, idle Redis look down. Each call
        // here has its own deadline ([`StreamConnection::query`]: the usual one plus the
        // read's block), so the client's is set past the longest of those.
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout + MAX_BLOCK));
        let manager = Manager::new_with_config(url, connection)
            .map_err(|error| shown.unavailable("is not usable", &error))?;
        let pool = Pool::builder(manager)
            .config(pool_config)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| shown.unavailable("is not usable", &error))?;
        Ok(Self {
            pool,
            url: shown,
            timeout,
        })
    }

    /// The server as it may be logged (password blanked out).
    pub(crate) fn shown(&self) -> &str {
        &self.url.shown
    }

    /// Runs `command` (built with the redis crate's typed constructors, `Cmd::xadd_maxlen` and
    /// the like) and reads its reply as `T`, allowing `extra` beyond the usual deadline (a
    /// blocking read's wait).
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        command: &Cmd,
        extra: Duration,
    ) -> Result<T, String> {
        let work = async {
            let mut connection =
                self.pool.get().await.map_err(|error| {
                    sentence(self.url.unavailable("could not be reached", &error))
                })?;
            command
                .query_async::<T>(&mut connection)
                .await
                .map_err(|error| sentence(self.url.unavailable("failed", &error)))
        };
        let limit = self.timeout + extra;
        tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(format!(
                "{} did not answer within {limit:?}",
                self.url.shown
            ))
        })
    }

    /// Creates `group` on `stream` (and the stream) reading from `start` (`$`: new entries
    /// only, `0`: everything kept), unless the group exists.
    pub(crate) async fn ensure_group(
        &self,
        stream: &str,
        group: &str,
        start: &str,
    ) -> Result<(), String> {
        let command = Cmd::xgroup_create_mkstream(stream, group, start);
        match self.query::<()>(&command, Duration::ZERO).await {
            Ok(()) => Ok(()),
            Err(error) if error.contains("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// One `XAUTOCLAIM` page: the entries of `group` idle for `idle` from `start` on, now
    /// `consumer`'s, and where the next page starts (`0-0`: no more). Entries deleted meanwhile
    /// are left out.
    pub(crate) async fn autoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        idle: Duration,
        start: &str,
    ) -> Result<StreamAutoClaimReply, String> {
        let command = Cmd::xautoclaim_options(
            stream,
            group,
            consumer,
            u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
            start,
            StreamAutoClaimOptions::default().count(PAGE),
        );
        self.query(&command, Duration::ZERO).await
    }
}

/// The sentence inside, which names the server (password blanked out) and the cause.
fn sentence(error: CacheError) -> String {
    let CacheError::Unavailable(message) = error;
    message
}

/// The longest `BLOCK` a stream read may ask for; longer waits are cut to it.
pub(crate) const MAX_BLOCK: Duration = Duration::from_secs(5);

/// A `BLOCK` argument in milliseconds (at least 1: 0 would block forever, at most
/// [`MAX_BLOCK`]: the client's response timeout is set past it).
pub(crate) fn block_millis(block: Duration) -> usize {
    usize::try_from(block.min(MAX_BLOCK).as_millis())
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Now, in Unix milliseconds.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A text field of an entry; `None` when it is missing or not text.
pub(crate) fn field(entry: &StreamId, name: &str) -> Option<String> {
    entry.get(name)
}

/// The milliseconds part of an entry id (`{ms}-{seq}`): when Redis added the entry.
pub(crate) fn added_millis(id: &str) -> Option<u128> {
    id.split_once('-')?.0.parse().ok()
}

/// The background tasks of a stream adapter: told to stop, then aborted, when it is dropped.
pub(crate) struct Tasks {
    stop: watch::Sender<bool>,
    running: Mutex<Vec<JoinHandle<()>>>,
}

impl Tasks {
    pub(crate) fn new() -> Self {
        Self {
            stop: watch::channel(false).0,
            running: Mutex::new(Vec::new()),
        }
    }

    /// What a task watches to know when to stop.
    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn push(&self, task: JoinHandle<()>) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

/// The pauses between attempts while Redis is down: backon's exponential backoff with jitter,
/// so processes that lost Redis together do not come back in step. Each pause lies between
/// the doubling step and twice it; the steps start at [`RetryPauses::FIRST`] and stop at half
/// of `max`, so no pause is longer than `max`.
pub(crate) struct RetryPauses {
    builder: ExponentialBuilder,
    pauses: ExponentialBackoff,
    max: Duration,
}

impl RetryPauses {
    const FIRST: Duration = Duration::from_millis(50);

    pub(crate) fn new(max: Duration) -> Self {
        let max = max.max(Self::FIRST * 2);
        let builder = ExponentialBuilder::default()
            .with_min_delay(Self::FIRST)
            .with_max_delay(max / 2)
            .with_jitter()
            .without_max_times();
        Self {
            pauses: builder.build(),
            builder,
            max,
        }
    }

    /// The next pause, longer than the last one until the cap.
    pub(crate) fn next_pause(&mut self) -> Duration {
        self.pauses.next().unwrap_or(self.max).min(self.max)
    }

    /// Redis answered: the next outage starts from the shortest pause again.
    pub(crate) fn reset(&mut self) {
        self.pauses = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use deadpool_redis::redis::Value;
    use deadpool_redis::redis::streams::StreamReadReply;

    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn read_replies_of_both_protocols_give_the_same_fields() {
        let entry = Value::Array(vec![
            bulk("1700000000000-0"),
            Value::Array(vec![
                bulk("correlation"),
                bulk("p:1"),
                bulk("reply"),
                bulk("{}"),
            ]),
        ]);
        let resp2 = Value::Array(vec![Value::Array(vec![
            bulk("s1"),
            Value::Array(vec![entry.clone()]),
        ])]);
        let resp3 = Value::Map(vec![(bulk("s2"), Value::Array(vec![entry]))]);
        let read = |value: Value| -> StreamReadReply {
            Option::<StreamReadReply>::from_redis_value(value)
                .unwrap()
                .unwrap_or_default()
        };
        let (two, three) = (read(resp2), read(resp3));
        assert_eq!(two.keys[0].key, "s1");
        assert_eq!(three.keys[0].key, "s2");
        let first = &two.keys[0].ids[0];
        assert_eq!(field(first, "correlation").as_deref(), Some("p:1"));
        assert_eq!(field(first, "missing"), None);
        assert_eq!(added_millis(&first.id), Some(1_700_000_000_000));
        assert_eq!(&three.keys[0].ids[0], first);
        // A blocking read that timed out answers nil: nothing came.
        assert!(read(Value::Nil).keys.is_empty());
        assert_eq!(added_millis("junk"), None);
    }

    #[test]
    fn pauses_grow_with_jitter_stay_under_the_cap_and_reset() {
        let max = Duration::from_millis(800);
        let mut pauses = RetryPauses::new(max);
        let drawn: Vec<Duration> = (0..40).map(|_| pauses.next_pause()).collect();
        assert!(drawn.iter().all(|pause| *pause <= max), "{drawn:?}");
        assert!(drawn[0] < Duration::from_millis(100), "{drawn:?}");
        assert!(drawn[39] >= max / 2, "{drawn:?}");
        // At the cap the steps are equal; jitter keeps the pauses apart.
        let capped: std::collections::BTreeSet<Duration> = drawn[10..].iter().copied().collect();
        assert!(capped.len() > 1, "no jitter: {drawn:?}");
        pauses.reset();
        assert!(pauses.next_pause() < Duration::from_millis(100));
    }

    #[test]
    fn a_block_is_never_zero_milliseconds() {
        assert_eq!(block_millis(Duration::ZERO), 1);
        assert_eq!(block_millis(Duration::from_millis(250)), 250);
        assert_eq!(block_millis(Duration::from_mins(1)), 5_000);
    }
}
