//! A track that fails to start is reported in the channel of the last `/play` with its reason,
//! and the queue goes on; while a track hangs opening, every command answers at once and a
//! skip moves past it; a SIGTERM mid-track saves the queue at its position, leaves the
//! voice channel and exits 0 within 10 s, and the next start brings the track back into the
//! voice channel where it stopped.

use std::time::{Duration, Instant};

use minstrel_testkit::discord::{
    FakeGateway, FakeMember, FakeRest, RecordedRequest, slash_command,
};
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

use super::{
    GUILD, MEMBER, PLAY_TEXT_CHANNEL, VOICE_CHANNEL, assert_440_hz, last, member_voice_state,
    more_packets, play_tone, reply_to, saved_queue, spawn_with,
};

/// The fakes with `voice` as the guild's voice server.
async fn fakes(voice: &FakeVoiceServer) -> (FakeGateway, FakeRest) {
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    (gateway, rest)
}

/// ann's slash command `name` with `options`, answered; returns the reply as JSON text.
async fn command(
    gateway: &FakeGateway,
    rest: &FakeRest,
    id: u64,
    name: &str,
    options: &serde_json::Value,
) -> String {
    let token = format!("lifecycle-{name}-{id}");
    let interaction = slash_command(
        id,
        &token,
        GUILD,
        &FakeMember::new(MEMBER, "ann"),
        name,
        options,
    );
    assert!(gateway.inject_interaction(&interaction));
    reply_to(rest, id, &token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_track_that_fails_to_start_is_reported_where_play_was_used_with_its_reason() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest) = fakes(&voice).await;
    let bot = spawn_with(
        &gateway,
        &rest,
        voice.ca_file(),
        &[("tone.wav", 440.0), ("second.wav", 440.0)],
        &[],
    );
    gateway.wait_for_op(2, 1).await;
    play_tone(&gateway, &rest, &bot, 8_001, "lifecycle-play").await;
    more_packets(&voice, 25, &bot).await;
    let queued = command(
        &gateway,
        &rest,
        8_002,
        "play",
        &json!([{"name": "query", "type": 3, "value": "second.wav"}]),
    )
    .await;
    assert!(queued.contains("second"), "{queued}");

    // The queued file is damaged after it was queued: its turn comes and it cannot open.
    let second = bot.dir().join("music").join("second.wav");
    std::fs::write(&second, b"RIFF\x04\x00\x00\x00WAVEjunk").unwrap();
    command(&gateway, &rest, 8_003, "skip", &json!([])).await;

    let notice = rest
        .wait_for("the failure notice", |request: &RecordedRequest| {
            request.is_channel_message()
                && request.body["content"]
                    .as_str()
                    .is_some_and(|text| text.contains("second"))
        })
        .await;
    assert_eq!(
        notice.path_segment(4),
        Some(PLAY_TEXT_CHANNEL),
        "{}",
        notice.path
    );
    let said = notice.body["content"].as_str().unwrap_or_default();
    assert!(said.contains("could not be played"), "{said}");
    // The reason is the decoder's, not a generic sentence.
    let reason = said.split_once(": ").map_or("", |(_, reason)| reason);
    assert!(reason.len() > 3, "no reason given: {said}");
    let warned = bot.stderr();
    assert!(warned.contains("track failed to start"), "{warned}");
    // The guild still answers: nothing is left playing, the damaged track is gone.
    let now = command(&gateway, &rest, 8_004, "nowplaying", &json!([])).await;
    assert!(!now.contains("second"), "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_track_saves_the_queue_leaves_and_the_next_start_carries_on() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest) = fakes(&voice).await;
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", data.path().join("minstrel.db").display());
    let env = [("MINSTREL_DATABASE_URL", database.clone())];
    let mut bot = spawn_with(
        &gateway,
        &rest,
        voice.ca_file(),
        &[("tone.wav", 440.0)],
        &env,
    );
    gateway.wait_for_op(2, 1).await;
    play_tone(&gateway, &rest, &bot, 8_101, "lifecycle-term").await;
    // About two seconds of the track.
    more_packets(&voice, 100, &bot).await;

    let asked = Instant::now();
    bot.terminate();
    let status = bot.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
    assert!(asked.elapsed() < Duration::from_secs(10));
    let leave = gateway.wait_for_op(4, 2).await;
    assert_eq!(leave["d"]["channel_id"], serde_json::Value::Null, "{leave}");
    assert_eq!(gateway.identifies(), 1, "no new IDENTIFY at shutdown");

    // Saved with its voice channel and the position it reached.
    let saved = saved_queue(&database, &bot).await;
    assert_eq!(
        saved.voice_channel.map(minstrel_domain::ChannelId::get),
        Some(VOICE_CHANNEL),
        "{saved:?}"
    );
    assert!(
        saved
            .current
            .as_ref()
            .is_some_and(|track| track.title.contains("tone")),
        "{saved:?}"
    );
    assert!(
        saved.position >= Duration::from_secs(1),
        "the position was not saved: {saved:?}"
    );

    // The next start rejoins the channel and plays the tone on from there.
    let before = voice.decoded().len();
    let restarted = spawn_with(
        &gateway,
        &rest,
        voice.ca_file(),
        &[("tone.wav", 440.0)],
        &env,
    );
    gateway.wait_for_op(2, 2).await;
    // ann is still in the channel, as the new session's state of the guild would say.
    let ann = member_voice_state(GUILD, Some(VOICE_CHANNEL), MEMBER);
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &ann));
    let rejoin = gateway.wait_for_op(4, 3).await;
    assert_eq!(
        rejoin["d"]["channel_id"],
        json!(VOICE_CHANNEL.to_string()),
        "{rejoin}\n{}",
        restarted.stderr()
    );
    more_packets(&voice, 50, &restarted).await;
    assert!(voice.decoded().len() > before);
    assert_440_hz(&last(&voice, 0.5), "after the restart", &restarted);
}

