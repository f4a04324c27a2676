//! WSOLA time-stretching (Verhelst & Roelands): changes tempo, keeps pitch.
//!
//! Output is built from Hann-windowed 40 ms segments overlap-added every 20 ms. Segment `k` is
//! taken near input position `k · hop · tempo`, shifted by up to ±10 ms to where it best matches
//! (normalised cross-correlation on the mono sum) the natural continuation of the previous
//! segment, so waveforms line up and nothing phases or stutters.

use std::f32::consts::TAU;

use crate::CHANNELS;

/// Segment length in frames (40 ms at 48 kHz).
const SEGMENT: usize = 1920;
/// Synthesis hop: 50 % overlap, where a periodic Hann window sums to exactly one.
const HOP: usize = SEGMENT / 2;
/// How far (frames, each way) a segment may move to line up with its predecessor.
const TOLERANCE: usize = 480;
/// The coarse search looks at every `COARSE_STEP`-th offset and sample, then refines.
const COARSE_STEP: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct Wsola {
    tempo: f64,
    window: Vec<f32>,
    /// Interleaved input; index 0 is padded frame `buffer_start`. Padded frame `HOP + i` is real
    /// frame `i`: one hop of leading silence so the first window's rising half covers nothing.
    buffer: Vec<f32>,
    buffer_start: u64,
    received: u64,
    /// Overlap-add accumulator, `SEGMENT` interleaved frames.
    accumulator: Vec<f32>,
    segment: u64,
    previous_start: u64,
    /// Real output frames emitted so far.
    emitted: u64,
    /// Exact output length once the input has ended.
    target: Option<u64>,
}

impl Wsola {
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn new(tempo: f64) -> Self {
        let window = (0..SEGMENT)
            .map(|n| 0.5 - 0.5 * (TAU * n as f32 / SEGMENT as f32).cos())
            .collect();
        let mut wsola = Self {
            tempo,
            window,
            buffer: Vec::with_capacity(CHANNELS * 16_384),
            buffer_start: 0,
            received: 0,
            accumulator: vec![0.0; SEGMENT * CHANNELS],
            segment: 0,
            previous_start: 0,
            emitted: 0,
            target: None,
        };
        wsola.reset();
        wsola
    }

    pub(crate) fn reset(&mut self) {
        self.buffer.clear();
        self.buffer.resize(HOP * CHANNELS, 0.0);
        self.buffer_start = 0;
        self.received = 0;
        self.accumulator.fill(0.0);
        self.segment = 0;
        self.previous_start = 0;
        self.emitted = 0;
        self.target = None;
    }

    pub(crate) fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        self.buffer.extend_from_slice(input);
        self.received += (input.len() / CHANNELS) as u64;
        self.produce(output);
    }

    /// Output length is exactly `round(input / tempo)` frames.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub(crate) fn finish(&mut self, output: &mut Vec<f32>) {
        if self.target.is_none() {
            self.target = Some((self.received as f64 / self.tempo).round() as u64);
            self.produce(output);
        }
    }

    fn buffered_end(&self) -> u64 {
        self.buffer_start + (self.buffer.len() / CHANNELS) as u64
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn nominal_start(&self, segment: u64) -> u64 {
        (segment as f64 * HOP as f64 * self.tempo).round() as u64
    }

    #[allow(clippy::cast_possible_truncation)]
    fn produce(&mut self, output: &mut Vec<f32>) {
        loop {
            if let Some(target) = self.target
                && self.emitted >= target
            {
                return;
            }
            let nominal = self.nominal_start(self.segment);
            let needed_end =
                (nominal + (TOLERANCE + SEGMENT) as u64).max(self.previous_start + SEGMENT as u64);
            if self.buffered_end() < needed_end {
                if self.target.is_none() {
                    return;
                }
                // Past the end of the input: the rest is silence.
                let missing = (needed_end - self.buffered_end()) as usize;
                self.buffer
                    .resize(self.buffer.len() + missing * CHANNELS, 0.0);
            }
            let start = if self.segment == 0 {
                0
            } else {
                self.best_start(nominal)
            };
            self.overlap_add(start, output);
            self.previous_start = start;
            self.segment += 1;
            let keep_from = (self.previous_start + HOP as u64).min(
                self.nominal_start(self.segment)
                    .saturating_sub(TOLERANCE as u64),
            );
            if keep_from > self.buffer_start {
                let drop =
                    ((keep_from - self.buffer_start) as usize * CHANNELS).min(self.buffer.len());
                self.buffer.drain(..drop);
                self.buffer_start += (drop / CHANNELS) as u64;
            }
        }
    }

    /// Mono sample at padded frame `frame`.
    #[inline]
    #[allow(clippy::cast_possible_truncation)]
    fn mono(&self, frame: u64) -> f32 {
        let index = (frame - self.buffer_start) as usize * CHANNELS;
        self.buffer[index] + self.buffer[index + 1]
    }

    /// Normalised correlation of the `HOP` frames at `candidate` with those at `reference`.
    fn similarity(&self, reference: u64, candidate: u64, step: usize) -> f32 {
        let (mut cross, mut energy) = (0.0f32, 1e-9f32);
        for offset in (0..HOP as u64).step_by(step) {
            let c = self.mono(candidate + offset);
            cross += self.mono(reference + offset) * c;
            energy += c * c;
        }
        cross / energy.sqrt()
    }

    fn best_start(&self, nominal: u64) -> u64 {
        let reference = self.previous_start + HOP as u64;
        let lowest = nominal
            .saturating_sub(TOLERANCE as u64)
            .max(self.buffer_start);
        let highest = nominal + TOLERANCE as u64;
        let mut best = nominal.max(lowest);
        let mut best_score = f32::NEG_INFINITY;
        for candidate in (lowest..=highest).step_by(COARSE_STEP) {
            let score = self.similarity(reference, candidate, COARSE_STEP);
            if score > best_score {
                best_score = score;
                best = candidate;
            }
        }
        let coarse = best;
        best_score = f32::NEG_INFINITY;
        let refine_low = coarse.saturating_sub(COARSE_STEP as u64).max(lowest);
        let refine_high = (coarse + COARSE_STEP as u64).min(highest);
        for candidate in refine_low..=refine_high {
            let score = self.similarity(reference, candidate, 1);
            if score > best_score {
                best_score = score;
                best = candidate;
            }
        }
        best
    }

    #[allow(clippy::cast_possible_truncation)]
    fn overlap_add(&mut self, start: u64, output: &mut Vec<f32>) {
        let first = (start - self.buffer_start) as usize * CHANNELS;
        let segment = &self.buffer[first..first + SEGMENT * CHANNELS];
        for ((sum, frame), weight) in self
            .accumulator
            .chunks_exact_mut(CHANNELS)
            .zip(segment.chunks_exact(CHANNELS))
            .zip(&self.window)
        {
            sum[0] += frame[0] * weight;
            sum[1] += frame[1] * weight;
        }
        // The first hop is complete. Segment 0's first hop is the leading silence: skip it.
        if self.segment > 0 {
            let mut frames = HOP as u64;
            if let Some(target) = self.target {
                frames = frames.min(target - self.emitted);
            }
            output.extend_from_slice(&self.accumulator[..frames as usize * CHANNELS]);
            self.emitted += frames;
        }
        self.accumulator.copy_within(HOP * CHANNELS.., 0);
        self.accumulator[HOP * CHANNELS..].fill(0.0);
    }
}
