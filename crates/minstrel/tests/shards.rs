//! Scale-out end to end: two processes of one deployment (`--shard-total 2`) share a database
//! and Redis. Process B owns shard 1 and plays (its console front-end keeps it running; its
//! audio goes to the null sink at real time); process T runs Telegram only (`--shards none`)
//! against the fake Bot API. A `/play` in the chat linked to a guild of shard 1 is sent by T
//! over Redis Streams, played by B, and answered in the chat; B killed (SIGKILL) and started
//! again brings the queue back at its saved position, and the chat's `/np` (through B again)
//! shows it. Also: bad `--shards` values are refused with a sentence.
//!
//! Needs Redis (`MINSTREL_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`); under CI an
//! unreachable Redis fails the test.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use minstrel_app::ports::{ChatLink, ChatLinkRepo, QueueStore};
use minstrel_domain::{GuildId, TelegramChatId, UserId};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::telegram::{FakeTelegram, text_update};

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

fn write_tone(path: &Path, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for index in 0..48_000 * seconds {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let sample =
            ((std::f32::consts::TAU * 440.0 * index as f32 / 48_000.0).sin() * 9_000.0) as i16;
        writer.write_sample(sample).unwrap();
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

fn minstrel(library: &Path, database: &str, redis: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minstrel"));
    command
        .arg("run")
        .args(args)
        .env_remove("DISCORD_TOKEN")
        .env_remove("TELEGRAM_TOKEN")
        .env_remove("ENABLE_TELEGRAM")
        .env_remove("MINSTREL_SHARDS")
        .env_remove("MINSTREL_SHARD_TOTAL")
        .env_remove("MINSTREL_COMMAND_BUS")
        .env_remove("MINSTREL_EVENT_BUS_PROCESS_ID")
        .env("MINSTREL_LIBRARY_DIR", library)
        .env("MINSTREL_DATABASE_URL", database)
        .env("MINSTREL_REDIS_URL", redis)
        .env("MINSTREL_SEARCH_PROVIDER", "local")
        .env("MINSTREL_NORMALISATION", "false")
        .env("MINSTREL_OUTPUT", "null-realtime")
        .env("MINSTREL_LOG", "info,minstrel_cache=debug");
    command
}

/// Process B: shard 1 of 2, the console keeping it alive on a pipe that stays open.
fn spawn_owner(library: &Path, database: &str, redis: &str) -> BotProcess {
    let mut command = minstrel(
        library,
        database,
        redis,
        &["--shards", "1-1", "--shard-total", "2"],
    );
    command.stdin(Stdio::piped());
    BotProcess::spawn(command, tempfile::tempdir().unwrap())
}

/// Process T: Telegram only, owning no shard.
fn spawn_telegram(library: &Path, database: &str, redis: &str, fake: &FakeTelegram) -> BotProcess {
    let mut command = minstrel(library, database, redis, &["--shards", "none"]);
    command
        .env("MINSTREL_SHARD_TOTAL", "2")
        .env("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
        .env("MINSTREL_TELEGRAM_API_URL", fake.api_url())
        .stdin(Stdio::null());
    BotProcess::spawn(command, tempfile::tempdir().unwrap())
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

/// Waits until `process`'s log contains `text`.
async fn log_says(process: &BotProcess, text: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !process.stderr().contains(text) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never said {text:?}:\n{}",
            process.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    write_tone(&library.join("tone.wav"), 120);
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
    log_says(&owner, "serving the commands of this process's shards").await;
    let telegram = spawn_telegram(&library, &database, &redis, &fake);
    log_says(&telegram, "command bus").await;

    let played = say(&fake, "/play tone.wav", &[&owner, &telegram]).await;
    assert!(played.contains("tone"), "{played}");
    log_says(&owner, "ran a command sent by another process").await;
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
    log_says(&owner, "restored the saved queues").await;
    let np = say(&fake, "/np", &[&owner, &telegram]).await;
    assert!(np.contains("Now playing") && np.contains("tone"), "{np}");
    let resumed_at = position_of(&np);
    assert!(
        resumed_at >= before_kill.as_secs(),
        "resumed at {resumed_at} s, saved at {before_kill:?}: {np}"
    );
    telegram.assert_never_printed("SECRET-shards");
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
        let mut command = Command::new(env!("CARGO_BIN_EXE_minstrel"));
        command
            .arg("run")
            .args(args)
            .env_remove("DISCORD_TOKEN")
            .env_remove("TELEGRAM_TOKEN")
            .env_remove("MINSTREL_REDIS_URL")
            .env_remove("MINSTREL_SHARDS")
            .env_remove("MINSTREL_SHARD_TOTAL")
            .env("MINSTREL_DATABASE_URL", &database)
            .env("MINSTREL_LIBRARY_DIR", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null());
        if let Some(total) = env {
            command.env("MINSTREL_SHARD_TOTAL", total);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
