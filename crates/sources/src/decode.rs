//! Decoding with symphonia to interleaved stereo `f32` at 48 kHz.
//!
//! symphonia 0.5 has known panics on malformed input, so every call into it runs under
//! `catch_unwind` and a panic becomes [`AudioError::Corrupt`] and one log line. Loops over
//! damaged packets are bounded, so garbage never hangs a player thread, and every track is
//! opened under the bounds of [`limits`]: a header cannot size the buffers or the resampler.

use std::collections::VecDeque;
use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use minstrel_app::ports::{AudioError, PcmStream};
use symphonia::core::audio::{Channels, SampleBuffer, SignalSpec};
use symphonia::core::codecs::{CODEC_TYPE_NULL, CodecRegistry, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, Track};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTagKey};
use symphonia::core::probe::Hint;
use symphonia::core::units::TimeBase;

use crate::resample::{OUTPUT_RATE, StereoResampler};

mod guard;
mod limits;

use guard::guarded;
pub(crate) use limits::check_rate;
pub use limits::{MAX_TRACK_DURATION, MAX_TRACK_MEMORY};

/// Consecutive damaged packets after which a stream is declared corrupt.
const MAX_CONSECUTIVE_ERRORS: u32 = 100;

/// Consecutive packets without audio (other tracks, empty packets) after which a stream is
/// declared corrupt; generous because a video track may interleave many packets.
const MAX_CONSECUTIVE_SILENT_PACKETS: u32 = 100_000;

/// What the tags and the container say about a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioInfo {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub duration: Option<Duration>,
}

fn map_error(error: SymphoniaError) -> AudioError {
    match error {
        SymphoniaError::IoError(error) => AudioError::Io(error.to_string()),
        SymphoniaError::DecodeError(message) => AudioError::Corrupt(message.to_owned()),
        SymphoniaError::SeekError(_) => AudioError::SeekUnsupported,
        SymphoniaError::Unsupported(message) => AudioError::Unsupported(message.to_owned()),
        SymphoniaError::LimitError(message) => {
            AudioError::Corrupt(format!("a safety limit was reached: {message}"))
        }
        SymphoniaError::ResetRequired => {
            AudioError::Internal("the stream changed its layout".to_owned())
        }
    }
}

fn open_error(error: &std::io::Error) -> AudioError {
    // The io error's own text carries no path; the caller knows which file it asked for.
    match error.kind() {
        ErrorKind::NotFound => AudioError::Io("the file does not exist".to_owned()),
        ErrorKind::PermissionDenied => AudioError::Io("permission denied".to_owned()),
        _ => AudioError::Io(error.to_string()),
    }
}

fn extension_of(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
}

/// Probes the format; returns it with the source's size when the source knows it.
fn probe(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> Result<(symphonia::core::probe::ProbeResult, Option<u64>), AudioError> {
    let byte_len = source.byte_len();
    let stream = MediaSourceStream::new(
        source,
        symphonia::core::io::MediaSourceStreamOptions::default(),
    );
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    // Gapless mode trims the encoder delay and padding (LAME's priming frames, Vorbis/Opus end
    // trimming) that the container declares; without it an MP3 starts with ~25 ms of
    // near-silent codec noise and ends with padding, and a "1 s" file plays 1.045 s.
    let options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    guarded(|| {
        symphonia::default::get_probe().format(&hint, stream, &options, &MetadataOptions::default())
    })?
    .map_err(|error| match error {
        SymphoniaError::IoError(error) if error.kind() == ErrorKind::UnexpectedEof => {
            AudioError::Unsupported("the file is empty or not audio".to_owned())
        }
        SymphoniaError::Unsupported(_) => {
            AudioError::Unsupported("the file is not in an audio format I know".to_owned())
        }
        other => map_error(other),
    })
    .map(|probed| (probed, byte_len))
}

/// The track to play: the default one if it is audio, else the first audio track.
fn audio_track(format: &dyn FormatReader) -> Option<Track> {
    format
        .default_track()
        .filter(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        })
        .cloned()
}

fn make_decoder(track: &Track) -> Result<Box<dyn Decoder>, AudioError> {
    guarded(|| codecs().make(&track.codec_params, &DecoderOptions::default()))?.map_err(|error| {
        match error {
            SymphoniaError::Unsupported(_) => {
                AudioError::Unsupported("no decoder for this codec".to_owned())
            }
            other => map_error(other),
        }
    })
}

