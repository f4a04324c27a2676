//! `minstrel bench`: N concurrent guild streams through the whole playback pipeline, headless.
//!
//! Each stream does what a playing guild does every 20 ms, minus the network: decode
//! ([`SymphoniaStream`], the same path playback uses) → DSP ([`FilterChain`], no filters or the
//! full chain) → Opus encode (20 ms stereo frames at 128 kb/s, application "audio", as songbird
//! sends) → RTP packet sealed with `aead_aes256_gcm_rtpsize` (the layout songbird writes and
//! `minstrel_testkit::voice` opens: 12-byte header as AAD ‖ ciphertext ‖ 16-byte tag ‖ 4-byte
//! big-endian nonce counter, the GCM nonce being that counter followed by 8 zero bytes).
//!
//! The run measures, one phase after the other in the same process: the Opus-encode-only
//! ceiling (already decoded PCM straight into the encoder), then the pipeline with each chosen
//! filter set. Throughput is audio seconds produced per CPU second of the process (utime +
//! stime from `/proc/self/stat`, so a busy machine costs wall time, not the figure): that is
//! how many streams one core keeps at real time. Memory is `VmRSS` with one stream alive and
//! with N alive, before any throughput phase so freed memory cannot hide growth.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInPlace as _, KeyInit as _};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow, bail};
use clap::{Args, ValueEnum};
use minstrel_app::ports::PcmStream;
use minstrel_domain::filters::{
    BassBoostLevel, ChannelMix, Distortion, Equalizer, FilterSpec, Karaoke, LowPass, Oscillation,
    Reverb, Rotation, Timescale,
};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};
use minstrel_sources::SymphoniaStream;

/// Samples (both channels) in one 20 ms Opus frame.
pub(crate) const FRAME_SAMPLES: usize = FRAMES_PER_BLOCK * CHANNELS;
/// Audio seconds in one packet.
const PACKET_SECONDS: f64 = 0.02;
/// songbird's default Opus bitrate, and ffmpeg's `-b:a 128k`.
pub(crate) const OPUS_BITRATE: i32 = 128_000;
/// RTP payload type of Discord voice (Opus).
pub(crate) const RTP_PAYLOAD_TYPE: u8 = 120;
pub(crate) const RTP_HEADER_LEN: usize = 12;
const TAG_LEN: usize = 16;
const NONCE_COUNTER_LEN: usize = 4;
/// Largest Opus payload accepted: more than a 20 ms frame at 128 kb/s (320 bytes) ever needs.
const MAX_OPUS_LEN: usize = 1275;
const PACKET_CAPACITY: usize = RTP_HEADER_LEN + MAX_OPUS_LEN + TAG_LEN + NONCE_COUNTER_LEN;
/// Length of the generated test tone; shorter inputs than a run are looped.
const TONE_SECONDS: f32 = 10.0;
/// Frequency of the generated test tone.
pub(crate) const TONE_HZ: f32 = 440.0;
/// At most this much decoded PCM is kept for the Opus-only ceiling (looped).
const CEILING_PCM_SECONDS: usize = 20;
/// Packets each stream produces before `VmRSS` is read, so its buffers have grown (1 s).
const RSS_WARM_UP_PACKETS: usize = 50;
/// `/proc` reports CPU times in `USER_HZ` ticks, 100 per second on Linux.
const USER_HZ: f64 = 100.0;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent guild streams, all alive at once.
    #[arg(long, default_value_t = 16)]
    streams: usize,
    /// Seconds of audio each stream produces in each phase.
    #[arg(long, default_value_t = 30)]
    seconds: u32,
    /// Filter chain of the pipeline phases: none, full (every filter, as the DSP bench's
    /// `full_chain_rate`) or both.
    #[arg(long, value_enum, default_value_t = FilterChoice::Both)]
    filters: FilterChoice,
    /// Audio file to decode (read into memory once; looped when shorter than --seconds).
    /// Without it, a generated 10 s 440 Hz tone (WAV) is decoded.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Worker threads the streams are spread over (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FilterChoice {
    None,
    Full,
    Both,
}

/// The filter set of one pipeline phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filters {
    None,
    Full,
}

impl Filters {
    fn name(self) -> &'static str {
        match self {
            Self::None => "pipeline_none",
            Self::Full => "pipeline_full",
        }
    }

    pub(crate) fn spec(self) -> FilterSpec {
        match self {
            Self::None => FilterSpec::default(),
            Self::Full => full_chain(),
        }
    }
}

