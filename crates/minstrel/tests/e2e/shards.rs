//! Scale-out end to end: two processes of one deployment (`--shard-total 2`) share a database
//! and Redis. Process B owns shard 1 and plays (its console front-end keeps it running; its
//! audio goes to the null sink at real time); process T runs Telegram only (`--shards none`)
//! against the fake Bot API. A `/play` in the chat linked to a guild of shard 1 is sent by T
//! over Redis Streams, played by B, and answered in the chat; B killed (SIGKILL) and started
//! again brings the queue back at its saved position, and the chat's `/np` (through B again)
//! shows it. The same with B on Discord (fake gateway, REST and voice server): the member
//! calls B into their voice channel with Discord's `/join`, the chat's `/play` is heard there
//! as 440 Hz, and after B's SIGKILL and restart B rejoins once READY and the tone goes on.
//! Also: bad `--shards` values are refused with a sentence.
//!
//! Needs Redis (`MINSTREL_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`); under CI an
//! unreachable Redis fails the test.

use std::path::Path;
use std::time::{Duration, SystemTime};

use minstrel_app::ports::{ChatLink, ChatLinkRepo, QueueStore};
use minstrel_domain::{GuildId, TelegramChatId, UserId};
use minstrel_testkit::audio::{power_at, rms, write_tone};
use minstrel_testkit::discord::{FakeGateway, FakeMember, FakeRest, slash_command};
use minstrel_testkit::process::{BotBuilder, BotProcess};
use minstrel_testkit::telegram::{FakeTelegram, text_update};
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

const TELEGRAM_TOKEN: &str = "434343:SECRET-shards-telegram-token";
/// `(GUILD >> 22) % 2 == 1`: shard 1 of 2.
const GUILD: u64 = 300_000_000_004_194_304;
const GROUP: i64 = -4101;
const MEMBER: i64 = 88;
const WAIT: Duration = Duration::from_secs(30);

