//! One filter at a time, by Lavalink's filter and parameter names.
//!
//! - [`FilterChange`]: `distortion sinOffset=0.1 scale=2` parsed and checked, then applied on
//!   top of the filter's current values (a filter that is off starts from Lavalink's defaults).
//! - [`FilterKind`]: one filter of the chain; [`FilterSpec::without`] turns one off.
//! - [`FilterSpec::describe`] / [`FilterSpec::labels`]: every active filter with its parameters,
//!   named after the presets it matches, so a reply says `nightcore`, not `timescale`.

use std::fmt::{self, Write as _};

use super::{
    BassBoostLevel, ChannelMix, Distortion, Equalizer, FilterError, FilterSpec, Karaoke, LowPass,
    Oscillation, Preset, Reverb, Rotation, Timescale,
};

/// One filter of the chain, named as Lavalink names it (`bassBoost` and `reverb` are minstrel's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKind {
    Volume,
    Equalizer,
    Karaoke,
    Timescale,
    Tremolo,
    Vibrato,
    Rotation,
    Distortion,
    ChannelMix,
    LowPass,
    BassBoost,
    Reverb,
}

/// A numeric parameter: its Lavalink name and the range the filter accepts.
struct Param {
    key: &'static str,
    min: f32,
    max: f32,
}

const fn param(key: &'static str, min: f32, max: f32) -> Param {
    Param { key, min, max }
}

const VOLUME: [Param; 1] = [param("volume", 0.0, 5.0)];
const KARAOKE: [Param; 4] = [
    param("level", 0.0, 1.0),
    param("monoLevel", 0.0, 1.0),
    param("filterBand", 0.0, 24_000.0),
    param("filterWidth", 0.0, 24_000.0),
];
const TIMESCALE: [Param; 3] = [
    param("speed", Timescale::MIN, Timescale::MAX),
    param("pitch", Timescale::MIN, Timescale::MAX),
    param("rate", Timescale::MIN, Timescale::MAX),
];
const TREMOLO: [Param; 2] = [
    param("frequency", f32::MIN_POSITIVE, 100.0),
    param("depth", 0.0, 1.0),
];
const VIBRATO: [Param; 2] = [
    param("frequency", f32::MIN_POSITIVE, 14.0),
    param("depth", 0.0, 1.0),
];
const ROTATION: [Param; 1] = [param("rotationHz", 0.0, 20.0)];
const DISTORTION: [Param; 8] = [
    param("sinOffset", -10.0, 10.0),
    param("sinScale", -10.0, 10.0),
    param("cosOffset", -10.0, 10.0),
    param("cosScale", -10.0, 10.0),
    param("tanOffset", -10.0, 10.0),
    param("tanScale", -10.0, 10.0),
    param("offset", -10.0, 10.0),
    param("scale", -10.0, 10.0),
];
const CHANNEL_MIX: [Param; 4] = [
    param("leftToLeft", 0.0, 1.0),
    param("leftToRight", 0.0, 1.0),
    param("rightToLeft", 0.0, 1.0),
    param("rightToRight", 0.0, 1.0),
];
const LOW_PASS: [Param; 1] = [param("smoothing", 1.0, 1000.0)];
const REVERB: [Param; 3] = [
    param("roomSize", 0.0, 1.0),
    param("damping", 0.0, 1.0),
    param("wet", 0.0, 1.0),
];

const LEVELS: [(&str, BassBoostLevel); 4] = [
    ("low", BassBoostLevel::Low),
    ("medium", BassBoostLevel::Medium),
    ("high", BassBoostLevel::High),
    ("extreme", BassBoostLevel::Extreme),
];

/// `min`..`max` for a person: "between 0 and 1", "more than 0 and at most 14".
pub(super) fn range_text(min: f32, max: f32) -> String {
    if min > 0.0 && min <= f32::MIN_POSITIVE {
        format!("more than 0 and at most {max}")
    } else {
        format!("between {min} and {max}")
    }
}

