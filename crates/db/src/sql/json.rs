//! JSON forms of the values stored whole in `TEXT` columns: a queue's tracks, a filter chain,
//! and lists of presets.
//!
//! The domain types carry no serde derives; their mirrors live in minstrel-wire (shared with
//! the Redis event bus). Reading validates everything again through the domain's constructors:
//! a hand-edited or corrupted row becomes a clear `Internal` error, never an out-of-range filter
//! reaching the audio engine.

use minstrel_app::ports::StoreError;
use minstrel_domain::{FilterSpec, Preset, SourceKind, Track};
use minstrel_wire::{FiltersJson, TrackJson, WireError};
use serde::{Deserialize, Serialize};

fn invalid(what: &str, cause: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("the stored {what} is invalid: {cause}"))
}

fn to_text<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Internal(format!("could not encode the {what}: {error}")))
}

fn from_text<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| invalid(what, error))
}

// ---------------------------------------------------------------------------------------------
// Presets

pub(crate) fn presets_to_text(presets: &[Preset]) -> Result<String, StoreError> {
    let names: Vec<&str> = presets.iter().map(|preset| preset.name()).collect();
    to_text(&names, "filter presets")
}

pub(crate) fn presets_from_text(text: &str) -> Result<Vec<Preset>, StoreError> {
    let names: Vec<String> = from_text(text, "filter presets")?;
    names
        .iter()
        .map(|name| Preset::parse(name).map_err(|error| invalid("filter presets", error)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tracks

pub(crate) fn source_kind(text: &str) -> Result<SourceKind, StoreError> {
    minstrel_wire::source_kind(text).map_err(|error| stored(&error))
}

/// A stored value the domain refuses.
fn stored(error: &WireError) -> StoreError {
    StoreError::Internal(format!("stored data is damaged: {error}"))
}

pub(crate) fn tracks_to_text<'a>(
    tracks: impl IntoIterator<Item = &'a Track>,
) -> Result<String, StoreError> {
    let tracks = tracks
        .into_iter()
        .map(TrackJson::from_track)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| stored(&error))?;
    to_text(&tracks, "tracks")
}

pub(crate) fn tracks_from_text(text: &str) -> Result<Vec<Track>, StoreError> {
    from_text::<Vec<TrackJson>>(text, "tracks")?
        .into_iter()
        .map(|track| track.into_track().map_err(|error| stored(&error)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Filters, in Lavalink's names

pub(crate) fn filters_to_text(spec: &FilterSpec) -> Result<String, StoreError> {
    to_text(&FiltersJson::from_spec(spec), "filters")
}

pub(crate) fn filters_from_text(text: &str) -> Result<FilterSpec, StoreError> {
    from_text::<FiltersJson>(text, "filters")?
        .into_spec()
        .map_err(|error| invalid("filters", error))
}

#[cfg(test)]
mod tests {
    use minstrel_domain::RequesterId;

    use super::*;
    use crate::conformance::fixtures;

    #[test]
    fn every_filter_roundtrips_and_neutral_is_an_empty_object() {
        let spec = fixtures::every_filter();
        assert_eq!(
            filters_from_text(&filters_to_text(&spec).unwrap()),
            Ok(spec)
        );
        assert_eq!(filters_to_text(&FilterSpec::default()).unwrap(), "{}");
        assert_eq!(filters_from_text("{}"), Ok(FilterSpec::default()));
    }

    #[test]
    fn out_of_range_stored_filters_are_refused() {
        let error = filters_from_text(r#"{"volume": 99.0}"#).unwrap_err();
        assert!(
            matches!(&error, StoreError::Internal(cause) if cause.contains("filters")),
            "{error:?}"
        );
        assert!(filters_from_text("not json").is_err());
    }

    #[test]
    fn tracks_of_every_requester_roundtrip() {
        let tracks = [
            fixtures::full_track(1, RequesterId::Discord(fixtures::user())),
            fixtures::full_track(2, RequesterId::Telegram(fixtures::telegram_user())),
            fixtures::bare_track(3),
        ];
        let text = tracks_to_text(&tracks).unwrap();
        assert_eq!(tracks_from_text(&text).unwrap(), tracks);
    }

    #[test]
    fn presets_roundtrip_by_name() {
        let presets = [Preset::Nightcore, Preset::BassBoostLow, Preset::EightD];
        let text = presets_to_text(&presets).unwrap();
        assert_eq!(text, r#"["nightcore","bassboost-low","8d"]"#);
        assert_eq!(presets_from_text(&text).unwrap(), presets);
        assert!(presets_from_text(r#"["no-such-preset"]"#).is_err());
    }
}
