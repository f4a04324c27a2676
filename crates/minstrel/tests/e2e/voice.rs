//! Discord voice end to end: the binary with a Discord token joins the member's voice channel
//! through the fake gateway, the real songbird client connects to the fake voice server over
//! TLS (a throwaway CA through `SSL_CERT_FILE`), and the RTP it sends is decrypted and
//! Opus-decoded here, so the assertions are on the audio a listener would hear.
//! A voice close 4015 mid-track is resumed and the audio continues; alone, the bot leaves.
//! A gateway close mid-track resumes the gateway session while the audio goes on; three guilds
//! playing at once each hear their own track; a voice close 4006 (session no longer valid) gets
//! a new voice session and the audio goes on; a voice server move mid-track carries the audio
//! to the new server; a voice close 4014 (kicked) is not fought: the bot lets the connection
//! go, saves the queue and says so in the channel `/play` was used in. Joins that do not
//! complete are in `voice/join_failures.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use minstrel_testkit::audio::{RATE, power_at, rms};
use minstrel_testkit::discord::{
    FakeGateway, FakeMember, FakeRest, RecordedRequest, SESSION_ID, slash_command,
};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

mod close_codes;
mod join_failures;
mod lifecycle;

const TOKEN: &str = "MTIzNDU2.SECRET-voice-token.never-printed";
const GUILD: u64 = 300_000_000_000_000_002;
const VOICE_CHANNEL: u64 = 600_000_000_000_000_077;
const MEMBER: u64 = 100_000_000_000_000_009;
/// The text channel every interaction of the fake comes from.
const PLAY_TEXT_CHANNEL: &str = "600000000000000001";

fn spawn(gateway: &FakeGateway, rest: &FakeRest, voice: &FakeVoiceServer) -> BotProcess {
    spawn_with(gateway, rest, voice.ca_file(), &[("tone.wav", 440.0)], &[])
}

/// The bot with a library of `tones` (file name, frequency; 60 s each), trusting the voice
/// CA(s) in `ca_file`, with extra `env`.
fn spawn_with(
    gateway: &FakeGateway,
    rest: &FakeRest,
    ca_file: &Path,
    tones: &[(&str, f32)],
    env: &[(&str, String)],
) -> BotProcess {
    let mut bot = crate::minstrel()
        .discord(TOKEN, gateway, rest)
        .trust(ca_file)
        .library()
        .local_search()
        .env("MINSTREL_NORMALISATION", "false")
        .env("MINSTREL_LEAVE_WHEN_ALONE_AFTER", "1")
        .log("info,songbird=warn")
        .envs(env.iter().map(|(name, value)| (*name, value)));
    for (name, frequency) in tones {
        bot = bot.tone(name, 60, *frequency, 12_000.0);
    }
    bot.spawn()
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
    let (gateway, rest, bot) = bot_against(&voice).await;

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
    // The filter is set when the answer is sent: from here on, how much audio reaches the
    // listener before the first 20 ms that are clearly 550 Hz is what songbird and the chain
    // hold back (40 ms in three runs here; the issue allows 100 ms).
    let applied_at = voice.decoded().len();
    more_packets(&voice, 50, &bot).await;
    let after = voice.decoded()[applied_at..].to_vec();
    let moved = after
        .chunks_exact(2 * 960)
        .position(|window| power_at(window, 550.0) > 10.0 * power_at(window, 440.0))
        .expect("the pitch never moved to 550 Hz");
    assert!(
        moved * 20 <= 100,
        "nightcore reached the listener after {} ms of audio",
        moved * 20
    );
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

/// Waits for the guild's notice and returns its text, checking it went to the `/play` channel.
async fn notice(rest: &FakeRest) -> String {
    let notice = rest
        .wait_for("a notice", RecordedRequest::is_channel_message)
        .await;
    assert_eq!(
        notice.path_segment(4),
        Some(PLAY_TEXT_CHANNEL),
        "{}",
        notice.path
    );
    notice.body["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The queue the bot saved for [`GUILD`] in the database at `database`.
async fn saved_queue(database: &str, bot: &BotProcess) -> minstrel_app::ports::QueueSnapshot {
    let store = minstrel_db::SqlDatabase::connect(database)
        .await
        .unwrap()
        .queue_store();
    minstrel_app::ports::QueueStore::load_all(&store)
        .await
        .unwrap()
        .into_iter()
        .find(|snapshot| snapshot.guild.get() == GUILD)
        .unwrap_or_else(|| panic!("the guild's queue was not saved:\n{}", bot.stderr()))
}

/// `member`'s voice state in `guild`: in `channel`, or out of voice with `None`.
fn member_voice_state(guild: u64, channel: Option<u64>, member: u64) -> serde_json::Value {
    json!({
        "guild_id": guild.to_string(),
        "channel_id": channel.map(|channel| channel.to_string()),
        "user_id": member.to_string(),
        "session_id": format!("member-session-{member}"),
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    })
}

/// One `/play` in a guild.
struct PlayIn<'a> {
    guild: u64,
    channel: u64,
    member: &'a FakeMember,
    query: &'a str,
    id: u64,
    token: &'a str,
}

/// Puts the member in the voice channel and has them `/play` the query; waits for the reply
/// and for the bot's join, the `joins`-th voice state update (op 4) it sends.
async fn play_in(
    gateway: &FakeGateway,
    rest: &FakeRest,
    bot: &BotProcess,
    play: &PlayIn<'_>,
    joins: usize,
) {
    let state = member_voice_state(play.guild, Some(play.channel), play.member.user_id);
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &state));
    let options = json!([{"name": "query", "type": 3, "value": play.query}]);
    let command = slash_command(
        play.id,
        play.token,
        play.guild,
        play.member,
        "play",
        &options,
    );
    assert!(gateway.inject_interaction(&command));
    let edit = rest.wait_for_original_edit(play.token).await;
    let said = edit.embed_description().unwrap_or_default();
    let title = play.query.trim_end_matches(".wav");
    assert!(said.contains(title), "{said}\n{}", bot.stderr());
    let join = gateway.wait_for_op(4, joins).await;
    assert_eq!(
        join["d"]["guild_id"],
        json!(play.guild.to_string()),
        "{join}"
    );
    assert_eq!(
        join["d"]["channel_id"],
        json!(play.channel.to_string()),
        "{join}"
    );
}

