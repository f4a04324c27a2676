//! `/filters set`, `/filters remove` and `/filters show`: one filter at a time by Lavalink's
//! filter and parameter names, through the same `FilterService` path as the presets.

use minstrel_app::{Actor, FilterService, MusicError};
use minstrel_domain::filters::FilterKind;
use minstrel_domain::{FilterSpec, GuildId};

use crate::reply::{self, Reply};

/// Sets `params` (`sinOffset=0.1 scale=2`) on `filter`; the reply shows every active filter.
pub(crate) async fn set(
    filters: &FilterService,
    guild: GuildId,
    actor: &Actor,
    filter: &str,
    params: &str,
) -> Result<Reply, MusicError> {
    let spec = filters
        .set_filter_params(guild, actor, &format!("{filter} {params}"))
        .await?;
    Ok(Reply::info("Filters", describe(&spec)))
}

/// Turns `filter` off; the others stay.
pub(crate) async fn remove(
    filters: &FilterService,
    guild: GuildId,
    actor: &Actor,
    filter: &str,
) -> Result<Reply, MusicError> {
    let spec = filters.remove_filter(guild, actor, filter).await?;
    let name = FilterKind::parse(filter).map_or(filter, |kind| kind.name());
    Ok(Reply::info(
        "Filters",
        format!(
            "`{name}` is off. Active filters: {}.",
            reply::format_filters(&spec)
        ),
    ))
}

/// Every active filter with its parameters and the preset it comes from.
pub(crate) async fn show(filters: &FilterService, guild: GuildId) -> Result<Reply, MusicError> {
    Ok(Reply::info(
        "Filters",
        describe(&filters.active(guild).await?),
    ))
}

fn describe(spec: &FilterSpec) -> String {
    let lines = spec.describe();
    if lines.is_empty() {
        return "No filter is on.".to_owned();
    }
    let lines: Vec<String> = lines.iter().map(|line| format!("• `{line}`")).collect();
    format!("Active filters:\n{}", lines.join("\n"))
}
