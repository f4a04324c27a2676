//! The minstrel binary end to end, as one test binary: each module starts the real binary
//! (built by cargo for this test) against the minstrel-testkit fakes on 127.0.0.1 ports the OS
//! picks, or runs one of its commands, and checks what a user or an operator would see.
//!
//! - [`console_script`]: the console front-end on piped standard input, and its config errors;
//! - [`render_cli`]: `minstrel render` with filters into WAV files;
//! - [`discord_wiring`]: the Discord gateway and REST wiring, its failures at boot and later;
//! - [`discord_features`]: `/preview` attachments and `/play` autocomplete;
//! - [`voice`]: audio through the real songbird client to the fake voice server;
//! - [`telegram_wiring`]: the Telegram front-end against the fake Bot API;
//! - [`bridge_wiring`]: Discord and Telegram in one process (linked chats, `/list`);
//! - [`shards`]: several processes sharing a Postgres database and Redis.

mod bridge_wiring;
mod console_script;
mod discord_features;
mod discord_wiring;
mod render_cli;
mod shards;
mod telegram_wiring;
mod voice;

use minstrel_testkit::process::{BotBuilder, BotProcess};

/// The minstrel binary cargo built for these tests, to describe and start.
fn minstrel() -> BotBuilder {
    BotProcess::builder(env!("CARGO_BIN_EXE_minstrel"))
}
