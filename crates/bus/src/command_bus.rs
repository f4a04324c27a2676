//! [`RedisCommandBus`]: the `CommandBus` port over Redis Streams, so that a front-end in one
//! process drives a guild whose player lives in another.
//!
//! # Design
//! - A guild belongs to shard `(guild_id >> 22) % shard_total`; its commands go to the stream
//!   `{key_prefix}commands:shard:{n}` (`XADD … MAXLEN ~ max_len`), one entry per command with
//!   its `correlation` id, the caller's `reply_to` stream, a `deadline` (Unix milliseconds)
//!   and the `request` as JSON.
//! - The process that owns shard `n` ([`RedisCommandBus::serve`]) reads that stream in the
//!   consumer group `owners` (one group shared by every owner over time, its consumer named
//!   after the process id): `XREADGROUP`, runs the command through its local bus, `XADD`s the
//!   reply to `reply_to` (kept an hour at most: `PEXPIRE`), then `XACK`s. Commands run
//!   concurrently; each guild's use cases keep their own order.
//! - An owner that dies between reading and acknowledging leaves the entry pending in the
//!   group. The next owner (the restarted process, or the one that takes its shards) takes it
//!   over with `XAUTOCLAIM` once it has been idle for `claim_idle` and runs it then, unless its
//!   deadline has passed: the caller gave up and told its user so, and a late `play` would
//!   surprise them. Delivery is therefore at least once within the deadline.
//! - The caller ([`CommandBus::dispatch`]) registers the correlation id, sends, and waits up to
//!   `reply_timeout` for the reply, which its reader task (`XREAD` on
//!   `{key_prefix}commands:replies:{process_id}`, deleting what it read) hands over. No answer
//!   in time is [`CommandError::OwnerUnreachable`], a sentence for the user.
//! - Redis down: `dispatch` fails at once with [`CommandError::Transport`]; the reader tasks
//!   retry after a growing, jittered pause (up to `max_backoff`) and log once per outage.

mod wire;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::streams::{StreamId, StreamMaxlen, StreamReadOptions, StreamReadReply};
use deadpool_redis::redis::{Cmd, FromRedisValue};
use minstrel_app::ports::{CacheError, CommandBus};
use minstrel_app::redact::redact_url;
use minstrel_app::{Actor, CommandError, CommandReply, GuildCommand, shard_of};
use minstrel_domain::GuildId;
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

use crate::streams::{PAGE, RetryPauses, StreamConnection, Tasks, block_millis, field, now_millis};

/// The consumer group every owner of a shard reads in.
const OWNERS_GROUP: &str = "owners";
/// How long a reply stream outlives its last reply (its caller is gone by then).
const REPLY_STREAM_TTL: Duration = Duration::from_hours(1);
/// A reply stream keeps about this many entries (`MAXLEN ~`); its reader deletes what it read.
const REPLY_STREAM_MAX_LEN: usize = 1000;

/// How a [`RedisCommandBus`] reaches its streams.
#[derive(Clone)]
pub struct RedisCommandBusConfig {
    /// `redis://[user:password@]host[:port][/db]`; never logged as given.
    pub url: String,
    /// Streams are `{key_prefix}commands:shard:{n}` and `{key_prefix}commands:replies:{id}`.
    pub key_prefix: String,
    /// This process's name: its reply stream and its consumer in the owners' group. Two running
    /// processes must never share one.
    pub process_id: String,
    /// The deployment's shard count (the same in every process).
    pub shard_total: u32,
    /// How long a caller waits for the owner's reply.
    pub reply_timeout: Duration,
    /// Pending commands idle this long are taken over (`XAUTOCLAIM`).
    pub claim_idle: Duration,
    /// How often an owner looks for pending commands.
    pub claim_every: Duration,
    /// The most one Redis call may take (a read waits `read_block` more).
    pub timeout: Duration,
    /// How long one blocking read waits.
    pub read_block: Duration,
    /// The longest pause between two attempts while Redis is down.
    pub max_backoff: Duration,
    /// Each command stream keeps about this many entries (`MAXLEN ~`).
    pub max_len: usize,
}

