//! Direct links through transient failures: 5xx and 429 answers tried again with backoff,
//! refusals failing at once, a download cut mid-track carried on from the same byte.

use std::sync::Arc;
use std::time::{Duration, Instant};

use minstrel_app::ports::{AudioError, ResolveError, TrackResolver};
use minstrel_sources::{HttpLimits, HttpResolver};

use crate::http::{client, open, play, read_all, short_limits};
use crate::server::{Break, Reply, TestServer};
use crate::support::{assert_continuous_tone, assert_tone, wav_bytes};

/// Routes `path` to the `failures` in turn, then to a tone of `seconds` taking ranges.
fn tone_after(
    server: &TestServer,
    path: &str,
    seconds: f32,
    failures: impl IntoIterator<Item = Reply>,
) {
    let tone = Arc::new(wav_bytes(48_000, 2, seconds));
    let replies = failures.into_iter().chain([Reply::ranged(&tone)]);
    server.route(path, Reply::sequence(replies));
}

/// Opens `path` (with short stall limits) and reads it to the end, through any breaks.
async fn read_through_breaks(server: &TestServer, path: &str) -> Result<Vec<f32>, AudioError> {
    let url = server.url("audio.test", path);
    let stream = open(client(server, short_limits()), url, Duration::ZERO).await?;
    read_all(stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_503_twice_then_200_plays() {
    let server = TestServer::start();
    tone_after(
        &server,
        "/busy.wav",
        1.0,
        [Reply::Status(503), Reply::Status(503)],
    );
    let client = client(&server, HttpLimits::default());
    let url = server.url("audio.test", "/busy.wav");
    let resolved = HttpResolver::new(client.clone()).resolve(&url).await;
    assert_eq!(resolved.unwrap()[0].duration, Some(Duration::from_secs(1)));
    assert_eq!(server.seen().len(), 3, "two 503s, then the answer");
    assert_tone(&play(client, url).await, 1.0);
}

/// What resolving `path` on `server` fails with.
async fn refusal(resolver: &HttpResolver, server: &TestServer, path: &str) -> ResolveError {
    match resolver.resolve(&server.url("audio.test", path)).await {
        Err(error) => error,
        Ok(infos) => panic!("{path} resolved: {infos:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_fails_at_once_and_a_lasting_503_after_three_tries() {
    let server = TestServer::start();
    let resolver = HttpResolver::new(client(&server, HttpLimits::default()));
    assert_eq!(
        refusal(&resolver, &server, "/missing.wav").await,
        ResolveError::NotFound("the server answered 404".to_owned())
    );
    assert_eq!(server.seen().len(), 1, "a 404 is not asked again");

    server.route("/down.wav", Reply::Status(503));
    assert_eq!(
        refusal(&resolver, &server, "/down.wav").await,
        ResolveError::Unavailable("the server answered 503".to_owned())
    );
    assert_eq!(server.seen().len(), 1 + 3, "three attempts in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_as_long_as_retry_after_asks_within_bounds() {
    let server = TestServer::start();
    tone_after(
        &server,
        "/limited.wav",
        0.5,
        [Reply::RetryAfter(429, "1".to_owned())],
    );
    let resolver = HttpResolver::new(client(&server, HttpLimits::default()));
    let started = Instant::now();
    resolver
        .resolve(&server.url("audio.test", "/limited.wav"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.seen().len(), 2);

    // An hour is not waited for: the command answers now.
    server.route("/later.wav", Reply::RetryAfter(429, "3600".to_owned()));
    let started = Instant::now();
    assert_eq!(
        refusal(&resolver, &server, "/later.wav").await,
        ResolveError::Unavailable("the server answered 429".to_owned())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_resumes_at_its_byte_through_a_503() {
    let server = TestServer::start();
    let (_, sent) = server.tone_breaking_at_a_third("/reset.wav", Break::Reset, |bytes| {
        vec![Reply::Status(503), Reply::ranged(bytes)]
    });
    let samples = read_through_breaks(&server, "/reset.wav").await.unwrap();
    assert_continuous_tone(&samples, 2.0);
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].range, None);
    // The resumed requests ask for the rest from where the reader was, never from 0.
    let from: u64 = seen[1]
        .range
        .as_deref()
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|range| range.strip_suffix('-'))
        .and_then(|start| start.parse().ok())
        .unwrap_or_else(|| panic!("a range request: {seen:?}"));
    assert!(from > 0 && from <= sent as u64, "{seen:?}");
    assert_eq!(seen[2].range, seen[1].range);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_on_a_server_without_ranges_ends_with_a_reason_instead_of_starting_over() {
    let server = TestServer::start();
    server.tone_breaking_at_a_third("/plain.wav", Break::CloseWithoutRanges, |_| Vec::new());
    match read_through_breaks(&server, "/plain.wav").await {
        Err(error) => assert!(error.to_string().contains("cannot resume"), "{error}"),
        Ok(samples) => panic!("the track ended quietly ({} samples)", samples.len()),
    }
    assert_eq!(
        server.seen().len(),
        1,
        "the file is not fetched from the start again"
    );
}
