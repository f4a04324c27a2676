//! Filters driven by a low-frequency oscillator: rotation ("8D"), tremolo and vibrato.
//!
//! Every oscillator starts at the phase where the filter is transparent (centre pan, full
//! volume, mid delay), so enabling one never jumps.
//!
//! The oscillator's shape (the trigonometry) is evaluated exactly at control points and
//! interpolated linearly in between, so the per-frame work is a multiply-add. Control points are
//! `216 / f` frames apart (4 ..= 120 frames): a linearly interpolated cosine is off by at most
//! `(2π f h)² / 8` of its amplitude for a spacing of `h` seconds, which keeps the error below
//! 0.01 % of the depth, and below 0.04 % above 54 Hz where the 4-frame minimum applies.

use std::f32::consts::{FRAC_PI_4, SQRT_2, TAU};

use minstrel_domain::filters::{Oscillation, Rotation};

use crate::kernel::{dispatched, mul_add};
use crate::{FRAMES_PER_BLOCK, SAMPLE_RATE};

/// Control-point spacing in frames is this divided by the frequency in Hz (see the module doc).
const CONTROL_FRAMES_HZ: f64 = 216.0;
const MIN_CONTROL_FRAMES: f64 = 4.0;
const MAX_CONTROL_FRAMES: f64 = 120.0;

/// Phase accumulator in cycles, kept in `0 ..= 1` so `f32` precision never degrades.
#[derive(Debug, Clone)]
struct Oscillator {
    phase: f64,
    increment: f64,
    /// Frames between two exact evaluations of the shape.
    control_frames: usize,
}

impl Oscillator {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn new(frequency_hz: f32) -> Self {
        let frequency = f64::from(frequency_hz);
        let control_frames = (CONTROL_FRAMES_HZ / frequency.max(f64::MIN_POSITIVE))
            .clamp(MIN_CONTROL_FRAMES, MAX_CONTROL_FRAMES) as usize;
        Self {
            phase: 0.0,
            increment: frequency / f64::from(SAMPLE_RATE),
            control_frames,
        }
    }

    /// Angle in radians `frames` frames from now.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    fn angle_in(&self, frames: usize) -> f32 {
        ((self.phase + self.increment * frames as f64).fract() as f32) * TAU
    }

    #[allow(clippy::cast_precision_loss)]
    fn advance(&mut self, frames: usize) {
        self.phase = (self.phase + self.increment * frames as f64).fract();
    }

    fn reset(&mut self) {
        self.phase = 0.0;
    }

    /// Calls `apply(frame, value)` for every stereo frame of `block`, where `value` follows
    /// `shape(angle)`: exact at every control point, linear in between. Advances the
    /// phase by the block's length.
    #[inline(always)]
    #[allow(clippy::cast_precision_loss)]
    fn modulate<const N: usize>(
        &mut self,
        block: &mut [f32],
        shape: impl Fn(f32) -> [f32; N],
        mut apply: impl FnMut(&mut [f32], [f32; N]),
    ) {
        let mut start = shape(self.angle_in(0));
        for segment in block.chunks_mut(self.control_frames * 2) {
            let frames = segment.len() / 2;
            let end = shape(self.angle_in(frames));
            let mut step = [0.0f32; N];
            for ((step, start), end) in step.iter_mut().zip(&start).zip(&end) {
                *step = (end - start) / frames as f32;
            }
            for (index, frame) in segment.chunks_exact_mut(2).enumerate() {
                let mut value = start;
                for (value, step) in value.iter_mut().zip(&step) {
                    *value += step * index as f32;
                }
                apply(frame, value);
            }
            self.advance(frames);
            start = end;
        }
    }
}

/// Pans the stereo image around the listener: `sin` of the rotation angle drives a
/// constant-power pan (both channels at unity when centred, one at +3 dB and the other silent
/// at the extremes). Positive sine pans right.
#[derive(Debug, Clone)]
pub(crate) struct RotationFilter {
    oscillator: Oscillator,
}

