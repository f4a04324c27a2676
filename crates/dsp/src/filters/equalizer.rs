//! The 15-band equalizer (Lavalink/lavaplayer semantics) and the bass-boost low shelf.
//!
//! Equalizer: `out = x + 4 · Σ gain_b · bandpass_b(x)`. Every band is an RBJ band-pass with a
//! constant 0 dB peak at its centre (unity gain, zero phase there) and Q = √2 (one octave
//! between the −3 dB points, so neighbours, 2/3 octave apart, overlap). With only band `b`
//! active the gain at its centre is therefore exactly `1 + 4 · gain_b`: +14 dB at gain 1.0,
//! silence at −0.25, +6 dB at 0.25.

use minstrel_domain::filters::{BassBoostLevel, EQ_BANDS_HZ, Equalizer};

use super::biquad::{Biquad, Coefficients};
use crate::FRAMES_PER_BLOCK;
use crate::kernel::{Simd, detect_simd, dispatched, minus_product_f64};

/// Q of every equalizer band: one octave between the −3 dB points.
pub const EQUALIZER_BAND_Q: f64 = std::f64::consts::SQRT_2;

/// lavaplayer's output scaling of the band sum.
const BAND_SUM_SCALE: f32 = 4.0;

/// Expected linear gain at the centre of band `band` when it alone is set to `gain`.
pub fn equalizer_centre_gain(gain: f32) -> f32 {
    1.0 + BAND_SUM_SCALE * gain
}

/// Lanes of one vector of band state: four bands × two channels (`[a L, a R, b L, b R, …]`),
/// two AVX registers of `f64`.
const LANES: usize = 8;
type Lanes = [f64; LANES];
/// Band states this small are flushed to zero before they turn denormal (slow on x86).
const DENORMAL_FLOOR: f64 = 1e-30;

/// Four band-passes for both channels; unused slots have zero coefficients and stay silent.
///
/// Each band is a direct-form-I RBJ band-pass (`b1 = 0`, `b2 = −b0`) whose state is scaled by
/// `4 · gain`, so it holds the band's contribution to the output directly:
/// `z[n] = 4·gain·b0 · (x[n] − x[n−2]) − a2·z[n−2] − a1·z[n−1]`.
#[derive(Debug, Clone, Copy, Default)]
struct BandVector {
    feed: Lanes,
    a1: Lanes,
    a2: Lanes,
    /// `z[n−1]` and `z[n−2]`.
    previous: Lanes,
    before_previous: Lanes,
}

