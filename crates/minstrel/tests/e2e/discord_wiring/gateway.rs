//! The gateway's life against the fake: shutdown closes for good (1000, no new IDENTIFY)
//! after leaving voice, a dropped or zombied connection and a resumable invalid session resume
//! without IDENTIFY, a non-resumable one identifies again, and every fatal close code stops
//! Discord with a clear sentence. The fake counts IDENTIFY (op 2) and RESUME (op 6) per
//! connection.

use std::time::{Duration, Instant};

use minstrel_testkit::discord::{BOT_USER_ID, FakeGateway, FakeMember, FakeRest, slash_command};
use minstrel_testkit::process::BotProcess;
use serde_json::json;

use super::{GUILD, fakes, spawn_bot};

/// A second guild, whose voice side never answers.
const BROKEN_GUILD: u64 = 300_000_000_000_000_002;

/// Waits for READY to have been handled: the slash commands are registered right after it.
async fn ready(rest: &FakeRest) {
    rest.wait_for("command registration", |request| {
        request.is_command_registration()
    })
    .await;
}

/// The bot's own voice state in `channel` of `guild`, as Discord sends it after a join.
fn bot_in_voice(gateway: &FakeGateway, guild: u64, channel: u64) {
    let state = json!({
        "guild_id": guild.to_string(),
        "channel_id": channel.to_string(),
        "user_id": BOT_USER_ID.to_string(),
        "session_id": "bot-voice-session",
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    });
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &state));
}

/// The voice state updates (op 4) the bot sent for `guild` without a channel: leaves.
fn leaves_of(gateway: &FakeGateway, guild: u64) -> usize {
    gateway
        .received()
        .iter()
        .filter(|payload| {
            payload["op"] == json!(4)
                && payload["d"]["guild_id"] == json!(guild.to_string())
                && payload["d"]["channel_id"].is_null()
        })
        .count()
}

/// Stops the bot with SIGINT; it must be gone, successfully, within the 10 s `docker stop`
/// and systemd give before they kill.
fn stop_within_ten_seconds(bot: &mut BotProcess) -> Duration {
    let asked = Instant::now();
    bot.interrupt();
    let status = bot.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    asked.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_voice_then_closes_with_1000_and_never_identifies_again() {
    let (gateway, rest) = fakes().await;
    gateway.ignore_voice_updates_in(BROKEN_GUILD);
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    ready(&rest).await;
    bot_in_voice(&gateway, GUILD, 600_000_000_000_000_055);
    bot_in_voice(&gateway, BROKEN_GUILD, 600_000_000_000_000_056);
    // Both voice states are handled in order before this interaction is answered.
    let member = FakeMember::new(100_000_000_000_000_001, "ann");
    let queue = slash_command(1_201, "token-q", GUILD, &member, "queue", &json!([]));
    assert!(gateway.inject_interaction(&queue));
    rest.wait_for_original_edit("token-q").await;

    stop_within_ten_seconds(&mut bot);
    assert_eq!(leaves_of(&gateway, GUILD), 1, "{}", bot.stderr());
    assert_eq!(
        leaves_of(&gateway, BROKEN_GUILD),
        1,
        "{:?}",
        gateway.received()
    );
    assert!(
        bot.stderr().contains("did not confirm leaving"),
        "the broken guild is named in the log:\n{}",
        bot.stderr()
    );
    // The leaves went out before the close, and the close is the last word.
    assert_eq!(gateway.client_closes(), [1000], "{}", bot.stderr());
    assert_eq!(gateway.identifies(), 1, "no new IDENTIFY after the close");
    assert_eq!(gateway.connections(), 1, "no reconnect after the close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_reconnect_when_the_gateway_never_answers_the_close() {
    let (gateway, rest) = fakes().await;
    gateway.answer_client_closes(false);
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    ready(&rest).await;
    stop_within_ten_seconds(&mut bot);
    assert_eq!(gateway.client_closes(), [1000]);
    assert_eq!(gateway.connections(), 1, "no reconnect after the close");
    assert_eq!(gateway.identifies(), 1, "no new IDENTIFY after the close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_the_session_without_a_new_identify() {
    let (gateway, rest) = fakes().await;
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    ready(&rest).await;
    assert!(gateway.drop_connection());
    let resume = gateway.wait_for_op(6, 1).await;
    assert_eq!(
        resume["d"]["session_id"],
        json!("fake-session-1"),
        "{resume}"
    );
    assert_eq!(gateway.ops_per_connection(2), [1, 0]);
    assert_eq!(gateway.ops_per_connection(6), [0, 1]);
    // The resumed session carries interactions as before.
    let member = FakeMember::new(100_000_000_000_000_001, "ann");
    let queue = slash_command(1_301, "token-r", GUILD, &member, "queue", &json!([]));
    assert!(gateway.inject_interaction(&queue));
    rest.wait_for_original_edit("token-r").await;
    stop_within_ten_seconds(&mut bot);
    assert_eq!(gateway.identifies(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombied_connection_is_dropped_and_resumed_without_a_new_identify() {
    let (gateway, rest) = fakes().await;
    gateway.set_heartbeat_interval(Duration::from_millis(250));
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    ready(&rest).await;
    // Heartbeats go unanswered: the bot must see the connection as zombied.
    gateway.acknowledge_heartbeats(false);
    gateway.wait_for_op(6, 1).await;
    gateway.acknowledge_heartbeats(true);
    assert!(gateway.connections() >= 2);
    assert_eq!(gateway.identifies(), 1, "resumed, not identified again");
    assert_eq!(gateway.ops_per_connection(2)[0], 1);
    stop_within_ten_seconds(&mut bot);
    assert_eq!(gateway.identifies(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_session_resumes_when_resumable_and_identifies_again_when_not() {
    let (gateway, rest) = fakes().await;
    let mut bot = spawn_bot(&gateway, &rest, &[]);
    ready(&rest).await;
    assert!(gateway.invalidate_session(true));
    gateway.wait_for_op(6, 1).await;
    assert_eq!(gateway.identifies(), 1, "a resumable session is resumed");

    assert!(gateway.invalidate_session(false));
    // Discord forgot the session: only a new IDENTIFY helps (twilight's queue spaces them).
    gateway.wait_for_op(2, 2).await;
    assert_eq!(gateway.resumes(), 1);
    assert!(bot.is_running());
    stop_within_ten_seconds(&mut bot);
    assert_eq!(gateway.identifies(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fatal_close_code_mid_session_stops_discord_with_its_reason() {
    let codes = [4004, 4010, 4011, 4012, 4013, 4014];
    let mut runs = Vec::new();
    for code in codes {
        let (gateway, rest) = fakes().await;
        let bot = spawn_bot(&gateway, &rest, &[]);
        runs.push((code, gateway, rest, bot));
    }
    for (code, gateway, rest, bot) in &mut runs {
        ready(rest).await;
        assert!(gateway.close(*code));
        bot.log_says("Discord is off", Duration::from_secs(20))
            .await;
        let log = bot.stderr();
        assert!(log.contains(&format!("code {code}")), "{log}");
        assert!(log.contains("not reconnecting"), "{log}");
        assert_eq!(
            gateway.connections(),
            1,
            "{code}: no reconnect after a fatal close"
        );
        assert_eq!(gateway.identifies(), 1, "{code}");
        assert!(
            bot.is_running(),
            "{code}: the rest of the bot keeps running"
        );
    }
    for (_, _, _, bot) in &mut runs {
        stop_within_ten_seconds(bot);
    }
}
