//! Whole-chain tests measuring real signals.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::float_cmp
)]

use minstrel_domain::filters::{
    BassBoostLevel, Equalizer, FilterSpec, Karaoke, Oscillation, Preset, Reverb, Rotation,
    Timescale,
};

use crate::analysis::{
    channel, dbfs, estimate_pitch_hz, goertzel_power, max_step, peak, rms, stereo_sine,
};
use crate::{
    CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE, equalizer_centre_gain,
    player_volume_gain, render,
};

const CENTRE: [f32; 2] = [1.0, 1.0];

fn tone(frequency: f32, seconds: f32, amplitude: f32) -> Vec<f32> {
    stereo_sine(frequency, seconds, amplitude, CENTRE, SAMPLE_RATE)
}

/// Skips `skip_seconds` at both ends (filter settling, timescale edges).
fn middle(samples: &[f32], skip_seconds: f32) -> &[f32] {
    let skip = (skip_seconds * SAMPLE_RATE as f32) as usize;
    &samples[skip..samples.len() - skip]
}

fn frames(interleaved: &[f32]) -> usize {
    interleaved.len() / CHANNELS
}

fn level_change_db(spec: FilterSpec, frequency: f32) -> f32 {
    let input = tone(frequency, 1.0, 0.1);
    let output = render(spec, 100, &input);
    let measured =
        |signal: &[f32]| goertzel_power(middle(&channel(signal, 0), 0.2), frequency, SAMPLE_RATE);
    10.0 * (measured(&output) / measured(&input)).log10()
}

#[test]
fn neutral_chain_passes_audio_through_unchanged() {
    let input = stereo_sine(440.0, 0.5, 0.5, [1.0, 0.6], SAMPLE_RATE);
    let output = render(FilterSpec::default(), 100, &input);
    assert_eq!(output.len(), input.len());
    let error: Vec<f32> = output.iter().zip(&input).map(|(a, b)| a - b).collect();
    assert!(rms(&error) < 1e-4, "rms error {}", rms(&error));
}

#[test]
fn volume_follows_the_documented_curve_and_zero_is_silent() {
    let input = tone(440.0, 0.3, 0.2);
    let full = render(FilterSpec::default(), 100, &input);
    let half = render(FilterSpec::default(), 50, &input);
    let measured = dbfs(rms(&half) / rms(&full));
    let expected = dbfs(player_volume_gain(50));
    assert!(
        (measured - expected).abs() < 0.05,
        "{measured} vs {expected}"
    );
    assert!(expected < -7.0 && expected > -8.5);
    let silent = render(FilterSpec::default(), 0, &input);
    assert_eq!(peak(&silent), 0.0);
}

#[test]
fn nightcore_raises_pitch_and_shortens_by_a_fifth() {
    let input = tone(440.0, 1.0, 0.3);
    let output = render(Preset::Nightcore.spec(), 100, &input);
    let ratio = frames(&output) as f32 / frames(&input) as f32;
    assert!((ratio - 0.8).abs() < 0.008, "duration ratio {ratio}");
    let pitch = estimate_pitch_hz(middle(&channel(&output, 0), 0.1), SAMPLE_RATE).unwrap();
    assert!((pitch - 550.0).abs() < 5.5, "pitch {pitch}");
    // Band-limited: the level stays the same.
    assert!((dbfs(rms(middle(&output, 0.1)) / rms(&input))).abs() < 0.2);
}

#[test]
fn slow_preset_lowers_pitch_and_lengthens() {
    let input = tone(440.0, 0.6, 0.3);
    let output = render(Preset::Slow.spec(), 100, &input);
    let ratio = frames(&output) as f32 / frames(&input) as f32;
    assert!((ratio - 1.25).abs() < 0.0125, "duration ratio {ratio}");
    let pitch = estimate_pitch_hz(middle(&channel(&output, 0), 0.1), SAMPLE_RATE).unwrap();
    assert!((pitch - 352.0).abs() < 3.5, "pitch {pitch}");
}

fn timescale(speed: f32, pitch: f32, rate: f32) -> FilterSpec {
    FilterSpec {
        timescale: Some(Timescale::new(speed, pitch, rate).unwrap()),
        ..FilterSpec::default()
    }
}

#[test]
fn speed_changes_tempo_and_keeps_pitch() {
    for speed in [1.25f32, 0.8] {
        let input = tone(440.0, 1.0, 0.3);
        let output = render(timescale(speed, 1.0, 1.0), 100, &input);
        let ratio = frames(&output) as f32 / frames(&input) as f32;
        assert!(
            (ratio - 1.0 / speed).abs() < 0.02 / speed,
            "speed {speed}: duration {ratio}"
        );
        let left = channel(&output, 0);
        let pitch = estimate_pitch_hz(middle(&left, 0.1), SAMPLE_RATE).unwrap();
        assert!((pitch - 440.0).abs() < 4.4, "speed {speed}: pitch {pitch}");
        // WSOLA lines segments up: no deep dips where windows overlap.
        let level = dbfs(rms(middle(&left, 0.1)) / rms(&channel(&input, 0)));
        assert!(level.abs() < 1.0, "speed {speed}: level {level} dB");
    }
}