/// Adds the contribution of `N` band vectors, run side by side, for every frame of
/// `difference` (`x[n] − x[n−2]` per channel) to `sum` (per frame, partial sums per lane).
///
/// The lanes are summed to left and right only once per frame, after every pass: a halving
/// tree in each pass costs more than the vector add to memory.
///
/// This is the portable loop: where AVX2 + FMA are there, [`bank`] runs instead. How many
/// vectors one pass over the block runs side by side is a trade: more overlap more
/// recurrences, but past the register file their state goes through the stack; two is the
/// best trade with AVX2's sixteen registers.
#[inline(always)]
fn accumulate<const N: usize, const FMA: bool>(
    vectors: &mut [BandVector; N],
    difference: &[[f64; 2]],
    sum: &mut [Lanes],
) {
    let feed: [Lanes; N] = std::array::from_fn(|vector| vectors[vector].feed);
    let a1: [Lanes; N] = std::array::from_fn(|vector| vectors[vector].a1);
    let a2: [Lanes; N] = std::array::from_fn(|vector| vectors[vector].a2);
    // Two frames per step, the roles of the two state arrays swapping in between, so the
    // state is updated in place and never copied (copies sent it through the stack).
    let mut older: [Lanes; N] = std::array::from_fn(|vector| vectors[vector].before_previous);
    let mut newer: [Lanes; N] = std::array::from_fn(|vector| vectors[vector].previous);
    let step = |older: &mut [Lanes; N],
                newer: &[Lanes; N],
                [left, right]: [f64; 2],
                output: &mut Lanes| {
        for vector in 0..N {
            for lane in 0..LANES {
                let input = if lane % 2 == 0 { left } else { right };
                let recursive_part = minus_product_f64::<FMA>(
                    a2[vector][lane],
                    older[vector][lane],
                    feed[vector][lane] * input,
                );
                let current =
                    minus_product_f64::<FMA>(a1[vector][lane], newer[vector][lane], recursive_part);
                older[vector][lane] = current;
                output[lane] += current;
            }
        }
    };
    let (pairs, rest) = difference.as_chunks::<2>();
    let (sum_pairs, sum_rest) = sum.as_chunks_mut::<2>();
    for (&[first_frame, second_frame], [first_total, second_total]) in pairs.iter().zip(sum_pairs) {
        step(&mut older, &newer, first_frame, first_total);
        step(&mut newer, &older, second_frame, second_total);
    }
    if let (Some(&frame), Some(total)) = (rest.first(), sum_rest.first_mut()) {
        step(&mut older, &newer, frame, total);
        std::mem::swap(&mut older, &mut newer);
    }
    for (vector, (previous, before_previous)) in vectors.iter_mut().zip(newer.iter().zip(&older)) {
        let flushed = |state: &Lanes| {
            state.map(|value| {
                if value.abs() < DENORMAL_FLOOR {
                    0.0
                } else {
                    value
                }
            })
        };
        vector.previous = flushed(previous);
        vector.before_previous = flushed(before_previous);
    }
}

/// Up to four `(gain, centre)` bands as one [`BandVector`] (unused slots stay silent).
fn band_vector(bands: &[(f32, f32)]) -> BandVector {
    let mut vector = BandVector::default();
    for (band, &(gain, centre)) in bands.iter().enumerate() {
        let (b0, a1, a2) =
            Coefficients::band_pass(f64::from(centre), EQUALIZER_BAND_Q).band_pass_parts();
        for lane in [2 * band, 2 * band + 1] {
            vector.feed[lane] = f64::from(gain * BAND_SUM_SCALE) * b0;
            vector.a1[lane] = a1;
            vector.a2[lane] = a2;
        }
    }
    vector
}

#[derive(Debug, Clone)]
pub(crate) struct EqualizerFilter {
    /// Only bands with a non-zero gain, four to a vector; a zero band contributes nothing.
    vectors: Vec<BandVector>,
    /// `x[n−1]` and `x[n−2]` per channel.
    inputs: [[f64; 2]; 2],
    /// The portable loop's per-block scratch: `x[n] − x[n−2]` per frame, and the partial sums
    /// of all bands (empty where [`bank`] runs).
    difference: Vec<[f64; 2]>,
    sum: Vec<Lanes>,
    /// AVX2 + FMA, when the CPU has them: the block then runs in explicit SIMD ([`bank`]).
    simd: Option<Simd>,
    /// The bands as [`bank`] runs them.
    bank: BankBands,
}

impl EqualizerFilter {
    pub(crate) fn new(spec: &Equalizer) -> Self {
        let active: Vec<(f32, f32)> = spec
            .gains()
            .into_iter()
            .zip(EQ_BANDS_HZ)
            .filter(|(gain, _)| *gain != 0.0)
            .collect();
        let vectors = active.chunks(LANES / 2).map(band_vector).collect();
        let simd = detect_simd();
        // The portable loop's scratch (76 KB) only where that loop runs.
        let scratch = if simd.is_some() { 0 } else { FRAMES_PER_BLOCK };
        Self {
            vectors,
            inputs: [[0.0; 2]; 2],
            difference: vec![[0.0; 2]; scratch],
            sum: vec![[0.0; LANES]; scratch],
            simd,
            bank: BankBands::new(&active),
        }
    }

