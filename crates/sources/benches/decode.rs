//! Decode + resample throughput per format: a whole file through the player's decode entry
//! (`SymphoniaStream::open_file`, then `read` to the end in 20 ms blocks), i.e. probe, demux,
//! decode, mono/stereo mapping and rubato resampling to 48 kHz stereo `f32`.
//!
//! The files are made by `scripts/bench-decode.sh` with ffmpeg (30 s of a music-like signal at
//! 44.1 kHz stereo; Opus at 48 kHz) and found through `MINSTREL_BENCH_AUDIO_DIR`; without it only
//! a WAV written here is measured. Throughput is in output frames: frames per second divided
//! by 48 000 is "× realtime". The same script times ffmpeg on the same files; the numbers go to
//! docs/BENCHMARKS.md, never into tests.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minstrel_app::ports::PcmStream;
use minstrel_sources::SymphoniaStream;

/// Benchmark name and file name, in the order of the docs' table.
const FORMATS: [(&str, &str); 7] = [
    ("wav", "bench.wav"),
    ("flac", "bench.flac"),
    ("mp3", "bench.mp3"),
    ("vorbis", "bench.ogg"),
    ("aac", "bench-aac.m4a"),
    ("alac", "bench-alac.m4a"),
    ("opus", "bench.opus"),
];

const SECONDS: f32 = 30.0;

/// Decodes the whole file; returns the stereo frames produced.
fn decode(path: &Path) -> usize {
    let mut stream = SymphoniaStream::open_file(path, Duration::ZERO).expect("the file opens");
    let mut block = vec![0.0_f32; 960 * 2];
    let mut samples = 0;
    loop {
        let count = stream.read(&mut block).expect("the file decodes");
        if count == 0 {
            return samples / 2;
        }
        samples += count;
        black_box(&block[..count]);
    }
}

/// 30 s of the DSP bench's A-minor chord plus a little noise, 44.1 kHz stereo 16-bit.
fn write_wav(path: &Path) {
    const NOTES_HZ: [f32; 4] = [220.0, 261.63, 329.63, 440.0];
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("a temp file");
    let mut state = 0x9E37_79B9_u32;
    for frame in 0..(44_100.0 * SECONDS) as u32 {
        let time = frame as f32 / 44_100.0;
        let chord: f32 = NOTES_HZ
            .iter()
            .map(|note| (std::f32::consts::TAU * note * time).sin())
            .sum();
        for _ in 0..2 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = state as f32 / u32::MAX as f32 * 2.0 - 1.0;
            let value = 0.0625 * chord + 0.01 * noise;
            writer
                .write_sample((value * 32767.0) as i16)
                .expect("a temp file");
        }
    }
    writer.finalize().expect("a temp file");
}

fn files() -> (Vec<(&'static str, PathBuf)>, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::var_os("MINSTREL_BENCH_AUDIO_DIR") {
        let dir = PathBuf::from(dir);
        let found = FORMATS
            .iter()
            .map(|(name, file)| (*name, dir.join(file)))
            .filter(|(name, path)| {
                let exists = path.exists();
                if !exists {
                    eprintln!("{name}: {} is missing, skipped", path.display());
                }
                exists
            })
            .collect();
        return (found, None);
    }
    eprintln!(
        "MINSTREL_BENCH_AUDIO_DIR is not set: only WAV is measured \
         (scripts/bench-decode.sh makes every format with ffmpeg)"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("bench.wav");
    write_wav(&path);
    (vec![("wav", path)], Some(dir))
}

fn decode_benches(criterion: &mut Criterion) {
    let (files, _keep) = files();
    let mut group = criterion.benchmark_group("decode");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for (name, path) in &files {
        let frames = decode(path);
        group.throughput(Throughput::Elements(frames as u64));
        group.bench_function(*name, |bencher| bencher.iter(|| decode(black_box(path))));
    }
    group.finish();
}

criterion_group!(benches, decode_benches);
criterion_main!(benches);
