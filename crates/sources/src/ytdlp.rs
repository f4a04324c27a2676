//! `YouTube`, `SoundCloud`, Bandcamp, Twitch, Vimeo and friends through a yt-dlp subprocess.
//!
//! yt-dlp runs with `--ignore-config` (no user config can add `--exec`), every user value comes
//! after `--` (a query starting with `-` stays a value), only allow-listed extractors may run
//! (never the generic one, which would fetch any URL), output is capped and a timeout kills
//! the process. Playlists are read page by page with `--flat-playlist --playlist-items`.
//! It starts with an empty environment plus [`INHERITED_ENVIRONMENT`]: the bot's own secrets
//! (tokens, the database URL) never reach it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioError, AudioOpener, LoadProgress, OpenOptions, PageSink, PcmStream, ProgressSink,
    ResolveError, TrackInfo, TrackPage, TrackResolver,
};
use minstrel_domain::{SourceKind, Track};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::runtime::Handle;
use url::Url;

use crate::http::{Relocator, SafeHttpClient, open_url};
use crate::retry::{self, Verdict, with_retries};

mod related;

/// Sites played through yt-dlp: host suffix, source kind, extractor name prefix.
const SITES: &[(&str, SourceKind, &str)] = &[
    ("music.youtube.com", SourceKind::YouTubeMusic, "youtube"),
    ("youtube.com", SourceKind::YouTube, "youtube"),
    ("youtu.be", SourceKind::YouTube, "youtube"),
    ("youtube-nocookie.com", SourceKind::YouTube, "youtube"),
    ("soundcloud.com", SourceKind::SoundCloud, "soundcloud"),
    ("snd.sc", SourceKind::SoundCloud, "soundcloud"),
    ("bandcamp.com", SourceKind::Bandcamp, "bandcamp"),
    ("twitch.tv", SourceKind::Twitch, "twitch"),
    ("vimeo.com", SourceKind::Vimeo, "vimeo"),
    ("mixcloud.com", SourceKind::Other, "mixcloud"),
    ("dailymotion.com", SourceKind::Other, "dailymotion"),
    ("audiomack.com", SourceKind::Other, "audiomack"),
];

/// The site a URL belongs to when yt-dlp plays it.
pub fn site_of(url: &Url) -> Option<SourceKind> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    SITES.iter().find_map(|(suffix, kind, _)| {
        let matches = host == *suffix
            || host
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.'));
        matches.then_some(*kind)
    })
}

/// Whether a site URL names a playlist (and not one video that happens to be in one).
pub fn is_playlist_url(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    match site_of(url) {
        Some(SourceKind::YouTube | SourceKind::YouTubeMusic) => {
            path.starts_with("/playlist") && url.query_pairs().any(|(key, _)| key == "list")
        }
        Some(SourceKind::SoundCloud) => path.contains("/sets/"),
        Some(SourceKind::Bandcamp) => path.starts_with("/album/"),
        Some(SourceKind::Vimeo) => path.contains("/showcase/") || path.contains("/album/"),
        _ => false,
    }
}

/// Where a search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchSite {
    #[default]
    YouTube,
    SoundCloud,
}

impl SearchSite {
    /// yt-dlp's search pseudo-URL for the best single match.
    pub fn query(self, words: &str) -> String {
        match self {
            Self::YouTube => format!("ytsearch1:{words}"),
            Self::SoundCloud => format!("scsearch1:{words}"),
        }
    }
}

/// The counter of yt-dlp runs that failed, label `reason` ([`YtDlpFailure::as_str`]).
pub const YT_DLP_FAILURES_COUNTER: &str = "minstrel_yt_dlp_failures_total";

/// Why a yt-dlp run failed, as the `reason` label of [`YT_DLP_FAILURES_COUNTER`] spells it.
///
/// `not_found` and `unsupported` are yt-dlp's verdict on what a user asked for; the others
/// mean yt-dlp itself is missing, stuck or broken (an outdated extractor shows as
/// `exit_status`), so a dashboard can alert on those alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YtDlpFailure {
    /// The binary is not on `PATH` (or not executable).
    NotInstalled,
    /// It exists but could not be started.
    SpawnFailed,
    /// Killed at [`YtDlpConfig::timeout`].
    Timeout,
    /// Its answer passed [`YtDlpConfig::max_output_bytes`].
    OutputTooLarge,
    /// Reading its output or exit status failed.
    ReadFailed,
    /// It exited non-zero for a reason other than the two below.
    ExitStatus,
    /// It exited non-zero saying the video does not exist (or is private, or removed).
    NotFound,
    /// It exited non-zero saying it does not know the link.
    Unsupported,
    /// It exited zero with an answer that is not the JSON it should print.
    BadJson,
    /// Asked for a stream URL, it printed none.
    NoStream,
}