#[test]
fn pitch_changes_pitch_and_keeps_tempo() {
    let input = tone(440.0, 1.0, 0.3);
    let output = render(timescale(1.0, 1.25, 1.0), 100, &input);
    let ratio = frames(&output) as f32 / frames(&input) as f32;
    assert!((ratio - 1.0).abs() < 0.02, "duration {ratio}");
    let pitch = estimate_pitch_hz(middle(&channel(&output, 0), 0.1), SAMPLE_RATE).unwrap();
    assert!((pitch - 550.0).abs() < 5.5, "pitch {pitch}");
}

#[test]
fn bass_boost_raises_lows_and_leaves_highs() {
    let spec = Preset::BassBoostMedium.spec();
    let low = level_change_db(spec, 60.0);
    assert!(
        (low - BassBoostLevel::Medium.gain_db()).abs() < 1.5,
        "60 Hz: {low} dB"
    );
    let high = level_change_db(spec, 5000.0);
    assert!(high.abs() < 0.5, "5 kHz: {high} dB");
}

#[test]
fn equalizer_band_gain_at_its_centre_matches_the_formula() {
    for (band, gain) in [(8usize, 0.25f32), (3, -0.2), (12, 1.0)] {
        let spec = FilterSpec {
            equalizer: Some(Equalizer::from_bands(&[(band, gain)]).unwrap()),
            ..FilterSpec::default()
        };
        let centre = minstrel_domain::filters::EQ_BANDS_HZ[band];
        let measured = level_change_db(spec, centre);
        let expected = dbfs(equalizer_centre_gain(gain));
        assert!(
            (measured - expected).abs() < 1.0,
            "band {band}: {measured} vs {expected} dB"
        );
    }
}

#[test]
fn rotation_moves_energy_between_channels_with_its_period() {
    let spec = FilterSpec {
        rotation: Some(Rotation::new(1.0).unwrap()),
        ..FilterSpec::default()
    };
    let output = render(spec, 100, &tone(440.0, 1.0, 0.3));
    let (left, right) = (channel(&output, 0), channel(&output, 1));
    // 20 ms windows around a quarter and three quarters of the 1 s period.
    let balance = |seconds: f32| {
        let at = (seconds * SAMPLE_RATE as f32) as usize;
        let range = at - 480..at + 480;
        dbfs(rms(&right[range.clone()]) / rms(&left[range]))
    };
    assert!(balance(0.25) > 15.0, "t=0.25: {}", balance(0.25));
    assert!(balance(0.75) < -15.0, "t=0.75: {}", balance(0.75));
    assert!(balance(0.5).abs() < 1.0, "t=0.5: {}", balance(0.5));
}

#[test]
fn karaoke_removes_the_centre_and_keeps_the_sides() {
    let spec = Preset::Karaoke.spec();
    let centre_in = stereo_sine(1000.0, 0.5, 0.3, CENTRE, SAMPLE_RATE);
    let centre_out = render(spec, 100, &centre_in);
    let removed = dbfs(rms(middle(&centre_out, 0.1)) / rms(&centre_in));
    assert!(removed < -20.0, "centre tone: {removed} dB");

    let side_in = stereo_sine(1000.0, 0.5, 0.3, [1.0, 0.0], SAMPLE_RATE);
    let side_out = render(spec, 100, &side_in);
    let kept = dbfs(rms(middle(&channel(&side_out, 0), 0.1)) / rms(&channel(&side_in, 0)));
    assert!(kept.abs() < 3.0, "side tone: {kept} dB");

    let bass_in = stereo_sine(220.0, 0.5, 0.3, CENTRE, SAMPLE_RATE);
    let bass_out = render(spec, 100, &bass_in);
    let bass = dbfs(rms(middle(&bass_out, 0.1)) / rms(&bass_in));
    assert!(bass.abs() < 1.0, "centre bass at filterBand: {bass} dB");
}

#[test]
fn limiter_never_exceeds_full_scale() {
    // +12 dB over full scale, then the loud preset on top.
    let input = tone(100.0, 0.5, 4.0);
    for spec in [
        FilterSpec::default(),
        Preset::Loud.spec(),
        Preset::BassBoostExtreme.spec(),
    ] {
        let output = render(spec, 200, &input);
        assert!(peak(&output) <= 1.0, "peak {}", peak(&output));
        assert!(output.iter().all(|sample| sample.is_finite()));
    }
}

