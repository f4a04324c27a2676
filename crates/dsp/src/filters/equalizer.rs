//! The 15-band equalizer (Lavalink/lavaplayer semantics) and the bass-boost low shelf.
//!
//! Equalizer: `out = x + 4 · Σ gain_b · bandpass_b(x)`. Every band is an RBJ band-pass with a
//! constant 0 dB peak at its centre (unity gain, zero phase there) and Q = √2 (one octave
//! between the −3 dB points, so neighbours, 2/3 octave apart, overlap). With only band `b`
//! active the gain at its centre is therefore exactly `1 + 4 · gain_b`: +14 dB at gain 1.0,
//! silence at −0.25, +6 dB at 0.25.

use minstrel_domain::filters::{BassBoostLevel, EQ_BANDS_HZ, Equalizer};

use super::biquad::{Biquad, Coefficients};

/// Q of every equalizer band: one octave between the −3 dB points.
pub const EQUALIZER_BAND_Q: f64 = std::f64::consts::SQRT_2;

/// lavaplayer's output scaling of the band sum.
const BAND_SUM_SCALE: f32 = 4.0;

/// Expected linear gain at the centre of band `band` when it alone is set to `gain`.
pub fn equalizer_centre_gain(gain: f32) -> f32 {
    1.0 + BAND_SUM_SCALE * gain
}

#[derive(Debug, Clone)]
struct Band {
    gain: f32,
    filters: [Biquad; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct EqualizerFilter {
    /// Only bands with a non-zero gain; a zero band contributes nothing.
    bands: Vec<Band>,
}

impl EqualizerFilter {
    pub(crate) fn new(spec: &Equalizer) -> Self {
        let bands = spec
            .gains()
            .iter()
            .zip(EQ_BANDS_HZ)
            .filter(|(gain, _)| **gain != 0.0)
            .map(|(&gain, centre)| {
                let filter =
                    Biquad::new(Coefficients::band_pass(f64::from(centre), EQUALIZER_BAND_Q));
                Band {
                    gain: gain * BAND_SUM_SCALE,
                    filters: [filter; 2],
                }
            })
            .collect();
        Self { bands }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        for frame in block.chunks_exact_mut(2) {
            for (channel, sample) in frame.iter_mut().enumerate() {
                let input = *sample;
                let mut output = input;
                for band in &mut self.bands {
                    output += band.gain * band.filters[channel].process(input);
                }
                *sample = output;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        for band in &mut self.bands {
            for filter in &mut band.filters {
                filter.reset();
            }
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
        for frame in block.chunks_exact_mut(2) {
            for (sample, filter) in frame.iter_mut().zip(&mut self.filters) {
                *sample = filter.process(*sample);
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        for filter in &mut self.filters {
            filter.reset();
        }
    }
}
