//! `SearchService`: search suggestions while someone types (Discord autocomplete).
//!
//! Suggestions are a convenience: a slow or failing search yields no suggestions instead of
//! an error, within a short time budget, and answers are kept for a while so every keystroke
//! of the same words does not run the search again. A search that misses the budget keeps
//! running in the background (a few at a time) and fills the cache for the next keystroke.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::music::MusicService;
use crate::ports::{TrackInfo, TrackResolver};

/// Discord shows at most 25 choices.
pub const MAX_SUGGESTIONS: usize = 25;
/// Autocomplete must be answered within 3 s; the search gets this much of it.
pub const SUGGESTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a search's answer is reused.
pub const SUGGESTION_TTL: Duration = Duration::from_mins(10);
/// How many different searches are remembered; the oldest go first.
const CACHE_ENTRIES: usize = 512;
/// Shorter words find too much to be worth a search.
const MIN_WORDS_LENGTH: usize = 2;
/// Searches running at once; more keystrokes meanwhile get no suggestions.
const MAX_IN_FLIGHT: usize = 4;

struct Cached {
    at: Instant,
    tracks: Vec<TrackInfo>,
}

/// Search suggestions with a time budget and a cache. Cheap to share: wrap in `Arc`.
pub struct SearchService {
    resolver: Arc<dyn TrackResolver>,
    timeout: Duration,
    cache: Arc<Cache>,
    in_flight: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Cache(Mutex<HashMap<String, Cached>>);

impl std::fmt::Debug for SearchService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SearchService")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SearchService {
    pub fn new(resolver: Arc<dyn TrackResolver>) -> Self {
        Self {
            resolver,
            timeout: SUGGESTION_TIMEOUT,
            cache: Arc::default(),
            in_flight: Arc::default(),
        }
    }

    /// Searches with the resolver the music use cases play from.
    pub fn for_music(music: &MusicService) -> Self {
        Self::new(Arc::clone(&music.ports().resolver))
    }

    /// A different time budget (tests, slow networks).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn key(words: &str) -> String {
        words
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
}

impl Cache {
    fn cached(&self, key: &str) -> Option<Vec<TrackInfo>> {
        let cache = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(key)
            .filter(|entry| entry.at.elapsed() < SUGGESTION_TTL)
            .map(|entry| entry.tracks.clone())
    }

    fn remember(&self, key: String, tracks: Vec<TrackInfo>) {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.retain(|_, entry| entry.at.elapsed() < SUGGESTION_TTL);
        if cache.len() >= CACHE_ENTRIES
            && let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, entry)| entry.at)
                .map(|(key, _)| key.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(
            key,
            Cached {
                at: Instant::now(),
                tracks,
            },
        );
    }
}

