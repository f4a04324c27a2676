//! What the two Redis Streams adapters share ([`crate::RedisEventBus`] and
//! [`crate::RedisCommandBus`]): a pooled connection whose every call has a deadline and whose
//! errors name the server with its password blanked out, the growing pause between attempts
//! while Redis is down, stream entries parsed from either protocol (RESP2 arrays, RESP3 maps),
//! consumer-group creation and `XAUTOCLAIM`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::AsyncConnectionConfig;
use deadpool_redis::redis::{self, Value};
use deadpool_redis::{Manager, Pool, PoolConfig, Runtime, Timeouts};
use minstrel_app::ports::CacheError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::redact::{Redacted, redact_url};

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
        let shown = redact_url(url);
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

    /// Runs `command`, allowing `extra` beyond the usual deadline (a blocking read's wait).
    pub(crate) async fn query(
        &self,
        command: &redis::Cmd,
        extra: Duration,
    ) -> Result<Value, String> {
        let work = async {
            let mut connection =
                self.pool.get().await.map_err(|error| {
                    sentence(self.url.unavailable("could not be reached", &error))
                })?;
            command
                .query_async::<Value>(&mut connection)
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
        let mut command = redis::cmd("XGROUP");
        command
            .arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg(start)
            .arg("MKSTREAM");
        match self.query(&command, Duration::ZERO).await {
            Ok(_) => Ok(()),
            Err(error) if error.contains("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// One `XAUTOCLAIM` page: the entries of `group` idle for `idle` from `start` on, now
    /// `consumer`'s, and where the next page starts (`0-0`: no more).
    pub(crate) async fn autoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        idle: Duration,
        start: &str,
    ) -> Result<(String, Vec<Entry>), String> {
        let mut command = redis::cmd("XAUTOCLAIM");
        command
            .arg(stream)
            .arg(group)
            .arg(consumer)
            .arg(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX))
            .arg(start)
            .arg("COUNT")
            .arg(100);
        let reply = self.query(&command, Duration::ZERO).await?;
        let Value::Array(parts) = reply else {
            return Err(format!("XAUTOCLAIM answered oddly: {reply:?}"));
        };
        let next = parts
            .first()
            .and_then(text)
            .unwrap_or_else(|| "0-0".to_owned());
        let entries = parts.get(1).map(entry_list).unwrap_or_default();
        Ok((next, entries))
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
pub(crate) fn block_millis(block: Duration) -> u64 {
    u64::try_from(block.min(MAX_BLOCK).as_millis())
        .unwrap_or(u64::MAX)
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

/// The growing pause between attempts while Redis is down.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: Self::FIRST,
            max,
        }
    }

    pub(crate) fn take(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max.max(Self::FIRST));
        pause
    }

    pub(crate) fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// One stream entry: its id and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) fields: Vec<(String, String)>,
}

impl Entry {
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The milliseconds part of the id (`{ms}-{seq}`): when Redis added the entry.
    pub(crate) fn millis(&self) -> Option<u128> {
        self.id.split_once('-')?.0.parse().ok()
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// The entries of an `XREAD`/`XREADGROUP` reply with their stream's key: RESP2
/// `[[key, entries], …]`, RESP3 `{key: entries}`, or nil when nothing came.
pub(crate) fn stream_entries(reply: &Value) -> Vec<(String, Entry)> {
    let with_key = |key: &Value, entries: &Value| {
        let key = text(key).unwrap_or_default();
        entry_list(entries)
            .into_iter()
            .map(move |entry| (key.clone(), entry))
    };
    match reply {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|stream| match stream {
                Value::Array(pair) => Some(with_key(pair.first()?, pair.get(1)?)),
                _ => None,
            })
            .flatten()
            .collect(),
        Value::Map(streams) => streams
            .iter()
            .flat_map(|(key, entries)| with_key(key, entries))
            .collect(),
        _ => Vec::new(),
    }
}

/// `[[id, [field, value, …]], …]`; nil entries (deleted meanwhile) are left out.
fn entry_list(value: &Value) -> Vec<Entry> {
    let Value::Array(entries) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = text(parts.first()?)?;
            let flat: Vec<String> = match parts.get(1) {
                Some(Value::Array(fields)) => fields.iter().filter_map(text).collect(),
                Some(Value::Map(pairs)) => pairs
                    .iter()
                    .flat_map(|(field, value)| [text(field), text(value)])
                    .flatten()
                    .collect(),
                _ => Vec::new(),
            };
            let fields = flat
                .chunks(2)
                .filter_map(|pair| match pair {
                    [field, value] => Some((field.clone(), value.clone())),
                    _ => None,
                })
                .collect();
            Some(Entry { id, fields })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn replies_of_both_protocols_keep_their_stream_and_nil_parses() {
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
            Value::Array(vec![entry.clone(), Value::Nil]),
        ])]);
        let parsed = stream_entries(&resp2);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, "s1");
        assert_eq!(parsed[0].1.field("correlation"), Some("p:1"));
        assert_eq!(parsed[0].1.field("missing"), None);
        assert_eq!(parsed[0].1.millis(), Some(1_700_000_000_000));
        let resp3 = Value::Map(vec![(bulk("s2"), Value::Array(vec![entry]))]);
        let parsed3 = stream_entries(&resp3);
        assert_eq!(parsed3[0].0, "s2");
        assert_eq!(parsed3[0].1, parsed[0].1);
        assert!(stream_entries(&Value::Nil).is_empty());
        let junk = Entry {
            id: "junk".to_owned(),
            fields: Vec::new(),
        };
        assert_eq!(junk.millis(), None);
    }

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.take().as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.take(), Duration::from_millis(100));
    }

    #[test]
    fn a_block_is_never_zero_milliseconds() {
        assert_eq!(block_millis(Duration::ZERO), 1);
        assert_eq!(block_millis(Duration::from_millis(250)), 250);
    }
}
