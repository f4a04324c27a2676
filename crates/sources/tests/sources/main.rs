//! Black-box tests of minstrel-sources: a local HTTP server on 127.0.0.1, a fake yt-dlp,
//! the SSRF suite, a fake Spotify Web API, the malformed-file corpus and the committed format
//! fixtures.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    unreachable_pub
)]

mod caching;
mod corpus;
mod formats;
mod hostile;
mod http;
mod server;
mod spotify;
mod ssrf;
mod support;
mod transient;
mod ytdlp;
