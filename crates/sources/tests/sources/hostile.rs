//! Hostile headers built here, byte by byte: WAV, AIFF and Ogg Vorbis files of about 19 KB
//! declaring a sample rate near 2^32, 16,777,213 Hz or 1 Hz, no channels, thousands of
//! channels, or far more audio than they hold. Each is refused with one sentence by both the
//! probe (what resolvers call) and the decoder (what players call), in a child process whose
//! address space is capped, so an allocation sized from the header fails the test instead of
//! passing on a machine with memory to spare.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use minstrel_sources::{MAX_TRACK_MEMORY, SymphoniaStream, probe_info};

use crate::support::{fixtures, read_all_within};

/// Set in the child process that runs one case under the address-space cap.
const CHILD: &str = "MINSTREL_HOSTILE_CHILD";

/// Address space of the child, in KiB: the test binary's threads and heap plus one track's
/// [`MAX_TRACK_MEMORY`], far below what the headers ask for.
const CHILD_ADDRESS_SPACE_KIB: u64 = 1024 * 1024;

const _: () = assert!(
    MAX_TRACK_MEMORY < CHILD_ADDRESS_SPACE_KIB * 1024 / 4,
    "the cap leaves room for the test binary itself"
);

/// Bytes of audio data in each crafted file, the size of the files in the report.
const BODY_BYTES: usize = 19 * 1024;

const RATE_NEAR_TWO_TO_THE_32: u32 = u32::MAX;
const RATE_16_777_213: u32 = 16_777_213;

/// A canonical 16-bit PCM WAV: `declared_data` is what the data chunk says it holds, `body`
/// how many bytes follow.
fn wav(rate: u32, channels: u16, declared_data: u32, body: usize) -> Vec<u8> {
    let block_align = channels.wrapping_mul(2);
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&(u32::MAX - 1).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16_u32.to_le_bytes());
    bytes.extend_from_slice(&1_u16.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    bytes.extend_from_slice(&block_align.to_le_bytes());
    bytes.extend_from_slice(&16_u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&declared_data.to_le_bytes());
    bytes.extend(tone_bytes(body));
    bytes
}

/// A 16-bit PCM AIFF: `declared_frames` in COMM, `declared_data` in SSND, `body` bytes after.
fn aiff(
    rate: u32,
    channels: u16,
    declared_frames: u32,
    declared_data: u32,
    body: usize,
) -> Vec<u8> {
    let mut common = channels.to_be_bytes().to_vec();
    common.extend_from_slice(&declared_frames.to_be_bytes());
    common.extend_from_slice(&16_u16.to_be_bytes());
    common.extend_from_slice(&extended(rate));
    let mut bytes = b"FORM".to_vec();
    bytes.extend_from_slice(&(u32::MAX - 1).to_be_bytes());
    bytes.extend_from_slice(b"AIFFCOMM");
    bytes.extend_from_slice(&18_u32.to_be_bytes());
    bytes.extend(common);
    bytes.extend_from_slice(b"SSND");
    bytes.extend_from_slice(&declared_data.saturating_add(8).to_be_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend(tone_bytes(body));
    bytes
}

/// `value` as the 80-bit IEEE extended float AIFF stores its sample rate in.
fn extended(value: u32) -> [u8; 10] {
    let mut bytes = [0; 10];
    if value == 0 {
        return bytes;
    }
    let highest_bit = value.ilog2();
    let exponent = 16_383 + u16::try_from(highest_bit).unwrap();
    let mantissa = u64::from(value) << (63 - highest_bit);
    bytes[..2].copy_from_slice(&exponent.to_be_bytes());
    bytes[2..].copy_from_slice(&mantissa.to_be_bytes());
    bytes
}

/// 16-bit samples of a quiet 440 Hz tone at 44.1 kHz, `count` bytes of them.
fn tone_bytes(count: usize) -> Vec<u8> {
    (0..count / 2)
        .flat_map(|index| {
            let phase = std::f32::consts::TAU * 440.0 * index as f32 / 44_100.0;
            ((phase.sin() * 8_000.0) as i16).to_le_bytes()
        })
        .collect()
}

/// The committed Ogg Vorbis tone with its identification header rewritten to `rate` and
/// `channels` and the first page's checksum made right again, so the demuxer accepts it.
fn vorbis(rate: u32, channels: u8) -> Vec<u8> {
    let mut bytes = std::fs::read(fixtures().join("tone.ogg")).unwrap();
    // Page header (27 bytes), one lacing value, then the packet: type, "vorbis", version.
    let packet = 28;
    assert_eq!(
        &bytes[packet..packet + 7],
        b"\x01vorbis",
        "the first packet"
    );
    bytes[packet + 11] = channels;
    bytes[packet + 12..packet + 16].copy_from_slice(&rate.to_le_bytes());
    assert_eq!(bytes[26], 1, "the identification header fills one segment");
    let page_end = packet + usize::from(bytes[27]);
    bytes[22..26].fill(0);
    let checksum = ogg_crc(&bytes[..page_end]);
    bytes[22..26].copy_from_slice(&checksum.to_le_bytes());
    bytes
}

/// The Ogg page checksum: CRC-32 with polynomial 0x04c11db7, not reflected, no final xor.
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x04c1_1db7
            };
        }
    }
    crc
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Words the refusal must contain.
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let body = u32::try_from(BODY_BYTES).unwrap();
    vec![
        Case {
            name: "rate-near-2^32.wav",
            bytes: wav(RATE_NEAR_TWO_TO_THE_32, 1, body, BODY_BYTES),
            says: "4294967295 Hz",
        },
        Case {
            name: "rate-16777213.wav",
            bytes: wav(RATE_16_777_213, 1, body, BODY_BYTES),
            says: "16777213 Hz",
        },
        Case {
            name: "rate-1.wav",
            bytes: wav(1, 1, body, BODY_BYTES),
            says: "1 Hz",
        },
        Case {
            name: "no-channels.wav",
            bytes: wav(44_100, 0, body, BODY_BYTES),
            says: "channel",
        },
        Case {
            name: "65535-channels.wav",
            bytes: wav(44_100, u16::MAX, body, BODY_BYTES),
            says: "channel",
        },
        Case {
            name: "declares-2-gb.wav",
            bytes: wav(44_100, 2, 0x7fff_0000, BODY_BYTES),
            says: "declares",
        },
        Case {
            name: "rate-near-2^32.aiff",
            bytes: aiff(RATE_NEAR_TWO_TO_THE_32, 1, body / 2, body, BODY_BYTES),
            says: "4294967295 Hz",
        },
        Case {
            name: "rate-16777213.aiff",
            bytes: aiff(RATE_16_777_213, 1, body / 2, body, BODY_BYTES),
            says: "16777213 Hz",
        },
        Case {
            name: "rate-1.aiff",
            bytes: aiff(1, 1, body / 2, body, BODY_BYTES),
            says: "1 Hz",
        },
        Case {
            name: "no-channels.aiff",
            bytes: aiff(44_100, 0, body / 2, body, BODY_BYTES),
            says: "channel",
        },
        Case {
            name: "32767-channels.aiff",
            bytes: aiff(44_100, 0x7fff, body / 2, body, BODY_BYTES),
            says: "channel",
        },
        Case {
            name: "declares-2-gb.aiff",
            bytes: aiff(44_100, 2, 0x1fff_c000, 0x7fff_0000, BODY_BYTES),
            says: "declares",
        },
        Case {
            name: "rate-near-2^32.ogg",
            bytes: vorbis(RATE_NEAR_TWO_TO_THE_32, 1),
            says: "4294967295 Hz",
        },
        Case {
            name: "rate-16777213.ogg",
            bytes: vorbis(RATE_16_777_213, 1),
            says: "16777213 Hz",
        },
        Case {
            name: "rate-1.ogg",
            bytes: vorbis(1, 1),
            says: "1 Hz",
        },
        Case {
            name: "no-channels.ogg",
            bytes: vorbis(44_100, 0),
            // symphonia's Ogg reader refuses it itself.
            says: "not audio",
        },
        Case {
            name: "255-channels.ogg",
            bytes: vorbis(44_100, 255),
            says: "",
        },
    ]
}

