//! minstrel-voice: player adapters, the audio outputs behind `minstrel-app`'s `Player` port.
//!
//! [`LocalPlayer`] plays into local sinks ([`WavSink`], [`NullSink`]) with one playback thread
//! per guild, running `minstrel-dsp`'s filter chain at real-time or full speed;
//! [`SongbirdPlayer`] plays into Discord voice channels through songbird.
//!
//! Both record the filter chain's time per block, and `SongbirdPlayer` counts voice
//! reconnects ([`metrics`] names them).
//!
//! This crate opens audio only through the `AudioOpener` port: it must not know how tracks are
//! found or decoded (no symphonia, no resolvers), nor storage, caches or chat front-ends.

mod local;
pub mod metrics;
mod sink;
mod songbird_player;

pub use local::{DEFAULT_STUCK_AFTER, LocalPlayer, Pace};
pub use sink::{AudioSink, NullSink, SinkError, SinkKind, WavSink};
pub use songbird_player::SongbirdPlayer;
