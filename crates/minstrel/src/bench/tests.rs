use minstrel_dsp::analysis::{channel, estimate_pitch_hz, rms};
use minstrel_testkit::voice::open_rtp_packet;

use super::*;

/// Packets of one stream, opened with the voice fake's own decryption and Opus-decoded.
fn decode_stream(filters: Filters, source: &Source, packets: usize) -> (Vec<Vec<u8>>, Vec<f32>) {
    let key = secret_key(3);
    let mut stream = GuildStream::new(source, filters, ssrc(3), &key).unwrap();
    let mut decoder = opus2::Decoder::new(SAMPLE_RATE, opus2::Channels::Stereo).unwrap();
    let mut raw = Vec::new();
    let mut pcm = Vec::new();
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    for _ in 0..packets {
        let packet = stream.next_packet().unwrap().to_vec();
        let opus = open_rtp_packet(&packet, &key).expect("the voice fake opens the packet");
        let frames = decoder.decode_float(&opus, &mut frame, false).unwrap();
        assert_eq!(frames, FRAMES_PER_BLOCK, "every packet holds 20 ms");
        pcm.extend_from_slice(&frame[..frames * CHANNELS]);
        raw.push(packet);
    }
    (raw, pcm)
}

#[test]
fn packets_decrypt_and_decode_back_to_the_input_tone() {
    let source = Source::tone(TONE_HZ, 1.0);
    // 3 s from a 1 s input: the input loops.
    let (packets, pcm) = decode_stream(Filters::None, &source, 150);

    for (index, packet) in packets.iter().enumerate() {
        assert_eq!(packet[0], 0x80, "RTP version 2, no extension");
        assert_eq!(packet[1], RTP_PAYLOAD_TYPE);
        let sequence = u16::from_be_bytes([packet[2], packet[3]]);
        let timestamp = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let counter = u32::from_be_bytes(packet[packet.len() - 4..].try_into().unwrap());
        assert_eq!(usize::from(sequence), index);
        assert_eq!(timestamp as usize, index * FRAMES_PER_BLOCK);
        assert_eq!(counter as usize, index);
        assert_eq!(&packet[8..12], &ssrc(3).to_be_bytes());
    }
    // About 128 kb/s: 320 bytes of Opus per 20 ms on average (VBR), plus header, tag, counter.
    let average_opus = packets.iter().map(Vec::len).sum::<usize>() / packets.len() - 32;
    assert!((200..=450).contains(&average_opus), "{average_opus} bytes");

    // Each second of output, including the ones after the loop, is the 440 Hz tone.
    for second in pcm.chunks(SAMPLE_RATE as usize * CHANNELS).skip(1) {
        let left = channel(second, 0);
        let pitch = estimate_pitch_hz(&left, SAMPLE_RATE).expect("a tone");
        assert!((pitch - TONE_HZ).abs() < 2.0, "pitch {pitch} Hz");
        let level = rms(&left);
        assert!((level - 0.25 / 2f32.sqrt()).abs() < 0.03, "rms {level}");
    }
}

#[test]
fn the_full_chain_really_runs() {
    let source = Source::tone(TONE_HZ, 2.0);
    let (_, plain) = decode_stream(Filters::None, &source, 100);
    let (_, filtered) = decode_stream(Filters::Full, &source, 100);
    let (plain, filtered) = (
        channel(&plain[96_000..], 0),
        channel(&filtered[96_000..], 0),
    );
    assert!(rms(&filtered) > 0.001, "the full chain still plays");
    // Karaoke removes the centred tone, timescale rate 1.25 moves what is left: not the input.
    let difference: Vec<f32> = plain.iter().zip(&filtered).map(|(a, b)| a - b).collect();
    assert!(
        rms(&difference) > 0.5 * rms(&plain),
        "{} vs {}",
        rms(&difference),
        rms(&plain)
    );
}

