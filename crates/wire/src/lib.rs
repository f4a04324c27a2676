//! serde forms (DTOs) of the domain values that leave the process whole: a queue snapshot's
//! tracks and a filter chain in minstrel-db's `TEXT` columns, and the tracks and filters an
//! event or a command's reply carries over Redis Streams in minstrel-bus.
//!
//! The domain types derive no serde, so these mirror them, once, for both adapters. Reading
//! validates everything again through the domain's constructors: a hand-edited row or a foreign
//! stream entry becomes a clear error, never an out-of-range filter reaching the audio engine.
//! Knows serde and the domain; no I/O, no format (callers pick JSON).

use std::time::Duration;

use minstrel_domain::filters::{
    BassBoostLevel, ChannelMix, Distortion, Equalizer, Karaoke, LowPass, Oscillation, Reverb,
    Rotation, Timescale,
};
use minstrel_domain::{
    FilterError, FilterSpec, Requester, RequesterId, SourceKind, TelegramUserId, Track, TrackId,
    UserId,
};
use serde::{Deserialize, Serialize};

/// A value that does not convert: says what and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {what} is invalid: {cause}")]
pub struct WireError {
    what: &'static str,
    cause: String,
}

impl WireError {
    fn new(what: &'static str, cause: impl std::fmt::Display) -> Self {
        Self {
            what,
            cause: cause.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tracks

/// A track as JSON.
#[derive(Serialize, Deserialize)]
pub struct TrackJson {
    id: u64,
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    source: String,
    locator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thumbnail: Option<String>,
    requester: RequesterJson,
}

#[derive(Serialize, Deserialize)]
struct RequesterJson {
    #[serde(flatten)]
    id: RequesterIdJson,
    display_name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RequesterIdJson {
    Discord { id: u64 },
    Telegram { id: i64 },
    Console,
}

fn millis(duration: Duration) -> Result<u64, WireError> {
    u64::try_from(duration.as_millis()).map_err(|_| {
        WireError::new(
            "track",
            format!("the duration {duration:?} is out of range"),
        )
    })
}

impl TrackJson {
    /// The JSON form of `track`.
    ///
    /// # Errors
    /// When its duration does not fit in `u64` milliseconds.
    pub fn from_track(track: &Track) -> Result<Self, WireError> {
        let id = match &track.requested_by.id {
            RequesterId::Discord(user) => RequesterIdJson::Discord { id: user.get() },
            RequesterId::Telegram(user) => RequesterIdJson::Telegram { id: user.get() },
            RequesterId::Console => RequesterIdJson::Console,
        };
        Ok(Self {
            id: track.id.0,
            title: track.title.clone(),
            artist: track.artist.clone(),
            duration_ms: track.duration.map(millis).transpose()?,
            source: track.source_kind.as_str().to_owned(),
            locator: track.locator.clone(),
            thumbnail: track.thumbnail.clone(),
            requester: RequesterJson {
                id,
                display_name: track.requested_by.display_name.clone(),
            },
        })
    }

    /// The track again, checked by the domain's constructors.
    ///
    /// # Errors
    /// When an id or the source kind is invalid.
    pub fn into_track(self) -> Result<Track, WireError> {
        let id = match self.requester.id {
            RequesterIdJson::Discord { id } => RequesterId::Discord(
                UserId::new(id).map_err(|error| WireError::new("track", error))?,
            ),
            RequesterIdJson::Telegram { id } => RequesterId::Telegram(
                TelegramUserId::new(id).map_err(|error| WireError::new("track", error))?,
            ),
            RequesterIdJson::Console => RequesterId::Console,
        };
        Ok(Track {
            id: TrackId(self.id),
            title: self.title,
            artist: self.artist,
            duration: self.duration_ms.map(Duration::from_millis),
            source_kind: source_kind(&self.source)?,
            locator: self.locator,
            thumbnail: self.thumbnail,
            requested_by: Requester {
                id,
                display_name: self.requester.display_name,
            },
        })
    }
}

/// The source kind named `text` (`SourceKind::as_str`).
///
/// # Errors
/// When no source kind has that name.
pub fn source_kind(text: &str) -> Result<SourceKind, WireError> {
    SourceKind::parse(text).ok_or_else(|| WireError::new("source kind", format!("\"{text}\"")))
}

// ---------------------------------------------------------------------------------------------
// Filters, in Lavalink's names

/// A filter chain as JSON, in Lavalink's field names.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FiltersJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    volume: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    equalizer: Option<[f32; 15]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    karaoke: Option<KaraokeJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timescale: Option<TimescaleJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tremolo: Option<OscillationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vibrato: Option<OscillationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotation: Option<RotationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distortion: Option<DistortionJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_mix: Option<ChannelMixJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_pass: Option<LowPassJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bass_boost: Option<BassBoostJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reverb: Option<ReverbJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KaraokeJson {
    level: f32,
    mono_level: f32,
    filter_band: f32,
    filter_width: f32,
}

#[derive(Serialize, Deserialize)]
struct TimescaleJson {
    speed: f32,
    pitch: f32,
    rate: f32,
}

#[derive(Serialize, Deserialize)]
struct OscillationJson {
    frequency: f32,
    depth: f32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RotationJson {
    rotation_hz: f32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // Lavalink's names
struct DistortionJson {
    sin_offset: f32,
    sin_scale: f32,
    cos_offset: f32,
    cos_scale: f32,
    tan_offset: f32,
    tan_scale: f32,
    offset: f32,
    scale: f32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // Lavalink's names
struct ChannelMixJson {
    left_to_left: f32,
    left_to_right: f32,
    right_to_left: f32,
    right_to_right: f32,
}

#[derive(Serialize, Deserialize)]
struct LowPassJson {
    smoothing: f32,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum BassBoostJson {
    Low,
    Medium,
    High,
    Extreme,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReverbJson {
    room_size: f32,
    damping: f32,
    wet: f32,
}

impl FiltersJson {
    /// The JSON form of `spec` (neutral filters left out).
    pub fn from_spec(spec: &FilterSpec) -> Self {
        Self {
            volume: spec.volume,
            equalizer: spec.equalizer.map(|equalizer| equalizer.gains()),
            karaoke: spec.karaoke.map(|karaoke| KaraokeJson {
                level: karaoke.level,
                mono_level: karaoke.mono_level,
                filter_band: karaoke.filter_band,
                filter_width: karaoke.filter_width,
            }),
            timescale: spec.timescale.map(|timescale| TimescaleJson {
                speed: timescale.speed,
                pitch: timescale.pitch,
                rate: timescale.rate,
            }),
            tremolo: spec.tremolo.map(OscillationJson::from_domain),
            vibrato: spec.vibrato.map(OscillationJson::from_domain),
            rotation: spec.rotation.map(|rotation| RotationJson {
                rotation_hz: rotation.rotation_hz,
            }),
            distortion: spec.distortion.map(|distortion| DistortionJson {
                sin_offset: distortion.sin_offset,
                sin_scale: distortion.sin_scale,
                cos_offset: distortion.cos_offset,
                cos_scale: distortion.cos_scale,
                tan_offset: distortion.tan_offset,
                tan_scale: distortion.tan_scale,
                offset: distortion.offset,
                scale: distortion.scale,
            }),
            channel_mix: spec.channel_mix.map(|mix| ChannelMixJson {
                left_to_left: mix.left_to_left,
                left_to_right: mix.left_to_right,
                right_to_left: mix.right_to_left,
                right_to_right: mix.right_to_right,
            }),
            low_pass: spec.low_pass.map(|low_pass| LowPassJson {
                smoothing: low_pass.smoothing,
            }),
            bass_boost: spec.bass_boost.map(|level| match level {
                BassBoostLevel::Low => BassBoostJson::Low,
                BassBoostLevel::Medium => BassBoostJson::Medium,
                BassBoostLevel::High => BassBoostJson::High,
                BassBoostLevel::Extreme => BassBoostJson::Extreme,
            }),
            reverb: spec.reverb.map(|reverb| ReverbJson {
                room_size: reverb.room_size,
                damping: reverb.damping,
                wet: reverb.wet,
            }),
        }
    }

    /// Rebuilds the chain through the domain's validating constructors.
    /// The chain again, every value checked by the domain's constructors.
    ///
    /// # Errors
    /// When a value is out of the range the domain allows.
    pub fn into_spec(self) -> Result<FilterSpec, FilterError> {
        let mut spec = FilterSpec::default();
        if let Some(volume) = self.volume {
            spec = spec.with_volume(volume)?;
        }
        spec.equalizer = self.equalizer.map(Equalizer::new).transpose()?;
        spec.karaoke = self
            .karaoke
            .map(|k| Karaoke::new(k.level, k.mono_level, k.filter_band, k.filter_width))
            .transpose()?;
        spec.timescale = self
            .timescale
            .map(|t| Timescale::new(t.speed, t.pitch, t.rate))
            .transpose()?;
        spec.tremolo = self
            .tremolo
            .map(|o| Oscillation::tremolo(o.frequency, o.depth))
            .transpose()?;
        spec.vibrato = self
            .vibrato
            .map(|o| Oscillation::vibrato(o.frequency, o.depth))
            .transpose()?;
        spec.rotation = self
            .rotation
            .map(|r| Rotation::new(r.rotation_hz))
            .transpose()?;
        spec.distortion = self
            .distortion
            .map(|d| {
                Distortion {
                    sin_offset: d.sin_offset,
                    sin_scale: d.sin_scale,
                    cos_offset: d.cos_offset,
                    cos_scale: d.cos_scale,
                    tan_offset: d.tan_offset,
                    tan_scale: d.tan_scale,
                    offset: d.offset,
                    scale: d.scale,
                }
                .validated()
            })
            .transpose()?;
        spec.channel_mix = self
            .channel_mix
            .map(|m| {
                ChannelMix::new(
                    m.left_to_left,
                    m.left_to_right,
                    m.right_to_left,
                    m.right_to_right,
                )
            })
            .transpose()?;
        spec.low_pass = self
            .low_pass
            .map(|l| LowPass::new(l.smoothing))
            .transpose()?;
        spec.bass_boost = self.bass_boost.map(|level| match level {
            BassBoostJson::Low => BassBoostLevel::Low,
            BassBoostJson::Medium => BassBoostLevel::Medium,
            BassBoostJson::High => BassBoostLevel::High,
            BassBoostJson::Extreme => BassBoostLevel::Extreme,
        });
        spec.reverb = self
            .reverb
            .map(|r| Reverb::new(r.room_size, r.damping, r.wet))
            .transpose()?;
        Ok(spec)
    }
}

impl OscillationJson {
    fn from_domain(oscillation: Oscillation) -> Self {
        Self {
            frequency: oscillation.frequency,
            depth: oscillation.depth,
        }
    }
}

#[cfg(test)]
mod tests {
    use minstrel_domain::filters::Timescale;

    use super::*;

    #[test]
    fn neutral_filters_are_an_empty_object_and_a_set_filter_roundtrips() {
        let neutral = serde_json::to_string(&FiltersJson::from_spec(&FilterSpec::default()));
        assert_eq!(neutral.unwrap(), "{}");
        let spec = FilterSpec {
            timescale: Some(Timescale::new(1.25, 1.25, 1.0).unwrap()),
            ..FilterSpec::default()
        };
        let text = serde_json::to_string(&FiltersJson::from_spec(&spec)).unwrap();
        assert!(text.contains("\"timescale\""), "{text}");
        let back: FiltersJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back.into_spec(), Ok(spec));
    }

    #[test]
    fn out_of_range_values_are_refused_by_the_domain() {
        let json: FiltersJson = serde_json::from_str(r#"{"volume": 99.0}"#).unwrap();
        assert!(json.into_spec().is_err());
        let track: TrackJson = serde_json::from_str(
            r#"{"id":1,"title":"t","source":"no-such-source","locator":"x",
                "requester":{"kind":"console","display_name":"console"}}"#,
        )
        .unwrap();
        let error = track.into_track().unwrap_err();
        assert!(error.to_string().contains("source kind"), "{error}");
    }
}