/// Lowercase without spaces, `-` and `_`: `sin_offset`, `Sin-Offset` and `sinOffset` match.
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl FilterKind {
    /// Every filter, in the order of the chain's display.
    pub const ALL: [Self; 12] = [
        Self::Volume,
        Self::Equalizer,
        Self::Karaoke,
        Self::Timescale,
        Self::Tremolo,
        Self::Vibrato,
        Self::Rotation,
        Self::Distortion,
        Self::ChannelMix,
        Self::LowPass,
        Self::BassBoost,
        Self::Reverb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::Equalizer => "equalizer",
            Self::Karaoke => "karaoke",
            Self::Timescale => "timescale",
            Self::Tremolo => "tremolo",
            Self::Vibrato => "vibrato",
            Self::Rotation => "rotation",
            Self::Distortion => "distortion",
            Self::ChannelMix => "channelMix",
            Self::LowPass => "lowPass",
            Self::BassBoost => "bassBoost",
            Self::Reverb => "reverb",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|kind| kind.name()).collect()
    }

    /// Parses a filter name; case, spaces, `-` and `_` are ignored, `eq` is the equalizer.
    ///
    /// # Errors
    /// [`FilterError::UnknownFilter`], listing the filters.
    pub fn parse(name: &str) -> Result<Self, FilterError> {
        let wanted = folded(name);
        if wanted == "eq" {
            return Ok(Self::Equalizer);
        }
        Self::ALL
            .into_iter()
            .find(|kind| folded(kind.name()) == wanted)
            .ok_or_else(|| FilterError::UnknownFilter(name.trim().to_owned()))
    }

    fn params(self) -> &'static [Param] {
        match self {
            Self::Volume => &VOLUME,
            Self::Karaoke => &KARAOKE,
            Self::Timescale => &TIMESCALE,
            Self::Tremolo => &TREMOLO,
            Self::Vibrato => &VIBRATO,
            Self::Rotation => &ROTATION,
            Self::Distortion => &DISTORTION,
            Self::ChannelMix => &CHANNEL_MIX,
            Self::LowPass => &LOW_PASS,
            Self::Reverb => &REVERB,
            Self::Equalizer | Self::BassBoost => &[],
        }
    }

    /// What this filter takes, for a person: `speed, pitch, rate (each between 0.1 and 5)`.
    pub fn parameters(self) -> String {
        match self {
            Self::Equalizer => format!(
                "band=gain with bands 0 to 14 and gains {}, e.g. 0=0.2 1=0.15",
                range_text(Equalizer::MIN_GAIN, Equalizer::MAX_GAIN)
            ),
            Self::BassBoost => {
                let levels: Vec<&str> = LEVELS.iter().map(|(name, _)| *name).collect();
                format!("level={}", levels.join("|"))
            }
            _ => {
                let params = self.params();
                // Exactly the same bounds (the tables repeat the same constants).
                let same = params.iter().all(|p| {
                    p.min.to_bits() == params[0].min.to_bits()
                        && p.max.to_bits() == params[0].max.to_bits()
                });
                if same && params.len() > 1 {
                    let keys: Vec<&str> = params.iter().map(|p| p.key).collect();
                    format!(
                        "{} (each {})",
                        keys.join(", "),
                        range_text(params[0].min, params[0].max)
                    )
                } else {
                    params
                        .iter()
                        .map(|p| format!("{} ({})", p.key, range_text(p.min, p.max)))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            }
        }
    }

    /// True when this filter is on in `spec`.
    pub fn is_on(self, spec: &FilterSpec) -> bool {
        match self {
            Self::Volume => spec.volume.is_some(),
            Self::Equalizer => spec.equalizer.is_some(),
            Self::Karaoke => spec.karaoke.is_some(),
            Self::Timescale => spec.timescale.is_some(),
            Self::Tremolo => spec.tremolo.is_some(),
            Self::Vibrato => spec.vibrato.is_some(),
            Self::Rotation => spec.rotation.is_some(),
            Self::Distortion => spec.distortion.is_some(),
            Self::ChannelMix => spec.channel_mix.is_some(),
            Self::LowPass => spec.low_pass.is_some(),
            Self::BassBoost => spec.bass_boost.is_some(),
            Self::Reverb => spec.reverb.is_some(),
        }
    }

    /// True when this filter is the same in `a` and `b` (both off counts as the same).
    fn same_in(self, a: &FilterSpec, b: &FilterSpec) -> bool {
        match self {
            Self::Volume => a.volume == b.volume,
            Self::Equalizer => a.equalizer == b.equalizer,
            Self::Karaoke => a.karaoke == b.karaoke,
            Self::Timescale => a.timescale == b.timescale,
            Self::Tremolo => a.tremolo == b.tremolo,
            Self::Vibrato => a.vibrato == b.vibrato,
            Self::Rotation => a.rotation == b.rotation,
            Self::Distortion => a.distortion == b.distortion,
            Self::ChannelMix => a.channel_mix == b.channel_mix,
            Self::LowPass => a.low_pass == b.low_pass,
            Self::BassBoost => a.bass_boost == b.bass_boost,
            Self::Reverb => a.reverb == b.reverb,
        }
    }

    /// The numeric parameters' current values (or the defaults, when the filter is off).
    fn values(self, spec: &FilterSpec) -> Vec<f32> {
        match self {
            Self::Volume => vec![spec.volume.unwrap_or(1.0)],
            Self::Karaoke => {
                let k = spec.karaoke.unwrap_or_default();
                vec![k.level, k.mono_level, k.filter_band, k.filter_width]
            }
            Self::Timescale => {
                let t = spec.timescale.unwrap_or_default();
                vec![t.speed, t.pitch, t.rate]
            }
            Self::Tremolo | Self::Vibrato => {
                let current = if self == Self::Tremolo {
                    spec.tremolo
                } else {
                    spec.vibrato
                };
                // Lavalink's defaults for a filter that is switched on without values.
                let o = current.unwrap_or(Oscillation {
                    frequency: 2.0,
                    depth: 0.5,
                });
                vec![o.frequency, o.depth]
            }
            Self::Rotation => vec![spec.rotation.map_or(0.0, |r| r.rotation_hz)],
            Self::Distortion => {
                let d = spec.distortion.unwrap_or_default();
                vec![
                    d.sin_offset,
                    d.sin_scale,
                    d.cos_offset,
                    d.cos_scale,
                    d.tan_offset,
                    d.tan_scale,
                    d.offset,
                    d.scale,
                ]
            }
            Self::ChannelMix => {
                let c = spec.channel_mix.unwrap_or_default();
                vec![
                    c.left_to_left,
                    c.left_to_right,
                    c.right_to_left,
                    c.right_to_right,
                ]
            }
            Self::LowPass => vec![spec.low_pass.map_or(20.0, |l| l.smoothing)],
            Self::Reverb => {
                // The reverb preset's room, when the reverb is switched on by hand.
                let r = spec.reverb.unwrap_or(Reverb {
                    room_size: 0.6,
                    damping: 0.5,
                    wet: 0.3,
                });
                vec![r.room_size, r.damping, r.wet]
            }
            Self::Equalizer | Self::BassBoost => Vec::new(),
        }
    }

    /// Writes numeric parameter values back, through the filter's own constructor.
    fn store(self, spec: &mut FilterSpec, v: &[f32]) -> Result<(), FilterError> {
        let at = |index: usize| v.get(index).copied().unwrap_or_default();
        match self {
            Self::Volume => *spec = spec.with_volume(at(0))?,
            Self::Karaoke => spec.karaoke = Some(Karaoke::new(at(0), at(1), at(2), at(3))?),
            Self::Timescale => spec.timescale = Some(Timescale::new(at(0), at(1), at(2))?),
            Self::Tremolo => spec.tremolo = Some(Oscillation::tremolo(at(0), at(1))?),
            Self::Vibrato => spec.vibrato = Some(Oscillation::vibrato(at(0), at(1))?),
            Self::Rotation => spec.rotation = Some(Rotation::new(at(0))?),
            Self::Distortion => {
                let distortion = Distortion {
                    sin_offset: at(0),
                    sin_scale: at(1),
                    cos_offset: at(2),
                    cos_scale: at(3),
                    tan_offset: at(4),
                    tan_scale: at(5),
                    offset: at(6),
                    scale: at(7),
                };
                spec.distortion = Some(distortion.validated()?);
            }
            Self::ChannelMix => {
                spec.channel_mix = Some(ChannelMix::new(at(0), at(1), at(2), at(3))?);
            }
            Self::LowPass => spec.low_pass = Some(LowPass::new(at(0))?),
            Self::Reverb => spec.reverb = Some(Reverb::new(at(0), at(1), at(2))?),
            Self::Equalizer | Self::BassBoost => {}
        }
        Ok(())
    }
}

