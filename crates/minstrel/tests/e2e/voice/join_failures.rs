//! Voice joins that do not complete: Discord never hands over a voice server, the voice
//! server cannot be reached, the bot lacks a permission, the channel is full. Each ends in a
//! defined state: one sentence for the user, the bot out of the channel on Discord's side (op 4
//! without a channel), every later command answered at once, and the next `/play` joining
//! afresh.

use std::time::{Duration, Instant};

use minstrel_testkit::audio::power_at;
use minstrel_testkit::discord::{
    FakeGateway, FakeMember, FakeRest, guild_create_json, slash_command,
};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::{Value, json};

use super::{
    GUILD, MEMBER, VOICE_CHANNEL, bot_against, last, member_voice_state, more_packets, reply_to,
};

/// The op 4 payloads the bot sent for `GUILD`: `Some(channel)` joins, `None` leaves.
fn voice_updates(gateway: &FakeGateway) -> Vec<Option<String>> {
    gateway
        .received()
        .iter()
        .filter(|payload| payload["op"].as_u64() == Some(4))
        .filter(|payload| payload["d"]["guild_id"] == json!(GUILD.to_string()))
        .map(|payload| payload["d"]["channel_id"].as_str().map(str::to_owned))
        .collect()
}

/// Sends `name` (no options) as interaction `id` and returns the reply and how long it took.
async fn command(
    gateway: &FakeGateway,
    rest: &FakeRest,
    id: u64,
    name: &str,
    options: &Value,
) -> (String, Duration) {
    let token = format!("join-failure-{id}");
    let member = FakeMember::new(MEMBER, "ann");
    let sent = Instant::now();
    assert!(gateway.inject_interaction(&slash_command(id, &token, GUILD, &member, name, options)));
    let reply = reply_to(rest, id, &token).await;
    (reply, sent.elapsed())
}

async fn play(gateway: &FakeGateway, rest: &FakeRest, id: u64) -> (String, Duration) {
    let options = json!([{"name": "query", "type": 3, "value": "tone.wav"}]);
    command(gateway, rest, id, "play", &options).await
}

/// The bot against the fakes, with ann in the voice channel.
async fn started(voice: &FakeVoiceServer) -> (FakeGateway, FakeRest, BotProcess) {
    let (gateway, rest, bot) = bot_against(voice).await;
    let state = member_voice_state(GUILD, Some(VOICE_CHANNEL), MEMBER);
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &state));
    (gateway, rest, bot)
}

