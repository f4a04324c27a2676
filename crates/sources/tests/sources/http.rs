//! Direct links over the local server: resolve, stream, seek, redirects, broken bodies.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, PcmStream, ResolveError, TrackResolver,
};
use minstrel_domain::SourceKind;
use minstrel_sources::{HttpAudioOpener, HttpLimits, HttpResolver, SafeHttpClient};
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::server::{Reply, TestServer};
use crate::support::{TestResolver, assert_tone, read_all_within, track, wav_bytes};

pub const LIMIT: Duration = Duration::from_secs(30);

pub fn client(server: &TestServer, limits: HttpLimits) -> SafeHttpClient {
    SafeHttpClient::with_resolver(limits, Arc::new(TestResolver::for_server(server.address)))
}

pub fn short_limits() -> HttpLimits {
    HttpLimits {
        response_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_millis(500),
        ..HttpLimits::default()
    }
}

pub async fn open(
    client: SafeHttpClient,
    url: String,
    start_at: Duration,
) -> Result<Box<dyn PcmStream>, AudioError> {
    let opener = HttpAudioOpener::new(client, Handle::current());
    tokio::task::spawn_blocking(move || {
        opener.open(
            &track(SourceKind::Http, &url),
            start_at,
            OpenOptions::default(),
        )
    })
    .await
    .unwrap()
}

/// Opens `url` from the start and reads it to its end.
pub async fn play(client: SafeHttpClient, url: String) -> Vec<f32> {
    read_all(open(client, url, Duration::ZERO).await.unwrap())
        .await
        .unwrap()
}

