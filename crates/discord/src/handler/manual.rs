//! The hand-set filters of `/filter`'s options, checked against the domain's ranges.

use minstrel_domain::filters::{Equalizer, LowPass, Oscillation, Rotation, Timescale};
use minstrel_domain::{FilterSpec, Preset};

use crate::request::ManualFilters;

use super::Failure;

#[allow(clippy::cast_possible_truncation)] // option ranges are far inside f32
pub(super) fn manual_spec(manual: &ManualFilters) -> Result<FilterSpec, Failure> {
    let float = |value: f64| value as f32;
    let mut spec = FilterSpec::default();
    if manual.speed.is_some() || manual.pitch.is_some() || manual.rate.is_some() {
        spec.timescale = Some(Timescale::new(
            float(manual.speed.unwrap_or(1.0)),
            float(manual.pitch.unwrap_or(1.0)),
            float(manual.rate.unwrap_or(1.0)),
        )?);
    }
    if let Some(hz) = manual.rotation {
        spec.rotation = Some(Rotation::new(float(hz))?);
    }
    if manual.tremolo_frequency.is_some() || manual.tremolo_depth.is_some() {
        spec.tremolo = Some(Oscillation::tremolo(
            float(manual.tremolo_frequency.unwrap_or(2.0)),
            float(manual.tremolo_depth.unwrap_or(0.5)),
        )?);
    }
    if manual.vibrato_frequency.is_some() || manual.vibrato_depth.is_some() {
        spec.vibrato = Some(Oscillation::vibrato(
            float(manual.vibrato_frequency.unwrap_or(2.0)),
            float(manual.vibrato_depth.unwrap_or(0.5)),
        )?);
    }
    if let Some(smoothing) = manual.low_pass {
        spec.low_pass = Some(LowPass::new(float(smoothing))?);
    }
    if let Some(volume) = manual.volume {
        spec = spec.with_volume(float(volume))?;
    }
    if let Some(bands) = &manual.equalizer {
        spec.equalizer = Some(Equalizer::from_bands(&parse_bands(bands)?)?);
    }
    if manual.karaoke {
        spec.karaoke = Preset::Karaoke.spec().karaoke;
    }
    Ok(spec)
}

pub(super) fn parse_bands(text: &str) -> Result<Vec<(usize, f32)>, Failure> {
    let malformed = || Failure::usage("write the equalizer as band:gain pairs, e.g. 0:0.2,1:0.15");
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (band, gain) = part.split_once(':').ok_or_else(malformed)?;
            Ok((
                band.trim().parse().map_err(|_| malformed())?,
                gain.trim().parse().map_err(|_| malformed())?,
            ))
        })
        .collect()
}
