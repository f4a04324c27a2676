//! A repeated query is answered from the cache, without running yt-dlp again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{Cache, CacheError, ResolveError, TrackResolver};
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
