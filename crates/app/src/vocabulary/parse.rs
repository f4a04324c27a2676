//! Text arguments → [`GuildCommand`]: one parser for the front-ends where people type commands
//! (Telegram and the console), so both accept the same words and refuse them alike.

use minstrel_domain::RepeatMode;
use minstrel_domain::track::parse_duration;

use super::{CommandId, GuildCommand, Removal, SeekTarget};

/// Tracks on one queue page in the text front-ends.
pub const QUEUE_PAGE_SIZE: usize = 10;

/// Why typed arguments did not make a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The arguments do not fit: `hint` says what would.
    Usage { id: CommandId, hint: &'static str },
    /// The command is not a player command, or needs what only its front-end knows (the
    /// caller's voice channel): the front-end handles it itself.
    NotAPlayerCommand(CommandId),
}

impl ParseError {
    /// One sentence for the person who typed it: the usage line, spelled as this front-end
    /// spells the command (`prefix` is `/` on Telegram, empty on the console).
    pub fn sentence(&self, prefix: &str, spelling: &str) -> String {
        match self {
            Self::Usage { id, hint } => {
                let arguments = id.spec().arguments.trim();
                if hint.is_empty() {
                    format!("Usage: {prefix}{spelling} {arguments}")
                } else {
                    format!("Usage: {prefix}{spelling} {arguments} ({hint})")
                }
            }
            Self::NotAPlayerCommand(id) => {
                format!("{prefix}{spelling} is not a player command ({id:?})")
            }
        }
    }
}

/// Parses the text after a command's name into the command.
///
/// # Errors
/// [`ParseError::Usage`] when the arguments do not fit, [`ParseError::NotAPlayerCommand`] for
/// the commands front-ends run themselves.
pub fn parse_text(id: CommandId, arguments: &str) -> Result<GuildCommand, ParseError> {
    let text = arguments.trim();
    let usage = |hint: &'static str| ParseError::Usage { id, hint };
    let nothing = |command: GuildCommand| {
        if text.is_empty() {
            Ok(command)
        } else {
            Err(usage("it takes no arguments"))
        }
    };
    match id {
        CommandId::Leave => nothing(GuildCommand::Leave),
        CommandId::Play | CommandId::PlayNext | CommandId::PlayNow if text.is_empty() => {
            Err(usage("tell me what to play: search words, a URL or a file"))
        }
        CommandId::Play => Ok(GuildCommand::Play {
            query: text.to_owned(),
        }),
        CommandId::PlayNext => Ok(GuildCommand::PlayNext {
            query: text.to_owned(),
        }),
        CommandId::PlayNow => Ok(GuildCommand::PlayNow {
            query: text.to_owned(),
        }),
        CommandId::Replay => nothing(GuildCommand::Replay),
        CommandId::Pause => nothing(GuildCommand::Pause),
        CommandId::Resume => nothing(GuildCommand::Resume),
        CommandId::Skip => nothing(GuildCommand::Skip),
        CommandId::SkipTo => position(text)
            .map(|index| GuildCommand::SkipTo { index })
            .ok_or(usage("positions start at 1, as the queue shows them")),
        CommandId::Previous => nothing(GuildCommand::Previous),
        CommandId::Stop => nothing(GuildCommand::Stop),
        CommandId::Seek => seek_target(text)
            .map(|target| GuildCommand::Seek { target })
            .ok_or(usage("e.g. 1:30, 90s, +30 or -10")),
        CommandId::Queue => {
            let page = if text.is_empty() {
                Some(1)
            } else {
                text.parse::<usize>().ok().filter(|page| *page > 0)
            };
            page.map(|page| GuildCommand::Queue {
                page,
                per_page: QUEUE_PAGE_SIZE,
            })
            .ok_or(usage("pages start at 1"))
        }
        CommandId::NowPlaying => nothing(GuildCommand::NowPlaying),
        CommandId::Volume => text
            .trim_end_matches('%')
            .trim()
            .parse::<i64>()
            .map(|percent| GuildCommand::SetVolume { percent })
            .map_err(|_| usage("a percentage, e.g. 80")),
        CommandId::Repeat => RepeatMode::parse(text)
            .map(|mode| GuildCommand::SetRepeat { mode })
            .ok_or(usage("")),
        CommandId::Shuffle => nothing(GuildCommand::Shuffle),
        CommandId::Remove => {
            removal(text).ok_or(usage("positions start at 1, as the queue shows them"))
        }
        CommandId::Move => {
            let mut words = text.split_whitespace();
            match (
                words.next().and_then(position),
                words.next().and_then(position),
                words.next(),
            ) {
                (Some(from), Some(to), None) => Ok(GuildCommand::Move { from, to }),
                _ => Err(usage("two positions, e.g. 3 1")),
            }
        }
        CommandId::Clear => nothing(GuildCommand::Clear),
        CommandId::FilterPreset if text.is_empty() => Err(usage("e.g. nightcore")),
        CommandId::FilterPreset => Ok(GuildCommand::ApplyPreset {
            name: text.to_owned(),
        }),
        CommandId::FilterEdit => filter_edit(id, text),
        CommandId::Join
        | CommandId::VoteSkip
        | CommandId::Preview
        | CommandId::Playlist
        | CommandId::Settings
        | CommandId::GuildSettings
        | CommandId::History
        | CommandId::LinkCode
        | CommandId::Link
        | CommandId::Unlink
        | CommandId::VoiceMembers
        | CommandId::All
        | CommandId::Help
        | CommandId::Start => Err(ParseError::NotAPlayerCommand(id)),
    }
}

