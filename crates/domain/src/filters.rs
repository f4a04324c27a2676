//! Filter specifications: every Lavalink filter, the seed filters (bass boost, reverb) and named
//! presets. These are plain data validated on construction; `minstrel-dsp` implements them.

use std::fmt;

mod edit;

pub use edit::{FilterChange, FilterKind};

/// Why a filter specification was refused. Messages are written for the person who typed them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("{filter}: {parameter} must be {range} (got {value})", range = edit::range_text(*min, *max))]
    OutOfRange {
        filter: &'static str,
        parameter: &'static str,
        min: f32,
        max: f32,
        value: f32,
    },
    #[error("{filter}: {parameter} must be a finite number")]
    NotFinite {
        filter: &'static str,
        parameter: &'static str,
    },
    #[error("equalizer band {0} does not exist (bands are 0 to 14)")]
    NoSuchBand(usize),
    #[error("unknown preset \"{0}\"; try one of: {list}", list = Preset::names().join(", "))]
    UnknownPreset(String),
    #[error("unknown filter \"{0}\"; the filters are {list}", list = FilterKind::names().join(", "))]
    UnknownFilter(String),
    #[error("{filter} has no parameter \"{given}\"; {filter} takes {expected}", expected = filter.parameters())]
    UnknownParameter { filter: FilterKind, given: String },
    #[error("{filter}: {parameter} must be a number, not \"{given}\"")]
    NotANumber {
        filter: FilterKind,
        parameter: String,
        given: String,
    },
    #[error("write {filter}'s settings as name=value (got \"{given}\"); {filter} takes {expected}", expected = filter.parameters())]
    NotNameValue { filter: FilterKind, given: String },
    #[error("say what to set; {filter} takes {expected}", expected = filter.parameters())]
    NothingToSet { filter: FilterKind },
}

fn check(
    filter: &'static str,
    parameter: &'static str,
    value: f32,
    min: f32,
    max: f32,
) -> Result<f32, FilterError> {
    if !value.is_finite() {
        return Err(FilterError::NotFinite { filter, parameter });
    }
    if value < min || value > max {
        return Err(FilterError::OutOfRange {
            filter,
            parameter,
            min,
            max,
            value,
        });
    }
    Ok(value)
}

/// Centre frequencies (Hz) of the 15 Lavalink equalizer bands.
pub const EQ_BANDS_HZ: [f32; 15] = [
    25.0, 40.0, 63.0, 100.0, 160.0, 250.0, 400.0, 630.0, 1000.0, 1600.0, 2500.0, 4000.0, 6300.0,
    10000.0, 16000.0,
];

/// 15-band equalizer, gain per band in −0.25 ..= 1.0 (0 is neutral).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Equalizer {
    gains: [f32; 15],
}

impl Equalizer {
    pub const MIN_GAIN: f32 = -0.25;
    pub const MAX_GAIN: f32 = 1.0;

    pub fn new(gains: [f32; 15]) -> Result<Self, FilterError> {
        for gain in gains {
            check("equalizer", "gain", gain, Self::MIN_GAIN, Self::MAX_GAIN)?;
        }
        Ok(Self { gains })
    }

    /// Builds an equalizer from `(band, gain)` pairs, the form users type (`0:0.2,1:0.15`).
    pub fn from_bands(bands: &[(usize, f32)]) -> Result<Self, FilterError> {
        let mut gains = [0.0; 15];
        for &(band, gain) in bands {
            let slot = gains.get_mut(band).ok_or(FilterError::NoSuchBand(band))?;
            *slot = check("equalizer", "gain", gain, Self::MIN_GAIN, Self::MAX_GAIN)?;
        }
        Ok(Self { gains })
    }

    pub fn gains(&self) -> [f32; 15] {
        self.gains
    }

    pub fn is_neutral(&self) -> bool {
        self.gains.iter().all(|gain| *gain == 0.0)
    }
}

/// Centre-channel (vocal) removal keeping a low band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Karaoke {
    pub level: f32,
    pub mono_level: f32,
    pub filter_band: f32,
    pub filter_width: f32,
}

impl Karaoke {
    pub fn new(
        level: f32,
        mono_level: f32,
        filter_band: f32,
        filter_width: f32,
    ) -> Result<Self, FilterError> {
        Ok(Self {
            level: check("karaoke", "level", level, 0.0, 1.0)?,
            mono_level: check("karaoke", "monoLevel", mono_level, 0.0, 1.0)?,
            filter_band: check("karaoke", "filterBand", filter_band, 0.0, 24_000.0)?,
            filter_width: check("karaoke", "filterWidth", filter_width, 0.0, 24_000.0)?,
        })
    }
}

