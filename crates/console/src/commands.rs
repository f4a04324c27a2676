//! Parsing console lines into use-case calls and formatting the replies.

use std::fmt::Write as _;

use minstrel_app::vocabulary::{CommandId, ParseError, Surface, parse_filter, parse_text};
use minstrel_app::{
    CommandReply, GuildCommand, GuildSettingChange, MusicError, NowPlaying, PlayOutcome, QueuePage,
};
use minstrel_domain::FilterSpec;
use minstrel_domain::track::format_duration;

use crate::Console;

/// What the console loop does after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    Continue,
    /// Block until the queue has finished.
    Wait,
    /// Leave the loop; `now` skips waiting for the queue in script mode.
    Quit {
        now: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub action: ReplyAction,
}

impl Reply {
    fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            action: ReplyAction::Continue,
        }
    }
}

pub(crate) const HELP: &str = "\
commands (the same names as on Discord):
  play <file|words>     queue a track (no argument: the active playlist)
  playnext <file|words> queue a track to play next
  playnow <file|words>  play a track at once, ahead of the queue
  pause | resume | skip | previous | replay | stop
  skipto <n>            jump to queue position n
  seek <time>           e.g. seek 1:30 or seek 90s
  queue [page]          show the queue
  np                    show what is playing
  volume <0-200>        set the volume in percent
  repeat off|track|queue
  shuffle | clear
  remove <n>            remove queue position n (remove 3-7, remove dupes, remove mine)
  move <from> <to>      move a track in the queue
  filter <preset...>    e.g. filter nightcore 8d  (filter list | filter reset)
  filter set <filter> <name=value...>  e.g. filter set distortion sinOffset=0.1 scale=2
                        (filters: volume, equalizer, karaoke, timescale, tremolo, vibrato,
                        rotation, distortion, channelMix, lowPass, bassBoost, reverb)
  filter eq <band=gain ...>            e.g. filter eq 0=0.2 1=0.15
  filter remove <filter>               e.g. filter remove reverb
  filter show           every active filter with its parameters
  history [page]        the tracks this player played lately, newest first
  playlist create|add|addto|remove|use|show|list|delete ...
  settings [normalisation on|off]      show or change this player's settings
  leave                 stop, clear the queue and let go of the player
  help                  this list
  wait                  wait until the queue has finished
  quit                  leave (quit! stops at once)";

impl Console {
    /// Runs one command line and returns the reply.
    pub async fn execute(&self, line: &str) -> Reply {
        let line = line.trim();
        let (command, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(command, rest)| (command, rest.trim()));
        let result = self.dispatch(&command.to_lowercase(), rest).await;
        match result {
            Ok(reply) => reply,
            Err(CommandError::Usage(text)) => Reply::text(text),
            Err(CommandError::Music(error)) => {
                if error.is_internal() {
                    tracing::error!(?error, command, "console command failed");
                }
                Reply::text(format!("error: {error}"))
            }
        }
    }

    async fn dispatch(&self, command: &str, rest: &str) -> Result<Reply, CommandError> {
        if let Some(id) = player_command(command) {
            let parsed = if id == CommandId::Play && rest.is_empty() {
                // `play` alone plays the active playlist.
                Ok(GuildCommand::Play {
                    query: String::new(),
                })
            } else {
                parse_text(id, rest)
            };
            let guild_command = parsed.map_err(|error| parse_error(&error, id))?;
            return self.run_player(guild_command).await.map(Reply::text);
        }
        let reply = match command {
            "" | "#" => Reply::text(""),
            _ if command.starts_with('#') => Reply::text(""),
            "help" | "?" => Reply::text(HELP),
            "filter" | "filters" => self.filter(rest).await?,
            "playlist" => self.playlist(rest).await?,
            "settings" => self.settings(rest).await?,
            "join" => Reply::text("the console plays locally; no channel to join"),
            "history" => self.history(rest).await?,
            "wait" => Reply {
                text: String::new(),
                action: ReplyAction::Wait,
            },
            "quit" | "exit" => Reply {
                text: "bye".to_owned(),
                action: ReplyAction::Quit { now: rest == "now" },
            },
            "quit!" | "exit!" => Reply {
                text: "bye".to_owned(),
                action: ReplyAction::Quit { now: true },
            },
            other => Reply::text(format!(
                "unknown command \"{other}\"; type `help` for the list"
            )),
        };
        Ok(reply)
    }