/// `remove 3`, `remove 3-7`, `remove dupes`, `remove mine`.
fn removal(text: &str) -> Option<GuildCommand> {
    let removal = match text.to_lowercase().as_str() {
        "dupes" | "duplicates" => Removal::Duplicates,
        "mine" => Removal::RequestedBy(None),
        _ => match text.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (position(from.trim())?, position(to.trim())?);
                if from > to {
                    return None;
                }
                Removal::Range { from, to }
            }
            None => return position(text).map(|index| GuildCommand::Remove { index }),
        },
    };
    Some(GuildCommand::RemoveMany { removal })
}

/// `filter …` as people type it: `set <filter> name=value…`, `remove <filter>`, `show`,
/// `reset`, the equalizer and timescale short forms (`eq 0=0.2`), or else a preset's name.
///
/// # Errors
/// A usage line when `set` or `remove` has nothing to act on.
pub fn parse_filter(arguments: &str) -> Result<GuildCommand, ParseError> {
    let text = arguments.trim();
    let first = text.split_whitespace().next().unwrap_or("").to_lowercase();
    match first.as_str() {
        "" | "set" | "remove" | "rm" | "show" | "reset" | "off" | "clear" | "none" | "eq"
        | "equalizer" | "timescale" => filter_edit(CommandId::FilterEdit, text),
        _ => parse_text(CommandId::FilterPreset, text),
    }
}

fn filter_edit(id: CommandId, text: &str) -> Result<GuildCommand, ParseError> {
    let (first, rest) = text
        .split_once(char::is_whitespace)
        .map_or((text, ""), |(first, rest)| (first, rest.trim()));
    match first.to_lowercase().as_str() {
        "" | "show" => Ok(GuildCommand::ShowFilters),
        "reset" | "off" | "clear" | "none" => Ok(GuildCommand::ResetFilters),
        "set" if rest.is_empty() => Err(ParseError::Usage {
            id,
            hint: "e.g. set distortion sinOffset=0.1 scale=2",
        }),
        "set" => Ok(GuildCommand::SetFilter {
            text: rest.to_owned(),
        }),
        // The equalizer and timescale keep their short forms (`eq 0=0.2`).
        "eq" | "equalizer" | "timescale" => Ok(GuildCommand::SetFilter {
            text: text.to_owned(),
        }),
        "remove" | "rm" if rest.is_empty() => Err(ParseError::Usage {
            id,
            hint: "e.g. remove reverb",
        }),
        "remove" | "rm" => Ok(GuildCommand::RemoveFilter {
            name: rest.to_owned(),
        }),
        _ => Err(ParseError::Usage {
            id,
            hint: "set, remove, show or reset",
        }),
    }
}

/// A 1-based position typed by a person → a 0-based index.
fn position(text: &str) -> Option<usize> {
    text.trim().parse::<usize>().ok()?.checked_sub(1)
}