impl FilterChoice {
    fn phases(self) -> &'static [Filters] {
        match self {
            Self::None => &[Filters::None],
            Self::Full => &[Filters::Full],
            Self::Both => &[Filters::None, Filters::Full],
        }
    }
}

/// Every filter at once, the same spec as `full_chain_rate` in crates/dsp/benches/filters.rs
/// (and its ffmpeg twin in scripts/bench-ffmpeg.sh): timescale rate 1.25, all 15 EQ bands.
fn full_chain() -> FilterSpec {
    let valid = "the full-chain spec is within every range";
    FilterSpec {
        volume: Some(1.2),
        equalizer: Some(
            Equalizer::new([
                0.2, 0.15, 0.1, 0.05, 0.02, -0.05, -0.1, 0.1, 0.05, 0.1, 0.15, 0.2, 0.25, 0.2, 0.15,
            ])
            .expect(valid),
        ),
        karaoke: Some(Karaoke::default()),
        timescale: Some(Timescale::new(1.0, 1.0, 1.25).expect(valid)),
        tremolo: Some(Oscillation {
            frequency: 4.0,
            depth: 0.3,
        }),
        vibrato: Some(Oscillation {
            frequency: 5.0,
            depth: 0.3,
        }),
        rotation: Some(Rotation { rotation_hz: 0.2 }),
        distortion: Some(Distortion {
            sin_offset: 0.1,
            sin_scale: 1.2,
            cos_offset: 0.0,
            cos_scale: 1.0,
            tan_offset: 0.0,
            tan_scale: 0.8,
            offset: 0.0,
            scale: 1.5,
        }),
        channel_mix: Some(ChannelMix {
            left_to_left: 0.8,
            left_to_right: 0.2,
            right_to_left: 0.2,
            right_to_right: 0.8,
        }),
        low_pass: Some(LowPass { smoothing: 2.0 }),
        bass_boost: Some(BassBoostLevel::Medium),
        reverb: Some(Reverb {
            room_size: 0.6,
            damping: 0.5,
            wet: 0.3,
        }),
    }
}

/// Encoded audio every stream decodes, held in memory once and shared.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    bytes: Arc<[u8]>,
    hint: Option<String>,
    description: String,
}

impl Source {
    /// A stereo 16-bit WAV of a sine at −12 dBFS with a little noise (−40 dBFS), so the encoder
    /// does not see a trivially pure signal.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub(crate) fn tone(frequency_hz: f32, seconds: f32) -> Self {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let frames = (seconds * SAMPLE_RATE as f32) as usize;
        let mut cursor = Cursor::new(Vec::with_capacity(frames * 4 + 64));
        // xorshift32: deterministic noise without a dependency.
        let mut state = 0x9E37_79B9_u32;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0
        };
        {
            let mut writer = hound::WavWriter::new(&mut cursor, spec)
                .expect("a WAV header always fits in memory");
            let step = std::f64::consts::TAU * f64::from(frequency_hz) / f64::from(SAMPLE_RATE);
            for frame in 0..frames {
                let tone = 0.25 * (step * frame as f64).sin();
                for _ in 0..CHANNELS {
                    let value = (tone + 0.01 * noise()) * f64::from(i16::MAX);
                    writer
                        .write_sample(value.round() as i16)
                        .expect("writing to memory cannot fail");
                }
            }
            writer.finalize().expect("writing to memory cannot fail");
        }
        Self {
            bytes: cursor.into_inner().into(),
            hint: Some("wav".to_owned()),
            description: format!("generated {seconds} s {frequency_hz} Hz tone (16-bit WAV)"),
        }
    }

    /// Reads `path` into memory and checks that it decodes.
    pub(crate) fn from_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("could not read --input {}", path.display()))?;
        let source = Self {
            bytes: bytes.into(),
            hint: path
                .extension()
                .and_then(|extension| extension.to_str())
                .map(str::to_ascii_lowercase),
            description: path.display().to_string(),
        };
        let mut probe = vec![0.0f32; FRAME_SAMPLES];
        let read = source
            .open()?
            .read(&mut probe)
            .with_context(|| format!("could not decode --input {}", path.display()))?;
        if read == 0 {
            bail!("--input {} has no audio to decode", path.display());
        }
        Ok(source)
    }

    fn open(&self) -> anyhow::Result<SymphoniaStream> {
        SymphoniaStream::open(
            Box::new(Cursor::new(Arc::clone(&self.bytes))),
            self.hint.as_deref(),
            Duration::ZERO,
        )
        .with_context(|| format!("could not open {}", self.description))
    }

    /// Up to `max_seconds` of the decoded input, in whole 20 ms frames.
    fn decode_pcm(&self, max_seconds: usize) -> anyhow::Result<Vec<f32>> {
        let mut stream = self.open()?;
        let limit = max_seconds * SAMPLE_RATE as usize * CHANNELS;
        let mut pcm = vec![0.0f32; limit];
        let mut filled = 0;
        while filled < limit {
            let read = stream
                .read(&mut pcm[filled..])
                .with_context(|| format!("could not decode {}", self.description))?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        pcm.truncate(filled / FRAME_SAMPLES * FRAME_SAMPLES);
        if pcm.is_empty() {
            bail!("{} has less than 20 ms of audio", self.description);
        }
        Ok(pcm)
    }
}

