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
//! [`Outbox`] holds repository writes, in order and bounded, while the database is unreachable
//! and delivers them when it answers again; [`OutboxHistoryRepo`], [`OutboxQueueStore`] and
//! [`OutboxAuditLog`] send their writes through it, and the two caching decorators do with
//! `with_outbox` (a held value is put in the cache, so it reads back while the database is away).
//! [`RedisEventBus`] carries domain events between processes over a Redis stream (the
//! `EventBus` port; design in its module), delivering locally whether or not Redis answers.
//! [`RedisCommandBus`] carries guild commands to the process that owns the guild's shard and
//! their replies back (the `CommandBus` port; design in its module).
//! [`keys`] builds the keys and holds the lifetimes every user of the cache agrees on.
//! `conformance` (feature `conformance`) is the one suite every cache adapter here must pass.
//!
//! This crate knows the domain, the ports and its own cache technology only: no presentation
//! (twilight, teloxide, console), no other adapter technology (sea-orm, songbird, symphonia).
//! Adapter errors become [`minstrel_app::ports::CacheError`] before they cross the port, and a
//! service URL's password never appears in an error or a log line.

mod cached_playlist_repo;
mod cached_settings_repo;
mod command_bus;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod event_bus;
pub mod keys;
mod layered_cache;
mod moka_cache;
mod outbox;
mod outbox_repos;
mod read_through;
mod redact;
mod redis_cache;
mod streams;

pub use cached_playlist_repo::CachedPlaylistRepo;
pub use cached_settings_repo::CachedSettingsRepo;
pub use command_bus::{RedisCommandBus, RedisCommandBusConfig};
pub use event_bus::{
    EVENT_BUS_DEGRADED_GAUGE, EVENT_BUS_LOCAL_ONLY_COUNTER, RedisEventBus, RedisEventBusConfig,
};
pub use layered_cache::{DEGRADED_GAUGE, LayeredCache, LayeredCacheConfig};
pub use moka_cache::{CacheCapacity, MokaCache};
pub use outbox::{OUTBOX_DEPTH_GAUGE, Outbox, OutboxConfig, OutboxWrite, Written, outbox_write};
pub use outbox_repos::{OutboxAuditLog, OutboxHistoryRepo, OutboxQueueStore};
pub use redis_cache::{RedisCache, RedisCacheConfig};
