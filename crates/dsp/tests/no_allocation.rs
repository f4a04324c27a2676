//! The per-block path allocates and frees nothing, filter and volume changes included.
//!
//! `allocation-counter` is this test binary's global allocator; it counts the heap operations of
//! the calling thread only, so the test harness's other threads cannot disturb a measurement.
//! The "control side" (`set_filters`, `set_volume`) runs outside the measured closures, as it
//! does in the player (a command handler); everything the audio thread does (`push`, `pull`,
//! `finish`, `reset`) runs inside them.

use minstrel_domain::filters::{Equalizer, FilterSpec, Preset, Reverb, Timescale};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};

/// Heap operations `run` performs on this thread: allocations (reallocations count as one
/// allocation and one free) and the net count, negative when it freed memory allocated before.
fn heap_operations(run: impl FnOnce()) -> (u64, i64) {
    let info = allocation_counter::measure(run);
    (info.count_total, info.count_current)
}

#[allow(clippy::cast_precision_loss)]
fn music(blocks: usize) -> Vec<f32> {
    let frames = blocks * FRAMES_PER_BLOCK;
    let mut samples = Vec::with_capacity(frames * CHANNELS);
    for frame in 0..frames {
        let time = frame as f32 / SAMPLE_RATE as f32;
        let chord = (std::f32::consts::TAU * 220.0 * time).sin()
            + 0.7 * (std::f32::consts::TAU * 329.63 * time).sin();
        samples.extend_from_slice(&[0.3 * chord, 0.25 * chord]);
    }
    samples
}

/// Streams `blocks` blocks through `chain` the way a player does, pulling everything.
fn stream(chain: &mut FilterChain, input: &[f32], out: &mut [f32]) {
    for block in input.chunks(FRAMES_PER_BLOCK * CHANNELS) {
        chain.push(block);
        while chain.pull(out) > 0 {}
    }
}

fn changes() -> Vec<(&'static str, FilterSpec)> {
    let mut every = Preset::EightD.spec();
    every.equalizer = Some(Equalizer::new([0.2; 15]).expect("valid gains"));
    every.timescale = Some(Timescale::new(1.1, 1.2, 0.9).expect("valid timescale"));
    every.karaoke = Preset::Karaoke.spec().karaoke;
    every.reverb = Some(Reverb {
        room_size: 0.8,
        damping: 0.3,
        wet: 0.4,
    });
    let extreme_slow = FilterSpec {
        timescale: Some(Timescale::new(0.1, 1.0, 0.1).expect("valid timescale")),
        ..FilterSpec::default()
    };
    vec![
        ("nightcore", Preset::Nightcore.spec()),
        ("vaporwave", Preset::Vaporwave.spec()),
        ("8d", Preset::EightD.spec()),
        ("slow", Preset::Slow.spec()),
        ("pop equalizer", Preset::Pop.spec()),
        ("karaoke", Preset::Karaoke.spec()),
        ("bass boost", Preset::BassBoostExtreme.spec()),
        ("every filter", every),
        ("timescale 0.1 × 0.1", extreme_slow),
        ("none", FilterSpec::default()),
        (
            "volume filter only",
            FilterSpec {
                volume: Some(2.0),
                ..FilterSpec::default()
            },
        ),
    ]
}

#[test]
fn filter_and_volume_changes_do_not_allocate_on_the_audio_thread() {
    assert!(
        heap_operations(|| drop(std::hint::black_box(vec![1u8; 16]))).0 > 0,
        "the counting allocator is not installed, so this test would prove nothing"
    );
    // 1.2 s per setting: long enough for the time-stretcher's buffers to reach their full size
    // even at the extreme tempos.
    let input = music(60);
    let control = FilterControl::new(FilterSpec::default(), 100);
    let mut chain = FilterChain::new(control.clone());
    let mut out = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    // Steady state first: a neutral chain never allocates either.
    stream(&mut chain, &input, &mut out);
    assert_eq!(
        heap_operations(|| stream(&mut chain, &input, &mut out)),
        (0, 0),
        "steady state"
    );
    for (volume, (name, spec)) in (50u16..).step_by(37).zip(changes()) {
        // Control side: builds the new engine (and frees the ones handed back).
        control.set_filters(spec);
        control.set_volume(volume);
        // Audio side: picks the change up, warms, cross-fades, hands the old engine back and
        // runs on with the new filters.
        let counted = heap_operations(|| stream(&mut chain, &input, &mut out));
        assert_eq!(
            counted,
            (0, 0),
            "change to {name}: (allocations, net count)"
        );
    }
    // A seek and the end of a track are audio-side too.
    let counted = heap_operations(|| {
        chain.reset();
        stream(&mut chain, &input, &mut out);
        chain.finish();
        while chain.pull(&mut out) > 0 {}
    });
    assert_eq!(counted, (0, 0), "reset and finish");
}

#[test]
fn changes_apply_and_old_engines_are_freed_on_the_control_side() {
    let input = music(6);
    let control = FilterControl::new(FilterSpec::default(), 100);
    let mut chain = FilterChain::new(control.clone());
    let mut out = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    stream(&mut chain, &input, &mut out);
    control.set_filters(Preset::Reverb.spec());
    stream(&mut chain, &input, &mut out);
    // The reverb engine's predecessor went back to the exchange; the next change (here a
    // volume change) frees it, on the control side.
    let (_, net) = heap_operations(|| control.set_volume(100));
    assert!(
        net < 0,
        "the replaced engine was not freed by the control side (net {net})"
    );
    control.set_filters(FilterSpec::default());
    // The change took effect: a neutral chain passes a block through unchanged.
    stream(&mut chain, &input, &mut out);
    let block = &input[..FRAMES_PER_BLOCK * CHANNELS];
    chain.push(block);
    let written = chain.pull(&mut out);
    assert_eq!(written, block.len());
    let error = out[..written]
        .iter()
        .zip(block)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(error < 1e-4, "neutral chain error {error}");
}
