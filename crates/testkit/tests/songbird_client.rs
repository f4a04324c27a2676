//! The real songbird 0.6 driver against [`FakeVoiceServer`]: handshake over TLS, IP discovery,
//! encrypted Opus that the fake decodes to the tone that was played, and a resume after the
//! server closes the socket with 4015.
//!
//! songbird reads its TLS roots from `SSL_CERT_FILE` when it first connects, and this crate
//! forbids the `unsafe` `std::env::set_var`, so the driver runs in a child process: this test
//! binary re-run with only [`songbird_driver_in_a_child_process`] selected and the variables set.

use std::io::Cursor;
use std::num::NonZeroU64;
use std::process::Stdio;
use std::time::Duration;

use minstrel_testkit::WAIT;
use minstrel_testkit::audio::{self, goertzel_power};
use minstrel_testkit::voice::FakeVoiceServer;
use songbird::id::{ChannelId, GuildId, UserId};
use songbird::input::RawAdapter;
use songbird::{Config, ConnectionInfo, Driver};
use tokio::io::AsyncReadExt as _;

const ENDPOINT_VARIABLE: &str = "MINSTREL_TESTKIT_VOICE_ENDPOINT";
const CHILD_TEST: &str = "songbird_driver_in_a_child_process";
const GUILD: u64 = 100;
const CHANNEL: u64 = 200;
const USER: u64 = 300;
const SAMPLE_RATE: f64 = 48_000.0;

/// `seconds` of a 440 Hz stereo tone as interleaved f32 little-endian bytes.
#[expect(
    clippy::cast_precision_loss,
    reason = "sample indices are far below 2^52"
)]
fn tone_bytes(seconds: usize) -> Vec<u8> {
    (0..48_000 * seconds)
        .flat_map(|index| {
            let phase = 2.0 * std::f64::consts::PI * 440.0 * index as f64 / SAMPLE_RATE;
            #[expect(clippy::cast_possible_truncation, reason = "an amplitude in -0.5..0.5")]
            let sample = (0.5 * phase.sin()) as f32;
            let bytes = sample.to_le_bytes();
            [bytes, bytes].concat()
        })
        .collect()
}

fn id(value: u64) -> NonZeroU64 {
    NonZeroU64::new(value).expect("non-zero id")
}

#[tokio::test(flavor = "multi_thread")]
async fn songbird_plays_a_tone_through_the_fake_voice_server_and_resumes_after_4015() {
    let server = FakeVoiceServer::start().await;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", server.ca_file())
        .env(ENDPOINT_VARIABLE, server.endpoint())
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the songbird child");

    // 50 packets = 1 s of audio.
    server.wait_for_packets(50, WAIT).await;
    let identify = &server.identified()[0];
    assert_eq!(identify["server_id"], GUILD.to_string());
    assert_eq!(identify["user_id"], USER.to_string());
    assert_eq!(identify["session_id"], "session");
    assert_eq!(identify["token"], "token");
    assert_eq!(server.rejected_packets(), 0);
    let select = server.wait_for_op(1, 1).await;
    assert_eq!(select["d"]["data"]["mode"], "aead_aes256_gcm_rtpsize");
    server.wait_for_op(5, 1).await;

    let decoded = server.decoded();
    let left: Vec<f32> = decoded.iter().step_by(2).skip(9_600).copied().collect();
    let at_440 = goertzel_power(&left, 440.0, audio::SAMPLE_RATE);
    for other in [220.0, 880.0, 1_760.0, 5_000.0] {
        let elsewhere = goertzel_power(&left, other, audio::SAMPLE_RATE);
        assert!(
            at_440 > 100.0 * elsewhere,
            "440 Hz dominates {other} Hz: {at_440} vs {elsewhere}"
        );
    }

    let before = server.packets();
    assert!(server.close(4015));
    let resume = server.wait_for_op(7, 1).await;
    assert_eq!(resume["d"]["session_id"], "session");
    server.wait_for_packets(before + 50, WAIT).await;
    assert_eq!(server.connections(), 2);
    assert_eq!(server.identified().len(), 1, "a resume, not a new session");
    assert_eq!(server.rejected_packets(), 0);

    drop(child.stdin.take());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the child exits once its stdin closes")
        .expect("child status");
    assert!(status.success(), "the songbird child failed: {status}");
}

/// The songbird side of the test above; does nothing unless that test spawned it.
#[tokio::test(flavor = "multi_thread")]
async fn songbird_driver_in_a_child_process() {
    let Ok(endpoint) = std::env::var(ENDPOINT_VARIABLE) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("songbird=warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut driver = Driver::new(Config::default());
    driver
        .connect(ConnectionInfo {
            channel_id: ChannelId::from(id(CHANNEL)),
            endpoint,
            guild_id: GuildId::from(id(GUILD)),
            session_id: "session".to_owned(),
            token: "token".to_owned(),
            user_id: UserId::from(id(USER)),
        })
        .await
        .expect("songbird connects to the fake voice server");
    let _track = driver.play_input(RawAdapter::new(Cursor::new(tone_bytes(20)), 48_000, 2).into());
    // Play until the parent closes stdin (or goes away).
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_mins(1),
        tokio::io::stdin().read_to_end(&mut rest),
    )
    .await;
    driver.leave();
}
