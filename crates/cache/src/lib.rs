//! minstrel's cache adapters: implementations of the `minstrel_app::ports::Cache` port, a byte
//! cache with per-entry expiry.
//!
//! [`MokaCache`] keeps entries in process memory (moka). [`keys`] builds the keys and holds the
//! lifetimes every user of the cache agrees on. `conformance` (feature `conformance`) is the one
//! suite every cache adapter here must pass.
//!
//! This crate knows the domain, the ports and its own cache technology only: no presentation
//! (twilight, teloxide, console), no other adapter technology (sea-orm, songbird, symphonia).
//! Adapter errors become [`minstrel_app::ports::CacheError`] before they cross the port.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod keys;
mod moka_cache;

pub use moka_cache::{CacheCapacity, MokaCache};
