//! Discord figures for docs/BENCHMARKS.md, measured end to end: the real binary against the
//! testkit fakes on 127.0.0.1 (gateway, REST, one TLS voice server per guild).
//!
//! - interaction ack: from injecting `INTERACTION_CREATE` on the fake gateway to the fake REST
//!   API recording the interaction callback, one at a time and in a burst;
//! - `/play` to first packet: from injecting `/play` for a member in a voice channel to the
//!   guild's voice server decrypting and decoding the first RTP packet (joining the channel,
//!   the voice handshake, opening the file and the first 20 ms of audio included);
//! - RSS: `VmRSS` of the bot from `/proc/<pid>/status` with nothing playing, with 1 guild
//!   playing and with 20 guilds playing.
//!
//! A harness (`harness = false`), not a test: it prints figures and asserts nothing about
//! them. Run with `cargo bench -p minstrel --bench discord` (release binary). Settings:
//! `MINSTREL_BENCH_ACKS` (sequential acks, default 300), `MINSTREL_BENCH_BURST` (default 50),
//! `MINSTREL_BENCH_GUILDS` (default 20).

use std::path::Path;
use std::time::{Duration, Instant};

use minstrel_testkit::discord::{FakeGateway, FakeMember, FakeRest, slash_command};
use minstrel_testkit::process::BotProcess;
use minstrel_testkit::voice::FakeVoiceServer;
use serde_json::json;

const TOKEN: &str = "MTIzNDU2.bench-token.never-printed";
/// Guild ids are `GUILD_BASE + n`, their voice channel `CHANNEL_BASE + n`.
const GUILD_BASE: u64 = 310_000_000_000_000_000;
const CHANNEL_BASE: u64 = 610_000_000_000_000_000;
const MEMBER_BASE: u64 = 110_000_000_000_000_000;
/// The guild the ack measurements use: nobody there is in voice.
const ACK_GUILD: u64 = 320_000_000_000_000_000;
/// How long every guild plays before RSS is read, so buffers and decoders have settled.
const SETTLE: Duration = Duration::from_secs(3);

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn spawn(gateway: &FakeGateway, rest: &FakeRest, ca_file: &Path) -> BotProcess {
    BotProcess::builder(env!("CARGO_BIN_EXE_minstrel"))
        .discord(TOKEN, gateway, rest)
        .trust(ca_file)
        .tone("tone.wav", 120, 440.0, 12_000.0)
        .local_search()
        .env("MINSTREL_NORMALISATION", "false")
        .env("MINSTREL_LEAVE_WHEN_ALONE_AFTER", "0")
        .log("warn")
        .spawn()
}

/// `VmRSS` of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in the status")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `percentile` (0–100) of sorted `values`, nearest rank.
fn percentile(sorted: &[Duration], percentile: usize) -> Duration {
    let rank = (percentile * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1_000.0)
}

fn summary(name: &str, mut values: Vec<Duration>) {
    values.sort();
    println!(
        "{name}: n={} p50={} p99={} max={}",
        values.len(),
        milliseconds(percentile(&values, 50)),
        milliseconds(percentile(&values, 99)),
        milliseconds(*values.last().expect("at least one value")),
    );
}

/// Sends `/queue` as `count` different members (no per-user rate limit), `together` at a time;
/// returns each interaction's time to its callback.
async fn acks(
    gateway: &FakeGateway,
    rest: &FakeRest,
    first_id: u64,
    count: usize,
    together: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    let mut next = first_id;
    let last = first_id + count as u64;
    while next < last {
        let batch: Vec<u64> = (next..last).take(together).collect();
        next += batch.len() as u64;
        let mut sent = Vec::with_capacity(batch.len());
        for &id in &batch {
            let member = FakeMember::new(MEMBER_BASE + 500_000 + id, "bench");
            let queue = slash_command(
                id,
                &format!("ack-{id}"),
                ACK_GUILD,
                &member,
                "queue",
                &json!([]),
            );
            sent.push(Instant::now());
            assert!(gateway.inject_interaction(&queue), "the gateway is down");
        }
        for (&id, at) in batch.iter().zip(sent) {
            let callback = rest.wait_for_callback(id).await;
            times.push(callback.at.duration_since(at));
        }
    }
    times
}

