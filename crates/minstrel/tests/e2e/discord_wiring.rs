//! The binary with a Discord token, against the fake gateway and REST API of minstrel-testkit
//! on 127.0.0.1: it identifies with the right intents, registers its slash commands, answers
//! interactions (deferred, then edited) from the real storage and sources, stops on Ctrl-C,
//! and gives up with a clear error on a fatal close code instead of looping. The gateway's
//! resumes, invalid sessions and shutdown are in `gateway`, REST failures at boot in `boot`.

mod boot;
mod gateway;

use std::path::Path;
use std::time::{Duration, Instant};

use minstrel_testkit::discord::{
    self as discord_fake, FakeGateway, FakeMember, FakeRest, slash_command,
};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

const TOKEN: &str = "MTIzNDU2.SECRET-discord-token.never-printed";
const GUILD: u64 = 300_000_000_000_000_001;
/// `GUILDS` (1) | `GUILD_VOICE_STATES` (128): nothing privileged.
const INTENTS: u64 = 1 | 128;

/// Starts the binary with the Discord token, pointed at the fake gateway and REST API.
fn spawn_bot(gateway: &FakeGateway, rest: &FakeRest, extra_env: &[(&str, &str)]) -> BotProcess {
    crate::minstrel()
        .discord(TOKEN, gateway, rest)
        .tone("tone.wav", 30, 440.0, 8_000.0)
        .local_search()
        .output("null-realtime")
        .log("info")
        .envs(extra_env.iter().copied())
        .spawn()
}

