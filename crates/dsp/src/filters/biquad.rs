//! Second-order IIR sections designed from the RBJ "Audio EQ Cookbook" formulas.
//!
//! Coefficients and state are `f64`: the bass-boost shelf corners at 120 Hz and the lowest
//! equalizer band sits at 25 Hz, where `f32` direct-form sections lose the most precision (the
//! equalizer's AVX2 kernel runs only its bands from 160 Hz up in `f32`).

use std::f64::consts::PI;

use crate::SAMPLE_RATE;
use crate::kernel::{minus_product_f64, mul_add_f64};

const DENORMAL_FLOOR: f64 = 1e-30;

/// Normalised biquad coefficients (`a0` divided out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coefficients {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
}

impl Coefficients {
    fn normalised(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// `(b0, a1, a2)` of a band-pass (`b1 = 0`, `b2 = −b0`), for filters that run many of them
    /// side by side.
    pub(crate) fn band_pass_parts(&self) -> (f64, f64, f64) {
        (self.b0, self.a1, self.a2)
    }

    /// Angular frequency, clamped below Nyquist so every design stays stable.
    fn omega(frequency_hz: f64) -> f64 {
        let nyquist = f64::from(SAMPLE_RATE) / 2.0;
        let frequency = frequency_hz.clamp(1.0, nyquist * 0.98);
        2.0 * PI * frequency / f64::from(SAMPLE_RATE)
    }

    /// Band-pass with a constant 0 dB peak at `centre_hz` (gain exactly 1, phase 0 there).
    pub(crate) fn band_pass(centre_hz: f64, q: f64) -> Self {
        let omega = Self::omega(centre_hz);
        let alpha = omega.sin() / (2.0 * q.max(0.01));
        Self::normalised(
            alpha,
            0.0,
            -alpha,
            1.0 + alpha,
            -2.0 * omega.cos(),
            1.0 - alpha,
        )
    }

    /// Low shelf: `gain_db` below `corner_hz`, unity above, with shelf slope `slope` (1 = steepest
    /// without overshoot).
    pub(crate) fn low_shelf(corner_hz: f64, gain_db: f64, slope: f64) -> Self {
        let amplitude = 10f64.powf(gain_db / 40.0);
        let omega = Self::omega(corner_hz);
        let (sin, cos) = omega.sin_cos();
        let alpha = sin / 2.0 * ((amplitude + 1.0 / amplitude) * (1.0 / slope - 1.0) + 2.0).sqrt();
        let two_sqrt_a_alpha = 2.0 * amplitude.sqrt() * alpha;
        Self::normalised(
            amplitude * ((amplitude + 1.0) - (amplitude - 1.0) * cos + two_sqrt_a_alpha),
            2.0 * amplitude * ((amplitude - 1.0) - (amplitude + 1.0) * cos),
            amplitude * ((amplitude + 1.0) - (amplitude - 1.0) * cos - two_sqrt_a_alpha),
            (amplitude + 1.0) + (amplitude - 1.0) * cos + two_sqrt_a_alpha,
            -2.0 * ((amplitude - 1.0) + (amplitude + 1.0) * cos),
            (amplitude + 1.0) + (amplitude - 1.0) * cos - two_sqrt_a_alpha,
        )
    }
}

/// A direct-form-I section's last two inputs and outputs (`x[n−1], x[n−2]`, `y[n−1], y[n−2]`).
#[derive(Debug, Clone, Copy, Default)]
struct History {
    inputs: [f64; 2],
    outputs: [f64; 2],
}

impl History {
    /// The history after a sample with input `x` and output `y` (from the locals the section
    /// read, so nothing is read back from `self`).
    #[inline(always)]
    fn after(x: f64, x1: f64, y: f64, y1: f64) -> Self {
        Self {
            inputs: [x, x1],
            outputs: [y, y1],
        }
    }

    /// Zeroes a decay tail that has become inaudibly small, before it turns denormal (slow on
    /// x86). Called once per block rather than per sample: an `f64` tail needs hundreds of
    /// samples to fall from the floor into the denormal range, so at worst a few samples of one
    /// block are slow.
    fn flush_denormals(&mut self) {
        for state in self.inputs.iter_mut().chain(&mut self.outputs) {
            if state.abs() < DENORMAL_FLOOR {
                *state = 0.0;
            }
        }
    }
}

/// One biquad section (direct form I) for one channel.
///
/// Direct form I rather than transposed II: everything but `a1 · y[n−1]` can be summed before
/// the previous output is known, so the sample-to-sample dependency is one multiply and one
/// add, which is what bounds a single section's speed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Biquad {
    coefficients: Coefficients,
    history: History,
}

