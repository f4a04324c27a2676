//! `minstrel render` as a user runs it: a generated WAV in, a WAV out, and the signal measured
//! (duration, pitch, level); bad input must end in one friendly line, never a panic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use minstrel_testkit::audio::{Wav, estimate_pitch_hz, rms};
use minstrel_testkit::process::Finished;

const RATE: u32 = 48_000;

/// A stereo 16-bit WAV of `seconds` of a sine at `frequency` Hz, at half scale.
fn write_tone(path: &Path, frequency: f32, seconds: u32) {
    minstrel_testkit::audio::write_tone(path, seconds, frequency, 0.5 * 32_767.0);
}

/// The rendered file as `(left, right)` in `f32`, after checking the format render promises.
fn read_stereo(path: &Path) -> (Vec<f32>, Vec<f32>) {
    let wav = Wav::open(path);
    assert_eq!(wav.spec.channels, 2, "render writes stereo");
    assert_eq!(wav.spec.sample_rate, RATE, "render writes 48 kHz");
    (wav.channel(0), wav.channel(1))
}

/// The rendered file's left channel.
fn read_left(path: &Path) -> Vec<f32> {
    read_stereo(path).0
}

#[allow(clippy::cast_precision_loss)]
fn seconds(samples: &[f32]) -> f64 {
    samples.len() as f64 / f64::from(RATE)
}

/// The middle of a signal, without `edge` seconds at either end (filter and stretch edges).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn middle(samples: &[f32], edge: f64) -> &[f32] {
    let skip = (edge * f64::from(RATE)) as usize;
    &samples[skip..samples.len() - skip]
}

/// The pitch of `samples` (panics when there is none).
fn pitch_hz(samples: &[f32]) -> f64 {
    f64::from(estimate_pitch_hz(samples, RATE).expect("no periodic signal found"))
}

/// Root mean square, as `f64` for the level arithmetic below.
fn level(samples: &[f32]) -> f64 {
    f64::from(rms(samples))
}

fn assert_within(what: &str, measured: f64, expected: f64, tolerance: f64) {
    assert!(
        (measured - expected).abs() <= expected * tolerance,
        "{what}: measured {measured:.4}, expected {expected} ± {:.1} %",
        tolerance * 100.0
    );
}

/// A temporary folder holding a 2 s, 440 Hz input; `render` runs there, so no configuration
/// file from the developer's working directory is picked up.
struct Workspace {
    folder: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let folder = tempfile::tempdir().unwrap();
        write_tone(&folder.path().join("in.wav"), 440.0, 2);
        Self { folder }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }

    fn render(&self, arguments: &[&str]) -> Finished {
        // The limit catches a hang; a render of a minute of audio takes seconds.
        crate::minstrel()
            .arg("render")
            .args(arguments)
            .working_dir(self.folder.path())
            .env_remove("MINSTREL_LOG")
            .run(Duration::from_mins(5))
    }

    /// Renders `input` to `out.wav` with `filters`, expects success, returns stderr.
    fn render_file(&self, input: &str, filters: &[&str]) -> String {
        let mut arguments = vec![input, "-o", "out.wav"];
        arguments.extend_from_slice(filters);
        let output = self.render(&arguments);
        let stderr = output.stderr;
        assert!(
            output.status.success(),
            "render {filters:?} failed: {stderr}"
        );
        stderr
    }

    /// Renders `in.wav` to `out.wav` with `filters`, expects success (and no progress report
    /// for this short input), returns the left channel.
    fn render_ok(&self, filters: &[&str]) -> Vec<f32> {
        let stderr = self.render_file("in.wav", filters);
        assert!(
            stderr.is_empty(),
            "a 2 s render should print nothing on stderr: {stderr}"
        );
        read_left(&self.path("out.wav"))
    }

    /// Runs a render that must fail; returns its stderr after checking it is one friendly line.
    fn render_fails(&self, arguments: &[&str]) -> String {
        let output = self.render(arguments);
        let stderr = output.stderr;
        assert!(
            !output.status.success(),
            "render {arguments:?} should fail, stderr: {stderr}"
        );
        assert_eq!(output.status.code(), Some(1), "{arguments:?}: {stderr}");
        assert!(
            !stderr.contains("panicked"),
            "{arguments:?} panicked: {stderr}"
        );
        assert!(
            !stderr.contains("RUST_BACKTRACE"),
            "{arguments:?}: {stderr}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{arguments:?} should explain itself in one line: {stderr}"
        );
        assert!(
            !self.path("out.wav").exists(),
            "{arguments:?} left an output file"
        );
        stderr
    }
}

