//! Fixtures shared by this crate's tests, and the signal measurements of `minstrel_testkit::audio`
//! they use.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use minstrel_app::ports::{AudioError, PcmStream, TrackInfo};
use minstrel_domain::{Requester, SourceKind, Track, TrackId};
use minstrel_testkit::audio::estimate_pitch_hz;
pub(crate) use minstrel_testkit::audio::{channel, rms};

use crate::decode::SymphoniaStream;

/// A track to open or to start a related-track lookup from: "seed" (track 1, asked for from the
/// console), with its `kind`, `locator` and `artist`.
pub(crate) fn track(kind: SourceKind, locator: &str, artist: Option<&str>) -> Track {
    TrackInfo {
        title: "seed".to_owned(),
        artist: artist.map(str::to_owned),
        duration: None,
        source_kind: kind,
        locator: locator.to_owned(),
        thumbnail: None,
    }
    .into_track(TrackId(1), Requester::console())
}

/// How a fixture stores its samples.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SampleFormat {
    Int16,
    Float32,
}

/// Writes `seconds` of a sine at `frequency` Hz, the same on every channel.
pub(crate) fn write_sine_wav(
    path: &Path,
    rate: u32,
    channels: u16,
    frequency: f32,
    seconds: f32,
    amplitude: f32,
    format: SampleFormat,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: match format {
            SampleFormat::Int16 => 16,
            SampleFormat::Float32 => 32,
        },
        sample_format: match format {
            SampleFormat::Int16 => hound::SampleFormat::Int,
            SampleFormat::Float32 => hound::SampleFormat::Float,
        },
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let frames = (rate as f32 * seconds).round() as u32;
    for index in 0..frames {
        let time = index as f32 / rate as f32;
        let value = amplitude * (std::f32::consts::TAU * frequency * time).sin();
        for _ in 0..channels {
            match format {
                SampleFormat::Int16 => writer.write_sample((value * 32767.0) as i16).unwrap(),
                SampleFormat::Float32 => writer.write_sample(value).unwrap(),
            }
        }
    }
    writer.finalize().unwrap();
}

/// Decodes a whole file on a helper thread; a hang fails the test instead of freezing it.
pub(crate) fn decode_all(path: &Path, start_at: Duration) -> Result<Vec<f32>, AudioError> {
    let path = path.to_owned();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let result = SymphoniaStream::open_file(&path, start_at).and_then(|mut stream| {
            let mut all = Vec::new();
            let mut block = vec![0.0_f32; 1920];
            loop {
                let count = stream.read(&mut block)?;
                if count == 0 {
                    return Ok(all);
                }
                assert_eq!(count % 2, 0, "reads return whole stereo frames");
                all.extend_from_slice(&block[..count]);
            }
        });
        let _ = sender.send(result);
    });
    receiver
        .recv_timeout(Duration::from_mins(1))
        .expect("decoding finished (no hang, no panic)")
}

/// The pitch of `samples` in Hz, measured as every audio test measures it
/// ([`minstrel_testkit::audio::estimate_pitch_hz`]).
///
/// # Panics
/// When the signal has no pitch.
pub(crate) fn pitch(samples: &[f32], rate: u32) -> f32 {
    estimate_pitch_hz(samples, rate).expect("the signal has a pitch")
}

/// One RIFF chunk: its id, its length and its body, padded to an even length.
pub(crate) fn riff_chunk(id: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut bytes = id.to_vec();
    bytes.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(body);
    if body.len() % 2 == 1 {
        bytes.push(0);
    }
    bytes
}

/// The body of a `fmt ` chunk for 16-bit PCM mono at `rate`.
pub(crate) fn pcm16_mono_format(rate: u32) -> Vec<u8> {
    let mut format = Vec::new();
    format.extend_from_slice(&1_u16.to_le_bytes());
    format.extend_from_slice(&1_u16.to_le_bytes());
    format.extend_from_slice(&rate.to_le_bytes());
    format.extend_from_slice(&(rate * 2).to_le_bytes());
    format.extend_from_slice(&2_u16.to_le_bytes());
    format.extend_from_slice(&16_u16.to_le_bytes());
    format
}

/// A 16-bit mono WAV file's bytes: `format` (see [`pcm16_mono_format`]), the LIST/INFO chunk
/// `info` (its `INFO` id and sub-chunks) and the samples `data`.
pub(crate) fn tagged_wav_bytes(format: &[u8], info: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    body.extend(riff_chunk(*b"fmt ", format));
    body.extend(riff_chunk(*b"LIST", info));
    body.extend(riff_chunk(*b"data", data));
    riff_chunk(*b"RIFF", &body)
}

/// Writes a short silent 16-bit mono WAV whose LIST/INFO chunk names `artist`.
pub(crate) fn write_tagged_wav(path: &Path, artist: &str) {
    let mut info = b"INFO".to_vec();
    info.extend(riff_chunk(*b"IART", format!("{artist}\0").as_bytes()));
    let bytes = tagged_wav_bytes(&pcm16_mono_format(8000), &info, &[0_u8; 1600]);
    std::fs::write(path, bytes).unwrap();
}
