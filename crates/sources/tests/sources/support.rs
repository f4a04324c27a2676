//! Fixtures, resolvers and signal measurements shared by the tests.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{AudioError, PcmStream, TrackInfo};
use minstrel_domain::{Requester, SourceKind, Track, TrackId};
use minstrel_sources::HostResolver;

/// A 16-bit WAV of a sine at 440 Hz, amplitude 0.5, every channel the same.
pub fn wav_bytes(rate: u32, channels: u16, seconds: f32) -> Vec<u8> {
    let mut cursor = io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    let frames = (rate as f32 * seconds).round() as u32;
    for index in 0..frames {
        let value = 0.5 * (std::f32::consts::TAU * 440.0 * index as f32 / rate as f32).sin();
        for _ in 0..channels {
            writer.write_sample((value * 32767.0) as i16).unwrap();
        }
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

/// Names pointing at chosen addresses; permits exactly the listed (name, socket address)
/// pairs, so another name pointed at the same server is still refused.
#[derive(Debug, Default, Clone)]
pub struct TestResolver {
    pub names: HashMap<String, Vec<IpAddr>>,
    pub permitted: Vec<(String, SocketAddr)>,
}

impl TestResolver {
    /// `audio.test` → the server, which (and only which, under that name) may be reached.
    pub fn for_server(server: SocketAddr) -> Self {
        let mut resolver = Self::default();
        resolver
            .names
            .insert("audio.test".to_owned(), vec![server.ip()]);
        resolver.permitted.push(("audio.test".to_owned(), server));
        resolver
    }
}

#[async_trait]
impl HostResolver for TestResolver {
    async fn lookup(&self, host: &str, _: u16) -> io::Result<Vec<IpAddr>> {
        self.names
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such test host"))
    }

    fn permits(&self, host: &str, address: IpAddr) -> bool {
        self.permitted
            .iter()
            .any(|(name, permitted)| name == host && permitted.ip() == address)
    }
}

pub fn track(kind: SourceKind, locator: &str) -> Track {
    TrackInfo {
        title: "t".to_owned(),
        artist: None,
        duration: None,
        source_kind: kind,
        locator: locator.to_owned(),
        thumbnail: None,
    }
    .into_track(TrackId(1), Requester::console())
}

/// Reads a stream to its end on a helper thread; a hang or panic fails the test.
pub fn read_all_within(
    stream: Box<dyn PcmStream>,
    limit: Duration,
) -> Result<Vec<f32>, AudioError> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stream = stream;
        let mut all = Vec::new();
        let mut block = vec![0.0_f32; 1920];
        let result = loop {
            match stream.read(&mut block) {
                Ok(0) => break Ok(all),
                Ok(count) => all.extend_from_slice(&block[..count]),
                Err(error) => break Err(error),
            }
        };
        let _ = sender.send(result);
    });
    receiver
        .recv_timeout(limit)
        .expect("the stream ended in time (no hang, no panic)")
}

pub use minstrel_testkit::audio::{channel, rms};

/// The pitch of a mono signal (panics when it has none).
pub fn pitch(samples: &[f32], rate: u32) -> f32 {
    minstrel_testkit::audio::estimate_pitch_hz(samples, rate).expect("the signal has no pitch")
}

/// Asserts a 440 Hz tone of `seconds` (± 2 %) at 48 kHz stereo.
pub fn assert_tone(samples: &[f32], seconds: f32) {
    let frames = samples.len() / 2;
    let expected = 48_000.0 * seconds;
    assert!(
        (frames as f32 - expected).abs() <= expected * 0.02 + 1200.0,
        "{frames} frames, expected about {expected}"
    );
    let left = channel(samples, 0);
    let measured = pitch(&left, 48_000);
    assert!((measured - 440.0).abs() < 4.4, "pitch {measured}");
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Asserts the whole 440 Hz tone of `seconds` at 48 kHz stereo came through once, in order:
/// its length to the frame, its pitch, and no jump between samples bigger than the sine's own
/// steepest step (a lost or repeated stretch breaks the phase).
pub fn assert_continuous_tone(samples: &[f32], seconds: f32) {
    let frames = samples.len() / 2;
    let expected = (48_000.0 * seconds).round() as usize;
    assert!(
        frames.abs_diff(expected) <= 1,
        "{frames} frames, expected {expected}"
    );
    let left = channel(samples, 0);
    let measured = pitch(&left, 48_000);
    assert!((measured - 440.0).abs() < 4.4, "pitch {measured}");
    // 0.5 · 2π · 440 / 48 000 ≈ 0.029, plus the 16-bit rounding.
    let steepest = left
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).abs())
        .fold(0.0_f32, f32::max);
    assert!(steepest < 0.035, "a jump of {steepest} between samples");
}
