//! The committed fixtures of each format decode to the same 440 Hz second.

use std::time::Duration;

use minstrel_sources::{SymphoniaStream, probe_info};

use crate::support::{assert_tone, channel, fixtures, read_all_within, rms};

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
