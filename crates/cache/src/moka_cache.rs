use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use minstrel_app::ports::{Cache, CacheError};
use moka::Expiry;

/// How much a [`MokaCache`] may hold before it evicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheCapacity {
    /// At most this many entries, whatever their size.
    Entries(u64),
    /// At most this many bytes of keys plus values (bookkeeping not counted).
    Bytes(u64),
}

impl CacheCapacity {
    pub const DEFAULT_ENTRIES: u64 = 10_000;
}

impl Default for CacheCapacity {
    fn default() -> Self {
        Self::Entries(Self::DEFAULT_ENTRIES)
    }
}

/// The value with the lifetime it was stored with; [`PerEntryTtl`] reads the lifetime.
#[derive(Clone)]
struct Entry {
    bytes: Vec<u8>,
    ttl: Duration,
}

/// Gives every entry the lifetime it was stored with, counted from its last write.
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    /// An overwrite starts the new value's own lifetime; the old one's no longer matters.
    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    // Reads keep the remaining lifetime (the trait's default): an entry does not live longer
    // because it is popular.
}

/// The [`Cache`] port in process memory, on moka's concurrent cache.
///
/// Each entry expires after the TTL it was `set` with; when the capacity is reached, moka evicts
/// (or refuses to admit) the entries least likely to be used again. Clones share the entries.
#[derive(Clone)]
pub struct MokaCache {
    entries: moka::future::Cache<String, Entry>,
    capacity: CacheCapacity,
}

impl MokaCache {
    /// The counter of cache reads that found their key, label `layer`.
    pub const HITS_COUNTER: &'static str = "minstrel_cache_hits_total";
    /// The counter of cache reads that found nothing, label `layer`.
    pub const MISSES_COUNTER: &'static str = "minstrel_cache_misses_total";
    /// The `layer` label of reads answered from process memory.
    pub const MEMORY_LAYER: &'static str = "memory";

    pub fn new(capacity: CacheCapacity) -> Self {
        let builder = moka::future::Cache::builder().expire_after(PerEntryTtl);
        let entries = match capacity {
            CacheCapacity::Entries(count) => builder.max_capacity(count).build(),
            CacheCapacity::Bytes(bytes) => builder
                .max_capacity(bytes)
                .weigher(|key: &String, entry: &Entry| {
                    let size = key.len().saturating_add(entry.bytes.len());
                    u32::try_from(size).unwrap_or(u32::MAX)
                })
                .build(),
        };
        Self { entries, capacity }
    }

    pub fn capacity(&self) -> CacheCapacity {
        self.capacity
    }

    /// Entries held, approximately: moka applies writes and evictions in batches.
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

impl Default for MokaCache {
    /// [`CacheCapacity::default`]: 10 000 entries.
    fn default() -> Self {
        Self::new(CacheCapacity::default())
    }
}

impl fmt::Debug for MokaCache {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MokaCache")
            .field("capacity", &self.capacity)
            .field("entry_count", &self.entry_count())
            .finish_non_exhaustive()
    }
}

/// Counts one read of `layer` as a hit or a miss. Each layer counts its own reads, so a read
/// that misses memory and hits Redis is one memory miss and one Redis hit.
pub(crate) fn record_read(layer: &'static str, hit: bool) {
    let name = if hit {
        MokaCache::HITS_COUNTER
    } else {
        MokaCache::MISSES_COUNTER
    };
    metrics::counter!(name, "layer" => layer).increment(1);
}

