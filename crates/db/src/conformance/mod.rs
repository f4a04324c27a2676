//! The repository suite: one set of checks every storage adapter of this crate must pass.
//!
//! Each check is an `async fn` taking the port as `&dyn Port`, so the in-memory adapters run it
//! today and the SQL adapters (`SQLite`, Postgres) run the very same checks later. Every check
//! draws fresh ids (see [`fixtures`]), so checks may share one store, run in parallel and run
//! against a database that already holds rows: they never see each other's data. Each module's
//! `all` runs its checks one after another on one store.
//!
//! Compiled for this crate's tests and behind the `conformance` feature for other test code.

pub mod audit;
pub mod chat_links;
pub mod fixtures;
pub mod history;
pub mod link_codes;
pub mod playlists;
pub mod queue;
pub mod settings;
pub mod telegram_members;