impl RedisCommandBusConfig {
    /// Production defaults for the server at `url`.
    pub fn new(url: impl Into<String>, process_id: impl Into<String>, shard_total: u32) -> Self {
        Self {
            url: url.into(),
            key_prefix: crate::DEFAULT_KEY_PREFIX.to_owned(),
            process_id: process_id.into(),
            shard_total: shard_total.max(1),
            reply_timeout: Duration::from_secs(15),
            claim_idle: Duration::from_secs(5),
            claim_every: Duration::from_secs(2),
            timeout: Duration::from_millis(500),
            read_block: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_len: 10_000,
        }
    }

    #[must_use]
    pub fn with_key_prefix(mut self, key_prefix: impl Into<String>) -> Self {
        self.key_prefix = key_prefix.into();
        self
    }

    /// The stream of shard `shard`'s commands.
    pub fn shard_stream(&self, shard: u32) -> String {
        format!("{}commands:shard:{shard}", self.key_prefix)
    }

    /// This process's reply stream.
    pub fn reply_stream(&self) -> String {
        format!("{}commands:replies:{}", self.key_prefix, self.process_id)
    }
}

impl fmt::Debug for RedisCommandBusConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisCommandBusConfig")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("process_id", &self.process_id)
            .field("shard_total", &self.shard_total)
            .field("reply_timeout", &self.reply_timeout)
            .finish_non_exhaustive()
    }
}

struct Shared {
    config: RedisCommandBusConfig,
    reply_stream: String,
    redis: StreamConnection,
    /// Callers waiting for a reply, by correlation id.
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<CommandReply, CommandError>>>>,
    next_correlation: AtomicU64,
    /// Entries this process is running now: a claim must not run them twice.
    running: Mutex<HashSet<String>>,
    /// Set while a reader cannot reach Redis, for one log line per outage.
    degraded: AtomicBool,
    /// How many times Redis went from answering to not answering.
    outages: AtomicU64,
    /// True once the reply reader reads (and, when serving, the groups exist).
    ready: watch::Sender<bool>,
    /// How many commands this process ran for others (claimed ones included).
    served: AtomicU64,
}

impl Shared {
    async fn query<T: FromRedisValue>(&self, command: &Cmd, extra: Duration) -> Result<T, String> {
        self.redis.query(command, extra).await
    }

    fn failed(&self, what: &str, error: &str) {
        if self.degraded.swap(true, Ordering::SeqCst) {
            debug!(redis = %self.redis.shown(), error, "the Redis command bus could still not {what}");
        } else {
            self.outages.fetch_add(1, Ordering::SeqCst);
            warn!(
                redis = %self.redis.shown(),
                error,
                "the Redis command bus could not {what}; commands for other processes' servers \
                 fail until Redis answers again"
            );
        }
    }

    fn succeeded(&self) {
        if self.degraded.swap(false, Ordering::SeqCst) {
            info!(redis = %self.redis.shown(), "the Redis command bus reaches Redis again");
        }
    }

    /// How a read of this bus waits for entries and how many it takes.
    fn read_options(&self) -> StreamReadOptions {
        StreamReadOptions::default()
            .count(PAGE)
            .block(block_millis(self.config.read_block))
    }
}

/// The [`CommandBus`] port over Redis Streams (see the module documentation for the design).
///
/// Build it with [`RedisCommandBus::new`], [`RedisCommandBus::start`] the reply reader, and
/// [`RedisCommandBus::serve`] the shards this process owns. Dropping the bus stops its tasks.
pub struct RedisCommandBus {
    shared: Arc<Shared>,
    tasks: Tasks,
    started: AtomicBool,
}

impl RedisCommandBus {
    /// Builds the bus; nothing connects until [`RedisCommandBus::start`].
    ///
    /// # Errors
    /// `Unavailable` when the URL is not a usable Redis URL (its password never shown).
    pub fn new(config: RedisCommandBusConfig) -> Result<Self, CacheError> {
        // The reply reader and every shard reader block on one connection each.
        let redis = StreamConnection::new(&config.url, 8, config.timeout)?;
        Ok(Self {
            shared: Arc::new(Shared {
                reply_stream: config.reply_stream(),
                config,
                redis,
                waiting: Mutex::new(HashMap::new()),
                next_correlation: AtomicU64::new(1),
                running: Mutex::new(HashSet::new()),
                degraded: AtomicBool::new(false),
                outages: AtomicU64::new(0),
                ready: watch::channel(false).0,
                served: AtomicU64::new(0),
            }),
            tasks: Tasks::new(),
            started: AtomicBool::new(false),
        })
    }