/// Runs ann's command and checks the reply came within two seconds.
async fn answered_at_once(
    gateway: &FakeGateway,
    rest: &FakeRest,
    id: u64,
    name: &str,
    options: &serde_json::Value,
) -> String {
    let asked = Instant::now();
    let reply = command(gateway, rest, id, name, options).await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "/{name} took {:?}: {reply}",
        asked.elapsed()
    );
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_at_once_while_a_track_hangs_opening_and_skip_moves_past_it() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest) = fakes(&voice).await;
    let bot = spawn_with(
        &gateway,
        &rest,
        voice.ca_file(),
        &[
            ("tone.wav", 440.0),
            ("second.wav", 440.0),
            ("third.wav", 880.0),
        ],
        &[],
    );
    gateway.wait_for_op(2, 1).await;
    play_tone(&gateway, &rest, &bot, 8_201, "lifecycle-hang").await;
    more_packets(&voice, 25, &bot).await;
    for (id, query) in [(8_202, "second.wav"), (8_203, "third.wav")] {
        let options = json!([{"name": "query", "type": 3, "value": query}]);
        command(&gateway, &rest, id, "play", &options).await;
    }
    // The second track becomes a source that never answers: a named pipe nobody writes to,
    // whose opening blocks.
    let second = bot.dir().join("music").join("second.wav");
    std::fs::remove_file(&second).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&second)
        .status()
        .unwrap();
    assert!(made.success());
    answered_at_once(&gateway, &rest, 8_204, "skip", &json!([])).await;

    // While it hangs opening, the guild answers every command at once.
    let now = answered_at_once(&gateway, &rest, 8_205, "nowplaying", &json!([])).await;
    assert!(now.contains("second"), "{now}");
    let queue = answered_at_once(&gateway, &rest, 8_206, "queue", &json!([])).await;
    assert!(queue.contains("third"), "{queue}");
    answered_at_once(&gateway, &rest, 8_207, "skip", &json!([])).await;

    // The skip moved past the hanging track: the third one plays.
    more_packets(&voice, 50, &bot).await;
    let heard = last(&voice, 0.5);
    let (at_880, at_440) = (
        minstrel_testkit::audio::power_at(&heard, 880.0),
        minstrel_testkit::audio::power_at(&heard, 440.0),
    );
    assert!(
        at_880 > 10.0 * at_440,
        "880 Hz {at_880} against 440 Hz {at_440}\n{}",
        bot.stderr()
    );
}