#[test]
fn nightcore_raises_pitch_by_a_quarter_and_shortens_by_a_fifth() {
    let workspace = Workspace::new();
    let left = workspace.render_ok(&["--filter", "nightcore"]);
    assert_within("duration (s)", seconds(&left), 1.6, 0.01);
    assert_within("pitch (Hz)", pitch_hz(middle(&left, 0.1)), 550.0, 0.01);
}

#[test]
fn start_and_duration_select_the_input_before_the_filters() {
    let workspace = Workspace::new();
    let left = workspace.render_ok(&["--filter", "nightcore", "--start", "1", "--duration", "1"]);
    // One second of input, played 1.25 times faster.
    assert_within("duration (s)", seconds(&left), 0.8, 0.01);
    assert_within("pitch (Hz)", pitch_hz(middle(&left, 0.1)), 550.0, 0.01);
}

#[test]
fn speed_shortens_and_keeps_the_pitch_with_an_equalizer_on_top() {
    let workspace = Workspace::new();
    let left = workspace.render_ok(&["--eq", "0:0.2", "--timescale", "speed=1.25"]);
    assert_within("duration (s)", seconds(&left), 1.6, 0.01);
    assert_within("pitch (Hz)", pitch_hz(middle(&left, 0.1)), 440.0, 0.01);
}

#[test]
fn a_low_band_equalizer_leaves_a_440_hz_tone_alone() {
    let workspace = Workspace::new();
    let left = workspace.render_ok(&["--eq", "0:0.2"]);
    assert_within("duration (s)", seconds(&left), 2.0, 0.01);
    assert_within("pitch (Hz)", pitch_hz(middle(&left, 0.1)), 440.0, 0.01);
    // Band 0 is centred on 25 Hz, more than four octaves below the tone.
    let level_db = 20.0 * (level(middle(&left, 0.1)) / (0.5 / 2f64.sqrt())).log10();
    assert!(level_db.abs() < 0.5, "level changed by {level_db:.2} dB");
}

#[test]
fn bad_input_ends_in_one_friendly_line() {
    let workspace = Workspace::new();
    let missing = workspace.render_fails(&["missing.wav", "-o", "out.wav"]);
    assert!(missing.contains("missing.wav"), "{missing}");

    let unknown = workspace.render_fails(&["in.wav", "-o", "out.wav", "--filter", "chipmunk"]);
    assert!(unknown.contains("chipmunk"), "{unknown}");
    assert!(
        unknown.contains("nightcore"),
        "should list the presets: {unknown}"
    );

    let band = workspace.render_fails(&["in.wav", "-o", "out.wav", "--eq", "99:0.1"]);
    assert!(band.contains("99"), "{band}");

    // The input is 2 s long: starting at 5 s leaves nothing, and no empty WAV is written.
    let late = workspace.render_fails(&["in.wav", "-o", "out.wav", "--start", "5s"]);
    assert!(late.contains("past the end"), "{late}");

    let nothing = workspace.render_fails(&["in.wav", "-o", "out.wav", "--duration", "0s"]);
    assert!(nothing.contains("--duration"), "{nothing}");

    // A valid WAV with no samples in it.
    write_tone(&workspace.path("empty.wav"), 440.0, 0);
    let empty = workspace.render_fails(&["empty.wav", "-o", "out.wav"]);
    assert!(empty.contains("no audio to render"), "{empty}");

    // Not audio at all: one line from minstrel, no log line from the decoder's probe.
    std::fs::write(workspace.path("notes.txt"), "not a song\n".repeat(200)).unwrap();
    let text = workspace.render_fails(&["notes.txt", "-o", "out.wav"]);
    assert!(text.contains("notes.txt"), "{text}");
}

