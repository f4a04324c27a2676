//! The binary as a user runs it: no tokens, a script piped into the console front-end, audio
//! recorded to a WAV file. Measures the recorded signal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use minstrel_testkit::audio::{Wav, goertzel_power, rms};
use minstrel_testkit::process::{BotBuilder, Stream};

const RATE: u32 = 48_000;

/// A stereo 16-bit WAV of `seconds` of a sine at `frequency` Hz, at half scale.
fn write_tone(path: &Path, frequency: f32, seconds: u32) {
    minstrel_testkit::audio::write_tone(path, seconds, frequency, 0.5 * 32_767.0);
}

/// Left channel of a stereo WAV as f32, and its sample rate.
fn read_left(path: &Path) -> (Vec<f32>, u32) {
    let wav = Wav::open(path);
    assert_eq!(wav.spec.channels, 2);
    (wav.channel(0), wav.spec.sample_rate)
}

struct Run {
    stdout: String,
    stderr: String,
    output: PathBuf,
    _dir: tempfile::TempDir,
}

/// Runs `script` with loudness normalisation off, so the recorded level is the file's own.
fn run_script(script: &str, output_setting: impl Fn(&Path) -> String) -> Run {
    run_script_with(
        script,
        output_setting,
        &[("MINSTREL_NORMALISATION", "false")],
    )
}

fn run_script_with(
    script: &str,
    output_setting: impl Fn(&Path) -> String,
    extra_env: &[(&str, &str)],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 440.0, 2);
    let output = dir.path().join("out.wav");
    // A hang is a failure, not a stuck CI run.
    let result = crate::minstrel()
        .working_dir(dir.path())
        .library_dir(&library)
        .local_search()
        .output(output_setting(&output))
        .log("warn")
        .envs(extra_env.iter().copied())
        .stdin_text(script)
        .run(Duration::from_mins(1));
    let (stdout, stderr) = (result.stdout, result.stderr);
    assert!(
        result.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        result.status
    );
    Run {
        stdout,
        stderr,
        output,
        _dir: dir,
    }
}

#[test]
fn piped_play_filter_quit_records_nightcore_audio() {
    let run = run_script("play tone.wav\nfilter nightcore\nquit\n", |path| {
        path.display().to_string()
    });
    assert!(
        run.stdout.contains("playing tone"),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout.contains("filters: nightcore"),
        "stdout:\n{}",
        run.stdout
    );
    let (left, rate) = read_left(&run.output);
    assert_eq!(rate, RATE);
    #[allow(clippy::cast_precision_loss)]
    let seconds = left.len() as f32 / RATE as f32;
    // 2 s at rate 1.25 is 1.6 s; the filter lands a block or two after the start.
    assert!((1.55..=1.75).contains(&seconds), "recorded {seconds} s");
    let tail = &left[left.len() / 4..left.len() * 3 / 4];
    assert!(rms(tail) > 0.2, "silent output: rms {}", rms(tail));
    let at_550 = goertzel_power(tail, 550.0, rate);
    let at_440 = goertzel_power(tail, 440.0, rate);
    assert!(
        at_550 > 100.0 * at_440,
        "pitch not raised: 550 Hz {at_550}, 440 Hz {at_440}"
    );
}

#[test]
fn fast_render_without_filters_keeps_length_and_pitch() {
    let run = run_script("play tone\nquit\n", |path| {
        format!("fast:{}", path.display())
    });
    let (left, rate) = read_left(&run.output);
    #[allow(clippy::cast_precision_loss)]
    let seconds = left.len() as f32 / RATE as f32;
    assert!(
        (1.98..=2.02).contains(&seconds),
        "recorded {seconds} s\n{}",
        run.stdout
    );
    let middle = &left[left.len() / 4..left.len() * 3 / 4];
    assert!(goertzel_power(middle, 440.0, rate) > 100.0 * goertzel_power(middle, 550.0, rate));
    assert!(
        (rms(middle) - 0.5 / 2f32.sqrt()).abs() < 0.05,
        "rms {}",
        rms(middle)
    );
}

