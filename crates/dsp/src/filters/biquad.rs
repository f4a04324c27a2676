//! Second-order IIR sections designed from the RBJ "Audio EQ Cookbook" formulas.
//!
//! Coefficients and state are `f64`: the lowest equalizer band sits at 25 Hz, where `f32`
//! direct-form sections lose enough precision to add audible noise.

use std::f64::consts::PI;

use crate::SAMPLE_RATE;

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

/// One biquad section (transposed direct form II) for one channel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Biquad {
    coefficients: Coefficients,
    state1: f64,
    state2: f64,
}

impl Biquad {
    pub(crate) fn new(coefficients: Coefficients) -> Self {
        Self {
            coefficients,
            state1: 0.0,
            state2: 0.0,
        }
    }

    #[inline]
    pub(crate) fn process(&mut self, input: f32) -> f32 {
        let c = &self.coefficients;
        let x = f64::from(input);
        let y = c.b0 * x + self.state1;
        self.state1 = c.b1 * x - c.a1 * y + self.state2;
        self.state2 = c.b2 * x - c.a2 * y;
        // Flush the decay after silence before it turns denormal (slow on x86).
        if self.state1.abs() < DENORMAL_FLOOR {
            self.state1 = 0.0;
        }
        if self.state2.abs() < DENORMAL_FLOOR {
            self.state2 = 0.0;
        }
        #[allow(clippy::cast_possible_truncation)]
        let output = y as f32;
        output
    }

    pub(crate) fn reset(&mut self) {
        self.state1 = 0.0;
        self.state2 = 0.0;
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
