//! Sends each query to the resolver that can answer it.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use minstrel_app::ports::{PageSink, ProgressSink, ResolveError, TrackInfo, TrackResolver};
use url::Url;

use crate::local::AUDIO_EXTENSIONS;
use crate::spotify::is_spotify_link;
use crate::ytdlp::{SearchSite, site_of};

/// Where plain words are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchProvider {
    #[default]
    YouTube,
    SoundCloud,
    /// The local music library (for setups without yt-dlp).
    Local,
}

impl SearchProvider {
    /// Parses a configuration value: `youtube`, `soundcloud` or `local`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "youtube" | "yt" => Some(Self::YouTube),
            "soundcloud" | "sc" => Some(Self::SoundCloud),
            "local" => Some(Self::Local),
            _ => None,
        }
    }
}

/// Which resolver a query goes to, and what it is handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Local(String),
    Http(String),
    YtDlp(String),
    Spotify(String),
}

/// The resolvers a [`RoutingResolver`] dispatches to; a missing one makes its queries fail with
/// a sentence saying that source is not set up.
#[derive(Clone, Default)]
pub struct Resolvers {
    pub local: Option<Arc<dyn TrackResolver>>,
    pub http: Option<Arc<dyn TrackResolver>>,
    pub ytdlp: Option<Arc<dyn TrackResolver>>,
    pub spotify: Option<Arc<dyn TrackResolver>>,
}

/// Routes URLs to their site's resolver, paths to the library and words to a search.
#[derive(Clone)]
pub struct RoutingResolver {
    resolvers: Resolvers,
    default_search: SearchProvider,
}

impl std::fmt::Debug for RoutingResolver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RoutingResolver")
            .field("default_search", &self.default_search)
            .finish_non_exhaustive()
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text[prefix.len()..].trim())
}

fn looks_like_local_path(query: &str) -> bool {
    if query.starts_with('/') || query.starts_with("./") || query.starts_with("../") {
        return true;
    }
    // "AC/DC thunderstruck" has a slash but is words; "Rock/Song.flac" and "song.wav" name
    // files: nobody searches a site for a file extension.
    Path::new(query)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            AUDIO_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
        })
}

impl RoutingResolver {
    pub fn new(resolvers: Resolvers, default_search: SearchProvider) -> Self {
        Self {
            resolvers,
            default_search,
        }
    }

    /// Decides where `query` goes, without resolving it.
    ///
    /// # Errors
    /// `Unsupported` for links of a scheme other than http(s), `NotFound` for an empty query.
    pub fn route(&self, query: &str) -> Result<Route, ResolveError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(ResolveError::NotFound(String::new()));
        }
        for prefix in ["ytsearch:", "ytsearch1:", "yt:"] {
            if let Some(words) = strip_prefix_ignore_case(query, prefix) {
                return Ok(Route::YtDlp(SearchSite::YouTube.query(words)));
            }
        }
        for prefix in ["scsearch:", "scsearch1:", "sc:"] {
            if let Some(words) = strip_prefix_ignore_case(query, prefix) {
                return Ok(Route::YtDlp(SearchSite::SoundCloud.query(words)));
            }
        }
        if let Some(path) = strip_prefix_ignore_case(query, "local:") {
            return Ok(Route::Local(path.to_owned()));
        }
        if is_spotify_link(query) {
            return Ok(Route::Spotify(query.to_owned()));
        }
        if let Ok(url) = Url::parse(query)
            && url.scheme().len() > 1
        {
            return match url.scheme() {
                "http" | "https" if site_of(&url).is_some() => Ok(Route::YtDlp(query.to_owned())),
                "http" | "https" => Ok(Route::Http(query.to_owned())),
                "file" => Ok(Route::Local(url.path().to_owned())),
                other => Err(ResolveError::Unsupported(format!(
                    "{other}: links are not supported; paste an http or https link"
                ))),
            };
        }
        if looks_like_local_path(query) {
            return Ok(Route::Local(query.to_owned()));
        }
        Ok(match self.default_search {
            SearchProvider::YouTube => Route::YtDlp(SearchSite::YouTube.query(query)),
            SearchProvider::SoundCloud => Route::YtDlp(SearchSite::SoundCloud.query(query)),
            SearchProvider::Local => Route::Local(query.to_owned()),
        })
    }
}

fn missing(what: &str) -> ResolveError {
    ResolveError::Unavailable(format!("{what} is not set up on this bot"))
}

impl RoutingResolver {
    /// The resolver a route goes to and the value it is given.
    fn pick<'a>(
        &'a self,
        route: &'a Route,
    ) -> Result<(&'a Arc<dyn TrackResolver>, &'a String), ResolveError> {
        tracing::debug!(?route, "routing a query");
        Ok(match route {
            Route::Local(value) => (
                self.resolvers
                    .local
                    .as_ref()
                    .ok_or_else(|| missing("the local music library"))?,
                value,
            ),
            Route::Http(value) => (
                self.resolvers
                    .http
                    .as_ref()
                    .ok_or_else(|| missing("playing web links"))?,
                value,
            ),
            Route::YtDlp(value) => (
                self.resolvers
                    .ytdlp
                    .as_ref()
                    .ok_or_else(|| missing("playing from YouTube and similar sites"))?,
                value,
            ),
            Route::Spotify(value) => (
                self.resolvers
                    .spotify
                    .as_ref()
                    .ok_or_else(|| missing("Spotify"))?,
                value,
            ),
        })
    }
}