#[test]
fn normalisation_is_on_by_default_and_turns_a_loud_tone_down() {
    let render = |extra_env: &[(&str, &str)]| {
        let run = run_script_with(
            "play tone.wav\nquit\n",
            |path| format!("fast:{}", path.display()),
            extra_env,
        );
        let (left, _) = read_left(&run.output);
        rms(&left[left.len() / 4..left.len() * 3 / 4])
    };
    let untouched = render(&[("MINSTREL_NORMALISATION", "false")]);
    let normalised = render(&[]);
    // A 440 Hz sine at half scale on both channels measures about -6.5 LUFS; -14 LUFS is
    // about 7.5 dB lower (a ratio of about 0.42). Allow for the K-weighting estimate.
    let ratio = normalised / untouched;
    assert!((0.3..=0.55).contains(&ratio), "level ratio {ratio}");
    let quieter = render(&[("MINSTREL_LOUDNESS_TARGET", "-20")]);
    let step_db = 20.0 * (normalised / quieter).log10();
    assert!(
        (5.0..=7.0).contains(&step_db),
        "6 dB lower target gave {step_db} dB"
    );
}

#[test]
fn bad_input_gets_a_friendly_reply_and_nothing_crashes() {
    let run = run_script(
        "play ../../etc/passwd\nplay no such song\nvolume 500\nfrobnicate\nskip\nquit\n",
        |_| "null".to_owned(),
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("error:") && line.contains("library")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("nothing found for \"no such song\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("volume must be between 0 and 200 % (got 500)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("unknown command \"frobnicate\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("error: nothing is playing"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_killed_bot_brings_its_queue_back_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 440.0, 30);
    write_tone(&library.join("high.wav"), 880.0, 1);
    let start = || {
        crate::minstrel()
            .working_dir(dir.path())
            .library_dir(&library)
            .output("null-realtime")
            .log("warn")
    };

    // First life: two tracks queued, then killed without any chance to clean up.
    let mut first = start().stdin_piped().spawn();
    first.write_stdin(b"play tone.wav\nplay high.wav\n");
    first.wait_for_line_blocking(Stream::Stdout, Duration::from_mins(1), |line| {
        line.contains("high")
    });
    drop(first);

    // Second life: the queue is there before anything is typed.
    let second = start()
        .stdin_text("queue\nstop\nquit\n")
        .run(Duration::from_mins(1));
    let stdout = &second.stdout;
    assert!(second.status.success(), "{stdout}");
    assert!(stdout.contains("now: tone"), "{stdout}");
    assert!(stdout.contains("1. high"), "{stdout}");
}

/// The crash-loop guard, through the real binary and its `SQLite` database: the bot is killed
/// during a track, then restarted and killed during the restored track twice more. The third
/// restart does not bring that track back (a file that kills the process would kill it on every
/// start): the next track plays and the log says why.
#[test]
fn a_track_the_bot_dies_during_twice_after_restarts_is_dropped_at_the_third() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone.wav"), 440.0, 30);
    write_tone(&library.join("high.wav"), 880.0, 30);
    let start = || {
        crate::minstrel()
            .working_dir(dir.path())
            .library_dir(&library)
            .output("null-realtime")
            .log("warn")
    };
    // Types `script`, waits for a reply line containing `wanted`, then kills the process.
    let kill_after = |script: &[u8], wanted: &str| {
        let mut bot = start().stdin_piped().spawn();
        bot.write_stdin(script);
        bot.wait_for_line_blocking(Stream::Stdout, Duration::from_mins(1), |line| {
            line.contains(wanted)
        });
    };

    // The original run dies during the track; two restarts bring it back and die during it.
    kill_after(b"play tone.wav\nplay high.wav\n", "high");
    kill_after(b"queue\n", "now: tone");
    kill_after(b"queue\n", "now: tone");

    // The third restart drops it and plays the next one.
    let output = start()
        .stdin_text("queue\nstop\nquit\n")
        .run(Duration::from_mins(1));
    let (stdout, stderr) = (&output.stdout, &output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("now: high"), "{stdout}\n{stderr}");
    assert!(!stdout.contains("now: tone"), "{stdout}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("dropped the restored track"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(
        notices[0].contains("WARN") && notices[0].contains("tone"),
        "{stderr}"
    );
}

#[test]
fn doctor_passes_on_defaults_and_names_a_database_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    let doctor = |database_url: &str| {
        crate::minstrel()
            .arg("doctor")
            .working_dir(dir.path())
            .env_remove("MINSTREL_REDIS_URL")
            .library_dir(&dir.path().join("music"))
            .env("MINSTREL_DATABASE_URL", database_url)
            .log("warn")
            .run(Duration::from_mins(1))
    };
    let healthy = doctor("sqlite://doctor.db");
    let said = &healthy.stdout;
    assert!(healthy.status.success(), "{said}");
    assert!(said.contains("ok      database"), "{said}");
    assert!(said.contains("all checks passed"), "{said}");

    // Port 9 on loopback: nothing listens there.
    let broken = doctor("postgres://minstrel:hunter2@127.0.0.1:9/nowhere");
    let said = &broken.stdout;
    assert!(!broken.status.success(), "{said}");
    assert!(said.contains("problem database"), "{said}");
    assert!(!said.contains("hunter2"), "the password is shown: {said}");
    assert!(!broken.stderr.contains("hunter2"));
}

/// The bot in console mode in `dir`, its library `dir/music`.
fn console_in(dir: &Path) -> BotBuilder {
    crate::minstrel()
        .working_dir(dir)
        .library_dir(&dir.join("music"))
        .output("null")
        .log("warn")
        .local_search()
}

#[test]
fn a_file_name_or_a_query_cannot_forge_a_reply_line() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("music");
    std::fs::create_dir(&library).unwrap();
    write_tone(&library.join("tone\nerror: forged reply.wav"), 440.0, 1);
    let output = console_in(dir.path())
        .stdin_text("play tone\nplay gone\u{1b}[2J\u{2028}error: forged too\nquit\n")
        .run(Duration::from_mins(1));
    let stdout = &output.stdout;
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("forged reply"),
        "the track was not played: {stdout}"
    );
    assert!(stdout.contains("nothing found for"), "{stdout}");
    for line in stdout.lines() {
        assert!(
            !line.starts_with("error: forged"),
            "a forged line: {stdout}"
        );
    }
    assert!(!stdout.contains('\u{1b}'), "an escape sequence: {stdout:?}");
    assert!(!stdout.contains('\u{2028}'), "a line separator: {stdout:?}");
}

