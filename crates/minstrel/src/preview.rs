//! `/preview`: a few seconds of a track rendered through the filter chain into an in-memory
//! WAV. The same opener (decode, resample, loudness) and the same `FilterChain` as playback and
//! `minstrel render`, so the clip sounds like what the bot would play.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{AudioError, AudioOpener, OpenOptions, PreviewClip, PreviewRenderer};
use minstrel_domain::{FilterSpec, Track, Volume};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};

/// The longest clip rendered, whatever is asked: a WAV of 30 s is 5.5 MB, under Discord's
/// 8 MiB attachment limit.
const MAX_LENGTH: Duration = Duration::from_secs(30);
/// Input read per second of output at most (the fastest timescale is 5×, plus the chain's
/// latency), so a filter that never yields output cannot keep a blocking thread busy.
const INPUT_PER_OUTPUT: usize = 6;

/// Renders previews on tokio's blocking threads.
pub(crate) struct DspPreviewRenderer {
    opener: Arc<dyn AudioOpener>,
}

impl DspPreviewRenderer {
    pub(crate) fn new(opener: Arc<dyn AudioOpener>) -> Self {
        Self { opener }
    }
}

#[async_trait]
impl PreviewRenderer for DspPreviewRenderer {
    async fn render(
        &self,
        track: &Track,
        start_at: Duration,
        length: Duration,
        filters: FilterSpec,
        volume: Volume,
    ) -> Result<PreviewClip, AudioError> {
        let opener = Arc::clone(&self.opener);
        let track = track.clone();
        // Decoding and DSP are compute-bound: never on an async worker.
        tokio::task::spawn_blocking(move || {
            render_clip(opener.as_ref(), &track, start_at, length, filters, volume)
        })
        .await
        .map_err(|error| AudioError::Internal(format!("the preview renderer stopped: {error}")))?
    }
}

fn frames_of(duration: Duration) -> usize {
    usize::try_from(duration.as_millis() * u128::from(SAMPLE_RATE) / 1000).unwrap_or(usize::MAX)
}

#[allow(clippy::cast_possible_truncation)]
fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
}

/// Renders `length` of output (not of input: a timescale filter changes how much input that
/// takes) from `start_at`, or less when the track ends first.
pub(crate) fn render_clip(
    opener: &dyn AudioOpener,
    track: &Track,
    start_at: Duration,
    length: Duration,
    filters: FilterSpec,
    volume: Volume,
) -> Result<PreviewClip, AudioError> {
    let wanted = frames_of(length.min(MAX_LENGTH)) * CHANNELS;
    let input_cap = wanted.saturating_mul(INPUT_PER_OUTPUT);
    // Loudness normalisation as the bot is configured (the guild's own switch is not known
    // here; the preview is about the filter, not the level).
    let mut stream = opener.open(track, start_at, OpenOptions::default())?;
    let mut chain = FilterChain::new(FilterControl::new(filters, volume.percent()));
    let mut input = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS];
    let mut output = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    let mut samples: Vec<i16> = Vec::with_capacity(wanted);
    let mut read_total = 0usize;
    let mut ended = false;
    while samples.len() < wanted {
        if read_total >= input_cap {
            ended = true;
        }
        if !ended {
            let read = stream.read(&mut input)?;
            if read == 0 {
                ended = true;
                chain.finish();
            } else {
                read_total += read;
                chain.push(&input[..read]);
            }
        }
        loop {
            let written = chain.pull(&mut output);
            if written == 0 {
                break;
            }
            samples.extend(output[..written].iter().copied().map(to_i16));
            if samples.len() >= wanted {
                break;
            }
        }
        if ended {
            break;
        }
    }
    samples.truncate(wanted);
    // Whole frames only.
    samples.truncate(samples.len() / CHANNELS * CHANNELS);
    if samples.is_empty() {
        return Err(AudioError::Corrupt(
            "there is no audio at this point of the track".to_owned(),
        ));
    }
    encode_wav(&samples)
}

