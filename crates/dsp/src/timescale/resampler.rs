//! Streaming band-limited resampler: windowed-sinc interpolation from a precomputed table.
//!
//! Output frame `n` is the input read at real position `n · ratio`; reading faster than one
//! input frame per output frame (`ratio > 1`) raises pitch and shortens the track, and the
//! kernel's cutoff drops to `1 / ratio` so nothing above the new Nyquist folds back.

use std::f64::consts::PI;

use crate::CHANNELS;

/// Half the kernel length in input frames (the latency, 0.5 ms).
const HALF_TAPS: usize = 24;
const TAPS: usize = 2 * HALF_TAPS;
/// Kernel sub-sample resolution; weights between rows are interpolated linearly.
const PHASES: usize = 256;
/// Kaiser window shape (≈ 70 dB stop band).
const KAISER_BETA: f64 = 7.0;
/// Cutoff sits a little below the target Nyquist so the transition band stays mostly above it.
const CUTOFF_MARGIN: f64 = 0.92;

/// Zeroth-order modified Bessel function of the first kind (series; converges fast for β ≤ 10).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..40 {
        let factor = half / f64::from(k);
        term *= factor * factor;
        sum += term;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum
}

#[derive(Debug, Clone)]
pub(crate) struct Resampler {
    ratio: f64,
    /// `(PHASES + 1) × TAPS` weights, each row normalised to unit DC gain.
    kernel: Vec<f32>,
    /// Interleaved input frames; index 0 is padded frame `buffer_start`. Padded frame
    /// `HALF_TAPS + i` is real input frame `i` (the frames before it are silence).
    buffer: Vec<f32>,
    buffer_start: u64,
    produced: u64,
    received: u64,
    finished: bool,
    weights: [f32; TAPS],
}

impl Resampler {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    pub(crate) fn new(ratio: f64) -> Self {
        let cutoff = (1.0 / ratio).min(1.0) * CUTOFF_MARGIN;
        let mut kernel = Vec::with_capacity((PHASES + 1) * TAPS);
        let i0_beta = bessel_i0(KAISER_BETA);
        for phase in 0..=PHASES {
            let fraction = phase as f64 / PHASES as f64;
            let row_start = kernel.len();
            for tap in 0..TAPS {
                // Tap `tap` weights input frame `base − HALF_TAPS + 1 + tap`.
                let t = tap as f64 - (HALF_TAPS as f64 - 1.0) - fraction;
                let sinc = if t.abs() < 1e-12 {
                    1.0
                } else {
                    (PI * cutoff * t).sin() / (PI * cutoff * t)
                };
                let normalised = t / HALF_TAPS as f64;
                let window = if normalised.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(KAISER_BETA * (1.0 - normalised * normalised).sqrt()) / i0_beta
                };
                kernel.push(cutoff * sinc * window);
            }
            let row = &mut kernel[row_start..];
            let sum: f64 = row.iter().sum();
            for weight in row {
                *weight /= sum;
            }
        }
        let kernel = kernel.into_iter().map(|weight| weight as f32).collect();
        let mut resampler = Self {
            ratio,
            kernel,
            buffer: Vec::with_capacity(CHANNELS * 8192),
            buffer_start: 0,
            produced: 0,
            received: 0,
            finished: false,
            weights: [0.0; TAPS],
        };
        resampler.reset();
        resampler
    }

    pub(crate) fn reset(&mut self) {
        self.buffer.clear();
        self.buffer.resize(HALF_TAPS * CHANNELS, 0.0);
        self.buffer_start = 0;
        self.produced = 0;
        self.received = 0;
        self.finished = false;
    }

    pub(crate) fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        self.buffer.extend_from_slice(input);
        self.received += (input.len() / CHANNELS) as u64;
        self.produce(output);
    }

    /// Flushes the last `HALF_TAPS` frames; output length is exactly `⌈input / ratio⌉` frames.
    pub(crate) fn finish(&mut self, output: &mut Vec<f32>) {
        if !self.finished {
            self.finished = true;
            self.buffer
                .extend(std::iter::repeat_n(0.0, HALF_TAPS * CHANNELS));
            self.produce(output);
        }
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn produce(&mut self, output: &mut Vec<f32>) {
        let buffered_end = self.buffer_start + (self.buffer.len() / CHANNELS) as u64;
        loop {
            let position = self.produced as f64 * self.ratio;
            if self.finished && position >= self.received as f64 {
                break;
            }
            let whole = position.floor();
            let base = whole as u64 + HALF_TAPS as u64;
            if base + HALF_TAPS as u64 > buffered_end - 1 {
                break;
            }
            let phase_position = (position - whole) * PHASES as f64;
            let phase = (phase_position.floor() as usize).min(PHASES - 1);
            let blend = (phase_position - phase as f64) as f32;
            let (row, next) = self.kernel[phase * TAPS..(phase + 2) * TAPS].split_at(TAPS);
            for ((weight, a), b) in self.weights.iter_mut().zip(row).zip(next) {
                *weight = a + (b - a) * blend;
            }
            let first = (base + 1 - HALF_TAPS as u64 - self.buffer_start) as usize * CHANNELS;
            let frames = &self.buffer[first..first + TAPS * CHANNELS];
            let (mut left, mut right) = (0.0, 0.0);
            for (frame, weight) in frames.chunks_exact(CHANNELS).zip(&self.weights) {
                left += frame[0] * weight;
                right += frame[1] * weight;
            }
            output.push(left);
            output.push(right);
            self.produced += 1;
        }
        // Keep only what the next output frame can still reach.
        let next_base = (self.produced as f64 * self.ratio).floor() as u64 + HALF_TAPS as u64;
        let keep_from = (next_base + 1).saturating_sub(HALF_TAPS as u64);
        if keep_from > self.buffer_start {
            let drop = ((keep_from - self.buffer_start) as usize * CHANNELS).min(self.buffer.len());
            self.buffer.drain(..drop);
            self.buffer_start += (drop / CHANNELS) as u64;
        }
    }
}
