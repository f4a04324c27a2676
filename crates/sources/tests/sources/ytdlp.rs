//! The yt-dlp resolver against a fake yt-dlp (a shell script written per test).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::ports::{
    AudioOpener, LoadProgress, OpenOptions, PageSink, ProgressSink, RelatedTracks, ResolveError,
    TrackPage, TrackResolver,
};
use minstrel_domain::SourceKind;
use minstrel_sources::{
    HttpLimits, Resolvers, RoutingResolver, SafeHttpClient, SearchProvider,
    YT_DLP_FAILURES_COUNTER, YtDlpAudioOpener, YtDlpConfig, YtDlpFailure, YtDlpResolver,
};
use tokio::runtime::Handle;

use crate::server::{Break, Reply, TestServer};
use crate::support::{
    TestResolver, assert_continuous_tone, assert_tone, read_all_within, track, wav_bytes,
};

/// What `yt-dlp -J` prints for one `YouTube` video (trimmed, same shape).
pub const VIDEO_JSON: &str = r#"{"id": "dQw4w9WgXcQ", "title": "Rick Astley - Never Gonna Give You Up (Official Music Video)", "formats": [{"format_id": "251", "format_note": "medium", "ext": "webm", "protocol": "https", "acodec": "opus", "vcodec": "none", "url": "https://rr1---sn-abc.googlevideo.com/videoplayback?expire=1", "abr": 129.5, "asr": 48000, "audio_channels": 2}], "thumbnails": [{"url": "https://i.ytimg.com/vi/dQw4w9WgXcQ/maxresdefault.jpg", "id": "0"}], "thumbnail": "https://i.ytimg.com/vi_webp/dQw4w9WgXcQ/maxresdefault.webp", "description": "The official video", "channel_id": "UCuAXFkgsw1L7xaCfnd5JJOw", "channel_url": "https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw", "duration": 212, "view_count": 1500000000, "age_limit": 0, "webpage_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "categories": ["Music"], "tags": ["rick astley"], "playable_in_embed": true, "live_status": "not_live", "channel": "Rick Astley", "channel_follower_count": 4000000, "upload_date": "20091025", "uploader": "Rick Astley", "uploader_id": "@RickAstleyYT", "original_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "webpage_url_basename": "watch", "webpage_url_domain": "youtube.com", "extractor": "youtube", "extractor_key": "Youtube", "playlist": null, "playlist_index": null, "display_id": "dQw4w9WgXcQ", "fulltitle": "Rick Astley - Never Gonna Give You Up (Official Music Video)", "duration_string": "3:32", "is_live": false, "was_live": false, "format_id": "251", "ext": "webm", "acodec": "opus", "_type": "video", "_version": {"version": "2025.01.15", "release_git_head": null, "repository": "yt-dlp/yt-dlp"}}"#;

struct Fake {
    folder: tempfile::TempDir,
    binary: PathBuf,
}

impl Fake {
    /// A fake yt-dlp that logs its arguments (one per line, `---` after each call) and then
    /// runs `body`.
    fn new(body: &str) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let binary = folder.path().join("yt-dlp");
        let calls = folder.path().join("calls");
        let script = format!(
            "{{ for argument in \"$@\"; do printf '%s\\n' \"$argument\"; done; echo ---; }} >> '{}'\n{body}",
            calls.display()
        );
        minstrel_testkit::process::write_script(&binary, &script);
        Self { folder, binary }
    }

    /// A fake yt-dlp that runs `body` with `$call` set to the number of this call (1 for the
    /// first).
    fn counting(body: &str) -> Self {
        Self::new(&format!(
            r#"call=$(( $(cat "$(dirname "$0")/count" 2>/dev/null || echo 0) + 1 ))
echo "$call" > "$(dirname "$0")/count"
{body}"#
        ))
    }

    /// A fake yt-dlp whose first `failures` calls print `error` (no single quotes) on stderr
    /// and exit 1; later calls run `body`.
    fn failing_then(failures: usize, error: &str, body: &str) -> Self {
        Self::counting(&format!(
            "if [ \"$call\" -le {failures} ]; then echo '{error}' >&2; exit 1; fi\n{body}"
        ))
    }

    /// Prints `json` for every call.
    fn printing(json: &str) -> Self {
        let fake = Self::new("cat \"$(dirname \"$0\")/output\"");
        std::fs::write(fake.path().join("output"), json).unwrap();
        fake
    }

    fn resolver(&self) -> YtDlpResolver {
        YtDlpResolver::new(self.config())
    }

    fn config(&self) -> YtDlpConfig {
        YtDlpConfig {
            binary: self.binary.clone(),
            timeout: Duration::from_secs(20),
            ..YtDlpConfig::default()
        }
    }

    /// The argument lists of every call so far.
    fn calls(&self) -> Vec<Vec<String>> {
        let Ok(text) = std::fs::read_to_string(self.folder.path().join("calls")) else {
            return Vec::new();
        };
        let mut calls = vec![Vec::new()];
        for line in text.lines() {
            if line == "---" {
                calls.push(Vec::new());
            } else if let Some(last) = calls.last_mut() {
                last.push(line.to_owned());
            }
        }
        calls.pop();
        calls
    }

    fn path(&self) -> &Path {
        self.folder.path()
    }
}