/// Decrements the in-flight count when a search ends, however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SearchService {
    /// Up to [`MAX_SUGGESTIONS`] tracks for `words`. Never fails: a search that errs or takes
    /// longer than the time budget gives no suggestions now (a failure is not cached, so the
    /// next keystroke tries again; a slow search caches its answer when it arrives). Empty or
    /// one-letter words are not searched.
    pub async fn suggest(&self, words: &str) -> Vec<TrackInfo> {
        let key = Self::key(words);
        if key.chars().count() < MIN_WORDS_LENGTH {
            return Vec::new();
        }
        if let Some(tracks) = self.cache.cached(&key) {
            return tracks;
        }
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            debug!("too many searches running; no suggestions this time");
            return Vec::new();
        }
        let guard = InFlight(Arc::clone(&self.in_flight));
        let resolver = Arc::clone(&self.resolver);
        let cache = Arc::clone(&self.cache);
        let search_key = key.clone();
        let search = tokio::spawn(async move {
            let _guard = guard;
            let result = resolver.search(&search_key, MAX_SUGGESTIONS).await;
            match result {
                Ok(mut tracks) => {
                    tracks.truncate(MAX_SUGGESTIONS);
                    cache.remember(search_key, tracks.clone());
                    Some(tracks)
                }
                Err(error) => {
                    debug!(%error, "no search suggestions");
                    // "Nothing found" is an answer worth keeping; a failure is not.
                    if matches!(error, crate::ports::ResolveError::NotFound(_)) {
                        cache.remember(search_key, Vec::new());
                    }
                    None
                }
            }
        });
        match tokio::time::timeout(self.timeout, search).await {
            Ok(Ok(tracks)) => tracks.unwrap_or_default(),
            Ok(Err(join_error)) => {
                debug!(%join_error, "the search stopped");
                Vec::new()
            }
            Err(_) => {
                debug!(timeout = ?self.timeout, "search suggestions took too long; caching them later");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use minstrel_domain::SourceKind;

    use super::*;
    use crate::ports::{MockTrackResolver, ResolveError};

    fn info(title: &str) -> TrackInfo {
        TrackInfo {
            title: title.to_owned(),
            artist: None,
            duration: None,
            source_kind: SourceKind::YouTube,
            locator: format!("https://www.youtube.com/watch?v={title}"),
            thumbnail: None,
        }
    }

    #[tokio::test]
    async fn results_are_capped_cached_and_keyed_by_the_words() {
        let mut resolver = MockTrackResolver::new();
        resolver
            .expect_search()
            .withf(|words, limit| words == "lofi beats" && *limit == MAX_SUGGESTIONS)
            .times(1)
            .returning(|_, _| Ok((0..40).map(|index| info(&index.to_string())).collect()));
        let service = SearchService::new(Arc::new(resolver));
        assert_eq!(service.suggest("lofi beats").await.len(), MAX_SUGGESTIONS);
        // The same words, typed differently: from the cache (the mock allows one search).
        assert_eq!(
            service.suggest("  LOFI   beats ").await.len(),
            MAX_SUGGESTIONS
        );
        assert!(service.suggest("").await.is_empty());
        assert!(service.suggest("x").await.is_empty());
    }

    /// A resolver that never answers.
    struct Stuck;

    #[async_trait::async_trait]
    impl TrackResolver for Stuck {
        async fn resolve(&self, _: &str) -> Result<Vec<TrackInfo>, ResolveError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_or_failing_search_gives_no_suggestions_and_is_retried() {
        let mut resolver = MockTrackResolver::new();
        let mut calls = 0;
        resolver.expect_search().times(3).returning(move |_, _| {
            calls += 1;
            if calls == 1 {
                Err(ResolveError::Unavailable("yt-dlp is down".to_owned()))
            } else {
                Ok(vec![info("late")])
            }
        });
        let slow = SearchService::new(Arc::new(resolver)).with_timeout(Duration::from_secs(2));
        assert!(slow.suggest("song").await.is_empty(), "a failure");
        assert_eq!(slow.suggest("song").await, vec![info("late")], "retried");
        assert_eq!(slow.suggest("other").await, vec![info("late")]);

        let started = Instant::now();
        let stuck = SearchService::new(Arc::new(Stuck));
        assert!(stuck.suggest("song").await.is_empty());
        assert_eq!(started.elapsed(), SUGGESTION_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_search_that_misses_the_budget_fills_the_cache_when_it_answers() {
        struct Slow;
        #[async_trait::async_trait]
        impl TrackResolver for Slow {
            async fn resolve(&self, words: &str) -> Result<Vec<TrackInfo>, ResolveError> {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok(vec![info(words)])
            }
        }
        let service = SearchService::new(Arc::new(Slow));
        assert!(service.suggest("slow song").await.is_empty());
        // Paused time: the background search finishes once the clock passes its 3 s.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started = Instant::now();
        assert_eq!(service.suggest("slow song").await, vec![info("slow song")]);
        assert_eq!(started.elapsed(), Duration::ZERO, "from the cache");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_expire() {
        let mut resolver = MockTrackResolver::new();
        resolver
            .expect_search()
            .times(2)
            .returning(|_, _| Ok(vec![info("a")]));
        let service = SearchService::new(Arc::new(resolver));
        service.suggest("song").await;
        service.suggest("song").await;
        tokio::time::advance(SUGGESTION_TTL).await;
        service.suggest("song").await;
    }
}
