//! The Redis command bus against the Redis under test (fresh streams per test): a command for
//! a guild reaches the process that owns its shard and the reply comes back; a command a dead
//! owner read but never answered is taken over by the next owner; nobody owning the shard is a
//! sentence for the user; Redis not there fails at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::{self, Value};
use minstrel_app::ports::CommandBus;
use minstrel_app::{Actor, CommandError, CommandReply, GuildCommand, MusicError};
use minstrel_bus::{RedisCommandBus, RedisCommandBusConfig};
use minstrel_domain::{GuildId, Requester, RequesterId, TelegramUserId, Volume};

use crate::support::{closed_port, eventually, fresh_prefix, redis_url};

const WAIT: Duration = Duration::from_secs(10);

/// Shard 1 of 2: `(id >> 22) % 2 == 1`.
fn guild_of_shard_one() -> GuildId {
    GuildId::new((3 << 22) | 7).unwrap()
}

fn guild_of_shard_zero() -> GuildId {
    GuildId::new(4 << 22).unwrap()
}

fn telegram_actor() -> Actor {
    Actor::member(
        Requester {
            id: RequesterId::Telegram(TelegramUserId::new(42).unwrap()),
            display_name: "Ann".to_owned(),
        },
        Vec::new(),
        true,
    )
}

/// The owner's use cases: records what it ran; sets any volume, has nothing playing.
#[derive(Default)]
struct RecordingOwner {
    ran: Mutex<Vec<(GuildId, Actor, GuildCommand)>>,
}

impl RecordingOwner {
    fn ran(&self) -> Vec<(GuildId, Actor, GuildCommand)> {
        self.ran.lock().unwrap().clone()
    }
}

#[async_trait]
impl CommandBus for RecordingOwner {
    async fn dispatch(
        &self,
        guild: GuildId,
        actor: &Actor,
        command: GuildCommand,
    ) -> Result<CommandReply, CommandError> {
        self.ran
            .lock()
            .unwrap()
            .push((guild, actor.clone(), command.clone()));
        match command {
            GuildCommand::SetVolume { percent } => Ok(CommandReply::Volume(
                Volume::new(percent).map_err(MusicError::from)?,
            )),
            _ => Err(MusicError::NothingPlaying.into()),
        }
    }
}

fn config(url: &str, prefix: &str, process: &str) -> RedisCommandBusConfig {
    let mut config = RedisCommandBusConfig::new(url, process, 2).with_key_prefix(prefix);
    config.claim_idle = Duration::from_millis(200);
    config.claim_every = Duration::from_millis(100);
    config.read_block = Duration::from_millis(200);
    config.reply_timeout = WAIT;
    config
}

fn started(config: RedisCommandBusConfig) -> RedisCommandBus {
    let bus = RedisCommandBus::new(config).unwrap();
    bus.start();
    bus
}

/// One command on a connection of its own, as another process would send it.
async fn raw(url: &str, command: &redis::Cmd) -> Value {
    let pool = deadpool_redis::Config::from_url(url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let mut connection = pool.get().await.unwrap();
    command.query_async(&mut connection).await.unwrap()
}

async fn pending(url: &str, stream: &str) -> i64 {
    let mut command = redis::cmd("XPENDING");
    command.arg(stream).arg("owners");
    match raw(url, &command).await {
        Value::Array(summary) => match summary.first() {
            Some(Value::Int(count)) => *count,
            _ => -1,
        },
        _ => -1,
    }
}

#[tokio::test]
async fn a_command_reaches_the_owner_of_its_shard_and_the_reply_comes_back() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("command-bus-pair");
    let caller = started(config(&url, &prefix, "telegram"));
    let owner_bus = started(config(&url, &prefix, "bot-b"));
    let owner = Arc::new(RecordingOwner::default());
    owner_bus.serve([1], owner.clone());
    assert!(caller.wait_until_ready(WAIT).await);

    let reply = caller
        .dispatch(
            guild_of_shard_one(),
            &telegram_actor(),
            GuildCommand::SetVolume { percent: 70 },
        )
        .await;
    assert_eq!(reply, Ok(CommandReply::Volume(Volume::new(70).unwrap())));
    assert_eq!(
        owner.ran(),
        [(
            guild_of_shard_one(),
            telegram_actor(),
            GuildCommand::SetVolume { percent: 70 }
        )],
        "the owner ran it once, for the same person"
    );
    // A refusal travels as the owner's sentence.
    let refusal = caller
        .dispatch(guild_of_shard_one(), &telegram_actor(), GuildCommand::Skip)
        .await;
    assert_eq!(
        refusal,
        Err(CommandError::Remote {
            message: "nothing is playing".to_owned(),
            internal: false,
        })
    );
    assert_eq!(owner_bus.served(), 2);
    let stream = config(&url, &prefix, "x").shard_stream(1);
    assert!(
        eventually(WAIT, async || pending(&url, &stream).await == 0).await,
        "every command is acknowledged"
    );
}