/// symphonia's codecs plus an Opus decoder over libopus, which symphonia 0.5 lacks.
fn codecs() -> &'static CodecRegistry {
    static REGISTRY: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    });
    &REGISTRY
}

/// Converts timestamp ticks of `time_base` into frames at `rate`.
fn ticks_to_frames(ticks: u64, time_base: Option<TimeBase>, rate: u32) -> u64 {
    match time_base {
        Some(TimeBase { numer, denom }) if numer > 0 && denom > 0 => {
            let frames =
                u128::from(ticks) * u128::from(numer) * u128::from(rate) / u128::from(denom);
            u64::try_from(frames).unwrap_or(u64::MAX)
        }
        _ => ticks,
    }
}

fn duration_to_frames(duration: Duration, rate: u32) -> u64 {
    let frames = duration.as_nanos() * u128::from(rate) / 1_000_000_000;
    u64::try_from(frames).unwrap_or(u64::MAX)
}

/// How far to drop decoded audio after opening at a start position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingSkip {
    None,
    /// symphonia seeked to a packet at or before this timestamp (in track ticks).
    UntilTimestamp(u64),
    /// The format cannot seek: decode and discard this much.
    Duration(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Decoding,
    Ended,
    Failed(AudioError),
}

/// Per-channel gains folding a layout into stereo.
fn downmix_gains(channels: Channels) -> Vec<(f32, f32)> {
    const HALF_POWER: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let left_front = Channels::FRONT_LEFT
        | Channels::FRONT_LEFT_CENTRE
        | Channels::FRONT_LEFT_WIDE
        | Channels::FRONT_LEFT_HIGH
        | Channels::TOP_FRONT_LEFT;
    let right_front = Channels::FRONT_RIGHT
        | Channels::FRONT_RIGHT_CENTRE
        | Channels::FRONT_RIGHT_WIDE
        | Channels::FRONT_RIGHT_HIGH
        | Channels::TOP_FRONT_RIGHT;
    let left_back = Channels::REAR_LEFT
        | Channels::SIDE_LEFT
        | Channels::TOP_REAR_LEFT
        | Channels::REAR_LEFT_CENTRE;
    let right_back = Channels::REAR_RIGHT
        | Channels::SIDE_RIGHT
        | Channels::TOP_REAR_RIGHT
        | Channels::REAR_RIGHT_CENTRE;
    let low_frequency = Channels::LFE1 | Channels::LFE2;
    let mut gains: Vec<(f32, f32)> = channels
        .iter()
        .map(|channel| {
            if left_front.contains(channel) {
                (1.0, 0.0)
            } else if right_front.contains(channel) {
                (0.0, 1.0)
            } else if left_back.contains(channel) {
                (HALF_POWER, 0.0)
            } else if right_back.contains(channel) {
                (0.0, HALF_POWER)
            } else if low_frequency.contains(channel) {
                // The LFE channel duplicates the mains' bass; adding it muddies the mix.
                (0.0, 0.0)
            } else {
                (HALF_POWER, HALF_POWER)
            }
        })
        .collect();
    // Normalise so a full-scale signal on every channel cannot clip.
    let left_sum: f32 = gains.iter().map(|gain| gain.0).sum();
    let right_sum: f32 = gains.iter().map(|gain| gain.1).sum();
    let scale = 1.0 / left_sum.max(right_sum).max(1.0);
    for gain in &mut gains {
        gain.0 *= scale;
        gain.1 *= scale;
    }
    gains
}

/// Folds interleaved `samples` of `channel_count` channels into interleaved stereo.
fn to_stereo(samples: &[f32], channel_count: usize, gains: &[(f32, f32)], out: &mut Vec<f32>) {
    out.clear();
    match channel_count {
        0 => {}
        1 => {
            for &sample in samples {
                out.push(sample);
                out.push(sample);
            }
        }
        2 => out.extend_from_slice(samples),
        _ => {
            for frame in samples.chunks_exact(channel_count) {
                let (mut left, mut right) = (0.0, 0.0);
                for (&sample, &(left_gain, right_gain)) in frame.iter().zip(gains) {
                    left += sample * left_gain;
                    right += sample * right_gain;
                }
                out.push(left);
                out.push(right);
            }
        }
    }
}

