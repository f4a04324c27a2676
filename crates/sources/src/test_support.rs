//! Fixtures and signal measurements shared by this crate's tests.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use minstrel_app::ports::{AudioError, PcmStream};

use crate::decode::SymphoniaStream;

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

pub(crate) fn channel(interleaved: &[f32], index: usize) -> Vec<f32> {
    interleaved.iter().skip(index).step_by(2).copied().collect()
}

pub(crate) fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|sample| sample * sample).sum::<f32>() / samples.len() as f32).sqrt()
}

/// Frequency from rising zero crossings, interpolated between samples.
pub(crate) fn pitch(samples: &[f32], rate: u32) -> f32 {
    let mut crossings = Vec::new();
    for (index, pair) in samples.windows(2).enumerate() {
        if pair[0] < 0.0 && pair[1] >= 0.0 {
            let fraction = -pair[0] / (pair[1] - pair[0]);
            crossings.push(index as f32 + fraction);
        }
    }
    assert!(crossings.len() > 2, "the signal has no pitch");
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f32 * rate as f32 / span
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

/// Writes a short silent 16-bit mono WAV whose LIST/INFO chunk names `artist`.
pub(crate) fn write_tagged_wav(path: &Path, artist: &str) {
    let rate: u32 = 8000;
    let mut format = Vec::new();
    format.extend_from_slice(&1_u16.to_le_bytes());
    format.extend_from_slice(&1_u16.to_le_bytes());
    format.extend_from_slice(&rate.to_le_bytes());
    format.extend_from_slice(&(rate * 2).to_le_bytes());
    format.extend_from_slice(&2_u16.to_le_bytes());
    format.extend_from_slice(&16_u16.to_le_bytes());
    let mut info = b"INFO".to_vec();
    info.extend(riff_chunk(*b"IART", format!("{artist}\0").as_bytes()));
    let data = vec![0_u8; 1600];
    let mut body = b"WAVE".to_vec();
    body.extend(riff_chunk(*b"fmt ", &format));
    body.extend(riff_chunk(*b"LIST", &info));
    body.extend(riff_chunk(*b"data", &data));
    std::fs::write(path, riff_chunk(*b"RIFF", &body)).unwrap();
}
