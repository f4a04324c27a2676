//! minstrel's DSP engine: every Lavalink filter (equalizer, karaoke, timescale, tremolo,
//! vibrato, rotation, distortion, channel mix, low-pass, volume) plus the seed filters (bass
//! boost, reverb), a soft limiter and live, click-free parameter changes, on interleaved `f32`
//! stereo at 48 kHz in 20 ms blocks.
//!
//! Synchronous and compute-bound: it must not know any async runtime, any I/O (files, network,
//! devices) or any framework; its only input is [`minstrel_domain::filters`]. Run it on a
//! mixer or blocking thread. The hot path allocates nothing per block.
//!
//! Chain (each stage skipped when absent or neutral): lowPass → channelMix → rotation →
//! distortion → vibrato → tremolo → timescale → karaoke → equalizer → bass boost → reverb →
//! volume → limiter. What each stage computes:
//!
//! - volume: [`player_volume_gain`] × [`filter_volume_gain`], ramped over one block on change.
//! - limiter: stereo-linked envelope limiter at 0.9 (1 ms attack, 150 ms release) into a `tanh`
//!   knee from 0.9 to 1.0; below 0.9 it is the identity, output never exceeds 1.0.
//! - equalizer: `x + 4 · Σ gain_b · bandpass_b(x)`, RBJ constant-peak band-passes at
//!   `EQ_BANDS_HZ` with Q = [`EQUALIZER_BAND_Q`]; centre gain [`equalizer_centre_gain`].
//! - bass boost: RBJ low shelf, corner [`BASS_BOOST_CORNER_HZ`], slope 1, `gain_db` of the level.
//! - timescale: WSOLA stretch by `speed / pitch`, then windowed-sinc resample by `rate · pitch`.
//! - karaoke: `L' = L − level·R + monoLevel·bp((L+R)/2)`, `bp` two cascaded band-passes at
//!   filterBand, width filterWidth (and symmetrically for R).
//! - tremolo: gain `1 − depth·(1 − cos 2πft)/2`; vibrato: Hermite-read delay of
//!   `2 + depth·96·(1 + sin 2πft)/2` frames; rotation: constant-power pan by `sin 2πft`.
//! - distortion (lavadsp, all functions on): `clamp(offset + scale · (sinOffset + sin(x·sinScale))
//!   · (cosOffset + cos(x·cosScale)) · (tanOffset + tan(x·tanScale)), −1, 1)`; the default
//!   parameters count as neutral.
//! - lowPass: `y += (x − y) / smoothing`; channelMix: the 2×2 matrix; reverb: Freeverb.
//!
//! ```
//! use minstrel_domain::filters::Preset;
//! let input = vec![0.0f32; 2 * 48_000];
//! let output = minstrel_dsp::render(Preset::Nightcore.spec(), 100, &input);
//! assert_eq!(output.len(), 2 * 38_400); // rate 1.25: 80 % of the duration
//! ```

#![allow(
    clippy::inline_always,
    reason = "the kernels must inline into the AVX2 + FMA builds multiversion makes of them (crate::kernel); a call out of one runs baseline code"
)]

pub mod analysis;
mod chain;
mod control;
mod engine;
mod filters;
mod kernel;
mod limiter;
mod timescale;
mod volume;

#[cfg(test)]
mod tests;

pub use chain::FilterChain;
pub use control::FilterControl;
pub use filters::equalizer::{BASS_BOOST_CORNER_HZ, EQUALIZER_BAND_Q, equalizer_centre_gain};
pub use volume::{MAX_PLAYER_VOLUME, filter_volume_gain, player_volume_gain};

use minstrel_domain::filters::FilterSpec;

pub const SAMPLE_RATE: u32 = 48_000;
pub const CHANNELS: usize = 2;
pub const FRAMES_PER_BLOCK: usize = 960;

/// Runs a whole interleaved stereo buffer through a fresh chain (render CLI, tests).
pub fn render(spec: FilterSpec, volume_percent: u16, input: &[f32]) -> Vec<f32> {
    let mut chain = FilterChain::new(FilterControl::new(spec, volume_percent));
    let mut output = Vec::with_capacity(input.len());
    let mut block = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    let mut drain = |chain: &mut FilterChain, output: &mut Vec<f32>| {
        loop {
            let written = chain.pull(&mut block);
            if written == 0 {
                break;
            }
            output.extend_from_slice(&block[..written]);
        }
    };
    for chunk in input.chunks(FRAMES_PER_BLOCK * CHANNELS) {
        chain.push(chunk);
        drain(&mut chain, &mut output);
    }
    chain.finish();
    drain(&mut chain, &mut output);
    output
}