#[async_trait]
impl TrackResolver for RoutingResolver {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        let route = self.route(query)?;
        let (resolver, value) = self.pick(&route)?;
        resolver.resolve(value).await
    }

    async fn resolve_with_progress(
        &self,
        query: &str,
        progress: ProgressSink,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let route = self.route(query)?;
        let (resolver, value) = self.pick(&route)?;
        resolver.resolve_with_progress(value, progress).await
    }

    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        let route = self.route(query)?;
        let (resolver, value) = self.pick(&route)?;
        resolver.resolve_pages(value, pages).await
    }

    /// Plain words searched on a site ask yt-dlp for several results (`ytsearchN:`, at most
    /// 10); anything else (links, paths, the local library) is resolved as usual.
    async fn search(&self, words: &str, limit: usize) -> Result<Vec<TrackInfo>, ResolveError> {
        let count = limit.clamp(2, 10);
        if let Route::YtDlp(pseudo_url) = self.route(words)?
            && let Some(ytdlp) = &self.resolvers.ytdlp
        {
            for (single, site) in [("ytsearch1:", "ytsearch"), ("scsearch1:", "scsearch")] {
                if let Some(rest) = pseudo_url.strip_prefix(single) {
                    let mut tracks = ytdlp.resolve(&format!("{site}{count}:{rest}")).await?;
                    tracks.truncate(limit);
                    return Ok(tracks);
                }
            }
        }
        let mut tracks = self.resolve(words).await?;
        tracks.truncate(limit);
        Ok(tracks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(default_search: SearchProvider) -> RoutingResolver {
        RoutingResolver::new(Resolvers::default(), default_search)
    }

    #[test]
    fn routes_each_kind_of_query() {
        let router = router(SearchProvider::YouTube);
        let cases = [
            (
                "https://youtu.be/abc",
                Route::YtDlp("https://youtu.be/abc".into()),
            ),
            (
                "https://soundcloud.com/a/b",
                Route::YtDlp("https://soundcloud.com/a/b".into()),
            ),
            (
                "https://cdn.discordapp.com/attachments/1/2/song.mp3",
                Route::Http("https://cdn.discordapp.com/attachments/1/2/song.mp3".into()),
            ),
            (
                "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
                Route::Spotify("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC".into()),
            ),
            (
                "spotify:album:4uLU6hMCjMI75M1A2tKUQC",
                Route::Spotify("spotify:album:4uLU6hMCjMI75M1A2tKUQC".into()),
            ),
            ("never gonna", Route::YtDlp("ytsearch1:never gonna".into())),
            ("yt: lofi", Route::YtDlp("ytsearch1:lofi".into())),
            ("ytsearch:lofi", Route::YtDlp("ytsearch1:lofi".into())),
            ("SC:lofi", Route::YtDlp("scsearch1:lofi".into())),
            (
                "AC/DC thunderstruck",
                Route::YtDlp("ytsearch1:AC/DC thunderstruck".into()),
            ),
            ("Rock/Song.flac", Route::Local("Rock/Song.flac".into())),
            ("song.wav", Route::Local("song.wav".into())),
            ("My Song.MP3", Route::Local("My Song.MP3".into())),
            (
                "the wav song",
                Route::YtDlp("ytsearch1:the wav song".into()),
            ),
            ("/music/a.mp3", Route::Local("/music/a.mp3".into())),
            ("local: blue moon", Route::Local("blue moon".into())),
            ("--exec rm", Route::YtDlp("ytsearch1:--exec rm".into())),
        ];
        for (query, expected) in cases {
            assert_eq!(router.route(query).unwrap(), expected, "{query}");
        }
        assert!(matches!(
            router.route("ftp://example.com/a.mp3"),
            Err(ResolveError::Unsupported(_))
        ));
        assert!(matches!(router.route("  "), Err(ResolveError::NotFound(_))));
    }

    #[test]
    fn the_default_search_is_configurable() {
        assert_eq!(
            router(SearchProvider::SoundCloud).route("lofi").unwrap(),
            Route::YtDlp("scsearch1:lofi".into())
        );
        assert_eq!(
            router(SearchProvider::Local).route("lofi").unwrap(),
            Route::Local("lofi".into())
        );
        assert_eq!(
            SearchProvider::parse("SoundCloud"),
            Some(SearchProvider::SoundCloud)
        );
        assert_eq!(SearchProvider::parse("nope"), None);
    }

    #[tokio::test]
    async fn a_missing_resolver_is_a_clear_error() {
        let error = router(SearchProvider::YouTube)
            .resolve("lofi")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("not set up"), "{error}");
    }

    /// Answers every query with three tracks and remembers what it was asked.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<String>>);

    #[async_trait]
    impl TrackResolver for Recording {
        async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
            self.0.lock().unwrap().push(query.to_owned());
            Ok((0..3)
                .map(|index| TrackInfo {
                    title: format!("{query} {index}"),
                    artist: None,
                    duration: None,
                    source_kind: minstrel_domain::SourceKind::YouTube,
                    locator: format!("https://www.youtube.com/watch?v={index}"),
                    thumbnail: None,
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn searches_for_suggestions_ask_the_site_for_several_results() {
        let ytdlp = Arc::new(Recording::default());
        let local = Arc::new(Recording::default());
        let router = RoutingResolver::new(
            Resolvers {
                ytdlp: Some(ytdlp.clone()),
                local: Some(local.clone()),
                ..Resolvers::default()
            },
            SearchProvider::YouTube,
        );
        assert_eq!(router.search("lofi beats", 25).await.unwrap().len(), 3);
        assert_eq!(router.search("sc: rain", 2).await.unwrap().len(), 2);
        assert_eq!(router.search("song.flac", 25).await.unwrap().len(), 3);
        assert_eq!(
            *ytdlp.0.lock().unwrap(),
            ["ytsearch10:lofi beats", "scsearch2:rain"]
        );
        assert_eq!(*local.0.lock().unwrap(), ["song.flac"]);
    }
}