    /// The filter with the portable loop's scratch even where [`bank`] runs, so that tests
    /// can run both on one machine.
    #[cfg(test)]
    fn with_portable_scratch(mut self) -> Self {
        self.difference = vec![[0.0; 2]; FRAMES_PER_BLOCK];
        self.sum = vec![[0.0; LANES]; FRAMES_PER_BLOCK];
        self
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        if let Some(simd) = self.simd {
            bank::run(simd, self, block);
        } else {
            process_equalizer(self, block);
        }
    }

    /// The block loop, running `PASS` band vectors side by side (see [`accumulate`]).
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn process_inline<const FMA: bool, const PASS: usize>(&mut self, block: &mut [f32]) {
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let frames = chunk.len() / 2;
            let difference = &mut self.difference[..frames];
            for (frame, difference) in chunk.chunks_exact(2).zip(difference.iter_mut()) {
                for channel in 0..2 {
                    let input = f64::from(frame[channel]);
                    difference[channel] = input - self.inputs[1][channel];
                    self.inputs[1][channel] = self.inputs[0][channel];
                    self.inputs[0][channel] = input;
                }
            }
            let sum = &mut self.sum[..frames];
            sum.fill([0.0; LANES]);
            let (passes, rest) = self.vectors.as_chunks_mut::<PASS>();
            for pass in passes {
                accumulate::<PASS, FMA>(pass, difference, sum);
            }
            for vector in rest {
                accumulate::<1, FMA>(std::array::from_mut(vector), difference, sum);
            }
            for (frame, lanes) in chunk.chunks_exact_mut(2).zip(&*sum) {
                // Halving tree (8 → 4 → 2 lanes: left, right), once per frame for all passes.
                let left = (lanes[0] + lanes[4]) + (lanes[2] + lanes[6]);
                let right = (lanes[1] + lanes[5]) + (lanes[3] + lanes[7]);
                frame[0] = (f64::from(frame[0]) + left) as f32;
                frame[1] = (f64::from(frame[1]) + right) as f32;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.inputs = [[0.0; 2]; 2];
        for vector in self.vectors.iter_mut().chain(&mut self.bank.low) {
            vector.previous = [0.0; LANES];
            vector.before_previous = [0.0; LANES];
        }
        for bands in &mut self.bank.high {
            bands.previous = [0.0; 8];
            bands.before_previous = [0.0; 8];
        }
    }
}

/// The equalizer's block loop where [`bank`] cannot run (no AVX2 + FMA): compiled for
/// baseline x86-64 and for AVX2 + FMA, picked at run time (see [`crate::kernel`]); the
/// second build is what the tests compare [`bank`] with.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn process_equalizer(filter: &mut EqualizerFilter, block: &mut [f32]) {
    if multiversion::target::target_cfg_f!(target_feature = "fma") {
        filter.process_inline::<true, 2>(block);
    } else {
        filter.process_inline::<false, 1>(block);
    }
}

/// Bands below this centre run in `f64` in [`bank`], the others in `f32` (as lavaplayer runs
/// all of them). The four lowest bands (25 to 100 Hz) have their poles closest to 1, where
/// `f32` state loses the most: their round-off would be amplified the most by the feedback.
const LOW_BAND_LIMIT_HZ: f32 = 150.0;

/// Four `f32` band-passes for both channels, as [`BandVector`] but one AVX register wide.
#[derive(Debug, Clone, Copy, Default)]
struct HighBands {
    feed: [f32; 8],
    a1: [f32; 8],
    a2: [f32; 8],
    previous: [f32; 8],
    before_previous: [f32; 8],
}

/// The bands as [`bank`] runs them: the low ones (at most four, so one [`BandVector`]) in
/// `f64`, the others four to an `f32` vector (at most three: eleven bands).
#[derive(Debug, Clone)]
struct BankBands {
    low: Option<BandVector>,
    high: Vec<HighBands>,
}

