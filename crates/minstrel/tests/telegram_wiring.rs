//! The binary with a Telegram token, against the fake Bot API of minstrel-testkit on
//! 127.0.0.1: Telegram starts instead of the console, answers commands from the real storage,
//! stops on Ctrl-C, and never prints the token. Without Telegram the console still runs.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use minstrel_testkit::process::BotProcess;
use minstrel_testkit::telegram::{FakeTelegram, api_error, text_update};

const TOKEN: &str = "424242:SECRET-token-never-printed";
const GROUP: i64 = -4001;
const ADMIN: i64 = 77;

/// Starts the binary with the Telegram token, pointed at the fake Bot API.
fn spawn_bot(api_url: &str, extra_env: &[(&str, &str)], stdin: Stdio) -> BotProcess {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_minstrel"));
    command
        .env_remove("DISCORD_TOKEN")
        .env_remove("ENABLE_TELEGRAM")
        .env("TELEGRAM_TOKEN", TOKEN)
        .env("MINSTREL_TELEGRAM_API_URL", api_url)
        .env("MINSTREL_LIBRARY_DIR", dir.path().join("music"))
        .env("MINSTREL_OUTPUT", "null")
        .env("MINSTREL_LOG", "info")
        .envs(extra_env.iter().copied())
        .stdin(stdin);
    BotProcess::spawn(command, dir)
}

fn write_script(dir: &Path, script: &str) -> Stdio {
    let path = dir.join("script.txt");
    std::fs::write(&path, script).unwrap();
    Stdio::from(File::open(path).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_token_runs_telegram_until_ctrl_c() {
    let fake = FakeTelegram::start().await;
    fake.set_admin(GROUP, ADMIN);
    // stdin at end of file: were the console started instead, the process would end at once.
    let mut bot = spawn_bot(&fake.api_url(), &[], Stdio::null());
    let registered = fake.wait_for("setMyCommands", 1).await;
    assert!(registered[0].body.to_string().contains("\"play\""));

    fake.push_update(text_update(GROUP, ADMIN, "Ann", "/help"));
    fake.push_update(text_update(GROUP, ADMIN, "Ann", "/id"));
    fake.wait_until(Duration::from_secs(20), |_| {
        fake.sent_texts(GROUP).len() >= 2
    })
    .await;
    let texts = fake.sent_texts(GROUP);
    assert!(texts[0].contains("/play"), "{texts:?}");
    // The link code comes from the bridge on the real SQLite storage.
    assert!(
        texts[1].contains("Link code: ") && texts[1].contains("/connect_telegram"),
        "{texts:?}"
    );
    assert!(bot.is_running(), "it keeps running");

    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_telegram_false_keeps_it_off_and_the_console_runs() {
    let fake = FakeTelegram::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut bot = spawn_bot(
        &fake.api_url(),
        &[("ENABLE_TELEGRAM", "false")],
        write_script(scratch.path(), "queue\nquit\n"),
    );
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    assert!(
        bot.stderr().contains("ENABLE_TELEGRAM=false"),
        "{}",
        bot.stderr()
    );
    assert!(!bot.stdout().is_empty(), "the console answered");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    bot.assert_never_printed("SECRET-token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_says_why_and_the_console_still_runs() {
    let fake = FakeTelegram::start().await;
    fake.respond_always("getMe", 401, api_error(401, "Unauthorized"));
    let scratch = tempfile::tempdir().unwrap();
    let mut bot = spawn_bot(
        &fake.api_url(),
        &[],
        write_script(scratch.path(), "queue\nquit\n"),
    );
    let status = bot.wait(Duration::from_secs(40));
    let stderr = bot.stderr();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stderr.contains("Telegram is off"), "{stderr}");
    assert!(
        stderr.contains("TELEGRAM_TOKEN"),
        "says what to check: {stderr}"
    );
    assert!(!bot.stdout().is_empty(), "the console answered");
    bot.assert_never_printed("SECRET-token");
}