/// A decoded track as interleaved stereo `f32` at 48 kHz.
pub struct SymphoniaStream {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    time_base: Option<TimeBase>,
    /// Conversion buffer and the channel layout it was made for.
    samples: Option<(SampleBuffer<f32>, Channels)>,
    layout: Option<(Channels, Vec<(f32, f32)>)>,
    stereo: Vec<f32>,
    resampler: Option<StereoResampler>,
    ring: VecDeque<f32>,
    /// Frames decoded so far, counted at `decoded_rate`, against [`MAX_TRACK_DURATION`].
    decoded_frames: u64,
    decoded_rate: u32,
    /// [`MAX_TRACK_DURATION`], a field so the tests can reach it in a second.
    max_duration: Duration,
    pending_skip: PendingSkip,
    skip_frames: u64,
    consecutive_errors: u32,
    silent_packets: u32,
    state: State,
}

impl std::fmt::Debug for SymphoniaStream {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SymphoniaStream")
            .field("track_id", &self.track_id)
            .field("buffered", &self.ring.len())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl SymphoniaStream {
    /// Opens a file, using its extension as the format hint.
    pub fn open_file(path: &Path, start_at: Duration) -> Result<Self, AudioError> {
        let file = File::open(path).map_err(|error| open_error(&error))?;
        Self::open(Box::new(file), extension_of(path).as_deref(), start_at)
    }

    /// Opens any media source (a file now, an HTTP body later) positioned at `start_at`.
    pub fn open(
        source: Box<dyn MediaSource>,
        extension_hint: Option<&str>,
        start_at: Duration,
    ) -> Result<Self, AudioError> {
        let (probed, byte_len) = probe(source, extension_hint)?;
        let mut format = probed.format;
        let track = audio_track(format.as_ref())
            .ok_or_else(|| AudioError::Unsupported("the file has no audio track".to_owned()))?;
        limits::check_declared(&track.codec_params, byte_len)?;
        let mut decoder = make_decoder(&track)?;
        let mut pending_skip = PendingSkip::None;
        if !start_at.is_zero() {
            let target = SeekTo::Time {
                time: start_at.into(),
                track_id: Some(track.id),
            };
            match guarded(|| format.seek(SeekMode::Accurate, target))? {
                Ok(seeked) => {
                    decoder.reset();
                    pending_skip = PendingSkip::UntilTimestamp(seeked.required_ts);
                }
                Err(SymphoniaError::SeekError(_) | SymphoniaError::Unsupported(_)) => {
                    pending_skip = PendingSkip::Duration(start_at);
                }
                Err(other) => return Err(map_error(other)),
            }
        }
        Ok(Self {
            format,
            decoder,
            track_id: track.id,
            time_base: track.codec_params.time_base,
            samples: None,
            layout: None,
            stereo: Vec::new(),
            resampler: None,
            ring: VecDeque::new(),
            decoded_frames: 0,
            decoded_rate: 0,
            max_duration: MAX_TRACK_DURATION,
            pending_skip,
            skip_frames: 0,
            consecutive_errors: 0,
            silent_packets: 0,
            state: State::Decoding,
        })
    }

    fn count_error(&mut self, error: &SymphoniaError) -> Result<(), AudioError> {
        self.consecutive_errors += 1;
        tracing::debug!(%error, count = self.consecutive_errors, "skipping a damaged packet");
        if self.consecutive_errors > MAX_CONSECUTIVE_ERRORS {
            return Err(AudioError::Corrupt(format!(
                "too many damaged packets in a row ({error})"
            )));
        }
        Ok(())
    }

    fn count_silent_packet(&mut self) -> Result<(), AudioError> {
        self.silent_packets += 1;
        if self.silent_packets > MAX_CONSECUTIVE_SILENT_PACKETS {
            return Err(AudioError::Corrupt(
                "the file holds no playable audio".to_owned(),
            ));
        }
        Ok(())
    }

    /// Recreates the decoder after the demuxer asked for a reset (a new logical stream).
    fn restart_decoder(&mut self) -> Result<(), AudioError> {
        let track = audio_track(self.format.as_ref()).ok_or_else(|| {
            AudioError::Unsupported("the stream has no audio track any more".to_owned())
        })?;
        limits::check_declared(&track.codec_params, None)?;
        self.decoder = make_decoder(&track)?;
        self.track_id = track.id;
        self.time_base = track.codec_params.time_base;
        Ok(())
    }

    /// Reads and decodes one packet; returns `Ok(false)` at the end of the stream.
    fn step(&mut self) -> Result<bool, AudioError> {
        let packet = match guarded(|| self.format.next_packet())? {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(error)) if error.kind() == ErrorKind::UnexpectedEof => {
                return Ok(false);
            }
            Err(SymphoniaError::ResetRequired) => {
                let error = SymphoniaError::ResetRequired;
                self.count_error(&error)?;
                self.restart_decoder()?;
                return Ok(true);
            }
            Err(error @ SymphoniaError::DecodeError(_)) => {
                self.count_error(&error)?;
                return Ok(true);
            }
            Err(error) => return Err(map_error(error)),
        };
        if packet.track_id() != self.track_id {
            self.count_silent_packet()?;
            return Ok(true);
        }
        let packet_ts = packet.ts();
        let codec = &mut self.decoder;
        let samples = &mut self.samples;
        let decoded = guarded(|| -> Result<Option<SignalSpec>, SymphoniaError> {
            let buffer = codec.decode(&packet)?;
            if buffer.frames() == 0 {
                return Ok(None);
            }
            let spec = *buffer.spec();
            let capacity = buffer.capacity() as u64;
            let reuse = samples.as_ref().is_some_and(|(existing, channels)| {
                existing.capacity() as u64 >= capacity && *channels == spec.channels
            });
            if !reuse {
                *samples = Some((SampleBuffer::new(capacity, spec), spec.channels));
            }
            if let Some((samples, _)) = samples.as_mut() {
                samples.copy_interleaved_ref(buffer);
            }
            Ok(Some(spec))
        })?;
        let spec = match decoded {
            Ok(Some(spec)) => spec,
            Ok(None) => {
                self.count_silent_packet()?;
                return Ok(true);
            }
            Err(SymphoniaError::ResetRequired) => {
                self.decoder.reset();
                return Ok(true);
            }
            Err(error @ (SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_))) => {
                self.count_error(&error)?;
                return Ok(true);
            }
            Err(error) => return Err(map_error(error)),
        };
        self.consecutive_errors = 0;
        self.silent_packets = 0;
        self.accept(spec, packet_ts)?;
        Ok(true)
    }

    /// Turns the freshly decoded buffer into stereo at 48 kHz and queues it.
    fn accept(&mut self, spec: SignalSpec, packet_ts: u64) -> Result<(), AudioError> {
        let channel_count = spec.channels.count();
        limits::check_channels(channel_count)?;
        limits::check_rate(spec.rate)?;
        self.count_decoded(spec.rate)?;
        match self.pending_skip {
            PendingSkip::None => {}
            PendingSkip::UntilTimestamp(required) => {
                let ticks = required.saturating_sub(packet_ts);
                self.skip_frames = ticks_to_frames(ticks, self.time_base, spec.rate);
            }
            PendingSkip::Duration(duration) => {
                self.skip_frames = duration_to_frames(duration, spec.rate);
            }
        }
        self.pending_skip = PendingSkip::None;

        if self
            .layout
            .as_ref()
            .is_none_or(|(channels, _)| *channels != spec.channels)
        {
            self.layout = Some((spec.channels, downmix_gains(spec.channels)));
        }
        let Some((samples, _)) = self.samples.as_ref() else {
            return Ok(());
        };
        let gains = self
            .layout
            .as_ref()
            .map_or(&[][..], |(_, gains)| gains.as_slice());
        to_stereo(samples.samples(), channel_count, gains, &mut self.stereo);

        let frames = (self.stereo.len() / 2) as u64;
        let dropped = self.skip_frames.min(frames);
        self.skip_frames -= dropped;
        let start = usize::try_from(dropped)
            .unwrap_or(usize::MAX)
            .saturating_mul(2);
        let fresh = self.stereo.get(start..).unwrap_or(&[]);
        if fresh.is_empty() {
            return Ok(());
        }

        if spec.rate == OUTPUT_RATE {
            if let Some(mut resampler) = self.resampler.take() {
                resampler.finish(&mut self.ring)?;
            }
            self.ring.extend(fresh.iter().copied());
            return Ok(());
        }
        if self
            .resampler
            .as_ref()
            .is_some_and(|resampler| resampler.input_rate() != spec.rate)
            && let Some(mut resampler) = self.resampler.take()
        {
            resampler.finish(&mut self.ring)?;
        }
        if self.resampler.is_none() {
            self.resampler = Some(StereoResampler::new(spec.rate)?);
        }
        if let Some(resampler) = self.resampler.as_mut() {
            resampler.push(fresh, &mut self.ring)?;
        }
        Ok(())
    }

    /// Counts the frames of the buffer just decoded against [`MAX_TRACK_DURATION`]; a rate
    /// change rescales what was counted so far.
    fn count_decoded(&mut self, rate: u32) -> Result<(), AudioError> {
        let frames = self.samples.as_ref().map_or(0, |(samples, channels)| {
            samples.len() / channels.count().max(1)
        }) as u64;
        if self.decoded_rate != rate {
            if self.decoded_rate != 0 {
                self.decoded_frames = ticks_to_frames(
                    self.decoded_frames,
                    Some(TimeBase::new(1, self.decoded_rate)),
                    rate,
                );
            }
            self.decoded_rate = rate;
        }
        self.decoded_frames = self.decoded_frames.saturating_add(frames);
        limits::check_decoded_frames(self.decoded_frames, rate, self.max_duration)
    }

    fn end(&mut self) -> Result<(), AudioError> {
        if let Some(mut resampler) = self.resampler.take() {
            resampler.finish(&mut self.ring)?;
        }
        Ok(())
    }

    fn fill(&mut self, wanted: usize) {
        while self.ring.len() < wanted && self.state == State::Decoding {
            match self.step() {
                Ok(true) => {}
                Ok(false) => {
                    self.state = match self.end() {
                        Ok(()) => State::Ended,
                        Err(error) => State::Failed(error),
                    };
                }
                Err(error) => {
                    tracing::debug!(%error, "decoding stopped");
                    self.state = State::Failed(error);
                }
            }
        }
    }
}