#[test]
fn tremolo_modulates_level_and_vibrato_modulates_pitch() {
    let input = tone(440.0, 1.0, 0.3);
    let tremolo = render(Preset::Tremolo.spec(), 100, &input);
    let left = channel(&tremolo, 0);
    // 4 Hz, depth 0.5: full level at t = 0.25 s, half level at t = 0.125 s.
    let window = |t: f32| {
        let at = (t * SAMPLE_RATE as f32) as usize;
        rms(&left[at - 240..at + 240])
    };
    let swing = dbfs(window(0.25) / window(0.125));
    assert!((swing - 6.0).abs() < 1.0, "tremolo swing {swing} dB");

    let vibrato = render(Preset::Vibrato.spec(), 100, &input);
    let left = channel(&vibrato, 0);
    let pitch_at = |t: f32| {
        let at = (t * SAMPLE_RATE as f32) as usize;
        estimate_pitch_hz(&left[at - 1200..at + 1200], SAMPLE_RATE).unwrap()
    };
    // Delay grows fastest at phase 0 (pitch lowest) and shrinks fastest at phase ½.
    let (low, high) = (pitch_at(0.25), pitch_at(0.375));
    assert!(high - low > 4.0, "vibrato {low} Hz .. {high} Hz");
    let overall = estimate_pitch_hz(middle(&left, 0.1), SAMPLE_RATE).unwrap();
    assert!((overall - 440.0).abs() < 4.4);
}

#[test]
fn reverb_adds_a_tail() {
    let mut input = tone(440.0, 0.2, 0.3);
    input.extend(std::iter::repeat_n(0.0, 2 * 9600));
    let output = render(Preset::Reverb.spec(), 100, &input);
    let tail = &output[output.len() - 2 * 4800..];
    assert!(
        dbfs(rms(tail) / 0.3) > -50.0,
        "tail {} dB",
        dbfs(rms(tail) / 0.3)
    );
    let dry = render(FilterSpec::default(), 100, &input);
    assert_eq!(peak(&dry[dry.len() - 2 * 4800..]), 0.0);
}

#[test]
fn reset_drops_filter_history() {
    let control = FilterControl::new(Preset::Reverb.spec(), 100);
    let mut chain = FilterChain::new(control);
    chain.push(&tone(440.0, 0.2, 0.5));
    chain.reset();
    chain.push(&[0.0; 2 * FRAMES_PER_BLOCK]);
    let mut out = vec![1.0; 4 * FRAMES_PER_BLOCK];
    let written = chain.pull(&mut out);
    assert_eq!(written, 2 * FRAMES_PER_BLOCK);
    assert_eq!(peak(&out[..written]), 0.0);
}

/// Streams `input` block by block, calling `change` before block `at`.
fn stream_with_change(
    spec: FilterSpec,
    input: &[f32],
    at: usize,
    change: impl Fn(&FilterControl),
) -> Vec<f32> {
    let control = FilterControl::new(spec, 100);
    let mut chain = FilterChain::new(control.clone());
    let mut output = Vec::new();
    let mut block = vec![0.0; FRAMES_PER_BLOCK * CHANNELS * 4];
    for (index, chunk) in input.chunks(FRAMES_PER_BLOCK * CHANNELS).enumerate() {
        if index == at {
            change(&control);
        }
        chain.push(chunk);
        let written = chain.pull(&mut block);
        output.extend_from_slice(&block[..written]);
    }
    chain.finish();
    loop {
        let written = chain.pull(&mut block);
        if written == 0 {
            break;
        }
        output.extend_from_slice(&block[..written]);
    }
    output
}

/// The biggest sample-to-sample jump around the change must stay within 1.5 × the signal's own
/// largest step in steady state before or after.
fn assert_no_click(output: &[f32], change_frame: usize, what: &str) {
    for index in 0..CHANNELS {
        let signal = channel(output, index);
        let before = max_step(&signal[change_frame - 9600..change_frame - 960]);
        let after = max_step(&signal[change_frame + 4 * 960..change_frame + 12 * 960]);
        let around = max_step(&signal[change_frame - 960..change_frame + 4 * 960]);
        assert!(
            around <= 1.5 * before.max(after),
            "{what}, channel {index}: step {around} vs steady {before} / {after}"
        );
    }
}

#[test]
fn live_changes_do_not_click() {
    // 437 Hz puts the change (0.4 s) near a peak, where an unramped gain step is largest.
    let input = tone(437.0, 1.0, 0.2);
    let at = 20;
    let change_frame = at * FRAMES_PER_BLOCK;

    let output = stream_with_change(FilterSpec::default(), &input, at, |control| {
        control.set_volume(200);
    });
    assert_no_click(&output, change_frame, "volume 100 → 200");
    let after = rms(&channel(&output, 0)[change_frame + 2 * 960..change_frame + 10 * 960]);
    let before = rms(&channel(&output, 0)[change_frame - 10 * 960..change_frame]);
    assert!((dbfs(after / before) - dbfs(player_volume_gain(200))).abs() < 0.1);

    for (name, added) in [
        ("bass boost", Preset::BassBoostHigh.spec()),
        ("equalizer", Preset::Pop.spec()),
        ("tremolo", Preset::Tremolo.spec()),
        ("karaoke", Preset::Karaoke.spec()),
        ("rotation", Preset::EightD.spec()),
    ] {
        let output = stream_with_change(FilterSpec::default(), &input, at, |control| {
            control.set_filters(added);
        });
        assert_no_click(&output, change_frame, name);
    }
}