    /// Starts the reader of this process's replies on the current runtime; later calls do
    /// nothing.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(&self) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let reader = tokio::spawn(read_replies(
            Arc::clone(&self.shared),
            self.tasks.stop_signal(),
        ));
        self.tasks.push(reader);
    }

    /// Runs the commands sent to `shards` through `local` (this process's own bus), until the
    /// bus is dropped. Call once, with every shard this process owns.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn serve(&self, shards: impl IntoIterator<Item = u32>, local: Arc<dyn CommandBus>) {
        let streams: Vec<String> = shards
            .into_iter()
            .map(|shard| self.shared.config.shard_stream(shard))
            .collect();
        if streams.is_empty() {
            return;
        }
        info!(
            streams = ?streams,
            process = %self.shared.config.process_id,
            "serving the commands of this process's shards"
        );
        let server = tokio::spawn(serve_shards(
            Arc::clone(&self.shared),
            streams,
            local,
            self.tasks.stop_signal(),
        ));
        self.tasks.push(server);
    }

    /// Waits until the reply reader has read once (so Redis answers); `false` when that did not
    /// happen within `limit`.
    pub async fn wait_until_ready(&self, limit: Duration) -> bool {
        let mut ready = self.shared.ready.subscribe();
        tokio::time::timeout(limit, ready.wait_for(|ready| *ready))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// How many times Redis stopped answering since the start (each logged once).
    pub fn outages(&self) -> u64 {
        self.shared.outages.load(Ordering::SeqCst)
    }

    /// How many commands this process ran for callers so far.
    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::SeqCst)
    }

    pub fn process_id(&self) -> &str {
        &self.shared.config.process_id
    }

    /// The server's URL with any password blanked out.
    pub fn display_url(&self) -> &str {
        self.shared.redis.shown()
    }
}

impl fmt::Debug for RedisCommandBus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RedisCommandBus")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// Removes a waiter when its `dispatch` ends, however it ends.
struct Waiting<'a> {
    shared: &'a Shared,
    correlation: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.shared
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.correlation);
    }
}

#[async_trait]
impl CommandBus for RedisCommandBus {
    async fn dispatch(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, CommandError> {
        let shared = &self.shared;
        let owner_shard = shard_of(guild, shared.config.shard_total);
        let name = command.name();
        let request = wire::encode_request(&wire::Request {
            guild,
            actor: actor.clone(),
            command,
        })
        .map_err(CommandError::Transport)?;
        let correlation = format!(
            "{}:{}",
            shared.config.process_id,
            shared.next_correlation.fetch_add(1, Ordering::Relaxed)
        );
        let (sender, receiver) = oneshot::channel();
        shared
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(correlation.clone(), sender);
        let _waiting = Waiting {
            shared,
            correlation: correlation.clone(),
        };
        let deadline = now_millis().saturating_add(
            u64::try_from(shared.config.reply_timeout.as_millis()).unwrap_or(u64::MAX),
        );
        let deadline = deadline.to_string();
        let xadd = Cmd::xadd_maxlen(
            shared.config.shard_stream(owner_shard),
            StreamMaxlen::Approx(shared.config.max_len.max(1)),
            "*",
            &[
                ("correlation", correlation.as_str()),
                ("reply_to", shared.reply_stream.as_str()),
                ("deadline", deadline.as_str()),
                ("request", request.as_str()),
            ],
        );
        shared.query::<()>(&xadd, Duration::ZERO).await.map_err(|error| {
            warn!(%guild, shard = owner_shard, command = name, %error, "could not send a command to its owner");
            CommandError::Transport(error)
        })?;
        debug!(%guild, shard = owner_shard, command = name, %correlation, "command sent to its owner");
        match tokio::time::timeout(shared.config.reply_timeout, receiver).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(CommandError::Transport(
                "the reply reader stopped".to_owned(),
            )),
            Err(_) => {
                warn!(
                    %guild,
                    shard = owner_shard,
                    command = name,
                    timeout = ?shared.config.reply_timeout,
                    "the process that owns this guild's shard did not answer"
                );
                Err(CommandError::OwnerUnreachable)
            }
        }
    }
}