/// `1:30`, `90s`, `90` → a time; `+30` / `-10` → forward or back by that much.
fn seek_target(text: &str) -> Option<SeekTarget> {
    if let Some(by) = text.strip_prefix('+') {
        return parse_duration(by).map(SeekTarget::Forward);
    }
    if let Some(by) = text.strip_prefix('-') {
        return parse_duration(by).map(SeekTarget::Back);
    }
    parse_duration(text).map(SeekTarget::At)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn positions_are_typed_from_one_and_kept_from_zero() {
        assert_eq!(
            parse_text(CommandId::SkipTo, "3"),
            Ok(GuildCommand::SkipTo { index: 2 })
        );
        assert_eq!(
            parse_text(CommandId::Move, " 3  1 "),
            Ok(GuildCommand::Move { from: 2, to: 0 })
        );
        for bad in ["0", "", "x", "-1"] {
            assert!(
                matches!(
                    parse_text(CommandId::Remove, bad),
                    Err(ParseError::Usage { .. })
                ),
                "{bad}"
            );
        }
        assert!(parse_text(CommandId::Move, "1 2 3").is_err());
    }

    #[test]
    fn remove_takes_a_position_a_range_the_duplicates_or_ones_own() {
        let remove = |text| parse_text(CommandId::Remove, text);
        assert_eq!(remove("3"), Ok(GuildCommand::Remove { index: 2 }));
        let many = |removal| Ok(GuildCommand::RemoveMany { removal });
        assert_eq!(remove("3-7"), many(Removal::Range { from: 2, to: 6 }));
        assert_eq!(remove(" 3 - 3 "), many(Removal::Range { from: 2, to: 2 }));
        assert_eq!(remove("Dupes"), many(Removal::Duplicates));
        assert_eq!(remove("mine"), many(Removal::RequestedBy(None)));
        for wrong in ["7-3", "0-2", "3-", "all", ""] {
            assert!(
                matches!(remove(wrong), Err(ParseError::Usage { .. })),
                "{wrong}"
            );
        }
        assert_eq!(
            parse_text(CommandId::PlayNow, " song "),
            Ok(GuildCommand::PlayNow {
                query: "song".to_owned()
            })
        );
        assert!(parse_text(CommandId::PlayNow, "").is_err());
        assert_eq!(parse_text(CommandId::Replay, ""), Ok(GuildCommand::Replay));
    }

    #[test]
    fn seeks_go_to_a_time_or_forward_and_back() {
        let seek = |text| match parse_text(CommandId::Seek, text) {
            Ok(GuildCommand::Seek { target }) => Some(target),
            _ => None,
        };
        let secs = Duration::from_secs;
        assert_eq!(seek("1:30"), Some(SeekTarget::At(secs(90))));
        assert_eq!(seek("+30"), Some(SeekTarget::Forward(secs(30))));
        assert_eq!(seek("-10s"), Some(SeekTarget::Back(secs(10))));
        assert_eq!(seek("soon"), None);
        assert_eq!(SeekTarget::Back(secs(10)).resolve(secs(4)), secs(0));
        assert_eq!(SeekTarget::Forward(secs(30)).resolve(secs(4)), secs(34));
    }

    #[test]
    fn filter_words_pick_an_edit_or_a_preset() {
        assert_eq!(
            parse_filter("set distortion sinOffset=0.1"),
            Ok(GuildCommand::SetFilter {
                text: "distortion sinOffset=0.1".to_owned()
            })
        );
        assert_eq!(
            parse_filter("remove reverb"),
            Ok(GuildCommand::RemoveFilter {
                name: "reverb".to_owned()
            })
        );
        assert_eq!(parse_filter(""), Ok(GuildCommand::ShowFilters));
        assert_eq!(parse_filter("reset"), Ok(GuildCommand::ResetFilters));
        assert_eq!(
            parse_filter("nightcore"),
            Ok(GuildCommand::ApplyPreset {
                name: "nightcore".to_owned()
            })
        );
        assert!(parse_filter("set").is_err());
    }

    #[test]
    fn a_usage_line_is_one_sentence_in_the_front_ends_spelling() {
        let error = parse_text(CommandId::Volume, "loud").unwrap_err();
        assert_eq!(
            error.sentence("/", "volume"),
            "Usage: /volume <0-200> (a percentage, e.g. 80)"
        );
        assert!(parse_text(CommandId::Pause, "now").is_err());
        assert_eq!(
            parse_text(CommandId::Help, ""),
            Err(ParseError::NotAPlayerCommand(CommandId::Help))
        );
    }

    /// Every command the parser accepts names the vocabulary entry it was parsed for.
    #[test]
    fn a_parsed_command_belongs_to_its_entry() {
        let example = |id: CommandId| match id {
            CommandId::Play | CommandId::PlayNext | CommandId::PlayNow => "song",
            CommandId::SkipTo | CommandId::Remove => "2",
            CommandId::Move => "2 1",
            CommandId::Seek => "+5",
            CommandId::Volume => "50",
            CommandId::Repeat => "queue",
            CommandId::FilterPreset => "nightcore",
            CommandId::FilterEdit => "remove reverb",
            _ => "",
        };
        for id in CommandId::ALL {
            if let Ok(command) = parse_text(id, example(id)) {
                assert_eq!(command.id(), id, "{command:?}");
            }
        }
    }
}
