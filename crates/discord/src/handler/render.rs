//! A player command's reply in Discord's words: one arm per reply of the vocabulary, so a new
//! reply is listed by the compiler here until it has its words.

use std::fmt::Write as _;

use minstrel_app::{CommandReply, GuildCommand};
use minstrel_domain::FilterSpec;
use minstrel_domain::filters::FilterKind;
use minstrel_domain::track::format_duration;

use super::run::play_reply;
use crate::reply::{self, Reply};

pub(super) fn render(command: &GuildCommand, reply: CommandReply) -> Reply {
    match reply {
        CommandReply::Joined => Reply::info("Joined", "Connected to the voice channel."),
        CommandReply::Left => Reply::info("Left", "Disconnected and cleared the queue."),
        CommandReply::Played(outcome) => play_reply(&outcome),
        CommandReply::Paused => Reply::info("Paused", "Playback is paused; /resume carries on."),
        CommandReply::Resumed => Reply::info("Resumed", "Playing again."),
        CommandReply::Skipped(outcome) => {
            let mut text = format!("Skipped {}.", reply::describe(&outcome.skipped));
            if let Some(next) = &outcome.next {
                let _ = write!(text, "\nNow playing {}.", reply::describe(next));
            }
            Reply::info("Skipped", text)
        }
        CommandReply::Voted(vote) => match vote.skipped {
            Some(skip) => Reply::info(
                "Vote skip",
                format!(
                    "The vote passed: skipped {}.",
                    reply::describe(&skip.skipped)
                ),
            ),
            None => Reply::info(
                "Vote skip",
                format!("{} of {} votes to skip.", vote.votes, vote.needed),
            ),
        },
        CommandReply::Jumped(track) if matches!(command, GuildCommand::Previous) => Reply::info(
            "Back",
            format!("Playing {} again.", reply::describe(&track)),
        ),
        CommandReply::Jumped(track) => Reply::info(
            "Jumped",
            format!("Now playing {}.", reply::describe(&track)),
        ),
        CommandReply::Stopped(removed) => Reply::info(
            "Stopped",
            format!("Stopped and cleared {removed} queued track(s)."),
        ),
        CommandReply::Sought(_) if matches!(command, GuildCommand::Replay) => {
            Reply::info("Replay", "Playing the track again from its start.")
        }
        CommandReply::Sought(position) => {
            Reply::info("Seek", format!("Jumped to {}.", format_duration(position)))
        }
        CommandReply::Queue(page) => reply::queue(&page),
        CommandReply::NowPlaying(now) => reply::now_playing(&now, None),
        CommandReply::Volume(volume) => Reply::info("Volume", format!("Volume set to {volume}.")),
        CommandReply::Repeat(mode) => Reply::info("Repeat", format!("Repeat: {mode}.")),
        CommandReply::Shuffled(count) => {
            Reply::info("Shuffled", format!("Shuffled {count} track(s)."))
        }
        CommandReply::Removed(track) => {
            Reply::info("Removed", format!("Removed {}.", reply::describe(&track)))
        }
        CommandReply::RemovedMany(count) => {
            Reply::info("Removed", format!("Removed {count} track(s)."))
        }
        CommandReply::Moved(track, to) => Reply::info(
            "Moved",
            format!("Moved {} to position {}.", reply::describe(&track), to + 1),
        ),
        CommandReply::Cleared(count) => {
            Reply::info("Cleared", format!("Cleared {count} track(s)."))
        }
        CommandReply::Filters(spec) => filters(command, &spec),
    }
}

/// A filter reply: the changed or shown filters with their parameters, a removal by name,
/// otherwise the names of the active filters (presets by the name the member chose).
fn filters(command: &GuildCommand, spec: &FilterSpec) -> Reply {
    match command {
        GuildCommand::ShowFilters | GuildCommand::SetFilter { .. } => {
            Reply::info("Filters", describe(spec))
        }
        GuildCommand::RemoveFilter { name } => {
            let name = FilterKind::parse(name)
                .map_or_else(|_| name.clone(), |kind| kind.name().to_owned());
            Reply::info(
                "Filters",
                format!(
                    "`{name}` is off. Active filters: {}.",
                    reply::format_filters(spec)
                ),
            )
        }
        GuildCommand::ResetFilters => Reply::info("Filters", "Every filter is off."),
        _ => Reply::info(
            "Filters",
            format!("Active filters: {}.", reply::format_filters(spec)),
        ),
    }
}

/// Every active filter with its parameters and the preset it comes from.
fn describe(spec: &FilterSpec) -> String {
    let lines = spec.describe();
    if lines.is_empty() {
        return "No filter is on.".to_owned();
    }
    let lines: Vec<String> = lines.iter().map(|line| format!("• `{line}`")).collect();
    format!("Active filters:\n{}", lines.join("\n"))
}
