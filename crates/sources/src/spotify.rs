//! Spotify links: metadata from the Web API (client credentials), audio from a search.
//!
//! Spotify does not hand out audio, so each Spotify track is searched on the default search
//! site and the candidate whose title, artist and duration (within 3 s) fit best is played.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{ResolveError, TrackInfo, TrackResolver};
use rspotify::model::{AlbumId, PlayableItem, PlaylistId, TrackId};
use rspotify::prelude::BaseClient;
use rspotify::{ClientCredsSpotify, Credentials};
use tokio::task::JoinSet;
use url::Url;

use crate::ytdlp::SearchSite;

/// The Spotify application's client credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SpotifyCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for SpotifyCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SpotifyCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &minstrel_app::redact::REDACTED)
            .finish()
    }
}

/// What a Spotify link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpotifyKind {
    Track,
    Album,
    Playlist,
}

/// A parsed Spotify link: kind and base-62 id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyLink {
    pub kind: SpotifyKind,
    pub id: String,
}

fn kind_of(text: &str) -> Option<SpotifyKind> {
    match text {
        "track" => Some(SpotifyKind::Track),
        "album" => Some(SpotifyKind::Album),
        "playlist" => Some(SpotifyKind::Playlist),
        _ => None,
    }
}

fn valid_id(id: &str) -> bool {
    (10..=40).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Parses `https://open.spotify.com/[intl-xx/]track/ID?si=…` and `spotify:track:ID`.
pub fn parse_spotify_link(text: &str) -> Option<SpotifyLink> {
    let text = text.trim();
    let (kind, id) = if let Some(rest) = text.strip_prefix("spotify:") {
        let (kind, id) = rest.split_once(':')?;
        (kind_of(kind)?, id.to_owned())
    } else {
        let url = Url::parse(text).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !matches!(url.host_str()?, "open.spotify.com" | "play.spotify.com")
        {
            return None;
        }
        let mut segments = url.path_segments()?.filter(|segment| !segment.is_empty());
        let mut first = segments.next()?;
        if first.starts_with("intl-") {
            first = segments.next()?;
        }
        (kind_of(first)?, segments.next()?.to_owned())
    };
    valid_id(&id).then_some(SpotifyLink { kind, id })
}

/// Whether `text` is any Spotify link (even one this resolver will refuse, like a podcast).
pub fn is_spotify_link(text: &str) -> bool {
    let text = text.trim();
    text.starts_with("spotify:")
        || Url::parse(text).is_ok_and(|url| {
            url.host_str()
                .is_some_and(|host| host == "spotify.com" || host.ends_with(".spotify.com"))
                || url.host_str() == Some("spotify.link")
        })
}

/// The metadata of one Spotify track, what the search must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyTrack {
    pub title: String,
    pub artists: Vec<String>,
    pub duration: Duration,
}

/// Lower-case words of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Words that mark a different recording than the studio track, unless the title has them.
const OTHER_VERSIONS: [&str; 8] = [
    "live",
    "cover",
    "remix",
    "karaoke",
    "instrumental",
    "sped",
    "slowed",
    "reverb",
];

/// How well `candidate` matches `wanted`, 0 (not at all) to about 1.
fn score(wanted: &SpotifyTrack, candidate: &TrackInfo) -> f64 {
    let title_words = words(&wanted.title);
    let mut haystack = words(&candidate.title);
    if let Some(artist) = &candidate.artist {
        haystack.extend(words(artist));
    }
    if title_words.is_empty() {
        return 0.0;
    }
    let found = |word: &String| haystack.iter().any(|other| other == word);
    let count =
        |list: &[String]| u32::try_from(list.iter().filter(|w| found(w)).count()).unwrap_or(0);
    let total = |list: &[String]| f64::from(u32::try_from(list.len()).unwrap_or(u32::MAX).max(1));
    let title_share = f64::from(count(&title_words)) / total(&title_words);
    let artist_words: Vec<String> = wanted.artists.iter().flat_map(|a| words(a)).collect();
    let artist_share = if artist_words.is_empty() {
        1.0
    } else {
        f64::from(count(&artist_words)) / total(&artist_words)
    };
    let candidate_words = words(&candidate.title);
    let unwanted = OTHER_VERSIONS.iter().any(|marker| {
        candidate_words.iter().any(|word| word == marker)
            && !title_words.iter().any(|w| w == marker)
    });
    let penalty = if unwanted { 0.5 } else { 0.0 };
    (0.6 * title_share + 0.4 * artist_share - penalty).max(0.0)
}

