//! A repeated query is answered from the cache, without running yt-dlp again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    Cache, CacheError, PageSink, ResolveError, TrackInfo, TrackPage, TrackResolver,
};
use minstrel_sources::{CachingResolver, METADATA_TTL, YtDlpConfig, YtDlpResolver};

use crate::ytdlp::VIDEO_JSON;

#[derive(Default)]
struct MemoryCache {
    entries: Mutex<HashMap<String, (Vec<u8>, Duration)>>,
    down: bool,
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        if self.down {
            return Err(CacheError::Unavailable("down".to_owned()));
        }
        Ok(self
            .entries
            .lock()
            .unwrap()
            .get(key)
            .map(|(value, _)| value.clone()))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        if self.down {
            return Err(CacheError::Unavailable("down".to_owned()));
        }
        self.entries
            .lock()
            .unwrap()
            .insert(key.to_owned(), (value, ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }
}

/// A fake yt-dlp counting its runs in a file.
fn counting_fake(folder: &std::path::Path) -> YtDlpResolver {
    let binary = folder.join("yt-dlp");
    std::fs::write(folder.join("output"), VIDEO_JSON).unwrap();
    minstrel_testkit::process::write_script(
        &binary,
        "echo run >> \"$(dirname \"$0\")/runs\"\ncat \"$(dirname \"$0\")/output\"",
    );
    YtDlpResolver::new(YtDlpConfig {
        binary,
        ..YtDlpConfig::default()
    })
}

fn runs(folder: &std::path::Path) -> usize {
    std::fs::read_to_string(folder.join("runs")).map_or(0, |text| text.lines().count())
}

#[tokio::test]
async fn a_repeated_query_does_not_run_yt_dlp_again() {
    let folder = tempfile::tempdir().unwrap();
    let cache = Arc::new(MemoryCache::default());
    let resolver = CachingResolver::new(Arc::new(counting_fake(folder.path())), cache.clone());
    let url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";
    let first = resolver.resolve(url).await.unwrap();
    let second = resolver.resolve(url).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(runs(folder.path()), 1);
    let entries = cache.entries.lock().unwrap();
    let (_, ttl) = entries
        .get(&format!("track_metadata:{url}"))
        .expect("stored under track_metadata:{query}");
    assert_eq!(*ttl, METADATA_TTL);
    assert_eq!(METADATA_TTL, Duration::from_hours(1));
}

#[tokio::test]
async fn a_cache_that_is_down_only_costs_the_lookup() {
    let folder = tempfile::tempdir().unwrap();
    let cache = Arc::new(MemoryCache {
        down: true,
        ..MemoryCache::default()
    });
    let resolver = CachingResolver::new(Arc::new(counting_fake(folder.path())), cache);
    let url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";
    assert!(resolver.resolve(url).await.is_ok());
    assert!(resolver.resolve(url).await.is_ok());
    assert_eq!(runs(folder.path()), 2);
}

#[tokio::test]
async fn errors_and_garbage_entries_are_not_served_from_the_cache() {
    struct Failing;
    #[async_trait]
    impl TrackResolver for Failing {
        async fn resolve(
            &self,
            query: &str,
        ) -> Result<Vec<minstrel_app::ports::TrackInfo>, ResolveError> {
            Err(ResolveError::NotFound(query.to_owned()))
        }
    }
    let cache = Arc::new(MemoryCache::default());
    cache
        .set("track_metadata:x", b"not json".to_vec(), METADATA_TTL)
        .await
        .unwrap();
    let resolver = CachingResolver::new(Arc::new(Failing), cache.clone());
    assert!(matches!(
        resolver.resolve("x").await,
        Err(ResolveError::NotFound(_))
    ));
    assert!(matches!(
        resolver.resolve("y").await,
        Err(ResolveError::NotFound(_))
    ));
    assert!(
        cache
            .entries
            .lock()
            .unwrap()
            .get("track_metadata:y")
            .is_none()
    );
}

/// Delivers `["{query} 1", "{query} 2"]` and `["{query} 3"]` as two pages, counting its loads.
#[derive(Default)]
struct TwoPages {
    loads: Mutex<usize>,
}

fn titled(title: String) -> TrackInfo {
    TrackInfo {
        title,
        artist: None,
        duration: None,
        source_kind: minstrel_domain::SourceKind::YouTube,
        locator: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".to_owned(),
        thumbnail: None,
    }
}

#[async_trait]
impl TrackResolver for TwoPages {
    async fn resolve(&self, query: &str) -> Result<Vec<TrackInfo>, ResolveError> {
        Err(ResolveError::Internal(format!(
            "{query} is read page by page"
        )))
    }

    async fn resolve_pages(&self, query: &str, pages: PageSink) -> Result<(), ResolveError> {
        *self.loads.lock().unwrap() += 1;
        let first = TrackPage {
            tracks: vec![titled(format!("{query} 1")), titled(format!("{query} 2"))],
            skipped: 0,
            more: true,
        };
        if !pages.send(first).await {
            return Ok(());
        }
        let second = TrackPage {
            tracks: vec![titled(format!("{query} 3"))],
            skipped: 1,
            more: false,
        };
        pages.send(second).await;
        Ok(())
    }
}

/// The pages `resolver.resolve_pages(query)` delivers, read to the end.
async fn all_pages(resolver: &CachingResolver, query: &str) -> Vec<TrackPage> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
    let sink = PageSink::new(sender, None);
    let read = async {
        let mut pages = Vec::new();
        while let Some(page) = receiver.recv().await {
            pages.push(page);
        }
        pages
    };
    let (outcome, pages) = tokio::join!(resolver.resolve_pages(query, sink), read);
    outcome.unwrap();
    pages
}

fn titles(page: &TrackPage) -> Vec<&str> {
    page.tracks
        .iter()
        .map(|track| track.title.as_str())
        .collect()
}

#[tokio::test]
async fn pages_pass_through_and_a_completed_load_is_cached_whole() {
    let inner = Arc::new(TwoPages::default());
    let cache = Arc::new(MemoryCache::default());
    let resolver = CachingResolver::new(inner.clone(), cache.clone());
    let pages = all_pages(&resolver, "mix").await;
    assert_eq!(pages.len(), 2);
    assert_eq!(titles(&pages[0]), ["mix 1", "mix 2"]);
    assert!(pages[0].more);
    assert_eq!(titles(&pages[1]), ["mix 3"]);
    assert_eq!((pages[1].skipped, pages[1].more), (1, false));
    assert!(
        cache
            .entries
            .lock()
            .unwrap()
            .contains_key("track_metadata:mix")
    );
    // A hit is the whole list as one page, without loading again.
    let again = all_pages(&resolver, "mix").await;
    assert_eq!(again.len(), 1);
    assert_eq!(titles(&again[0]), ["mix 1", "mix 2", "mix 3"]);
    assert!(!again[0].more);
    assert_eq!(resolver.resolve("mix").await.unwrap().len(), 3);
    assert_eq!(*inner.loads.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_load_cut_short_is_not_cached() {
    let inner = Arc::new(TwoPages::default());
    let cache = Arc::new(MemoryCache::default());
    let resolver = CachingResolver::new(inner.clone(), cache.clone());
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
    let sink = PageSink::new(sender, None);
    let read_one = async {
        let first = receiver.recv().await;
        drop(receiver);
        first
    };
    let (outcome, first) = tokio::join!(resolver.resolve_pages("mix", sink), read_one);
    outcome.unwrap();
    assert_eq!(titles(&first.unwrap()), ["mix 1", "mix 2"]);
    assert!(cache.entries.lock().unwrap().is_empty());
}
