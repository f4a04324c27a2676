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

use super::biquad::{BandPassSection, Coefficients};
use crate::FRAMES_PER_BLOCK;
use crate::kernel::dispatched;

/// Two identical band-passes in series have a −3 dB bandwidth ≈ 0.64 × that of one.
const CASCADE_BANDWIDTH_SHRINK: f64 = 0.643_594_252_905_582_6;

#[derive(Debug, Clone)]
pub(crate) struct KaraokeFilter {
    level: f32,
    low_band: Option<[BandPassSection; 2]>,
    /// Per-block scratch: the low band, scaled by `monoLevel`, per frame (empty without a
    /// band).
    low: Vec<f32>,
}

impl KaraokeFilter {
    pub(crate) fn new(spec: Karaoke) -> Self {
        let centre = f64::from(spec.filter_band);
        // No band to return without a band or with `monoLevel` 0.
        let low_band = (centre >= 1.0 && spec.mono_level != 0.0).then(|| {
            let width = f64::from(spec.filter_width).max(1.0);
            let q = centre / width * CASCADE_BANDWIDTH_SHRINK;
            let band_pass = Coefficients::band_pass(centre, q);
            // The mono sum's ½ goes into the first section and `monoLevel` into the second.
            [
                BandPassSection::new(band_pass, 0.5),
                BandPassSection::new(band_pass, f64::from(spec.mono_level)),
            ]
        });
        Self {
            level: spec.level,
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
    /// which has no recurrence and runs eight lanes wide. Not one pass doing both per frame:
    /// there the cascade's latency leaves the rest of each frame's work waiting.
    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let level = self.level;
        match &mut self.low_band {
            Some([first, second]) => {
                for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
                    let low = &mut self.low[..chunk.len() / 2];
                    for (frame, low) in chunk.chunks_exact(2).zip(low.iter_mut()) {
                        let sum = f64::from(frame[0] + frame[1]);
                        #[allow(clippy::cast_possible_truncation)]
                        let band = second.process::<FMA>(first.process::<FMA>(sum)) as f32;
                        *low = band;
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

#[cfg(test)]
mod tests {
    use super::super::biquad::Biquad;
    use super::*;

    /// The folded band-pass sections give the module doc's formula, computed with two general
    /// biquads on `(L + R) / 2` and `monoLevel` applied last, within rounding, in both builds.
    #[test]
    fn folded_sections_match_the_formula() {
        let spec = Karaoke {
            level: 0.8,
            mono_level: 0.7,
            filter_band: 220.0,
            filter_width: 100.0,
        };
        let q =
            f64::from(spec.filter_band) / f64::from(spec.filter_width) * CASCADE_BANDWIDTH_SHRINK;
        let mut reference = [Biquad::new(Coefficients::band_pass(220.0, q)); 2];
        let mut noise = crate::tests::white_noise(0x5EED_CAFE);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 3).map(|_| noise()).collect();
        let expected: Vec<f32> = input
            .chunks_exact(2)
            .flat_map(|frame| {
                let mono = 0.5 * f64::from(frame[0] + frame[1]);
                let [first, second] = &mut reference;
                #[allow(clippy::cast_possible_truncation)]
                let low =
                    spec.mono_level * second.process::<false>(first.process::<false>(mono)) as f32;
                [
                    frame[0] - spec.level * frame[1] + low,
                    frame[1] - spec.level * frame[0] + low,
                ]
            })
            .collect();
        for kernel in [
            KaraokeFilter::process_inline::<false> as fn(&mut KaraokeFilter, &mut [f32]),
            KaraokeFilter::process_inline::<true>,
            KaraokeFilter::process,
        ] {
            let mut filter = KaraokeFilter::new(spec);
            let mut output = input.clone();
            for block in output.chunks_mut(FRAMES_PER_BLOCK * 2) {
                kernel(&mut filter, block);
            }
            for (index, (expected, actual)) in expected.iter().zip(&output).enumerate() {
                assert!(
                    (expected - actual).abs() < 1e-5,
                    "sample {index}: {expected} against {actual}"
                );
            }
        }
        let low_band_matters = expected
            .chunks_exact(2)
            .zip(input.chunks_exact(2))
            .any(|(out, x)| (out[0] - (x[0] - spec.level * x[1])).abs() > 1e-3);
        assert!(low_band_matters, "the low band added nothing");
    }
}
