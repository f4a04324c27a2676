//! The cache suite (`minstrel_cache::conformance`) on every adapter: moka always; Redis and the
//! layered cache over Redis when `MINSTREL_TEST_REDIS_URL` names one (required under CI), each
//! run under a fresh key prefix. Then the faults: a Redis that refuses, one that never answers,
//! and one cut mid-test and brought back. Last, the caching repository decorators over mocked
//! repositories and a real moka cache.

mod cached_playlists;
mod cached_settings;
mod faults;
mod layered;
mod moka;
mod redis;
mod support;