impl Default for Karaoke {
    fn default() -> Self {
        Self {
            level: 1.0,
            mono_level: 1.0,
            filter_band: 220.0,
            filter_width: 100.0,
        }
    }
}

/// Speed (tempo keeping pitch), pitch (keeping tempo) and rate (both, by resampling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timescale {
    pub speed: f32,
    pub pitch: f32,
    pub rate: f32,
}

impl Timescale {
    pub const MIN: f32 = 0.1;
    pub const MAX: f32 = 5.0;

    pub fn new(speed: f32, pitch: f32, rate: f32) -> Result<Self, FilterError> {
        Ok(Self {
            speed: check("timescale", "speed", speed, Self::MIN, Self::MAX)?,
            pitch: check("timescale", "pitch", pitch, Self::MIN, Self::MAX)?,
            rate: check("timescale", "rate", rate, Self::MIN, Self::MAX)?,
        })
    }

    pub fn is_neutral(&self) -> bool {
        *self == Self::default()
    }

    /// How much faster than real time the output is consumed (output duration = input / this).
    pub fn tempo_factor(&self) -> f32 {
        self.speed * self.rate
    }
}

impl Default for Timescale {
    fn default() -> Self {
        Self {
            speed: 1.0,
            pitch: 1.0,
            rate: 1.0,
        }
    }
}

/// Amplitude (tremolo) or pitch (vibrato) oscillation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Oscillation {
    pub frequency: f32,
    pub depth: f32,
}

impl Oscillation {
    pub fn tremolo(frequency: f32, depth: f32) -> Result<Self, FilterError> {
        Ok(Self {
            frequency: check("tremolo", "frequency", frequency, f32::MIN_POSITIVE, 100.0)?,
            depth: check("tremolo", "depth", depth, 0.0, 1.0)?,
        })
    }

    pub fn vibrato(frequency: f32, depth: f32) -> Result<Self, FilterError> {
        Ok(Self {
            frequency: check("vibrato", "frequency", frequency, f32::MIN_POSITIVE, 14.0)?,
            depth: check("vibrato", "depth", depth, 0.0, 1.0)?,
        })
    }
}

/// Audio panning around the head ("8D"), in rotations per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    pub rotation_hz: f32,
}

impl Rotation {
    pub fn new(rotation_hz: f32) -> Result<Self, FilterError> {
        Ok(Self {
            rotation_hz: check("rotation", "rotationHz", rotation_hz, 0.0, 20.0)?,
        })
    }
}

/// Lavalink's distortion: `sin/cos/tan` offsets and scales, then an affine `offset`/`scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(clippy::struct_field_names)]
pub struct Distortion {
    pub sin_offset: f32,
    pub sin_scale: f32,
    pub cos_offset: f32,
    pub cos_scale: f32,
    pub tan_offset: f32,
    pub tan_scale: f32,
    pub offset: f32,
    pub scale: f32,
}

impl Distortion {
    pub fn validated(self) -> Result<Self, FilterError> {
        let fields = [
            ("sinOffset", self.sin_offset),
            ("sinScale", self.sin_scale),
            ("cosOffset", self.cos_offset),
            ("cosScale", self.cos_scale),
            ("tanOffset", self.tan_offset),
            ("tanScale", self.tan_scale),
            ("offset", self.offset),
            ("scale", self.scale),
        ];
        for (name, value) in fields {
            check("distortion", name, value, -10.0, 10.0)?;
        }
        Ok(self)
    }
}

impl Default for Distortion {
    fn default() -> Self {
        Self {
            sin_offset: 0.0,
            sin_scale: 1.0,
            cos_offset: 0.0,
            cos_scale: 1.0,
            tan_offset: 0.0,
            tan_scale: 1.0,
            offset: 0.0,
            scale: 1.0,
        }
    }
}

/// Stereo channel mixing matrix, each factor 0 ..= 1.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(clippy::struct_field_names)]
pub struct ChannelMix {
    pub left_to_left: f32,
    pub left_to_right: f32,
    pub right_to_left: f32,
    pub right_to_right: f32,
}