    /// Runs a player command through the command bus and renders its reply.
    async fn run_player(&self, command: GuildCommand) -> Result<String, CommandError> {
        let reply = self
            .commands
            .execute(self.guild, &self.actor, command.clone())
            .await?;
        Ok(render(&command, &reply))
    }

    async fn filter(&self, rest: &str) -> Result<Reply, CommandError> {
        let first = rest.split_whitespace().next().unwrap_or("").to_lowercase();
        if first == "list" {
            let mut text = String::from("presets:");
            for (name, description) in self.services.filters.presets() {
                let _ = write!(text, "\n  {name:<18} {description}");
            }
            return Ok(Reply::text(text));
        }
        let parsed =
            parse_filter(rest).map_err(|error| parse_error(&error, CommandId::FilterEdit))?;
        if let GuildCommand::ApplyPreset { .. } = parsed {
            // `filter nightcore 8d` applies each preset in turn.
            let mut text = String::new();
            for name in rest.split_whitespace() {
                text = self
                    .run_player(GuildCommand::ApplyPreset {
                        name: name.to_owned(),
                    })
                    .await?;
            }
            return Ok(Reply::text(text));
        }
        self.run_player(parsed).await.map(Reply::text)
    }

    /// The tracks this guild's player played lately: the console has no Discord user whose
    /// durable history could be shown, so it shows the player's own.
    async fn history(&self, rest: &str) -> Result<Reply, CommandError> {
        const PER_PAGE: usize = 10;
        let page = if rest.is_empty() {
            1
        } else {
            parse_number(rest)?.max(1)
        };
        let tracks = self
            .services
            .music
            .recently_played(self.guild, page, PER_PAGE)
            .await?;
        if tracks.is_empty() {
            return Ok(Reply::text(if page == 1 {
                "nothing played yet"
            } else {
                "no tracks on that page"
            }));
        }
        let mut text = String::from("played lately, newest first:");
        for (index, track) in tracks.iter().enumerate() {
            let number = (page - 1) * PER_PAGE + index + 1;
            let _ = write!(text, "\n{number:>3}. {}", describe(track));
        }
        Ok(Reply::text(text))
    }

    /// `settings` shows the guild settings the console can change; `settings normalisation
    /// on|off` turns loudness normalisation on or off from the next track.
    async fn settings(&self, rest: &str) -> Result<Reply, CommandError> {
        let settings = &self.services.settings;
        let on_off = |on: bool| if on { "on" } else { "off" };
        let mut words = rest.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (None, _, _) => {
                let current = settings.guild(self.guild).await?;
                Ok(Reply::text(format!(
                    "normalisation: {}",
                    on_off(current.normalisation)
                )))
            }
            (Some("normalisation" | "normalization"), Some(value), None) => {
                let on = match value.to_lowercase().as_str() {
                    "on" | "true" | "yes" => true,
                    "off" | "false" | "no" => false,
                    _ => return Err(usage("settings normalisation on|off")),
                };
                let saved = settings
                    .update_guild(
                        self.guild,
                        &self.actor,
                        GuildSettingChange::Normalisation(on),
                    )
                    .await?;
                Ok(Reply::text(format!(
                    "normalisation: {} (from the next track)",
                    on_off(saved.normalisation)
                )))
            }
            _ => Err(usage("settings [normalisation on|off]")),
        }
    }

    async fn playlist(&self, rest: &str) -> Result<Reply, CommandError> {
        let playlists = &self.services.playlists;
        let owner = self.playlist_owner();
        let (sub, args) = rest
            .split_once(char::is_whitespace)
            .map_or((rest, ""), |(sub, args)| (sub, args.trim()));
        let reply = match sub {
            "create" => {
                let playlist = playlists.create(owner, args).await?;
                format!("created playlist \"{}\"", playlist.name)
            }
            "add" => {
                let entry = playlists.add_current(owner, args, self.guild).await?;
                format!("added {} to \"{}\"", entry.title, args)
            }
            "addto" => {
                let (name, query) = args
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| usage("playlist addto <name> <file|words>"))?;
                let entries = playlists.add_query(owner, name, query).await?;
                format!("added {} track(s) to \"{name}\"", entries.len())
            }
            "remove" => {
                let (name, position) = args
                    .rsplit_once(char::is_whitespace)
                    .ok_or_else(|| usage("playlist remove <name> <position>"))?;
                let entry = playlists
                    .remove(owner, name, parse_number(position)?)
                    .await?;
                format!("removed {} from \"{name}\"", entry.title)
            }
            "use" => {
                let playlist = playlists.use_playlist(self.guild, owner, args).await?;
                format!(
                    "\"{}\" is now the active playlist: `play` with no argument plays it",
                    playlist.name
                )
            }
            "show" => {
                let playlist = playlists.show(owner, args).await?;
                let mut text = format!("{} ({} tracks)", playlist.name, playlist.entries.len());
                for (index, entry) in playlist.entries.iter().enumerate() {
                    let _ = write!(text, "\n  {}. {}", index + 1, entry.title);
                }
                text
            }
            "list" => {
                let page = if args.is_empty() {
                    1
                } else {
                    parse_number(args)?
                };
                let lists = playlists.list(owner, page).await?;
                if lists.is_empty() {
                    "no playlists yet; create one with `playlist create <name>`".to_owned()
                } else {
                    lists
                        .iter()
                        .map(|playlist| {
                            format!("{} ({} tracks)", playlist.name, playlist.entries.len())
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            }
            "delete" => {
                let playlist = playlists.delete(owner, args).await?;
                format!("deleted playlist \"{}\"", playlist.name)
            }
            _ => {
                return Err(usage(
                    "playlist create|add|addto|remove|use|show|list|delete <name> ...",
                ));
            }
        };
        Ok(Reply::text(reply))
    }
}

/// A command that failed: mistyped, or refused by the use case.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Music(#[from] MusicError),
}