async fn fakes() -> (FakeGateway, FakeRest) {
    let gateway = FakeGateway::start().await;
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    (gateway, rest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_token_runs_the_gateway_and_answers_commands() {
    let (gateway, rest) = fakes().await;
    let mut bot = spawn_bot(&gateway, &rest, &[]);

    let identify = gateway.wait_for_op(2, 1).await;
    assert_eq!(identify["d"]["intents"], json!(INTENTS), "{identify}");
    let registration = rest
        .wait_for("command registration", |request| {
            request.is_command_registration()
        })
        .await;
    let names: Vec<&str> = registration
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|command| command["name"].as_str())
        .collect();
    for wanted in ["play", "queue", "skip", "filter", "connect_telegram"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    // What Discord is given is what `minstrel discord commands --json` prints.
    assert_eq!(registration.body, printed_definitions());

    let member = FakeMember::new(100_000_000_000_000_001, "ann");
    let play = slash_command(
        1_001,
        "token-play",
        GUILD,
        &member,
        "play",
        &json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
    );
    assert!(gateway.inject_interaction(&play));
    let callback = rest.wait_for_callback(1_001).await;
    // Type 5: deferred channel message, sent before any work.
    assert_eq!(callback.body["type"], json!(5), "{:?}", callback.body);
    // The member is in no voice channel: nothing would be heard, so nothing is queued.
    let edit = rest.wait_for_original_edit("token-play").await;
    let said = edit.embed_description().unwrap_or_default();
    assert!(said.contains("Join a voice channel first"), "{said}");

    let queue = slash_command(1_002, "token-queue", GUILD, &member, "queue", &json!([]));
    assert!(gateway.inject_interaction(&queue));
    let edit = rest.wait_for_original_edit("token-queue").await;
    let listed = serde_json::to_string(&edit.body).unwrap();
    assert!(listed.contains("The queue is empty"), "{listed}");
    // The command's log lines say which guild and which member.
    let log = bot.stderr();
    assert!(
        log.contains(&format!("guild={GUILD}")) && log.contains("user=100000000000000001"),
        "{log}"
    );

    assert!(bot.is_running(), "it keeps running");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_discord_token_stops_discord_without_reconnecting() {
    let (gateway, rest) = fakes().await;
    gateway.close_on_identify(4004);
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    gateway.wait_for_op(2, 1).await;
    // The fatal close is reported, and the process stays up for Ctrl-C.
    // The close code can be logged a moment before Discord is reported off: wait for the last.
    bot.log_says("Discord is off", Duration::from_secs(20))
        .await;
    assert!(
        bot.stderr().contains("4004"),
        "no word about 4004:\n{}",
        bot.stderr()
    );
    assert_eq!(gateway.connections(), 1, "no reconnect after a fatal close");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disallowed_intent_close_stops_discord_with_the_fix_in_the_log() {
    let (gateway, rest) = fakes().await;
    // 4014: the application lacks an intent it asked for (Discord's "disallowed intents").
    gateway.close_on_identify(4014);
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    gateway.wait_for_op(2, 1).await;
    bot.log_says("Discord is off", Duration::from_secs(20))
        .await;
    let log = bot.stderr();
    assert!(log.contains("4014"), "{log}");
    assert!(log.contains("developer portal"), "no advice in:\n{log}");
    assert_eq!(gateway.connections(), 1, "no reconnect after a fatal close");
    let identifies = gateway
        .received()
        .iter()
        .filter(|payload| payload["op"].as_u64() == Some(2))
        .count();
    assert_eq!(identifies, 1, "no second Identify");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_presence_on_a_disallowed_intent_close_names_the_intents_and_the_setting() {
    let (gateway, rest) = fakes().await;
    gateway.close_on_identify(4014);
    let mut bot = spawn_bot(&gateway, &rest, &[("MINSTREL_DISCORD_PRESENCE", "true")]);
    // GUILD_MEMBERS (2) and GUILD_PRESENCES (256) on top of the usual two.
    assert_eq!(gateway.identify_intents(1).await, INTENTS | 2 | 256);
    bot.log_says("Discord is off", Duration::from_secs(20))
        .await;
    let log = bot.stderr();
    assert!(
        log.contains("enable the Presence and Server Members intents"),
        "no advice in:\n{log}"
    );
    assert!(log.contains("developer portal"), "{log}");
    assert!(log.contains("MINSTREL_DISCORD_PRESENCE=false"), "{log}");
    assert_eq!(gateway.connections(), 1, "no reconnect after a fatal close");
    assert!(bot.is_running(), "the rest of the bot keeps running");
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_daily_identify_budget_used_up_the_bot_waits_for_the_reset() {
    let (gateway, rest) = fakes().await;
    // Nothing left today; Discord resets the budget in 8 s.
    rest.set_identify_budget(0, 8_000);
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    let identify = gateway.wait_for_op(2, 1).await;
    let identified_at = Instant::now();
    assert_eq!(identify["d"]["intents"], json!(INTENTS), "{identify}");
    // The shard connects within about a second of asking Discord, then holds its Identify
    // until the reset; without the budget it identifies the moment Hello arrives.
    let connected_at = gateway.connected_at()[0];
    let held = identified_at.duration_since(connected_at);
    assert!(
        held >= Duration::from_secs(3),
        "identified {held:?} after connecting\n{}",
        bot.stderr()
    );
    assert!(
        bot.stderr().contains("identifies is used up"),
        "{}",
        bot.stderr()
    );
    assert_eq!(gateway.connections(), 1);
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    bot.assert_never_printed("SECRET-discord");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_source_is_acknowledged_at_once_and_answered_when_it_resolves() {
    let (gateway, rest) = fakes().await;
    let voice = FakeVoiceServer::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    // A yt-dlp that answers only once the test opens the gate: the source takes as long as
    // the test wants, with no clock involved.
    let scratch = tempfile::tempdir().unwrap();
    let gate = scratch.path().join("gate");
    let script = scratch.path().join("yt-dlp");
    minstrel_testkit::process::write_script(
        &script,
        &format!(
            "while [ ! -e '{}' ]; do sleep 0.05; done\nprintf '%s' '{}'",
            gate.display(),
            r#"{"_type": "playlist", "extractor": "youtube:search", "entries": [{"_type": "url", "ie_key": "Youtube", "id": "slow1", "url": "https://www.youtube.com/watch?v=slow1", "title": "Slow Song", "duration": 200.0}]}"#
        ),
    );
    let script_path = script.display().to_string();
    let ca_file = voice.ca_file().display().to_string();
    let mut bot = spawn_bot(
        &gateway,
        &rest,
        &[
            ("MINSTREL_YTDLP", script_path.as_str()),
            ("MINSTREL_SEARCH_PROVIDER", "youtube"),
            ("SSL_CERT_FILE", ca_file.as_str()),
        ],
    );
    gateway.wait_for_op(2, 1).await;
    let member_state = json!({
        "guild_id": GUILD.to_string(),
        "channel_id": "600000000000000055",
        "user_id": "100000000000000003",
        "session_id": "member-session",
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    });
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &member_state));

    let member = FakeMember::new(100_000_000_000_000_003, "bo");
    let play = slash_command(
        1_101,
        "token-slow",
        GUILD,
        &member,
        "play",
        &json!([{"name": "query", "type": 3, "value": "slow words"}]),
    );
    assert!(gateway.inject_interaction(&play));
    let callback = rest.wait_for_callback(1_101).await;
    assert_eq!(callback.body["type"], json!(5), "{:?}", callback.body);
    assert!(
        !rest
            .requests()
            .iter()
            .any(discord_fake::RecordedRequest::is_original_edit),
        "answered before the source did"
    );

    std::fs::write(&gate, "").unwrap();
    let edit = rest.wait_for_original_edit("token-slow").await;
    assert!(edit.at > callback.at);
    assert!(edit.embed_description().is_some(), "{:?}", edit.body);
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
}

/// `minstrel discord commands --json`, parsed.
fn printed_definitions() -> serde_json::Value {
    let output = crate::minstrel()
        .args(["discord", "commands", "--json"])
        .config(Path::new("/nonexistent/minstrel.toml"))
        .run(Duration::from_mins(1));
    assert!(output.status.success(), "{output:?}");
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", output.stdout))
}

#[test]
fn discord_commands_json_prints_guild_only_definitions_with_the_enforced_bounds() {
    let commands = printed_definitions();
    let commands = commands.as_array().unwrap();
    assert_eq!(commands.len(), 32, "{commands:?}");
    for command in commands {
        // 0: guild install only; 0: in guilds only.
        assert_eq!(command["integration_types"], json!([0]), "{command}");
        assert_eq!(command["contexts"], json!([0]), "{command}");
    }
    let settings = commands
        .iter()
        .find(|command| command["name"] == "guildsettings")
        .unwrap();
    let option = |sub: &str| {
        settings["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|option| option["name"] == sub)
            .unwrap()["options"][0]
            .clone()
    };
    let ratio = option("voteskip");
    assert_eq!(ratio["description"], json!("0.1 to 1.0"));
    assert_eq!(ratio["min_value"], json!(0.1));
    assert_eq!(ratio["max_value"], json!(1.0));
    assert_eq!(option("maxqueue")["max_value"], json!(10_000));
    assert_eq!(option("idletimeout")["max_value"], json!(1_440));
}