pub async fn read_all(stream: Box<dyn PcmStream>) -> Result<Vec<f32>, AudioError> {
    tokio::task::spawn_blocking(move || read_all_within(stream, LIMIT))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wav_link_resolves_and_plays() {
    let server = TestServer::start();
    server.file("/music/My%20Tone.wav", wav_bytes(44_100, 1, 1.0));
    let client = client(&server, HttpLimits::default());
    let url = server.url("audio.test", "/music/My%20Tone.wav");
    let infos = HttpResolver::new(client.clone())
        .resolve(&url)
        .await
        .unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].title, "My Tone");
    assert_eq!(infos[0].source_kind, SourceKind::Http);
    assert_eq!(infos[0].locator, url);
    assert_eq!(infos[0].duration, Some(Duration::from_secs(1)));

    assert_tone(&play(client, url).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_starts_before_the_download_finishes() {
    let server = TestServer::start();
    let bytes = wav_bytes(48_000, 2, 4.0);
    let total = bytes.len();
    let gate = Arc::new(Notify::new());
    server.route(
        "/slow.wav",
        Reply::Gated {
            bytes: Arc::new(bytes),
            first: total / 4,
            gate: gate.clone(),
        },
    );
    let client = client(&server, HttpLimits::default());
    let mut stream = open(
        client,
        server.url("audio.test", "/slow.wav"),
        Duration::ZERO,
    )
    .await
    .unwrap();
    // Half a second of audio comes out while three quarters of the file are still unsent.
    let (stream, first) = tokio::task::spawn_blocking(move || {
        let mut first = vec![0.0_f32; 2 * 24_000];
        let mut filled = 0;
        while filled < first.len() {
            let count = stream.read(&mut first[filled..]).unwrap();
            assert!(count > 0, "the stream ended early");
            filled += count;
        }
        (stream, first)
    })
    .await
    .unwrap();
    assert!(server.body_bytes_sent.load(Ordering::SeqCst) <= total / 4);
    assert!(crate::support::rms(&first) > 0.3);
    gate.notify_one();
    let rest = read_all(stream).await.unwrap();
    assert_eq!(first.len() + rest.len(), 2 * 4 * 48_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_uses_a_range_request() {
    let server = TestServer::start();
    server.file("/long.wav", wav_bytes(48_000, 2, 8.0));
    let client = client(&server, HttpLimits::default());
    let stream = open(
        client,
        server.url("audio.test", "/long.wav"),
        Duration::from_secs(6),
    )
    .await
    .unwrap();
    let samples = read_all(stream).await.unwrap();
    assert_tone(&samples, 2.0);
    let seen = server.seen();
    assert!(
        seen.iter().any(|request| request.range.is_some()),
        "a range request was made: {seen:?}"
    );
    // The range request skipped most of the file.
    assert!(server.body_bytes_sent.load(Ordering::SeqCst) < 8 * 48_000 * 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_on_a_server_without_ranges_reads_through() {
    let server = TestServer::start();
    server.route(
        "/plain.wav",
        Reply::Body {
            bytes: Arc::new(wav_bytes(48_000, 2, 4.0)),
            ranges: false,
        },
    );
    let client = client(&server, HttpLimits::default());
    let stream = open(
        client,
        server.url("audio.test", "/plain.wav"),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_tone(&read_all(stream).await.unwrap(), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_download_resumes_with_a_range_request() {
    let server = TestServer::start();
    let bytes = wav_bytes(48_000, 2, 2.0);
    let sent = bytes.len() / 3;
    server.route(
        "/flaky.wav",
        Reply::BreaksOnce {
            bytes: Arc::new(bytes),
            sent,
            broken: Arc::default(),
        },
    );
    let client = client(&server, short_limits());
    let stream = open(
        client,
        server.url("audio.test", "/flaky.wav"),
        Duration::ZERO,
    )
    .await
    .unwrap();
    let samples = read_all(stream).await.unwrap();
    assert_tone(&samples, 2.0);
    assert_eq!(
        samples.len(),
        2 * 2 * 48_000,
        "not a sample lost or repeated"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].range, Some(format!("bytes={sent}-")), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_to_five_redirects_are_followed_and_a_sixth_is_refused() {
    let server = TestServer::start();
    server.file("/tone.wav", wav_bytes(48_000, 1, 0.5));
    for hop in 1..=6 {
        let next = if hop == 1 {
            "/tone.wav".to_owned()
        } else {
            format!("/hop{}", hop - 1)
        };
        server.route(&format!("/hop{hop}"), Reply::Redirect(next));
    }
    let resolver = HttpResolver::new(client(&server, HttpLimits::default()));
    // Five redirects: hop5 → … → hop1 → tone.wav.
    let infos = resolver
        .resolve(&server.url("audio.test", "/hop5"))
        .await
        .unwrap();
    assert_eq!(infos[0].duration, Some(Duration::from_millis(500)));
    match resolver.resolve(&server.url("audio.test", "/hop6")).await {
        Err(ResolveError::Unsupported(message)) => {
            assert!(message.contains("redirects"), "{message}");
        }
        other => panic!("expected too many redirects, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_body_ends_cleanly() {
    let server = TestServer::start();
    let bytes = wav_bytes(48_000, 2, 2.0);
    let sent = bytes.len() / 2;
    server.route(
        "/cut.wav",
        Reply::Truncated {
            bytes: Arc::new(bytes),
            sent,
        },
    );
    let client = client(&server, short_limits());
    let stream = open(client, server.url("audio.test", "/cut.wav"), Duration::ZERO)
        .await
        .unwrap();
    match read_all(stream).await {
        Ok(samples) => assert!(samples.len() <= 2 * 48_000 + 4096, "{}", samples.len()),
        Err(error) => assert!(
            matches!(error, AudioError::Io(_) | AudioError::Corrupt(_)),
            "{error:?}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_fails_instead_of_hanging() {
    let server = TestServer::start();
    let bytes = wav_bytes(48_000, 2, 2.0);
    server.route(
        "/stall.wav",
        Reply::Stalled {
            bytes: Arc::new(bytes),
            sent: 50_000,
        },
    );
    let client = client(&server, short_limits());
    let stream = open(
        client,
        server.url("audio.test", "/stall.wav"),
        Duration::ZERO,
    )
    .await
    .unwrap();
    let error = read_all(stream).await.unwrap_err();
    assert!(error.to_string().contains("stopped sending"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_cap_not_audio_and_missing_files_are_refused() {
    let server = TestServer::start();
    server.file("/big.wav", wav_bytes(48_000, 2, 1.0));
    server.file("/page.mp3", b"<html><body>hello</body></html>".repeat(100));
    let small = HttpLimits {
        max_bytes: 10_000,
        ..HttpLimits::default()
    };
    let resolver = HttpResolver::new(client(&server, small));
    match resolver
        .resolve(&server.url("audio.test", "/big.wav"))
        .await
    {
        Err(ResolveError::Forbidden(message)) => assert!(message.contains("larger"), "{message}"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
    let resolver = HttpResolver::new(client(&server, HttpLimits::default()));
    match resolver
        .resolve(&server.url("audio.test", "/page.mp3"))
        .await
    {
        Err(ResolveError::Unsupported(message)) => {
            assert!(message.contains("not an audio file"), "{message}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(matches!(
        resolver
            .resolve(&server.url("audio.test", "/missing.wav"))
            .await,
        Err(ResolveError::NotFound(_))
    ));
    server.route("/broken.wav", Reply::Status(500));
    match resolver
        .resolve(&server.url("audio.test", "/broken.wav"))
        .await
    {
        Err(ResolveError::Unavailable(message)) => assert!(message.contains("500"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let long = HttpLimits {
        max_duration: Duration::from_millis(500),
        ..HttpLimits::default()
    };
    match HttpResolver::new(client(&server, long))
        .resolve(&server.url("audio.test", "/big.wav"))
        .await
    {
        Err(ResolveError::Forbidden(message)) => assert!(message.contains("longer"), "{message}"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
}