impl Biquad {
    pub(crate) fn new(coefficients: Coefficients) -> Self {
        Self {
            coefficients,
            history: History::default(),
        }
    }

    /// One sample through the section, in `f64`, with fused multiply-adds when `FMA`.
    ///
    /// The terms are summed oldest input first and newest output last, so the previous
    /// output is one (fused) step from the new one and the output before it two steps over
    /// two samples: the sample-to-sample dependency is one step per sample. A new input is
    /// three steps from the output, so in a cascade (the karaoke's two band-passes) the
    /// second section waits three steps for the first, not five. (Summing the input terms
    /// and `a2 · y[n−2]` first and the new input last would shorten the cascade's wait but
    /// put `y[n−2]` three steps from `y[n]`, which slows a single section.)
    #[inline(always)]
    pub(crate) fn process<const FMA: bool>(&mut self, x: f64) -> f64 {
        let c = &self.coefficients;
        let [x1, x2] = self.history.inputs;
        let [y1, y2] = self.history.outputs;
        let inputs = mul_add_f64::<FMA>(c.b0, x, mul_add_f64::<FMA>(c.b2, x2, c.b1 * x1));
        let y = minus_product_f64::<FMA>(c.a1, y1, minus_product_f64::<FMA>(c.a2, y2, inputs));
        self.history = History::after(x, x1, y, y1);
        y
    }

    /// See [`History::flush_denormals`].
    #[inline]
    pub(crate) fn flush_denormals(&mut self) {
        self.history.flush_denormals();
    }

    pub(crate) fn reset(&mut self) {
        self.history = History::default();
    }
}

/// A band-pass section (`b1 = 0`, `b2 = −b0`) with its gain folded into `b0`:
/// `y[n] = gain · b0 · (x[n] − x[n−2]) − a2 · y[n−2] − a1 · y[n−1]`.
///
/// Three multiplies or multiply-adds a sample where a general [`Biquad`] needs five (two of
/// them by the zero `b1` and the `b2` that only repeats `b0`), and still one fused step from
/// `y[n−1]` to `y[n]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BandPassSection {
    feed: f64,
    a1: f64,
    a2: f64,
    history: History,
}

impl BandPassSection {
    /// `coefficients` must be a band-pass ([`Coefficients::band_pass`]).
    pub(crate) fn new(coefficients: Coefficients, gain: f64) -> Self {
        let (b0, a1, a2) = coefficients.band_pass_parts();
        Self {
            feed: gain * b0,
            a1,
            a2,
            history: History::default(),
        }
    }

    #[inline(always)]
    pub(crate) fn process<const FMA: bool>(&mut self, x: f64) -> f64 {
        let [x1, x2] = self.history.inputs;
        let [y1, y2] = self.history.outputs;
        let y = minus_product_f64::<FMA>(
            self.a1,
            y1,
            minus_product_f64::<FMA>(self.a2, y2, self.feed * (x - x2)),
        );
        self.history = History::after(x, x1, y, y1);
        y
    }

    /// See [`History::flush_denormals`].
    #[inline]
    pub(crate) fn flush_denormals(&mut self) {
        self.history.flush_denormals();
    }

    pub(crate) fn reset(&mut self) {
        self.history = History::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Magnitude response at `frequency_hz`, evaluated analytically.
    fn magnitude(c: &Coefficients, frequency_hz: f64) -> f64 {
        let omega = 2.0 * PI * frequency_hz / f64::from(SAMPLE_RATE);
        let (z1r, z1i) = (omega.cos(), -omega.sin());
        let (z2r, z2i) = ((2.0 * omega).cos(), -(2.0 * omega).sin());
        let num = (c.b0 + c.b1 * z1r + c.b2 * z2r, c.b1 * z1i + c.b2 * z2i);
        let den = (1.0 + c.a1 * z1r + c.a2 * z2r, c.a1 * z1i + c.a2 * z2i);
        (num.0.hypot(num.1)) / (den.0.hypot(den.1))
    }

    #[test]
    fn band_pass_peaks_at_unity_on_its_centre() {
        let c = Coefficients::band_pass(1000.0, 1.4);
        assert!((magnitude(&c, 1000.0) - 1.0).abs() < 1e-9);
        assert!(magnitude(&c, 100.0) < 0.1);
    }

    #[test]
    fn low_shelf_boosts_lows_and_leaves_highs() {
        let c = Coefficients::low_shelf(100.0, 6.0, 1.0);
        let low_db = 20.0 * magnitude(&c, 10.0).log10();
        let high_db = 20.0 * magnitude(&c, 10_000.0).log10();
        assert!((low_db - 6.0).abs() < 0.1, "{low_db}");
        assert!(high_db.abs() < 0.05, "{high_db}");
    }
}
