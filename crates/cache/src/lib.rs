//! minstrel's cache adapters: implementations of the `minstrel_app::ports::Cache` port, a byte
//! cache with per-entry expiry.
//!
//! [`MokaCache`] keeps entries in process memory (moka). [`RedisCache`] keeps them on a Redis
//! server (deadpool-redis), under a key prefix. [`LayeredCache`] puts memory in front of Redis
//! and keeps answering from memory alone while Redis is down (a circuit breaker, a background
//! reconnect, the `minstrel_cache_degraded` gauge and a log line when it degrades or recovers).
//! [`CachedSettingsRepo`] and [`CachedPlaylistRepo`] put any cache in front of the settings
//! and playlist repositories: reads go through the cache, writes go to the repository first and
//! then delete the cached copy (SQL is the source of truth); a failing cache never fails a call.
//! `with_outbox` hands the two decorators minstrel-app's database outbox: a write the database
//! cannot take waits there and its value is put in the cache, so it reads back meanwhile.
//! [`keys`] builds the keys and holds the lifetimes every user of the cache agrees on.
//! `conformance` (feature `conformance`) is the one suite every cache adapter here must pass.
//!
//! This crate knows the domain, the ports and its own cache technology only: no presentation
//! (twilight, teloxide, console), no other adapter technology (sea-orm, songbird, symphonia).
//! Adapter errors become [`minstrel_app::ports::CacheError`] before they cross the port, and a
//! service URL's password never appears in an error or a log line.

mod cached_playlist_repo;
mod cached_settings_repo;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod keys;
mod layered_cache;
mod moka_cache;
mod read_through;
mod redact;
mod redis_cache;

pub use cached_playlist_repo::CachedPlaylistRepo;
pub use cached_settings_repo::CachedSettingsRepo;
pub use layered_cache::{DEGRADED_GAUGE, LayeredCache, LayeredCacheConfig};
pub use moka_cache::{CacheCapacity, MokaCache};
pub use redis_cache::{RedisCache, RedisCacheConfig};