impl BankBands {
    #[allow(clippy::cast_possible_truncation)]
    fn new(active: &[(f32, f32)]) -> Self {
        let (low, high): (Vec<_>, Vec<_>) = active
            .iter()
            .copied()
            .partition(|(_, centre)| *centre < LOW_BAND_LIMIT_HZ);
        let low = (!low.is_empty()).then(|| band_vector(&low));
        let high = high
            .chunks(4)
            .map(|bands| {
                let wide = band_vector(bands);
                let narrow = |lanes: &Lanes| lanes.map(|value| value as f32);
                HighBands {
                    feed: narrow(&wide.feed),
                    a1: narrow(&wide.a1),
                    a2: narrow(&wide.a2),
                    ..HighBands::default()
                }
            })
            .collect();
        Self { low, high }
    }
}

/// The equalizer in explicit AVX2 + FMA through `pulp` (whose `V3` token proves the CPU has
/// them), all bands in one loop over the block: per frame, `x[n] − x[n−2]` is formed once as
/// `[L, R, L, R, …]`, the low bands' vector (two `f64` registers) and up to three `f32`
/// registers of high bands take their step, and their sum is folded to left and right and
/// added to the input. Fifteen bands keep ten registers of state, so nothing goes through
/// memory between frames.
///
/// It replaced a loop that ran every band in `f64`, two vectors per pass over the block, with
/// an eight-lane partial sum per frame in memory (61 KB, past the L1 cache) that was cleared
/// first and folded lane by lane.
mod bank {
    use super::{EqualizerFilter, Simd};

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn run(simd: Simd, _: &mut EqualizerFilter, _: &mut [f32]) {
        match simd {}
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) use self::x86::run;

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::x86_64::__m128;

        use pulp::{cast, f32x4, f32x8, f64x4};

        use super::super::{BandVector, DENORMAL_FLOOR, HighBands};
        use super::{EqualizerFilter, Simd};

        pub(in super::super) fn run(simd: Simd, filter: &mut EqualizerFilter, block: &mut [f32]) {
            simd.vectorize(Run {
                simd,
                filter,
                block,
            });
        }