/// Has member `n` join guild `n`'s voice channel and `/play`; returns the time to the first
/// decoded packet at `voice`.
async fn first_packet(gateway: &FakeGateway, voice: &FakeVoiceServer, n: u64) -> Duration {
    let (guild, channel, member) = (GUILD_BASE + n, CHANNEL_BASE + n, MEMBER_BASE + n);
    let state = json!({
        "guild_id": guild.to_string(),
        "channel_id": channel.to_string(),
        "user_id": member.to_string(),
        "session_id": format!("member-session-{n}"),
        "deaf": false, "mute": false, "self_deaf": false, "self_mute": false,
        "self_video": false, "self_stream": false, "suppress": false,
        "request_to_speak_timestamp": null,
    });
    assert!(gateway.dispatch("VOICE_STATE_UPDATE", &state));
    let play = slash_command(
        10_000 + n,
        &format!("play-{n}"),
        guild,
        &FakeMember::new(member, "listener"),
        "play",
        &json!([{"name": "query", "type": 3, "value": "tone.wav"}]),
    );
    let sent = Instant::now();
    assert!(gateway.inject_interaction(&play));
    voice.wait_for_packets(1, Duration::from_mins(1)).await;
    sent.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument that excludes this harness skips it.
    if std::env::args()
        .skip(1)
        .any(|argument| !argument.starts_with('-') && !"discord".contains(argument.as_str()))
    {
        return;
    }
    let guilds = setting("MINSTREL_BENCH_GUILDS", 20).max(1);
    let sequential = setting("MINSTREL_BENCH_ACKS", 300).max(1);
    let burst = setting("MINSTREL_BENCH_BURST", 50).max(1);
    println!("load average at start: {}", load_average());

    let mut voices = Vec::with_capacity(guilds);
    for _ in 0..guilds {
        voices.push(FakeVoiceServer::start().await);
    }
    let gateway = FakeGateway::start().await;
    let rest = FakeRest::start().await;
    rest.set_gateway_url(&gateway.url());
    let mut trusted = tempfile::NamedTempFile::new().expect("CA bundle");
    for (n, voice) in (1..).zip(&voices) {
        gateway.set_guild_voice_endpoint(GUILD_BASE + n, &voice.endpoint());
        let pem = std::fs::read(voice.ca_file()).expect("read a CA");
        std::io::Write::write_all(&mut trusted, &pem).expect("write the CA bundle");
    }
    let bot = spawn(&gateway, &rest, trusted.path());
    gateway.wait_for_op(2, 1).await;
    rest.wait_for("command registration", |request| {
        request.is_command_registration()
    })
    .await;
    // Warm-up: the first interactions open the database pool and fill caches.
    acks(&gateway, &rest, 1, 20, 1).await;
    let idle_kib = rss_kib(bot.id());

    summary(
        "interaction ack, one at a time",
        acks(&gateway, &rest, 1_000, sequential, 1).await,
    );
    summary(
        &format!("interaction ack, {burst} at once"),
        acks(&gateway, &rest, 5_000, burst, burst).await,
    );

    let mut to_first_packet = Vec::with_capacity(guilds);
    to_first_packet.push(first_packet(&gateway, &voices[0], 1).await);
    tokio::time::sleep(SETTLE).await;
    let one_kib = rss_kib(bot.id());
    for (n, voice) in (2..).zip(&voices[1..]) {
        to_first_packet.push(first_packet(&gateway, voice, n).await);
    }
    tokio::time::sleep(SETTLE).await;
    // Every guild is still playing: each voice server got more than the settle time's worth.
    let expected = usize::try_from(SETTLE.as_millis() / 20).unwrap_or(usize::MAX) / 2;
    let quiet = voices
        .iter()
        .filter(|voice| voice.packets() < expected)
        .count();
    let all_kib = rss_kib(bot.id());
    summary("/play to first RTP packet", to_first_packet);

    println!("RSS with nothing playing: {idle_kib} KiB");
    println!(
        "RSS with 1 guild playing: {one_kib} KiB (+{} KiB)",
        one_kib.saturating_sub(idle_kib)
    );
    println!(
        "RSS with {guilds} guilds playing: {all_kib} KiB (+{} KiB, {} KiB per guild)",
        all_kib.saturating_sub(idle_kib),
        all_kib.saturating_sub(idle_kib) / guilds as u64
    );
    if quiet > 0 {
        println!("WARNING: {quiet} guild(s) had fewer than {expected} packets");
    }
    let rejected: usize = voices.iter().map(FakeVoiceServer::rejected_packets).sum();
    println!("rejected packets: {rejected}");
    println!("load average at end: {}", load_average());
}
