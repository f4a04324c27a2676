#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::test_support::{
    SampleFormat, channel, decode_all, pcm16_mono_format, pitch, riff_chunk as chunk, rms,
    tagged_wav_bytes, write_sine_wav,
};

const SOURCE_AMPLITUDE: f32 = 0.5;

/// Writes `seconds` of the test tone (440 Hz at [`SOURCE_AMPLITUDE`]) to `path`.
fn write_tone(path: &Path, rate: u32, channels: u16, seconds: f32, format: SampleFormat) {
    write_sine_wav(
        path,
        rate,
        channels,
        440.0,
        seconds,
        SOURCE_AMPLITUDE,
        format,
    );
}

fn assert_close(actual: f32, expected: f32, tolerance: f32, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} ± {tolerance}"
    );
}

#[test]
fn mono_44k1_wav_becomes_48k_stereo_with_the_same_pitch_and_level() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tone.wav");
    write_tone(&path, 44_100, 1, 1.0, SampleFormat::Int16);

    let samples = decode_all(&path, Duration::ZERO).unwrap();
    let frames = samples.len() / 2;
    assert!((47_520..=48_480).contains(&frames), "got {frames} frames");

    let (left, right) = (channel(&samples, 0), channel(&samples, 1));
    assert_eq!(left, right, "mono is duplicated onto both channels");
    assert_close(pitch(&left, 48_000), 440.0, 4.4, "pitch");
    // Skip the edges where the resampler's filter rings in and out.
    let middle = &left[2400..left.len() - 2400];
    let expected_rms = SOURCE_AMPLITUDE / std::f32::consts::SQRT_2;
    assert_close(rms(middle), expected_rms, expected_rms * 0.03, "rms");
}

#[test]
fn stereo_48k_float_wav_passes_through_untouched() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tone.wav");
    write_tone(&path, 48_000, 2, 1.0, SampleFormat::Float32);

    let samples = decode_all(&path, Duration::ZERO).unwrap();
    assert_eq!(samples.len(), 2 * 48_000);
    let left = channel(&samples, 0);
    assert_eq!(left, channel(&samples, 1));
    assert_close(pitch(&left, 48_000), 440.0, 4.4, "pitch");
    assert_close(
        rms(&left),
        SOURCE_AMPLITUDE / std::f32::consts::SQRT_2,
        0.005,
        "rms",
    );
}

#[test]
fn opening_at_half_a_second_yields_half_the_audio() {
    let folder = tempfile::tempdir().unwrap();
    for (rate, channels) in [(44_100, 1), (48_000, 2)] {
        let path = folder.path().join(format!("tone-{rate}.wav"));
        write_tone(&path, rate, channels, 1.0, SampleFormat::Int16);
        let samples = decode_all(&path, Duration::from_millis(500)).unwrap();
        let frames = samples.len() / 2;
        assert!(
            (23_520..=24_480).contains(&frames),
            "{rate} Hz: got {frames} frames"
        );
        assert_close(pitch(&channel(&samples, 0), 48_000), 440.0, 4.4, "pitch");
    }
}

#[test]
fn opening_past_the_end_is_a_clean_end() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tone.wav");
    write_tone(&path, 48_000, 2, 1.0, SampleFormat::Int16);
    match decode_all(&path, Duration::from_secs(5)) {
        Ok(samples) => assert!(samples.len() < 4800, "got {} samples", samples.len()),
        Err(error) => assert_eq!(error, AudioError::SeekUnsupported),
    }
}

#[test]
fn an_empty_file_is_a_clean_error() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("empty.wav");
    std::fs::write(&path, b"").unwrap();
    let error = decode_all(&path, Duration::ZERO).unwrap_err();
    assert!(matches!(error, AudioError::Unsupported(_)), "{error:?}");
}

#[test]
fn a_missing_file_is_an_io_error_without_the_path() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nothing-here.wav");
    let error = SymphoniaStream::open_file(&path, Duration::ZERO).unwrap_err();
    assert_eq!(error, AudioError::Io("the file does not exist".to_owned()));
}

