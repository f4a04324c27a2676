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
use crate::kernel::{dispatched, minus_product_f64};

/// Q of every equalizer band: one octave between the −3 dB points.
pub const EQUALIZER_BAND_Q: f64 = std::f64::consts::SQRT_2;

/// lavaplayer's output scaling of the band sum.
const BAND_SUM_SCALE: f32 = 4.0;

/// Expected linear gain at the centre of band `band` when it alone is set to `gain`.
pub fn equalizer_centre_gain(gain: f32) -> f32 {
    1.0 + BAND_SUM_SCALE * gain
}

/// Lanes of one vector of band state: four bands × two channels (`[a L, a R, b L, b R, …]`),
/// an AVX-512 register of `f64`, or two AVX registers.
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
/// tree in each pass cost more than the vector add to memory (measured on the 15 bands,
/// 2,686× → 3,050× realtime).
///
/// How many vectors one pass over the block runs side by side is a trade: more overlap more
/// recurrences, but past the register file their state goes through the stack. Two vectors
/// per pass with AVX-512's 32 registers. With AVX2, one vector (two registers) measured best
/// on the AVX-512 machine of an earlier run, but two on an AVX2-only AMD EPYC (run 6:
/// 1,970× → 2,260–2,290×, best of ten samples in three alternating runs), the kind the bot
/// is measured on now, so two.
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

#[derive(Debug, Clone)]
pub(crate) struct EqualizerFilter {
    /// Only bands with a non-zero gain, four to a vector; a zero band contributes nothing.
    vectors: Vec<BandVector>,
    /// `x[n−1]` and `x[n−2]` per channel.
    inputs: [[f64; 2]; 2],
    /// Per-block scratch: `x[n] − x[n−2]` per frame, and the partial sums of all bands.
    difference: Vec<[f64; 2]>,
    sum: Vec<Lanes>,
}

impl EqualizerFilter {
    pub(crate) fn new(spec: &Equalizer) -> Self {
        let active: Vec<(f32, f32)> = spec
            .gains()
            .into_iter()
            .zip(EQ_BANDS_HZ)
            .filter(|(gain, _)| *gain != 0.0)
            .collect();
        let vectors = active
            .chunks(LANES / 2)
            .map(|bands| {
                let mut vector = BandVector::default();
                for (band, &(gain, centre)) in bands.iter().enumerate() {
                    let (b0, a1, a2) = Coefficients::band_pass(f64::from(centre), EQUALIZER_BAND_Q)
                        .band_pass_parts();
                    for lane in [2 * band, 2 * band + 1] {
                        vector.feed[lane] = f64::from(gain * BAND_SUM_SCALE) * b0;
                        vector.a1[lane] = a1;
                        vector.a2[lane] = a2;
                    }
                }
                vector
            })
            .collect();
        Self {
            vectors,
            inputs: [[0.0; 2]; 2],
            difference: vec![[0.0; 2]; FRAMES_PER_BLOCK],
            sum: vec![[0.0; LANES]; FRAMES_PER_BLOCK],
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        process_equalizer(self, block);
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
        for vector in &mut self.vectors {
            vector.previous = [0.0; LANES];
            vector.before_previous = [0.0; LANES];
        }
    }
}

/// The equalizer's block loop for the CPU at hand: compiled for baseline x86-64, AVX2 + FMA
/// and AVX-512 (the same code, twice as wide), picked at run time (see [`crate::kernel`]).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn process_equalizer(filter: &mut EqualizerFilter, block: &mut [f32]) {
    if multiversion::target::target_cfg_f!(target_feature = "fma") {
        filter.process_inline::<true, 2>(block);
    } else {
        filter.process_inline::<false, 1>(block);
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

    /// Every build of the kernel (baseline, AVX2 + FMA, AVX-512's two vectors per pass) gives
    /// the same output within rounding, on a spec that fills whole and partial vectors.
    #[test]
    fn every_kernel_build_agrees() {
        let spec = Equalizer::new([
            0.2, 0.15, 0.1, 0.05, 0.02, -0.05, -0.1, 0.1, 0.05, 0.1, 0.15, 0.2, 0.25, 0.2, 0.15,
        ])
        .expect("valid gains");
        let mut noise = crate::tests::white_noise(0x9E37_79B9);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 5 + 6).map(|_| noise()).collect();
        let run = |kernel: fn(&mut EqualizerFilter, &mut [f32])| {
            let mut filter = EqualizerFilter::new(&spec);
            let mut output = input.clone();
            for block in output.chunks_mut(FRAMES_PER_BLOCK * 2) {
                kernel(&mut filter, block);
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
