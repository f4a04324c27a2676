//! Streaming band-limited resampler: windowed-sinc interpolation from a precomputed table.
//!
//! Output frame `n` is the input read at real position `n · ratio`; reading faster than one
//! input frame per output frame (`ratio > 1`) raises pitch and shortens the track, and the
//! kernel's cutoff drops to `1 / ratio` so nothing above the new Nyquist folds back.

use std::f64::consts::PI;

use crate::CHANNELS;
use crate::kernel::{extend_samples, mul_add};

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
/// compiler may unroll it completely into narrow two-lane vectors, which are much slower.
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
    steps: Steps,
    /// One row of `TAPS` weights per phase (`denominator` rows when exact, `PHASES + 1`
    /// when blended), each normalised to unit DC gain and every weight stored once per
    /// channel (`w0 w0 w1 w1 …`), so a row lines up with interleaved frames.
    kernel: Vec<f32>,
    /// Interleaved input frames; index 0 is padded frame `buffer_start`. Padded frame
    /// `HALF_TAPS + i` is real input frame `i` (the frames before it are silence).
    buffer: Vec<f32>,
    buffer_start: u64,
    produced: u64,
    /// Where output frame `produced` reads (exact steps only).
    next: Position,
    received: u64,
    finished: bool,
    /// AVX2 + FMA, when the CPU has them: the output loop then runs in explicit SIMD.
    simd: Option<vector::Simd>,
}

/// How output frame `n`'s read position `n · ratio` is found.
#[derive(Debug, Clone, Copy)]
enum Steps {
    /// `ratio` is `numerator / denominator` (to 1e-7 of itself, with a denominator up to
    /// [`MAX_DENOMINATOR`]): the position is kept as a whole frame and a phase in
    /// `0..denominator`, each phase has its own exact kernel row, and nothing is blended.
    /// Nightcore (1.25 = 5/4), slow and vaporwave (0.8 = 4/5) are such ratios.
    Exact { numerator: u64, denominator: u64 },
    /// Any other ratio: the kernel is interpolated between the two nearest of
    /// `PHASES + 1` rows.
    Blended,
}

/// The largest denominator [`Steps::Exact`] takes (its kernel is that many rows, 384 bytes each).
const MAX_DENOMINATOR: u64 = 512;

impl Steps {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn for_ratio(ratio: f64) -> Self {
        (1..=MAX_DENOMINATOR)
            .find_map(|denominator| {
                let numerator = (ratio * denominator as f64).round();
                (numerator >= 1.0 && (numerator / denominator as f64 - ratio).abs() <= 1e-7 * ratio)
                    .then_some(Self::Exact {
                        numerator: numerator as u64,
                        denominator,
                    })
            })
            .unwrap_or(Self::Blended)
    }
}

/// A read position as a whole input frame and a phase (`phase / denominator` of a frame).
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    whole: u64,
    phase: u64,
}

/// The windowed-sinc rows for the given sub-sample `fractions`, interleaved per channel.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn kernel_rows(cutoff: f64, fractions: impl Iterator<Item = f64>) -> Vec<f32> {
    let i0_beta = bessel_i0(KAISER_BETA);
    let mut kernel = Vec::new();
    for fraction in fractions {
        let mut row = [0.0f64; TAPS];
        for (tap, weight) in row.iter_mut().enumerate() {
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
            *weight = cutoff * sinc * window;
        }
        let sum: f64 = row.iter().sum();
        kernel.extend(
            row.iter()
                .flat_map(|weight| [(weight / sum) as f32; CHANNELS]),
        );
    }
    kernel
}

impl Resampler {
    pub(crate) fn new(ratio: f64) -> Self {
        Self::with_steps(ratio, Steps::for_ratio(ratio))
    }