/// Durations this close count as the same recording.
pub const DURATION_TOLERANCE: Duration = Duration::from_secs(3);

/// Picks the candidate that is the same song: title and artist words match, and the duration
/// is within [`DURATION_TOLERANCE`]. Without any candidate of the right length, only a very
/// good title and artist match is accepted.
pub fn best_match<'a>(wanted: &SpotifyTrack, candidates: &'a [TrackInfo]) -> Option<&'a TrackInfo> {
    let close = |candidate: &TrackInfo| {
        candidate
            .duration
            .is_some_and(|duration| duration.abs_diff(wanted.duration) <= DURATION_TOLERANCE)
    };
    let best_of = |minimum: f64, filter: &dyn Fn(&TrackInfo) -> bool| {
        candidates
            .iter()
            .filter(|candidate| filter(candidate))
            .map(|candidate| (score(wanted, candidate), candidate))
            .filter(|(score, _)| *score >= minimum)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, candidate)| candidate)
    };
    best_of(0.5, &close).or_else(|| {
        best_of(0.9, &|candidate: &TrackInfo| {
            candidate
                .duration
                .is_none_or(|d| d.abs_diff(wanted.duration) <= Duration::from_secs(15))
        })
    })
}

/// How Spotify links are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotifyConfig {
    /// `None` makes every Spotify link fail with a sentence saying Spotify is not set up.
    pub credentials: Option<SpotifyCredentials>,
    /// Where matching recordings are searched.
    pub search_site: SearchSite,
    /// Candidates compared per track (default 5).
    pub candidates: usize,
    /// Most tracks read from an album or playlist (default 100).
    pub collection_cap: usize,
    /// Searches run at once for an album or playlist (default 4).
    pub concurrency: usize,
    /// Where the Web API answers (`https://api.spotify.com/v1/`); a test points it at a fake.
    pub api_base_url: String,
    /// Where client-credentials tokens are issued (`https://accounts.spotify.com/`).
    pub accounts_base_url: String,
}

impl Default for SpotifyConfig {
    fn default() -> Self {
        Self {
            credentials: None,
            search_site: SearchSite::YouTube,
            candidates: 5,
            collection_cap: 100,
            concurrency: 4,
            api_base_url: rspotify::DEFAULT_API_BASE_URL.to_owned(),
            accounts_base_url: rspotify::DEFAULT_AUTH_BASE_URL.to_owned(),
        }
    }
}

/// Resolves Spotify links to playable recordings found by `search`.
#[derive(Clone)]
pub struct SpotifyResolver {
    api: Option<Arc<Api>>,
    search: Arc<dyn TrackResolver>,
    config: SpotifyConfig,
}

impl std::fmt::Debug for SpotifyResolver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SpotifyResolver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

struct Api {
    client: ClientCredsSpotify,
    authenticated: tokio::sync::Mutex<bool>,
}

/// The HTTP status Spotify answered with, when it answered.
fn status_of(error: &rspotify::ClientError) -> Option<u16> {
    if let rspotify::ClientError::Http(http) = error
        && let rspotify::http::HttpError::StatusCode(response) = http.as_ref()
    {
        return Some(response.status().as_u16());
    }
    None
}

/// What went wrong talking to Spotify about `link`, in a sentence for the user; the log gets
/// the detail. The client secret and the token are part of neither.
fn api_error(error: &rspotify::ClientError, link: &SpotifyLink) -> ResolveError {
    tracing::warn!(%error, "the Spotify API failed");
    let message = match status_of(error) {
        Some(401 | 403) => "Spotify refused this bot's credentials; ask the operator to check them",
        Some(404) => return ResolveError::NotFound(format!("spotify:{}", link.id)),
        Some(429) => "Spotify is limiting how often this bot may ask; try again in a minute",
        _ => "Spotify did not answer; try again later",
    };
    ResolveError::Unavailable(message.to_owned())
}

