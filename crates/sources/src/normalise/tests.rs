#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use super::*;

/// A stereo 1 kHz sine of a given amplitude, `seconds` long, read in odd-sized blocks.
struct Tone {
    amplitude: f32,
    /// Amplitude after `switch_at` frames, for tracks that get louder.
    later_amplitude: f32,
    switch_at: usize,
    frame: usize,
    frames: usize,
}

impl Tone {
    fn new(amplitude: f32, seconds: f32) -> Self {
        Self {
            amplitude,
            later_amplitude: amplitude,
            switch_at: usize::MAX,
            frame: 0,
            frames: (48_000.0 * seconds) as usize,
        }
    }
}

impl PcmStream for Tone {
    fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
        let mut written = 0;
        for pair in out.chunks_exact_mut(2) {
            if self.frame >= self.frames {
                break;
            }
            let amplitude = if self.frame < self.switch_at {
                self.amplitude
            } else {
                self.later_amplitude
            };
            let phase = std::f32::consts::TAU * 1000.0 * self.frame as f32 / 48_000.0;
            let value = amplitude * phase.sin();
            pair[0] = value;
            pair[1] = value;
            self.frame += 1;
            written += 2;
        }
        Ok(written)
    }
}

fn read_all(stream: &mut dyn PcmStream) -> Vec<f32> {
    let mut all = Vec::new();
    let mut block = vec![0.0_f32; 1922];
    loop {
        let count = stream.read(&mut block).unwrap();
        if count == 0 {
            return all;
        }
        all.extend_from_slice(&block[..count]);
    }
}

fn loudness(samples: &[f32]) -> f64 {
    let mut meter = EbuR128::new(2, 48_000, Mode::I).unwrap();
    meter.add_frames_f32(samples).unwrap();
    meter.loudness_global().unwrap()
}

/// The amplitude at which the test tone measures `lufs`.
fn amplitude_for(lufs: f64) -> f32 {
    let reference = read_all(&mut Tone::new(0.5, 5.0));
    let measured = loudness(&reference);
    (0.5 * db_to_linear(lufs - measured)) as f32
}

#[test]
fn a_quiet_track_is_brought_up_to_the_target() {
    let amplitude = amplitude_for(-30.0);
    let input = read_all(&mut Tone::new(amplitude, 10.0));
    assert!((loudness(&input) + 30.0).abs() < 0.1);
    let mut stream = NormalisedStream::new(
        Box::new(Tone::new(amplitude, 10.0)),
        NormalisationConfig::default(),
    );
    let output = read_all(&mut stream);
    assert_eq!(output.len(), input.len(), "nothing is lost or added");
    // From the first samples on, not only after the first seconds.
    let first_second = &output[..2 * 48_000];
    let rest = &output[2 * 3 * 48_000..];
    for (what, part) in [("first second", first_second), ("after 3 s", rest)] {
        let measured = loudness(part);
        assert!((measured + 14.0).abs() <= 1.0, "{what}: {measured} LUFS");
    }
}

#[test]
fn a_loud_track_is_turned_down() {
    let amplitude = amplitude_for(-6.0);
    let mut stream = NormalisedStream::new(
        Box::new(Tone::new(amplitude, 8.0)),
        NormalisationConfig::default(),
    );
    let output = read_all(&mut stream);
    let measured = loudness(&output[2 * 3 * 48_000..]);
    assert!((measured + 14.0).abs() <= 1.0, "{measured} LUFS");
    assert!(stream.current_gain_db() < -6.0);
}

#[test]
fn off_leaves_every_sample_untouched() {
    let amplitude = amplitude_for(-30.0);
    let expected = read_all(&mut Tone::new(amplitude, 4.0));
    let mut stream = NormalisedStream::new(
        Box::new(Tone::new(amplitude, 4.0)),
        NormalisationConfig {
            enabled: false,
            ..NormalisationConfig::default()
        },
    );
    assert_eq!(read_all(&mut stream), expected);
}

#[test]
fn a_change_in_loudness_is_followed_without_jumps() {
    // 5 s quiet, then 15 s 20 dB louder: the gain must come down, gradually.
    let quiet = amplitude_for(-34.0);
    let tone = Tone {
        later_amplitude: quiet * 10.0,
        switch_at: 5 * 48_000,
        ..Tone::new(quiet, 20.0)
    };
    let mut stream = NormalisedStream::new(Box::new(tone), NormalisationConfig::default());
    let mut gains = Vec::new();
    let mut block = vec![0.0_f32; 960];
    loop {
        let count = stream.read(&mut block).unwrap();
        if count == 0 {
            break;
        }
        gains.push(stream.current_gain_db());
    }
    let biggest_step = gains
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).abs())
        .fold(0.0, f64::max);
    // 10 ms blocks at 6 dB/s: at most 0.06 dB per block.
    assert!(biggest_step <= 0.061, "gain jumped by {biggest_step} dB");
    assert!(gains[0] > 15.0, "starts boosted: {}", gains[0]);
    assert!(
        *gains.last().unwrap() < gains[0] - 5.0,
        "the gain came down after the track got louder: {gains:?}"
    );
}