#[async_trait]
impl Cache for MokaCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let found = self.entries.get(key).await.map(|entry| entry.bytes);
        record_read(Self::MEMORY_LAYER, found.is_some());
        Ok(found)
    }

    /// A zero `ttl` stores nothing and drops any earlier value: the entry would be stale at once.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            self.entries.invalidate(key).await;
        } else {
            let entry = Entry { bytes: value, ttl };
            self.entries.insert(key.to_owned(), entry).await;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.invalidate(key).await;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::conformance;

    const MINUTE: Duration = Duration::from_mins(1);

    #[tokio::test]
    async fn missing_key_is_none() {
        conformance::missing_key_is_none(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn set_then_get() {
        conformance::set_then_get(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn set_overwrites() {
        conformance::set_overwrites(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn delete_removes_only_that_key() {
        conformance::delete_removes_only_that_key(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn keys_are_independent() {
        conformance::keys_are_independent(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn values_are_kept_byte_for_byte() {
        conformance::values_are_kept_byte_for_byte(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        conformance::entries_expire_after_their_own_ttl(&MokaCache::default()).await;
    }

    #[tokio::test]
    async fn whole_suite_except_expiry_on_one_shared_cache() {
        let cache = MokaCache::default();
        conformance::all_but_expiry(&cache).await;
        conformance::all_but_expiry(&cache).await;
    }

    #[tokio::test]
    async fn zero_ttl_stores_nothing_and_drops_the_old_value() {
        let cache = MokaCache::default();
        cache.set("k", b"old".to_vec(), MINUTE).await.unwrap();
        cache
            .set("k", b"new".to_vec(), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(cache.get("k").await.unwrap(), None);
    }

    /// The cache reads counted since the last call (a snapshot drains the recorder), as
    /// `(counter, layer) → count`.
    pub(crate) fn reads_since(
        snapshotter: &metrics_util::debugging::Snapshotter,
    ) -> std::collections::BTreeMap<(&'static str, String), u64> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| {
                let key = key.key();
                let name = [MokaCache::HITS_COUNTER, MokaCache::MISSES_COUNTER]
                    .into_iter()
                    .find(|name| *name == key.name())?;
                let layer = key.labels().find(|label| label.key() == "layer")?;
                match value {
                    metrics_util::debugging::DebugValue::Counter(count) if count > 0 => {
                        Some(((name, layer.value().to_owned()), count))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// `(counter, layer, count)` rows as [`reads_since`] returns them.
    pub(crate) fn reads(
        rows: &[(&'static str, &str, u64)],
    ) -> std::collections::BTreeMap<(&'static str, String), u64> {
        rows.iter()
            .map(|(name, layer, count)| ((*name, (*layer).to_owned()), *count))
            .collect()
    }

    #[tokio::test]
    async fn reads_count_memory_hits_and_misses() {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        // The test runs on one thread, so the thread's default recorder sees every await.
        let _guard = metrics::set_default_local_recorder(&recorder);
        let cache = MokaCache::default();
        assert_eq!(cache.get("k").await.unwrap(), None);
        cache.set("k", b"v".to_vec(), MINUTE).await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(
            reads_since(&snapshotter),
            reads(&[
                (MokaCache::HITS_COUNTER, "memory", 2),
                (MokaCache::MISSES_COUNTER, "memory", 1),
            ])
        );
    }

    #[test]
    fn default_capacity_is_ten_thousand_entries() {
        assert_eq!(
            MokaCache::default().capacity(),
            CacheCapacity::Entries(10_000)
        );
    }

    #[tokio::test]
    async fn entry_capacity_bounds_the_entry_count() {
        let cache = MokaCache::new(CacheCapacity::Entries(10));
        for n in 0..100 {
            cache
                .set(&format!("k{n}"), vec![0; 8], MINUTE)
                .await
                .unwrap();
        }
        cache.entries.run_pending_tasks().await;
        assert!(cache.entry_count() <= 10, "{} entries", cache.entry_count());
        assert!(cache.entry_count() > 0);
    }

    #[tokio::test]
    async fn byte_capacity_bounds_the_weighted_size() {
        let cache = MokaCache::new(CacheCapacity::Bytes(1_000));
        for n in 0..20 {
            // 300-byte values with 3-byte keys: three fit, four do not.
            cache
                .set(&format!("k{n:02}"), vec![7; 300], MINUTE)
                .await
                .unwrap();
        }
        cache.entries.run_pending_tasks().await;
        let size = cache.entries.weighted_size();
        assert!(size <= 1_000, "{size} bytes");
        assert!(cache.entry_count() <= 3, "{} entries", cache.entry_count());
    }
}