fn convert(title: &str, artists: Vec<String>, millis: i64) -> SpotifyTrack {
    let millis = u64::try_from(millis).unwrap_or(0);
    SpotifyTrack {
        title: title.to_owned(),
        artists,
        duration: Duration::from_millis(millis),
    }
}

impl Api {
    async fn ready(&self) -> Result<&ClientCredsSpotify, ResolveError> {
        let mut authenticated = self.authenticated.lock().await;
        if !*authenticated {
            self.client.request_token().await.map_err(|error| {
                tracing::warn!(%error, "Spotify refused the credentials");
                ResolveError::Unavailable(
                    "Spotify refused this bot's credentials; ask the operator to check them"
                        .to_owned(),
                )
            })?;
            *authenticated = true;
        }
        Ok(&self.client)
    }

    // Spotify renamed `track` to `item`; older answers still carry only `track`.
    #[allow(deprecated)]
    async fn tracks(
        &self,
        link: &SpotifyLink,
        cap: usize,
    ) -> Result<Vec<SpotifyTrack>, ResolveError> {
        let client = self.ready().await?;
        let not_found = || ResolveError::NotFound(format!("spotify:{}", link.id));
        let api_error = |error: rspotify::ClientError| {
            if status_of(&error) == Some(401)
                && let Ok(mut authenticated) = self.authenticated.try_lock()
            {
                // Revoked or expired under us: the next link asks for a fresh token.
                *authenticated = false;
            }
            api_error(&error, link)
        };
        let page_size = 50_u32;
        let mut tracks = Vec::new();
        match link.kind {
            SpotifyKind::Track => {
                let id = TrackId::from_id(&link.id).map_err(|_| not_found())?;
                let track = client.track(id, None).await.map_err(api_error)?;
                let artists = track
                    .artists
                    .into_iter()
                    .map(|artist| artist.name)
                    .collect();
                tracks.push(convert(
                    &track.name,
                    artists,
                    track.duration.num_milliseconds(),
                ));
            }
            SpotifyKind::Album => {
                let id = AlbumId::from_id(&link.id).map_err(|_| not_found())?;
                while tracks.len() < cap {
                    let offset = u32::try_from(tracks.len()).unwrap_or(u32::MAX);
                    let page = client
                        .album_track_manual(id.clone(), None, Some(page_size), Some(offset))
                        .await
                        .map_err(api_error)?;
                    let more = page.next.is_some() && !page.items.is_empty();
                    tracks.extend(page.items.into_iter().map(|track| {
                        let artists = track
                            .artists
                            .into_iter()
                            .map(|artist| artist.name)
                            .collect();
                        convert(&track.name, artists, track.duration.num_milliseconds())
                    }));
                    if !more {
                        break;
                    }
                }
            }
            SpotifyKind::Playlist => {
                let id = PlaylistId::from_id(&link.id).map_err(|_| not_found())?;
                let mut offset = 0_u32;
                while tracks.len() < cap {
                    let page = client
                        .playlist_items_manual(
                            id.clone(),
                            None,
                            None,
                            Some(page_size),
                            Some(offset),
                        )
                        .await
                        .map_err(api_error)?;
                    let more = page.next.is_some() && !page.items.is_empty();
                    offset += u32::try_from(page.items.len()).unwrap_or(page_size);
                    tracks.extend(page.items.into_iter().filter_map(|item| {
                        match item.item.or(item.track)? {
                            PlayableItem::Track(track) => {
                                let artists = track
                                    .artists
                                    .into_iter()
                                    .map(|artist| artist.name)
                                    .collect();
                                Some(convert(
                                    &track.name,
                                    artists,
                                    track.duration.num_milliseconds(),
                                ))
                            }
                            PlayableItem::Episode(_) | PlayableItem::Unknown(_) => None,
                        }
                    }));
                    if !more {
                        break;
                    }
                }
            }
        }
        tracks.truncate(cap);
        Ok(tracks)
    }
}