    #[allow(clippy::cast_precision_loss)]
    fn with_steps(ratio: f64, steps: Steps) -> Self {
        let cutoff = (1.0 / ratio).min(1.0) * CUTOFF_MARGIN;
        let kernel = match steps {
            Steps::Exact { denominator, .. } => kernel_rows(
                cutoff,
                (0..denominator).map(|k| k as f64 / denominator as f64),
            ),
            Steps::Blended => kernel_rows(cutoff, (0..=PHASES).map(|k| k as f64 / PHASES as f64)),
        };
        let mut resampler = Self {
            ratio,
            steps,
            kernel,
            buffer: Vec::with_capacity(CHANNELS * 8192),
            buffer_start: 0,
            produced: 0,
            next: Position::default(),
            received: 0,
            finished: false,
            simd: vector::detect(),
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
        self.next = Position::default();
        self.received = 0;
        self.finished = false;
    }

    pub(crate) fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        extend_samples(&mut self.buffer, input);
        self.received += (input.len() / CHANNELS) as u64;
        self.produce(output);
    }

    /// Flushes the last `HALF_TAPS` frames; output length is exactly `⌈input / ratio⌉` frames
    /// (with the ratio as its fraction under [`Steps::Exact`], within 1e-7 of it).
    pub(crate) fn finish(&mut self, output: &mut Vec<f32>) {
        if !self.finished {
            self.finished = true;
            self.buffer
                .extend(std::iter::repeat_n(0.0, HALF_TAPS * CHANNELS));
            self.produce(output);
        }
    }

    fn produce(&mut self, output: &mut Vec<f32>) {
        match self.simd {
            Some(simd) => vector::produce(simd, self, output),
            None => self.produce_with(output, &PortableDots),
        }
        self.drop_consumed();
    }

    /// Every output frame the buffered input allows, appended to `output`, through `dots`.
    #[inline(always)]
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn produce_with(&mut self, output: &mut Vec<f32>, dots: &impl DotProducts) {
        let buffered_end = self.buffer_start + (self.buffer.len() / CHANNELS) as u64;
        let buffer_start = self.buffer_start;
        // An output frame reading at `whole + …` needs input frames `whole + 1 ..= whole +
        // 2·HALF_TAPS` buffered, and once the input is finished `whole` before its end.
        let mut end_whole = buffered_end.saturating_sub(2 * HALF_TAPS as u64);
        if self.finished {
            end_whole = end_whole.min(self.received);
        }
        // Where the `ROW` interleaved samples of an output frame at `whole + …` start.
        let first = move |whole: u64| (whole + 1 - buffer_start) as usize * CHANNELS;
        // The frames are written into room made first, and the position is kept in locals:
        // pushed one by one, each frame's update of the output's length and of `self` went
        // through memory, a store-to-load chain per output frame.
        let written = output.len();
        match self.steps {
            Steps::Exact {
                numerator,
                denominator,
            } => {
                // Read positions in `1 / denominator` frames: this one, and the first that
                // cannot be produced yet.
                let start = self.next.whole * denominator + self.next.phase;
                let end = end_whole * denominator;
                let count = end.saturating_sub(start).div_ceil(numerator) as usize;
                output.resize(written + count * CHANNELS, 0.0);
                let frames = output[written..].as_chunks_mut::<CHANNELS>().0;
                // Output frames `denominator` apart share a phase, and so a kernel row, and
                // read `numerator` input frames further on: the frames are produced one phase
                // at a time, the row's weights loaded once for all of its frames.
                let period = denominator as usize;
                let stride = numerator as usize * CHANNELS;
                for residue in 0..period.min(count) {
                    let position = start + residue as u64 * numerator;
                    let (whole, phase) = (position / denominator, position % denominator);
                    let row = &self.kernel[phase as usize * ROW..][..ROW];
                    let outputs = frames[residue..].iter_mut().step_by(period);
                    dots.exact_run(&self.buffer, first(whole), stride, row, outputs);
                }
                let next = start + count as u64 * numerator;
                self.produced += count as u64;
                self.next = Position {
                    whole: next / denominator,
                    phase: next % denominator,
                };
            }
            Steps::Blended => {
                // At most this many frames (one more than the read positions' span allows,
                // for rounding); the loop stops at the first that cannot be produced.
                let span = end_whole as f64 - self.produced as f64 * self.ratio;
                let most = if span > 0.0 {
                    (span / self.ratio) as usize + 2
                } else {
                    0
                };
                output.resize(written + most * CHANNELS, 0.0);
                let mut produced = self.produced;
                let mut count = 0;
                for frame in output[written..].as_chunks_mut::<CHANNELS>().0 {
                    let position = produced as f64 * self.ratio;
                    // `position` is never negative, so the integer conversion is `floor`
                    // (which is a library call on baseline x86-64).
                    let whole = position as u64;
                    if whole >= end_whole {
                        break;
                    }
                    let first = first(whole);
                    let frames = &self.buffer[first..first + ROW];
                    let phase_position = (position - whole as f64) * PHASES as f64;
                    let phase = (phase_position as usize).min(PHASES - 1);
                    let blend = (phase_position - phase as f64) as f32;
                    let (row, next) = self.kernel[phase * ROW..(phase + 2) * ROW].split_at(ROW);
                    *frame = dots.blended(frames, row, next, blend);
                    produced += 1;
                    count += 1;
                }
                output.truncate(written + count * CHANNELS);
                self.produced = produced;
            }
        }
    }