/// Every player query and control answers at once after a failed join.
async fn every_command_answers_at_once(gateway: &FakeGateway, rest: &FakeRest, bot: &BotProcess) {
    let filter = json!([{"name": "preset", "type": 3, "value": "nightcore"}]);
    let commands = [
        (9_101, "nowplaying", json!([])),
        (9_102, "queue", json!([])),
        (9_103, "skip", json!([])),
        (9_104, "filter", filter),
        (9_105, "pause", json!([])),
    ];
    for (id, name, options) in commands {
        let (reply, took) = command(gateway, rest, id, name, &options).await;
        assert!(
            took < Duration::from_secs(3),
            "/{name} took {took:?}: {reply}\n{}",
            bot.stderr()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_without_a_voice_server_leaves_cleanly_and_the_next_play_joins_again() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = started(&voice).await;
    gateway.withhold_voice_server(true);

    let (reply, took) = play(&gateway, &rest, 9_001).await;
    assert!(
        reply.contains("could not connect"),
        "{reply}\n{}",
        bot.stderr()
    );
    assert!(reply.contains("voice server"), "the likely cause: {reply}");
    assert!(took < Duration::from_secs(15), "told after {took:?}");
    // Discord's side forgets the bot: a join, then a leave.
    gateway.wait_for_op(4, 2).await;
    let updates = voice_updates(&gateway);
    assert_eq!(
        updates,
        vec![Some(VOICE_CHANNEL.to_string()), None],
        "{}",
        bot.stderr()
    );
    assert!(
        bot.stderr().contains("WARN") && bot.stderr().contains(&GUILD.to_string()),
        "a WARN with the guild:\n{}",
        bot.stderr()
    );

    every_command_answers_at_once(&gateway, &rest, &bot).await;

    // Discord places the bot again: the next /play joins (a new op 4) and plays.
    gateway.withhold_voice_server(false);
    let (reply, _) = play(&gateway, &rest, 9_002).await;
    assert!(reply.contains("tone"), "{reply}\n{}", bot.stderr());
    let updates = voice_updates(&gateway);
    assert_eq!(updates.len(), 3, "{updates:?}");
    assert_eq!(updates[2], Some(VOICE_CHANNEL.to_string()));
    more_packets(&voice, 50, &bot).await;
    // The nightcore filter set while voice was broken was kept: the tone plays at 550 Hz.
    let heard = last(&voice, 0.5);
    let (at_440, at_550) = (power_at(&heard, 440.0), power_at(&heard, 550.0));
    assert!(
        at_550 > 50.0 * at_440,
        "440 Hz {at_440}, 550 Hz {at_550}\n{}",
        bot.stderr()
    );
    bot.assert_never_printed("SECRET-voice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_voice_server_is_reported_and_left() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = started(&voice).await;
    // Nothing listens there: the voice websocket cannot connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    gateway.set_voice_endpoint(&format!("localhost:{port}"));

    let (reply, _) = play(&gateway, &rest, 9_201).await;
    assert!(
        reply.contains("could not connect"),
        "{reply}\n{}",
        bot.stderr()
    );
    assert!(reply.contains("could not be reached"), "{reply}");
    gateway.wait_for_op(4, 2).await;
    let updates = voice_updates(&gateway);
    assert_eq!(updates.last(), Some(&None), "left: {updates:?}");
    every_command_answers_at_once(&gateway, &rest, &bot).await;
    assert_eq!(voice.connections(), 0);
}

/// `GUILD_CREATE` for the guild: the bot is a member with no role, @everyone may view, connect
/// and speak, and the voice channel has `overwrites`, `user_limit` and `others` in it.
fn guild_with(overwrites: &Value, user_limit: u32, others: &[&FakeMember]) -> Value {
    let in_voice: Vec<_> = others
        .iter()
        .map(|member| (*member, VOICE_CHANNEL))
        .collect();
    let mut guild = guild_create_json(GUILD, &[(VOICE_CHANNEL, "Lounge")], &in_voice);
    // View Channel, Connect, Speak.
    let everyone = (1_u64 << 10) | (1 << 20) | (1 << 21);
    guild["roles"] = json!([{
        "id": GUILD.to_string(), "name": "@everyone", "permissions": everyone.to_string(),
        "position": 0, "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null}, "hoist": false, "managed": false, "mentionable": false,
        "flags": 0,
    }]);
    guild["channels"][0]["permission_overwrites"] = overwrites.clone();
    guild["channels"][0]["user_limit"] = json!(user_limit);
    let mut bot = FakeMember::new(minstrel_testkit::discord::BOT_USER_ID, "minstrel");
    bot.bot = true;
    guild["members"].as_array_mut().unwrap().push(bot.to_json());
    guild
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_or_a_full_channel_is_refused_at_once_without_a_join() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = started(&voice).await;
    let deny_connect = json!([{"id": GUILD.to_string(), "type": 0, "allow": "0",
                               "deny": (1_u64 << 20).to_string()}]);
    assert!(gateway.dispatch("GUILD_CREATE", &guild_with(&deny_connect, 0, &[])));

    let (reply, took) = play(&gateway, &rest, 9_301).await;
    assert!(
        reply.contains("**Connect** permission"),
        "{reply}\n{}",
        bot.stderr()
    );
    assert!(reply.contains(&format!("<#{VOICE_CHANNEL}>")), "{reply}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(voice_updates(&gateway).is_empty(), "no join was asked for");

    let ben = FakeMember::new(MEMBER + 1, "ben");
    assert!(gateway.dispatch("GUILD_CREATE", &guild_with(&json!([]), 1, &[&ben])));
    let (reply, _) = play(&gateway, &rest, 9_303).await;
    assert!(
        reply.contains("is full (1 of 1)"),
        "{reply}\n{}",
        bot.stderr()
    );
    assert!(voice_updates(&gateway).is_empty(), "no join was asked for");
}