#[test]
fn live_timescale_change_keeps_going() {
    let input = tone(440.0, 1.0, 0.2);
    let output = stream_with_change(FilterSpec::default(), &input, 20, |control| {
        control.set_filters(Preset::Nightcore.spec());
    });
    assert_no_click(&output, 20 * FRAMES_PER_BLOCK, "nightcore");
    let ratio = frames(&output) as f32 / frames(&input) as f32;
    // 20 blocks at 1.0, 30 blocks at 1.25 (give or take the warm-up overlap).
    let expected = (20.0 + 30.0 * 0.8) / 50.0;
    assert!((ratio - expected).abs() < 0.03, "{ratio} vs {expected}");
    let left = channel(&output, 0);
    let tail_pitch = estimate_pitch_hz(&left[left.len() - 12_000..], SAMPLE_RATE).unwrap();
    assert!((tail_pitch - 550.0).abs() < 5.5, "{tail_pitch}");
    assert!(peak(&output) <= 1.0);
}

fn assert_send_sync<T: Send + Sync + Clone>() {}
fn assert_send<T: Send>() {}

#[test]
fn control_reports_what_was_set() {
    let control = FilterControl::new(FilterSpec::default(), 100);
    let other = control.clone();
    other.set_volume(5000);
    other.set_filters(Preset::Nightcore.spec());
    assert_eq!(control.volume(), 1000);
    assert_eq!(control.filters(), Preset::Nightcore.spec());
    assert_send_sync::<FilterControl>();
    assert_send::<FilterChain>();
}

mod properties {
    use super::*;
    use minstrel_domain::filters::{ChannelMix, Distortion, LowPass};
    use proptest::prelude::*;