fn encode_wav(samples: &[i16]) -> Result<PreviewClip, AudioError> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let failed = |error: hound::Error| AudioError::Internal(format!("WAV encoding: {error}"));
    let mut cursor = Cursor::new(Vec::with_capacity(samples.len() * 2 + 44));
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec).map_err(failed)?;
        for sample in samples {
            writer.write_sample(*sample).map_err(failed)?;
        }
        writer.finalize().map_err(failed)?;
    }
    let frames = (samples.len() / CHANNELS) as u64;
    Ok(PreviewClip {
        wav: cursor.into_inner(),
        duration: Duration::from_micros(frames * 1_000_000 / u64::from(SAMPLE_RATE)),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use minstrel_app::ports::PcmStream;
    use minstrel_domain::{Preset, Requester, RequesterId, SourceKind, TrackId};
    use minstrel_sources::SymphoniaStream;

    use super::*;

    /// Opens the track's locator as a local file, with the decoder playback uses.
    struct FileOpener;

    impl AudioOpener for FileOpener {
        fn open(
            &self,
            track: &Track,
            start_at: Duration,
            _options: OpenOptions,
        ) -> Result<Box<dyn PcmStream>, AudioError> {
            Ok(Box::new(SymphoniaStream::open_file(
                Path::new(&track.locator),
                start_at,
            )?))
        }
    }

    fn tone(path: &Path, seconds: u32, hz: f32) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for index in 0..48_000 * seconds {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let sample =
                ((std::f32::consts::TAU * hz * index as f32 / 48_000.0).sin() * 8000.0) as i16;
            writer.write_sample(sample).unwrap();
            writer.write_sample(sample).unwrap();
        }
        writer.finalize().unwrap();
    }

    fn track(path: &Path) -> Track {
        Track {
            id: TrackId(1),
            title: "tone".to_owned(),
            artist: None,
            duration: None,
            source_kind: SourceKind::Local,
            locator: path.display().to_string(),
            thumbnail: None,
            requested_by: Requester {
                id: RequesterId::Console,
                display_name: "test".to_owned(),
            },
        }
    }

    /// Seconds and the left channel's frequency from upward zero crossings.
    fn measure(wav: &[u8]) -> (f64, f64) {
        let mut reader = hound::WavReader::new(Cursor::new(wav)).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48_000, 16)
        );
        let left: Vec<i16> = reader
            .samples::<i16>()
            .step_by(2)
            .map(Result::unwrap)
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let seconds = left.len() as f64 / 48_000.0;
        // Skip the first half second: filters settle there.
        let settled = &left[24_000..];
        let crossings = settled
            .windows(2)
            .filter(|pair| pair[0] < 0 && pair[1] >= 0)
            .count();
        #[allow(clippy::cast_precision_loss)]
        let hz = crossings as f64 / (settled.len() as f64 / 48_000.0);
        (seconds, hz)
    }

    #[tokio::test]
    async fn nightcore_previews_are_ten_seconds_at_the_raised_pitch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.wav");
        tone(&path, 30, 440.0);
        let renderer = DspPreviewRenderer::new(Arc::new(FileOpener));
        let length = Duration::from_secs(10);

        let plain = renderer
            .render(
                &track(&path),
                Duration::from_secs(5),
                length,
                FilterSpec::default(),
                Volume::DEFAULT,
            )
            .await
            .unwrap();
        let (seconds, hz) = measure(&plain.wav);
        assert!((seconds - 10.0).abs() <= 0.1, "{seconds} s");
        assert!((hz - 440.0).abs() < 5.0, "{hz} Hz");
        assert_eq!(plain.duration, length);

        let nightcore = renderer
            .render(
                &track(&path),
                Duration::from_secs(5),
                length,
                Preset::Nightcore.spec(),
                Volume::DEFAULT,
            )
            .await
            .unwrap();
        let (seconds, hz) = measure(&nightcore.wav);
        assert!((seconds - 10.0).abs() <= 0.1, "{seconds} s");
        assert!((hz - 550.0).abs() < 7.0, "{hz} Hz");
    }

    #[tokio::test]
    async fn a_short_track_gives_what_is_left_and_a_missing_file_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.wav");
        tone(&path, 3, 440.0);
        let renderer = DspPreviewRenderer::new(Arc::new(FileOpener));
        let clip = renderer
            .render(
                &track(&path),
                Duration::from_secs(1),
                Duration::from_secs(10),
                FilterSpec::default(),
                Volume::DEFAULT,
            )
            .await
            .unwrap();
        let (seconds, _) = measure(&clip.wav);
        assert!((1.9..=2.1).contains(&seconds), "{seconds} s");

        let error = renderer
            .render(
                &track(&dir.path().join("missing.wav")),
                Duration::ZERO,
                Duration::from_secs(10),
                FilterSpec::default(),
                Volume::DEFAULT,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, AudioError::Io(_)), "{error:?}");
    }
}
