//! The builder and the log waiter, on `/bin/sh` standing in for the bot.

use std::time::Duration;

use super::{BotProcess, Stream};

const LIMIT: Duration = Duration::from_secs(20);

fn shell(script: &str) -> super::BotBuilder {
    BotProcess::builder("/bin/sh").args(["-c", script])
}

#[test]
fn a_piped_process_answers_what_is_typed_and_the_waiter_returns_the_matching_line() {
    let mut process =
        shell("echo ready; echo starting >&2; read word; echo \"got $word\"; sleep 60")
            .stdin_piped()
            .spawn();
    process.wait_for_line_blocking(Stream::Stdout, LIMIT, |line| line == "ready");
    let logged =
        process.wait_for_line_blocking(Stream::Stderr, LIMIT, |line| line.starts_with("start"));
    assert_eq!(logged, "starting");
    process.write_stdin(b"tune\n");
    let line =
        process.wait_for_line_blocking(Stream::Stdout, LIMIT, |line| line.starts_with("got"));
    assert_eq!(line, "got tune");
    assert!(process.is_running());
    process.terminate();
    assert!(!process.wait(LIMIT).success(), "ended by SIGTERM");
}

#[tokio::test]
async fn the_async_waiter_and_log_says_see_the_log() {
    let process = shell("echo 'INFO serving' >&2; sleep 60").spawn();
    let log = process.log_says("serving", LIMIT).await;
    assert!(log.contains("INFO serving"), "{log}");
    let line = process
        .wait_for_line(Stream::Stderr, LIMIT, |line| line.contains("INFO"))
        .await;
    assert_eq!(line, "INFO serving");
}

#[test]
#[should_panic(expected = "no line of the bot's Stdout matched")]
fn a_line_that_never_comes_fails_with_the_logs() {
    let process = shell("echo something else; sleep 60").spawn();
    process.wait_for_line_blocking(Stream::Stdout, Duration::from_millis(200), |line| {
        line == "never"
    });
}

#[test]
fn a_partial_line_does_not_match_until_it_ends() {
    let process = shell("printf 'half'; sleep 60").stdin_piped().spawn();
    // Wait until the partial line is in the file, then look for it as a line.
    let deadline = std::time::Instant::now() + LIMIT;
    while process.stdout() != "half" {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            process.stdout()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let found = process.line_before(Stream::Stdout, deadline, &|line: &str| line == "half");
    assert_eq!(found, None);
}

#[test]
fn run_gives_the_status_the_output_and_the_environment_the_builder_set() {
    let finished = shell(
        "read first; echo \"$first $COLOUR ${DISCORD_TOKEN:-no-token} $MINSTREL_LOG\"; \
         echo warned >&2; exit 3",
    )
    .env("COLOUR", "green")
    .log("debug")
    .stdin_text("line one\nline two\n")
    .run(LIMIT);
    assert_eq!(finished.status.code(), Some(3));
    assert_eq!(finished.stdout, "line one green no-token debug\n");
    assert_eq!(finished.stderr, "warned\n");
    assert_eq!(finished.said(), "line one green no-token debug\nwarned\n");
}

#[test]
fn a_tone_goes_into_the_library_the_process_is_told_about() {
    let finished = shell("ls \"$MINSTREL_LIBRARY_DIR\"; pwd")
        .tone("a.wav", 1, 440.0, 1_000.0)
        .run(LIMIT);
    let lines: Vec<&str> = finished.stdout.lines().collect();
    assert_eq!(lines[0], "a.wav", "{}", finished.stdout);

    let folder = tempfile::tempdir().unwrap();
    let finished = shell("pwd").working_dir(folder.path()).run(LIMIT);
    let expected = folder.path().canonicalize().unwrap();
    assert_eq!(finished.stdout.trim_end(), expected.to_str().unwrap());
}
