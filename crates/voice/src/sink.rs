//! Local audio outputs: a WAV file or nowhere.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use minstrel_dsp::{CHANNELS, SAMPLE_RATE};

/// Audio that is written to a WAV file between two header updates; a killed process loses at
/// most this much.
const FLUSH_EVERY_FRAMES: usize = SAMPLE_RATE as usize;

/// Why a sink could not take audio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audio output failed: {0}")]
pub struct SinkError(pub String);

/// Where a local player writes what it plays: interleaved stereo `f32` at 48 kHz.
///
/// Shared by every guild's playback thread, so it takes `&self`.
pub trait AudioSink: Send + Sync + fmt::Debug {
    /// Writes whole stereo frames.
    ///
    /// # Errors
    /// When the output cannot take them (disk full, file too large).
    fn write(&self, samples: &[f32]) -> Result<(), SinkError>;

    /// Makes everything written durable; later writes are ignored.
    ///
    /// # Errors
    /// When the output cannot be completed.
    fn finish(&self) -> Result<(), SinkError>;
}

/// Locks a mutex even if a thread panicked while holding it: the data is audio bookkeeping,
/// still usable, and a poisoned lock must not take the process down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct WavState {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    frames_since_flush: usize,
}

impl fmt::Debug for WavState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("WavState")
            .field("open", &self.writer.is_some())
            .field("frames_since_flush", &self.frames_since_flush)
            .finish()
    }
}

/// Writes everything the player plays into one 48 kHz stereo 16-bit WAV file.
///
/// The header is rewritten every second of audio, so even a killed process leaves a readable
/// file. Concurrent guilds' blocks are appended in the order they arrive (this sink is for the
/// console and tests, where one guild plays). A WAV file holds at most 4 GiB (about 6 hours).
#[derive(Debug)]
pub struct WavSink {
    state: Mutex<WavState>,
}

impl WavSink {
    /// Creates (or truncates) the file at `path`.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn create(path: &Path) -> Result<Self, SinkError> {
        let spec = hound::WavSpec {
            channels: u16::try_from(CHANNELS).unwrap_or(2),
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .map_err(|error| SinkError(format!("cannot create the WAV file: {error}")))?;
        Ok(Self {
            state: Mutex::new(WavState {
                writer: Some(writer),
                frames_since_flush: 0,
            }),
        })
    }
}

#[allow(clippy::cast_possible_truncation)]
fn to_i16(sample: f32) -> i16 {
    // NaN clamps to NaN and `as` maps it to 0: silence, never a click.
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
}

impl AudioSink for WavSink {
    fn write(&self, samples: &[f32]) -> Result<(), SinkError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let Some(writer) = state.writer.as_mut() else {
            return Ok(());
        };
        let whole = samples.len() - samples.len() % CHANNELS;
        for &sample in &samples[..whole] {
            writer
                .write_sample(to_i16(sample))
                .map_err(|error| SinkError(format!("cannot write the WAV file: {error}")))?;
        }
        state.frames_since_flush += whole / CHANNELS;
        if state.frames_since_flush >= FLUSH_EVERY_FRAMES {
            state.frames_since_flush = 0;
            writer
                .flush()
                .map_err(|error| SinkError(format!("cannot write the WAV file: {error}")))?;
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), SinkError> {
        let writer = lock(&self.state).writer.take();
        match writer {
            Some(writer) => writer
                .finalize()
                .map_err(|error| SinkError(format!("cannot complete the WAV file: {error}"))),
            None => Ok(()),
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Err(error) = self.finish() {
            tracing::warn!(%error, "the WAV file may be incomplete");
        }
    }
}

/// Discards everything (benchmarks, headless runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl AudioSink for NullSink {
    fn write(&self, _samples: &[f32]) -> Result<(), SinkError> {
        Ok(())
    }

    fn finish(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Which local output a [`LocalPlayer`](crate::LocalPlayer) writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// One WAV file for the whole player.
    Wav(PathBuf),
    /// Nowhere.
    Null,
}

impl SinkKind {
    /// Opens the output.
    ///
    /// # Errors
    /// When the WAV file cannot be created.
    pub fn open(&self) -> Result<Arc<dyn AudioSink>, SinkError> {
        Ok(match self {
            Self::Wav(path) => Arc::new(WavSink::create(path)?),
            Self::Null => Arc::new(NullSink),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let wav = minstrel_testkit::audio::Wav::open(path);
        (wav.spec, wav.samples)
    }

    #[test]
    fn writes_a_valid_16_bit_stereo_wav() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.wav");
        let sink = WavSink::create(&path).unwrap();
        sink.write(&[0.5, -0.5, 2.0, -2.0, f32::NAN, 0.0]).unwrap();
        sink.finish().unwrap();
        // Writes after finishing are ignored, not errors.
        sink.write(&[0.1, 0.1]).unwrap();
        let (spec, samples) = read_wav(&path);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48_000, 16)
        );
        assert_eq!(samples, vec![16_384, -16_384, 32_767, -32_767, 0, 0]);
    }

    #[test]
    fn the_header_is_valid_before_finishing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.wav");
        let sink = WavSink::create(&path).unwrap();
        let second = vec![0.25_f32; 2 * 48_000];
        sink.write(&second).unwrap();
        sink.write(&[0.25; 200]).unwrap();
        // As if the process were killed now: the first second is readable.
        let (_, samples) = read_wav(&path);
        assert!(samples.len() >= 2 * 48_000, "{}", samples.len());
        drop(sink);
        let (_, samples) = read_wav(&path);
        assert_eq!(samples.len(), 2 * 48_000 + 200);
    }

    #[test]
    fn a_wav_in_a_missing_folder_is_an_error() {
        let error = SinkKind::Wav(PathBuf::from("/no/such/folder/out.wav"))
            .open()
            .unwrap_err();
        assert!(error.to_string().contains("cannot create"), "{error}");
    }
}