/// Something that produces one 20 ms packet per call: a guild stream or the Opus-only ceiling.
trait PacketSource: Send {
    /// Produces the next packet and returns its length in bytes.
    fn produce(&mut self) -> anyhow::Result<usize>;
}

/// The 20 ms stereo Opus encoder every stream uses, configured as songbird's.
fn opus_encoder() -> anyhow::Result<opus2::Encoder> {
    let mut encoder = opus2::Encoder::new(
        SAMPLE_RATE,
        opus2::Channels::Stereo,
        opus2::Application::Audio,
    )
    .map_err(|error| anyhow!("could not create the Opus encoder: {error}"))?;
    encoder
        .set_bitrate(opus2::Bitrate::Bits(OPUS_BITRATE))
        .map_err(|error| anyhow!("could not set the Opus bitrate: {error}"))?;
    Ok(encoder)
}

fn encode(encoder: &mut opus2::Encoder, frame: &[f32], out: &mut [u8]) -> anyhow::Result<usize> {
    encoder
        .encode_float(frame, out)
        .map_err(|error| anyhow!("Opus encoding failed: {error}"))
}

/// One playing guild: decoder → filter chain → Opus → sealed RTP, allocation-free per packet
/// (except when a short input loops and its decoder is reopened).
pub(crate) struct GuildStream {
    source: Source,
    decoder: SymphoniaStream,
    /// Whether the decoder has produced audio since it was (re)opened.
    decoded_since_open: bool,
    chain: FilterChain,
    encoder: opus2::Encoder,
    cipher: Aes256Gcm,
    decoded: Vec<f32>,
    frame: Vec<f32>,
    filled: usize,
    packet: Vec<u8>,
    packet_len: usize,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    nonce_counter: u32,
}

impl GuildStream {
    pub(crate) fn new(
        source: &Source,
        filters: Filters,
        ssrc: u32,
        secret_key: &[u8; 32],
    ) -> anyhow::Result<Self> {
        Ok(Self {
            source: source.clone(),
            decoder: source.open()?,
            decoded_since_open: false,
            chain: FilterChain::new(FilterControl::new(filters.spec(), 100)),
            encoder: opus_encoder()?,
            cipher: Aes256Gcm::new(secret_key.into()),
            decoded: vec![0.0; FRAME_SAMPLES],
            frame: vec![0.0; FRAME_SAMPLES],
            filled: 0,
            packet: vec![0; PACKET_CAPACITY],
            packet_len: 0,
            ssrc,
            sequence: 0,
            timestamp: 0,
            nonce_counter: 0,
        })
    }

    /// The next 20 ms RTP packet, sealed.
    pub(crate) fn next_packet(&mut self) -> anyhow::Result<&[u8]> {
        self.fill_frame()?;
        self.seal_frame()?;
        Ok(&self.packet[..self.packet_len])
    }

    /// Fills `frame` with 20 ms of processed audio, decoding (and looping the input) as needed.
    fn fill_frame(&mut self) -> anyhow::Result<()> {
        while self.filled < FRAME_SAMPLES {
            let pulled = self.chain.pull(&mut self.frame[self.filled..]);
            if pulled > 0 {
                self.filled += pulled;
                continue;
            }
            let read = self
                .decoder
                .read(&mut self.decoded)
                .with_context(|| format!("could not decode {}", self.source.description))?;
            if read == 0 {
                if !self.decoded_since_open {
                    bail!("{} has no audio to decode", self.source.description);
                }
                self.decoder = self.source.open()?;
                self.decoded_since_open = false;
                continue;
            }
            self.decoded_since_open = true;
            self.chain.push(&self.decoded[..read]);
        }
        self.filled = 0;
        Ok(())
    }