impl PcmStream for SymphoniaStream {
    fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
        let wanted = out.len() & !1;
        self.fill(wanted);
        let count = wanted.min(self.ring.len());
        if count == 0 {
            return match &self.state {
                State::Failed(error) => Err(error.clone()),
                State::Decoding | State::Ended => Ok(0),
            };
        }
        for (slot, sample) in out.iter_mut().zip(self.ring.drain(..count)) {
            *slot = sample;
        }
        Ok(count)
    }
}

fn tag_text(revision: &MetadataRevision, keys: &[StandardTagKey]) -> Option<String> {
    keys.iter().find_map(|key| {
        revision
            .tags()
            .iter()
            .find(|tag| tag.std_key == Some(*key))
            // RIFF INFO strings keep their NUL terminator in symphonia 0.5.
            .map(|tag| {
                tag.value
                    .to_string()
                    .trim_matches(|character: char| character == '\0' || character.is_whitespace())
                    .to_owned()
            })
            .filter(|text| !text.is_empty())
    })
}

/// Reads a file's title and artist tags and its duration without decoding it.
pub fn probe_info(path: &Path) -> Result<AudioInfo, AudioError> {
    let file = File::open(path).map_err(|error| open_error(&error))?;
    probe_source_info(Box::new(file), extension_of(path).as_deref())
}