impl YtDlpFailure {
    /// Every reason, so the exporter can list each at zero before the first failure.
    pub const ALL: [Self; 10] = [
        Self::NotInstalled,
        Self::SpawnFailed,
        Self::Timeout,
        Self::OutputTooLarge,
        Self::ReadFailed,
        Self::ExitStatus,
        Self::NotFound,
        Self::Unsupported,
        Self::BadJson,
        Self::NoStream,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInstalled => "not_installed",
            Self::SpawnFailed => "spawn_failed",
            Self::Timeout => "timeout",
            Self::OutputTooLarge => "output_too_large",
            Self::ReadFailed => "read_failed",
            Self::ExitStatus => "exit_status",
            Self::NotFound => "not_found",
            Self::Unsupported => "unsupported",
            Self::BadJson => "bad_json",
            Self::NoStream => "no_stream",
        }
    }

    fn count(self) {
        metrics::counter!(YT_DLP_FAILURES_COUNTER, "reason" => self.as_str()).increment(1);
    }
}

/// How the yt-dlp resolver runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YtDlpConfig {
    /// The executable (default `yt-dlp`, looked up on `PATH`).
    pub binary: PathBuf,
    /// Longest one yt-dlp call may run before it is killed (default 30 s).
    pub timeout: Duration,
    /// Most tracks read from one playlist (default 500).
    pub playlist_cap: usize,
    /// Tracks per playlist page (default 100).
    pub page_size: usize,
    /// Largest JSON answer read (default 32 MiB).
    pub max_output_bytes: usize,
}

impl Default for YtDlpConfig {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("yt-dlp"),
            timeout: Duration::from_secs(30),
            playlist_cap: 500,
            page_size: 100,
            max_output_bytes: 32 * 1024 * 1024,
        }
    }
}

/// One answer of `yt-dlp -J`: a video, or a playlist (search results are one too).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Entry {
    #[serde(rename = "_type")]
    kind: Option<String>,
    id: Option<String>,
    title: Option<String>,
    track: Option<String>,
    artist: Option<String>,
    uploader: Option<String>,
    channel: Option<String>,
    duration: Option<f64>,
    url: Option<String>,
    webpage_url: Option<String>,
    original_url: Option<String>,
    thumbnail: Option<String>,
    extractor: Option<String>,
    ie_key: Option<String>,
    entries: Option<Vec<Option<Entry>>>,
}

/// The only variables yt-dlp inherits: what finds programs (ffmpeg), its cache folder, the
/// locale of its text, and the proxies the host may need to reach the sites.
pub const INHERITED_ENVIRONMENT: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

const INSTALL_HINT: &str = "yt-dlp is not installed, so I cannot play from YouTube, SoundCloud and similar sites; \
     install it with `pip install yt-dlp` (or set its path in the configuration)";

fn allowed_extractor(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SITES
        .iter()
        .any(|(_, _, extractor)| name.starts_with(extractor))
}

/// The `--use-extractors` value: only the allow-listed sites' extractors.
fn extractor_list() -> String {
    let mut names: Vec<&str> = SITES.iter().map(|(_, _, name)| *name).collect();
    names.dedup();
    names
        .iter()
        .map(|name| format!("{name}.*"))
        .collect::<Vec<_>>()
        .join(",")
}

fn seconds(value: Option<f64>) -> Option<Duration> {
    value
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds < 1e9)
        .map(Duration::from_secs_f64)
}

impl Entry {
    /// The page URL of an entry, if it is on an allow-listed site.
    fn page_url(&self) -> Option<(Url, SourceKind)> {
        [&self.webpage_url, &self.original_url, &self.url]
            .into_iter()
            .flatten()
            .filter_map(|text| Url::parse(text).ok())
            .find_map(|url| site_of(&url).map(|kind| (url, kind)))
            .or_else(|| {
                // Flat YouTube entries sometimes carry only their id.
                let youtube = self
                    .ie_key
                    .as_deref()
                    .is_some_and(|key| key.eq_ignore_ascii_case("youtube"));
                let id = self.id.as_deref().filter(|id| {
                    !id.is_empty()
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                })?;
                let url = Url::parse(&format!("https://www.youtube.com/watch?v={id}")).ok()?;
                youtube.then_some((url, SourceKind::YouTube))
            })
    }

