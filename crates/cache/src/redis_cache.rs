use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::{self, FromRedisValue};
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use minstrel_app::ports::{Cache, CacheError};

use crate::redact::{Redacted, redact_url};

/// How a [`RedisCache`] reaches its server.
///
/// The defaults suit a bot beside its Redis: a dead or hung server costs a caller at most
/// [`RedisCacheConfig::DEFAULT_TIMEOUT`] per call, never a hang.
#[derive(Clone)]
pub struct RedisCacheConfig {
    /// `redis://[user:password@]host[:port][/db]`; it may hold a password, so it is never
    /// logged or shown as given (see [`RedisCache::display_url`]).
    pub url: String,
    /// Put before every key, so that several deployments and test runs share one Redis
    /// without seeing each other's entries.
    pub key_prefix: String,
    /// The most one call may take, whatever it waits for: a free pooled connection, a new
    /// connection, the check of a pooled one, or the server's answer. Also the pool's wait,
    /// create and recycle timeouts.
    pub timeout: Duration,
    /// Connections kept open at most.
    pub max_connections: usize,
}

impl RedisCacheConfig {
    pub const DEFAULT_KEY_PREFIX: &'static str = "minstrel:";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

    /// The defaults above, for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }

    #[must_use]
    pub fn with_key_prefix(mut self, key_prefix: impl Into<String>) -> Self {
        self.key_prefix = key_prefix.into();
        self
    }

    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    #[must_use]
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections;
        self
    }
}

impl fmt::Debug for RedisCacheConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisCacheConfig")
            .field("url", &redact_url(&self.url).shown)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The [`Cache`] port on a Redis server, through a deadpool connection pool.
///
/// Entries are Redis strings under `{key_prefix}{key}`, written with `SET … PX ttl`, so Redis
/// expires them itself. Every failure (refused or dropped connection, no answer within the
/// timeout, an error reply) is a [`CacheError::Unavailable`] naming the server with its password
/// blanked out. Building one does not connect: the pool connects on first use.
///
/// Clones share the pool.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    key_prefix: String,
    timeout: Duration,
    url: Redacted,
}

/// Redis refuses expiry times that overflow its clock; no cache entry needs more than this.
const LONGEST_TTL_MILLIS: u64 = i64::MAX.unsigned_abs() / 4;
/// Keys asked for per `SCAN` round and removed per `UNLINK` in [`RedisCache::forget_all`].
const BATCH: usize = 500;