impl From<minstrel_domain::FilterError> for CommandError {
    fn from(error: minstrel_domain::FilterError) -> Self {
        Self::Music(error.into())
    }
}

/// The vocabulary's player command a console word names (with the console's short forms).
fn player_command(word: &str) -> Option<CommandId> {
    Some(match word {
        "play" | "p" => CommandId::Play,
        "playnext" => CommandId::PlayNext,
        "playnow" => CommandId::PlayNow,
        "replay" => CommandId::Replay,
        "pause" => CommandId::Pause,
        "resume" => CommandId::Resume,
        "skip" | "next" => CommandId::Skip,
        "skipto" => CommandId::SkipTo,
        "previous" | "back" => CommandId::Previous,
        "stop" => CommandId::Stop,
        "seek" => CommandId::Seek,
        "queue" | "q" => CommandId::Queue,
        "np" | "nowplaying" => CommandId::NowPlaying,
        "volume" | "vol" => CommandId::Volume,
        "repeat" | "loop" => CommandId::Repeat,
        "shuffle" => CommandId::Shuffle,
        "remove" => CommandId::Remove,
        "move" => CommandId::Move,
        "clear" => CommandId::Clear,
        "leave" => CommandId::Leave,
        _ => return None,
    })
}

/// A parse error as the console says it: `usage: volume <0-200> (…)`.
fn parse_error(error: &ParseError, id: CommandId) -> CommandError {
    let spelling = match crate::parity::surface(id) {
        Surface::Offered(spelling) => spelling,
        Surface::Absent(_) => id.spec().name,
    };
    let sentence = error.sentence("", spelling.split(' ').next().unwrap_or(spelling));
    CommandError::Usage(match sentence.strip_prefix("Usage: ") {
        Some(rest) => format!("usage: {rest}"),
        None => sentence,
    })
}

/// A player command's reply in the console's words: one arm per reply of the vocabulary.
fn render(command: &GuildCommand, reply: &CommandReply) -> String {
    match reply {
        CommandReply::Joined => "joined".to_owned(),
        CommandReply::Left => "left".to_owned(),
        CommandReply::Played(outcome) => play_text(outcome),
        CommandReply::Paused => "paused".to_owned(),
        CommandReply::Resumed => "resumed".to_owned(),
        CommandReply::Skipped(outcome) => format!("skipped {}", outcome.skipped.display_title()),
        CommandReply::Voted(vote) => match &vote.skipped {
            Some(outcome) => format!("skipped {}", outcome.skipped.display_title()),
            None => format!("{} of {} votes to skip", vote.votes, vote.needed),
        },
        CommandReply::Jumped(track) if matches!(command, GuildCommand::Previous) => {
            format!("back to {}", track.display_title())
        }
        CommandReply::Jumped(track) => format!("jumped to {}", track.display_title()),
        CommandReply::Stopped(removed) => {
            format!("stopped and cleared {removed} queued track(s)")
        }
        CommandReply::Sought(_) if matches!(command, GuildCommand::Replay) => {
            "playing it again from the start".to_owned()
        }
        &CommandReply::Sought(position) => format!("jumped to {}", format_duration(position)),
        CommandReply::Queue(page) => format_queue(page),
        CommandReply::NowPlaying(now) => format_now_playing(now),
        CommandReply::Volume(volume) => format!("volume set to {volume}"),
        CommandReply::Repeat(mode) => format!("repeat: {mode}"),
        CommandReply::Shuffled(count) => format!("shuffled {count} track(s)"),
        CommandReply::Removed(track) => format!("removed {}", track.display_title()),
        CommandReply::RemovedMany(count) => format!("removed {count} track(s)"),
        CommandReply::Moved(track, to) => {
            format!("moved {} to position {}", track.display_title(), to + 1)
        }
        CommandReply::Cleared(count) => format!("cleared {count} track(s)"),
        CommandReply::Filters(spec) => match command {
            GuildCommand::ShowFilters | GuildCommand::SetFilter { .. } => describe_filters(spec),
            GuildCommand::RemoveFilter { name } => {
                format!("{} off; {}", name.trim(), format_filters(spec))
            }
            _ => format_filters(spec),
        },
    }
}

