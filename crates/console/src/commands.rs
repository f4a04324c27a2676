//! Parsing console lines into use-case calls and formatting the replies.

use std::fmt::Write as _;

use minstrel_app::{GuildSettingChange, MusicError, NowPlaying, QueuePage};
use minstrel_domain::track::{format_duration, parse_duration};
use minstrel_domain::{AddPosition, FilterSpec, RepeatMode};

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
  pause | resume | skip | previous | stop
  skipto <n>            jump to queue position n
  seek <time>           e.g. seek 1:30 or seek 90s
  queue [page]          show the queue
  np                    show what is playing
  volume <0-200>        set the volume in percent
  repeat off|track|queue
  shuffle | clear
  remove <n>            remove queue position n
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

    #[allow(clippy::too_many_lines)] // one arm per command reads as a table
    async fn dispatch(&self, command: &str, rest: &str) -> Result<Reply, CommandError> {
        let music = &self.services.music;
        let (guild, actor) = (self.guild, &self.actor);
        let reply = match command {
            "" | "#" => Reply::text(""),
            _ if command.starts_with('#') => Reply::text(""),
            "help" | "?" => Reply::text(HELP),
            "play" | "p" => self.play(rest, AddPosition::End).await?,
            "playnext" => self.play(rest, AddPosition::Next).await?,
            "pause" => {
                music.pause(guild, actor).await?;
                Reply::text("paused")
            }
            "resume" => {
                music.resume(guild, actor).await?;
                Reply::text("resumed")
            }
            "skip" | "next" => {
                let outcome = music.skip(guild, actor).await?;
                Reply::text(format!("skipped {}", outcome.skipped.display_title()))
            }
            "skipto" => {
                let index = parse_position(rest)?;
                let track = music.skip_to(guild, actor, index).await?;
                Reply::text(format!("jumped to {}", track.display_title()))
            }
            "previous" | "back" => {
                let track = music.previous(guild, actor).await?;
                Reply::text(format!("back to {}", track.display_title()))
            }
            "stop" => {
                let removed = music.stop(guild, actor).await?;
                Reply::text(format!("stopped and cleared {removed} queued track(s)"))
            }
            "seek" => {
                let position = parse_duration(rest)
                    .ok_or_else(|| usage("seek <time>, e.g. seek 1:30 or seek 90s"))?;
                music.seek(guild, actor, position).await?;
                Reply::text(format!("jumped to {}", format_duration(position)))
            }
            "queue" | "q" => {
                let page = if rest.is_empty() {
                    1
                } else {
                    parse_number(rest)?
                };
                Reply::text(format_queue(&music.queue_page(guild, page, 10).await?))
            }
            "np" | "nowplaying" => {
                Reply::text(format_now_playing(&music.now_playing(guild).await?))
            }
            "volume" | "vol" => {
                let percent: i64 = rest
                    .trim_end_matches('%')
                    .trim()
                    .parse()
                    .map_err(|_| usage("volume <0-200>"))?;
                let volume = music.set_volume(guild, actor, percent).await?;
                Reply::text(format!("volume set to {volume}"))
            }
            "repeat" | "loop" => {
                let mode =
                    RepeatMode::parse(rest).ok_or_else(|| usage("repeat off|track|queue"))?;
                music.set_repeat(guild, actor, mode).await?;
                Reply::text(format!("repeat: {mode}"))
            }
            "shuffle" => {
                let count = music.shuffle(guild, actor).await?;
                Reply::text(format!("shuffled {count} track(s)"))
            }
            "remove" => {
                let track = music.remove(guild, actor, parse_position(rest)?).await?;
                Reply::text(format!("removed {}", track.display_title()))
            }
            "move" => {
                let mut parts = rest.split_whitespace();
                let (Some(from), Some(to), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(usage("move <from> <to>"));
                };
                let track = music
                    .move_track(guild, actor, parse_position(from)?, parse_position(to)?)
                    .await?;
                Reply::text(format!(
                    "moved {} to position {}",
                    track.display_title(),
                    to
                ))
            }
            "clear" => {
                let removed = music.clear(guild, actor).await?;
                Reply::text(format!("cleared {removed} track(s)"))
            }
            "filter" | "filters" => self.filter(rest).await?,
            "playlist" => self.playlist(rest).await?,
            "settings" => self.settings(rest).await?,
            "join" => Reply::text("the console plays locally; no channel to join"),
            "leave" => {
                music.leave(guild, actor).await?;
                Reply::text("left")
            }
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

    async fn play(&self, query: &str, placement: AddPosition) -> Result<Reply, CommandError> {
        let outcome = self
            .services
            .music
            .play(self.guild, &self.actor, query, placement)
            .await?;
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
        Ok(Reply::text(text))
    }

    async fn filter(&self, rest: &str) -> Result<Reply, CommandError> {
        let filters = &self.services.filters;
        let (guild, actor) = (self.guild, &self.actor);
        let (first, args) = rest
            .split_once(char::is_whitespace)
            .map_or((rest, ""), |(first, args)| (first, args.trim()));
        let spec = match first.to_lowercase().as_str() {
            "" | "show" => {
                let active = filters.active(guild).await?;
                return Ok(Reply::text(describe_filters(&active)));
            }
            "list" => {
                let mut text = String::from("presets:");
                for (name, description) in filters.presets() {
                    let _ = write!(text, "\n  {name:<18} {description}");
                }
                return Ok(Reply::text(text));
            }
            "reset" | "off" | "clear" | "none" => filters.reset(guild, actor).await?,
            "set" if args.is_empty() => {
                return Err(usage(
                    "filter set <filter> <name=value...>, e.g. filter set distortion sinOffset=0.1",
                ));
            }
            "set" => {
                let spec = filters.set_filter_params(guild, actor, args).await?;
                return Ok(Reply::text(describe_filters(&spec)));
            }
            // The equalizer and timescale keep their short forms (`filter eq 0=0.2`).
            "eq" | "equalizer" | "timescale" => {
                let spec = filters.set_filter_params(guild, actor, rest).await?;
                return Ok(Reply::text(describe_filters(&spec)));
            }
            "remove" | "rm" if args.is_empty() => {
                return Err(usage("filter remove <filter>, e.g. filter remove reverb"));
            }
            "remove" | "rm" => {
                let spec = filters.remove_filter(guild, actor, args).await?;
                return Ok(Reply::text(format!(
                    "{} off; {}",
                    args.trim(),
                    format_filters(&spec)
                )));
            }
            _ => {
                let mut spec = FilterSpec::default();
                for name in rest.split_whitespace() {
                    spec = filters.apply_preset(guild, actor, name).await?;
                }
                spec
            }
        };
        Ok(Reply::text(format_filters(&spec)))
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

fn usage(text: &str) -> CommandError {
    CommandError::Usage(format!("usage: {text}"))
}

fn parse_number(text: &str) -> Result<usize, CommandError> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| usage(&format!("\"{}\" is not a number", text.trim())))
}

/// A 1-based position typed by a person → a 0-based index.
fn parse_position(text: &str) -> Result<usize, CommandError> {
    parse_number(text)?
        .checked_sub(1)
        .ok_or_else(|| usage("positions start at 1"))
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