impl RedisCache {
    /// # Errors
    /// `Unavailable` when the URL is not a usable Redis URL (`rediss://` included: this build
    /// has no TLS for Redis).
    pub fn new(config: RedisCacheConfig) -> Result<Self, CacheError> {
        let url = redact_url(&config.url);
        let mut pool_config = PoolConfig::new(config.max_connections.max(1));
        pool_config.timeouts = Timeouts {
            wait: Some(config.timeout),
            create: Some(config.timeout),
            recycle: Some(config.timeout),
        };
        let mut redis_config = deadpool_redis::Config::from_url(config.url);
        redis_config.pool = Some(pool_config);
        let pool = redis_config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|error| url.unavailable("is not usable", &error))?;
        Ok(Self {
            pool,
            key_prefix: config.key_prefix,
            timeout: config.timeout,
            url,
        })
    }

    /// The server's URL with any user name and password replaced by `***`: the form for logs
    /// and messages.
    pub fn display_url(&self) -> &str {
        &self.url.shown
    }

    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// # Errors
    /// `Unavailable` when the server does not answer `PING` in time.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(self.url.unavailable("answered PING oddly", &pong))
        }
    }

    /// The value with the time it has left to live (`None` for an entry without expiry), read
    /// in one transaction so both describe the same entry.
    ///
    /// # Errors
    /// `Unavailable` as for [`Cache::get`].
    pub async fn get_with_ttl(
        &self,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Option<Duration>)>, CacheError> {
        let key = self.full_key(key);
        let mut pipeline = redis::pipe();
        pipeline.atomic().cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        let (value, millis_left): (Option<Vec<u8>>, i64) = self.query_pipeline(&pipeline).await?;
        // PTTL answers -1 for "no expiry" and -2 for "no such key".
        Ok(value.map(|value| {
            let left = u64::try_from(millis_left).ok().map(Duration::from_millis);
            (value, left)
        }))
    }

    /// Deletes every entry under this cache's key prefix (and nothing else), returning how many
    /// were removed.
    ///
    /// # Errors
    /// `Unavailable` when a round trip fails; entries already removed stay removed.
    pub async fn forget_all(&self) -> Result<u64, CacheError> {
        let pattern = format!("{}*", escape_glob(&self.key_prefix));
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(BATCH);
            let (next, keys): (u64, Vec<Vec<u8>>) = self.query(&scan).await?;
            if !keys.is_empty() {
                let removed_now: u64 = self.query(redis::cmd("UNLINK").arg(&keys)).await?;
                removed += removed_now;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Deletes several keys in one round trip.
    ///
    /// # Errors
    /// `Unavailable` as for [`Cache::delete`].
    pub async fn delete_many(&self, keys: &[&str]) -> Result<(), CacheError> {
        for chunk in keys.chunks(BATCH) {
            let full_keys: Vec<String> = chunk.iter().map(|key| self.full_key(key)).collect();
            let _: u64 = self.query(redis::cmd("DEL").arg(&full_keys)).await?;
        }
        Ok(())
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    async fn query<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, CacheError> {
        self.on_connection(async |connection| command.query_async(connection).await)
            .await
    }

    async fn query_pipeline<T: FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<T, CacheError> {
        self.on_connection(async |connection| pipeline.query_async(connection).await)
            .await
    }

    /// Runs `work` on a connection from the pool, the wait for the connection and the answer
    /// both within the timeout.
    async fn on_connection<T>(
        &self,
        work: impl AsyncFnOnce(&mut deadpool_redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, CacheError> {
        self.within_timeout(async {
            let mut connection = self
                .pool
                .get()
                .await
                .map_err(|error| self.url.unavailable("could not be reached", &error))?;
            work(&mut connection)
                .await
                .map_err(|error| self.url.unavailable("failed", &error))
        })
        .await
    }

    /// The pool's timeouts bound waiting for a connection; this bounds the whole call, the
    /// server's answer included (a server that accepts and then says nothing must not hang a
    /// caller).
    async fn within_timeout<T>(
        &self,
        work: impl Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(self.url.unavailable(
                    "did not answer",
                    &format_args!("no answer within {:?}", self.timeout),
                ))
            })
    }
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisCache")
            .field("url", &self.url.shown)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.query(redis::cmd("GET").arg(self.full_key(key))).await
    }

    /// A zero `ttl` stores nothing and drops any earlier value, as [`crate::MokaCache`] does
    /// (Redis itself refuses `PX 0`). A TTL below a millisecond is rounded up to one.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return self.delete(key).await;
        }
        let millis = u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u64::MAX)
            .min(LONGEST_TTL_MILLIS);
        let mut command = redis::cmd("SET");
        command
            .arg(self.full_key(key))
            .arg(value)
            .arg("PX")
            .arg(millis);
        self.query::<()>(&command).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.query::<u64>(redis::cmd("DEL").arg(self.full_key(key)))
            .await
            .map(drop)
    }
}

/// `SCAN MATCH` reads glob syntax; a prefix is meant literally.
fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\' | '^') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_a_prefix_are_escaped() {
        assert_eq!(escape_glob("minstrel:"), "minstrel:");
        assert_eq!(escape_glob("a*b?[c]\\d^"), "a\\*b\\?\\[c\\]\\\\d\\^");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let config = RedisCacheConfig::new("redis://bot:hunter2@127.0.0.1:6379/0");
        assert!(!format!("{config:?}").contains("hunter2"));
        let cache = RedisCache::new(config).unwrap();
        assert!(!format!("{cache:?}").contains("hunter2"));
        assert_eq!(cache.display_url(), "redis://***@127.0.0.1:6379/0");
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused_without_showing_its_password() {
        let error =
            RedisCache::new(RedisCacheConfig::new("http://bot:hunter2@example")).unwrap_err();
        let CacheError::Unavailable(message) = error;
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("***"), "{message}");
    }
}