impl fmt::Display for FilterKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// One setting of a [`FilterChange`], checked against its range.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setting {
    /// The numeric parameter at this index of the filter's table.
    Param(usize, f32),
    Band(usize, f32),
    Level(BassBoostLevel),
}

/// Parameters of one filter, typed as `distortion sinOffset=0.1 scale=2` (commas work too).
/// Parameters not named keep their current value.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterChange {
    kind: FilterKind,
    settings: Vec<Setting>,
}

impl FilterChange {
    /// Parses `filter name=value ...`. A filter with one parameter takes a bare value too
    /// (`rotation 0.2`, `bassBoost high`).
    ///
    /// # Errors
    /// One sentence naming the filters, the filter's parameters or the allowed range.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let text = text.trim();
        let (name, rest) = text
            .split_once(char::is_whitespace)
            .map_or((text, ""), |(name, rest)| (name, rest));
        Self::parse_parts(name, rest)
    }

    /// Several changes typed at once, separated by `;` (`timescale speed=1.2; rotation 0.2`).
    ///
    /// # Errors
    /// As [`FilterChange::parse`], for the first part that does not parse.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, FilterError> {
        let parts: Vec<&str> = text
            .split(';')
            .filter(|part| !part.trim().is_empty())
            .collect();
        if parts.is_empty() {
            return Self::parse(text).map(|change| vec![change]);
        }
        parts.into_iter().map(Self::parse).collect()
    }

    /// As [`FilterChange::parse`], with the filter and its parameters apart (a slash command's
    /// two options).
    ///
    /// # Errors
    /// As [`FilterChange::parse`].
    pub fn parse_parts(filter: &str, parameters: &str) -> Result<Self, FilterError> {
        let kind = FilterKind::parse(filter)?;
        let mut settings = Vec::new();
        for word in parameters
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|word| !word.is_empty())
        {
            settings.push(setting(kind, word)?);
        }
        if settings.is_empty() {
            return Err(FilterError::NothingToSet { filter: kind });
        }
        Ok(Self { kind, settings })
    }

    pub fn kind(&self) -> FilterKind {
        self.kind
    }

    /// `spec` with this filter's parameters changed (and the filter on).
    ///
    /// # Errors
    /// When the filter's own constructor refuses the combination.
    pub fn apply(&self, spec: FilterSpec) -> Result<FilterSpec, FilterError> {
        let mut spec = spec;
        match self.kind {
            FilterKind::Equalizer => {
                let mut gains = spec.equalizer.unwrap_or_default().gains();
                for setting in &self.settings {
                    if let &Setting::Band(band, gain) = setting {
                        let slot = gains.get_mut(band).ok_or(FilterError::NoSuchBand(band))?;
                        *slot = gain;
                    }
                }
                spec.equalizer = Some(Equalizer::new(gains)?);
            }
            FilterKind::BassBoost => {
                for setting in &self.settings {
                    if let &Setting::Level(level) = setting {
                        spec.bass_boost = Some(level);
                    }
                }
            }
            kind => {
                let mut values = kind.values(&spec);
                for setting in &self.settings {
                    if let &Setting::Param(index, value) = setting
                        && let Some(slot) = values.get_mut(index)
                    {
                        *slot = value;
                    }
                }
                kind.store(&mut spec, &values)?;
            }
        }
        Ok(spec)
    }
}

