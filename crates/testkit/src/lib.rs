//! Test helpers: fakes of the outside services minstrel talks to, on 127.0.0.1 (dev-dependency only).
//!
//! - [`discord`]: gateway and REST API fakes (twilight);
//! - [`voice`]: a Discord voice server (TLS websocket + UDP) the real songbird client plays to;
//! - [`telegram`]: a Bot API fake (teloxide);
//! - [`process`]: the minstrel binary as a child process with its logs in files.

pub mod audio;
pub mod discord;
pub mod process;
mod recorder;
pub mod telegram;
pub mod voice;
mod websocket;

pub use recorder::WAIT;
