//! Test helpers: fakes of the outside services minstrel talks to, on 127.0.0.1 (dev-dependency only).

pub mod discord;
pub mod telegram;
