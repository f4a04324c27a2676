//! minstrel-sources: where tracks come from and how their audio is decoded.
//!
//! Resolvers turn what a user typed into [`minstrel_app::ports::TrackInfo`] (today: the local
//! music library, [`LocalFileResolver`]); openers turn a track into a
//! [`minstrel_app::ports::PcmStream`] of interleaved stereo `f32` at 48 kHz, decoded with
//! symphonia and resampled with rubato ([`SymphoniaStream`], [`LocalAudioOpener`]).
//!
//! This crate implements `minstrel-app`'s ports and knows nothing of players, voice
//! connections, DSP filters, storage, caches or chat front-ends.

mod decode;
mod local;
mod resample;
#[cfg(test)]
mod test_support;

pub use decode::{AudioInfo, SymphoniaStream, probe_info};
pub use local::{AUDIO_EXTENSIONS, LocalAudioOpener, LocalFileResolver};
