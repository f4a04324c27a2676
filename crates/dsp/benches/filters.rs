//! Throughput of every filter alone and of the full chain on 48 kHz stereo.
//!
//! Each benchmark streams one second of a music-like signal (an A-minor chord with a little
//! noise, panned slightly differently per channel) through a long-lived [`FilterChain`] in 20 ms
//! blocks and pulls everything it produces, as the player does. A filter "alone" is a chain
//! whose spec holds only that filter, so every figure includes the chain's own per-block work
//! (volume ramp and limiter); `passthrough` is that work with no filter at all.
//!
//! Throughput is reported in frames: frames per second divided by 48 000 is "× realtime".
//! Numbers go to docs/BENCHMARKS.md, never into tests.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minstrel_domain::filters::{
    BassBoostLevel, ChannelMix, Distortion, Equalizer, FilterSpec, Karaoke, LowPass, Oscillation,
    Reverb, Rotation, Timescale,
};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};

const SECONDS_OF_AUDIO: usize = 1;

/// One second of an A-minor chord (A3, C4, E4, A4) at −12 dBFS plus noise at −40 dBFS,
/// interleaved stereo, each note panned a little differently so L ≠ R.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn music_like_signal() -> Vec<f32> {
    const NOTES_HZ: [f64; 4] = [220.0, 261.63, 329.63, 440.0];
    const PANS: [[f64; 2]; 4] = [[1.0, 0.8], [0.7, 1.0], [1.0, 0.9], [0.85, 1.0]];
    let frames = SECONDS_OF_AUDIO * SAMPLE_RATE as usize;
    let rate = f64::from(SAMPLE_RATE);
    // xorshift32: deterministic noise without a dependency.
    let mut state = 0x9E37_79B9_u32;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0
    };
    let mut samples = Vec::with_capacity(frames * CHANNELS);
    for frame in 0..frames {
        let time = frame as f64 / rate;
        for channel in 0..CHANNELS {
            let chord: f64 = NOTES_HZ
                .iter()
                .zip(PANS)
                .map(|(note, pan)| pan[channel] * (std::f64::consts::TAU * note * time).sin())
                .sum();
            samples.push((0.0625 * chord + 0.01 * noise()) as f32);
        }
    }
    samples
}

fn timescale(speed: f32, pitch: f32, rate: f32) -> Timescale {
    Timescale::new(speed, pitch, rate).expect("valid timescale")
}

/// Every band active (none at zero, or the engine would skip it): the equalizer's worst case.
fn all_band_equalizer() -> Equalizer {
    Equalizer::new([
        0.2, 0.15, 0.1, 0.05, 0.02, -0.05, -0.1, 0.1, 0.05, 0.1, 0.15, 0.2, 0.25, 0.2, 0.15,
    ])
    .expect("valid gains")
}

fn distortion() -> Distortion {
    Distortion {
        sin_offset: 0.1,
        sin_scale: 1.2,
        cos_offset: 0.0,
        cos_scale: 1.0,
        tan_offset: 0.0,
        tan_scale: 0.8,
        offset: 0.0,
        scale: 1.5,
    }
}

fn every_filter(timescale: Timescale) -> FilterSpec {
    FilterSpec {
        volume: Some(1.2),
        equalizer: Some(all_band_equalizer()),
        karaoke: Some(Karaoke::default()),
        timescale: Some(timescale),
        tremolo: Some(Oscillation {
            frequency: 4.0,
            depth: 0.3,
        }),
        vibrato: Some(Oscillation {
            frequency: 5.0,
            depth: 0.3,
        }),
        rotation: Some(Rotation { rotation_hz: 0.2 }),
        distortion: Some(distortion()),
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

/// `(benchmark name, spec)` for every filter on its own, then the full chains.
#[allow(
    clippy::too_many_lines,
    reason = "one flat table of cases is easier to scan than several helpers"
)]
fn cases() -> Vec<(&'static str, FilterSpec)> {
    let only = FilterSpec::default();
    vec![
        ("passthrough", only),
        (
            "volume",
            FilterSpec {
                volume: Some(1.2),
                ..only
            },
        ),
        (
            "low_pass",
            FilterSpec {
                low_pass: Some(LowPass { smoothing: 20.0 }),
                ..only
            },
        ),
        (
            "channel_mix",
            FilterSpec {
                channel_mix: every_filter(Timescale::default()).channel_mix,
                ..only
            },
        ),
        (
            "rotation",
            FilterSpec {
                rotation: Some(Rotation { rotation_hz: 0.2 }),
                ..only
            },
        ),
        (
            "distortion",
            FilterSpec {
                distortion: Some(distortion()),
                ..only
            },
        ),
        (
            "vibrato",
            FilterSpec {
                vibrato: Some(Oscillation {
                    frequency: 5.0,
                    depth: 0.5,
                }),
                ..only
            },
        ),
        (
            "tremolo",
            FilterSpec {
                tremolo: Some(Oscillation {
                    frequency: 4.0,
                    depth: 0.5,
                }),
                ..only
            },
        ),
        (
            "timescale_rate",
            FilterSpec {
                timescale: Some(timescale(1.0, 1.0, 1.25)),
                ..only
            },
        ),
        (
            // A ratio that is no small fraction: the resampler blends kernel rows.
            "timescale_rate_blended",
            FilterSpec {
                timescale: Some(timescale(1.0, 1.0, 1.234_5)),
                ..only
            },
        ),
        (
            "timescale_speed",
            FilterSpec {
                timescale: Some(timescale(1.25, 1.0, 1.0)),
                ..only
            },
        ),
        (
            "timescale_pitch",
            FilterSpec {
                timescale: Some(timescale(1.0, 1.25, 1.0)),
                ..only
            },
        ),
        (
            "karaoke",
            FilterSpec {
                karaoke: Some(Karaoke::default()),
                ..only
            },
        ),
        (
            "equalizer_15_bands",
            FilterSpec {
                equalizer: Some(all_band_equalizer()),
                ..only
            },
        ),
        (
            "equalizer_2_bands",
            FilterSpec {
                equalizer: Some(Equalizer::from_bands(&[(0, 0.2), (1, 0.15)]).expect("valid")),
                ..only
            },
        ),
        (
            "bass_boost",
            FilterSpec {
                bass_boost: Some(BassBoostLevel::Medium),
                ..only
            },
        ),
        (
            "reverb",
            FilterSpec {
                reverb: every_filter(Timescale::default()).reverb,
                ..only
            },
        ),
        ("full_chain_rate", every_filter(timescale(1.0, 1.0, 1.25))),
        (
            "full_chain_speed_pitch",
            every_filter(timescale(1.1, 1.1, 1.0)),
        ),
    ]
}

fn bench_filters(criterion: &mut Criterion) {
    let input = music_like_signal();
    let mut output = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    let mut group = criterion.benchmark_group("dsp");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(
            (SECONDS_OF_AUDIO * SAMPLE_RATE as usize) as u64,
        ));
    for (name, spec) in cases() {
        let mut chain = FilterChain::new(FilterControl::new(spec, 100));
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                let mut sum = 0.0f32;
                for block in input.chunks(FRAMES_PER_BLOCK * CHANNELS) {
                    chain.push(black_box(block));
                    loop {
                        let written = chain.pull(&mut output);
                        if written == 0 {
                            break;
                        }
                        sum += output[written - 1];
                    }
                }
                black_box(sum)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_filters);
criterion_main!(benches);