        /// [`run_inline`] as `pulp` runs it with AVX2 + FMA enabled: a struct with an
        /// `#[inline(always)]` method, not a closure, because only what is inlined into
        /// `pulp`'s entry point gets its CPU features (see the reverb's comb bank).
        struct Run<'a> {
            simd: Simd,
            filter: &'a mut EqualizerFilter,
            block: &'a mut [f32],
        }

        impl pulp::NullaryFnOnce for Run<'_> {
            type Output = ();

            #[inline(always)]
            fn call(self) {
                run_inline(self.simd, self.filter, self.block);
            }
        }

        /// Dispatches to the loop for this many registers of each kind.
        #[inline(always)]
        fn run_inline(simd: Simd, filter: &mut EqualizerFilter, block: &mut [f32]) {
            let bands = &mut filter.bank;
            let inputs = &mut filter.inputs;
            let mut no_low = BandVector::default();
            match (&mut bands.low, bands.high.as_mut_slice()) {
                (Some(low), []) => run_bands::<true, 0>(simd, low, &mut [], inputs, block),
                (Some(low), [a]) => run_bands::<true, 1>(simd, low, &mut [a], inputs, block),
                (Some(low), [a, b]) => {
                    run_bands::<true, 2>(simd, low, &mut [a, b], inputs, block);
                }
                (Some(low), [a, b, c, ..]) => {
                    run_bands::<true, 3>(simd, low, &mut [a, b, c], inputs, block);
                }
                (None, []) => {}
                (None, [a]) => run_bands::<false, 1>(simd, &mut no_low, &mut [a], inputs, block),
                (None, [a, b]) => {
                    run_bands::<false, 2>(simd, &mut no_low, &mut [a, b], inputs, block);
                }
                (None, [a, b, c, ..]) => {
                    run_bands::<false, 3>(simd, &mut no_low, &mut [a, b, c], inputs, block);
                }
            }
        }

        /// Both halves of an eight-lane `f64` array as registers.
        #[inline(always)]
        fn halves(lanes: &[f64; 8]) -> [f64x4; 2] {
            let (halves, _) = lanes.as_chunks::<4>();
            [cast(halves[0]), cast(halves[1])]
        }

        /// Flushes values below [`DENORMAL_FLOOR`] to zero (the states, once per block).
        #[inline(always)]
        fn flushed<const N: usize, T: Copy + Into<f64> + Default>(values: [T; N]) -> [T; N] {
            values.map(|value| {
                if value.into().abs() < DENORMAL_FLOOR {
                    T::default()
                } else {
                    value
                }
            })
        }

        /// The bank's coefficients, in registers.
        struct Coefficients<const HIGH: usize> {
            low_feed: [f64x4; 2],
            low_a1: [f64x4; 2],
            low_a2: [f64x4; 2],
            high_feed: [f32x8; HIGH],
            high_a1: [f32x8; HIGH],
            high_a2: [f32x8; HIGH],
        }

        /// Everything the bank keeps of one frame: its input, repeated across a register
        /// (`[L, R, L, R, …]`), and every band's output.
        #[derive(Clone, Copy)]
        struct Frame<const HIGH: usize> {
            input: f32x8,
            low: [f64x4; 2],
            high: [f32x8; HIGH],
        }

        /// One frame through every band: `previous` holds frame `n − 1`, `older` frame
        /// `n − 2` and receives frame `n`. Two calls per pair of frames with the two roles
        /// swapped update the state in place: with copies from one to the other, the compiler
        /// kept part of the state on the stack.
        #[inline(always)]
        fn step<const LOW: bool, const HIGH: usize>(
            simd: Simd,
            coefficients: &Coefficients<HIGH>,
            previous: &Frame<HIGH>,
            older: &mut Frame<HIGH>,
            frame: [f32; 2],
        ) -> __m128 {
            let c = coefficients;
            let pair: f64 = cast(frame);
            let input: f32x8 = cast(simd.splat_f64x4(pair));
            let difference = simd.sub_f32x8(input, older.input);
            older.input = input;
            let zero = simd.splat_f32x8(0.0);
            let mut sum: f32x4 = cast(simd.avx._mm256_castps256_ps128(cast(zero)));
            if LOW {
                let difference = simd.convert_f32x4_to_f64x4(cast(
                    simd.avx._mm256_castps256_ps128(cast(difference)),
                ));
                for half in 0..2 {
                    let recursive = simd.negate_mul_add_f64x4(
                        c.low_a2[half],
                        older.low[half],
                        simd.mul_f64x4(c.low_feed[half], difference),
                    );
                    older.low[half] =
                        simd.negate_mul_add_f64x4(c.low_a1[half], previous.low[half], recursive);
                }
                sum = simd.convert_f64x4_to_f32x4(simd.add_f64x4(older.low[0], older.low[1]));
            }
            if HIGH > 0 {
                for index in 0..HIGH {
                    let recursive = simd.negate_mul_add_f32x8(
                        c.high_a2[index],
                        older.high[index],
                        simd.mul_f32x8(c.high_feed[index], difference),
                    );
                    older.high[index] = simd.negate_mul_add_f32x8(
                        c.high_a1[index],
                        previous.high[index],
                        recursive,
                    );
                }
                let mut total = older.high[0];
                for register in &older.high[1..] {
                    total = simd.add_f32x8(total, *register);
                }
                let total = simd.sse._mm_add_ps(
                    simd.avx._mm256_castps256_ps128(cast(total)),
                    simd.avx._mm256_extractf128_ps::<1>(cast(total)),
                );
                sum = cast(simd.sse._mm_add_ps(cast(sum), total));
            }
            // Still `[L, R, L, R]`: the caller folds two frames' sums at once.
            cast(sum)
        }

        /// The block loop with the low bands' vector when `LOW` and `HIGH` `f32` registers.
        #[inline(always)]
        fn run_bands<const LOW: bool, const HIGH: usize>(
            simd: Simd,
            low: &mut BandVector,
            high: &mut [&mut HighBands; HIGH],
            inputs: &mut [[f64; 2]; 2],
            block: &mut [f32],
        ) {
            let coefficients = Coefficients {
                low_feed: halves(&low.feed),
                low_a1: halves(&low.a1),
                low_a2: halves(&low.a2),
                high_feed: std::array::from_fn(|index| cast(high[index].feed)),
                high_a1: std::array::from_fn(|index| cast(high[index].a1)),
                high_a2: std::array::from_fn(|index| cast(high[index].a2)),
            };
            // The last two input frames, each repeated across a register: `[L, R, L, R, …]`.
            #[allow(clippy::cast_possible_truncation)]
            let repeated = |[left, right]: [f64; 2]| -> f32x8 {
                let (left, right) = (left as f32, right as f32);
                cast([left, right, left, right, left, right, left, right])
            };
            let mut previous = Frame {
                input: repeated(inputs[0]),
                low: halves(&low.previous),
                high: std::array::from_fn(|index| cast(high[index].previous)),
            };
            let mut older = Frame {
                input: repeated(inputs[1]),
                low: halves(&low.before_previous),
                high: std::array::from_fn(|index| cast(high[index].before_previous)),
            };
            let (frames, _) = block.as_chunks_mut::<2>();
            let (pairs, last) = frames.as_chunks_mut::<2>();
            let sse = simd.sse;
            for pair in pairs {
                let first = step::<LOW, HIGH>(simd, &coefficients, &previous, &mut older, pair[0]);
                let second = step::<LOW, HIGH>(simd, &coefficients, &older, &mut previous, pair[1]);
                // Both frames' `[L, R, L, R]` folded to `[L₀, R₀, L₁, R₁]`, plus the inputs.
                let folded = sse._mm_add_ps(
                    sse._mm_shuffle_ps::<0x44>(first, second),
                    sse._mm_shuffle_ps::<0xEE>(first, second),
                );
                let inputs: __m128 = cast(*pair);
                *pair = cast(sse._mm_add_ps(inputs, folded));
            }
            if let [frame] = last {
                let sum = step::<LOW, HIGH>(simd, &coefficients, &previous, &mut older, *frame);
                std::mem::swap(&mut previous, &mut older);
                let folded = sse._mm_add_ps(sum, sse._mm_movehl_ps(sum, sum));
                let inputs: __m128 = cast([frame[0], frame[1], 0.0, 0.0]);
                let output: [f32; 4] = cast(sse._mm_add_ps(inputs, folded));
                *frame = [output[0], output[1]];
            }
            let last: [f32; 8] = cast(previous.input);
            let before_last: [f32; 8] = cast(older.input);
            *inputs = [
                [f64::from(last[0]), f64::from(last[1])],
                [f64::from(before_last[0]), f64::from(before_last[1])],
            ];
            if LOW {
                let registers = |registers: [f64x4; 2]| -> [f64; 8] {
                    let [first, second]: [[f64; 4]; 2] = registers.map(cast);
                    flushed([
                        first[0], first[1], first[2], first[3], second[0], second[1], second[2],
                        second[3],
                    ])
                };
                low.previous = registers(previous.low);
                low.before_previous = registers(older.low);
            }
            for (index, bands) in high.iter_mut().enumerate() {
                bands.previous = flushed(cast(previous.high[index]));
                bands.before_previous = flushed(cast(older.high[index]));
            }
        }
    }
}