impl ChannelMix {
    pub fn new(
        left_to_left: f32,
        left_to_right: f32,
        right_to_left: f32,
        right_to_right: f32,
    ) -> Result<Self, FilterError> {
        Ok(Self {
            left_to_left: check("channelMix", "leftToLeft", left_to_left, 0.0, 1.0)?,
            left_to_right: check("channelMix", "leftToRight", left_to_right, 0.0, 1.0)?,
            right_to_left: check("channelMix", "rightToLeft", right_to_left, 0.0, 1.0)?,
            right_to_right: check("channelMix", "rightToRight", right_to_right, 0.0, 1.0)?,
        })
    }
}

impl Default for ChannelMix {
    fn default() -> Self {
        Self {
            left_to_left: 1.0,
            left_to_right: 0.0,
            right_to_left: 0.0,
            right_to_right: 1.0,
        }
    }
}

/// One-pole smoothing low-pass; `smoothing` > 1 (higher is darker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LowPass {
    pub smoothing: f32,
}

impl LowPass {
    pub fn new(smoothing: f32) -> Result<Self, FilterError> {
        Ok(Self {
            smoothing: check("lowPass", "smoothing", smoothing, 1.0, 1000.0)?,
        })
    }
}

/// Bass boost strength (seed filter), a low shelf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BassBoostLevel {
    Low,
    Medium,
    High,
    Extreme,
}

impl BassBoostLevel {
    /// Shelf gain in dB.
    pub fn gain_db(self) -> f32 {
        match self {
            Self::Low => 3.0,
            Self::Medium => 6.0,
            Self::High => 9.0,
            Self::Extreme => 12.0,
        }
    }
}

/// Freeverb-style reverb (seed filter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reverb {
    pub room_size: f32,
    pub damping: f32,
    pub wet: f32,
}

impl Reverb {
    pub fn new(room_size: f32, damping: f32, wet: f32) -> Result<Self, FilterError> {
        Ok(Self {
            room_size: check("reverb", "roomSize", room_size, 0.0, 1.0)?,
            damping: check("reverb", "damping", damping, 0.0, 1.0)?,
            wet: check("reverb", "wet", wet, 0.0, 1.0)?,
        })
    }
}

/// The full filter chain for one player. `None` / neutral values are skipped by the engine.
///
/// Processing order (as Lavalink): lowPass → channelMix → rotation → distortion → vibrato →
/// tremolo → timescale → karaoke → equalizer → bass boost → reverb → volume → limiter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FilterSpec {
    /// Filter volume multiplier 0 ..= 5 (Lavalink `volume`), `None` = 1.0.
    pub volume: Option<f32>,
    pub equalizer: Option<Equalizer>,
    pub karaoke: Option<Karaoke>,
    pub timescale: Option<Timescale>,
    pub tremolo: Option<Oscillation>,
    pub vibrato: Option<Oscillation>,
    pub rotation: Option<Rotation>,
    pub distortion: Option<Distortion>,
    pub channel_mix: Option<ChannelMix>,
    pub low_pass: Option<LowPass>,
    pub bass_boost: Option<BassBoostLevel>,
    pub reverb: Option<Reverb>,
}

impl FilterSpec {
    /// Sets the filter volume (Lavalink's 0.0 ..= 5.0).
    pub fn with_volume(mut self, volume: f32) -> Result<Self, FilterError> {
        self.volume = Some(check("volume", "volume", volume, 0.0, 5.0)?);
        Ok(self)
    }

    pub fn is_neutral(&self) -> bool {
        *self == Self::default()
    }

    /// Overlays `other` on `self`: every filter set in `other` replaces the one in `self`.
    #[must_use]
    pub fn merged_with(mut self, other: &Self) -> Self {
        macro_rules! overlay {
            ($($field:ident),*) => {$(if other.$field.is_some() { self.$field = other.$field; })*};
        }
        overlay!(
            volume,
            equalizer,
            karaoke,
            timescale,
            tremolo,
            vibrato,
            rotation,
            distortion,
            channel_mix,
            low_pass,
            bass_boost,
            reverb
        );
        self
    }

    /// Names of the filters that are active, for display.
    pub fn active_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let checks: [(&'static str, bool); 12] = [
            ("volume", self.volume.is_some()),
            ("equalizer", self.equalizer.is_some()),
            ("karaoke", self.karaoke.is_some()),
            ("timescale", self.timescale.is_some()),
            ("tremolo", self.tremolo.is_some()),
            ("vibrato", self.vibrato.is_some()),
            ("rotation", self.rotation.is_some()),
            ("distortion", self.distortion.is_some()),
            ("channelMix", self.channel_mix.is_some()),
            ("lowPass", self.low_pass.is_some()),
            ("bassBoost", self.bass_boost.is_some()),
            ("reverb", self.reverb.is_some()),
        ];
        for (name, active) in checks {
            if active {
                names.push(name);
            }
        }
        names
    }
}

