//! `minstrel render`: decode any supported file, run it through the filter chain and write a
//! 48 kHz stereo WAV. The same decoder and chain as playback, so what you hear here is what the
//! bot plays.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use minstrel_app::ports::PcmStream;
use minstrel_domain::filters::{Equalizer, FilterSpec, Preset, Timescale};
use minstrel_domain::track::{format_duration, parse_duration};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};
use minstrel_sources::{SymphoniaStream, probe_info};

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// The audio file to render (wav, mp3, flac, ogg, m4a, …).
    input: PathBuf,
    /// The WAV file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// A preset; repeat to combine (`--filter nightcore --filter 8d`). `minstrel render --list`
    /// is not needed: an unknown name lists the presets.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Equalizer bands as band:gain pairs, e.g. `0:0.2,1:0.15`.
    #[arg(long)]
    eq: Option<String>,
    /// Timescale as key=value pairs, e.g. `speed=1.1,pitch=1.0,rate=1.0`.
    #[arg(long)]
    timescale: Option<String>,
    /// Player volume in percent (0–200).
    #[arg(long, default_value_t = 100)]
    volume: u16,
    /// Where to start, e.g. `30s` or `1:30`.
    #[arg(long)]
    start: Option<String>,
    /// How much of the input to render, e.g. `15s`.
    #[arg(long)]
    duration: Option<String>,
}

fn parse_time(text: Option<&String>, what: &str) -> anyhow::Result<Option<Duration>> {
    text.map(|text| {
        parse_duration(text)
            .with_context(|| format!("--{what} \"{text}\" is not a time (try 30s, 1:30 or 90)"))
    })
    .transpose()
}

/// `--eq band:gain,…` on top of the presets' equalizer: the bands typed replace those bands,
/// every other band keeps the presets' gain (`--filter pop --eq 13:0.2` is pop plus band 13).
fn overlay_equalizer(base: Option<Equalizer>, text: &str) -> anyhow::Result<Equalizer> {
    let mut bands = Vec::new();
    for pair in text.split(',').filter(|pair| !pair.trim().is_empty()) {
        let (band, gain) = pair
            .split_once(':')
            .with_context(|| format!("--eq \"{pair}\" must look like band:gain, e.g. 0:0.2"))?;
        bands.push((
            band.trim()
                .parse()
                .with_context(|| format!("--eq band \"{band}\" is not a number"))?,
            gain.trim()
                .parse()
                .with_context(|| format!("--eq gain \"{gain}\" is not a number"))?,
        ));
    }
    // Validates band numbers and gains with the domain's own messages.
    Equalizer::from_bands(&bands)?;
    let mut gains = base.unwrap_or_default().gains();
    for (band, gain) in bands {
        gains[band] = gain;
    }
    Ok(Equalizer::new(gains)?)
}

/// `--timescale key=value,…` on top of the presets' timescale: the keys typed replace those
/// values, the others are kept (`--filter nightcore --timescale speed=1.1` keeps rate 1.25).
fn overlay_timescale(base: Option<Timescale>, text: &str) -> anyhow::Result<Timescale> {
    let Timescale {
        mut speed,
        mut pitch,
        mut rate,
    } = base.unwrap_or_default();
    for pair in text.split(',').filter(|pair| !pair.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--timescale \"{pair}\" must look like speed=1.1"))?;
        let value: f32 = value
            .trim()
            .parse()
            .with_context(|| format!("--timescale value \"{value}\" is not a number"))?;
        match key.trim() {
            "speed" => speed = value,
            "pitch" => pitch = value,
            "rate" => rate = value,
            other => bail!("--timescale knows speed, pitch and rate, not \"{other}\""),
        }
    }
    Ok(Timescale::new(speed, pitch, rate)?)
}

fn build_spec(args: &RenderArgs) -> anyhow::Result<FilterSpec> {
    let mut spec = FilterSpec::default();
    for name in &args.filters {
        spec = spec.merged_with(&Preset::parse(name)?.spec());
    }
    if let Some(eq) = &args.eq {
        spec.equalizer = Some(overlay_equalizer(spec.equalizer, eq)?);
    }
    if let Some(timescale) = &args.timescale {
        spec.timescale = Some(overlay_timescale(spec.timescale, timescale)?);
    }
    Ok(spec)
}