#[test]
fn a_missing_or_silent_input_is_a_clear_error() {
    let missing = Source::from_file(Path::new("/nonexistent/track.mp3")).unwrap_err();
    assert!(
        format!("{missing:#}").contains("could not read --input /nonexistent/track.mp3"),
        "{missing:#}"
    );

    let folder = tempfile::tempdir().unwrap();
    let garbage = folder.path().join("noise.mp3");
    std::fs::write(&garbage, b"this is not audio at all").unwrap();
    let error = format!("{:#}", Source::from_file(&garbage).unwrap_err());
    assert!(error.contains("noise.mp3"), "{error}");

    // A valid WAV with no samples: opening works, producing a packet does not, and says why.
    // Either opening refuses it or producing a packet does; both say which input.
    let empty = Source::tone(TONE_HZ, 0.0);
    let error = match GuildStream::new(&empty, Filters::None, 1, &secret_key(1)) {
        Ok(mut stream) => format!("{:#}", stream.next_packet().unwrap_err()),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("generated 0 s 440 Hz tone"), "{error}");
}

#[test]
fn proc_files_parse() {
    let stat = "4242 (my (odd) bin) R 1 2 3 0 -1 4194304 99 0 0 0 1234 56 0 0 20 0 9 0 1 2 3";
    assert_eq!(parse_cpu_seconds(stat), Some(12.9));
    assert_eq!(parse_cpu_seconds("4242 (short) R 1"), None);

    let status = "Name:\tminstrel\nVmPeak:\t  999 kB\nVmRSS:\t   20480 kB\nThreads:\t3\n";
    assert_eq!(parse_vm_rss_kib(status), Some(20_480));
    assert_eq!(parse_vm_rss_kib("Name:\tminstrel\n"), None);
}

#[test]
fn rss_growth_is_per_extra_stream() {
    let growth = RssGrowth {
        one_stream_kib: 10_000,
        all_streams_kib: 13_000,
        streams: 4,
    };
    assert_eq!(growth.per_extra_stream_kib(), Some(1000.0));
    let single = RssGrowth {
        streams: 1,
        ..growth
    };
    assert_eq!(single.per_extra_stream_kib(), None);
}

#[test]
fn a_small_run_measures_every_phase() {
    let source = Source::tone(TONE_HZ, 1.0);
    let report = measure(&source, FilterChoice::Both.phases(), 2, 25, 2).unwrap();
    // 2 streams × 25 packets × 20 ms in every phase.
    assert!((report.ceiling.audio_seconds - 1.0).abs() < 1e-9);
    let phases: Vec<_> = report
        .pipelines
        .iter()
        .map(|(filters, _)| *filters)
        .collect();
    assert_eq!(phases, [Filters::None, Filters::Full]);
    for (_, measured) in &report.pipelines {
        assert!((measured.audio_seconds - 1.0).abs() < 1e-9);
        assert!(measured.cpu_seconds >= 0.0 && measured.wall_seconds > 0.0);
    }
    assert_eq!(report.rss.len(), 2);
    assert!(report.rss.iter().all(|(_, growth)| growth.streams == 2));
}

/// The bench's own dependencies come only with the `bench` feature, and the default build (the
/// shipped binary) leaves the feature off. Read from `cargo metadata`, since this test itself
/// can only run in a build that has the feature.
#[test]
fn the_default_build_leaves_the_bench_and_its_dependencies_out() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "minstrel")
        .expect("the minstrel package");
    let default = package["features"]["default"].as_array().cloned();
    assert!(
        default
            .unwrap_or_default()
            .iter()
            .all(|feature| feature != "bench"),
        "`bench` is not a default feature"
    );
    for name in ["opus2", "aes-gcm"] {
        let normal: Vec<_> = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dependency| dependency["name"] == name && dependency["kind"].is_null())
            .collect();
        assert!(!normal.is_empty(), "{name} is a dependency of the bench");
        for dependency in normal {
            assert_eq!(
                dependency["optional"], true,
                "{name} is optional, enabled by the `bench` feature only"
            );
        }
    }
    let bench = package["features"]["bench"]
        .as_array()
        .expect("a `bench` feature");
    for enabled in ["dep:opus2", "dep:aes-gcm"] {
        assert!(
            bench.iter().any(|feature| feature == enabled),
            "`bench` enables {enabled}"
        );
    }
}