/// Reads this process's reply stream and hands each reply to its waiting caller.
async fn read_replies(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut pauses = RetryPauses::new(shared.config.max_backoff);
    // The stream is this process's alone; what a previous run with the same id left has no
    // caller any more and is dropped below.
    let mut last_id = "0-0".to_owned();
    loop {
        let outcome = tokio::select! {
            outcome = read_replies_once(&shared, &mut last_id) => outcome,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match outcome {
            Ok(()) => {
                shared.succeeded();
                pauses.reset();
            }
            Err(error) => {
                shared.failed("read its replies", &error);
                tokio::select! {
                    () = tokio::time::sleep(pauses.next_pause()) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
        }
    }
}

async fn read_replies_once(shared: &Shared, last_id: &mut String) -> Result<(), String> {
    let command = Cmd::xread_options(
        &[shared.reply_stream.as_str()],
        &[last_id.as_str()],
        &shared.read_options(),
    );
    // The first call is about to block: from now on no reply is missed.
    shared.ready.send_replace(true);
    let reply: Option<StreamReadReply> = shared.query(&command, shared.config.read_block).await?;
    let entries: Vec<StreamId> = reply
        .into_iter()
        .flat_map(|reply| reply.keys)
        .flat_map(|stream| stream.ids)
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(entries.len());
    for entry in entries {
        ids.push(entry.id.clone());
        let (Some(correlation), Some(text)) =
            (field(&entry, "correlation"), field(&entry, "reply"))
        else {
            warn!(id = %entry.id, "a command reply has no correlation or reply; skipped");
            continue;
        };
        let reply = wire::decode_reply(&text).unwrap_or_else(|error| {
            warn!(id = %entry.id, %error, "a command reply is damaged");
            Err(CommandError::Transport(error))
        });
        let waiter = shared
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&correlation);
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        } else {
            debug!(%correlation, "a reply came after its caller stopped waiting");
        }
    }
    if let Some(last) = ids.last() {
        last_id.clone_from(last);
    }
    let delete = Cmd::xdel(shared.reply_stream.as_str(), &ids);
    shared
        .query::<usize>(&delete, Duration::ZERO)
        .await
        .map(drop)
}

/// Reads the owned shards' streams in the owners' group, runs each command, replies and
/// acknowledges; takes over commands a dead owner left pending.
async fn serve_shards(
    shared: Arc<Shared>,
    streams: Vec<String>,
    local: Arc<dyn CommandBus>,
    mut stop: watch::Receiver<bool>,
) {
    let consumer = shared.config.process_id.clone();
    let mut pauses = RetryPauses::new(shared.config.max_backoff);
    loop {
        let outcome = tokio::select! {
            outcome = serve_until_failure(&shared, &streams, &consumer, &local, &mut pauses) => outcome,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        let Err(error) = outcome;
        shared.failed("read its shards' commands", &error);
        tokio::select! {
            () = tokio::time::sleep(pauses.next_pause()) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

async fn serve_until_failure(
    shared: &Arc<Shared>,
    streams: &[String],
    consumer: &str,
    local: &Arc<dyn CommandBus>,
    pauses: &mut RetryPauses,
) -> Result<std::convert::Infallible, String> {
    for stream in streams {
        ensure_group(shared, stream).await?;
    }
    // Only entries never delivered to any owner: `>` for each stream.
    let new_only = vec![">"; streams.len()];
    let options = shared.read_options().group(OWNERS_GROUP, consumer);
    let mut next_claim = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_claim {
            for stream in streams {
                claim_pending(shared, stream, consumer, local).await?;
            }
            next_claim = tokio::time::Instant::now() + shared.config.claim_every;
        }
        let command = Cmd::xread_options(streams, &new_only, &options);
        let reply: Option<StreamReadReply> =
            shared.query(&command, shared.config.read_block).await?;
        shared.succeeded();
        pauses.reset();
        for stream in reply.into_iter().flat_map(|reply| reply.keys) {
            for entry in stream.ids {
                run_entry(shared, stream.key.clone(), entry, local).await?;
            }
        }
    }
}

/// Creates the owners' group at the stream's start (and the stream), unless it exists: a
/// command sent before any owner ever ran is still run within its deadline.
async fn ensure_group(shared: &Shared, stream: &str) -> Result<(), String> {
    shared.redis.ensure_group(stream, OWNERS_GROUP, "0").await
}

async fn claim_pending(
    shared: &Arc<Shared>,
    stream: &str,
    consumer: &str,
    local: &Arc<dyn CommandBus>,
) -> Result<(), String> {
    let mut start = "0-0".to_owned();
    loop {
        let page = shared
            .redis
            .autoclaim(
                stream,
                OWNERS_GROUP,
                consumer,
                shared.config.claim_idle,
                &start,
            )
            .await?;
        for entry in page.claimed {
            let running = shared
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&entry.id);
            if running {
                continue;
            }
            info!(id = %entry.id, stream, "took over a command another owner left unanswered");
            run_entry(shared, stream.to_owned(), entry, local).await?;
        }
        if page.next_stream_id == "0-0" {
            return Ok(());
        }
        start = page.next_stream_id;
    }
}

/// Starts one command (its own task, so a slow `play` holds up nobody); acknowledges at once
/// what is past its deadline or unreadable.
async fn run_entry(
    shared: &Arc<Shared>,
    stream: String,
    entry: StreamId,
    local: &Arc<dyn CommandBus>,
) -> Result<(), String> {
    let deadline = field(&entry, "deadline").and_then(|deadline| deadline.parse::<u64>().ok());
    let (Some(correlation), Some(reply_to), Some(request)) = (
        field(&entry, "correlation"),
        field(&entry, "reply_to"),
        field(&entry, "request"),
    ) else {
        warn!(id = %entry.id, stream, "a command entry lacks a field; dropped");
        return acknowledge(shared, &stream, &entry.id).await;
    };
    if deadline.is_none_or(|deadline| deadline < now_millis()) {
        debug!(id = %entry.id, stream, "a command past its deadline; dropped");
        return acknowledge(shared, &stream, &entry.id).await;
    }
    let reply = match wire::decode_request(&request) {
        Ok(request) => Ok(request),
        Err(error) => {
            warn!(id = %entry.id, stream, %error, "a command entry is damaged");
            Err(CommandError::Transport(error))
        }
    };
    shared
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(entry.id.clone());
    let shared = Arc::clone(shared);
    let local = Arc::clone(local);
    tokio::spawn(async move {
        let reply = match reply {
            Ok(request) => {
                let (guild, name) = (request.guild, request.command.name());
                let reply = local
                    .dispatch(request.guild, &request.actor, request.command)
                    .await;
                debug!(%guild, command = name, ok = reply.is_ok(), "ran a command sent by another process");
                reply
            }
            Err(error) => Err(error),
        };
        shared.served.fetch_add(1, Ordering::SeqCst);
        if let Err(error) = send_reply(&shared, &reply_to, &correlation, &reply).await {
            // Left pending: the claim runs it again (within its deadline).
            warn!(id = %entry.id, %error, "could not send a command's reply");
        } else if let Err(error) = acknowledge(&shared, &stream, &entry.id).await {
            warn!(id = %entry.id, %error, "could not acknowledge a command");
        }
        shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&entry.id);
    });
    Ok(())
}

async fn send_reply(
    shared: &Shared,
    reply_to: &str,
    correlation: &str,
    reply: &Result<CommandReply, CommandError>,
) -> Result<(), String> {
    let text = wire::encode_reply(reply)
        .or_else(|error| wire::encode_reply(&Err(CommandError::Transport(error))))?;
    let add = Cmd::xadd_maxlen(
        reply_to,
        StreamMaxlen::Approx(REPLY_STREAM_MAX_LEN),
        "*",
        &[("correlation", correlation), ("reply", text.as_str())],
    );
    shared.query::<()>(&add, Duration::ZERO).await?;
    let expire = Cmd::pexpire(
        reply_to,
        i64::try_from(REPLY_STREAM_TTL.as_millis()).unwrap_or(i64::MAX),
    );
    shared
        .query::<bool>(&expire, Duration::ZERO)
        .await
        .map(drop)
}

async fn acknowledge(shared: &Shared, stream: &str, id: &str) -> Result<(), String> {
    let command = Cmd::xack(stream, OWNERS_GROUP, &[id]);
    shared
        .query::<usize>(&command, Duration::ZERO)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_named_per_shard_and_the_password_is_hidden() {
        let config = RedisCommandBusConfig::new("redis://bot:hunter2@127.0.0.1:6379", "p1", 8);
        assert_eq!(config.shard_stream(3), "minstrel:commands:shard:3");
        assert_eq!(config.reply_stream(), "minstrel:commands:replies:p1");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(
            RedisCommandBusConfig::new("redis://x", "p", 0).shard_total,
            1
        );
    }
}