/// The value after `--`, which must be the last argument, and the options before it.
fn split_call(call: &[String]) -> (&[String], &str) {
    let separator = call
        .iter()
        .position(|argument| argument == "--")
        .expect("a -- separator");
    assert_eq!(
        separator + 2,
        call.len(),
        "exactly one value after --: {call:?}"
    );
    (&call[..separator], &call[separator + 1])
}

#[tokio::test]
async fn a_video_link_becomes_a_track() {
    let fake = Fake::printing(VIDEO_JSON);
    let url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLx";
    let infos = fake.resolver().resolve(url).await.unwrap();
    assert_eq!(infos.len(), 1);
    let info = &infos[0];
    assert_eq!(
        info.title,
        "Rick Astley - Never Gonna Give You Up (Official Music Video)"
    );
    assert_eq!(info.artist.as_deref(), Some("Rick Astley"));
    assert_eq!(info.duration, Some(Duration::from_secs(212)));
    assert_eq!(info.source_kind, SourceKind::YouTube);
    assert_eq!(info.locator, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let (options, value) = split_call(&calls[0]);
    assert_eq!(value, url);
    for wanted in ["--ignore-config", "--no-playlist", "-J", "--use-extractors"] {
        assert!(
            options.iter().any(|option| option == wanted),
            "{wanted} in {options:?}"
        );
    }
}

#[tokio::test]
async fn a_query_that_looks_like_an_option_stays_a_search_term() {
    let search = format!(
        r#"{{"_type": "playlist", "extractor": "youtube:search", "entries": [{VIDEO_JSON}]}}"#
    );
    let fake = Fake::printing(&search);
    let marker = fake.path().join("pwned");
    let resolver = Arc::new(fake.resolver());
    let router = RoutingResolver::new(
        Resolvers {
            ytdlp: Some(resolver.clone()),
            ..Resolvers::default()
        },
        SearchProvider::YouTube,
    );
    let hostile = [
        format!("--exec touch {}", marker.display()),
        "-o /etc/passwd".to_owned(),
        "--config-locations /tmp/x".to_owned(),
        "-".to_owned(),
    ];
    for query in &hostile {
        router.resolve(query).await.unwrap();
        router.resolve(&format!("yt:{query}")).await.unwrap();
        resolver.resolve(query).await.unwrap();
    }
    router.resolve("sc:--exec id").await.unwrap();
    let calls = fake.calls();
    assert_eq!(calls.len(), hostile.len() * 3 + 1);
    for call in &calls {
        let (options, value) = split_call(call);
        assert!(
            value.starts_with("ytsearch1:") || value.starts_with("scsearch1:"),
            "{value}"
        );
        assert!(
            options
                .iter()
                .all(|option| !option.contains("exec") && !option.contains("passwd"))
        );
    }
    assert_eq!(
        split_call(&calls[0]).1,
        format!("ytsearch1:--exec touch {}", marker.display())
    );
    assert!(!marker.exists());
}

#[tokio::test]
async fn yt_dlp_inherits_only_the_allowed_environment() {
    // cargo sets this for every test run: a variable of the bot's environment that is not on
    // the list, standing in for a token or the database URL.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let fake =
        Fake::new("env > \"$(dirname \"$0\")/environment\"\ncat \"$(dirname \"$0\")/output\"");
    std::fs::write(fake.path().join("output"), VIDEO_JSON).unwrap();
    fake.resolver()
        .resolve("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        .await
        .unwrap();
    let environment = std::fs::read_to_string(fake.path().join("environment")).unwrap();
    let names: Vec<&str> = environment
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .collect();
    assert!(names.contains(&"PATH"), "{names:?}");
    // What the shell sets for itself.
    let shell_own = ["PWD", "SHLVL", "_", "OLDPWD"];
    for name in &names {
        assert!(
            minstrel_sources::INHERITED_ENVIRONMENT.contains(name) || shell_own.contains(name),
            "yt-dlp saw {name}: {names:?}"
        );
    }
}

#[tokio::test]
async fn a_hanging_yt_dlp_is_killed_at_the_timeout() {
    let fake = Fake::new("echo $$ > \"$(dirname \"$0\")/pid\"\nexec sleep 30");
    let resolver = YtDlpResolver::new(YtDlpConfig {
        timeout: Duration::from_millis(500),
        ..fake.config()
    });
    let started = std::time::Instant::now();
    let error = resolver.resolve("slow song").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    match error {
        ResolveError::Unavailable(message) => assert!(message.contains("took longer"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let pid = std::fs::read_to_string(fake.path().join("pid")).unwrap();
    // Killed and reaped before resolve returned: the process is gone.
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "yt-dlp (pid {pid}) still runs"
    );
}

#[tokio::test]
async fn bad_json_and_failures_are_clean_errors() {
    let fake = Fake::printing("{\"id\": \"abc\", \"title\": ");
    assert!(matches!(
        fake.resolver().resolve("https://youtu.be/abc").await,
        Err(ResolveError::Internal(_))
    ));
    let fake = Fake::printing("");
    assert!(fake.resolver().resolve("words").await.is_err());

    let fake = Fake::new(
        "echo 'ERROR: [youtube] abc: Video unavailable. This video has been removed' >&2\nexit 1",
    );
    assert!(matches!(
        fake.resolver().resolve("https://youtu.be/abc").await,
        Err(ResolveError::NotFound(_))
    ));
    let fake = Fake::new("echo 'ERROR: Unsupported URL: https://vimeo.com/x' >&2\nexit 1");
    assert!(matches!(
        fake.resolver().resolve("https://vimeo.com/x").await,
        Err(ResolveError::Unsupported(_))
    ));
    let fake =
        Fake::new("echo 'ERROR: [youtube] abc: Sign in to confirm you are not a bot' >&2\nexit 1");
    match fake.resolver().resolve("https://youtu.be/abc").await {
        Err(ResolveError::Unavailable(message)) => {
            assert!(message.contains("Sign in"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The generic extractor would fetch any URL: refused even if yt-dlp used it.
    let generic = VIDEO_JSON.replace("\"extractor\": \"youtube\"", "\"extractor\": \"generic\"");
    let fake = Fake::printing(&generic);
    assert!(matches!(
        fake.resolver().resolve("https://youtu.be/abc").await,
        Err(ResolveError::Forbidden(_))
    ));
}

#[tokio::test]
async fn sites_off_the_allow_list_never_reach_yt_dlp() {
    let fake = Fake::printing(VIDEO_JSON);
    for url in [
        "https://example.com/video",
        "http://169.254.169.254/",
        "https://youtube.com.evil.net/watch",
    ] {
        assert!(
            matches!(
                fake.resolver().resolve(url).await,
                Err(ResolveError::Unsupported(_))
            ),
            "{url}"
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_missing_yt_dlp_says_how_to_install_it() {
    let resolver = YtDlpResolver::new(YtDlpConfig {
        binary: PathBuf::from("/definitely/not/here/yt-dlp"),
        ..YtDlpConfig::default()
    });
    match resolver.resolve("some song").await {
        Err(ResolveError::Unavailable(message)) => {
            assert!(message.contains("pip install yt-dlp"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// A fake playlist of `total` flat entries honouring `--playlist-items START:STOP`.
fn playlist_fake(total: usize) -> Fake {
    Fake::new(&playlist_script(total))
}

/// [`playlist_fake`] answering the first call at once and every later call only once the
/// test created the file `go` in the fake's folder.
fn gated_playlist_fake(total: usize) -> Fake {
    Fake::new(&format!(
        r#"folder="$(dirname "$0")"
if [ -e "$folder/started" ]; then
  while [ ! -e "$folder/go" ]; do sleep 0.05; done
fi
touch "$folder/started"
{}"#,
        playlist_script(total)
    ))
}

/// The script of [`playlist_fake`].
fn playlist_script(total: usize) -> String {
    format!(
        r#"items=""
previous=""
for argument in "$@"; do
  if [ "$previous" = "--playlist-items" ]; then items="$argument"; fi
  previous="$argument"
done
start=${{items%%:*}}
stop=${{items##*:}}
if [ "$stop" -gt {total} ]; then stop={total}; fi
printf '{{"_type": "playlist", "id": "PL1", "title": "Mix", "extractor": "youtube:tab", "entries": ['
index=$start
while [ "$index" -le "$stop" ]; do
  if [ "$index" -gt "$start" ]; then printf ', '; fi
  printf '{{"_type": "url", "ie_key": "Youtube", "id": "video%06d", "url": "https://www.youtube.com/watch?v=video%06d", "title": "Track %d", "duration": 200.0, "channel": "Band"}}' $index $index $index
  index=$((index + 1))
done
printf ']}}'"#
    )
}

#[tokio::test]
async fn a_playlist_is_read_page_by_page_up_to_the_cap() {
    let fake = playlist_fake(1234);
    let events: Arc<Mutex<Vec<LoadProgress>>> = Arc::default();
    let sink = events.clone();
    let resolver = YtDlpResolver::new(YtDlpConfig {
        playlist_cap: 250,
        page_size: 100,
        ..fake.config()
    });
    let url = "https://www.youtube.com/playlist?list=PL1";
    let progress: ProgressSink = Arc::new(move |progress| {
        sink.lock().unwrap().push(progress);
    });
    let tracks = resolver.resolve_with_progress(url, progress).await.unwrap();
    assert_eq!(tracks.len(), 250);
    assert_eq!(tracks[0].title, "Track 1");
    assert_eq!(tracks[249].title, "Track 250");
    assert_eq!(
        tracks[7].locator,
        "https://www.youtube.com/watch?v=video000008"
    );
    let calls = fake.calls();
    let pages: Vec<String> = calls
        .iter()
        .map(|call| {
            let (options, value) = split_call(call);
            assert_eq!(value, url);
            assert!(options.iter().any(|option| option == "--flat-playlist"));
            assert!(options.iter().all(|option| option != "--no-playlist"));
            let at = options
                .iter()
                .position(|option| option == "--playlist-items")
                .unwrap();
            options[at + 1].clone()
        })
        .collect();
    assert_eq!(pages, ["1:100", "101:200", "201:250"]);
    let events = events.lock().unwrap().clone();
    let loaded: Vec<usize> = events.iter().map(|event| event.loaded).collect();
    assert_eq!(loaded, [100, 200, 250]);
    assert!(events.last().unwrap().done);
    assert!(events.iter().all(|event| event.cap == 250));
}

#[tokio::test]
async fn playlist_entries_without_a_playable_track_are_counted_as_skipped() {
    let fake = Fake::new(
        r#"printf '{"_type": "playlist", "id": "PL1", "title": "Mix", "extractor": "youtube:tab", "entries": ['
printf '{"_type": "url", "ie_key": "Youtube", "id": "video000001", "url": "https://www.youtube.com/watch?v=video000001", "title": "Track 1"}, '
printf '{"_type": "url", "title": "[Deleted video]"}, '
printf '{"_type": "url", "ie_key": "Youtube", "id": "video000003", "url": "https://www.youtube.com/watch?v=video000003", "title": "Track 3"}'
printf ']}'"#,
    );
    let events: Arc<Mutex<Vec<LoadProgress>>> = Arc::default();
    let sink = events.clone();
    let progress: ProgressSink = Arc::new(move |progress| {
        sink.lock().unwrap().push(progress);
    });
    let resolver = YtDlpResolver::new(fake.config());
    let url = "https://www.youtube.com/playlist?list=PL1";
    let tracks = resolver.resolve_with_progress(url, progress).await.unwrap();
    assert_eq!(tracks.len(), 2);
    let events = events.lock().unwrap().clone();
    let last = events.last().unwrap();
    assert_eq!((last.loaded, last.skipped, last.done), (2, 1, true));
}

/// Starts `resolver.resolve_pages(query)` on a task of its own, with room for `room` pages.
fn paging(
    resolver: Arc<dyn TrackResolver>,
    query: &str,
    room: usize,
) -> (
    tokio::sync::mpsc::Receiver<TrackPage>,
    tokio::task::JoinHandle<Result<(), ResolveError>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(room);
    let query = query.to_owned();
    let task = tokio::spawn(async move {
        resolver
            .resolve_pages(&query, PageSink::new(sender, None))
            .await
    });
    (receiver, task)
}

async fn next_page(receiver: &mut tokio::sync::mpsc::Receiver<TrackPage>) -> Option<TrackPage> {
    tokio::time::timeout(Duration::from_secs(15), receiver.recv())
        .await
        .expect("a page within 15 s")
}

#[tokio::test]
async fn a_playlist_arrives_page_by_page_the_first_before_the_second_is_read() {
    let fake = gated_playlist_fake(250);
    let config = YtDlpConfig {
        page_size: 100,
        ..fake.config()
    };
    let url = "https://www.youtube.com/playlist?list=PL1";
    let (mut receiver, task) = paging(Arc::new(YtDlpResolver::new(config)), url, 8);
    // yt-dlp holds page 2 back until `go` exists: page 1 must arrive without it.
    let first = next_page(&mut receiver).await.unwrap();
    assert_eq!(
        (first.tracks.len(), first.skipped, first.more),
        (100, 0, true)
    );
    assert_eq!(first.tracks[0].title, "Track 1");
    std::fs::write(fake.path().join("go"), "").unwrap();
    let second = next_page(&mut receiver).await.unwrap();
    assert_eq!((second.tracks.len(), second.more), (100, true));
    assert_eq!(second.tracks[0].title, "Track 101");
    let third = next_page(&mut receiver).await.unwrap();
    assert_eq!((third.tracks.len(), third.more), (50, false));
    assert_eq!(third.tracks[49].title, "Track 250");
    assert!(next_page(&mut receiver).await.is_none());
    task.await.unwrap().unwrap();
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn a_load_nobody_waits_for_any_more_runs_yt_dlp_no_further() {
    let fake = gated_playlist_fake(1000);
    let ytdlp = YtDlpResolver::new(YtDlpConfig {
        page_size: 100,
        playlist_cap: 500,
        ..fake.config()
    });
    // Through the router, which hands the pages on as they come.
    let router = RoutingResolver::new(
        Resolvers {
            ytdlp: Some(Arc::new(ytdlp)),
            ..Resolvers::default()
        },
        SearchProvider::YouTube,
    );
    let url = "https://www.youtube.com/playlist?list=PL1";
    let (mut receiver, task) = paging(Arc::new(router), url, 1);
    let first = next_page(&mut receiver).await.unwrap();
    assert_eq!((first.tracks.len(), first.more), (100, true));
    drop(receiver);
    std::fs::write(fake.path().join("go"), "").unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // Page 2 was already being read; pages 3 to 5 never are.
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn a_page_failing_after_the_first_ends_the_load_with_its_entries_skipped() {
    let fake = Fake::counting(&format!(
        "if [ \"$call\" -ge 2 ]; then echo 'ERROR: [youtube:tab] PL1: This playlist does not exist' >&2; exit 1; fi\n{}",
        playlist_script(1000)
    ));
    let resolver = Arc::new(YtDlpResolver::new(YtDlpConfig {
        page_size: 100,
        ..fake.config()
    }));
    let url = "https://www.youtube.com/playlist?list=PL1";
    let (mut receiver, task) = paging(resolver.clone(), url, 8);
    let first = next_page(&mut receiver).await.unwrap();
    assert_eq!((first.tracks.len(), first.more), (100, true));
    let failed = next_page(&mut receiver).await.unwrap();
    assert_eq!(
        failed,
        TrackPage {
            tracks: Vec::new(),
            skipped: 100,
            more: false
        }
    );
    assert!(next_page(&mut receiver).await.is_none());
    task.await.unwrap().unwrap();
    // Before the first page, the error is the resolver's answer, as `resolve` gives it.
    let (mut receiver, task) = paging(resolver, url, 8);
    assert!(next_page(&mut receiver).await.is_none());
    assert!(matches!(
        task.await.unwrap(),
        Err(ResolveError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_short_playlist_stops_at_its_end() {
    let fake = playlist_fake(120);
    let resolver = YtDlpResolver::new(YtDlpConfig {
        page_size: 100,
        ..fake.config()
    });
    let tracks = resolver
        .resolve("https://www.youtube.com/playlist?list=PL1")
        .await
        .unwrap();
    assert_eq!(tracks.len(), 120);
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn several_search_results_come_back_for_matching() {
    let entries: Vec<String> = (1..=5)
        .map(|index| format!(r#"{{"_type": "url", "ie_key": "Youtube", "id": "v{index}", "url": "https://www.youtube.com/watch?v=v{index}", "title": "Result {index}", "duration": {index}0.0}}"#))
        .collect();
    let fake = Fake::printing(&format!(
        r#"{{"_type": "playlist", "extractor": "youtube:search", "entries": [{}]}}"#,
        entries.join(",")
    ));
    let tracks = fake
        .resolver()
        .resolve("ytsearch5:some song")
        .await
        .unwrap();
    assert_eq!(tracks.len(), 5);
    assert_eq!(tracks[4].duration, Some(Duration::from_secs(50)));
    let calls = fake.calls();
    let (options, value) = split_call(&calls[0]);
    assert_eq!(value, "ytsearch5:some song");
    assert!(options.iter().any(|option| option == "--flat-playlist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opener_streams_the_url_yt_dlp_gives() {
    let server = TestServer::start();
    server.file("/videoplayback", wav_bytes(48_000, 2, 1.0));
    let fake = Fake::new(&format!(
        "echo '{}'",
        server.url("audio.test", "/videoplayback")
    ));
    let client = SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(TestResolver::for_server(server.address)),
    );
    let opener = YtDlpAudioOpener::new(fake.resolver(), client, Handle::current());
    let page = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";
    let stream = tokio::task::spawn_blocking(move || {
        let stream = opener
            .open(
                &track(SourceKind::YouTube, page),
                Duration::ZERO,
                OpenOptions::default(),
            )
            .unwrap();
        read_all_within(stream, Duration::from_secs(30))
    })
    .await
    .unwrap()
    .unwrap();
    assert_tone(&stream, 1.0);
    let calls = fake.calls();
    let (options, value) = split_call(&calls[0]);
    assert_eq!(value, page);
    assert!(options.iter().any(|option| option == "-g"));
    assert!(options.iter().any(|option| option.starts_with("bestaudio")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opener_refuses_a_stream_url_pointing_inside() {
    let fake = Fake::new("echo 'http://169.254.169.254/latest/meta-data/'");
    let client =
        SafeHttpClient::with_resolver(HttpLimits::default(), Arc::new(TestResolver::default()));
    let opener = YtDlpAudioOpener::new(fake.resolver(), client, Handle::current());
    let error = tokio::task::spawn_blocking(move || {
        opener
            .open(
                &track(SourceKind::YouTube, "https://youtu.be/abc"),
                Duration::ZERO,
                OpenOptions::default(),
            )
            .err()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        error.to_string().contains("not allowed to reach"),
        "{error}"
    );
}

/// yt-dlp's words when the network failed on the way (a DNS hiccup).
const NETWORK_ERROR: &str = "ERROR: [youtube] dQw4w9WgXcQ: Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name resolution> (caused by TransportError)";

#[tokio::test]
async fn a_yt_dlp_network_failure_is_tried_again_until_it_passes() {
    let fake = Fake::failing_then(2, NETWORK_ERROR, "cat \"$(dirname \"$0\")/output\"");
    std::fs::write(fake.path().join("output"), VIDEO_JSON).unwrap();
    let infos = fake
        .resolver()
        .resolve("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        .await
        .unwrap();
    assert_eq!(infos[0].duration, Some(Duration::from_secs(212)));
    assert_eq!(
        fake.calls().len(),
        3,
        "two network failures, then the answer"
    );
}

#[tokio::test]
async fn yt_dlp_refusals_fail_at_once_and_network_failures_after_three_runs() {
    for refusal in [
        "ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader",
        "ERROR: [youtube] abc: Private video. Sign in if you have been granted access",
        "ERROR: [youtube] abc: Unable to download webpage: HTTP Error 404: Not Found",
    ] {
        let fake = Fake::failing_then(10, refusal, "exit 1");
        assert!(
            matches!(
                fake.resolver().resolve("https://youtu.be/abc").await,
                Err(ResolveError::NotFound(_))
            ),
            "{refusal}"
        );
        assert_eq!(fake.calls().len(), 1, "{refusal}");
    }
    let fake = Fake::failing_then(
        10,
        "ERROR: [youtube] abc: Unable to download webpage: HTTP Error 503: Service Unavailable",
        "exit 1",
    );
    match fake.resolver().resolve("https://youtu.be/abc").await {
        Err(ResolveError::Unavailable(message)) => assert!(message.contains("503"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.calls().len(), 3);
}

/// Plays `page` through `fake` and `server`, reading to the end.
async fn play_site_track(
    fake: &Fake,
    server: &TestServer,
) -> Result<Vec<f32>, minstrel_app::ports::AudioError> {
    let client = SafeHttpClient::with_resolver(
        HttpLimits::default(),
        Arc::new(TestResolver::for_server(server.address)),
    );
    let opener = YtDlpAudioOpener::new(fake.resolver(), client, Handle::current());
    tokio::task::spawn_blocking(move || {
        let stream = opener.open(
            &track(SourceKind::YouTube, "https://youtu.be/dQw4w9WgXcQ"),
            Duration::ZERO,
            OpenOptions::default(),
        )?;
        read_all_within(stream, Duration::from_secs(30))
    })
    .await
    .unwrap()
}

/// A fake yt-dlp handing out `/v1` first and `/v2` on every later call.
fn expiring_fake(server: &TestServer) -> Fake {
    Fake::counting(&format!(
        "if [ \"$call\" -eq 1 ]; then echo '{}'; else echo '{}'; fi",
        server.url("audio.test", "/v1"),
        server.url("audio.test", "/v2"),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_stream_url_is_found_again_and_resumes_at_its_byte() {
    let server = TestServer::start();
    // The first URL breaks off mid-track and has expired by the time it is asked again.
    let (bytes, sent) =
        server.tone_breaking_at_a_third("/v1", Break::Close, |_| vec![Reply::Status(403)]);
    server.route("/v2", Reply::ranged(&bytes));
    let fake = expiring_fake(&server);
    let samples = play_site_track(&fake, &server).await.unwrap();
    assert_continuous_tone(&samples, 2.0);
    let seen: Vec<(String, Option<String>)> = server
        .seen()
        .into_iter()
        .map(|request| (request.path, request.range))
        .collect();
    let rest = Some(format!("bytes={sent}-"));
    assert_eq!(
        seen,
        [
            ("/v1".to_owned(), None),
            ("/v1".to_owned(), rest.clone()),
            ("/v2".to_owned(), rest),
        ]
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 2, "yt-dlp was asked once more");
    assert!(
        calls
            .iter()
            .all(|call| call.iter().any(|option| option == "-g"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_url_to_another_file_ends_the_track_instead_of_mixing_them() {
    let server = TestServer::start();
    server.tone_breaking_at_a_third("/v1", Break::Close, |_| vec![Reply::Status(403)]);
    // yt-dlp picked another format this time: its bytes do not continue the first file's.
    server.route("/v2", Reply::ranged(&Arc::new(wav_bytes(44_100, 2, 2.0))));
    match play_site_track(&expiring_fake(&server), &server).await {
        Err(error) => assert!(error.to_string().contains("stream changed"), "{error}"),
        Ok(samples) => panic!("the track played on ({} samples)", samples.len()),
    }
}

/// The failures counted by reason since the last call (a snapshot drains the recorder).
fn failures_since(
    snapshotter: &metrics_util::debugging::Snapshotter,
) -> std::collections::BTreeMap<String, u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let key = key.key();
            let reason = key
                .labels()
                .find(|label| label.key() == "reason")
                .map(|label| label.value().to_owned());
            match (value, reason) {
                (metrics_util::debugging::DebugValue::Counter(count), Some(reason))
                    if key.name() == YT_DLP_FAILURES_COUNTER && count > 0 =>
                {
                    Some((reason, count))
                }
                _ => None,
            }
        })
        .collect()
}

fn only(reason: YtDlpFailure) -> std::collections::BTreeMap<String, u64> {
    [(reason.as_str().to_owned(), 1)].into()
}

#[tokio::test]
async fn failed_runs_are_counted_by_reason() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // A current-thread test: the thread's recorder sees every await of the resolver.
    let _guard = metrics::set_default_local_recorder(&recorder);

    let hanging = Fake::new("exec sleep 30");
    let resolver = YtDlpResolver::new(YtDlpConfig {
        timeout: Duration::from_millis(300),
        ..hanging.config()
    });
    assert!(resolver.resolve("slow song").await.is_err());
    assert_eq!(failures_since(&snapshotter), only(YtDlpFailure::Timeout));

    let garbled = Fake::printing("{\"id\": \"abc\", \"title\": ");
    assert!(
        garbled
            .resolver()
            .resolve("https://youtu.be/abc")
            .await
            .is_err()
    );
    assert_eq!(failures_since(&snapshotter), only(YtDlpFailure::BadJson));

    let blocked =
        Fake::new("echo 'ERROR: [youtube] abc: Sign in to confirm you are not a bot' >&2\nexit 1");
    assert!(
        blocked
            .resolver()
            .resolve("https://youtu.be/abc")
            .await
            .is_err()
    );
    assert_eq!(failures_since(&snapshotter), only(YtDlpFailure::ExitStatus));

    let missing = YtDlpResolver::new(YtDlpConfig {
        binary: PathBuf::from("/definitely/not/here/yt-dlp"),
        ..YtDlpConfig::default()
    });
    assert!(missing.resolve("some song").await.is_err());
    assert_eq!(
        failures_since(&snapshotter),
        only(YtDlpFailure::NotInstalled)
    );

    // A good answer counts nothing, nor does an extractor refused by policy.
    let good = Fake::printing(VIDEO_JSON);
    good.resolver()
        .resolve("https://youtu.be/abc")
        .await
        .unwrap();
    let generic = VIDEO_JSON.replace("\"extractor\": \"youtube\"", "\"extractor\": \"generic\"");
    let refused = Fake::printing(&generic);
    assert!(
        refused
            .resolver()
            .resolve("https://youtu.be/abc")
            .await
            .is_err()
    );
    assert_eq!(failures_since(&snapshotter), [].into());
}

// ----- autoplay: YouTube's mix -------------------------------------------------------------

/// What `yt-dlp --flat-playlist -J` prints for a mix (trimmed, same shape): the seed first,
/// then related videos.
const MIX_JSON: &str = r#"{"id": "RDdQw4w9WgXcQ", "title": "Mix - Rick Astley - Never Gonna Give You Up", "_type": "playlist", "extractor": "youtube:tab", "extractor_key": "YoutubeTab", "webpage_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=RDdQw4w9WgXcQ", "entries": [{"_type": "url", "ie_key": "Youtube", "id": "dQw4w9WgXcQ", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "title": "Rick Astley - Never Gonna Give You Up", "duration": 212, "channel": "Rick Astley"}, {"_type": "url", "ie_key": "Youtube", "id": "yPYZpwSpKmA", "url": "https://www.youtube.com/watch?v=yPYZpwSpKmA", "title": "Rick Astley - Together Forever", "duration": 205, "channel": "Rick Astley"}, {"_type": "url", "ie_key": "Youtube", "id": "djV11Xbc914", "url": "https://www.youtube.com/watch?v=djV11Xbc914", "title": "a-ha - Take On Me", "duration": 225, "channel": "a-ha"}, {"_type": "url", "ie_key": "Youtube", "id": "9jK-NcRmVcw", "title": "Europe - The Final Countdown", "duration": 310, "channel": "Europe"}]}"#;

fn youtube_seed() -> minstrel_domain::Track {
    track(
        SourceKind::YouTube,
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
}

#[tokio::test]
async fn autoplay_reads_the_youtube_mix_and_skips_the_seed_and_recent_tracks() {
    let fake = Fake::printing(MIX_JSON);
    let recent = ["https://youtu.be/yPYZpwSpKmA".to_owned()];

    let found = fake
        .resolver()
        .related(&youtube_seed(), &recent)
        .await
        .unwrap();

    let locators: Vec<&str> = found.iter().map(|info| info.locator.as_str()).collect();
    assert_eq!(
        locators,
        [
            "https://www.youtube.com/watch?v=djV11Xbc914",
            "https://www.youtube.com/watch?v=9jK-NcRmVcw",
        ]
    );
    assert_eq!(found[0].title, "a-ha - Take On Me");
    assert_eq!(found[0].artist.as_deref(), Some("a-ha"));
    assert_eq!(found[0].source_kind, SourceKind::YouTube);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let (options, value) = split_call(&calls[0]);
    assert_eq!(
        value,
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=RDdQw4w9WgXcQ"
    );
    for wanted in [
        "--ignore-config",
        "--flat-playlist",
        "--playlist-items",
        "-J",
        "--use-extractors",
    ] {
        assert!(
            options.iter().any(|option| option == wanted),
            "{wanted} in {options:?}"
        );
    }
}

#[tokio::test]
async fn autoplay_through_yt_dlp_needs_a_youtube_seed_and_something_new() {
    let fake = Fake::printing(MIX_JSON);
    let resolver = fake.resolver();

    let local = track(SourceKind::Local, "Album/song.wav");
    assert!(matches!(
        resolver.related(&local, &[]).await,
        Err(ResolveError::Unsupported(_))
    ));
    assert!(fake.calls().is_empty(), "a local seed never reaches yt-dlp");

    let everything_played: Vec<String> = ["yPYZpwSpKmA", "djV11Xbc914", "9jK-NcRmVcw"]
        .iter()
        .map(|id| format!("https://www.youtube.com/watch?v={id}"))
        .collect();
    assert!(matches!(
        resolver.related(&youtube_seed(), &everything_played).await,
        Err(ResolveError::NotFound(_))
    ));

    let failing = Fake::new("echo 'ERROR: Sign in to confirm you are not a bot' >&2\nexit 1");
    assert!(matches!(
        failing.resolver().related(&youtube_seed(), &[]).await,
        Err(ResolveError::Unavailable(_))
    ));
}