    fn seal_frame(&mut self) -> anyhow::Result<()> {
        let (header, body) = self.packet.split_at_mut(RTP_HEADER_LEN);
        header[0] = 0x80; // version 2, no padding, no extension, no CSRC
        header[1] = RTP_PAYLOAD_TYPE;
        header[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        header[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        header[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let opus_len = encode(&mut self.encoder, &self.frame, &mut body[..MAX_OPUS_LEN])?;
        let counter = self.nonce_counter.to_be_bytes();
        let mut nonce = Nonce::default();
        nonce[..NONCE_COUNTER_LEN].copy_from_slice(&counter);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, header, &mut body[..opus_len])
            .map_err(|_| anyhow!("AES-256-GCM sealing failed"))?;
        body[opus_len..opus_len + TAG_LEN].copy_from_slice(&tag);
        body[opus_len + TAG_LEN..opus_len + TAG_LEN + NONCE_COUNTER_LEN].copy_from_slice(&counter);
        self.packet_len = RTP_HEADER_LEN + opus_len + TAG_LEN + NONCE_COUNTER_LEN;
        self.sequence = self.sequence.wrapping_add(1);
        #[allow(clippy::cast_possible_truncation)]
        let frame_ticks = FRAMES_PER_BLOCK as u32;
        self.timestamp = self.timestamp.wrapping_add(frame_ticks);
        self.nonce_counter = self.nonce_counter.wrapping_add(1);
        Ok(())
    }
}

impl PacketSource for GuildStream {
    fn produce(&mut self) -> anyhow::Result<usize> {
        Ok(self.next_packet()?.len())
    }
}

/// The ceiling: already decoded PCM straight into the encoder, nothing else.
struct OpusOnly {
    pcm: Arc<[f32]>,
    position: usize,
    encoder: opus2::Encoder,
    out: Vec<u8>,
}

impl PacketSource for OpusOnly {
    fn produce(&mut self) -> anyhow::Result<usize> {
        if self.position + FRAME_SAMPLES > self.pcm.len() {
            self.position = 0;
        }
        let frame = &self.pcm[self.position..self.position + FRAME_SAMPLES];
        self.position += FRAME_SAMPLES;
        encode(&mut self.encoder, frame, &mut self.out)
    }
}

/// What one phase runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    OpusOnly,
    Pipeline(Filters),
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::OpusOnly => "opus_only_ceiling",
            Self::Pipeline(filters) => filters.name(),
        }
    }
}

/// A secret key per stream: any 32 bytes do, each stream gets its own as each call would.
#[allow(clippy::cast_possible_truncation)]
fn secret_key(index: usize) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (position, byte) in key.iter_mut().enumerate() {
        *byte = (index.wrapping_mul(31).wrapping_add(position * 7)) as u8;
    }
    key
}

#[allow(clippy::cast_possible_truncation)]
fn ssrc(index: usize) -> u32 {
    0x1000 + index as u32
}

fn make_source(
    phase: Phase,
    index: usize,
    source: &Source,
    pcm: &Arc<[f32]>,
) -> anyhow::Result<Box<dyn PacketSource>> {
    Ok(match phase {
        Phase::OpusOnly => Box::new(OpusOnly {
            pcm: Arc::clone(pcm),
            // Streams start at different places, as guilds do.
            position: (index * 37 * FRAME_SAMPLES) % pcm.len(),
            encoder: opus_encoder()?,
            out: vec![0; MAX_OPUS_LEN],
        }),
        Phase::Pipeline(filters) => Box::new(GuildStream::new(
            source,
            filters,
            ssrc(index),
            &secret_key(index),
        )?),
    })
}

/// CPU time used so far by the whole process (every thread), from `/proc/self/stat`.
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .context("minstrel bench reads CPU time from /proc/self/stat (Linux only)")?;
    parse_cpu_seconds(&stat).context("/proc/self/stat has an unexpected format")
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds.
pub(crate) fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    let ticks = (user + system) as f64;
    Some(ticks / USER_HZ)
}