#[test]
fn silence_is_not_boosted() {
    let mut stream = NormalisedStream::new(
        Box::new(Tone::new(0.0, 4.0)),
        NormalisationConfig::default(),
    );
    let output = read_all(&mut stream);
    assert!(output.iter().all(|sample| *sample == 0.0));
    assert!(stream.current_gain_db().abs() < 1e-9);
}

#[test]
fn switching_off_while_playing_glides_back_to_unity() {
    let amplitude = amplitude_for(-30.0);
    let switch = Arc::new(AtomicBool::new(true));
    let mut stream = NormalisedStream::with_switch(
        Box::new(Tone::new(amplitude, 10.0)),
        NormalisationConfig::default(),
        Arc::clone(&switch),
    );
    let mut block = vec![0.0_f32; 960];
    stream.read(&mut block).unwrap();
    assert!(stream.current_gain_db() > 10.0);
    switch.store(false, Ordering::Relaxed);
    let mut last = stream.current_gain_db();
    while stream.read(&mut block).unwrap() > 0 {
        let now = stream.current_gain_db();
        assert!(last - now <= 0.061, "jumped from {last} to {now}");
        last = now;
    }
    assert!(last.abs() < 1e-9, "back at unity: {last}");
}

/// Opens a quiet tone for every track, whatever the track says.
struct QuietToneOpener {
    amplitude: f32,
}

impl AudioOpener for QuietToneOpener {
    fn open(
        &self,
        _track: &Track,
        _start_at: Duration,
        _options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        Ok(Box::new(Tone::new(self.amplitude, 6.0)))
    }
}

fn any_track() -> Track {
    minstrel_app::ports::TrackInfo {
        title: "quiet".to_owned(),
        artist: None,
        duration: None,
        source_kind: minstrel_domain::SourceKind::Local,
        locator: "quiet.wav".to_owned(),
        thumbnail: None,
    }
    .into_track(
        minstrel_domain::TrackId(1),
        minstrel_domain::Requester::console(),
    )
}

#[test]
fn the_opener_normalises_what_it_opens_and_obeys_its_switch() {
    let amplitude = amplitude_for(-30.0);
    let opener = NormalisingOpener::new(
        Arc::new(QuietToneOpener { amplitude }),
        NormalisationConfig::default(),
    );
    let mut normalised = opener
        .open(&any_track(), Duration::ZERO, OpenOptions::default())
        .unwrap();
    let measured = loudness(&read_all(normalised.as_mut()));
    assert!((measured + 14.0).abs() <= 1.0, "{measured} LUFS");

    opener.switch().store(false, Ordering::Relaxed);
    let mut untouched = opener
        .open(&any_track(), Duration::ZERO, OpenOptions::default())
        .unwrap();
    let measured = loudness(&read_all(untouched.as_mut()));
    assert!((measured + 30.0).abs() <= 0.2, "{measured} LUFS");
}

/// Loudness of a quiet file on disk, opened through the local library and the normaliser
/// with `options`, while the bot-wide switch is `master`.
fn loudness_of_quiet_file(master: bool, options: OpenOptions) -> f64 {
    let library = tempfile::tempdir().unwrap();
    // 44.1 kHz mono, so the level is measured after the real decode, resample and upmix.
    crate::test_support::write_sine_wav(
        &library.path().join("quiet.wav"),
        44_100,
        1,
        1000.0,
        6.0,
        amplitude_for(-30.0),
        crate::test_support::SampleFormat::Int16,
    );
    let local = crate::LocalAudioOpener::new(library.path()).unwrap();
    let opener = NormalisingOpener::new(
        Arc::new(local),
        NormalisationConfig {
            enabled: master,
            ..NormalisationConfig::default()
        },
    );
    let mut stream = opener.open(&any_track(), Duration::ZERO, options).unwrap();
    loudness(&read_all(stream.as_mut()))
}

#[test]
fn a_guild_with_normalisation_off_hears_a_quiet_file_at_its_own_level() {
    let on = OpenOptions { normalise: true };
    let off = OpenOptions { normalise: false };

    let normalised = loudness_of_quiet_file(true, on);
    let guild_off = loudness_of_quiet_file(true, off);
    let master_off = loudness_of_quiet_file(false, on);

    assert!((normalised + 14.0).abs() <= 1.0, "{normalised} LUFS");
    assert!((guild_off + 30.0).abs() <= 0.5, "{guild_off} LUFS");
    assert!(
        (master_off + 30.0).abs() <= 0.5,
        "the bot-wide switch stays the master: {master_off} LUFS"
    );
}