#[tokio::test]
async fn a_command_a_dead_owner_read_is_taken_over_by_the_next_owner() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("command-bus-takeover");
    let stream = config(&url, &prefix, "x").shard_stream(1);
    let mut group = redis::cmd("XGROUP");
    group
        .arg("CREATE")
        .arg(&stream)
        .arg("owners")
        .arg("0")
        .arg("MKSTREAM");
    raw(&url, &group).await;
    let caller = Arc::new(started(config(&url, &prefix, "telegram")));
    assert!(caller.wait_until_ready(WAIT).await);
    let waiting = tokio::spawn({
        let caller = caller.clone();
        async move {
            caller
                .dispatch(
                    guild_of_shard_one(),
                    &telegram_actor(),
                    GuildCommand::SetVolume { percent: 30 },
                )
                .await
        }
    });
    let mut length = redis::cmd("XLEN");
    length.arg(&stream);
    assert!(
        eventually(WAIT, async || raw(&url, &length).await == Value::Int(1)).await,
        "the command is on the shard's stream"
    );
    // The old owner reads it and dies before answering.
    let mut read = redis::cmd("XREADGROUP");
    read.arg("GROUP")
        .arg("owners")
        .arg("bot-b-first-run")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">");
    assert_ne!(raw(&url, &read).await, Value::Nil, "the dead owner read it");
    assert_eq!(pending(&url, &stream).await, 1);

    // The restarted owner (a new process id) takes the shard.
    let next_owner_bus = started(config(&url, &prefix, "bot-b-second-run"));
    let next_owner = Arc::new(RecordingOwner::default());
    next_owner_bus.serve([1], next_owner.clone());

    let reply = tokio::time::timeout(WAIT * 2, waiting)
        .await
        .expect("the caller gets its answer")
        .unwrap();
    assert_eq!(reply, Ok(CommandReply::Volume(Volume::new(30).unwrap())));
    assert_eq!(next_owner.ran().len(), 1, "run exactly once");
    assert!(
        eventually(WAIT, async || pending(&url, &stream).await == 0).await,
        "the taken-over command is acknowledged"
    );
}

#[tokio::test]
async fn nobody_owning_the_shard_is_a_sentence_and_a_late_owner_drops_the_stale_command() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("command-bus-no-owner");
    let mut short = config(&url, &prefix, "telegram");
    short.reply_timeout = Duration::from_millis(300);
    let caller = started(short);
    assert!(caller.wait_until_ready(WAIT).await);
    let error = caller
        .dispatch(
            guild_of_shard_zero(),
            &telegram_actor(),
            GuildCommand::Pause,
        )
        .await
        .unwrap_err();
    assert_eq!(error, CommandError::OwnerUnreachable);
    assert!(error.to_string().contains("did not answer"), "{error}");

    // An owner that starts after the caller gave up does not run the command late.
    let owner_bus = started(config(&url, &prefix, "late-owner"));
    let owner = Arc::new(RecordingOwner::default());
    owner_bus.serve([0], owner.clone());
    let stream = config(&url, &prefix, "x").shard_stream(0);
    let mut delivered = redis::cmd("XINFO");
    delivered.arg("GROUPS").arg(&stream);
    assert!(
        eventually(WAIT, async || {
            // The owners' group exists and has nothing pending: the stale entry was handled.
            matches!(raw(&url, &delivered).await, Value::Array(groups) if !groups.is_empty())
                && pending(&url, &stream).await == 0
        })
        .await
    );
    // A fresh command behind it is run, so the stale one was looked at and dropped.
    let patient = started(config(&url, &prefix, "patient-telegram"));
    let reply = patient
        .dispatch(
            guild_of_shard_zero(),
            &telegram_actor(),
            GuildCommand::SetVolume { percent: 10 },
        )
        .await;
    assert_eq!(reply, Ok(CommandReply::Volume(Volume::new(10).unwrap())));
    assert_eq!(
        owner.ran(),
        [(
            guild_of_shard_zero(),
            telegram_actor(),
            GuildCommand::SetVolume { percent: 10 }
        )],
        "the stale pause never ran"
    );
}

#[tokio::test]
async fn without_redis_a_command_fails_at_once_with_a_sentence() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let caller = started(config(&url, "unused:", "telegram"));
    let error = caller
        .dispatch(guild_of_shard_one(), &telegram_actor(), GuildCommand::Skip)
        .await
        .unwrap_err();
    // Not `OwnerUnreachable`: it failed sending, without waiting for a reply.
    assert!(matches!(error, CommandError::Transport(_)), "{error:?}");
    assert!(error.is_internal());
}