/// The search query for a Spotify track: its artists and title.
pub fn search_words(track: &SpotifyTrack) -> String {
    let mut words = track.artists.join(" ");
    if !words.is_empty() {
        words.push_str(" - ");
    }
    words.push_str(&track.title);
    words
}

impl SpotifyResolver {
    /// `search` must accept `ytsearchN:` / `scsearchN:` queries (the yt-dlp resolver does).
    pub fn new(config: SpotifyConfig, search: Arc<dyn TrackResolver>) -> Self {
        let api = config.credentials.as_ref().map(|credentials| {
            Arc::new(Api {
                client: ClientCredsSpotify::with_config(
                    Credentials::new(&credentials.client_id, &credentials.client_secret),
                    rspotify::Config {
                        api_base_url: config.api_base_url.clone(),
                        auth_base_url: config.accounts_base_url.clone(),
                        ..rspotify::Config::default()
                    },
                ),
                authenticated: tokio::sync::Mutex::new(false),
            })
        });
        Self {
            api,
            search,
            config,
        }
    }

    fn search_query(&self, track: &SpotifyTrack) -> String {
        let count = self.config.candidates.clamp(1, 10);
        let words = search_words(track);
        match self.config.search_site {
            SearchSite::YouTube => format!("ytsearch{count}:{words}"),
            SearchSite::SoundCloud => format!("scsearch{count}:{words}"),
        }
    }

    /// Finds the recording of one Spotify track; its title and artist stay Spotify's.
    async fn match_track(
        search: Arc<dyn TrackResolver>,
        query: String,
        wanted: SpotifyTrack,
    ) -> Result<TrackInfo, ResolveError> {
        let candidates = search.resolve(&query).await?;
        let found = best_match(&wanted, &candidates)
            .cloned()
            .ok_or_else(|| ResolveError::NotFound(search_words(&wanted)))?;
        Ok(TrackInfo {
            title: wanted.title.clone(),
            artist: (!wanted.artists.is_empty()).then(|| wanted.artists.join(", ")),
            duration: found.duration.or(Some(wanted.duration)),
            ..found
        })
    }
}

#[async_trait]
impl TrackResolver for SpotifyResolver {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let link = parse_spotify_link(query).ok_or_else(|| {
            ResolveError::Unsupported(
                "only Spotify track, album and playlist links can be played".to_owned(),
            )
        })?;
        let Some(api) = &self.api else {
            return Err(ResolveError::Unavailable(
                "Spotify links need Spotify API credentials, which this bot does not have; \
                 ask the operator to set the Spotify client id and secret"
                    .to_owned(),
            ));
        };
        let wanted = api.tracks(&link, self.config.collection_cap.max(1)).await?;
        if link.kind == SpotifyKind::Track {
            let track = wanted
                .into_iter()
                .next()
                .ok_or_else(|| ResolveError::NotFound(query.to_owned()))?;
            let query = self.search_query(&track);
            return Ok(vec![
                Self::match_track(Arc::clone(&self.search), query, track).await?,
            ]);
        }
        // Several searches at once, results kept in the collection's order.
        let mut found: Vec<Option<TrackInfo>> = vec![None; wanted.len()];
        let mut running = JoinSet::new();
        let mut pending = wanted.into_iter().enumerate();
        let concurrency = self.config.concurrency.max(1);
        loop {
            while running.len() < concurrency {
                let Some((index, track)) = pending.next() else {
                    break;
                };
                let query = self.search_query(&track);
                let search = Arc::clone(&self.search);
                running
                    .spawn(async move { (index, Self::match_track(search, query, track).await) });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            match joined {
                Ok((index, Ok(track))) => found[index] = Some(track),
                Ok((_, Err(error))) => tracing::debug!(%error, "a Spotify track had no match"),
                Err(error) => tracing::warn!(%error, "a Spotify match task failed"),
            }
        }
        let tracks: Vec<TrackInfo> = found.into_iter().flatten().collect();
        if tracks.is_empty() {
            return Err(ResolveError::NotFound(query.to_owned()));
        }
        Ok(tracks)
    }
}

#[cfg(test)]
mod tests;
