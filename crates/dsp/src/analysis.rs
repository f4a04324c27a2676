//! Signal measurements for tests and diagnostics: levels, single-frequency energy, pitch.
//!
//! All functions take mono `f32` slices; use [`channel`] to split interleaved stereo.

use std::f64::consts::TAU;

/// One channel (0 = left, 1 = right) of interleaved stereo.
pub fn channel(interleaved: &[f32], index: usize) -> Vec<f32> {
    interleaved
        .iter()
        .skip(index)
        .step_by(crate::CHANNELS)
        .copied()
        .collect()
}

/// Root mean square (0 for an empty slice).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    (sum / samples.len() as f64).sqrt() as f32
}

/// Amplitude ratio in decibels (`20 · log10`); −∞ for silence.
pub fn dbfs(amplitude: f32) -> f32 {
    20.0 * amplitude.log10()
}

/// Largest absolute sample.
pub fn peak(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0, |peak, s| peak.max(s.abs()))
}

/// Largest absolute difference between consecutive samples (a click detector).
pub fn max_step(samples: &[f32]) -> f32 {
    samples
        .windows(2)
        .fold(0.0, |step, pair| step.max((pair[1] - pair[0]).abs()))
}

/// Mean-square power of the component at `frequency_hz` (Goertzel over a Hann window), scaled so
/// a sine of amplitude `A` at that frequency gives `A² / 2` — the same scale as `rms²`.
/// Compare two results in dB with `10 · log10(a / b)`.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
pub fn goertzel_power(samples: &[f32], frequency_hz: f32, sample_rate: u32) -> f32 {
    let length = samples.len();
    if length < 2 {
        return 0.0;
    }
    let omega = TAU * f64::from(frequency_hz) / f64::from(sample_rate);
    let coefficient = 2.0 * omega.cos();
    let (mut previous, mut before_previous) = (0.0f64, 0.0f64);
    let mut window_sum = 0.0;
    for (index, sample) in samples.iter().enumerate() {
        let window = 0.5 - 0.5 * (TAU * index as f64 / (length - 1) as f64).cos();
        window_sum += window;
        let current = f64::from(*sample) * window + coefficient * previous - before_previous;
        before_previous = previous;
        previous = current;
    }
    let real = previous - before_previous * omega.cos();
    let imaginary = before_previous * omega.sin();
    let magnitude_squared = real * real + imaginary * imaginary;
    (2.0 * magnitude_squared / (window_sum * window_sum)) as f32
}

/// Goertzel power as a level in dB relative to a full-scale sine's mean square (0.5).
pub fn goertzel_db(samples: &[f32], frequency_hz: f32, sample_rate: u32) -> f32 {
    10.0 * (goertzel_power(samples, frequency_hz, sample_rate) / 0.5).log10()
}

/// Fundamental frequency by normalised autocorrelation over 40 Hz ..= 2 kHz, refined with
/// parabolic interpolation. Looks at most at the middle 8192 samples. `None` for silence or
/// aperiodic input.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn estimate_pitch_hz(samples: &[f32], sample_rate: u32) -> Option<f32> {
    const WINDOW: usize = 8192;
    let rate = f64::from(sample_rate);
    let min_lag = (rate / 2000.0).floor() as usize;
    let max_lag = (rate / 40.0).ceil() as usize;
    let start = samples.len().saturating_sub(WINDOW + max_lag) / 2;
    let window = &samples[start..samples.len().min(start + WINDOW + max_lag)];
    if window.len() < 2 * max_lag {
        return None;
    }
    let length = window.len() - max_lag;
    let correlation = |lag: usize| -> f64 {
        let (mut cross, mut energy_a, mut energy_b) = (0.0f64, 0.0f64, 0.0f64);
        for index in 0..length {
            let a = f64::from(window[index]);
            let b = f64::from(window[index + lag]);
            cross += a * b;
            energy_a += a * a;
            energy_b += b * b;
        }
        cross / (energy_a * energy_b).sqrt().max(1e-12)
    };
    let scores: Vec<f64> = (min_lag..=max_lag).map(correlation).collect();
    let best_score = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if best_score < 0.5 {
        return None;
    }
    // First peak close to the best: avoids picking a multiple of the period.
    let peak_index = (1..scores.len() - 1).find(|&index| {
        scores[index] >= 0.9 * best_score
            && scores[index] >= scores[index - 1]
            && scores[index] >= scores[index + 1]
    })?;
    let (left, centre, right) = (
        scores[peak_index - 1],
        scores[peak_index],
        scores[peak_index + 1],
    );
    let curvature = left - 2.0 * centre + right;
    let shift = if curvature.abs() > 1e-12 {
        0.5 * (left - right) / curvature
    } else {
        0.0
    };
    let lag = (min_lag + peak_index) as f64 + shift;
    Some((rate / lag) as f32)
}

/// Interleaved stereo sine: `amplitude` on each channel times `[left_gain, right_gain]`.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn stereo_sine(
    frequency_hz: f32,
    seconds: f32,
    amplitude: f32,
    pan: [f32; 2],
    sample_rate: u32,
) -> Vec<f32> {
    let frames = (seconds * sample_rate as f32) as usize;
    let step = TAU * f64::from(frequency_hz) / f64::from(sample_rate);
    let mut samples = Vec::with_capacity(frames * 2);
    for frame in 0..frames {
        let value = amplitude * (step * frame as f64).sin() as f32;
        samples.push(value * pan[0]);
        samples.push(value * pan[1]);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sine() {
        let tone = channel(&stereo_sine(440.0, 0.5, 0.5, [1.0, 1.0], 48_000), 0);
        assert!((rms(&tone) - 0.5 / 2f32.sqrt()).abs() < 1e-3);
        let pitch = estimate_pitch_hz(&tone, 48_000).unwrap();
        assert!((pitch - 440.0).abs() < 0.5, "{pitch}");
        let power = goertzel_power(&tone, 440.0, 48_000);
        assert!((power - 0.125).abs() < 0.125 * 0.02, "{power}");
        assert!(goertzel_power(&tone, 1000.0, 48_000) < 1e-6);
    }
}