#[test]
fn the_console_stops_on_sigterm_within_2_s_while_stdin_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    // Stdin stays open: the pipe's writer lives as long as the BotProcess does.
    let mut bot = console_in(dir.path()).stdin_piped().spawn();
    bot.write_stdin(b"help\n");
    // The reply to `help` comes from the console loop, which has the signal handlers installed
    // by then.
    bot.wait_for_line_blocking(Stream::Stdout, Duration::from_mins(1), |line| {
        line.contains("play")
    });
    bot.terminate();
    let status = bot.wait(Duration::from_secs(2));
    assert!(status.success(), "{status:?}\n{}", bot.stderr());
}

/// What `minstrel args…` printed (stdout and stderr) and whether it succeeded.
fn minstrel_says(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = console_in(dir)
        .args(args)
        .envs(env.iter().copied())
        .run(Duration::from_mins(1));
    let said = output.said();
    (output.status.success(), said)
}

#[test]
fn no_configuration_check_or_startup_error_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    // A database URL the configuration check refuses: it is named without its password.
    let (ok, said) = minstrel_says(
        dir.path(),
        &["doctor"],
        &[(
            "MINSTREL_DATABASE_URL",
            "mysql://minstrel:hunter2@db.internal/x",
        )],
    );
    assert!(!ok && said.contains("MINSTREL_DATABASE_URL"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    // A URL the driver cannot parse (its message quotes the URL), for the check and a start.
    for command in ["doctor", "migrate"] {
        let (ok, said) = minstrel_says(
            dir.path(),
            &[command],
            &[(
                "MINSTREL_DATABASE_URL",
                "postgres://minstrel:hunter2@127.0.0.1:notaport/x",
            )],
        );
        assert!(!ok, "{command}: {said}");
        assert!(said.contains("database"), "{command}: {said}");
        assert!(!said.contains("hunter2"), "{command}: {said}");
    }
    // A TOML syntax error on the line that holds the token.
    std::fs::write(
        dir.path().join("minstrel.toml"),
        "log = \"warn\"\ndiscord_token = \"MTIzNDU2.secret-token-value\n",
    )
    .unwrap();
    let (ok, said) = minstrel_says(dir.path(), &["doctor"], &[]);
    assert!(!ok && said.contains("minstrel.toml"), "{said}");
    assert!(said.contains("line 2"), "{said}");
    assert!(!said.contains("secret-token-value"), "{said}");
}

#[test]
fn a_shard_total_past_the_bound_is_refused_with_a_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    let (ok, said) = minstrel_says(
        dir.path(),
        &[
            "run",
            "--shards",
            "0-4294967293",
            "--shard-total",
            "4294967295",
        ],
        &[("MINSTREL_REDIS_URL", "redis://127.0.0.1:1")],
    );
    assert!(!ok, "{said}");
    assert!(
        said.contains("--shard-total (MINSTREL_SHARD_TOTAL) must be between 1 and 65536"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one sentence: {said}");
}

#[test]
fn a_named_configuration_file_must_exist_and_an_empty_ops_address_is_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    let (ok, said) = minstrel_says(
        dir.path(),
        &["doctor"],
        &[("MINSTREL_CONFIG", "/nonexistent/minstrel.toml")],
    );
    assert!(!ok && said.contains("does not exist"), "{said}");
    let (ok, said) = minstrel_says(dir.path(), &["doctor"], &[("MINSTREL_HTTP_ADDR", "")]);
    assert!(ok, "{said}");
}

/// INFO lines a start and a `quit` of the console may log: what runs and where (the start-up
/// line, the database, the ops endpoint, the front-end) and no more.
const MOST_INFO_LINES_AT_START: usize = 4;

#[test]
fn a_start_tells_what_runs_in_a_few_info_lines_and_leaves_migrations_to_debug() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("music")).unwrap();
    // A fresh database (the default `minstrel.db` in `dir`): every migration is applied.
    let started = |log: &str| {
        let output = console_in(dir.path())
            .log(log)
            .env("MINSTREL_HTTP_ADDR", "127.0.0.1:0")
            .env_remove("MINSTREL_REDIS_URL")
            .stdin_text("quit\n")
            .run(Duration::from_mins(1));
        let stderr = output.stderr;
        assert!(output.status.success(), "{stderr}");
        stderr
    };

    let first = started("info");
    let info: Vec<&str> = first
        .lines()
        .filter(|line| line.contains(" INFO "))
        .collect();
    assert!(
        info.len() <= MOST_INFO_LINES_AT_START,
        "{} INFO lines:\n{first}",
        info.len()
    );
    assert!(
        info[0].contains("minstrel starting")
            && info[0].contains(env!("CARGO_PKG_VERSION"))
            && info[0].contains("console")
            && info[0].contains("sqlite://minstrel.db"),
        "{first}"
    );
    assert!(!first.contains("sea_orm_migration"), "{first}");
    let ops: Vec<&&str> = info
        .iter()
        .filter(|line| line.contains("ops endpoint"))
        .collect();
    assert_eq!(ops.len(), 1, "{first}");
    assert!(
        !ops[0].trim_end().ends_with(":0"),
        "not the bound port: {first}"
    );

    // The details are there for whoever asks: the migrations were applied at the first start,
    // so the second finds none pending and says so at debug.
    let second = started("debug");
    assert!(second.contains("sea_orm_migration"), "{second}");
}
