//! A guild command's reply in Telegram's words: one arm per reply of the vocabulary, so a new
//! reply is listed by the compiler here until it has its words.

use minstrel_app::{Actor, CommandReply, GuildCommand};
use minstrel_domain::track::format_duration;
use minstrel_domain::{GuildId, PlaybackState};

use super::{Reply, filters};
use crate::Context;
use crate::text::{now_playing_text, play_text, queue_text};

pub(super) async fn render(
    command: &GuildCommand,
    reply: CommandReply,
    guild: GuildId,
    actor: &Actor,
    context: &Context,
) -> Reply {
    match reply {
        CommandReply::Joined => Reply::text("🔊 Joined the voice channel."),
        CommandReply::Left => Reply::text("👋 Left the voice channel and cleared the queue."),
        CommandReply::Played(outcome) => match &outcome.started {
            Some(started) => Reply::now_playing(play_text(&outcome), false, started.id),
            None => Reply::text(play_text(&outcome)),
        },
        CommandReply::Paused => Reply::text("⏸ Paused."),
        CommandReply::Resumed => Reply::text("▶ Resumed."),
        CommandReply::Skipped(outcome) => match outcome.next {
            Some(next) => Reply::now_playing(
                format!(
                    "⏭ Skipped {}. Now playing: {}",
                    outcome.skipped.display_title(),
                    next.display_title()
                ),
                false,
                next.id,
            ),
            None => Reply::text(format!("⏭ Skipped {}.", outcome.skipped.display_title())),
        },
        CommandReply::Voted(vote) => match vote.skipped {
            Some(outcome) => Reply::text(format!("⏭ Skipped {}.", outcome.skipped.display_title())),
            None => Reply::text(format!(
                "🗳 {} of {} votes to skip.",
                vote.votes, vote.needed
            )),
        },
        CommandReply::Jumped(track) => Reply::now_playing(
            format!("⏭ Now playing: {}", track.display_title()),
            false,
            track.id,
        ),
        CommandReply::Stopped(removed) => {
            Reply::text(format!("⏹ Stopped and cleared {removed} queued track(s)."))
        }
        CommandReply::Sought(_) if matches!(command, GuildCommand::Replay) => {
            Reply::text("⏮ Playing the track again from its start.")
        }
        CommandReply::Sought(position) => {
            Reply::text(format!("⏩ Playing from {}.", format_duration(position)))
        }
        CommandReply::Queue(page) => {
            if page.current.is_some() {
                // The keyboard offers Resume while paused, as the now-playing message does.
                let paused = context
                    .services
                    .commands
                    .now_playing(guild, actor)
                    .await
                    .is_ok_and(|now| now.state == PlaybackState::Paused);
                Reply::with_player_keyboard(queue_text(&page), paused)
            } else {
                Reply::text(queue_text(&page))
            }
        }
        CommandReply::NowPlaying(now) => Reply::now_playing(
            now_playing_text(&now),
            now.state == PlaybackState::Paused,
            now.track.id,
        ),
        CommandReply::Volume(volume) => Reply::text(format!("🔊 Volume set to {volume}.")),
        CommandReply::Repeat(mode) => {
            context.repeat_modes.set(guild, mode);
            Reply::text(format!("🔁 Repeat: {mode}."))
        }
        CommandReply::Shuffled(count) => Reply::text(format!("🔀 Shuffled {count} track(s).")),
        CommandReply::Removed(track) => {
            Reply::text(format!("🗑 Removed {}.", track.display_title()))
        }
        CommandReply::RemovedMany(count) => Reply::text(format!("🗑 Removed {count} track(s).")),
        CommandReply::Moved(track, to) => Reply::text(format!(
            "↕ Moved {} to position {}.",
            track.display_title(),
            to + 1
        )),
        CommandReply::Cleared(count) => {
            Reply::text(format!("🧹 Cleared {count} upcoming track(s)."))
        }
        CommandReply::Filters(spec) => Reply::text(filters::render(command, &spec)),
    }
}
