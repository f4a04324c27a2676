//! Centre-channel (vocal) removal that keeps the low band.
//!
//! ```text
//! mono  = (L + R) / 2
//! low   = bandpass⁴(mono)   two cascaded RBJ band-passes at filterBand, −3 dB width ≈ filterWidth
//! L'    = L − level · R + monoLevel · low
//! R'    = R − level · L + monoLevel · low
//! ```
//!
//! A centre-panned source (L = R) cancels to `(1 − level)` of itself; at the band centre the
//! band-pass puts it back, so bass and kick drums survive. A source panned hard to one side stays
//! at full level on its own side (and appears inverted on the other, as in lavadsp).

use minstrel_domain::filters::Karaoke;

use super::biquad::{Biquad, Coefficients};
use crate::FRAMES_PER_BLOCK;
use crate::kernel::dispatched;

/// Two identical band-passes in series have a −3 dB bandwidth ≈ 0.64 × that of one.
const CASCADE_BANDWIDTH_SHRINK: f64 = 0.643_594_252_905_582_6;

#[derive(Debug, Clone)]
pub(crate) struct KaraokeFilter {
    level: f32,
    mono_level: f32,
    low_band: Option<[Biquad; 2]>,
    /// Per-block scratch: the low band, scaled by `mono_level`, per frame (empty without a
    /// band).
    low: Vec<f32>,
}

impl KaraokeFilter {
    pub(crate) fn new(spec: Karaoke) -> Self {
        let centre = f64::from(spec.filter_band);
        let low_band = (centre >= 1.0).then(|| {
            let width = f64::from(spec.filter_width).max(1.0);
            let q = centre / width * CASCADE_BANDWIDTH_SHRINK;
            [Biquad::new(Coefficients::band_pass(centre, q)); 2]
        });
        Self {
            level: spec.level,
            mono_level: spec.mono_level,
            low_band,
            low: if low_band.is_some() {
                vec![0.0; FRAMES_PER_BLOCK]
            } else {
                Vec::new()
            },
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        remove_centre(self, block);
    }

    /// Two passes per block: the low band of the mono sum (the cascade, a sample-to-sample
    /// recurrence) into a scratch buffer, then the centre removal and the band's return,
    /// which has no recurrence and runs eight lanes wide. One pass doing both per frame
    /// measured slower: the cascade's latency left the rest of each frame's work waiting.
    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let (level, mono_level) = (self.level, self.mono_level);
        match &mut self.low_band {
            Some([first, second]) => {
                for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
                    let low = &mut self.low[..chunk.len() / 2];
                    for (frame, low) in chunk.chunks_exact(2).zip(low.iter_mut()) {
                        let mono = 0.5 * f64::from(frame[0] + frame[1]);
                        #[allow(clippy::cast_possible_truncation)]
                        let band = second.process::<FMA>(first.process::<FMA>(mono)) as f32;
                        *low = mono_level * band;
                    }
                    for (frame, low) in chunk.chunks_exact_mut(2).zip(low.iter()) {
                        let (left, right) = (frame[0], frame[1]);
                        frame[0] = left - level * right + low;
                        frame[1] = right - level * left + low;
                    }
                }
                first.flush_denormals();
                second.flush_denormals();
            }
            None => {
                for frame in block.chunks_exact_mut(2) {
                    let (left, right) = (frame[0], frame[1]);
                    frame[0] = left - level * right;
                    frame[1] = right - level * left;
                }
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        if let Some(filters) = &mut self.low_band {
            for filter in filters {
                filter.reset();
            }
        }
    }
}

dispatched! {
    /// The karaoke's block loop, for the CPU at hand.
    fn remove_centre(filter: &mut KaraokeFilter, block: &mut [f32]) => process_inline
}