fn play_text(outcome: &PlayOutcome) -> String {
    let mut text = String::new();
    if let Some(started) = &outcome.started {
        let _ = write!(text, "playing {}", describe(started));
    }
    let queued_later = outcome.queued_later();
    if let (Some(first), Some(position)) = (queued_later.first(), outcome.position) {
        if !text.is_empty() {
            text.push('\n');
        }
        if queued_later.len() == 1 {
            let _ = write!(
                text,
                "queued {} at position {}",
                describe(first),
                position + 1
            );
        } else {
            let _ = write!(text, "queued {} tracks", queued_later.len());
        }
    }
    if outcome.rejected > 0 {
        let _ = write!(
            text,
            "\n{} track(s) did not fit in the queue",
            outcome.rejected
        );
    }
    if outcome.loading {
        text.push_str("\nthe rest of the playlist is loading; it joins the queue as it arrives");
    }
    text
}

fn usage(text: &str) -> CommandError {
    CommandError::Usage(format!("usage: {text}"))
}

fn parse_number(text: &str) -> Result<usize, CommandError> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| usage(&format!("\"{}\" is not a number", text.trim())))
}

fn describe(track: &minstrel_domain::Track) -> String {
    match track.duration {
        Some(duration) => format!("{} [{}]", track.display_title(), format_duration(duration)),
        None => track.display_title(),
    }
}

/// The active filters, named after the presets the user chose (`filters: nightcore, reverb`).
fn format_filters(spec: &FilterSpec) -> String {
    let names = spec.labels();
    if names.is_empty() {
        "filters: none".to_owned()
    } else {
        format!("filters: {}", names.join(", "))
    }
}

/// Every active filter with its parameters, one a line.
fn describe_filters(spec: &FilterSpec) -> String {
    let lines = spec.describe();
    if lines.is_empty() {
        "filters: none".to_owned()
    } else {
        format!("filters:\n  {}", lines.join("\n  "))
    }
}

fn format_now_playing(now: &NowPlaying) -> String {
    let total = now.track.duration;
    let bar = total.map_or_else(String::new, |total| {
        let ratio = if total.is_zero() {
            0.0
        } else {
            (now.position.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0)
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let filled = (ratio * 20.0).round() as usize;
        format!(" [{}{}]", "=".repeat(filled), "-".repeat(20 - filled))
    });
    format!(
        "{} {}{} {}/{} · volume {} · repeat {} · {} · {} upcoming",
        now.state,
        now.track.display_title(),
        bar,
        format_duration(now.position),
        total.map_or_else(|| "?".to_owned(), format_duration),
        now.volume,
        now.repeat,
        format_filters(&now.filters),
        now.upcoming,
    )
}

fn format_queue(page: &QueuePage) -> String {
    let mut text = match &page.current {
        Some(track) => format!("now: {}", describe(track)),
        None => "now: nothing".to_owned(),
    };
    if page.total == 0 {
        text.push_str("\nthe queue is empty");
        return text;
    }
    for (index, track) in &page.items {
        let _ = write!(text, "\n{:>3}. {}", index + 1, describe(track));
    }
    let _ = write!(
        text,
        "\npage {}/{} · {} track(s) · {} · repeat {}",
        page.page,
        page.pages,
        page.total,
        format_duration(page.total_duration),
        page.repeat
    );
    text
}
