//! A domain event as the JSON of one stream entry's `event` field.

use std::time::Duration;

use minstrel_domain::{DomainEvent, EndReason, GuildId, Volume};
use serde::{Deserialize, Serialize};

use minstrel_domain::Track;
use minstrel_wire::{FiltersJson, TrackJson};

fn track_json(track: &Track) -> Result<TrackJson, String> {
    TrackJson::from_track(track).map_err(|error| error.to_string())
}

fn track_of(json: TrackJson) -> Result<Track, String> {
    json.into_track().map_err(|error| error.to_string())
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventJson {
    TrackQueued {
        guild: u64,
        track: TrackJson,
        position: usize,
    },
    TrackStarted {
        guild: u64,
        track: TrackJson,
    },
    TrackEnded {
        guild: u64,
        track: TrackJson,
        reason: EndReasonJson,
    },
    TrackFailed {
        guild: u64,
        track: TrackJson,
        reason: String,
    },
    Paused {
        guild: u64,
    },
    Resumed {
        guild: u64,
    },
    VolumeChanged {
        guild: u64,
        volume: u16,
    },
    FiltersChanged {
        guild: u64,
        filters: FiltersJson,
    },
    Seeked {
        guild: u64,
        position_ms: u64,
    },
    QueueFinished {
        guild: u64,
    },
    Skipped {
        guild: u64,
        track: TrackJson,
    },
    VoiceLost {
        guild: u64,
        queued: usize,
    },
    CallToChat {
        guild: u64,
        caller: String,
        reason: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EndReasonJson {
    Finished,
    Skipped,
    Stopped,
    Replaced,
    Stuck,
    Failed { reason: String },
}

/// The event as JSON.
///
/// # Errors
/// A sentence when a value cannot be written (a duration beyond `u64` milliseconds).
pub(super) fn encode(event: &DomainEvent) -> Result<String, String> {
    let guild = event.guild().get();
    let json = match event {
        DomainEvent::TrackQueued {
            track, position, ..
        } => EventJson::TrackQueued {
            guild,
            track: track_json(track)?,
            position: *position,
        },
        DomainEvent::TrackStarted { track, .. } => EventJson::TrackStarted {
            guild,
            track: track_json(track)?,
        },
        DomainEvent::TrackEnded { track, reason, .. } => EventJson::TrackEnded {
            guild,
            track: track_json(track)?,
            reason: match reason {
                EndReason::Finished => EndReasonJson::Finished,
                EndReason::Skipped => EndReasonJson::Skipped,
                EndReason::Stopped => EndReasonJson::Stopped,
                EndReason::Replaced => EndReasonJson::Replaced,
                EndReason::Stuck => EndReasonJson::Stuck,
                EndReason::Failed(reason) => EndReasonJson::Failed {
                    reason: reason.clone(),
                },
            },
        },
        DomainEvent::TrackFailed { track, reason, .. } => EventJson::TrackFailed {
            guild,
            track: track_json(track)?,
            reason: reason.clone(),
        },
        DomainEvent::Paused { .. } => EventJson::Paused { guild },
        DomainEvent::Resumed { .. } => EventJson::Resumed { guild },
        DomainEvent::VolumeChanged { volume, .. } => EventJson::VolumeChanged {
            guild,
            volume: volume.percent(),
        },
        DomainEvent::FiltersChanged { filters, .. } => EventJson::FiltersChanged {
            guild,
            filters: FiltersJson::from_spec(filters),
        },
        DomainEvent::Seeked { position, .. } => EventJson::Seeked {
            guild,
            position_ms: u64::try_from(position.as_millis())
                .map_err(|_| format!("the position {position:?} is out of range"))?,
        },
        DomainEvent::QueueFinished { .. } => EventJson::QueueFinished { guild },
        DomainEvent::Skipped { track, .. } => EventJson::Skipped {
            guild,
            track: track_json(track)?,
        },
        DomainEvent::VoiceLost { queued, .. } => EventJson::VoiceLost {
            guild,
            queued: *queued,
        },
        DomainEvent::CallToChat { caller, reason, .. } => EventJson::CallToChat {
            guild,
            caller: caller.clone(),
            reason: reason.clone(),
        },
    };
    serde_json::to_string(&json).map_err(|error| format!("could not encode the event: {error}"))
}

/// The event `text` holds, validated through the domain's constructors.
///
/// # Errors
/// A sentence saying what is wrong with it.
pub(super) fn decode(text: &str) -> Result<DomainEvent, String> {
    let json: EventJson =
        serde_json::from_str(text).map_err(|error| format!("not an event: {error}"))?;
    let guild_of = |id: u64| GuildId::new(id).map_err(|error| format!("bad guild id: {error}"));
    Ok(match json {
        EventJson::TrackQueued {
            guild,
            track,
            position,
        } => DomainEvent::TrackQueued {
            guild: guild_of(guild)?,
            track: track_of(track)?,
            position,
        },
        EventJson::TrackStarted { guild, track } => DomainEvent::TrackStarted {
            guild: guild_of(guild)?,
            track: track_of(track)?,
        },
        EventJson::TrackEnded {
            guild,
            track,
            reason,
        } => DomainEvent::TrackEnded {
            guild: guild_of(guild)?,
            track: track_of(track)?,
            reason: match reason {
                EndReasonJson::Finished => EndReason::Finished,
                EndReasonJson::Skipped => EndReason::Skipped,
                EndReasonJson::Stopped => EndReason::Stopped,
                EndReasonJson::Replaced => EndReason::Replaced,
                EndReasonJson::Stuck => EndReason::Stuck,
                EndReasonJson::Failed { reason } => EndReason::Failed(reason),
            },
        },
        EventJson::TrackFailed {
            guild,
            track,
            reason,
        } => DomainEvent::TrackFailed {
            guild: guild_of(guild)?,
            track: track_of(track)?,
            reason,
        },
        EventJson::Paused { guild } => DomainEvent::Paused {
            guild: guild_of(guild)?,
        },
        EventJson::Resumed { guild } => DomainEvent::Resumed {
            guild: guild_of(guild)?,
        },
        EventJson::VolumeChanged { guild, volume } => DomainEvent::VolumeChanged {
            guild: guild_of(guild)?,
            volume: Volume::new(i64::from(volume)).map_err(|error| error.to_string())?,
        },
        EventJson::FiltersChanged { guild, filters } => DomainEvent::FiltersChanged {
            guild: guild_of(guild)?,
            filters: filters
                .into_spec()
                .map_err(|error| format!("bad filters: {error}"))?,
        },
        EventJson::Seeked { guild, position_ms } => DomainEvent::Seeked {
            guild: guild_of(guild)?,
            position: Duration::from_millis(position_ms),
        },
        EventJson::QueueFinished { guild } => DomainEvent::QueueFinished {
            guild: guild_of(guild)?,
        },
        EventJson::Skipped { guild, track } => DomainEvent::Skipped {
            guild: guild_of(guild)?,
            track: track_of(track)?,
        },
        EventJson::VoiceLost { guild, queued } => DomainEvent::VoiceLost {
            guild: guild_of(guild)?,
            queued,
        },
        EventJson::CallToChat {
            guild,
            caller,
            reason,
        } => DomainEvent::CallToChat {
            guild: guild_of(guild)?,
            caller,
            reason,
        },
    })
}

#[cfg(test)]
mod tests {
    use minstrel_domain::{FilterSpec, Preset, Requester, SourceKind, Track, TrackId};

    use super::*;

    fn track() -> Track {
        Track {
            id: TrackId(7),
            title: "Song \"quoted\" ✓".to_owned(),
            artist: Some("Band".to_owned()),
            duration: Some(Duration::from_millis(201_500)),
            source_kind: SourceKind::YouTube,
            locator: "https://example.com/watch?v=1".to_owned(),
            thumbnail: None,
            requested_by: Requester::console(),
        }
    }

    #[test]
    fn every_event_survives_the_round_trip() {
        let guild = GuildId::new(42).unwrap();
        let mut filters = FilterSpec::default();
        for preset in Preset::ALL {
            filters = filters.merged_with(&preset.spec());
        }
        let events = [
            DomainEvent::TrackQueued {
                guild,
                track: track(),
                position: 3,
            },
            DomainEvent::TrackStarted {
                guild,
                track: track(),
            },
            DomainEvent::TrackEnded {
                guild,
                track: track(),
                reason: EndReason::Failed("decoder".to_owned()),
            },
            DomainEvent::TrackEnded {
                guild,
                track: track(),
                reason: EndReason::Stuck,
            },
            DomainEvent::TrackFailed {
                guild,
                track: track(),
                reason: "gone".to_owned(),
            },
            DomainEvent::Paused { guild },
            DomainEvent::Resumed { guild },
            DomainEvent::VolumeChanged {
                guild,
                volume: Volume::new(150).unwrap(),
            },
            DomainEvent::FiltersChanged { guild, filters },
            DomainEvent::Seeked {
                guild,
                position: Duration::from_millis(61_250),
            },
            DomainEvent::QueueFinished { guild },
            DomainEvent::Skipped {
                guild,
                track: track(),
            },
            DomainEvent::VoiceLost { guild, queued: 4 },
            DomainEvent::CallToChat {
                guild,
                caller: "Ada <b>\"Lovelace\"</b>".to_owned(),
                reason: Some("movie night ✓".to_owned()),
            },
            DomainEvent::CallToChat {
                guild,
                caller: "Ada".to_owned(),
                reason: None,
            },
        ];
        for event in events {
            let text = encode(&event).unwrap();
            assert_eq!(decode(&text).unwrap(), event, "{text}");
        }
    }

    #[test]
    fn damaged_entries_are_refused_with_a_reason() {
        assert!(decode("not json").unwrap_err().contains("not an event"));
        assert!(decode(r#"{"type":"paused","guild":0}"#).is_err());
        let loud = decode(r#"{"type":"volume_changed","guild":1,"volume":999}"#);
        assert!(loud.is_err(), "{loud:?}");
        let wild = decode(r#"{"type":"filters_changed","guild":1,"filters":{"volume":99.0}}"#);
        assert!(wild.unwrap_err().contains("bad filters"));
    }
}