#[test]
fn a_truncated_wav_ends_cleanly_or_fails_cleanly() {
    let folder = tempfile::tempdir().unwrap();
    let whole = folder.path().join("whole.wav");
    write_tone(&whole, 44_100, 1, 1.0, SampleFormat::Int16);
    let bytes = std::fs::read(&whole).unwrap();
    for (name, length) in [
        ("header-only.wav", 44),
        ("half-header.wav", 20),
        ("middle.wav", bytes.len() / 2),
        ("odd-cut.wav", bytes.len() / 2 + 1),
    ] {
        let path = folder.path().join(name);
        std::fs::write(&path, &bytes[..length]).unwrap();
        match decode_all(&path, Duration::ZERO) {
            Ok(samples) => {
                // What was there plays; nothing is invented.
                assert!(
                    samples.len() <= 2 * 48_480,
                    "{name}: {} samples",
                    samples.len()
                );
                assert!(samples.iter().all(|sample| sample.is_finite()), "{name}");
            }
            Err(error) => assert!(!error.to_string().is_empty(), "{name}"),
        }
    }
    // Cut in the middle still yields about half the audio at the right pitch.
    let samples = decode_all(&folder.path().join("middle.wav"), Duration::ZERO).unwrap();
    let frames = samples.len() / 2;
    assert!((22_000..=26_000).contains(&frames), "got {frames} frames");
    assert_close(pitch(&channel(&samples, 0), 48_000), 440.0, 4.4, "pitch");
}

/// A small deterministic generator, so a failure reproduces.
fn garbage(length: usize, mut seed: u64) -> Vec<u8> {
    (0..length)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u8
        })
        .collect()
}

#[test]
fn garbage_bytes_never_panic_or_hang() {
    let folder = tempfile::tempdir().unwrap();
    for (index, extension) in [
        "wav", "mp3", "flac", "ogg", "m4a", "mka", "aiff", "caf", "bin",
    ]
    .into_iter()
    .enumerate()
    {
        for (round, length) in [17_usize, 4096, 200_000].into_iter().enumerate() {
            let path = folder.path().join(format!("noise-{round}.{extension}"));
            std::fs::write(&path, garbage(length, (index * 10 + round) as u64 + 1)).unwrap();
            if let Ok(samples) = decode_all(&path, Duration::ZERO) {
                assert!(samples.iter().all(|sample| sample.is_finite()), "{path:?}");
            }
            let _ = probe_info(&path);
        }
    }
}

#[test]
fn a_wav_header_followed_by_garbage_never_panics_or_hangs() {
    let folder = tempfile::tempdir().unwrap();
    let whole = folder.path().join("whole.wav");
    write_tone(&whole, 44_100, 2, 0.2, SampleFormat::Int16);
    let mut bytes = std::fs::read(&whole).unwrap();
    bytes.truncate(44);
    bytes.extend(garbage(30_000, 7));
    let path = folder.path().join("header-then-noise.wav");
    std::fs::write(&path, &bytes).unwrap();
    if let Ok(samples) = decode_all(&path, Duration::ZERO) {
        assert!(samples.iter().all(|sample| sample.is_finite()));
    }
}

#[test]
fn a_panic_inside_the_decoder_becomes_a_clean_error() {
    let result: Result<(), AudioError> = guarded(|| panic!("symphonia bug"));
    assert_eq!(
        result,
        Err(AudioError::Corrupt(
            "the decoder crashed on this file".to_owned()
        ))
    );
}

/// A 16-bit mono WAV carrying a title and an artist in a LIST/INFO chunk.
fn tagged_wav(rate: u32, frames: u32) -> Vec<u8> {
    let mut info = b"INFO".to_vec();
    info.extend(chunk(*b"INAM", b"Morning Tone\0"));
    info.extend(chunk(*b"IART", b"The Sines\0"));
    let data: Vec<u8> = (0..frames)
        .flat_map(|index| {
            let value = (0.3
                * (std::f32::consts::TAU * 440.0 * index as f32 / rate as f32).sin()
                * 32767.0) as i16;
            value.to_le_bytes()
        })
        .collect();
    tagged_wav_bytes(&pcm16_mono_format(rate), &info, &data)
}

#[test]
fn probe_info_reads_tags_and_duration() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tagged.wav");
    std::fs::write(&path, tagged_wav(8000, 12_000)).unwrap();
    let info = probe_info(&path).unwrap();
    assert_eq!(info.title.as_deref(), Some("Morning Tone"));
    assert_eq!(info.artist.as_deref(), Some("The Sines"));
    assert_eq!(info.duration, Some(Duration::from_millis(1500)));

    // The tagged file also decodes: 1.5 s at 8 kHz becomes 72 000 frames at 48 kHz.
    let samples = decode_all(&path, Duration::ZERO).unwrap();
    assert_eq!(samples.len(), 2 * 72_000);
}