dispatched! {
    /// The bass boost's block loop, for the CPU at hand.
    fn boost_bass(filter: &mut BassBoostFilter, block: &mut [f32]) => process_inline
}

/// Corner (half-gain point) of the bass-boost shelf. 120 Hz puts 60 Hz within ~1 dB of the full
/// boost while 5 kHz stays within 0.01 dB.
pub const BASS_BOOST_CORNER_HZ: f64 = 120.0;

/// RBJ low shelf, slope 1, gain from [`BassBoostLevel::gain_db`].
#[derive(Debug, Clone)]
pub(crate) struct BassBoostFilter {
    filters: [Biquad; 2],
}

impl BassBoostFilter {
    pub(crate) fn new(level: BassBoostLevel) -> Self {
        let coefficients =
            Coefficients::low_shelf(BASS_BOOST_CORNER_HZ, f64::from(level.gain_db()), 1.0);
        Self {
            filters: [Biquad::new(coefficients); 2],
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        boost_bass(self, block);
    }

    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let [left, right] = &mut self.filters;
        for frame in block.chunks_exact_mut(2) {
            frame[0] = left.process::<FMA>(f64::from(frame[0])) as f32;
            frame[1] = right.process::<FMA>(f64::from(frame[1])) as f32;
        }
        left.flush_denormals();
        right.flush_denormals();
    }