/// The process's resident memory now, in KiB, from `/proc/self/status`.
fn resident_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("minstrel bench reads memory use from /proc/self/status (Linux only)")?;
    parse_vm_rss_kib(&status).context("/proc/self/status has no VmRSS line")
}

/// The `VmRSS:  12345 kB` line of `/proc/<pid>/status`, in KiB.
pub(crate) fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// One phase's figures. Every field is a duration in seconds, and the names say which.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measurement {
    pub(crate) audio_seconds: f64,
    pub(crate) cpu_seconds: f64,
    pub(crate) wall_seconds: f64,
}

impl Measurement {
    /// Streams one core keeps at real time: audio seconds per CPU second.
    pub(crate) fn streams_per_core(&self) -> f64 {
        self.audio_seconds / self.cpu_seconds.max(1.0 / USER_HZ)
    }

    /// Streams this machine kept at real time during the run: audio seconds per wall second.
    fn streams_at_wall_clock(&self) -> f64 {
        self.audio_seconds / self.wall_seconds.max(1e-9)
    }
}

/// Runs `streams` sources of `phase` for `packets` packets each, spread over `threads`.
#[allow(clippy::cast_precision_loss)]
fn run_phase(
    phase: Phase,
    source: &Source,
    pcm: &Arc<[f32]>,
    streams: usize,
    packets: usize,
    threads: usize,
) -> anyhow::Result<Measurement> {
    let threads = threads.clamp(1, streams);
    // Every worker builds its streams, then all start together; building is not measured.
    let start_line = Barrier::new(threads + 1);
    let (produced, cpu_seconds, wall_seconds) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let start_line = &start_line;
                scope.spawn(move || -> anyhow::Result<usize> {
                    let built: anyhow::Result<Vec<Box<dyn PacketSource>>> = (worker..streams)
                        .step_by(threads)
                        .map(|index| make_source(phase, index, source, pcm))
                        .collect();
                    start_line.wait();
                    let mut sources = built?;
                    let mut produced = 0;
                    for _ in 0..packets {
                        for packet_source in &mut sources {
                            packet_source.produce()?;
                            produced += 1;
                        }
                    }
                    Ok(produced)
                })
            })
            .collect();
        start_line.wait();
        let cpu_before = process_cpu_seconds();
        let started = Instant::now();
        let mut produced = 0;
        let mut failure = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(count)) => produced += count,
                Ok(Err(error)) => failure = failure.or(Some(error)),
                Err(_) => failure = failure.or(Some(anyhow!("a bench worker thread panicked"))),
            }
        }
        let wall_seconds = started.elapsed().as_secs_f64();
        if let Some(error) = failure {
            return Err(error);
        }
        let cpu_seconds = process_cpu_seconds()? - cpu_before?;
        Ok((produced, cpu_seconds, wall_seconds))
    })?;
    Ok(Measurement {
        audio_seconds: produced as f64 * PACKET_SECONDS,
        cpu_seconds,
        wall_seconds,
    })
}

/// `VmRSS` with one stream of a filter set alive and with `streams` alive, in KiB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RssGrowth {
    pub(crate) one_stream_kib: u64,
    pub(crate) all_streams_kib: u64,
    pub(crate) streams: usize,
}

impl RssGrowth {
    /// KiB per stream beyond the first; `None` with a single stream.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn per_extra_stream_kib(&self) -> Option<f64> {
        (self.streams > 1).then(|| {
            (self.all_streams_kib as f64 - self.one_stream_kib as f64) / (self.streams - 1) as f64
        })
    }
}

/// Builds and warms streams of each filter set, reading `VmRSS` after the first and after the
/// last. Every stream stays alive until the end, so no freed memory is reused by a later set.
fn measure_rss(
    source: &Source,
    phases: &[Filters],
    streams: usize,
) -> anyhow::Result<Vec<(Filters, RssGrowth)>> {
    let mut alive = Vec::new();
    let mut growth = Vec::new();
    let add =
        |alive: &mut Vec<GuildStream>, filters: Filters, index: usize| -> anyhow::Result<()> {
            let mut stream = GuildStream::new(source, filters, ssrc(index), &secret_key(index))?;
            for _ in 0..RSS_WARM_UP_PACKETS {
                stream.next_packet()?;
            }
            alive.push(stream);
            Ok(())
        };
    for (set, &filters) in phases.iter().enumerate() {
        let first = set * streams;
        add(&mut alive, filters, first)?;
        let one_stream_kib = resident_kib()?;
        for index in first + 1..first + streams {
            add(&mut alive, filters, index)?;
        }
        growth.push((
            filters,
            RssGrowth {
                one_stream_kib,
                all_streams_kib: resident_kib()?,
                streams,
            },
        ));
    }
    Ok(growth)
}