/// One sentence: no line break, and what the case must name.
fn assert_one_sentence(name: &str, what: &str, message: &str, says: &str) {
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{name}: {what} answered {message:?}"
    );
    assert!(
        message.contains(says),
        "{name}: {what} answered {message:?}, which does not mention {says:?}"
    );
}

/// Probes and opens every case; a refusal is required from at least one of them and neither
/// may play: opening may succeed only for a stream that then fails on its first read.
fn refuse_every_case(folder: &Path) {
    for case in cases() {
        let path = folder.join(case.name);
        std::fs::write(&path, &case.bytes).unwrap();
        match probe_info(&path) {
            Err(error) => {
                assert_one_sentence(case.name, "the probe", &error.to_string(), case.says);
            }
            Ok(info) => {
                // Only a header symphonia itself cannot read past may get this far, and then
                // the decoder refuses it below.
                assert!(
                    info.duration
                        .is_none_or(|duration| duration < Duration::from_mins(1)),
                    "{}: probed {info:?}",
                    case.name
                );
            }
        }
        let refusal = match SymphoniaStream::open_file(&path, Duration::ZERO) {
            Err(error) => error.to_string(),
            Ok(stream) => match read_all_within(Box::new(stream), Duration::from_secs(30)) {
                Err(error) => error.to_string(),
                Ok(samples) => panic!("{}: played {} samples", case.name, samples.len()),
            },
        };
        assert_one_sentence(case.name, "the decoder", &refusal, case.says);
    }
}

#[test]
fn hostile_headers_are_refused_with_one_sentence_in_bounded_memory() {
    let folder = tempfile::tempdir().unwrap();
    if std::env::var_os(CHILD).is_some() {
        refuse_every_case(folder.path());
        return;
    }
    let binary = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {CHILD_ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(&binary)
        .args([
            "--exact",
            "hostile::hostile_headers_are_refused_with_one_sentence_in_bounded_memory",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child exited with {:?}\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the case ran in the child\n{stdout}"
    );
}

/// The bounds leave real files alone: a 19 KB WAV at 44.1 kHz and one at a rate coprime with
/// 48 kHz (the largest resampler) decode to their length.
#[test]
fn ordinary_rates_still_play() {
    let folder = tempfile::tempdir().unwrap();
    for rate in [8_000, 44_100, 44_101, 383_999] {
        let path = folder.path().join(format!("tone-{rate}.wav"));
        let body = BODY_BYTES * 4;
        std::fs::write(&path, wav(rate, 1, u32::try_from(body).unwrap(), body)).unwrap();
        let info = probe_info(&path).unwrap();
        let expected = Duration::from_secs_f64((body / 2) as f64 / f64::from(rate));
        assert_eq!(
            info.duration.map(|duration| duration.as_millis()),
            Some(expected.as_millis())
        );
        let stream = SymphoniaStream::open_file(&path, Duration::ZERO).unwrap();
        let samples = read_all_within(Box::new(stream), Duration::from_secs(30)).unwrap();
        let frames = samples.len() / 2;
        let wanted = (body / 2) as f64 * 48_000.0 / f64::from(rate);
        assert!(
            (frames as f64 - wanted).abs() <= 1.0,
            "{rate} Hz: {frames} frames, wanted {wanted}"
        );
    }
}
