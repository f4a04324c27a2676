//! What the caching repository decorators share: reading, filling and invalidating one entry
//! without ever letting the cache fail the call.
//!
//! The cache only holds copies (SQL is the source of truth), so every cache failure here is
//! logged and swallowed: a read that cannot use the cache asks the repository, a write the
//! cache cannot take is simply not cached.

use std::time::Duration;

use minstrel_app::ports::Cache;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Bumped when the shape of any stored value changes, so entries an older build wrote are
/// ignored (and refilled) instead of misread.
const FORMAT_VERSION: u32 = 1;

/// What a decorator's look-up in the cache found.
pub(crate) enum Lookup<T> {
    /// A usable copy: the answer, without asking the repository.
    Hit(T),
    /// Nothing usable: the repository answers.
    Miss,
}

#[derive(serde::Serialize)]
struct StoredRef<'value, T> {
    version: u32,
    value: &'value T,
}

#[derive(serde::Deserialize)]
struct Stored<T> {
    version: u32,
    value: T,
}

/// The entry under `key`, or `None` when there is none, the cache is unavailable, or the entry
/// cannot be read (another format version, damaged bytes).
pub(crate) async fn read<T: DeserializeOwned>(cache: &dyn Cache, key: &str) -> Option<T> {
    let bytes = match cache.get(key).await {
        Ok(bytes) => bytes?,
        Err(error) => {
            tracing::debug!(%error, key, "the cache is unavailable; asking the repository");
            return None;
        }
    };
    match serde_json::from_slice::<Stored<T>>(&bytes) {
        Ok(stored) if stored.version == FORMAT_VERSION => Some(stored.value),
        Ok(stored) => {
            tracing::debug!(
                key,
                version = stored.version,
                "a cached entry has another format version; asking the repository"
            );
            None
        }
        Err(error) => {
            tracing::warn!(%error, key, "a cached entry could not be read; asking the repository");
            None
        }
    }
}

/// Stores `value` under `key` for `ttl`; a cache that refuses only costs the next read a trip
/// to the repository.
pub(crate) async fn fill<T: Serialize>(cache: &dyn Cache, key: &str, value: &T, ttl: Duration) {
    let stored = StoredRef {
        version: FORMAT_VERSION,
        value,
    };
    let bytes = match serde_json::to_vec(&stored) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, key, "a value could not be serialised for the cache");
            return;
        }
    };
    if let Err(error) = cache.set(key, bytes, ttl).await {
        tracing::debug!(%error, key, "the cache is unavailable; the value is not cached");
    }
}

/// Deletes `key` after the repository took a write. A cache that refuses keeps the old copy
/// until its TTL ends, which is worth a warning: readers may see the old value until then.
pub(crate) async fn invalidate(cache: &dyn Cache, key: &str) {
    if let Err(error) = cache.delete(key).await {
        tracing::warn!(
            %error,
            key,
            "the cache is unavailable; its copy stays until it expires"
        );
    }
}