#[test]
fn probe_info_without_tags_has_only_a_duration() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("plain.wav");
    write_tone(&path, 44_100, 2, 2.0, SampleFormat::Float32);
    let info = probe_info(&path).unwrap();
    assert_eq!(info.title, None);
    assert_eq!(info.artist, None);
    assert_eq!(info.duration, Some(Duration::from_secs(2)));
}

#[test]
fn surround_folds_into_stereo_without_clipping() {
    let layout = Channels::FRONT_LEFT
        | Channels::FRONT_RIGHT
        | Channels::FRONT_CENTRE
        | Channels::LFE1
        | Channels::REAR_LEFT
        | Channels::REAR_RIGHT;
    let gains = downmix_gains(layout);
    let mut out = Vec::new();
    // Full scale everywhere stays within ±1.
    to_stereo(&[1.0; 6], 6, &gains, &mut out);
    assert!(
        out.iter().all(|sample| sample.abs() <= 1.0 + 1e-6),
        "{out:?}"
    );
    // A signal only on the front left stays on the left.
    to_stereo(&[0.5, 0.0, 0.0, 0.0, 0.0, 0.0], 6, &gains, &mut out);
    assert!(out[0] > 0.1 && out[1] == 0.0, "{out:?}");
    // The centre goes to both sides equally; the LFE is left out.
    to_stereo(&[0.0, 0.0, 0.5, 0.9, 0.0, 0.0], 6, &gains, &mut out);
    assert!(out[0] > 0.0 && (out[0] - out[1]).abs() < 1e-6, "{out:?}");
    to_stereo(&[0.0, 0.0, 0.0, 0.9, 0.0, 0.0], 6, &gains, &mut out);
    assert_eq!(out, vec![0.0, 0.0]);
}

#[test]
fn mono_is_duplicated() {
    let mut out = Vec::new();
    to_stereo(
        &[0.1, -0.2],
        1,
        &downmix_gains(Channels::FRONT_LEFT),
        &mut out,
    );
    assert_eq!(out, vec![0.1, 0.1, -0.2, -0.2]);
}

#[test]
fn without_seeking_the_start_is_reached_by_decoding_and_discarding() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tone.wav");
    write_tone(&path, 44_100, 1, 1.0, SampleFormat::Int16);
    let mut stream = SymphoniaStream::open_file(&path, Duration::ZERO).unwrap();
    // What `open` falls back to when the format refuses to seek.
    stream.pending_skip = PendingSkip::Duration(Duration::from_millis(500));
    let mut all = Vec::new();
    let mut block = vec![0.0_f32; 2000];
    loop {
        let count = stream.read(&mut block).unwrap();
        if count == 0 {
            break;
        }
        all.extend_from_slice(&block[..count]);
    }
    let frames = all.len() / 2;
    assert!((23_520..=24_480).contains(&frames), "got {frames} frames");
    assert_close(pitch(&channel(&all, 0), 48_000), 440.0, 4.4, "pitch");
}

/// Reads `stream` to its end or its first error.
fn read_to_end(stream: &mut SymphoniaStream) -> Result<usize, AudioError> {
    let mut block = vec![0.0_f32; 1920];
    let mut total = 0;
    loop {
        match stream.read(&mut block)? {
            0 => return Ok(total),
            count => total += count,
        }
    }
}

#[test]
fn decoding_stops_with_a_sentence_past_the_duration_cap() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("three-seconds.wav");
    // No length in the header to refuse up front: only the decoded audio counts.
    write_tone(&path, 44_100, 1, 3.0, SampleFormat::Int16);
    let mut stream = SymphoniaStream::open_file(&path, Duration::ZERO).unwrap();
    stream.max_duration = Duration::from_mins(1);
    assert_eq!(read_to_end(&mut stream), Ok(3 * 48_000 * 2));

    let mut stream = SymphoniaStream::open_file(&path, Duration::ZERO).unwrap();
    stream.max_duration = Duration::from_secs(2);
    let error = read_to_end(&mut stream).unwrap_err();
    assert_eq!(
        error.to_string(),
        "this audio format is not supported: the track is longer than 2 seconds, the longest I play"
    );
}

#[test]
fn a_wav_streamed_by_ffmpeg_with_an_unknown_length_still_plays() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("piped.wav");
    write_tone(&path, 44_100, 2, 1.0, SampleFormat::Int16);
    let mut bytes = std::fs::read(&path).unwrap();
    // The RIFF and data lengths ffmpeg writes when it cannot seek back.
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let samples = decode_all(&path, Duration::ZERO).unwrap();
    assert_eq!(samples.len(), 48_000 * 2);
}