    /// Drops the input the next output frame can no longer reach.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn drop_consumed(&mut self) {
        let next_whole = match self.steps {
            Steps::Exact { .. } => self.next.whole,
            Steps::Blended => (self.produced as f64 * self.ratio).floor() as u64,
        };
        let next_base = next_whole + HALF_TAPS as u64;
        let keep_from = (next_base + 1).saturating_sub(HALF_TAPS as u64);
        if keep_from > self.buffer_start {
            let drop = ((keep_from - self.buffer_start) as usize * CHANNELS).min(self.buffer.len());
            self.buffer.drain(..drop);
            self.buffer_start += (drop / CHANNELS) as u64;
        }
    }
}

/// The two dot products of the output loop, one per kind of [`Steps`]: an exact kernel row,
/// or `row + (next − row) · blend`. Methods of a trait, `#[inline(always)]`, rather than
/// closures, so they are compiled with the CPU features of the loop they are inlined into.
trait DotProducts {
    /// The exact row's dot products for output frames that all use `row`: the `n`-th reads
    /// the `ROW` samples from `first + n · stride` of `buffer`.
    fn exact_run<'a>(
        &self,
        buffer: &[f32],
        first: usize,
        stride: usize,
        row: &[f32],
        outputs: impl Iterator<Item = &'a mut [f32; 2]>,
    );
    fn blended(&self, samples: &[f32], row: &[f32], next: &[f32], blend: f32) -> [f32; 2];
}

/// The dot products without explicit SIMD ([`blended_dot`], dispatched by `multiversion`).
struct PortableDots;

impl DotProducts for PortableDots {
    #[inline(always)]
    fn exact_run<'a>(
        &self,
        buffer: &[f32],
        first: usize,
        stride: usize,
        row: &[f32],
        outputs: impl Iterator<Item = &'a mut [f32; 2]>,
    ) {
        for (index, output) in outputs.enumerate() {
            let start = first + index * stride;
            *output = blended_dot(&buffer[start..start + ROW], row, row, 0.0);
        }
    }

    #[inline(always)]
    fn blended(&self, samples: &[f32], row: &[f32], next: &[f32], blend: f32) -> [f32; 2] {
        blended_dot(samples, row, next, blend)
    }
}

