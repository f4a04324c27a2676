//! Test audio for the end-to-end tests: tone files the bot plays, and the measurements the
//! tests make on what the fake voice server decoded (interleaved stereo `f32` at 48 kHz).

use std::path::Path;

/// The sample rate of the tones and of decoded Discord audio.
pub const RATE: f32 = 48_000.0;

/// Writes `path`: a 48 kHz stereo 16-bit WAV of `seconds` of a sine at `frequency` Hz whose
/// peak is `amplitude` (of 32 767), the same on both channels.
///
/// # Panics
/// When the file cannot be written.
pub fn write_tone(path: &Path, seconds: u32, frequency: f32, amplitude: f32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create the tone");
    for index in 0..48_000 * seconds {
        // The phase in `f64`: in `f32` it loses a hundredth of a radian a minute in.
        let phase = std::f64::consts::TAU * f64::from(frequency) * f64::from(index) / 48_000.0;
        #[allow(clippy::cast_possible_truncation)]
        let sample = (phase.sin() * f64::from(amplitude)) as i16;
        writer.write_sample(sample).expect("write the tone");
        writer.write_sample(sample).expect("write the tone");
    }
    writer.finalize().expect("finish the tone");
}

/// Power of `frequency` in the left channel of interleaved stereo `audio` (Goertzel, no
/// window: compare two frequencies of the same slice).
pub fn power_at(audio: &[f32], frequency: f32) -> f32 {
    let omega = std::f32::consts::TAU * frequency / RATE;
    let coefficient = 2.0 * omega.cos();
    let (mut previous, mut before) = (0.0f32, 0.0f32);
    for frame in audio.chunks_exact(2) {
        let current = frame[0] + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    #[allow(clippy::cast_precision_loss)]
    let length = (audio.len() / 2) as f32;
    (previous * previous + before * before - coefficient * previous * before) / (length * length)
}

/// Root mean square over every sample (0 for none).
pub fn rms(audio: &[f32]) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let length = audio.len().max(1) as f32;
    (audio.iter().map(|sample| sample * sample).sum::<f32>() / length).sqrt()
}
