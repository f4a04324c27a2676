//! The binary with a Discord token against the testkit fakes: `/preview` renders 10 s of the
//! playing track through the real decoder and filter chain and sends it as a WAV attachment
//! (multipart), and `/play` autocomplete suggests from the real search.

use std::time::Duration;

use minstrel_testkit::audio::{RATE, Wav, power_at};
use minstrel_testkit::discord::{
    FakeGateway, FakeMember, FakeRest, RecordedRequest, autocomplete, slash_command,
};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

const TOKEN: &str = "MTIzNDU2.SECRET-feature-token.never-printed";
const GUILD: u64 = 300_000_000_000_000_031;
const VOICE_CHANNEL: u64 = 600_000_000_000_000_031;
const MEMBER: u64 = 100_000_000_000_000_031;

fn spawn(gateway: &FakeGateway, rest: &FakeRest, voice: &FakeVoiceServer) -> BotProcess {
    crate::minstrel()
        .discord(TOKEN, gateway, rest)
        .voice(voice)
        .tone("tone.wav", 60, 440.0, 12_000.0)
        .local_search()
        .env("MINSTREL_NORMALISATION", "false")
        .log("info,songbird=warn")
        .spawn()
}

/// The attached WAV: its length in seconds and its samples as `f32`.
fn decode(edit: &RecordedRequest) -> (f32, Vec<f32>) {
    assert_eq!(edit.files.len(), 1, "{:?}", edit.body);
    let wav = Wav::from_bytes(&edit.files[0].bytes);
    let spec = wav.spec;
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 48_000, 16)
    );
    let samples = wav.interleaved();
    #[allow(clippy::cast_precision_loss)]
    let seconds = samples.len() as f32 / 2.0 / RATE;
    (seconds, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_attaches_ten_seconds_of_the_track_with_the_filter_and_play_autocompletes() {
    let voice = FakeVoiceServer::start().await;
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let mut bot = spawn(&gateway, &rest, &voice);
    gateway.wait_for_op(2, 1).await;
    let member = FakeMember::new(MEMBER, "ann");

    // Autocomplete searches the library as the member types.
    let typed = autocomplete(3_001, "feat-ac", GUILD, &member, "play", "query", "tone");
    assert!(gateway.inject_interaction(&typed));
    let callback = rest.wait_for_callback(3_001).await;
    assert_eq!(callback.body["type"], json!(8), "{:?}", callback.body);
    let choices = callback.body["data"]["choices"].as_array().unwrap();
    assert!(
        choices
            .iter()
            .any(|choice| choice["name"].as_str().unwrap_or_default().contains("tone")),
        "{choices:?}"
    );

    // Nothing playing yet: a clear sentence, no file.
    let early = slash_command(3_002, "feat-early", GUILD, &member, "preview", &json!([]));
    assert!(gateway.inject_interaction(&early));
    let edit = rest.wait_for_original_edit("feat-early").await;
    assert_eq!(
        edit.embed_description().as_deref(),
        Some("Nothing is playing.")
    );
    assert!(edit.files.is_empty());

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
    let play = slash_command(
        3_003,
        "feat-play",
        GUILD,
        &member,
        "play",
        &json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
    );
    assert!(gateway.inject_interaction(&play));
    let edit = rest.wait_for_original_edit("feat-play").await;
    let said = edit.embed_description().unwrap_or_default();
    assert!(said.contains("tone"), "{said}\n{}", bot.stderr());
    voice.wait_for_packets(10, Duration::from_secs(20)).await;

    for (id, token, preset, wanted, other) in [
        (3_004, "feat-plain", None, 440.0, 550.0),
        (3_005, "feat-nightcore", Some("nightcore"), 550.0, 440.0),
    ] {
        let options = preset.map_or_else(
            || json!([]),
            |name| json!([{"name": "preset", "type": 3, "value": name}]),
        );
        let preview = slash_command(id, token, GUILD, &member, "preview", &options);
        assert!(gateway.inject_interaction(&preview));
        let edit = rest.wait_for_original_edit(token).await;
        let (seconds, audio) = decode(&edit);
        assert!(
            (seconds - 10.0).abs() <= 0.1,
            "{seconds} s\n{}",
            bot.stderr()
        );
        // Measured after the first second, where every filter has settled.
        let settled = &audio[2 * 48_000..];
        let (at_wanted, at_other) = (power_at(settled, wanted), power_at(settled, other));
        assert!(
            at_wanted > 50.0 * at_other,
            "{preset:?}: {wanted} Hz {at_wanted}, {other} Hz {at_other}"
        );
        let name = edit.files[0].filename.clone();
        assert_eq!(name, format!("{}.wav", preset.unwrap_or("preview")));
        assert_eq!(edit.body["attachments"][0]["filename"], json!(name));
    }

    // The preview changed nothing for the listeners.
    let filters = slash_command(
        3_006,
        "feat-filters",
        GUILD,
        &member,
        "filters",
        &json!([{"name": "show", "type": 1, "options": []}]),
    );
    assert!(gateway.inject_interaction(&filters));
    let edit = rest.wait_for_original_edit("feat-filters").await;
    assert_eq!(
        edit.embed_description().as_deref(),
        Some("No filter is on.")
    );

    assert!(bot.is_running());
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-feature");
}
