//! Test helpers: fakes of the outside services minstrel talks to, on 127.0.0.1 (dev-dependency only).
//!
//! - [`discord`]: gateway and REST API fakes (twilight);
//! - [`voice`]: a Discord voice server (TLS websocket + UDP) the real songbird client plays to;
//! - [`telegram`]: a Bot API fake (teloxide);
//! - [`process`]: the minstrel binary as a child process with its logs in files;
//! - [`redis`]: the Redis under test and fresh key prefixes;
//! - [`observer`]: what an adapter logs and one gauge it sets, and polling until a condition holds.

pub mod audio;
pub mod discord;
pub mod observer;
pub mod process;
mod recorder;
pub mod redis;
pub mod telegram;
pub mod voice;
mod websocket;

pub use recorder::WAIT;
