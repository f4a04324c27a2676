//! WSOLA time-stretching (Verhelst & Roelands): changes tempo, keeps pitch.
//!
//! Output is built from Hann-windowed 40 ms segments overlap-added every 20 ms. Segment `k` is
//! taken near input position `k · hop · tempo`, shifted by up to ±10 ms to where it best matches
//! (normalised cross-correlation on the mono sum) the natural continuation of the previous
//! segment, so waveforms line up and nothing phases or stutters.

use std::f32::consts::TAU;

use crate::CHANNELS;
use crate::kernel::extend_samples;

/// Segment length in frames (40 ms at 48 kHz).
const SEGMENT: usize = 1920;
/// Synthesis hop: 50 % overlap, where a periodic Hann window sums to exactly one.
const HOP: usize = SEGMENT / 2;
/// How far (frames, each way) a segment may move to line up with its predecessor.
const TOLERANCE: usize = 480;
/// The coarse search looks at every `COARSE_STEP`-th offset and sample, then refines.
const COARSE_STEP: usize = 4;

/// Input frames the buffer may hold at once: from the previous segment to the end of the next
/// one's search range (about `HOP · tempo` apart, ± the tolerance), plus one input block.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]
fn buffer_frames(tempo: f64) -> usize {
    let span = (HOP as f64 * tempo).ceil() as usize + 2 * TOLERANCE + SEGMENT;
    (span + 2 * crate::FRAMES_PER_BLOCK).max(16_384)
}

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
    coarse: Search,
    fine: Search,
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
            buffer: Vec::with_capacity(CHANNELS * buffer_frames(tempo)),
            buffer_start: 0,
            received: 0,
            accumulator: vec![0.0; SEGMENT * CHANNELS],
            segment: 0,
            previous_start: 0,
            emitted: 0,
            target: None,
            coarse: Search::new(COARSE_STEP, 2 * TOLERANCE + 1),
            fine: Search::new(1, 2 * COARSE_STEP + 1),
        };
        wsola.reset();
        wsola
    }

    /// The input buffer, whose size depends on how much audio flows through.
    pub(crate) fn buffer_mut(&mut self) -> &mut Vec<f32> {
        &mut self.buffer
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
        extend_samples(&mut self.buffer, input);
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

    /// Coarse search every `COARSE_STEP` frames (and samples), then a full-rate search around
    /// the coarse winner.
    fn best_start(&mut self, nominal: u64) -> u64 {
        let reference = self.previous_start + HOP as u64;
        let lowest = nominal
            .saturating_sub(TOLERANCE as u64)
            .max(self.buffer_start);
        let highest = nominal + TOLERANCE as u64;
        let coarse =
            self.coarse
                .best_match(&self.buffer, self.buffer_start, reference, lowest..=highest);
        let refine_low = coarse.saturating_sub(COARSE_STEP as u64).max(lowest);
        let refine_high = (coarse + COARSE_STEP as u64).min(highest);
        self.fine.best_match(
            &self.buffer,
            self.buffer_start,
            reference,
            refine_low..=refine_high,
        )
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
            extend_samples(output, &self.accumulator[..frames as usize * CHANNELS]);
            self.emitted += frames;
        }
        self.accumulator.copy_within(HOP * CHANNELS.., 0);
        self.accumulator[HOP * CHANNELS..].fill(0.0);
    }
}

/// Dot product with eight independent partial sums, so it vectorises (one running sum would be
/// a chain of dependent additions). `window` must be at least as long as `reference`.
#[inline(always)]
fn dot(reference: &[f32], window: &[f32]) -> f32 {
    const LANES: usize = 8;
    let window = &window[..reference.len()];
    let mut partial = [0.0f32; LANES];
    let (reference_chunks, reference_rest) = reference.as_chunks::<LANES>();
    let (window_chunks, window_rest) = window.as_chunks::<LANES>();
    for (reference, window) in reference_chunks.iter().zip(window_chunks) {
        for lane in 0..LANES {
            partial[lane] += reference[lane] * window[lane];
        }
    }
    for (reference, window) in reference_rest.iter().zip(window_rest) {
        partial[0] += reference * window;
    }
    ((partial[0] + partial[1]) + (partial[2] + partial[3]))
        + ((partial[4] + partial[5]) + (partial[6] + partial[7]))
}

/// One stage of the similarity search, with its scratch buffers.
#[derive(Debug, Clone)]
struct Search {
    /// Frames (and samples) between two candidates, and between two compared samples.
    step: usize,
    /// Mono sums of the reference, and of the whole candidate region, every `step`-th frame.
    reference: Vec<f32>,
    candidates: Vec<f32>,
    /// `energy_prefix[i]` = Σ candidates[..i]², in `f64` so differences of it stay exact enough.
    energy_prefix: Vec<f64>,
}

impl Search {
    /// `span` is the widest candidate range in frames.
    fn new(step: usize, span: usize) -> Self {
        Self {
            step,
            reference: Vec::with_capacity(HOP / step),
            candidates: Vec::with_capacity(span / step + 1 + HOP / step),
            energy_prefix: Vec::with_capacity(span / step + 2 + HOP / step),
        }
    }

    /// The candidate start in `range` (every `step`-th frame from its start) whose `HOP / step`
    /// mono samples (every `step`-th frame) correlate best, normalised by the candidate's
    /// energy, with those at `reference`. Ties go to the earliest. `buffer` is interleaved
    /// stereo whose first frame is padded frame `buffer_start`.
    fn best_match(
        &mut self,
        buffer: &[f32],
        buffer_start: u64,
        reference: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        search(self, buffer, buffer_start, reference, range)
    }

    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn best_match_inline(
        &mut self,
        buffer: &[f32],
        buffer_start: u64,
        reference: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        let (lowest, highest) = range.into_inner();
        let length = HOP / self.step;
        let candidates = ((highest - lowest) / self.step as u64) as usize + 1;
        let mono = |first: u64, count: usize, into: &mut Vec<f32>| {
            let start = (first - buffer_start) as usize * CHANNELS;
            into.clear();
            into.extend(
                buffer[start..]
                    .chunks_exact(CHANNELS)
                    .step_by(self.step)
                    .take(count)
                    .map(|frame| frame[0] + frame[1]),
            );
        };
        mono(reference, length, &mut self.reference);
        mono(lowest, candidates + length - 1, &mut self.candidates);
        self.energy_prefix.clear();
        self.energy_prefix.push(0.0);
        let mut running = 0.0f64;
        for sample in &self.candidates {
            running += f64::from(sample * sample);
            self.energy_prefix.push(running);
        }
        let mut best = 0;
        let mut best_score = f32::NEG_INFINITY;
        for (index, window) in self.candidates.windows(length).enumerate() {
            let cross = dot(&self.reference, window);
            let energy = self.energy_prefix[index + length] - self.energy_prefix[index];
            let score = cross / (1e-9 + energy.max(0.0) as f32).sqrt();
            if score > best_score {
                best_score = score;
                best = index;
            }
        }
        lowest + (best * self.step) as u64
    }
}

/// The similarity search, compiled for baseline x86-64 and for AVX2 + FMA; the CPU's features
/// pick one at run time.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn search(
    stage: &mut Search,
    buffer: &[f32],
    buffer_start: u64,
    reference: u64,
    range: std::ops::RangeInclusive<u64>,
) -> u64 {
    stage.best_match_inline(buffer, buffer_start, reference, range)
}