pub(crate) fn run(args: &RenderArgs) -> anyhow::Result<()> {
    if args.volume > 200 {
        bail!("--volume must be between 0 and 200 (got {})", args.volume);
    }
    let spec = build_spec(args)?;
    let start = parse_time(args.start.as_ref(), "start")?.unwrap_or_default();
    let limit = parse_time(args.duration.as_ref(), "duration")?;
    if limit.is_some_and(|limit| limit.is_zero()) {
        bail!("--duration must be longer than 0 s");
    }
    // Checked before the stream opens, so a start past the end is refused before any seek.
    let file_duration = probe_info(&args.input).ok().and_then(|info| info.duration);
    if let Some(duration) = file_duration
        && !start.is_zero()
        && start >= duration
    {
        bail!(
            "--start {} is past the end of {} ({} long)",
            format_duration(start),
            args.input.display(),
            format_duration(duration)
        );
    }
    let mut stream = SymphoniaStream::open_file(&args.input, start)
        .with_context(|| format!("could not open {}", args.input.display()))?;
    let limit_frames = limit.map(duration_to_frames);
    // What will be rendered, when the file says how long it is: the progress report's 100 %.
    let file_frames =
        file_duration.map(|duration| duration_to_frames(duration.saturating_sub(start)));
    let expected_frames = match (limit_frames, file_frames) {
        (Some(limit), Some(file)) => Some(limit.min(file)),
        (limit, file) => limit.or(file),
    };
    let spec_wav = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&args.output, spec_wav)
        .with_context(|| format!("could not create {}", args.output.display()))?;
    let mut chain = FilterChain::new(FilterControl::new(spec, args.volume));
    let mut input = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS];
    let mut output = vec![0.0f32; FRAMES_PER_BLOCK * CHANNELS * 4];
    let mut frames_read: u64 = 0;
    let mut progress = Progress::new(expected_frames, std::io::stderr().is_terminal());
    loop {
        let wanted = limit_frames.map_or(input.len(), |total| {
            let left = total.saturating_sub(frames_read) * CHANNELS as u64;
            usize::try_from(left).unwrap_or(usize::MAX).min(input.len())
        });
        if wanted == 0 {
            break;
        }
        let read = stream
            .read(&mut input[..wanted])
            .with_context(|| format!("could not decode {}", args.input.display()))?;
        if read == 0 {
            break;
        }
        frames_read += (read / CHANNELS) as u64;
        chain.push(&input[..read]);
        write_all(&mut chain, &mut output, &mut writer)?;
        progress.update(frames_read);
    }
    chain.finish();
    write_all(&mut chain, &mut output, &mut writer)?;
    writer.finalize().context("could not finish the WAV file")?;
    if frames_read == 0 {
        // A file whose length the probe could not tell, started past its end, or one with
        // no audio at all: say so rather than leave an empty WAV behind.
        std::fs::remove_file(&args.output).ok();
        let after = if start.is_zero() {
            String::new()
        } else {
            format!(" after {}", format_duration(start))
        };
        bail!("{} has no audio to render{after}", args.input.display());
    }
    progress.finish(frames_read);
    println!("wrote {}", args.output.display());
    Ok(())
}

/// Inputs longer than this get a progress report on stderr; shorter ones render silently.
const LONG_INPUT: Duration = Duration::from_mins(1);

/// The progress report of a long render, on stderr (stdout carries only the result line).
///
/// With a known length (`--duration` or the file's own duration) it shows the percentage and
/// the position, `rendering  42 % (1:03 / 2:30)`; without one, the seconds of input rendered.
/// On a terminal one line is rewritten in place at every percent (every 5 s of input without a
/// length); into a file or pipe a new line is written every 10 % (every 30 s), so logs stay
/// short.
struct Progress {
    /// Frames the render will read, when known.
    expected_frames: Option<u64>,
    terminal: bool,
    /// Whether anything has been printed (the render turned out to be long).
    shown: bool,
    /// The last step reported: a percentage, or seconds of input when the length is unknown.
    last_step: Option<u64>,
    last_line: String,
}

impl Progress {
    fn new(expected_frames: Option<u64>, terminal: bool) -> Self {
        Self {
            expected_frames,
            terminal,
            shown: false,
            last_step: None,
            last_line: String::new(),
        }
    }

    fn long_input_frames() -> u64 {
        duration_to_frames(LONG_INPUT)
    }

    fn update(&mut self, frames_read: u64) {
        if let Some(line) = self.line_for(frames_read) {
            self.print(&line);
        }
    }

    /// The line to show after `frames_read` frames of input, if one is due.
    fn line_for(&mut self, frames_read: u64) -> Option<String> {
        let long = Self::long_input_frames();
        match self.expected_frames {
            Some(expected) if expected > long => {
                let percent = frames_read.min(expected) * 100 / expected;
                let step = if self.terminal { 1 } else { 10 };
                let due = percent / step * step;
                if self.last_step.is_some_and(|last| last >= due) {
                    return None;
                }
                self.last_step = Some(due);
                Some(format!(
                    "rendering {percent:>3} % ({} / {})",
                    format_duration(frames_to_duration(frames_read)),
                    format_duration(frames_to_duration(expected))
                ))
            }
            Some(_) => None,
            None if frames_read <= long => None,
            None => {
                let seconds = frames_read / u64::from(SAMPLE_RATE);
                let step = if self.terminal { 5 } else { 30 };
                let due = seconds / step * step;
                if self.last_step.is_some_and(|last| last >= due) {
                    return None;
                }
                self.last_step = Some(due);
                Some(format!(
                    "rendered {} of input",
                    format_duration(frames_to_duration(frames_read))
                ))
            }
        }
    }

