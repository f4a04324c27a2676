//! Discord's REST API failing while the bot starts: a transient failure (5xx) is asked again
//! with backoff until Discord answers, a refused token (401) stops Discord with a clear
//! sentence, and `/ready` says which of the two it is.

use std::time::Duration;

use minstrel_testkit::discord::RestFailure;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{fakes, spawn_bot};

/// A port on 127.0.0.1 that was free a moment ago, for the ops endpoint.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// `GET /ready`'s JSON, or `None` while nothing answers.
async fn ready_report(address: &str) -> Option<Value> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!("GET /ready HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

/// Asks `/ready` until the Discord check's reason contains `text`; returns that check.
async fn discord_check_says(address: &str, text: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = None;
    loop {
        if let Some(report) = ready_report(address).await {
            let check = report["checks"]["discord"].clone();
            if check["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains(text))
            {
                return check;
            }
            last = Some(report);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/ready never said {text:?} about Discord; last: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn gateway_bot_requests(rest: &minstrel_testkit::discord::FakeRest) -> usize {
    rest.requests()
        .iter()
        .filter(|request| request.path == "/api/v10/gateway/bot")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_outage_at_boot_is_retried_with_backoff_until_discord_answers() {
    let (gateway, rest) = fakes().await;
    rest.fail_next([
        RestFailure::Status(503),
        RestFailure::Status(502),
        RestFailure::Status(500),
    ]);
    let address = free_address();
    let mut bot = spawn_bot(&gateway, &rest, &[("MINSTREL_HTTP_ADDR", address.as_str())]);
    let check = discord_check_says(&address, "could not reach Discord").await;
    assert_eq!(check["status"], "unhealthy", "{check}");
    bot.log_says("trying again", Duration::from_secs(20)).await;
    // Discord answers on the fourth try, and the bot connects without a restart.
    gateway.wait_for_op(2, 1).await;
    assert_eq!(gateway_bot_requests(&rest), 4);
    let check = discord_check_says(&address, "running").await;
    assert_eq!(check["status"], "healthy", "{check}");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_at_boot_stops_discord_at_once_with_a_clear_sentence() {
    let (gateway, rest) = fakes().await;
    rest.fail_next([RestFailure::Status(401)]);
    let address = free_address();
    let mut bot = spawn_bot(&gateway, &rest, &[("MINSTREL_HTTP_ADDR", address.as_str())]);
    bot.log_says("Discord is off", Duration::from_secs(20))
        .await;
    let log = bot.stderr();
    assert!(
        log.contains("Discord refused the bot token (401 Unauthorized)"),
        "{log}"
    );
    assert!(
        !log.contains("trying again"),
        "a refused token is not retried:\n{log}"
    );
    let check = discord_check_says(&address, "stopped").await;
    assert_eq!(check["status"], "unhealthy", "{check}");
    assert!(
        check["reason"]
            .as_str()
            .unwrap()
            .contains("refused the bot token"),
        "{check}"
    );
    assert_eq!(gateway_bot_requests(&rest), 1);
    assert_eq!(gateway.connections(), 0);
    assert!(bot.is_running(), "the rest of the bot keeps running");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}