/// The figures of a whole run.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) ceiling: Measurement,
    pub(crate) pipelines: Vec<(Filters, Measurement)>,
    pub(crate) rss: Vec<(Filters, RssGrowth)>,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.streams == 0 {
        bail!("--streams must be at least 1");
    }
    if args.seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let source = match &args.input {
        Some(path) => Source::from_file(path)?,
        None => Source::tone(TONE_HZ, TONE_SECONDS),
    };
    let packets = usize::try_from(args.seconds).unwrap_or(usize::MAX) * 50;
    println!(
        "minstrel bench: {} streams x {} s per phase, {} worker threads, {}, Opus {} kb/s \
         20 ms, RTP aead_aes256_gcm_rtpsize",
        args.streams,
        args.seconds,
        threads.min(args.streams),
        opus2::version(),
        OPUS_BITRATE / 1000
    );
    println!("input: {}", source.description);
    println!("load average before: {}", load_average());
    let report = measure(
        &source,
        args.filters.phases(),
        args.streams,
        packets,
        threads,
    )?;
    print_report(&report);
    println!("load average after: {}", load_average());
    Ok(())
}

/// Runs the memory measurement, the ceiling and every pipeline phase.
fn measure(
    source: &Source,
    phases: &[Filters],
    streams: usize,
    packets: usize,
    threads: usize,
) -> anyhow::Result<Report> {
    let rss = measure_rss(source, phases, streams)?;
    let pcm: Arc<[f32]> = source.decode_pcm(CEILING_PCM_SECONDS)?.into();
    let ceiling = run_phase(Phase::OpusOnly, source, &pcm, streams, packets, threads)?;
    let mut pipelines = Vec::new();
    for &filters in phases {
        let measured = run_phase(
            Phase::Pipeline(filters),
            source,
            &pcm,
            streams,
            packets,
            threads,
        )?;
        pipelines.push((filters, measured));
    }
    Ok(Report {
        ceiling,
        pipelines,
        rss,
    })
}

#[allow(clippy::cast_precision_loss)]
fn print_report(report: &Report) {
    println!();
    println!(
        "{:<20} {:>10} {:>8} {:>8} {:>16} {:>14}",
        "phase", "audio_s", "cpu_s", "wall_s", "streams_per_core", "streams_wall"
    );
    let rows = std::iter::once((Phase::OpusOnly, report.ceiling)).chain(
        report
            .pipelines
            .iter()
            .map(|&(filters, measured)| (Phase::Pipeline(filters), measured)),
    );
    for (phase, measured) in rows {
        println!(
            "{:<20} {:>10.1} {:>8.2} {:>8.2} {:>16.1} {:>14.1}",
            phase.name(),
            measured.audio_seconds,
            measured.cpu_seconds,
            measured.wall_seconds,
            measured.streams_per_core(),
            measured.streams_at_wall_clock()
        );
    }
    println!();
    let ceiling = report.ceiling.streams_per_core();
    for (filters, measured) in &report.pipelines {
        let ratio = measured.streams_per_core() / ceiling;
        let goal = if *filters == Filters::None {
            " (goal >= 0.85)"
        } else {
            ""
        };
        println!(
            "ratio {} / opus_only_ceiling: {ratio:.3}{goal}",
            filters.name()
        );
    }
    for (filters, growth) in &report.rss {
        let per_stream = growth.per_extra_stream_kib().map_or_else(
            || "n/a (needs --streams 2 or more)".to_owned(),
            |kib| format!("{:.3} MiB (goal <= 2 MiB)", kib / 1024.0),
        );
        println!(
            "rss {}: 1 stream {:.1} MiB, {} streams {:.1} MiB, per extra stream {per_stream}",
            filters.name(),
            growth.one_stream_kib as f64 / 1024.0,
            growth.streams,
            growth.all_streams_kib as f64 / 1024.0,
        );
    }
}

#[cfg(test)]
mod tests;
