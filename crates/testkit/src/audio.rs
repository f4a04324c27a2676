//! Test audio, in one place for every test of the workspace: tone files the bot plays, one WAV
//! reader for what it wrote, and the signal measurements of `minstrel_dsp::analysis`
//! (re-exported here) that tests make on it or on what the fake voice server decoded
//! (interleaved stereo `f32` at 48 kHz).

use std::io::{Cursor, Read};
use std::path::Path;

pub use minstrel_dsp::analysis::{
    channel, dbfs, estimate_pitch_hz, goertzel_db, goertzel_power, max_step, peak, rms, stereo_sine,
};

/// The sample rate of the tones and of decoded Discord audio.
pub const RATE: f32 = 48_000.0;

/// [`RATE`] as the whole number the analysis functions take.
pub const SAMPLE_RATE: u32 = 48_000;

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

/// Power of `frequency` in the left channel of interleaved stereo `audio` at [`RATE`]
/// ([`goertzel_power`]: compare two frequencies of the same slice).
pub fn power_at(audio: &[f32], frequency: f32) -> f32 {
    goertzel_power(&channel(audio, 0), frequency, SAMPLE_RATE)
}

/// A 16-bit integer WAV as read back: its header and its interleaved samples.
#[derive(Debug, Clone)]
pub struct Wav {
    /// Channels, sample rate and sample format.
    pub spec: hound::WavSpec,
    /// Every sample as written, channels interleaved.
    pub samples: Vec<i16>,
}

impl Wav {
    /// Reads the WAV file at `path` (one the process may still be writing: hound reads as
    /// many whole samples as the header or the file holds).
    ///
    /// # Panics
    /// When it cannot be read, or is not 16-bit integer PCM.
    pub fn open(path: &Path) -> Self {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|error| panic!("open {}: {error}", path.display()));
        Self::read(std::io::BufReader::new(file))
    }

    /// Reads a WAV held in memory (an attachment, a response body).
    ///
    /// # Panics
    /// As [`Wav::open`].
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self::read(Cursor::new(bytes))
    }

    fn read(source: impl Read) -> Self {
        let mut reader = hound::WavReader::new(source).expect("a WAV header");
        let spec = reader.spec();
        assert_eq!(
            (spec.sample_format, spec.bits_per_sample),
            (hound::SampleFormat::Int, 16),
            "a 16-bit integer WAV"
        );
        let samples = reader
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("WAV samples");
        Self { spec, samples }
    }

    /// Every sample as `f32` in [-1, 1), channels interleaved.
    pub fn interleaved(&self) -> Vec<f32> {
        self.samples
            .iter()
            .map(|sample| f32::from(*sample) / 32_768.0)
            .collect()
    }

    /// One channel (0 = left) as `f32` in [-1, 1).
    pub fn channel(&self, index: usize) -> Vec<f32> {
        let channels = usize::from(self.spec.channels);
        self.samples
            .iter()
            .skip(index)
            .step_by(channels)
            .map(|sample| f32::from(*sample) / 32_768.0)
            .collect()
    }

    /// The length in seconds.
    #[allow(clippy::cast_precision_loss)]
    pub fn seconds(&self) -> f64 {
        let frames = self.samples.len() / usize::from(self.spec.channels).max(1);
        frames as f64 / f64::from(self.spec.sample_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_tone_reads_back_at_its_frequency_and_level() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("tone.wav");
        write_tone(&path, 1, 440.0, 16_384.0);
        let wav = Wav::open(&path);
        assert_eq!((wav.spec.channels, wav.spec.sample_rate), (2, 48_000));
        assert!((wav.seconds() - 1.0).abs() < 1e-9, "{}", wav.seconds());
        let left = wav.channel(0);
        assert_eq!(left, wav.channel(1));
        assert!(
            (rms(&left) - 0.5 / 2f32.sqrt()).abs() < 1e-3,
            "{}",
            rms(&left)
        );
        let pitch = estimate_pitch_hz(&left, SAMPLE_RATE).unwrap();
        assert!((pitch - 440.0).abs() < 0.5, "{pitch}");
        let stereo = wav.interleaved();
        assert!(power_at(&stereo, 440.0) > 1_000.0 * power_at(&stereo, 550.0));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(Wav::from_bytes(&bytes).samples, wav.samples);
    }
}