fn number(kind: FilterKind, parameter: &str, text: &str) -> Result<f32, FilterError> {
    let value: f32 = text.trim().parse().map_err(|_| FilterError::NotANumber {
        filter: kind,
        parameter: parameter.to_owned(),
        given: text.trim().to_owned(),
    })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(FilterError::NotANumber {
            filter: kind,
            parameter: parameter.to_owned(),
            given: text.trim().to_owned(),
        })
    }
}

fn check_range(kind: FilterKind, param: &Param, value: f32) -> Result<f32, FilterError> {
    super::check(kind.name(), param.key, value, param.min, param.max)
}

fn setting(kind: FilterKind, word: &str) -> Result<Setting, FilterError> {
    let pair = word.split_once('=').or_else(|| {
        // The equalizer's older `band:gain` form.
        (kind == FilterKind::Equalizer)
            .then(|| word.split_once(':'))
            .flatten()
    });
    let unknown = |given: &str| FilterError::UnknownParameter {
        filter: kind,
        given: given.to_owned(),
    };
    match kind {
        FilterKind::Equalizer => {
            let (band, gain) = pair.ok_or_else(|| FilterError::NotNameValue {
                filter: kind,
                given: word.to_owned(),
            })?;
            let band: usize = band.trim().parse().map_err(|_| unknown(band.trim()))?;
            if band >= 15 {
                return Err(FilterError::NoSuchBand(band));
            }
            let gain = number(kind, &format!("band {band}"), gain)?;
            let gain = super::check(
                "equalizer",
                "gain",
                gain,
                Equalizer::MIN_GAIN,
                Equalizer::MAX_GAIN,
            )?;
            Ok(Setting::Band(band, gain))
        }
        FilterKind::BassBoost => {
            let level = match pair {
                Some((key, value)) if folded(key) == "level" => value,
                Some((key, _)) => return Err(unknown(key)),
                None => word,
            };
            LEVELS
                .iter()
                .find(|(name, _)| *name == folded(level))
                .map(|&(_, level)| Setting::Level(level))
                .ok_or_else(|| unknown(&format!("level={level}")))
        }
        _ => {
            let params = kind.params();
            let (index, value) = match pair {
                Some((key, value)) => {
                    let index = params
                        .iter()
                        .position(|p| folded(p.key) == folded(key))
                        .ok_or_else(|| unknown(key))?;
                    (index, value)
                }
                None if params.len() == 1 => (0, word),
                None => {
                    return Err(FilterError::NotNameValue {
                        filter: kind,
                        given: word.to_owned(),
                    });
                }
            };
            let value = number(kind, params[index].key, value)?;
            Ok(Setting::Param(
                index,
                check_range(kind, &params[index], value)?,
            ))
        }
    }
}