/// Reads the tags and duration of any media source (an HTTP body); the probe is also the
/// content sniffing: what symphonia does not recognise as audio is refused.
pub(crate) fn probe_source_info(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> Result<AudioInfo, AudioError> {
    let (mut probed, byte_len) = probe(source, extension)?;
    if let Some(track) = audio_track(probed.format.as_ref()) {
        limits::check_declared(&track.codec_params, byte_len)?;
    }
    guarded(move || {
        let mut info = AudioInfo::default();
        let mut read_tags = |revision: Option<&MetadataRevision>| {
            if let Some(revision) = revision {
                info.title = info
                    .title
                    .take()
                    .or_else(|| tag_text(revision, &[StandardTagKey::TrackTitle]));
                info.artist = info.artist.take().or_else(|| {
                    tag_text(
                        revision,
                        &[StandardTagKey::Artist, StandardTagKey::AlbumArtist],
                    )
                });
            }
        };
        // Container tags (Vorbis comments, INFO chunks) win over ID3 found while probing.
        read_tags(probed.format.metadata().skip_to_latest());
        if let Some(mut metadata) = probed.metadata.get() {
            read_tags(metadata.skip_to_latest());
        }
        if let Some(track) = audio_track(probed.format.as_ref()) {
            let params = &track.codec_params;
            info.duration = match (params.n_frames, params.sample_rate, params.time_base) {
                (Some(frames), Some(rate), _) if rate > 0 => {
                    let whole = frames / u64::from(rate);
                    let rest = frames % u64::from(rate);
                    let nanos = rest * 1_000_000_000 / u64::from(rate);
                    Some(Duration::new(whole, u32::try_from(nanos).unwrap_or(0)))
                }
                (Some(frames), _, Some(base)) if base.numer > 0 && base.denom > 0 => {
                    Some(base.calc_time(frames).into())
                }
                _ => None,
            };
        }
        info
    })
}

#[cfg(test)]
mod tests;