    fn into_track(self) -> Option<TrackInfo> {
        let (url, kind) = self.page_url()?;
        let title = self
            .track
            .or(self.title)
            .or(self.id)
            .unwrap_or_else(|| url.to_string());
        Some(TrackInfo {
            title,
            artist: self.artist.or(self.uploader).or(self.channel),
            duration: seconds(self.duration),
            source_kind: kind,
            locator: url.to_string(),
            thumbnail: self.thumbnail,
        })
    }

    fn is_playlist(&self) -> bool {
        self.entries.is_some() || self.kind.as_deref() == Some("playlist")
    }
}

async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let Some(pipe) = pipe else {
        return Ok((Vec::new(), false));
    };
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(limit).read_to_end(&mut out).await?;
    let over = out.len() > cap;
    out.truncate(cap);
    Ok((out, over))
}

/// The first `ERROR:` line of yt-dlp's stderr, shortened.
fn error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|line| line.starts_with("ERROR:"))
        .or_else(|| text.lines().rfind(|line| !line.trim().is_empty()))
        .unwrap_or("no reason given")
        .trim_start_matches("ERROR:")
        .trim();
    line.chars().take(200).collect()
}

/// What yt-dlp says when the site or the network failed on the way rather than refused what
/// was asked (lower case, matched against its `ERROR:` line).
const NETWORK_ERRORS: &[&str] = &[
    "unable to download",
    "http error 5",
    "connection reset",
    "connection refused",
    "connection aborted",
    "remote end closed connection",
    "timed out",
    "temporary failure in name resolution",
    "network is unreachable",
    "incompleteread",
];

/// Whether yt-dlp's (lower-cased) error line is a network failure another run may not meet.
fn network_failure(lower: &str) -> bool {
    NETWORK_ERRORS.iter().any(|needle| lower.contains(needle))
}

/// One failed yt-dlp run, and whether it failed on the network (worth another run).
#[derive(Debug)]
struct RunFailure {
    error: ResolveError,
    network: bool,
}

impl From<ResolveError> for RunFailure {
    fn from(error: ResolveError) -> Self {
        Self {
            error,
            network: false,
        }
    }
}

/// Resolves site links and searches through yt-dlp.
#[derive(Clone)]
pub struct YtDlpResolver {
    config: YtDlpConfig,
    default_search: SearchSite,
}

impl std::fmt::Debug for YtDlpResolver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("YtDlpResolver")
            .field("config", &self.config)
            .field("default_search", &self.default_search)
            .finish_non_exhaustive()
    }
}

/// What a query asks yt-dlp for.
enum Request {
    Single(Url),
    Playlist(Url),
    Search(String),
    /// `ytsearchN:` / `scsearchN:` with N > 1: several flat results (for matching).
    SearchMany(String, usize),
}

/// Parses `ytsearch5:words` into (5, the pseudo-URL); only 2 ..= 10 results.
fn counted_search(query: &str) -> Option<(usize, String)> {
    let (head, words) = query.split_once(':')?;
    let head = head.to_ascii_lowercase();
    let digits = head
        .strip_prefix("ytsearch")
        .or_else(|| head.strip_prefix("scsearch"))?;
    let count: usize = digits.parse().ok()?;
    let words = words.trim();
    ((2..=10).contains(&count) && !words.is_empty())
        .then(|| (count, format!("{}{count}:{words}", &head[..8])))
}

impl YtDlpResolver {
    pub fn new(config: YtDlpConfig) -> Self {
        Self {
            config,
            default_search: SearchSite::YouTube,
        }
    }

    /// Where plain words are searched (default `YouTube`).
    #[must_use]
    pub fn with_default_search(mut self, site: SearchSite) -> Self {
        self.default_search = site;
        self
    }

    pub fn config(&self) -> &YtDlpConfig {
        &self.config
    }