#[test]
fn two_filters_combine_nightcore_and_8d() {
    let workspace = Workspace::new();
    let stderr = workspace.render_file("in.wav", &["--filter", "nightcore", "--filter", "8d"]);
    assert!(stderr.is_empty(), "{stderr}");
    let (left, right) = read_stereo(&workspace.path("out.wav"));
    // Nightcore: rate 1.25 on the 2 s input.
    assert_within("duration (s)", seconds(&left), 1.6, 0.01);
    // The rotation pans a channel down to silence; the sum of both never vanishes.
    let both: Vec<f32> = left.iter().zip(&right).map(|(l, r)| l + r).collect();
    assert_within("pitch (Hz)", pitch_hz(middle(&both, 0.1)), 550.0, 0.01);
    // 8D: rotation 0.2 Hz runs before the timescale, so it is fully right a quarter period
    // (1.25 s) into the input, 1.0 s into the output; near the start it is still central.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let balance_db = |at_seconds: f64| {
        let at = (at_seconds * f64::from(RATE)) as usize;
        let window = at - 480..at + 480;
        20.0 * (level(&right[window.clone()]) / level(&left[window])).log10()
    };
    let (start, quarter) = (balance_db(0.05), balance_db(1.0));
    assert!(start.abs() < 3.0, "balance near the start: {start:.1} dB");
    assert!(
        quarter > 10.0,
        "balance at a quarter rotation: {quarter:.1} dB (only reverb should be left)"
    );
}

#[test]
fn eq_overlays_the_preset_equalizer_instead_of_replacing_it() {
    let workspace = Workspace::new();
    let level_db = |filters: &[&str]| {
        let left = workspace.render_ok(filters);
        20.0 * (level(middle(&left, 0.1)) / (0.5 / 2f64.sqrt())).log10()
    };
    // Pop lifts bands 6 (400 Hz) and 7 (630 Hz): the 440 Hz tone comes out louder.
    let pop = level_db(&["--filter", "pop"]);
    assert!(pop > 1.5, "pop at 440 Hz: {pop:.2} dB");
    // Band 0 (25 Hz) on top changes nothing at 440 Hz; replacing pop's bands would drop ~pop dB.
    let overlaid = level_db(&["--filter", "pop", "--eq", "0:0.2"]);
    assert!(
        (overlaid - pop).abs() < 0.1,
        "pop + band 0: {overlaid:.2} dB vs pop {pop:.2} dB"
    );
    // Overriding pop's own bands near the tone does take effect.
    let flattened = level_db(&["--filter", "pop", "--eq", "5:0,6:0,7:0"]);
    assert!(
        flattened < pop - 1.0,
        "pop without bands 5-7: {flattened:.2} dB vs {pop:.2} dB"
    );
}

/// The `rendering … %` lines of a report written to a pipe (one line per 10 %).
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn long_renders_report_progress_on_stderr() {
    let workspace = Workspace::new();
    write_tone(&workspace.path("long.wav"), 440.0, 65);

    // The file's own duration is the total.
    let stderr = workspace.render_file("long.wav", &[]);
    let lines = progress_lines(&stderr);
    assert_eq!(lines.len(), 11, "0 %, 10 %, …, 100 %: {stderr}");
    assert_eq!(lines[0], "rendering   0 % (0:00 / 1:05)");
    assert_eq!(lines[5], "rendering  50 % (0:32 / 1:05)");
    assert_eq!(lines[10], "rendering 100 % (1:05 / 1:05)");

    // --duration shortens the total.
    let stderr = workspace.render_file("long.wav", &["--duration", "62s"]);
    assert_eq!(
        progress_lines(&stderr).last(),
        Some(&"rendering 100 % (1:02 / 1:02)"),
        "{stderr}"
    );

    // 55 s left after --start: a short render, no report.
    let stderr = workspace.render_file("long.wav", &["--start", "10s"]);
    assert!(stderr.is_empty(), "{stderr}");
    assert_within(
        "duration (s)",
        seconds(&read_left(&workspace.path("out.wav"))),
        55.0,
        0.01,
    );
}