/// Named filter presets: data, listable and combinable with manual filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    BassBoostLow,
    BassBoostMedium,
    BassBoostHigh,
    BassBoostExtreme,
    Reverb,
    Slow,
    Speed,
    Nightcore,
    Vaporwave,
    EightD,
    Soft,
    Pop,
    Treble,
    Loud,
    Karaoke,
    Tremolo,
    Vibrato,
}

impl Preset {
    pub const ALL: [Preset; 17] = [
        Self::BassBoostLow,
        Self::BassBoostMedium,
        Self::BassBoostHigh,
        Self::BassBoostExtreme,
        Self::Reverb,
        Self::Slow,
        Self::Speed,
        Self::Nightcore,
        Self::Vaporwave,
        Self::EightD,
        Self::Soft,
        Self::Pop,
        Self::Treble,
        Self::Loud,
        Self::Karaoke,
        Self::Tremolo,
        Self::Vibrato,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::BassBoostLow => "bassboost-low",
            Self::BassBoostMedium => "bassboost",
            Self::BassBoostHigh => "bassboost-high",
            Self::BassBoostExtreme => "bassboost-extreme",
            Self::Reverb => "reverb",
            Self::Slow => "slow",
            Self::Speed => "speed",
            Self::Nightcore => "nightcore",
            Self::Vaporwave => "vaporwave",
            Self::EightD => "8d",
            Self::Soft => "soft",
            Self::Pop => "pop",
            Self::Treble => "treble",
            Self::Loud => "loud",
            Self::Karaoke => "karaoke",
            Self::Tremolo => "tremolo",
            Self::Vibrato => "vibrato",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::BassBoostLow => "gentle low-shelf bass boost (+3 dB)",
            Self::BassBoostMedium => "low-shelf bass boost (+6 dB)",
            Self::BassBoostHigh => "strong low-shelf bass boost (+9 dB)",
            Self::BassBoostExtreme => "extreme low-shelf bass boost (+12 dB, limited)",
            Self::Reverb => "room reverb",
            Self::Slow => "slowed down (rate 0.8)",
            Self::Speed => "sped up, same pitch (speed 1.25)",
            Self::Nightcore => "faster and higher (rate 1.25)",
            Self::Vaporwave => "slower, lower and darker (rate 0.8, low-pass)",
            Self::EightD => "sound circling your head (rotation 0.2 Hz, light reverb)",
            Self::Soft => "softer highs (low-pass)",
            Self::Pop => "pop equalizer curve",
            Self::Treble => "brighter highs",
            Self::Loud => "louder, protected by the limiter",
            Self::Karaoke => "removes centred vocals",
            Self::Tremolo => "wavering volume",
            Self::Vibrato => "wavering pitch",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|preset| preset.name()).collect()
    }

    /// Parses a preset name; case, spaces, `-` and `_` are ignored (`Bass Boost` = `bassboost`).
    pub fn parse(name: &str) -> Result<Self, FilterError> {
        let wanted: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        Self::ALL
            .into_iter()
            .find(|preset| preset.name().replace('-', "") == wanted)
            .ok_or_else(|| FilterError::UnknownPreset(name.trim().to_owned()))
    }

    /// The filters this preset stands for. Presets only use values inside the valid ranges.
    #[allow(clippy::too_many_lines)] // one arm per preset reads best as a table
    pub fn spec(self) -> FilterSpec {
        let none = FilterSpec::default();
        let rate = |rate| Timescale {
            speed: 1.0,
            pitch: 1.0,
            rate,
        };
        let eq = |bands: &[(usize, f32)]| Equalizer::from_bands(bands).ok();
        match self {
            Self::BassBoostLow => FilterSpec {
                bass_boost: Some(BassBoostLevel::Low),
                ..none
            },
            Self::BassBoostMedium => FilterSpec {
                bass_boost: Some(BassBoostLevel::Medium),
                ..none
            },
            Self::BassBoostHigh => FilterSpec {
                bass_boost: Some(BassBoostLevel::High),
                ..none
            },
            Self::BassBoostExtreme => FilterSpec {
                bass_boost: Some(BassBoostLevel::Extreme),
                ..none
            },
            Self::Reverb => FilterSpec {
                reverb: Some(Reverb {
                    room_size: 0.6,
                    damping: 0.5,
                    wet: 0.3,
                }),
                ..none
            },
            Self::Slow => FilterSpec {
                timescale: Some(rate(0.8)),
                ..none
            },
            // Speed keeps the pitch and nightcore raises it, so each is told apart by its spec
            // (replies name the presets they recognise in the active filters).
            Self::Speed => FilterSpec {
                timescale: Some(Timescale {
                    speed: 1.25,
                    pitch: 1.0,
                    rate: 1.0,
                }),
                ..none
            },
            Self::Nightcore => FilterSpec {
                timescale: Some(rate(1.25)),
                ..none
            },
            Self::Vaporwave => FilterSpec {
                timescale: Some(rate(0.8)),
                low_pass: Some(LowPass { smoothing: 3.0 }),
                ..none
            },
            Self::EightD => FilterSpec {
                rotation: Some(Rotation { rotation_hz: 0.2 }),
                reverb: Some(Reverb {
                    room_size: 0.3,
                    damping: 0.5,
                    wet: 0.15,
                }),
                ..none
            },
            Self::Soft => FilterSpec {
                low_pass: Some(LowPass { smoothing: 8.0 }),
                ..none
            },
            Self::Pop => FilterSpec {
                equalizer: eq(&[
                    (0, -0.05),
                    (1, 0.0),
                    (2, 0.05),
                    (3, 0.1),
                    (4, 0.15),
                    (5, 0.15),
                    (6, 0.1),
                    (7, 0.05),
                    (8, 0.0),
                    (9, 0.0),
                    (10, 0.05),
                    (11, 0.1),
                ]),
                ..none
            },
            Self::Treble => FilterSpec {
                equalizer: eq(&[(10, 0.15), (11, 0.2), (12, 0.25), (13, 0.25), (14, 0.2)]),
                ..none
            },
            Self::Loud => FilterSpec {
                volume: Some(2.0),
                ..none
            },
            Self::Karaoke => FilterSpec {
                karaoke: Some(Karaoke::default()),
                ..none
            },
            Self::Tremolo => FilterSpec {
                tremolo: Some(Oscillation {
                    frequency: 4.0,
                    depth: 0.5,
                }),
                ..none
            },
            Self::Vibrato => FilterSpec {
                vibrato: Some(Oscillation {
                    frequency: 4.0,
                    depth: 0.5,
                }),
                ..none
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_back_from_its_name() {
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.name()), Ok(preset));
        }
        assert_eq!(Preset::parse(" Bass Boost "), Ok(Preset::BassBoostMedium));
        assert_eq!(Preset::parse("NIGHTCORE"), Ok(Preset::Nightcore));
    }

    #[test]
    fn unknown_preset_lists_the_choices() {
        let error = Preset::parse("chipmunk").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("chipmunk") && message.contains("nightcore"),
            "{message}"
        );
    }

    #[test]
    fn presets_have_valid_parameters() {
        for preset in Preset::ALL {
            let spec = preset.spec();
            assert!(!spec.is_neutral(), "{preset} does nothing");
            if let Some(eq) = spec.equalizer {
                Equalizer::new(eq.gains()).unwrap();
            }
            if let Some(t) = spec.timescale {
                Timescale::new(t.speed, t.pitch, t.rate).unwrap();
            }
            if let Some(r) = spec.reverb {
                Reverb::new(r.room_size, r.damping, r.wet).unwrap();
            }
        }
    }

    #[test]
    fn constructors_refuse_out_of_range_values() {
        assert!(Equalizer::from_bands(&[(15, 0.1)]).is_err());
        assert!(Equalizer::from_bands(&[(0, 1.5)]).is_err());
        assert!(Equalizer::from_bands(&[(0, f32::NAN)]).is_err());
        assert!(Timescale::new(0.05, 1.0, 1.0).is_err());
        assert!(Oscillation::vibrato(15.0, 0.5).is_err());
        assert!(Oscillation::tremolo(0.0, 0.5).is_err());
        assert!(LowPass::new(0.5).is_err());
        assert!(ChannelMix::new(1.2, 0.0, 0.0, 1.0).is_err());
        assert!(FilterSpec::default().with_volume(6.0).is_err());
        assert!(Karaoke::new(2.0, 1.0, 220.0, 100.0).is_err());
    }

    #[test]
    fn merge_overlays_only_the_filters_that_are_set() {
        let combined = Preset::Nightcore.spec().merged_with(&Preset::EightD.spec());
        assert!(combined.timescale.is_some());
        assert!(combined.rotation.is_some());
        assert!(combined.reverb.is_some());
        assert_eq!(
            combined.active_names(),
            vec!["timescale", "rotation", "reverb"]
        );
    }
}