    fn classify(&self, query: &str) -> Result<Request, ResolveError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(ResolveError::NotFound(String::new()));
        }
        if let Some((count, pseudo_url)) = counted_search(query) {
            return Ok(Request::SearchMany(pseudo_url, count));
        }
        for (prefix, site) in [
            ("ytsearch:", SearchSite::YouTube),
            ("ytsearch1:", SearchSite::YouTube),
            ("yt:", SearchSite::YouTube),
            ("scsearch:", SearchSite::SoundCloud),
            ("scsearch1:", SearchSite::SoundCloud),
            ("sc:", SearchSite::SoundCloud),
        ] {
            if let Some(words) = strip_prefix_ignore_case(query, prefix) {
                let words = words.trim();
                if words.is_empty() {
                    return Err(ResolveError::NotFound(query.to_owned()));
                }
                return Ok(Request::Search(site.query(words)));
            }
        }
        if let Ok(url) = Url::parse(query)
            && matches!(url.scheme(), "http" | "https")
        {
            if site_of(&url).is_none() {
                return Err(ResolveError::Unsupported(
                    "links from that site are not supported".to_owned(),
                ));
            }
            return Ok(if is_playlist_url(&url) {
                Request::Playlist(url)
            } else {
                Request::Single(url)
            });
        }
        Ok(Request::Search(self.default_search.query(query)))
    }

    fn base_arguments() -> Vec<String> {
        [
            "--ignore-config",
            "--no-warnings",
            "--socket-timeout",
            "15",
            "--use-extractors",
        ]
        .iter()
        .map(|argument| (*argument).to_owned())
        .chain([extractor_list()])
        .collect()
    }

    /// Runs yt-dlp with `options`, then `--`, then the one user value; a run that failed on
    /// the network ([`network_failure`]) is tried again with backoff ([`crate::retry`]).
    async fn run(&self, options: &[&str], value: &str) -> Result<Vec<u8>, ResolveError> {
        with_retries(
            "a yt-dlp run",
            || self.run_once(options, value),
            |failure: &RunFailure| {
                if failure.network {
                    Verdict::Transient
                } else {
                    Verdict::Final
                }
            },
        )
        .await
        .map_err(|failure| failure.error)
    }

    async fn run_once(&self, options: &[&str], value: &str) -> Result<Vec<u8>, RunFailure> {
        let mut arguments = Self::base_arguments();
        arguments.extend(options.iter().map(|option| (*option).to_owned()));
        arguments.push("--".to_owned());
        arguments.push(value.to_owned());
        let mut child = tokio::process::Command::new(&self.config.binary)
            .args(&arguments)
            .env_clear()
            .envs(
                INHERITED_ENVIRONMENT
                    .iter()
                    .filter_map(|name| std::env::var_os(name).map(|value| (*name, value))),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    YtDlpFailure::NotInstalled.count();
                    ResolveError::Unavailable(INSTALL_HINT.to_owned())
                }
                _ => {
                    YtDlpFailure::SpawnFailed.count();
                    ResolveError::Unavailable(format!("yt-dlp could not be started: {error}"))
                }
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let cap = self.config.max_output_bytes;
        let work = async {
            let (out, err) = tokio::join!(read_capped(stdout, cap), read_capped(stderr, 64 * 1024));
            (out, err, child.wait().await)
        };
        let outcome = tokio::time::timeout(self.config.timeout, work).await;
        let Ok((out, err, status)) = outcome else {
            // Kill and reap now, so nothing outlives the request.
            let _ = child.kill().await;
            YtDlpFailure::Timeout.count();
            return Err(ResolveError::Unavailable(format!(
                "the lookup took longer than {} seconds and was stopped",
                self.config.timeout.as_secs_f32()
            ))
            .into());
        };
        let internal = |error: std::io::Error| {
            YtDlpFailure::ReadFailed.count();
            ResolveError::Internal(format!("reading yt-dlp's answer failed: {error}"))
        };
        let (stdout, too_long) = out.map_err(internal)?;
        let (stderr, _) = err.map_err(internal)?;
        let status = status.map_err(internal)?;
        if too_long {
            YtDlpFailure::OutputTooLarge.count();
            return Err(ResolveError::Unavailable(
                "the answer from yt-dlp was too large".to_owned(),
            )
            .into());
        }
        if !status.success() {
            return Err(Self::failure(&stderr, value));
        }
        Ok(stdout)
    }

    fn failure(stderr: &[u8], value: &str) -> RunFailure {
        let reason = error_line(stderr);
        let lower = reason.to_ascii_lowercase();
        if lower.contains("unsupported url") {
            YtDlpFailure::Unsupported.count();
            ResolveError::Unsupported("yt-dlp does not know that link".to_owned()).into()
        } else if [
            "video unavailable",
            "private video",
            "does not exist",
            "404",
            "not found",
            "has been removed",
        ]
        .iter()
        .any(|needle| lower.contains(needle))
        {
            YtDlpFailure::NotFound.count();
            ResolveError::NotFound(value.to_owned()).into()
        } else {
            YtDlpFailure::ExitStatus.count();
            RunFailure {
                error: ResolveError::Unavailable(format!("yt-dlp could not load it: {reason}")),
                network: network_failure(&lower),
            }
        }
    }

    fn parse(stdout: &[u8]) -> Result<Entry, ResolveError> {
        let entry: Entry = serde_json::from_slice(stdout).map_err(|error| {
            YtDlpFailure::BadJson.count();
            ResolveError::Internal(format!("yt-dlp's answer was not valid JSON: {error}"))
        })?;
        if let Some(extractor) = entry.extractor.as_deref()
            && !allowed_extractor(extractor)
        {
            return Err(ResolveError::Forbidden(format!(
                "the {extractor} extractor is not allowed"
            )));
        }
        Ok(entry)
    }

    async fn single(&self, url: &Url) -> Result<Vec<TrackInfo>, ResolveError> {
        let entry = Self::parse(&self.run(&["--no-playlist", "-J"], url.as_str()).await?)?;
        let track = if entry.is_playlist() {
            entry.entries.into_iter().flatten().flatten().next()
        } else {
            Some(entry)
        };
        track
            .and_then(Entry::into_track)
            .map(|track| vec![track])
            .ok_or_else(|| ResolveError::NotFound(url.to_string()))
    }

    async fn search(&self, pseudo_url: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let entry = Self::parse(&self.run(&["--no-playlist", "-J"], pseudo_url).await?)?;
        let words = pseudo_url
            .split_once(':')
            .map_or(pseudo_url, |(_, words)| words);
        let first = if entry.is_playlist() {
            entry.entries.into_iter().flatten().flatten().next()
        } else {
            Some(entry)
        };
        first
            .and_then(Entry::into_track)
            .map(|track| vec![track])
            .ok_or_else(|| ResolveError::NotFound(words.to_owned()))
    }

    async fn search_many(
        &self,
        pseudo_url: &str,
        count: usize,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let entry = Self::parse(&self.run(&["--flat-playlist", "-J"], pseudo_url).await?)?;
        let tracks: Vec<TrackInfo> = entry
            .entries
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(Entry::into_track)
            .take(count)
            .collect();
        if tracks.is_empty() {
            let words = pseudo_url
                .split_once(':')
                .map_or(pseudo_url, |(_, words)| words);
            return Err(ResolveError::NotFound(words.to_owned()));
        }
        Ok(tracks)
    }

    /// Reads the playlist page by page up to the cap, telling `progress` after every page and
    /// handing each page to `pages` as soon as it is parsed.
    ///
    /// With `pages`, a page that fails after one was delivered is sent with its entries
    /// counted as skipped and ends the load, and a send that fails stops it; what was
    /// delivered is not returned again (the answer is then empty).
    async fn playlist(
        &self,
        url: &Url,
        progress: Option<&ProgressSink>,
        pages: Option<&PageSink>,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let cap = self.config.playlist_cap.max(1);
        let page_size = self.config.page_size.max(1);
        let mut tracks = Vec::new();
        // Entries yt-dlp listed but that hold no playable track (a private or deleted video).
        let mut skipped = 0;
        let mut delivered = false;
        let mut first = 1_usize;
        loop {
            let last = (first + page_size - 1).min(cap);
            let items = format!("{first}:{last}");
            let requested = last + 1 - first;
            let answer = self
                .run(
                    &[
                        "--yes-playlist",
                        "--flat-playlist",
                        "--playlist-items",
                        &items,
                        "-J",
                    ],
                    url.as_str(),
                )
                .await;
            let parsed = match answer {
                Ok(stdout) => Self::parse(&stdout),
                // A later page failing keeps what earlier pages found.
                Err(error) if pages.is_none() && !tracks.is_empty() => {
                    tracing::warn!(%error, "a playlist page failed; keeping earlier pages");
                    break;
                }
                Err(error) => Err(error),
            };
            let entry = match (parsed, pages) {
                (Ok(entry), _) => entry,
                // A page failing after one was delivered ends the load; what was sent stays.
                (Err(error), Some(pages)) if delivered => {
                    tracing::warn!(%error, "a playlist page failed; ending the load");
                    let page = TrackPage {
                        tracks: Vec::new(),
                        skipped: requested,
                        more: false,
                    };
                    pages.send(page).await;
                    return Ok(tracks);
                }
                (Err(error), _) => return Err(error),
            };
            let entries: Vec<Entry> = entry.entries.into_iter().flatten().flatten().collect();
            let received = entries.len();
            let before = tracks.len();
            tracks.extend(entries.into_iter().filter_map(Entry::into_track));
            skipped += received - (tracks.len() - before);
            let done = received < requested || last >= cap;
            if let Some(progress) = progress {
                progress(LoadProgress {
                    loaded: tracks.len(),
                    cap,
                    done,
                    skipped,
                });
            }
            if let Some(pages) = pages {
                let found = tracks.len() - before;
                if done && !delivered && found == 0 {
                    return Err(ResolveError::NotFound(url.to_string()));
                }
                let page = TrackPage {
                    tracks: tracks.split_off(before),
                    skipped: received - found,
                    more: !done,
                };
                delivered = true;
                if !pages.send(page).await {
                    return Ok(tracks);
                }
            }
            if done {
                break;
            }
            first = last + 1;
        }
        tracks.truncate(cap);
        if tracks.is_empty() && pages.is_none() {
            return Err(ResolveError::NotFound(url.to_string()));
        }
        Ok(tracks)
    }

    /// The direct audio URL of a site track (`-f bestaudio -g`).
    async fn stream_url(&self, page: &Url) -> Result<Url, ResolveError> {
        let stdout = self
            .run(
                &[
                    "--no-playlist",
                    "-f",
                    "bestaudio[protocol=https]/bestaudio[protocol=http]/bestaudio/best",
                    "-g",
                ],
                page.as_str(),
            )
            .await?;
        String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|line| Url::parse(line.trim()).ok())
            .find(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| {
                YtDlpFailure::NoStream.count();
                ResolveError::Unavailable("yt-dlp found no audio stream".to_owned())
            })
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[async_trait]
impl TrackResolver for YtDlpResolver {
    /// Accepts a supported site's link, `ytsearch:`/`yt:`/`scsearch:`/`sc:` searches, or plain
    /// words (searched on the default site).
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        self.resolve_reporting(query, None).await
    }

    async fn resolve_with_progress(
        &self,
        query: &str,
        progress: ProgressSink,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        self.resolve_reporting(query, Some(&progress)).await
    }

    /// A playlist goes to `pages` page by page as yt-dlp reads it; anything else is one page.
    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        let tracks = match self.classify(query)? {
            Request::Playlist(url) => {
                self.playlist(&url, pages.progress(), Some(&pages)).await?;
                return Ok(());
            }
            Request::Single(url) => self.single(&url).await?,
            Request::Search(pseudo_url) => self.search(&pseudo_url).await?,
            Request::SearchMany(pseudo_url, count) => self.search_many(&pseudo_url, count).await?,
        };
        // One page and the last: whether anybody still waits changes nothing.
        pages
            .send(TrackPage {
                tracks,
                ..TrackPage::default()
            })
            .await;
        Ok(())
    }
}