/// The output loop in explicit AVX2 + FMA (`pulp`'s safe wrappers; its `V3` token is the
/// run-time check): exact rows one phase at a time with the row in registers, blended rows
/// one dot product per output frame in four 8-lane accumulators, so neither the lanes nor the
/// reduction depend on what the compiler makes of array code.
mod vector {
    pub(super) use crate::kernel::{Simd, detect_simd as detect};

    use super::Resampler;

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn produce(simd: Simd, _: &mut Resampler, _: &mut Vec<f32>) {
        match simd {}
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) fn produce(simd: Simd, resampler: &mut Resampler, output: &mut Vec<f32>) {
        simd.vectorize(Produce {
            simd,
            resampler,
            output,
        });
    }

    /// The output loop as `pulp` runs it with AVX2 + FMA enabled. A struct with an
    /// `#[inline(always)]` method rather than a closure: only what is inlined into `pulp`'s
    /// entry point gets its CPU features, and a closure is inlined at the compiler's
    /// discretion, and out of line it runs without them.
    #[cfg(target_arch = "x86_64")]
    struct Produce<'a> {
        simd: Simd,
        resampler: &'a mut Resampler,
        output: &'a mut Vec<f32>,
    }

    #[cfg(target_arch = "x86_64")]
    impl pulp::NullaryFnOnce for Produce<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            self.resampler
                .produce_with(self.output, &VectorDots(self.simd));
        }
    }

    /// The dot products in explicit AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    struct VectorDots(Simd);

    #[cfg(target_arch = "x86_64")]
    impl super::DotProducts for VectorDots {
        #[inline(always)]
        fn exact_run<'a>(
            &self,
            buffer: &[f32],
            first: usize,
            stride: usize,
            row: &[f32],
            outputs: impl Iterator<Item = &'a mut [f32; 2]>,
        ) {
            x86::exact_run(self.0, buffer, first, stride, row, outputs);
        }

        #[inline(always)]
        fn blended(&self, samples: &[f32], row: &[f32], next: &[f32], blend: f32) -> [f32; 2] {
            x86::blended_dot(self.0, samples, row, next, blend)
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::x86_64::{__m128, __m256};

        use pulp::{cast, f32x8};

        use super::Simd;

        /// [`super::super::DotProducts::exact_run`] with the row's twelve registers of weights
        /// loaded once and held for every frame (each sample register is then one load and
        /// one multiply-add, where a blended dot product loads a register of weights for each).
        #[inline(always)]
        pub(super) fn exact_run<'a>(
            simd: Simd,
            buffer: &[f32],
            first: usize,
            stride: usize,
            row: &[f32],
            outputs: impl Iterator<Item = &'a mut [f32; 2]>,
        ) {
            let Some(row) = row.as_array::<{ super::super::ROW }>() else {
                unreachable!("a kernel row is ROW samples")
            };
            let (row, _) = row.as_chunks::<8>();
            let weights: [f32x8; super::super::ROW / 8] =
                std::array::from_fn(|index| cast(row[index]));
            let zero = simd.splat_f32x8(0.0);
            for (index, output) in outputs.enumerate() {
                let start = first + index * stride;
                let Some(samples) = buffer[start..].first_chunk::<{ super::super::ROW }>() else {
                    unreachable!("the caller checked that every frame is buffered")
                };
                let (samples, _) = samples.as_chunks::<8>();
                let mut sums = [zero; 2];
                for (index, (samples, weights)) in samples.iter().zip(&weights).enumerate() {
                    let sum = &mut sums[index % 2];
                    *sum = simd.mul_add_f32x8(cast(*samples), *weights, *sum);
                }
                *output = fold(simd, simd.add_f32x8(sums[0], sums[1]));
            }
        }

        /// Lanes alternating left and right, summed to `[left, right]`.
        #[inline(always)]
        fn fold(simd: Simd, total: f32x8) -> [f32; 2] {
            let total: __m256 = cast(total);
            let half = simd.sse._mm_add_ps(
                simd.avx._mm256_castps256_ps128(total),
                simd.avx._mm256_extractf128_ps::<1>(total),
            );
            let quarter: __m128 = simd
                .sse
                ._mm_add_ps(half, simd.sse._mm_movehl_ps(half, half));
            let lanes: [f32; 4] = cast(quarter);
            [lanes[0], lanes[1]]
        }

        /// `(Σ samples · weights, per channel)` with the weights `row + (next − row) · blend`.
        /// All slices are one kernel row of interleaved stereo.
        #[inline(always)]
        pub(super) fn blended_dot(
            simd: Simd,
            samples: &[f32],
            row: &[f32],
            next: &[f32],
            blend: f32,
        ) -> [f32; 2] {
            let (samples, _) = samples.as_chunks::<8>();
            let (row, _) = row.as_chunks::<8>();
            let (next, _) = next.as_chunks::<8>();
            let zero = simd.splat_f32x8(0.0);
            let mut sums = [zero; 4];
            let blend = simd.splat_f32x8(blend);
            for (index, ((samples, weights), next)) in samples.iter().zip(row).zip(next).enumerate()
            {
                let weights: f32x8 = cast(*weights);
                let step = simd.sub_f32x8(cast(*next), weights);
                let weights = simd.mul_add_f32x8(step, blend, weights);
                let sum = &mut sums[index % 4];
                *sum = simd.mul_add_f32x8(cast(*samples), weights, *sum);
            }
            fold(
                simd,
                simd.add_f32x8(
                    simd.add_f32x8(sums[0], sums[1]),
                    simd.add_f32x8(sums[2], sums[3]),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample(mut resampler: Resampler, input: &[f32]) -> Vec<f32> {
        let mut output = Vec::new();
        for block in input.chunks(crate::FRAMES_PER_BLOCK * CHANNELS) {
            resampler.process(block, &mut output);
        }
        resampler.finish(&mut output);
        output
    }

    /// Exact and blended phases, and the vector and fallback loops, give the same audio within
    /// rounding. At 1.25 every read position is a quarter frame, which the blended table has
    /// as rows too, so all four compute the same weights.
    #[test]
    fn every_way_to_resample_agrees() {
        let ratio = 1.25;
        assert!(matches!(
            Steps::for_ratio(ratio),
            Steps::Exact {
                numerator: 5,
                denominator: 4
            }
        ));
        assert!(matches!(Steps::for_ratio(1.234_567_1), Steps::Blended));
        let mut noise = crate::tests::white_noise(0x5EED_0125);
        let input: Vec<f32> = (0..CHANNELS * (4 * crate::FRAMES_PER_BLOCK + 3))
            .map(|_| noise())
            .collect();
        let variants = [
            Steps::Exact {
                numerator: 5,
                denominator: 4,
            },
            Steps::Blended,
        ]
        .into_iter()
        .flat_map(|steps| {
            let vector = Resampler::with_steps(ratio, steps);
            let mut fallback = Resampler::with_steps(ratio, steps);
            fallback.simd = None;
            [vector, fallback]
        });
        let outputs: Vec<Vec<f32>> = variants
            .map(|resampler| resample(resampler, &input))
            .collect();
        let frames = input.len() / CHANNELS;
        assert_eq!(
            outputs[0].len() / CHANNELS,
            frames * 4 / 5 + 1,
            "⌈frames / 1.25⌉"
        );
        for (variant, output) in outputs.iter().enumerate().skip(1) {
            assert_eq!(output.len(), outputs[0].len(), "variant {variant}: length");
            for (index, (expected, actual)) in outputs[0].iter().zip(output).enumerate() {
                assert!(
                    (expected - actual).abs() < 1e-5,
                    "variant {variant}, sample {index}: {expected} against {actual}"
                );
            }
        }
        assert!(
            outputs[0].iter().any(|sample| sample.abs() > 0.1),
            "silent output"
        );
    }
}
