//! `/filter`: add a preset, set one filter's parameters, turn one filter off, show or reset
//! them. Replies name the presets the user chose (`nightcore`), not the effects they set.

use minstrel_app::GuildCommand;
use minstrel_domain::filters::FilterKind;
use minstrel_domain::{FilterSpec, Preset};

/// The reply to a filter command: what `command` changed, in the words the user chose.
pub(super) fn render(command: &GuildCommand, spec: &FilterSpec) -> String {
    match command {
        GuildCommand::ApplyPreset { name } => {
            // Said as the user chose it, with the presets and filters on beside it.
            let chosen = Preset::parse(name)
                .map_or_else(|_| name.clone(), |preset| preset.name().to_owned());
            let labels = spec.labels();
            if labels.len() > 1 {
                format!("🎛 Filter {chosen} on (filters now: {}).", labels.join(", "))
            } else {
                format!("🎛 Filter {chosen} on.")
            }
        }
        GuildCommand::SetFilter { .. } => format!("🎛 {}", describe(spec)),
        GuildCommand::RemoveFilter { name } => {
            let name = FilterKind::parse(name).map_or(name.as_str(), |kind| kind.name());
            format!("🎛 {name} off. {}", summary(spec))
        }
        GuildCommand::ResetFilters => "🎛 Filters off.".to_owned(),
        _ => describe(spec),
    }
}

pub(super) fn usage(presets: &[(&'static str, &'static str)]) -> String {
    let presets: Vec<String> = presets
        .iter()
        .map(|(name, description)| format!("{name}: {description}"))
        .collect();
    format!(
        "Usage: /filter <preset>, /filter set <filter> <name=value ...>, /filter remove \
         <filter>, /filter show, /filter reset.\nFilters: {}.\nPresets:\n{}",
        FilterKind::names().join(", "),
        presets.join("\n")
    )
}

/// Every active filter with its parameters.
fn describe(spec: &FilterSpec) -> String {
    let lines = spec.describe();
    if lines.is_empty() {
        "No filters are on.".to_owned()
    } else {
        format!("Filters now:\n• {}", lines.join("\n• "))
    }
}

/// The active filters by name: the presets chosen, then the filters set by hand.
fn summary(spec: &FilterSpec) -> String {
    let labels = spec.labels();
    if labels.is_empty() {
        "No filters are on.".to_owned()
    } else {
        format!("Filters now: {}.", labels.join(", "))
    }
}
