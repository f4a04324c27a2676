//! The binary with a Telegram token, against the fake Bot API of minstrel-testkit on
//! 127.0.0.1: Telegram starts instead of the console, answers commands from the real storage,
//! stops on Ctrl-C, and never prints the token. Without Telegram the console still runs.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use minstrel_testkit::telegram::{FakeTelegram, api_error, text_update};

const TOKEN: &str = "424242:SECRET-token-never-printed";
const GROUP: i64 = -4001;
const ADMIN: i64 = 77;

struct Bot {
    child: Child,
    dir: tempfile::TempDir,
}

impl Bot {
    fn spawn(api_url: &str, extra_env: &[(&str, &str)], stdin: Stdio) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("music")).unwrap();
        let stderr = File::create(dir.path().join("stderr.log")).unwrap();
        let stdout = File::create(dir.path().join("stdout.log")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_minstrel"));
        command
            .current_dir(dir.path())
            .env_remove("DISCORD_TOKEN")
            .env_remove("ENABLE_TELEGRAM")
            .env("TELEGRAM_TOKEN", TOKEN)
            .env("MINSTREL_TELEGRAM_API_URL", api_url)
            .env("MINSTREL_LIBRARY_DIR", dir.path().join("music"))
            .env("MINSTREL_OUTPUT", "null")
            .env("MINSTREL_LOG", "info")
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        Self { child, dir }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Waits for the process to end by itself; a hang is a failure.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!(
                    "minstrel did not stop within {limit:?}\nstderr:\n{}",
                    self.log("stderr.log")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn assert_token_never_printed(&self) {
        for log in ["stderr.log", "stdout.log"] {
            let text = self.log(log);
            assert!(
                !text.contains("SECRET-token"),
                "{log} shows the token:\n{text}"
            );
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
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
    let mut bot = Bot::spawn(&fake.api_url(), &[], Stdio::null());
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
    assert!(bot.child.try_wait().unwrap().is_none(), "it keeps running");

    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.log("stderr.log"));
    bot.assert_token_never_printed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_telegram_false_keeps_it_off_and_the_console_runs() {
    let fake = FakeTelegram::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let mut bot = Bot::spawn(
        &fake.api_url(),
        &[("ENABLE_TELEGRAM", "false")],
        write_script(scratch.path(), "queue\nquit\n"),
    );
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.log("stderr.log"));
    assert!(
        bot.log("stderr.log").contains("ENABLE_TELEGRAM=false"),
        "{}",
        bot.log("stderr.log")
    );
    assert!(!bot.log("stdout.log").is_empty(), "the console answered");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    bot.assert_token_never_printed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_says_why_and_the_console_still_runs() {
    let fake = FakeTelegram::start().await;
    fake.respond_always("getMe", 401, api_error(401, "Unauthorized"));
    let scratch = tempfile::tempdir().unwrap();
    let mut bot = Bot::spawn(
        &fake.api_url(),
        &[],
        write_script(scratch.path(), "queue\nquit\n"),
    );
    let status = bot.wait(Duration::from_secs(40));
    let stderr = bot.log("stderr.log");
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stderr.contains("Telegram is off"), "{stderr}");
    assert!(
        stderr.contains("TELEGRAM_TOKEN"),
        "says what to check: {stderr}"
    );
    assert!(!bot.log("stdout.log").is_empty(), "the console answered");
    bot.assert_token_never_printed();
}