    fn spec_strategy() -> impl Strategy<Value = FilterSpec> {
        let unit = || 0.0f32..=1.0;
        let eq = prop::array::uniform15(-0.25f32..=1.0);
        let group_a = (
            prop::option::of(0.0f32..=5.0),
            prop::option::of(eq),
            prop::option::of((unit(), unit(), 0.0f32..=24_000.0, 0.0f32..=24_000.0)),
            prop::option::of((0.1f32..=5.0, 0.1f32..=5.0, 0.1f32..=5.0)),
            prop::option::of((0.01f32..=100.0, unit())),
            prop::option::of((0.01f32..=14.0, unit())),
        );
        let group_b = (
            prop::option::of(0.0f32..=20.0),
            prop::option::of(prop::array::uniform8(-10.0f32..=10.0)),
            prop::option::of((unit(), unit(), unit(), unit())),
            prop::option::of(1.0f32..=1000.0),
            prop::option::of(0usize..4),
            prop::option::of((unit(), unit(), unit())),
        );
        (group_a, group_b).prop_map(|(a, b)| {
            let levels = [
                BassBoostLevel::Low,
                BassBoostLevel::Medium,
                BassBoostLevel::High,
                BassBoostLevel::Extreme,
            ];
            FilterSpec {
                volume: a.0,
                equalizer: a.1.map(|gains| Equalizer::new(gains).unwrap()),
                karaoke: a.2.map(|(l, m, b, w)| Karaoke::new(l, m, b, w).unwrap()),
                timescale: a.3.map(|(s, p, r)| Timescale::new(s, p, r).unwrap()),
                tremolo: a.4.map(|(f, d)| Oscillation::tremolo(f, d).unwrap()),
                vibrato: a.5.map(|(f, d)| Oscillation::vibrato(f, d).unwrap()),
                rotation: b.0.map(|hz| Rotation::new(hz).unwrap()),
                distortion: b.1.map(|v| {
                    Distortion {
                        sin_offset: v[0],
                        sin_scale: v[1],
                        cos_offset: v[2],
                        cos_scale: v[3],
                        tan_offset: v[4],
                        tan_scale: v[5],
                        offset: v[6],
                        scale: v[7],
                    }
                    .validated()
                    .unwrap()
                }),
                channel_mix: b.2.map(|(a, b, c, d)| ChannelMix::new(a, b, c, d).unwrap()),
                low_pass: b.3.map(|s| LowPass::new(s).unwrap()),
                bass_boost: b.4.map(|index| levels[index]),
                reverb: b.5.map(|(r, d, w)| Reverb::new(r, d, w).unwrap()),
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn any_valid_spec_gives_finite_limited_output(spec in spec_strategy(), volume in 0u16..=1000) {
            let input = stereo_sine(440.0, 0.1, 0.9, [1.0, 0.5], SAMPLE_RATE);
            let output = render(spec, volume, &input);
            prop_assert!(output.iter().all(|sample| sample.is_finite()));
            prop_assert!(peak(&output) <= 1.0);
            if let Some(t) = spec.timescale {
                let expected = frames(&input) as f32 / t.tempo_factor();
                prop_assert!((frames(&output) as f32 - expected).abs() <= expected * 0.02 + 2.0,
                    "{} frames vs {}", frames(&output), expected);
            } else {
                prop_assert_eq!(output.len(), input.len());
            }
        }
    }
}

/// Three-note chord and a 120 Hz pulse train through a decaying 800 Hz resonance (a crude
/// voiced-speech stand-in), one second each, mono in both channels.
fn chord_and_voice() -> (Vec<f32>, Vec<f32>) {
    use std::f32::consts::TAU;
    let frames = SAMPLE_RATE as usize;
    let mut chord = Vec::with_capacity(2 * frames);
    let mut voice = Vec::with_capacity(2 * frames);
    for index in 0..frames {
        let t = index as f32 / SAMPLE_RATE as f32;
        let note = 0.1
            * [220.0f32, 330.0, 550.0]
                .iter()
                .map(|f| (TAU * f * t).sin())
                .sum::<f32>();
        chord.extend([note, note]);
        let since_pulse = (t * 120.0).fract() / 120.0;
        let pulse = 0.3 * (-since_pulse * 600.0).exp() * (TAU * 800.0 * since_pulse).sin();
        voice.extend([pulse, pulse]);
    }
    (chord, voice)
}

#[test]
fn time_stretch_keeps_chords_and_voices_intact() {
    let (chord, voice) = chord_and_voice();
    for speed in [0.8f32, 1.25] {
        let spec = timescale(speed, 1.0, 1.0);
        let output = channel(&render(spec, 100, &chord), 0);
        let input = channel(&chord, 0);
        for note in [220.0f32, 330.0, 550.0] {
            let power = |signal: &[f32]| goertzel_power(middle(signal, 0.1), note, SAMPLE_RATE);
            let change = 10.0 * (power(&output) / power(&input)).log10();
            assert!(change.abs() < 1.0, "speed {speed}, {note} Hz: {change} dB");
        }
        let output = channel(&render(spec, 100, &voice), 0);
        let pitch = estimate_pitch_hz(middle(&output, 0.1), SAMPLE_RATE).unwrap();
        assert!(
            (pitch - 120.0).abs() < 1.2,
            "speed {speed}: voice pitch {pitch}"
        );
        let level = dbfs(rms(middle(&output, 0.1)) / rms(&channel(&voice, 0)));
        assert!(level.abs() < 1.0, "speed {speed}: voice level {level} dB");
    }
}

#[test]
fn rapid_changes_stay_finite_and_bounded() {
    let input = tone(440.0, 1.0, 0.5);
    let control = FilterControl::new(FilterSpec::default(), 100);
    let mut chain = FilterChain::new(control.clone());
    let presets = [
        Preset::Nightcore,
        Preset::EightD,
        Preset::Karaoke,
        Preset::Slow,
        Preset::Loud,
    ];
    let mut output = Vec::new();
    let mut block = [0.0f32; 333];
    for (index, chunk) in input.chunks(FRAMES_PER_BLOCK * CHANNELS).enumerate() {
        control.set_filters(presets[index % presets.len()].spec());
        control.set_volume(u16::try_from(index * 10).unwrap());
        chain.push(chunk);
        loop {
            let written = chain.pull(&mut block);
            assert_eq!(written % CHANNELS, 0);
            if written == 0 {
                break;
            }
            output.extend_from_slice(&block[..written]);
        }
    }
    assert!(output.iter().all(|sample| sample.is_finite()));
    assert!(peak(&output) <= 1.0);
    assert!(frames(&output) > frames(&input) / 2);
}

/// Gain in dB of Lavalink's one-pole smoothing low-pass `y += (x − y) / smoothing` at
/// `frequency`: `|H(e^jω)| = a / |1 − (1 − a)·e^(−jω)|` with `a = 1 / smoothing`.
fn one_pole_gain_db(smoothing: f32, frequency: f32) -> f32 {
    let factor = 1.0 / f64::from(smoothing);
    let keep = 1.0 - factor;
    let omega = std::f64::consts::TAU * f64::from(frequency) / f64::from(SAMPLE_RATE);
    let denominator = (1.0 - 2.0 * keep * omega.cos() + keep * keep).sqrt();
    (20.0 * (factor / denominator).log10()) as f32
}

fn low_pass(smoothing: f32) -> FilterSpec {
    FilterSpec {
        low_pass: Some(minstrel_domain::filters::LowPass::new(smoothing).unwrap()),
        ..FilterSpec::default()
    }
}

#[test]
fn low_pass_attenuates_as_the_one_pole_formula_says() {
    for smoothing in [3.0f32, 20.0] {
        let spec = low_pass(smoothing);
        let at = |frequency: f32| {
            let measured = level_change_db(spec, frequency);
            let expected = one_pole_gain_db(smoothing, frequency);
            assert!(
                (measured - expected).abs() < 0.3,
                "smoothing {smoothing}, {frequency} Hz: {measured} dB vs {expected} dB"
            );
            measured
        };
        let (low, high) = (at(100.0), at(10_000.0));
        at(1_000.0);
        // The point of the filter: highs drop far more than lows (≈ 10 dB at smoothing 3,
        // ≈ 27 dB at smoothing 20).
        assert!(
            low - high > 9.0,
            "smoothing {smoothing}: 100 Hz {low} dB, 10 kHz {high} dB"
        );
    }
    // Darker with more smoothing.
    assert!(
        level_change_db(low_pass(20.0), 10_000.0) < level_change_db(low_pass(3.0), 10_000.0) - 15.0
    );
}

/// Level in dB of the `frequency` component of `signal` relative to a sine of `amplitude`.
fn component_db(signal: &[f32], frequency: f32, amplitude: f32) -> f32 {
    10.0 * (goertzel_power(signal, frequency, SAMPLE_RATE) / (amplitude * amplitude / 2.0)).log10()
}

#[test]
fn channel_mix_applies_each_matrix_factor() {
    use minstrel_domain::filters::ChannelMix;
    // A different tone on each side, so every factor shows up as its own component.
    let (left_hz, right_hz, amplitude) = (440.0f32, 1_000.0f32, 0.3f32);
    let left_only = stereo_sine(left_hz, 0.5, amplitude, [1.0, 0.0], SAMPLE_RATE);
    let right_only = stereo_sine(right_hz, 0.5, amplitude, [0.0, 1.0], SAMPLE_RATE);
    let input: Vec<f32> = left_only
        .iter()
        .zip(&right_only)
        .map(|(a, b)| a + b)
        .collect();
    let factor_db = |factor: f32| dbfs(factor);

    // Swap-to-right: the left tone appears, at full level, on the right only.
    let spec = FilterSpec {
        channel_mix: Some(ChannelMix::new(0.0, 1.0, 0.0, 0.0).unwrap()),
        ..FilterSpec::default()
    };
    let output = render(spec, 100, &left_only);
    let (left, right) = (channel(&output, 0), channel(&output, 1));
    assert!(
        peak(&left) < 1e-6,
        "left should be silent: peak {}",
        peak(&left)
    );
    let moved = component_db(&right, left_hz, amplitude);
    assert!(moved.abs() < 0.05, "left tone on the right: {moved} dB");

    let (ll, lr, rl, rr) = (0.7f32, 0.25f32, 0.5f32, 0.9f32);
    let spec = FilterSpec {
        channel_mix: Some(ChannelMix::new(ll, lr, rl, rr).unwrap()),
        ..FilterSpec::default()
    };
    let output = render(spec, 100, &input);
    let (left, right) = (channel(&output, 0), channel(&output, 1));
    for (what, signal, frequency, factor) in [
        ("left→left", &left, left_hz, ll),
        ("right→left", &left, right_hz, rl),
        ("left→right", &right, left_hz, lr),
        ("right→right", &right, right_hz, rr),
    ] {
        let measured = component_db(signal, frequency, amplitude);
        assert!(
            (measured - factor_db(factor)).abs() < 0.05,
            "{what}: {measured} dB, expected {} dB",
            factor_db(factor)
        );
    }
}

/// Lavalink's distortion formula, in `f64` with libm, as the reference.
fn distortion_reference(d: &minstrel_domain::filters::Distortion, x: f32) -> f32 {
    let x = f64::from(x);
    let sin = f64::from(d.sin_offset) + (x * f64::from(d.sin_scale)).sin();
    let cos = f64::from(d.cos_offset) + (x * f64::from(d.cos_scale)).cos();
    let tan = f64::from(d.tan_offset) + (x * f64::from(d.tan_scale)).tan();
    (f64::from(d.offset) + f64::from(d.scale) * sin * cos * tan).clamp(-1.0, 1.0) as f32
}

#[test]
fn distortion_maps_dc_and_tones_as_the_lavalink_formula() {
    use minstrel_domain::filters::Distortion;
    // Chosen so every output stays below the limiter's 0.9 threshold, where it is the identity.
    let distortion = Distortion {
        sin_offset: 0.1,
        sin_scale: 1.2,
        cos_offset: 0.2,
        cos_scale: 0.5,
        tan_offset: 0.3,
        tan_scale: 0.8,
        offset: 0.05,
        scale: 0.7,
    }
    .validated()
    .unwrap();
    let spec = FilterSpec {
        distortion: Some(distortion),
        ..FilterSpec::default()
    };
    for level in [-0.8f32, -0.3, 0.0, 0.25, 0.6, 0.8] {
        let input = vec![level; 2 * FRAMES_PER_BLOCK];
        let output = render(spec, 100, &input);
        let expected = distortion_reference(&distortion, level);
        assert!(
            expected.abs() < 0.9,
            "test parameters left the linear range"
        );
        for sample in &output {
            assert!(
                (sample - expected).abs() < 1e-5,
                "DC {level}: {sample} vs {expected}"
            );
        }
    }
    // A tone: memoryless, so each output sample is the formula of its input sample.
    let input = stereo_sine(440.0, 0.2, 0.8, [1.0, 0.5], SAMPLE_RATE);
    let output = render(spec, 100, &input);
    assert_eq!(output.len(), input.len());
    let worst = input
        .iter()
        .zip(&output)
        .map(|(x, y)| (distortion_reference(&distortion, *x) - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "tone: worst error {worst}");
    // It really distorts: the output of a pure tone carries a second harmonic and DC.
    let left = channel(&output, 0);
    let harmonic = component_db(&left, 880.0, 0.8);
    assert!(harmonic > -40.0, "second harmonic {harmonic} dB");
}

#[test]
fn vaporwave_lowers_pitch_lengthens_and_darkens() {
    let spec = Preset::Vaporwave.spec();
    let smoothing = spec.low_pass.unwrap().smoothing;
    let input = tone(440.0, 1.0, 0.3);
    let output = render(spec, 100, &input);
    let ratio = frames(&output) as f32 / frames(&input) as f32;
    assert!((ratio - 1.25).abs() < 0.0125, "duration ratio {ratio}");
    let pitch = estimate_pitch_hz(middle(&channel(&output, 0), 0.1), SAMPLE_RATE).unwrap();
    assert!((pitch - 352.0).abs() < 3.5, "pitch {pitch}");

    // The low-pass runs before the resampler: a tone at f leaves at 0.8·f, damped by the
    // one-pole gain at f.
    let change_db = |frequency: f32| {
        let input = tone(frequency, 1.0, 0.1);
        let output = channel(&render(spec, 100, &input), 0);
        let input = channel(&input, 0);
        let power = goertzel_power(middle(&output, 0.2), 0.8 * frequency, SAMPLE_RATE);
        let reference = goertzel_power(middle(&input, 0.2), frequency, SAMPLE_RATE);
        10.0 * (power / reference).log10()
    };
    for frequency in [200.0f32, 2_000.0, 10_000.0] {
        let measured = change_db(frequency);
        let expected = one_pole_gain_db(smoothing, frequency);
        assert!(
            (measured - expected).abs() < 0.5,
            "{frequency} Hz → {} Hz: {measured} dB vs {expected} dB",
            0.8 * frequency
        );
    }
    assert!(change_db(10_000.0) < change_db(200.0) - 8.0);
}

/// Tones one per region of the spectrum, 0.05 each (sum far below the limiter threshold).
const PROBE_HZ: [f32; 6] = [40.0, 160.0, 400.0, 1_000.0, 6_300.0, 12_000.0];

/// Level change in dB of each [`PROBE_HZ`] tone when they pass through `spec` together.
fn probe_changes_db(spec: FilterSpec) -> [f32; PROBE_HZ.len()] {
    let mut input = vec![0.0f32; 2 * SAMPLE_RATE as usize];
    for frequency in PROBE_HZ {
        for (sum, sample) in input.iter_mut().zip(tone(frequency, 1.0, 0.05)) {
            *sum += sample;
        }
    }
    let output = channel(&render(spec, 100, &input), 0);
    let input = channel(&input, 0);
    PROBE_HZ.map(|frequency| {
        let power = |signal: &[f32]| goertzel_power(middle(signal, 0.2), frequency, SAMPLE_RATE);
        10.0 * (power(&output) / power(&input)).log10()
    })
}

/// Gain in dB of the equalizer at `frequency` from its definition, computed independently of
/// the engine: `|1 + 4 · Σ gain_b · H_b(e^jω)|` with `H_b` the RBJ constant-peak band-pass
/// `α·(1 − z⁻²) / ((1 + α) − 2·cos ω_b·z⁻¹ + (1 − α)·z⁻²)`, `α = sin ω_b / 2Q`.
fn equalizer_gain_db(equalizer: Equalizer, frequency: f32) -> f32 {
    let multiply = |(a, b): (f64, f64), (c, d): (f64, f64)| (a * c - b * d, a * d + b * c);
    let divide = |(a, b): (f64, f64), (c, d): (f64, f64)| {
        let norm = c * c + d * d;
        ((a * c + b * d) / norm, (b * c - a * d) / norm)
    };
    let rate = f64::from(SAMPLE_RATE);
    let omega = std::f64::consts::TAU * f64::from(frequency) / rate;
    let z1 = (omega.cos(), -omega.sin()); // z⁻¹ on the unit circle
    let z2 = multiply(z1, z1);
    let mut total = (1.0f64, 0.0f64);
    for (gain, centre) in equalizer
        .gains()
        .iter()
        .zip(minstrel_domain::filters::EQ_BANDS_HZ)
    {
        let centre_omega = std::f64::consts::TAU * f64::from(centre) / rate;
        let alpha = centre_omega.sin() / (2.0 * crate::EQUALIZER_BAND_Q);
        let numerator = (alpha * (1.0 - z2.0), -alpha * z2.1);
        let denominator = (
            1.0 + alpha - 2.0 * centre_omega.cos() * z1.0 + (1.0 - alpha) * z2.0,
            -2.0 * centre_omega.cos() * z1.1 + (1.0 - alpha) * z2.1,
        );
        let band = divide(numerator, denominator);
        total.0 += 4.0 * f64::from(*gain) * band.0;
        total.1 += 4.0 * f64::from(*gain) * band.1;
    }
    (10.0 * (total.0 * total.0 + total.1 * total.1).log10()) as f32
}

/// Every probe tone through an equalizer preset moves by what the band formula predicts.
fn assert_probes_follow_the_equalizer(preset: Preset) -> [f32; PROBE_HZ.len()] {
    let equalizer = preset.spec().equalizer.unwrap();
    let changes = probe_changes_db(preset.spec());
    for (frequency, measured) in PROBE_HZ.iter().zip(changes) {
        let expected = equalizer_gain_db(equalizer, *frequency);
        assert!(
            (measured - expected).abs() < 0.3,
            "{preset}, {frequency} Hz: {measured} dB vs {expected} dB"
        );
    }
    changes
}

#[test]
fn treble_brightens_the_highs_and_leaves_the_lows() {
    let [low, lower_mid, mid, one_k, presence, air] =
        assert_probes_follow_the_equalizer(Preset::Treble);
    for (name, change) in [("40 Hz", low), ("160 Hz", lower_mid), ("400 Hz", mid)] {
        assert!(
            change.abs() < 0.5,
            "40–400 Hz untouched: {name} {change} dB"
        );
    }
    // Band 12 (6.3 kHz) alone at 0.25 gives 1 + 4·0.25 = +6 dB at its centre; neighbours add.
    let band_12 = dbfs(equalizer_centre_gain(0.25));
    assert!(presence > band_12, "6.3 kHz: {presence} dB");
    assert!(air > 5.0, "12 kHz: {air} dB");
    assert!(
        one_k < presence - 5.0,
        "1 kHz {one_k} dB, 6.3 kHz {presence} dB"
    );
}

#[test]
fn pop_lifts_the_low_mids_over_the_highs() {
    let [_, lower_mid, mid, one_k, presence, air] = assert_probes_follow_the_equalizer(Preset::Pop);
    // Bands 4 (160 Hz) and 5 at +0.15: at least band 4's own +4.1 dB.
    let band_4 = dbfs(equalizer_centre_gain(0.15));
    assert!(lower_mid > band_4, "160 Hz: {lower_mid} dB");
    assert!(mid > band_4, "400 Hz: {mid} dB");
    for (name, change) in [("1 kHz", one_k), ("6.3 kHz", presence), ("12 kHz", air)] {
        assert!(
            change < lower_mid - 3.0,
            "{name} {change} dB should stay well under 160 Hz {lower_mid} dB"
        );
    }
    assert!(air.abs() < 0.5, "12 kHz: {air} dB");
}

#[test]
fn soft_damps_the_highs_by_the_one_pole_gain() {
    let spec = Preset::Soft.spec();
    let smoothing = spec.low_pass.unwrap().smoothing;
    let changes = probe_changes_db(spec);
    for (frequency, measured) in PROBE_HZ.iter().zip(changes) {
        let expected = one_pole_gain_db(smoothing, *frequency);
        assert!(
            (measured - expected).abs() < 0.3,
            "{frequency} Hz: {measured} dB vs {expected} dB"
        );
    }
    let [low, .., air] = changes;
    assert!(low > -0.5 && air < -15.0, "40 Hz {low} dB, 12 kHz {air} dB");
}

/// Deterministic white noise in −0.5 ..= 0.5 (xorshift32), for the kernels' own tests.
pub(crate) fn white_noise(seed: u32) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        #[allow(clippy::cast_precision_loss)]
        let value = state as f32 / u32::MAX as f32 - 0.5;
        value
    }
}