/// The reply to interaction `id` with a body: an immediate one (callback type 4) or the edit
/// of a deferred one; as JSON text.
async fn reply_to(rest: &FakeRest, id: u64, token: &str) -> String {
    let id = id.to_string();
    let reply = rest
        .wait_for(
            "the reply to an interaction",
            |request: &RecordedRequest| {
                (request.is_callback()
                    && request.path_segment(4) == Some(id.as_str())
                    && request.body["type"] == json!(4))
                    || (request.is_original_edit() && request.path_segment(5) == Some(token))
            },
        )
        .await;
    reply.body.to_string()
}

fn ops_sent(gateway: &FakeGateway, op: u64) -> usize {
    gateway
        .received()
        .iter()
        .filter(|payload| payload["op"].as_u64() == Some(op))
        .count()
}

/// The gateway and REST fakes with `voice` as the guild's voice server, and the bot
/// identified against them. Declared after `voice`, the bot stops before its voice server.
async fn bot_against(voice: &FakeVoiceServer) -> (FakeGateway, FakeRest, BotProcess) {
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let bot = spawn(&gateway, &rest, voice);
    gateway.wait_for_op(2, 1).await;
    (gateway, rest, bot)
}

/// ann's `/play tone.wav` (interaction `id`, `token`) in the guild's voice channel, answered.
async fn play_tone(gateway: &FakeGateway, rest: &FakeRest, bot: &BotProcess, id: u64, token: &str) {
    let member = FakeMember::new(MEMBER, "ann");
    let play = PlayIn {
        guild: GUILD,
        channel: VOICE_CHANNEL,
        member: &member,
        query: "tone.wav",
        id,
        token,
    };
    play_in(gateway, rest, bot, &play, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_close_mid_track_resumes_the_session_and_the_audio_goes_on() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = bot_against(&voice).await;
    play_tone(&gateway, &rest, &bot, 3_001, "resume-play").await;
    more_packets(&voice, 25, &bot).await;

    // Discord drops the gateway connection mid-track with a resumable code.
    let last_sequence = gateway.last_sequence();
    assert!(gateway.close(4000));
    let resume = gateway.wait_for_op(6, 1).await;
    assert_eq!(resume["d"]["session_id"], json!(SESSION_ID), "{resume}");
    assert_eq!(resume["d"]["seq"], json!(last_sequence), "{resume}");
    assert_eq!(gateway.connections(), 2, "one reconnect");
    assert_eq!(ops_sent(&gateway, 2), 1, "resumed, not identified again");

    // The resumed session carries interactions, and the voice connection never noticed.
    let queue = slash_command(
        3_002,
        "resume-queue",
        GUILD,
        &FakeMember::new(MEMBER, "ann"),
        "queue",
        &json!([]),
    );
    assert!(gateway.inject_interaction(&queue));
    let listed = reply_to(&rest, 3_002, "resume-queue").await;
    assert!(listed.contains("tone"), "{listed}\n{}", bot.stderr());
    more_packets(&voice, 50, &bot).await;
    let heard = last(&voice, 0.5);
    assert!(
        rms(&heard) > 0.05,
        "silent after the resume: rms {}",
        rms(&heard)
    );
    let (at_440, at_550) = (power_at(&heard, 440.0), power_at(&heard, 550.0));
    assert!(at_440 > 50.0 * at_550, "440 Hz {at_440}, 550 Hz {at_550}");
    assert_eq!(voice.connections(), 1, "the voice connection stayed up");
    assert_eq!(voice.rejections(), Vec::<String>::new());
    bot.assert_never_printed("SECRET-voice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_guilds_playing_at_once_each_hear_their_own_track() {
    // (guild, voice channel, member, file, frequency)
    const GUILDS: [(u64, u64, u64, &str, f32); 3] = [
        (
            300_000_000_000_000_011,
            600_000_000_000_000_011,
            100_000_000_000_000_011,
            "low.wav",
            440.0,
        ),
        (
            300_000_000_000_000_012,
            600_000_000_000_000_012,
            100_000_000_000_000_012,
            "middle.wav",
            660.0,
        ),
        (
            300_000_000_000_000_013,
            600_000_000_000_000_013,
            100_000_000_000_000_013,
            "high.wav",
            880.0,
        ),
    ];
    let voices = [
        FakeVoiceServer::start().await,
        FakeVoiceServer::start().await,
        FakeVoiceServer::start().await,
    ];
    let gateway = FakeGateway::start().await;
    for (voice, (guild, ..)) in voices.iter().zip(GUILDS) {
        gateway.set_guild_voice_endpoint(guild, &voice.endpoint());
    }
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    // One trust file with the CAs of the three voice servers.
    let mut trusted = tempfile::NamedTempFile::new().unwrap();
    for voice in &voices {
        std::io::Write::write_all(&mut trusted, &std::fs::read(voice.ca_file()).unwrap()).unwrap();
    }
    let tones: Vec<(&str, f32)> = GUILDS
        .iter()
        .map(|&(_, _, _, file, frequency)| (file, frequency))
        .collect();
    let bot = spawn_with(&gateway, &rest, trusted.path(), &tones, &[]);
    gateway.wait_for_op(2, 1).await;

    for (index, &(guild, channel, member, file, _)) in GUILDS.iter().enumerate() {
        let member = FakeMember::new(member, &format!("listener-{index}"));
        let token = format!("guild-play-{index}");
        let play = PlayIn {
            guild,
            channel,
            member: &member,
            query: file,
            id: 4_001 + index as u64,
            token: &token,
        };
        play_in(&gateway, &rest, &bot, &play, index + 1).await;
    }
    for voice in &voices {
        more_packets(voice, 50, &bot).await;
    }
    let ssrcs: Vec<u32> = voices.iter().map(FakeVoiceServer::ssrc).collect();
    for (voice, (guild, _, _, file, own)) in voices.iter().zip(GUILDS) {
        let identified = voice.identified();
        assert_eq!(identified.len(), 1, "{file}: one voice session");
        assert_eq!(identified[0]["server_id"], json!(guild.to_string()));
        assert_eq!(voice.rejections(), Vec::<String>::new(), "{file}");
        // Another guild's packets reaching this server would be cross-talk; packets of an
        // unknown SSRC are strays from elsewhere on the machine and are not this bot's doing.
        let crossed: Vec<u32> = voice
            .foreign_ssrcs()
            .into_iter()
            .filter(|ssrc| ssrcs.contains(ssrc))
            .collect();
        assert!(
            crossed.is_empty(),
            "{file}: other guilds' packets {crossed:?}"
        );
        let heard = last(voice, 0.5);
        assert!(rms(&heard) > 0.05, "{file}: silent, rms {}", rms(&heard));
        let mine = power_at(&heard, own);
        for (.., other) in GUILDS {
            if (other - own).abs() > 1.0 {
                let theirs = power_at(&heard, other);
                assert!(
                    mine > 50.0 * theirs,
                    "{file}: {own} Hz {mine}, {other} Hz {theirs}"
                );
            }
        }
    }
    bot.assert_never_printed("SECRET-voice");
}

/// The audio must be the 440 Hz tone, not silence nor something else.
fn assert_440_hz(heard: &[f32], when: &str, bot: &BotProcess) {
    assert!(
        rms(heard) > 0.05,
        "silent {when}: rms {}\n{}",
        rms(heard),
        bot.stderr()
    );
    let (at_440, at_550) = (power_at(heard, 440.0), power_at(heard, 550.0));
    assert!(
        at_440 > 50.0 * at_550,
        "{when}: 440 Hz {at_440}, 550 Hz {at_550}"
    );
}

fn joins_sent(gateway: &FakeGateway, channel: u64) -> usize {
    gateway
        .received()
        .iter()
        .filter(|payload| {
            payload["op"].as_u64() == Some(4)
                && payload["d"]["channel_id"] == json!(channel.to_string())
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_close_4006_gets_a_new_voice_session_and_the_audio_goes_on() {
    let voice = FakeVoiceServer::start().await;
    let (gateway, rest, bot) = bot_against(&voice).await;
    play_tone(&gateway, &rest, &bot, 6_001, "invalid-play").await;
    more_packets(&voice, 25, &bot).await;

    // Discord no longer knows the voice session (4006): songbird gives it up, so the bot asks
    // the gateway for a new one (op 4 for the same channel) and identifies again.
    assert!(voice.close(4006));
    let identify = voice.wait_for_op(0, 2).await;
    assert_eq!(
        identify["d"]["server_id"],
        json!(GUILD.to_string()),
        "{identify}"
    );
    assert_eq!(
        joins_sent(&gateway, VOICE_CHANNEL),
        2,
        "{:?}",
        gateway.received()
    );
    let after = voice.packets();
    more_packets(&voice, 50, &bot).await;
    assert!(voice.packets() >= after + 50);
    assert_440_hz(&last(&voice, 0.5), "after the new voice session", &bot);
    assert_eq!(voice.connections(), 2, "{}", bot.stderr());
    assert_eq!(voice.identified().len(), 2, "a new session, not a resume");
    assert_eq!(voice.rejections(), Vec::<String>::new());
    bot.assert_never_printed("SECRET-voice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_server_move_mid_track_carries_the_audio_to_the_new_server() {
    let first = FakeVoiceServer::start().await;
    let second = FakeVoiceServer::start().await;
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&first.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let mut trusted = tempfile::NamedTempFile::new().unwrap();
    for voice in [&first, &second] {
        std::io::Write::write_all(&mut trusted, &std::fs::read(voice.ca_file()).unwrap()).unwrap();
    }
    let bot = spawn_with(&gateway, &rest, trusted.path(), &[("tone.wav", 440.0)], &[]);
    gateway.wait_for_op(2, 1).await;
    play_tone(&gateway, &rest, &bot, 7_001, "moved-play").await;
    more_packets(&first, 25, &bot).await;
    assert_440_hz(&last(&first, 0.3), "on the first server", &bot);

    // Discord moves the call to another voice server mid-track: a new VOICE_SERVER_UPDATE.
    let moved = json!({
        "guild_id": GUILD.to_string(),
        "token": "moved-voice-token",
        "endpoint": second.endpoint(),
    });
    assert!(gateway.dispatch("VOICE_SERVER_UPDATE", &moved));
    let identify = second.wait_for_op(0, 1).await;
    assert_eq!(
        identify["d"]["token"],
        json!("moved-voice-token"),
        "{identify}"
    );
    assert_eq!(
        identify["d"]["server_id"],
        json!(GUILD.to_string()),
        "{identify}"
    );
    more_packets(&second, 50, &bot).await;
    assert_440_hz(&last(&second, 0.5), "on the new server", &bot);
    assert_eq!(second.rejections(), Vec::<String>::new());
    // The bot followed Discord; it did not ask for the move nor rejoin.
    assert_eq!(joins_sent(&gateway, VOICE_CHANNEL), 1);
    assert_eq!(first.identified().len(), 1);
    bot.assert_never_printed("SECRET-voice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_close_4014_is_not_fought_and_the_queue_is_saved() {
    let voice = FakeVoiceServer::start().await;
    let gateway = FakeGateway::start().await;
    gateway.set_voice_endpoint(&voice.endpoint());
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", data.path().join("minstrel.db").display());
    let bot = spawn_with(
        &gateway,
        &rest,
        voice.ca_file(),
        &[("tone.wav", 440.0)],
        &[("MINSTREL_DATABASE_URL", database.clone())],
    );
    gateway.wait_for_op(2, 1).await;
    play_tone(&gateway, &rest, &bot, 5_001, "kicked-play").await;
    more_packets(&voice, 25, &bot).await;

    // A moderator disconnects the bot: Discord closes its voice websocket with 4014.
    assert!(voice.close(4014));
    // The bot lets the connection go (op 4 without a channel) instead of reconnecting.
    let leave = gateway.wait_for_op(4, 2).await;
    assert_eq!(leave["d"]["guild_id"], json!(GUILD.to_string()), "{leave}");
    assert_eq!(leave["d"]["channel_id"], serde_json::Value::Null, "{leave}");

    // The queue is kept, the interrupted track first.
    let queue = slash_command(
        5_002,
        "kicked-queue",
        GUILD,
        &FakeMember::new(MEMBER, "ann"),
        "queue",
        &json!([]),
    );
    assert!(gateway.inject_interaction(&queue));
    let listed = reply_to(&rest, 5_002, "kicked-queue").await;
    assert!(listed.contains("tone"), "{listed}\n{}", bot.stderr());
    // The guild hears why the music stopped, in the channel /play was used in, and how to go
    // on: exactly one notice.
    let said = notice(&rest).await;
    assert!(said.contains("disconnected"), "{said}");
    assert!(said.contains("queue was kept (1 track)"), "{said}");
    assert!(said.contains("/join") && said.contains("/play"), "{said}");
    let notices = rest
        .requests()
        .iter()
        .filter(|request| request.is_channel_message())
        .count();
    assert_eq!(notices, 1, "{:?}", rest.requests());
    // No reconnect was tried: one voice connection, one Identify, no Resume, one join.
    assert_eq!(voice.connections(), 1, "{}", bot.stderr());
    assert_eq!(voice.identified().len(), 1);
    assert!(
        voice
            .received()
            .iter()
            .all(|payload| payload["op"].as_u64() != Some(7)),
        "a voice Resume after 4014"
    );
    let joins = gateway
        .received()
        .iter()
        .filter(|payload| {
            payload["op"].as_u64() == Some(4) && !payload["d"]["channel_id"].is_null()
        })
        .count();
    assert_eq!(joins, 1, "rejoined after 4014");

    // ... and saved where the bot keeps it: not in a voice channel, the track up next.
    let saved = saved_queue(&database, &bot).await;
    assert_eq!(saved.voice_channel, None, "{saved:?}");
    assert!(saved.current.is_none(), "{saved:?}");
    assert_eq!(saved.upcoming.len(), 1, "{saved:?}");
    assert!(saved.upcoming[0].title.contains("tone"), "{saved:?}");
    assert!(
        bot.stderr().contains("4014"),
        "the log says why:\n{}",
        bot.stderr()
    );
    bot.assert_never_printed("SECRET-voice");
}
