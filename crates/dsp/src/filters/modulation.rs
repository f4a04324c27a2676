//! Filters driven by a low-frequency oscillator: rotation ("8D"), tremolo and vibrato.
//!
//! Every oscillator starts at the phase where the filter is transparent (centre pan, full
//! volume, mid delay), so enabling one never jumps.

use std::f32::consts::{FRAC_PI_4, SQRT_2, TAU};

use minstrel_domain::filters::{Oscillation, Rotation};

use crate::SAMPLE_RATE;

/// Phase accumulator in cycles, kept in `0 ..= 1` so `f32` precision never degrades.
#[derive(Debug, Clone)]
struct Oscillator {
    phase: f64,
    increment: f64,
}

impl Oscillator {
    fn new(frequency_hz: f32) -> Self {
        Self {
            phase: 0.0,
            increment: f64::from(frequency_hz) / f64::from(SAMPLE_RATE),
        }
    }

    /// Current angle in radians, then advance one frame.
    #[allow(clippy::cast_possible_truncation)]
    fn next_angle(&mut self) -> f32 {
        let angle = (self.phase as f32) * TAU;
        self.phase = (self.phase + self.increment).fract();
        angle
    }

    fn reset(&mut self) {
        self.phase = 0.0;
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
        for frame in block.chunks_exact_mut(2) {
            let position = self.oscillator.next_angle().sin();
            let (right, left) = (FRAC_PI_4 * (1.0 + position)).sin_cos();
            frame[0] *= SQRT_2 * left;
            frame[1] *= SQRT_2 * right;
        }
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
        for frame in block.chunks_exact_mut(2) {
            let gain = 1.0 - self.depth * (1.0 - self.oscillator.next_angle().cos()) * 0.5;
            frame[0] *= gain;
            frame[1] *= gain;
        }
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
    }
}

/// Longest vibrato sweep, as in lavadsp: 2 ms of delay at depth 1.
const VIBRATO_MAX_SWEEP_SECONDS: f32 = 0.002;
/// Minimum delay so the 4-point interpolator always has a newer neighbour.
const VIBRATO_BASE_DELAY: f32 = 2.0;
/// Power of two comfortably above base + sweep (2 + 96 frames).
const VIBRATO_LINE: usize = 256;

/// Pitch modulation through a delay line whose length follows a sine; reads are 4-point,
/// 3rd-order Hermite interpolated.
#[derive(Debug, Clone)]
pub(crate) struct VibratoFilter {
    oscillator: Oscillator,
    sweep: f32,
    line: [[f32; VIBRATO_LINE]; 2],
    write: usize,
}

impl VibratoFilter {
    pub(crate) fn new(spec: Oscillation) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let max_sweep = VIBRATO_MAX_SWEEP_SECONDS * SAMPLE_RATE as f32;
        Self {
            oscillator: Oscillator::new(spec.frequency),
            sweep: max_sweep * spec.depth.clamp(0.0, 1.0),
            line: [[0.0; VIBRATO_LINE]; 2],
            write: 0,
        }
    }

    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::many_single_char_names
    )]
    pub(crate) fn process(&mut self, block: &mut [f32]) {
        const MASK: usize = VIBRATO_LINE - 1;
        for frame in block.chunks_exact_mut(2) {
            self.write = (self.write + 1) & MASK;
            let delay =
                VIBRATO_BASE_DELAY + self.sweep * 0.5 * (1.0 + self.oscillator.next_angle().sin());
            let whole = delay.floor();
            let t = delay - whole;
            let newest = (self.write + VIBRATO_LINE - whole as usize) & MASK;
            for (sample, line) in frame.iter_mut().zip(&mut self.line) {
                line[self.write] = *sample;
                let newer = line[(newest + 1) & MASK];
                let y0 = line[newest];
                let y1 = line[(newest + MASK) & MASK];
                let y2 = line[(newest + MASK - 1) & MASK];
                let c1 = 0.5 * (y1 - newer);
                let c2 = newer - 2.5 * y0 + 2.0 * y1 - 0.5 * y2;
                let c3 = 0.5 * (y2 - newer) + 1.5 * (y0 - y1);
                *sample = ((c3 * t + c2) * t + c1) * t + y0;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
        self.line = [[0.0; VIBRATO_LINE]; 2];
    }
}
