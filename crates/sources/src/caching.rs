//! Remembers what a query resolved to, so a repeated query does not run yt-dlp again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    Cache, PageSink, ProgressSink, ResolveError, TrackInfo, TrackPage, TrackResolver,
};
use minstrel_domain::SourceKind;
use serde::{Deserialize, Serialize};

/// How long resolved metadata is kept (seed 003: 60 minutes).
pub const METADATA_TTL: Duration = Duration::from_hours(1);

/// Bumped when the stored shape changes, so old entries are ignored instead of misread.
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    version: u32,
    tracks: Vec<StoredTrack>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredTrack {
    title: String,
    artist: Option<String>,
    duration_ms: Option<u64>,
    source_kind: String,
    locator: String,
    thumbnail: Option<String>,
}

impl StoredTrack {
    fn from_info(info: &TrackInfo) -> Self {
        Self {
            title: info.title.clone(),
            artist: info.artist.clone(),
            duration_ms: info
                .duration
                .map(|duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
            source_kind: info.source_kind.as_str().to_owned(),
            locator: info.locator.clone(),
            thumbnail: info.thumbnail.clone(),
        }
    }

    fn into_info(self) -> Option<TrackInfo> {
        Some(TrackInfo {
            title: self.title,
            artist: self.artist,
            duration: self.duration_ms.map(Duration::from_millis),
            source_kind: SourceKind::parse(&self.source_kind)?,
            locator: self.locator,
            thumbnail: self.thumbnail,
        })
    }
}

/// A [`TrackResolver`] decorator caching successful answers under `track_metadata:{query}`.
/// A cache that is down only costs the lookup: the inner resolver answers.
#[derive(Clone)]
pub struct CachingResolver {
    inner: Arc<dyn TrackResolver>,
    cache: Arc<dyn Cache>,
    ttl: Duration,
}

impl std::fmt::Debug for CachingResolver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CachingResolver")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachingResolver {
    /// Caches for [`METADATA_TTL`].
    pub fn new(inner: Arc<dyn TrackResolver>, cache: Arc<dyn Cache>) -> Self {
        Self::with_ttl(inner, cache, METADATA_TTL)
    }

    pub fn with_ttl(inner: Arc<dyn TrackResolver>, cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self { inner, cache, ttl }
    }

    /// The cache key of a query.
    pub fn key(query: &str) -> String {
        format!("track_metadata:{}", query.trim())
    }

    async fn cached(&self, key: &str) -> Option<Vec<TrackInfo>> {
        let bytes = match self.cache.get(key).await {
            Ok(bytes) => bytes?,
            Err(error) => {
                tracing::debug!(%error, "the metadata cache is unavailable");
                return None;
            }
        };
        let stored: Stored = serde_json::from_slice(&bytes).ok()?;
        if stored.version != FORMAT_VERSION {
            return None;
        }
        let tracks: Option<Vec<TrackInfo>> = stored
            .tracks
            .into_iter()
            .map(StoredTrack::into_info)
            .collect();
        tracks.filter(|tracks| !tracks.is_empty())
    }
}

impl CachingResolver {
    async fn store(&self, key: &str, tracks: &[TrackInfo]) {
        let stored = Stored {
            version: FORMAT_VERSION,
            tracks: tracks.iter().map(StoredTrack::from_info).collect(),
        };
        match serde_json::to_vec(&stored) {
            Ok(bytes) => {
                if let Err(error) = self.cache.set(key, bytes, self.ttl).await {
                    tracing::debug!(%error, "the metadata cache is unavailable");
                }
            }
            Err(error) => tracing::warn!(%error, "track metadata could not be serialised"),
        }
    }

    /// Passes the inner resolver's pages on to `pages`, and caches the whole list when the
    /// load completed (its last page said no more follow and every send was heard): a load
    /// that nobody waited for to the end is not cached.
    async fn resolve_paging(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        let key = Self::key(query);
        if let Some(tracks) = self.cached(&key).await {
            // The whole list at once: whether anybody still waits changes nothing.
            pages
                .send(TrackPage {
                    tracks,
                    ..TrackPage::default()
                })
                .await;
            return Ok(());
        }
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
        let inner_sink = PageSink::new(sender, pages.progress().cloned());
        let forward = async {
            let mut tracks = Vec::new();
            let mut complete = false;
            while let Some(page) = receiver.recv().await {
                tracks.extend(page.tracks.iter().cloned());
                complete = !page.more;
                if !pages.send(page).await {
                    complete = false;
                    break;
                }
            }
            // Dropping the receiver makes the inner resolver's next send fail: it stops.
            drop(receiver);
            (tracks, complete)
        };
        let (outcome, (tracks, complete)) =
            tokio::join!(self.inner.resolve_pages(query, inner_sink), forward);
        outcome?;
        if complete && !tracks.is_empty() {
            self.store(&key, &tracks).await;
        }
        Ok(())
    }

    async fn resolve_caching(
        &self,
        query: &str,
        progress: Option<ProgressSink>,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        let key = Self::key(query);
        if let Some(tracks) = self.cached(&key).await {
            return Ok(tracks);
        }
        let tracks = match progress {
            Some(progress) => self.inner.resolve_with_progress(query, progress).await?,
            None => self.inner.resolve(query).await?,
        };
        self.store(&key, &tracks).await;
        Ok(tracks)
    }
}

#[async_trait]
impl TrackResolver for CachingResolver {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        self.resolve_caching(query, None).await
    }

    /// A cached answer comes back at once, so `progress` only hears of a fresh load.
    async fn resolve_with_progress(
        &self,
        query: &str,
        progress: ProgressSink,
    ) -> Result<Vec<TrackInfo>, ResolveError> {
        self.resolve_caching(query, Some(progress)).await
    }

    /// A cached answer comes back as one page; a fresh load is passed on page by page and
    /// cached only when it completed.
    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        self.resolve_paging(query, pages).await
    }

    /// Suggestions are cached by the search use case; here they pass straight through.
    async fn search(&self, words: &str, limit: usize) -> Result<Vec<TrackInfo>, ResolveError> {
        self.inner.search(words, limit).await
    }
}
