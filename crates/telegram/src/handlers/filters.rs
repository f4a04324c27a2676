//! `/filter`: add a preset, set one filter's parameters, turn one filter off, show or reset
//! them. Replies name the presets the user chose (`nightcore`), not the effects they set.

use minstrel_app::Actor;
use minstrel_domain::filters::FilterKind;
use minstrel_domain::{FilterSpec, GuildId, Preset};

use super::{Reply, music_reply};
use crate::Context;

const SET_USAGE: &str = "Usage: /filter set <filter> <name=value ...>, e.g. /filter set \
                         distortion sinOffset=0.1 scale=2";
const REMOVE_USAGE: &str = "Usage: /filter remove <filter>, e.g. /filter remove reverb";

pub(super) async fn filter(
    guild: GuildId,
    actor: &Actor,
    argument: &str,
    context: &Context,
) -> Reply {
    let commands = &context.services.commands;
    let (first, rest) = match argument.split_once(char::is_whitespace) {
        Some((first, rest)) => (first, rest.trim()),
        None => (argument, ""),
    };
    let result = match first.to_lowercase().as_str() {
        "" | "list" => return Reply::text(usage(&commands.presets())),
        "show" => commands
            .active_filters(guild, actor)
            .await
            .map(|spec| describe(&spec)),
        "reset" | "off" | "clear" => commands
            .reset_filters(guild, actor)
            .await
            .map(|_| "🎛 Filters off.".to_owned()),
        "set" if rest.is_empty() => return Reply::refusal(SET_USAGE),
        "set" => commands
            .set_filter(guild, actor, rest)
            .await
            .map(|spec| format!("🎛 {}", describe(&spec))),
        "remove" if rest.is_empty() => return Reply::refusal(REMOVE_USAGE),
        "remove" => commands
            .remove_filter(guild, actor, rest)
            .await
            .map(|spec| {
                let name = FilterKind::parse(rest).map_or(rest, |kind| kind.name());
                format!("🎛 {name} off. {}", summary(&spec))
            }),
        _ => commands
            .apply_preset(guild, actor, argument)
            .await
            .map(|spec| {
                // Said as the user chose it, with the presets and filters on beside it.
                let chosen = Preset::parse(argument)
                    .map_or_else(|_| argument.to_owned(), |preset| preset.name().to_owned());
                let labels = spec.labels();
                if labels.len() > 1 {
                    format!("🎛 Filter {chosen} on (filters now: {}).", labels.join(", "))
                } else {
                    format!("🎛 Filter {chosen} on.")
                }
            }),
    };
    match result {
        Ok(text) => Reply::text(text),
        Err(error) => music_reply(&error),
    }
}

fn usage(presets: &[(&'static str, &'static str)]) -> String {
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
