//! A voice connection that drops mid-track, by each way Discord's voice servers end one: every
//! case ends in a defined state, asserted on the decoded audio after recovery or on the
//! notice. Resumed at position: 4009 (session timed out), 4015 (in voice.rs) and an abrupt TCP
//! reset. A new voice session: 4006 (in voice.rs) and 4016 (unknown encryption mode). Left
//! with a notice: 4014 (in voice.rs), 4022 (call terminated) and a session that keeps failing.
//!
//! UDP silence needs no test of its own: the fake voice server never answers a UDP keepalive,
//! so every voice test here runs under it, and songbird does not act on the missing answers.

use minstrel_testkit::discord::{FakeGateway, FakeMember, FakeRest, slash_command};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

use super::{
    GUILD, MEMBER, VOICE_CHANNEL, assert_440_hz, bot_against, joins_sent, last, more_packets,
    notice, play_tone, reply_to,
};

/// The bot playing the 440 Hz tone into `voice`, a half second in.
async fn playing(voice: &FakeVoiceServer, id: u64) -> (FakeGateway, FakeRest, BotProcess) {
    let (gateway, rest, bot) = bot_against(voice).await;
    play_tone(&gateway, &rest, &bot, id, &format!("close-play-{id}")).await;
    more_packets(voice, 25, &bot).await;
    (gateway, rest, bot)
}

/// The audio goes on: 50 more packets, the last half second still the tone.
async fn audio_goes_on(voice: &FakeVoiceServer, bot: &BotProcess, when: &str) {
    more_packets(voice, 50, bot).await;
    assert_440_hz(&last(voice, 0.5), when, bot);
    assert_eq!(voice.rejections(), Vec::<String>::new(), "{when}");
}

fn resumes(voice: &FakeVoiceServer) -> usize {
    voice
        .received()
        .iter()
        .filter(|payload| payload["op"].as_u64() == Some(7))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_4009_and_a_tcp_reset_are_resumed_and_the_audio_goes_on() {
    let voice = FakeVoiceServer::start().await;
    let (_gateway, _rest, bot) = playing(&voice, 7_001).await;

    assert!(voice.close(4009));
    voice.wait_for_op(7, 1).await;
    audio_goes_on(&voice, &bot, "after 4009").await;

    voice.reset();
    voice.wait_for_op(7, 2).await;
    audio_goes_on(&voice, &bot, "after a TCP reset").await;

    assert_eq!(resumes(&voice), 2, "{}", bot.stderr());
    assert_eq!(voice.identified().len(), 1, "resumed, not a new session");
    assert_eq!(voice.connections(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_4016_gets_a_new_voice_session_and_the_audio_goes_on() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, _rest, bot) = playing(&voice, 7_101).await;

    assert!(voice.close(4016));
    voice.wait_for_op(0, 2).await;
    assert_eq!(joins_sent(&gateway, VOICE_CHANNEL), 2, "{}", bot.stderr());
    audio_goes_on(&voice, &bot, "after 4016").await;
    assert_eq!(voice.identified().len(), 2, "a new session");
}

/// The bot has left: its `leave`-th op 4 has no channel, and `/queue` still lists the tone.
async fn left_with_the_queue_kept(
    gateway: &FakeGateway,
    rest: &FakeRest,
    bot: &BotProcess,
    id: u64,
    leave: usize,
) {
    let leave = gateway.wait_for_op(4, leave).await;
    assert_eq!(leave["d"]["channel_id"], serde_json::Value::Null, "{leave}");
    let token = format!("close-queue-{id}");
    let queue = slash_command(
        id,
        &token,
        GUILD,
        &FakeMember::new(MEMBER, "ann"),
        "queue",
        &json!([]),
    );
    assert!(gateway.inject_interaction(&queue));
    let listed = reply_to(rest, id, &token).await;
    assert!(listed.contains("tone"), "{listed}\n{}", bot.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_4022_leaves_with_a_notice_and_keeps_the_queue() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = playing(&voice, 7_201).await;

    assert!(voice.close(4022));
    gateway.wait_for_op(4, 2).await;
    let said = notice(&rest).await;
    assert!(said.contains("disconnected"), "{said}");
    assert!(said.contains("queue was kept (1 track)"), "{said}");
    left_with_the_queue_kept(&gateway, &rest, &bot, 7_202, 2).await;
    assert_eq!(
        joins_sent(&gateway, VOICE_CHANNEL),
        1,
        "no rejoin after 4022"
    );
    assert_eq!(voice.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_session_that_keeps_failing_is_left_with_a_notice() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = playing(&voice, 7_301).await;

    // Three new sessions are tried within the window; the fourth failure leaves.
    for session in 2..=4 {
        assert!(voice.close(4006));
        voice.wait_for_op(0, session).await;
        more_packets(&voice, 5, &bot).await;
    }
    assert!(voice.close(4006));
    let said = notice(&rest).await;
    assert!(said.contains("disconnected"), "{said}\n{}", bot.stderr());
    // One join and three rejoins, then the leave.
    left_with_the_queue_kept(&gateway, &rest, &bot, 7_302, 5).await;
    assert_eq!(joins_sent(&gateway, VOICE_CHANNEL), 4, "{}", bot.stderr());
    assert!(bot.stderr().contains("keeps failing"), "{}", bot.stderr());
}
