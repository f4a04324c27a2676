//! Discord voice end to end: the binary with a Discord token joins the member's voice channel
//! through the fake gateway, the real songbird client connects to the fake voice server over
//! TLS (a throwaway CA through `SSL_CERT_FILE`), and the RTP it sends is decrypted and
//! Opus-decoded here, so the assertions are on the audio a listener would hear.
//! A voice close 4015 mid-track is resumed and the audio continues; alone, the bot leaves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use minstrel_testkit::discord::{FakeGateway, FakeMember, FakeRest, slash_command};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

const TOKEN: &str = "MTIzNDU2.SECRET-voice-token.never-printed";
const GUILD: u64 = 300_000_000_000_000_002;
const VOICE_CHANNEL: u64 = 600_000_000_000_000_077;
const MEMBER: u64 = 100_000_000_000_000_009;
const RATE: f32 = 48_000.0;

fn write_tone(path: &Path, seconds: u32) {
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
            ((std::f32::consts::TAU * 440.0 * index as f32 / RATE).sin() * 12_000.0) as i16;
        writer.write_sample(sample).unwrap();
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

fn spawn(gateway: &FakeGateway, rest: &FakeRest, voice: &FakeVoiceServer) -> BotProcess {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 60);
    let mut command = Command::new(env!("CARGO_BIN_EXE_minstrel"));
    command
        .env_remove("TELEGRAM_TOKEN")
        .env("DISCORD_TOKEN", TOKEN)
        .env("MINSTREL_DISCORD_GATEWAY_URL", gateway.url())
        .env("MINSTREL_DISCORD_REST_PROXY", rest.proxy_address())
        .env("MINSTREL_LIBRARY_DIR", &library)
        .env("MINSTREL_SEARCH_PROVIDER", "local")
        .env("MINSTREL_NORMALISATION", "false")
        .env("MINSTREL_LEAVE_WHEN_ALONE_AFTER", "1")
        .env("MINSTREL_LOG", "info,songbird=warn")
        .env("SSL_CERT_FILE", voice.ca_file())
        .stdin(Stdio::null());
    BotProcess::spawn(command, dir)
}

/// Power of `frequency` in the left channel of interleaved stereo `audio` (Goertzel).
fn power_at(audio: &[f32], frequency: f32) -> f32 {
    let omega = std::f32::consts::TAU * frequency / RATE;
    let coefficient = 2.0 * omega.cos();
    let (mut previous, mut before) = (0.0f32, 0.0f32);
    for frame in audio.chunks_exact(2) {
        let current = frame[0] + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    #[allow(clippy::cast_precision_loss)]
    let length = (audio.len() / 2) as f32;
    (previous * previous + before * before - coefficient * previous * before) / (length * length)
}

fn rms(audio: &[f32]) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let length = audio.len().max(1) as f32;
    (audio.iter().map(|sample| sample * sample).sum::<f32>() / length).sqrt()
}

/// The last `seconds` of what the voice server decoded.
fn last(voice: &FakeVoiceServer, seconds: f32) -> Vec<f32> {
    let decoded = voice.decoded();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let wanted = (seconds * RATE) as usize * 2;
    decoded[decoded.len().saturating_sub(wanted)..].to_vec()
}

/// Waits until `count` more packets than now have arrived.
async fn more_packets(voice: &FakeVoiceServer, count: usize, bot: &BotProcess) {
    let target = voice.packets() + count;
    let deadline = Instant::now() + Duration::from_secs(20);
    while voice.packets() < target {
        assert!(
            Instant::now() < deadline,
            "only {} of {target} packets arrived\n{}",
            voice.packets(),
            bot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_reaches_the_voice_channel_as_440_hz_and_nightcore_moves_it_to_550() {
    let voice = FakeVoiceServer::start().await;
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let bot = spawn(&gateway, &rest, &voice);
    gateway.wait_for_op(2, 1).await;

    // The member sits in a voice channel; /play joins it.
    let member_state = json!({
        "guild_id": GUILD.to_string(),
        "channel_id": VOICE_CHANNEL.to_string(),
        "user_id": MEMBER.to_string(),
        "session_id": "member-session",
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    });
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &member_state));
    let member = FakeMember::new(MEMBER, "ann");
    let play = slash_command(
        2_001,
        "voice-play",
        GUILD,
        &member,
        "play",
        &json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
    );
    assert!(gateway.inject_interaction(&play));
    let edit = rest.wait_for_original_edit("voice-play").await;
    let said = edit.embed_description().unwrap_or_default();
    assert!(said.contains("tone"), "{said}\n{}", bot.stderr());
    let join = gateway.wait_for_op(4, 1).await;
    assert_eq!(
        join["d"]["channel_id"],
        json!(VOICE_CHANNEL.to_string()),
        "{join}"
    );

    // 1 s of audio, measured on its last half second.
    more_packets(&voice, 50, &bot).await;
    let heard = last(&voice, 0.5);
    assert!(rms(&heard) > 0.05, "silent: rms {}", rms(&heard));
    let (at_440, at_550) = (power_at(&heard, 440.0), power_at(&heard, 550.0));
    assert!(at_440 > 50.0 * at_550, "440 Hz {at_440}, 550 Hz {at_550}");

    let filter = slash_command(
        2_002,
        "voice-filter",
        GUILD,
        &member,
        "filter",
        &json!([{"name": "preset", "type": 3, "value": "nightcore"}]),
    );
    assert!(gateway.inject_interaction(&filter));
    rest.wait_for_original_edit("voice-filter").await;
    // songbird reads a little ahead; after 1 s the change has long reached the listener.
    more_packets(&voice, 50, &bot).await;
    let heard = last(&voice, 0.5);
    let (at_440, at_550) = (power_at(&heard, 440.0), power_at(&heard, 550.0));
    assert!(
        at_550 > 50.0 * at_440,
        "after nightcore: 440 Hz {at_440}, 550 Hz {at_550}"
    );

    let pause = slash_command(2_003, "voice-pause", GUILD, &member, "pause", &json!([]));
    assert!(gateway.inject_interaction(&pause));
    rest.wait_for_original_edit("voice-pause").await;
    // Paused: at most the silence frames songbird sends when a stream stops.
    more_packets(&voice, 0, &bot).await;
    let paused_at = voice.packets();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        voice.packets() <= paused_at + 6,
        "{} packets while paused",
        voice.packets() - paused_at
    );

    let resume = slash_command(2_004, "voice-resume", GUILD, &member, "resume", &json!([]));
    assert!(gateway.inject_interaction(&resume));
    rest.wait_for_original_edit("voice-resume").await;
    more_packets(&voice, 25, &bot).await;
    assert!(rms(&last(&voice, 0.3)) > 0.05, "audio again after resume");

    // Discord moves the voice session (close 4015): songbird resumes and the audio goes on.
    assert!(voice.close(4015));
    more_packets(&voice, 50, &bot).await;
    assert!(
        rms(&last(&voice, 0.3)) > 0.05,
        "audio after the voice reconnect"
    );
    assert_eq!(voice.connections(), 2, "one reconnect");
    assert_eq!(voice.identified().len(), 1, "resumed, not identified again");

    // The member leaves: with nobody to play to, the bot leaves too (op 4 without a channel).
    let mut gone = member_state.clone();
    gone["channel_id"] = serde_json::Value::Null;
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &gone));
    let leave = gateway.wait_for_op(4, 2).await;
    assert_eq!(leave["d"]["channel_id"], serde_json::Value::Null, "{leave}");
    bot.assert_never_printed("SECRET-voice");
}