fn redis_url() -> Option<String> {
    let url = std::env::var("MINSTREL_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    if std::net::TcpStream::connect(&address).is_ok() {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "false" | "0"));
    assert!(!ci, "Redis at {address} is unreachable, and CI is set");
    eprintln!("note: Redis at {address} is unreachable; this test skips");
    None
}

/// A process of the deployment: `minstrel run args…` on the shared `database` and `redis`,
/// its audio to the null sink at real time.
fn minstrel(library: &Path, database: &str, redis: &str, args: &[&str]) -> BotBuilder {
    crate::minstrel()
        .arg("run")
        .args(args)
        .env_remove("MINSTREL_SHARDS")
        .env_remove("MINSTREL_SHARD_TOTAL")
        .env_remove("MINSTREL_COMMAND_BUS")
        .env_remove("MINSTREL_EVENT_BUS_PROCESS_ID")
        .library_dir(library)
        .local_search()
        .env("MINSTREL_DATABASE_URL", database)
        .env("MINSTREL_REDIS_URL", redis)
        .env("MINSTREL_NORMALISATION", "false")
        .output("null-realtime")
        .log("info,minstrel_bus=debug")
}

/// Process B: shard 1 of 2, the console keeping it alive on a pipe that stays open.
fn spawn_owner(library: &Path, database: &str, redis: &str) -> BotProcess {
    minstrel(
        library,
        database,
        redis,
        &["--shards", "1-1", "--shard-total", "2"],
    )
    .stdin_piped()
    .spawn()
}

/// Process T: Telegram only, owning no shard.
fn spawn_telegram(library: &Path, database: &str, redis: &str, fake: &FakeTelegram) -> BotProcess {
    minstrel(library, database, redis, &["--shards", "none"])
        .env("MINSTREL_SHARD_TOTAL", "2")
        .telegram(TELEGRAM_TOKEN, fake)
        .spawn()
}

/// Sends `text` in the group and returns the bot's answer.
async fn say(telegram: &FakeTelegram, text: &str, processes: &[&BotProcess]) -> String {
    let before = telegram.sent_texts(GROUP).len();
    telegram.push_update(text_update(GROUP, MEMBER, "Ann", text));
    let deadline = tokio::time::Instant::now() + WAIT;
    while telegram.sent_texts(GROUP).len() <= before {
        if tokio::time::Instant::now() >= deadline {
            let logs: Vec<String> = processes.iter().map(|process| process.stderr()).collect();
            panic!("no answer to {text}:\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    telegram.sent_texts(GROUP)[before..].join("\n")
}

/// The `at m:ss` line of a now-playing text, in seconds.
fn position_of(text: &str) -> u64 {
    let at = text
        .lines()
        .find_map(|line| line.strip_prefix("at "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no position in {text:?}"));
    at.split(':').fold(0, |total, part| {
        total * 60 + part.parse::<u64>().unwrap_or(0)
    })
}

async fn saved_position(database: &str) -> Duration {
    let store = minstrel_db::SqlDatabase::connect(database)
        .await
        .unwrap()
        .queue_store();
    store
        .load(GuildId::new(GUILD).unwrap())
        .await
        .unwrap()
        .map_or(Duration::ZERO, |snapshot| snapshot.position)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_play_for_another_process_shard_plays_there_and_survives_its_restart() {
    let Some(redis) = redis_url() else { return };
    assert_eq!(
        minstrel_app::shard_of(GuildId::new(GUILD).unwrap(), 2),
        1,
        "the guild is on shard 1"
    );
    let shared = tempfile::tempdir().unwrap();
    let library = shared.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 120, 440.0, 9_000.0);
    let database = format!("sqlite://{}", shared.path().join("minstrel.db").display());
    // The chat is linked to the guild already (linking itself is bridge_wiring's subject).
    let db = minstrel_db::SqlDatabase::connect(&database).await.unwrap();
    db.migrate_up().await.unwrap();
    db.chat_link_repo()
        .link(&ChatLink {
            guild: GuildId::new(GUILD).unwrap(),
            chat: TelegramChatId::new(GROUP).unwrap(),
            linked_by: UserId::new(100_000_000_000_000_010).unwrap(),
            linked_at: SystemTime::now(),
        })
        .await
        .unwrap();
    let fake = FakeTelegram::start().await;

    let owner = spawn_owner(&library, &database, &redis);
    owner
        .log_says("serving the commands of this process's shards", WAIT)
        .await;
    let telegram = spawn_telegram(&library, &database, &redis, &fake);
    telegram.log_says("command bus", WAIT).await;

    let played = say(&fake, "/play tone.wav", &[&owner, &telegram]).await;
    assert!(played.contains("tone"), "{played}");
    owner
        .log_says("ran a command sent by another process", WAIT)
        .await;
    // T owns no shard: it never played anything itself; B did.
    let np = say(&fake, "/np", &[&owner, &telegram]).await;
    assert!(np.contains("Now playing") && np.contains("tone"), "{np}");
    assert!(
        !telegram.stderr().contains("restored the saved queues"),
        "T restores nothing"
    );

    // B checkpoints the playing queue every 5 s; wait for a saved position past 0.
    let deadline = tokio::time::Instant::now() + WAIT;
    let before_kill = loop {
        let position = saved_position(&database).await;
        if position >= Duration::from_secs(3) {
            break position;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint:\n{}",
            owner.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // B dies without a word (SIGKILL) and comes back.
    drop(owner);
    let owner = spawn_owner(&library, &database, &redis);
    owner.log_says("restored the saved queues", WAIT).await;
    let np = say(&fake, "/np", &[&owner, &telegram]).await;
    assert!(np.contains("Now playing") && np.contains("tone"), "{np}");
    let resumed_at = position_of(&np);
    assert!(
        resumed_at >= before_kill.as_secs(),
        "resumed at {resumed_at} s, saved at {before_kill:?}: {np}"
    );
    telegram.assert_never_printed("SECRET-shards");
}

const DISCORD_TOKEN: &str = "MTIzNDU2.SECRET-shards-discord-token.never-printed";
const VOICE_CHANNEL: u64 = 600_000_000_000_000_091;
const DISCORD_MEMBER: u64 = 100_000_000_000_000_091;

/// Process B with Discord: shard 1 of 2 against the fake gateway and REST, its voice going to
/// the fake voice server `voice`.
fn spawn_discord_owner(
    library: &Path,
    database: &str,
    redis: &str,
    discord: &(FakeGateway, FakeRest, FakeVoiceServer),
) -> BotProcess {
    spawn_discord_shard(library, database, redis, discord, "1-1")
}

/// A bot process with Discord running `shards` of 2 against the fakes in `discord`.
fn spawn_discord_shard(
    library: &Path,
    database: &str,
    redis: &str,
    discord: &(FakeGateway, FakeRest, FakeVoiceServer),
    shards: &str,
) -> BotProcess {
    let (gateway, rest, voice) = discord;
    minstrel(
        library,
        database,
        redis,
        &["--shards", shards, "--shard-total", "2"],
    )
    .discord(DISCORD_TOKEN, gateway, rest)
    .voice(voice)
    .log("info,songbird=warn,minstrel_bus=debug")
    .spawn()
}

/// The Discord member's voice state in the guild: in the voice channel.
fn member_in_voice() -> serde_json::Value {
    json!({
        "guild_id": GUILD.to_string(),
        "channel_id": VOICE_CHANNEL.to_string(),
        "user_id": DISCORD_MEMBER.to_string(),
        "session_id": "member-session",
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

/// Waits for 50 more packets (1 s of audio) and asserts its last half second is the tone.
async fn hears_440_hz(voice: &FakeVoiceServer, when: &str, bot: &BotProcess) {
    let target = voice.packets() + 50;
    let deadline = tokio::time::Instant::now() + WAIT;
    while voice.packets() < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{when}: only {} of {target} packets arrived\n{}",
            voice.packets(),
            bot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let decoded = voice.decoded();
    let heard = &decoded[decoded.len().saturating_sub(48_000)..];
    assert!(rms(heard) > 0.05, "{when}: silent, rms {}", rms(heard));
    let (at_440, at_550) = (power_at(heard, 440.0), power_at(heard, 550.0));
    assert!(
        at_440 > 50.0 * at_550,
        "{when}: 440 Hz {at_440}, 550 Hz {at_550}"
    );
}

/// `url` with Redis database 1: the streams of shard 1 are not shared with the console test's
/// B, which runs at the same time.
fn in_database_1(url: &str) -> String {
    let base = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .filter(|(_, last)| last.chars().all(|c| c.is_ascii_digit()))
        .map_or(url, |(base, _)| base);
    format!("{base}/1")
}

/// A library with the 2-minute tone and a database whose chat is linked to the guild; the
/// temporary directory holding both comes first.
async fn linked_library_and_database() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let shared = tempfile::tempdir().unwrap();
    let library = shared.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 120, 440.0, 9_000.0);
    let database = format!("sqlite://{}", shared.path().join("minstrel.db").display());
    let db = minstrel_db::SqlDatabase::connect(&database).await.unwrap();
    db.migrate_up().await.unwrap();
    db.chat_link_repo()
        .link(&ChatLink {
            guild: GuildId::new(GUILD).unwrap(),
            chat: TelegramChatId::new(GROUP).unwrap(),
            linked_by: UserId::new(DISCORD_MEMBER).unwrap(),
            linked_at: SystemTime::now(),
        })
        .await
        .unwrap();
    (shared, library, database)
}

/// The member sits in the voice channel and uses Discord's `/join`; waits for the answer and
/// the bot's voice state update (op 4) for that channel.
async fn join_from_discord(gateway: &FakeGateway, rest: &FakeRest, owner: &BotProcess) {
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &member_in_voice()));
    let join = slash_command(
        9_001,
        "shards-join",
        GUILD,
        &FakeMember::new(DISCORD_MEMBER, "ann"),
        "join",
        &json!([]),
    );
    assert!(gateway.inject_interaction(&join));
    let reply = rest
        .wait_for("the answer to /join", |request| {
            (request.is_callback() && request.body["type"] == json!(4))
                || (request.is_original_edit() && request.path.contains("shards-join"))
        })
        .await;
    let said = reply.body.to_string();
    assert!(
        said.contains("Joined") || said.contains("joined"),
        "{said}\n{}",
        owner.stderr()
    );
    let joined = gateway.wait_for_op(4, 1).await;
    assert_eq!(
        joined["d"]["channel_id"],
        json!(VOICE_CHANNEL.to_string()),
        "{joined}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_play_reaches_the_discord_voice_channel_of_another_process_and_its_restart() {
    let Some(redis) = redis_url() else { return };
    let redis = in_database_1(&redis);
    let (_shared, library, database) = linked_library_and_database().await;
    let fake = FakeTelegram::start().await;
    let voice = FakeVoiceServer::start().await;
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let discord = (gateway, rest, voice);
    let (gateway, rest, voice) = &discord;

    // Process A runs shard 0 of the same bot. It has its own fake gateway: the fake does not
    // route a guild's events by shard as Discord does, and none of A's guilds is in this test.
    let other_voice = FakeVoiceServer::start().await;
    let other_gateway = FakeGateway::start().await;
    let other_rest = FakeRest::start().await;
    other_rest.set_gateway_url(&other_gateway.url());
    let other = (other_gateway, other_rest, other_voice);
    let mut process_a = spawn_discord_shard(&library, &database, &redis, &other, "0-0");
    let identify_a = other.0.wait_for_op(2, 1).await;
    assert_eq!(identify_a["d"]["shard"], json!([0, 2]), "{identify_a}");
    process_a
        .log_says("serving the commands of this process's shards", WAIT)
        .await;

    let owner = spawn_discord_owner(&library, &database, &redis, &discord);
    let identify_b = gateway.wait_for_op(2, 1).await;
    assert_eq!(identify_b["d"]["shard"], json!([1, 2]), "{identify_b}");
    owner
        .log_says("serving the commands of this process's shards", WAIT)
        .await;
    let telegram = spawn_telegram(&library, &database, &redis, &fake);
    telegram.log_says("command bus", WAIT).await;

    // Telegram has no voice channels: the member, sitting in one, calls the bot there with
    // Discord's /join (as a real user would); from then on the chat drives the player.
    join_from_discord(gateway, rest, &owner).await;
    voice.wait_for_op(0, 1).await;

    let played = say(&fake, "/play tone.wav", &[&owner, &telegram]).await;
    assert!(played.contains("tone"), "{played}");
    owner
        .log_says("ran a command sent by another process", WAIT)
        .await;
    hears_440_hz(voice, "played from Telegram", &owner).await;

    let deadline = tokio::time::Instant::now() + WAIT;
    let before_kill = loop {
        let position = saved_position(&database).await;
        if position >= Duration::from_secs(3) {
            break position;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint:\n{}",
            owner.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // B dies (SIGKILL) and comes back: a new Identify, the queue restored once READY made
    // voice usable, the voice channel rejoined and the tone heard again.
    drop(owner);
    let owner = spawn_discord_owner(&library, &database, &redis, &discord);
    gateway.wait_for_op(2, 2).await;
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &member_in_voice()));
    owner.log_says("restored the saved queues", WAIT).await;
    let rejoined = gateway.wait_for_op(4, 2).await;
    assert_eq!(
        rejoined["d"]["channel_id"],
        json!(VOICE_CHANNEL.to_string()),
        "{rejoined}"
    );
    voice.wait_for_op(0, 2).await;
    hears_440_hz(voice, "after the restart", &owner).await;
    let np = say(&fake, "/np", &[&owner, &telegram]).await;
    assert!(np.contains("Now playing") && np.contains("tone"), "{np}");
    let resumed_at = position_of(&np);
    assert!(
        resumed_at >= before_kill.as_secs(),
        "resumed at {resumed_at} s, saved at {before_kill:?}: {np}"
    );
    // A ran none of it, and lived through B's death.
    assert!(
        !process_a
            .stderr()
            .contains("ran a command sent by another process"),
        "{}",
        process_a.stderr()
    );
    assert!(process_a.is_running(), "{}", process_a.stderr());
    owner.assert_never_printed("SECRET-shards");
    telegram.assert_never_printed("SECRET-shards");
    process_a.assert_never_printed("SECRET-shards");
}

#[test]
fn bad_shard_settings_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    for (args, env, expected) in [
        (
            &["--shards", "3-1", "--shard-total", "4"][..],
            None,
            "backwards",
        ),
        (&["--shards", "0-1"][..], None, "needs --shard-total"),
        (
            &["--shards", "0-4", "--shard-total", "4"][..],
            None,
            "0 to 3",
        ),
        (&["--shards", "x"][..], Some("4"), "a range such as 0-3"),
        (
            &["--shards", "1-1", "--shard-total", "2"][..],
            None,
            "MINSTREL_REDIS_URL",
        ),
    ] {
        let mut bot = crate::minstrel()
            .arg("run")
            .args(args)
            .env_remove("MINSTREL_REDIS_URL")
            .env_remove("MINSTREL_SHARDS")
            .env_remove("MINSTREL_SHARD_TOTAL")
            .env("MINSTREL_DATABASE_URL", &database)
            .library_dir(dir.path())
            .working_dir(dir.path());
        if let Some(total) = env {
            bot = bot.env("MINSTREL_SHARD_TOTAL", total);
        }
        let output = bot.run(Duration::from_mins(1));
        let stderr = &output.stderr;
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
