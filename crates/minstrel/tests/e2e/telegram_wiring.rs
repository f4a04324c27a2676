//! The binary with a Telegram token, against the fake Bot API of minstrel-testkit on
//! 127.0.0.1: Telegram starts instead of the console, answers commands from the real storage,
//! stops on Ctrl-C, and never prints the token. Without Telegram the console still runs.

use std::time::Duration;

use minstrel_testkit::process::BotBuilder;
use minstrel_testkit::telegram::{FakeTelegram, api_error, text_update};

const TOKEN: &str = "424242:SECRET-token-never-printed";
const GROUP: i64 = -4001;
const ADMIN: i64 = 77;

/// The binary with the Telegram token, pointed at the fake Bot API.
fn bot(fake: &FakeTelegram, extra_env: &[(&str, &str)]) -> BotBuilder {
    crate::minstrel()
        .telegram(TOKEN, fake)
        .library()
        .output("null")
        .log("info")
        .envs(extra_env.iter().copied())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_token_runs_telegram_until_ctrl_c() {
    let fake = FakeTelegram::start().await;
    fake.set_admin(GROUP, ADMIN);
    // stdin at end of file: were the console started instead, the process would end at once.
    let mut bot = bot(&fake, &[]).spawn();
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
    let mut bot = bot(&fake, &[("ENABLE_TELEGRAM", "false")])
        .stdin_text("queue\nquit\n")
        .spawn();
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
    let mut bot = bot(&fake, &[]).stdin_text("queue\nquit\n").spawn();
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