    pub(crate) fn reset(&mut self) {
        for filter in &mut self.filters {
            filter.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build of the kernel (baseline, AVX2 + FMA with one or two vectors per pass, and
    /// the explicit-SIMD bank when the CPU has it) gives the same output within rounding, on
    /// specs of 2, 9 and 15 bands (one vector; a pair and a single; two pairs), with blocks
    /// that leave partial pieces and an odd frame.
    #[test]
    fn every_kernel_build_agrees() {
        let all_bands = [
            0.2, 0.15, 0.1, 0.05, 0.02, -0.05, -0.1, 0.1, 0.05, 0.1, 0.15, 0.2, 0.25, 0.2, 0.15,
        ];
        let mut nine_bands = all_bands;
        for gain in &mut nine_bands[9..] {
            *gain = 0.0;
        }
        let specs = [
            Equalizer::from_bands(&[(0, 0.2), (7, -0.15)]).expect("valid gains"),
            Equalizer::new(nine_bands).expect("valid gains"),
            Equalizer::new(all_bands).expect("valid gains"),
        ];
        for spec in specs {
            kernel_builds_agree_on(&spec);
        }
        assert!(
            detect_simd().is_some() || std::env::var_os("CI").is_none(),
            "CI's machine has AVX2 + FMA, so the bank must have been compared"
        );
    }

    fn kernel_builds_agree_on(spec: &Equalizer) {
        let mut noise = crate::tests::white_noise(0x9E37_79B9);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 5 + 6).map(|_| noise()).collect();
        let run = |kernel: fn(&mut EqualizerFilter, &mut [f32])| {
            let mut filter = EqualizerFilter::new(spec).with_portable_scratch();
            let mut output = input.clone();
            for (index, block) in output.chunks_mut(FRAMES_PER_BLOCK * 2).enumerate() {
                // A block of 333 frames first: pieces of 64 frames with a partial one.
                if index == 1 {
                    let (head, tail) = block.split_at_mut(333 * 2);
                    kernel(&mut filter, head);
                    kernel(&mut filter, tail);
                } else {
                    kernel(&mut filter, block);
                }
            }
            output
        };
        let baseline = run(EqualizerFilter::process_inline::<false, 1>);
        for other in [
            run(EqualizerFilter::process_inline::<true, 1>),
            run(EqualizerFilter::process_inline::<true, 2>),
            run(EqualizerFilter::process),
        ] {
            for (index, (expected, actual)) in baseline.iter().zip(&other).enumerate() {
                assert!(
                    (expected - actual).abs() < 1e-5,
                    "sample {index}: {expected} against {actual}"
                );
            }
        }
        assert!(
            baseline
                .iter()
                .zip(&input)
                .any(|(out, x)| (out - x).abs() > 1e-3),
            "the equalizer changed nothing"
        );
    }
}