impl RotationFilter {
    pub(crate) fn new(spec: Rotation) -> Self {
        Self {
            oscillator: Oscillator::new(spec.rotation_hz),
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        self.oscillator.modulate(
            block,
            |angle| {
                let position = angle.sin();
                let (right, left) = (FRAC_PI_4 * (1.0 + position)).sin_cos();
                [SQRT_2 * left, SQRT_2 * right]
            },
            |frame, [left, right]| {
                frame[0] *= left;
                frame[1] *= right;
            },
        );
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
    }
}

/// Amplitude modulation: `gain = 1 − depth · (1 − cos(2π f t)) / 2`, between `1 − depth` and 1.
#[derive(Debug, Clone)]
pub(crate) struct TremoloFilter {
    oscillator: Oscillator,
    depth: f32,
}

impl TremoloFilter {
    pub(crate) fn new(spec: Oscillation) -> Self {
        Self {
            oscillator: Oscillator::new(spec.frequency),
            depth: spec.depth.clamp(0.0, 1.0),
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        let depth = self.depth;
        self.oscillator.modulate(
            block,
            |angle| [1.0 - depth * (1.0 - angle.cos()) * 0.5],
            |frame, [gain]| {
                frame[0] *= gain;
                frame[1] *= gain;
            },
        );
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
    }
}

dispatched! {
    /// The vibrato's block loop, for the CPU at hand.
    fn vibrato(filter: &mut VibratoFilter, block: &mut [f32]) => process_inline
}

/// Longest vibrato sweep, as in lavadsp: 2 ms of delay at depth 1.
const VIBRATO_MAX_SWEEP_SECONDS: f32 = 0.002;
/// Minimum delay so the 4-point interpolator always has a newer neighbour.
const VIBRATO_BASE_DELAY: f32 = 2.0;
/// History kept between blocks, in frames: more than the longest delay (2 + 96 frames) plus
/// the interpolator's older neighbours.
const VIBRATO_HISTORY: usize = 128;

/// Pitch modulation through a delay line whose length follows a sine; reads are 4-point,
/// 3rd-order Hermite interpolated.
///
/// The line is linear rather than circular: `VIBRATO_HISTORY` frames of history followed by the
/// block being processed, so reads need no wrapping.
#[derive(Debug, Clone)]
pub(crate) struct VibratoFilter {
    oscillator: Oscillator,
    sweep: f32,
    /// Interleaved stereo: history, then up to one block.
    line: Vec<f32>,
}

impl VibratoFilter {
    pub(crate) fn new(spec: Oscillation) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let max_sweep = VIBRATO_MAX_SWEEP_SECONDS * SAMPLE_RATE as f32;
        Self {
            oscillator: Oscillator::new(spec.frequency),
            sweep: max_sweep * spec.depth.clamp(0.0, 1.0),
            line: vec![0.0; (VIBRATO_HISTORY + FRAMES_PER_BLOCK) * 2],
        }
    }

    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss,
        clippy::many_single_char_names
    )]
    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let sweep = self.sweep;
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let history = VIBRATO_HISTORY * 2;
            self.line[history..history + chunk.len()].copy_from_slice(chunk);
            let line = &self.line;
            let mut write = VIBRATO_HISTORY;
            self.oscillator.modulate(
                chunk,
                |angle| [VIBRATO_BASE_DELAY + sweep * 0.5 * (1.0 + angle.sin())],
                |frame, [delay]| {
                    // The delay is positive, so truncation is `floor` (which on baseline
                    // x86-64 is a library call). Through `i32`: one instruction each way,
                    // where `usize` needs several.
                    let whole = delay as i32;
                    let t = delay - whole as f32;
                    let newest = (write - whole as usize) * 2;
                    let taps = &line[newest - 4..newest + 4];
                    for (channel, sample) in frame.iter_mut().enumerate() {
                        let y2 = taps[channel];
                        let y1 = taps[2 + channel];
                        let y0 = taps[4 + channel];
                        let newer = taps[6 + channel];
                        let c1 = 0.5 * (y1 - newer);
                        let c2 = newer - 2.5 * y0 + 2.0 * y1 - 0.5 * y2;
                        let c3 = 0.5 * (y2 - newer) + 1.5 * (y0 - y1);
                        let cubic = mul_add::<FMA>(c3, t, c2);
                        let quadratic = mul_add::<FMA>(cubic, t, c1);
                        *sample = mul_add::<FMA>(quadratic, t, y0);
                    }
                    write += 1;
                },
            );
            let frames = chunk.len() / 2;
            self.line.copy_within(frames * 2..frames * 2 + history, 0);
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        vibrato(self, block);
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
        self.line.fill(0.0);
    }
}
