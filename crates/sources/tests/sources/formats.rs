//! The committed fixtures of each format decode to the same 440 Hz second.

use std::time::Duration;

use minstrel_sources::{SymphoniaStream, probe_info};

use crate::support::{assert_tone, channel, fixtures, pitch, read_all_within, rms};

fn decode(name: &str, start_at: Duration) -> Vec<f32> {
    let stream = SymphoniaStream::open_file(&fixtures().join(name), start_at)
        .unwrap_or_else(|error| panic!("{name}: {error}"));
    read_all_within(Box::new(stream), Duration::from_secs(30)).unwrap()
}

#[test]
fn flac_mp3_vorbis_and_opus_decode_to_the_tone() {
    for name in ["tone.flac", "tone.mp3", "tone.ogg", "tone.opus"] {
        let samples = decode(name, Duration::ZERO);
        assert_tone(&samples, 1.0);
        let left = channel(&samples, 0);
        assert_eq!(left, channel(&samples, 1), "{name}: mono on both channels");
        let middle = &left[4800..left.len() - 4800];
        let level = rms(middle);
        assert!((level - 0.354).abs() < 0.03, "{name}: rms {level}");
    }
}

#[test]
fn opus_seeks_and_reports_its_duration() {
    let info = probe_info(&fixtures().join("tone.opus")).unwrap();
    let duration = info.duration.expect("a duration");
    assert!(
        duration.abs_diff(Duration::from_secs(1)) < Duration::from_millis(30),
        "{duration:?}"
    );
    let samples = decode("tone.opus", Duration::from_millis(500));
    assert_tone(&samples, 0.5);
}

/// AAC and ALAC in MP4 (scripts/gen-fixtures.sh made them with ffmpeg): one second of 440 Hz
/// at amplitude 0.5, mono and stereo, 44.1 kHz. Each decodes to 48 kHz stereo with the same
/// signal on both channels, the right pitch (±1 %) and duration (±30 ms), at its level.
#[test]
fn aac_and_alac_in_mp4_decode_to_the_tone_at_48_khz_stereo() {
    for name in [
        "tone-aac.m4a",
        "tone-aac-stereo.m4a",
        "tone-alac.m4a",
        "tone-alac-stereo.m4a",
    ] {
        let samples = decode(name, Duration::ZERO);
        assert_eq!(samples.len() % 2, 0, "{name}: interleaved stereo");
        let frames = samples.len() / 2;
        let duration_ms = frames as f64 * 1000.0 / 48_000.0;
        // Known gap: symphonia 0.5 ignores the MP4 edit list, so AAC keeps the encoder's
        // 1024-frame priming and the last frame's padding (up to 1024 frames), about 23 ms
        // each at 44.1 kHz; ALAC has neither and must be exact to 30 ms.
        let allowed_extra = if name.contains("aac") {
            2.0 * 1024.0 * 1000.0 / 44_100.0
        } else {
            0.0
        };
        assert!(
            (970.0..=1030.0 + allowed_extra).contains(&duration_ms),
            "{name}: {duration_ms:.1} ms"
        );
        let left = channel(&samples, 0);
        let right = channel(&samples, 1);
        // Lossy stereo AAC codes mid/side, so its channels match closely, not bit for bit.
        let difference: Vec<f32> = left.iter().zip(&right).map(|(l, r)| l - r).collect();
        assert!(
            rms(&difference) < 0.01 * rms(&left),
            "{name}: the same on both channels (difference rms {})",
            rms(&difference)
        );
        let middle = &left[4800..left.len() - 4800];
        let measured = pitch(middle, 48_000);
        assert!(
            (measured - 440.0).abs() <= 4.4,
            "{name}: pitch {measured} Hz"
        );
        let level = rms(middle);
        assert!((level - 0.354).abs() < 0.03, "{name}: rms {level}");
        let info = probe_info(&fixtures().join(name)).unwrap();
        let probed = info.duration.expect("a duration");
        assert!(
            probed.abs_diff(Duration::from_secs(1)) <= Duration::from_millis(30),
            "{name}: probed {probed:?}"
        );
    }
}

#[test]
fn alac_seeks_to_the_middle() {
    let samples = decode("tone-alac-stereo.m4a", Duration::from_millis(500));
    let frames = samples.len() / 2;
    assert!(
        frames.abs_diff(24_000) <= 1_440,
        "{frames} frames after seeking to 0.5 s"
    );
    assert!((pitch(&channel(&samples, 0), 48_000) - 440.0).abs() <= 4.4);
}
