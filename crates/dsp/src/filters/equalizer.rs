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

/// Q of every equalizer band: one octave between the −3 dB points.
pub const EQUALIZER_BAND_Q: f64 = std::f64::consts::SQRT_2;

/// lavaplayer's output scaling of the band sum.
const BAND_SUM_SCALE: f32 = 4.0;

/// Expected linear gain at the centre of band `band` when it alone is set to `gain`.
pub fn equalizer_centre_gain(gain: f32) -> f32 {
    1.0 + BAND_SUM_SCALE * gain
}

/// Bands run side by side in groups of this many, so independent filters fill the pipeline.
const GROUP: usize = 3;
/// Band states this small are flushed to zero before they turn denormal (slow on x86).
const DENORMAL_FLOOR: f64 = 1e-30;

/// Up to [`GROUP`] band-passes; unused slots have zero coefficients and stay silent.
///
/// Each band is a direct-form-I RBJ band-pass (`b1 = 0`, `b2 = −b0`) whose state is scaled by
/// `4 · gain`, so it holds the band's contribution to the output directly:
/// `z[n] = 4·gain·b0 · (x[n] − x[n−2]) − a1·z[n−1] − a2·z[n−2]`.
#[derive(Debug, Clone, Default)]
struct BandGroup {
    feed: [f64; GROUP],
    a1: [f64; GROUP],
    a2: [f64; GROUP],
    /// `z[n−1]` and `z[n−2]` per band and channel.
    previous: [[f64; 2]; GROUP],
    before_previous: [[f64; 2]; GROUP],
}

impl BandGroup {
    /// Adds this group's contribution for every frame of `difference` (`x[n] − x[n−2]`,
    /// interleaved stereo) to `sum`.
    fn accumulate(&mut self, difference: &[f64], sum: &mut [f64]) {
        let (feed, a1, a2) = (self.feed, self.a1, self.a2);
        let mut previous = self.previous;
        let mut before_previous = self.before_previous;
        for (input, output) in difference.chunks_exact(2).zip(sum.chunks_exact_mut(2)) {
            let mut current = [[0.0f64; 2]; GROUP];
            for band in 0..GROUP {
                for channel in 0..2 {
                    current[band][channel] = (feed[band] * input[channel]
                        - a2[band] * before_previous[band][channel])
                        - a1[band] * previous[band][channel];
                }
            }
            for channel in 0..2 {
                output[channel] += current.iter().map(|band| band[channel]).sum::<f64>();
            }
            before_previous = previous;
            previous = current;
        }
        for state in previous.iter_mut().chain(&mut before_previous).flatten() {
            if state.abs() < DENORMAL_FLOOR {
                *state = 0.0;
            }
        }
        self.previous = previous;
        self.before_previous = before_previous;
    }

    fn reset(&mut self) {
        self.previous = [[0.0; 2]; GROUP];
        self.before_previous = [[0.0; 2]; GROUP];
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EqualizerFilter {
    /// Only bands with a non-zero gain; a zero band contributes nothing.
    groups: Vec<BandGroup>,
    /// `x[n−1]` and `x[n−2]` per channel.
    inputs: [[f64; 2]; 2],
    /// Per-block scratch, interleaved stereo: `x[n] − x[n−2]` and the sum of all bands.
    difference: Vec<f64>,
    sum: Vec<f64>,
}

impl EqualizerFilter {
    pub(crate) fn new(spec: &Equalizer) -> Self {
        let active: Vec<(f32, f32)> = spec
            .gains()
            .into_iter()
            .zip(EQ_BANDS_HZ)
            .filter(|(gain, _)| *gain != 0.0)
            .collect();
        let groups = active
            .chunks(GROUP)
            .map(|bands| {
                let mut group = BandGroup::default();
                for (slot, &(gain, centre)) in bands.iter().enumerate() {
                    let (b0, a1, a2) = Coefficients::band_pass(f64::from(centre), EQUALIZER_BAND_Q)
                        .band_pass_parts();
                    group.feed[slot] = f64::from(gain * BAND_SUM_SCALE) * b0;
                    group.a1[slot] = a1;
                    group.a2[slot] = a2;
                }
                group
            })
            .collect();
        Self {
            groups,
            inputs: [[0.0; 2]; 2],
            difference: vec![0.0; FRAMES_PER_BLOCK * 2],
            sum: vec![0.0; FRAMES_PER_BLOCK * 2],
        }
    }

    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn process(&mut self, block: &mut [f32]) {
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let difference = &mut self.difference[..chunk.len()];
            for (frame, difference) in chunk.chunks_exact(2).zip(difference.chunks_exact_mut(2)) {
                for channel in 0..2 {
                    let input = f64::from(frame[channel]);
                    difference[channel] = input - self.inputs[1][channel];
                    self.inputs[1][channel] = self.inputs[0][channel];
                    self.inputs[0][channel] = input;
                }
            }
            let sum = &mut self.sum[..chunk.len()];
            sum.fill(0.0);
            for group in &mut self.groups {
                group.accumulate(difference, sum);
            }
            for (sample, band_sum) in chunk.iter_mut().zip(sum.iter()) {
                *sample = (f64::from(*sample) + band_sum) as f32;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.inputs = [[0.0; 2]; 2];
        for group in &mut self.groups {
            group.reset();
        }
    }
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
        let [left, right] = &mut self.filters;
        for frame in block.chunks_exact_mut(2) {
            frame[0] = left.process(frame[0]);
            frame[1] = right.process(frame[1]);
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