impl YtDlpResolver {
    async fn resolve_reporting(
        &self,
        query: &str,
        progress: Option<&ProgressSink>,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        match self.classify(query)? {
            Request::Single(url) => self.single(&url).await,
            Request::Playlist(url) => self.playlist(&url, progress, None).await,
            Request::Search(pseudo_url) => self.search(&pseudo_url).await,
            Request::SearchMany(pseudo_url, count) => self.search_many(&pseudo_url, count).await,
        }
    }
}

/// Plays site tracks: yt-dlp finds the direct stream URL, the safe HTTP client streams it.
#[derive(Debug, Clone)]
pub struct YtDlpAudioOpener {
    resolver: YtDlpResolver,
    client: SafeHttpClient,
    runtime: Handle,
}

impl YtDlpAudioOpener {
    pub fn new(resolver: YtDlpResolver, client: SafeHttpClient, runtime: Handle) -> Self {
        Self {
            resolver,
            client,
            runtime,
        }
    }
}

impl AudioOpener for YtDlpAudioOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        let page = Url::parse(&track.locator)
            .ok()
            .filter(|url| site_of(url).is_some())
            .ok_or_else(|| {
                AudioError::Unsupported(format!(
                    "{} tracks are not played through yt-dlp",
                    track.source_kind.as_str()
                ))
            })?;
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let resolver = self.resolver.clone();
        let first_page = page.clone();
        let task = self.runtime.spawn(async move {
            let _ = sender.send(resolver.stream_url(&first_page).await);
        });
        let wait = self.resolver.config.timeout + retry::BUDGET + Duration::from_secs(5);
        let stream_url = match receiver.recv_timeout(wait) {
            Ok(Ok(url)) => url,
            Ok(Err(error)) => return Err(AudioError::Io(error.to_string())),
            Err(_) => {
                task.abort();
                return Err(AudioError::Io("yt-dlp did not answer in time".to_owned()));
            }
        };
        // Signed stream URLs expire: mid-track, yt-dlp is asked for a fresh one.
        let resolver = self.resolver.clone();
        let relocator = Relocator::new(wait, move || {
            let resolver = resolver.clone();
            let page = page.clone();
            async move {
                resolver
                    .stream_url(&page)
                    .await
                    .map_err(|error| error.to_string())
            }
        });
        open_url(
            &self.client,
            &self.runtime,
            &stream_url,
            Some(relocator),
            start_at,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn sites_are_matched_by_host_suffix_only() {
        assert_eq!(
            site_of(&url("https://www.youtube.com/watch?v=x")),
            Some(SourceKind::YouTube)
        );
        assert_eq!(
            site_of(&url("https://music.youtube.com/watch?v=x")),
            Some(SourceKind::YouTubeMusic)
        );
        assert_eq!(
            site_of(&url("https://artist.bandcamp.com/track/t")),
            Some(SourceKind::Bandcamp)
        );
        assert_eq!(site_of(&url("https://evilyoutube.com/watch")), None);
        assert_eq!(site_of(&url("https://youtube.com.evil.net/")), None);
        assert_eq!(site_of(&url("ftp://youtube.com/")), None);
    }

    #[test]
    fn playlists_are_recognised_by_shape() {
        assert!(is_playlist_url(&url(
            "https://www.youtube.com/playlist?list=PL123"
        )));
        assert!(!is_playlist_url(&url(
            "https://www.youtube.com/watch?v=abc&list=PL123"
        )));
        assert!(is_playlist_url(&url("https://soundcloud.com/a/sets/b")));
        assert!(is_playlist_url(&url("https://a.bandcamp.com/album/b")));
        assert!(!is_playlist_url(&url("https://a.bandcamp.com/track/b")));
    }

    #[test]
    fn the_extractor_allow_list_refuses_generic() {
        assert!(allowed_extractor("youtube"));
        assert!(allowed_extractor("youtube:tab"));
        assert!(allowed_extractor("soundcloud:set"));
        assert!(!allowed_extractor("generic"));
        assert!(extractor_list().contains("youtube.*"));
        assert!(!extractor_list().contains("generic"));
    }

    #[test]
    fn entries_become_tracks_only_on_allowed_sites() {
        let entry = Entry {
            title: Some("Song".to_owned()),
            uploader: Some("Band".to_owned()),
            duration: Some(61.5),
            webpage_url: Some("https://www.youtube.com/watch?v=abc".to_owned()),
            ..Entry::default()
        };
        let track = entry.into_track().unwrap();
        assert_eq!(track.artist.as_deref(), Some("Band"));
        assert_eq!(track.duration, Some(Duration::from_millis(61_500)));
        let elsewhere = Entry {
            url: Some("http://169.254.169.254/latest".to_owned()),
            ..Entry::default()
        };
        assert!(elsewhere.into_track().is_none());
        let flat = Entry {
            id: Some("dQw4w9WgXcQ".to_owned()),
            ie_key: Some("Youtube".to_owned()),
            ..Entry::default()
        };
        assert_eq!(
            flat.into_track().unwrap().locator,
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        );
    }
}