impl FilterSpec {
    /// This spec with one filter off.
    #[must_use]
    pub fn without(mut self, kind: FilterKind) -> Self {
        match kind {
            FilterKind::Volume => self.volume = None,
            FilterKind::Equalizer => self.equalizer = None,
            FilterKind::Karaoke => self.karaoke = None,
            FilterKind::Timescale => self.timescale = None,
            FilterKind::Tremolo => self.tremolo = None,
            FilterKind::Vibrato => self.vibrato = None,
            FilterKind::Rotation => self.rotation = None,
            FilterKind::Distortion => self.distortion = None,
            FilterKind::ChannelMix => self.channel_mix = None,
            FilterKind::LowPass => self.low_pass = None,
            FilterKind::BassBoost => self.bass_boost = None,
            FilterKind::Reverb => self.reverb = None,
        }
        self
    }

    /// The active filters.
    pub fn kinds(&self) -> Vec<FilterKind> {
        FilterKind::ALL
            .into_iter()
            .filter(|kind| kind.is_on(self))
            .collect()
    }

    /// The presets whose filters are all active with the preset's values, each active filter
    /// credited to one preset at most (the preset covering more filters first: `vaporwave`, not
    /// `slow` + a low-pass). With each preset's filter `(kind, preset)`.
    fn recognised(&self) -> Vec<(FilterKind, Preset)> {
        let mut candidates: Vec<(Preset, Vec<FilterKind>)> = Preset::ALL
            .into_iter()
            .map(|preset| (preset, preset.spec().kinds()))
            .filter(|(preset, kinds)| {
                let spec = preset.spec();
                kinds.iter().all(|kind| kind.same_in(self, &spec))
            })
            .collect();
        candidates.sort_by_key(|(_, kinds)| std::cmp::Reverse(kinds.len()));
        let mut credited: Vec<(FilterKind, Preset)> = Vec::new();
        for (preset, kinds) in candidates {
            if kinds
                .iter()
                .all(|kind| credited.iter().all(|(taken, _)| taken != kind))
            {
                credited.extend(kinds.into_iter().map(|kind| (kind, preset)));
            }
        }
        credited
    }

    /// The names to show for the active filters: the presets they match, then the filters no
    /// preset explains (`nightcore, distortion`).
    pub fn labels(&self) -> Vec<&'static str> {
        let credited = self.recognised();
        let mut labels: Vec<&'static str> = Vec::new();
        for kind in self.kinds() {
            let label = credited
                .iter()
                .find(|(taken, _)| *taken == kind)
                .map_or(kind.name(), |(_, preset)| preset.name());
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        labels
    }

    /// One line per active filter with every parameter, and the preset it comes from:
    /// `timescale speed=1 pitch=1 rate=1.25 (nightcore)`.
    pub fn describe(&self) -> Vec<String> {
        let credited = self.recognised();
        self.kinds()
            .into_iter()
            .map(|kind| {
                let mut line = format!("{kind} {}", self.parameters_of(kind));
                if let Some((_, preset)) = credited.iter().find(|(taken, _)| *taken == kind) {
                    let _ = write!(line, " ({preset})");
                }
                line
            })
            .collect()
    }

    /// `name=value` for every parameter of `kind` (the equalizer lists the bands it moves).
    fn parameters_of(&self, kind: FilterKind) -> String {
        match kind {
            FilterKind::Equalizer => {
                let gains = self.equalizer.unwrap_or_default().gains();
                let bands: Vec<String> = gains
                    .iter()
                    .enumerate()
                    .filter(|(_, gain)| **gain != 0.0)
                    .map(|(band, gain)| format!("{band}={gain}"))
                    .collect();
                if bands.is_empty() {
                    "flat".to_owned()
                } else {
                    bands.join(" ")
                }
            }
            FilterKind::BassBoost => {
                let level = self.bass_boost.unwrap_or(BassBoostLevel::Medium);
                let name = LEVELS
                    .iter()
                    .find(|(_, candidate)| *candidate == level)
                    .map_or("medium", |(name, _)| *name);
                format!("level={name}")
            }
            _ => kind
                .params()
                .iter()
                .zip(kind.values(self))
                .map(|(param, value)| format!("{}={value}", param.key))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
mod tests;
