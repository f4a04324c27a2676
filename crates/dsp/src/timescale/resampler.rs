//! Streaming band-limited resampler: windowed-sinc interpolation from a precomputed table.
//!
//! Output frame `n` is the input read at real position `n · ratio`; reading faster than one
//! input frame per output frame (`ratio > 1`) raises pitch and shortens the track, and the
//! kernel's cutoff drops to `1 / ratio` so nothing above the new Nyquist folds back.

use std::f64::consts::PI;

use crate::CHANNELS;
use crate::kernel::mul_add;

/// Half the kernel length in input frames (the latency, 0.5 ms).
const HALF_TAPS: usize = 24;
const TAPS: usize = 2 * HALF_TAPS;
/// Kernel sub-sample resolution; weights between rows are interpolated linearly.
const PHASES: usize = 256;
/// Kaiser window shape (≈ 70 dB stop band).
const KAISER_BETA: f64 = 7.0;
/// Cutoff sits a little below the target Nyquist so the transition band stays mostly above it.
const CUTOFF_MARGIN: f64 = 0.92;
/// One kernel row, and one window of input, in interleaved samples.
const ROW: usize = TAPS * CHANNELS;

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

/// Partial sums per dot product: one running sum per channel would be a chain of `TAPS`
/// dependent additions; sixteen independent ones (two AVX registers, even lanes left and odd
/// lanes right) keep the adders busy and the chain six operations long.
const LANES: usize = 16;

/// `(Σ samples · weights, per channel)` with `weights = row + (next − row) · blend`: the
/// kernel interpolated between two neighbouring phases. `samples`, `row` and `next` are
/// interleaved stereo of the same length, a multiple of `LANES`.
///
/// Not inlined on purpose: inlined into the output loop, where the lengths are constants, the
/// compiler unrolled it completely into narrow two-lane vectors and ran several times slower.
/// Compiled for baseline x86-64 and for AVX2 + FMA, picked at run time ([`crate::kernel`]).
#[inline(never)]
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn blended_dot(samples: &[f32], row: &[f32], next: &[f32], blend: f32) -> [f32; 2] {
    if multiversion::target::target_cfg_f!(target_feature = "fma") {
        blended_dot_inline::<true>(samples, row, next, blend)
    } else {
        blended_dot_inline::<false>(samples, row, next, blend)
    }
}

#[inline(always)]
fn blended_dot_inline<const FMA: bool>(
    samples: &[f32],
    row: &[f32],
    next: &[f32],
    blend: f32,
) -> [f32; 2] {
    let mut partial = [0.0f32; LANES];
    let (samples, _) = samples.as_chunks::<LANES>();
    let (row, _) = row.as_chunks::<LANES>();
    let (next, _) = next.as_chunks::<LANES>();
    for ((samples, row), next) in samples.iter().zip(row).zip(next) {
        for lane in 0..LANES {
            let weight = mul_add::<FMA>(next[lane] - row[lane], blend, row[lane]);
            partial[lane] = mul_add::<FMA>(samples[lane], weight, partial[lane]);
        }
    }
    // Halving tree, so the reduction stays in vectors: 16 lanes → 8 → 4 → 2 (left, right).
    let mut half = [0.0f32; 8];
    for (lane, half) in half.iter_mut().enumerate() {
        *half = partial[lane] + partial[lane + 8];
    }
    let mut quarter = [0.0f32; 4];
    for (lane, quarter) in quarter.iter_mut().enumerate() {
        *quarter = half[lane] + half[lane + 4];
    }
    [quarter[0] + quarter[2], quarter[1] + quarter[3]]
}

#[derive(Debug, Clone)]
pub(crate) struct Resampler {
    ratio: f64,
    /// `(PHASES + 1) × TAPS` weights, each row normalised to unit DC gain and every weight
    /// stored once per channel (`w0 w0 w1 w1 …`), so a row lines up with interleaved frames.
    kernel: Vec<f32>,
    /// Interleaved input frames; index 0 is padded frame `buffer_start`. Padded frame
    /// `HALF_TAPS + i` is real input frame `i` (the frames before it are silence).
    buffer: Vec<f32>,
    buffer_start: u64,
    produced: u64,
    received: u64,
    finished: bool,
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
        let kernel = kernel
            .into_iter()
            .flat_map(|weight| [weight as f32; CHANNELS])
            .collect();
        let mut resampler = Self {
            ratio,
            kernel,
            buffer: Vec::with_capacity(CHANNELS * 8192),
            buffer_start: 0,
            produced: 0,
            received: 0,
            finished: false,
        };
        resampler.reset();
        resampler
    }

    /// The input buffer, whose size depends on how much audio flows through.
    pub(crate) fn buffer_mut(&mut self) -> &mut Vec<f32> {
        &mut self.buffer
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
            // `position` is never negative, so the integer conversion is `floor` (which is a
            // library call on baseline x86-64).
            let whole = position as u64;
            let base = whole + HALF_TAPS as u64;
            if base + HALF_TAPS as u64 > buffered_end - 1 {
                break;
            }
            let phase_position = (position - whole as f64) * PHASES as f64;
            let phase = (phase_position as usize).min(PHASES - 1);
            let blend = (phase_position - phase as f64) as f32;
            let (row, next) = self.kernel[phase * ROW..(phase + 2) * ROW].split_at(ROW);
            let first = (base + 1 - HALF_TAPS as u64 - self.buffer_start) as usize * CHANNELS;
            let frames = &self.buffer[first..first + ROW];
            output.extend_from_slice(&blended_dot(frames, row, next, blend));
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