    /// Reports the end (a render that stopped early, at end of file, still reads as done).
    fn finish(&mut self, frames_read: u64) {
        if !self.shown {
            return;
        }
        let done = format_duration(frames_to_duration(frames_read));
        let line = if self.expected_frames.is_some() {
            format!("rendering 100 % ({done} / {done})")
        } else {
            format!("rendered {done} of input")
        };
        if line != self.last_line {
            self.print(&line);
        }
        if self.terminal {
            eprintln!();
        }
    }

    fn print(&mut self, line: &str) {
        if self.terminal {
            // Padding clears what a longer previous line left behind.
            eprint!("\r{line:<40}");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
        self.shown = true;
        line.clone_into(&mut self.last_line);
    }
}

fn frames_to_duration(frames: u64) -> Duration {
    Duration::from_millis(frames * 1000 / u64::from(SAMPLE_RATE))
}

fn duration_to_frames(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis() * u128::from(SAMPLE_RATE) / 1000).unwrap_or(u64::MAX)
}

fn write_all(
    chain: &mut FilterChain,
    buffer: &mut [f32],
    writer: &mut hound::WavWriter<std::io::BufWriter<std::fs::File>>,
) -> anyhow::Result<()> {
    loop {
        let written = chain.pull(buffer);
        if written == 0 {
            return Ok(());
        }
        for sample in &buffer[..written] {
            writer
                .write_sample(to_i16(*sample))
                .context("could not write the WAV file")?;
        }
    }
}

#[allow(clippy::cast_possible_truncation)]
fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(seconds: u64) -> u64 {
        seconds * u64::from(SAMPLE_RATE)
    }

    /// Feeds a render of `seconds` in 20 ms blocks, returns the lines the report would print.
    fn lines(progress: &mut Progress, seconds: u64) -> Vec<String> {
        (1..=frames(seconds) / FRAMES_PER_BLOCK as u64)
            .filter_map(|block| progress.line_for(block * FRAMES_PER_BLOCK as u64))
            .collect()
    }

    #[test]
    fn known_length_reports_percent_and_position() {
        let mut piped = Progress::new(Some(frames(150)), false);
        let shown = lines(&mut piped, 150);
        assert_eq!(shown.len(), 11, "{shown:?}");
        assert_eq!(shown[0], "rendering   0 % (0:00 / 2:30)");
        assert_eq!(shown[5], "rendering  50 % (1:15 / 2:30)");
        assert_eq!(shown[10], "rendering 100 % (2:30 / 2:30)");

        let mut terminal = Progress::new(Some(frames(150)), true);
        assert_eq!(lines(&mut terminal, 150).len(), 101);
    }

    #[test]
    fn unknown_length_reports_seconds_once_the_input_is_long() {
        let mut piped = Progress::new(None, false);
        let shown = lines(&mut piped, 125);
        assert_eq!(
            shown,
            [
                "rendered 1:00 of input",
                "rendered 1:30 of input",
                "rendered 2:00 of input"
            ]
        );
    }

    #[test]
    fn short_inputs_stay_quiet() {
        for terminal in [false, true] {
            assert!(lines(&mut Progress::new(Some(frames(60)), terminal), 60).is_empty());
            assert!(lines(&mut Progress::new(None, terminal), 60).is_empty());
        }
    }

    fn args(filters: &[&str], eq: Option<&str>, timescale: Option<&str>) -> RenderArgs {
        RenderArgs {
            input: PathBuf::from("in.wav"),
            output: PathBuf::from("out.wav"),
            filters: filters.iter().map(ToString::to_string).collect(),
            eq: eq.map(str::to_owned),
            timescale: timescale.map(str::to_owned),
            volume: 100,
            start: None,
            duration: None,
        }
    }

    #[test]
    fn eq_and_timescale_overlay_the_presets() {
        let pop = Preset::Pop.spec().equalizer.unwrap().gains();
        let spec = build_spec(&args(&["pop"], Some("13:0.2,0:0.1"), None)).unwrap();
        let gains = spec.equalizer.unwrap().gains();
        assert_eq!(gains[13], 0.2);
        assert_eq!(gains[0], 0.1);
        assert_eq!(gains[1..13], pop[1..13]);

        let spec = build_spec(&args(&["nightcore"], None, Some("speed=1.1"))).unwrap();
        assert_eq!(
            spec.timescale,
            Some(Timescale::new(1.1, 1.0, 1.25).unwrap())
        );

        let alone = build_spec(&args(&[], Some("0:0.2"), Some("pitch=1.2"))).unwrap();
        assert_eq!(
            alone.equalizer,
            Some(Equalizer::from_bands(&[(0, 0.2)]).unwrap())
        );
        assert_eq!(
            alone.timescale,
            Some(Timescale::new(1.0, 1.2, 1.0).unwrap())
        );
    }
}
