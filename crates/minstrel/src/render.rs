//! `minstrel render`: decode any supported file, run it through the filter chain and write a
//! 48 kHz stereo WAV. The same decoder and chain as playback, so what you hear here is what the
//! bot plays.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use minstrel_app::ports::PcmStream;
use minstrel_domain::filters::{Equalizer, FilterSpec, Preset, Timescale};
use minstrel_domain::track::parse_duration;
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterChain, FilterControl, SAMPLE_RATE};
use minstrel_sources::SymphoniaStream;

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

fn build_spec(args: &RenderArgs) -> anyhow::Result<FilterSpec> {
    let mut spec = FilterSpec::default();
    for name in &args.filters {
        spec = spec.merged_with(&Preset::parse(name)?.spec());
    }
    if let Some(eq) = &args.eq {
        let mut bands = Vec::new();
        for pair in eq.split(',').filter(|pair| !pair.trim().is_empty()) {
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
        spec.equalizer = Some(Equalizer::from_bands(&bands)?);
    }
    if let Some(timescale) = &args.timescale {
        let (mut speed, mut pitch, mut rate) = (1.0, 1.0, 1.0);
        for pair in timescale.split(',').filter(|pair| !pair.trim().is_empty()) {
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
        spec.timescale = Some(Timescale::new(speed, pitch, rate)?);
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
    let mut stream = SymphoniaStream::open_file(&args.input, start)
        .with_context(|| format!("could not open {}", args.input.display()))?;
    let total_frames = limit.map(duration_to_frames);
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
    let show_progress = limit.is_none_or(|limit| limit > Duration::from_mins(1));
    let mut last_report = 0;
    loop {
        let wanted = total_frames.map_or(input.len(), |total| {
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
        let seconds = frames_read / u64::from(SAMPLE_RATE);
        if show_progress && seconds >= last_report + 30 {
            last_report = seconds;
            eprint!("\rrendered {seconds} s of input…");
            let _ = std::io::stderr().flush();
        }
    }
    chain.finish();
    write_all(&mut chain, &mut output, &mut writer)?;
    writer.finalize().context("could not finish the WAV file")?;
    if show_progress && last_report > 0 {
        eprintln!();
    }
    println!("wrote {}", args.output.display());
    Ok(())
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
