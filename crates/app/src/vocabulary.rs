//! The bot's command vocabulary as data: every command a user can give, its arguments, who may
//! use it and what it does, for every front-end at once.
//!
//! A leaf module: it depends on the domain only, nothing else in the crate.
//! - [`CommandId`] / [`CommandSpec`]: every command with its name, arguments, permission and
//!   summary. Front-ends map each to how they spell it, or to the reason they leave it out, in
//!   a `match` without a wildcard arm ([`Surface`]), so adding a command here makes the compiler
//!   list every front-end that has not decided yet. `minstrel commands --markdown` prints the
//!   parity table from those matches, and the README carries it.
//! - [`GuildCommand`]: a player command as a value, what front-ends parse their input into
//!   ([`parse_text`] for typed text) and what travels to the guild's owning process.
//! - [`Outcome`]: how a command ended, the `outcome` label every front-end counts it by.
//! - [`CommandReply`]: what a command answers, rendered by each front-end in a `match` without a
//!   wildcard arm.

mod command;
mod outcome;
mod parse;
mod reply;

pub use command::{GuildCommand, Removal, SeekTarget};
pub use outcome::Outcome;
pub use parse::{ParseError, QUEUE_PAGE_SIZE, parse_filter, parse_text};
pub use reply::{CommandReply, NowPlaying, PlayOutcome, QueuePage, SkipOutcome, VoteOutcome};

/// Every command of the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandId {
    Join,
    Leave,
    Play,
    PlayNext,
    PlayNow,
    Replay,
    Pause,
    Resume,
    Skip,
    VoteSkip,
    SkipTo,
    Previous,
    Stop,
    Seek,
    Queue,
    NowPlaying,
    Volume,
    Repeat,
    Shuffle,
    Remove,
    Move,
    Clear,
    /// Apply a preset (by name, or from a menu).
    FilterPreset,
    /// Set, show, remove or reset single filters and their parameters.
    FilterEdit,
    Preview,
    Playlist,
    /// The user's own settings (default volume, filters, autoplay).
    Settings,
    GuildSettings,
    History,
    /// A one-time code that links a Telegram chat (made in the chat).
    LinkCode,
    /// Link a Telegram chat with a Discord server.
    Link,
    Unlink,
    /// Who is in the linked server's voice channel.
    VoiceMembers,
    /// Call every member of the voice channel, with a reason.
    All,
    Help,
    /// The greeting a new user sees first.
    Start,
}

/// Who may use a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Everyone,
    /// Members with the DJ role when the server has one; everyone may act on their own tracks.
    Dj,
    /// Members who can manage the server (Discord), or the chat's admins (Telegram).
    Admin,
}

impl Permission {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Dj => "DJ role (when set)",
            Self::Admin => "server or chat admins",
        }
    }
}

/// One command: its canonical name, its arguments, who may use it and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub id: CommandId,
    pub name: &'static str,
    /// The arguments, as a usage line shows them (empty when there are none).
    pub arguments: &'static str,
    pub permission: Permission,
    pub summary: &'static str,
}

/// How one front-end offers a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Offered, spelled like this (without the prefix: `play`, `filters set`).
    Offered(&'static str),
    /// Deliberately left out, for this reason.
    Absent(&'static str),
}

impl CommandId {
    /// Every command, in the order the parity table and help list them.
    pub const ALL: [Self; 36] = [
        Self::Play,
        Self::PlayNext,
        Self::PlayNow,
        Self::Replay,
        Self::Join,
        Self::Leave,
        Self::Pause,
        Self::Resume,
        Self::Skip,
        Self::VoteSkip,
        Self::SkipTo,
        Self::Previous,
        Self::Stop,
        Self::Seek,
        Self::Queue,
        Self::NowPlaying,
        Self::Volume,
        Self::Repeat,
        Self::Shuffle,
        Self::Remove,
        Self::Move,
        Self::Clear,
        Self::FilterPreset,
        Self::FilterEdit,
        Self::Preview,
        Self::Playlist,
        Self::Settings,
        Self::GuildSettings,
        Self::History,
        Self::LinkCode,
        Self::Link,
        Self::Unlink,
        Self::VoiceMembers,
        Self::All,
        Self::Help,
        Self::Start,
    ];

    #[allow(clippy::too_many_lines)] // one row per command reads as a table
    pub fn spec(self) -> CommandSpec {
        use Permission::{Admin, Dj, Everyone};
        let (name, arguments, permission, summary) = match self {
            Self::Join => ("join", "[channel]", Everyone, "join your voice channel"),
            Self::Leave => ("leave", "", Dj, "stop, clear the queue and leave"),
            Self::Play => (
                "play",
                "<song, URL or file>",
                Everyone,
                "play a song or add it to the queue",
            ),
            Self::PlayNext => (
                "playnext",
                "<song, URL or file>",
                Everyone,
                "queue a song right after the current one",
            ),
            Self::PlayNow => (
                "playnow",
                "<song, URL or file>",
                Dj,
                "play a song at once, ahead of the queue",
            ),
            Self::Replay => ("replay", "", Dj, "play the current track from its start"),
            Self::Pause => ("pause", "", Dj, "pause playback"),
            Self::Resume => ("resume", "", Dj, "resume playback"),
            Self::Skip => ("skip", "", Dj, "skip the current track"),
            Self::VoteSkip => (
                "voteskip",
                "",
                Everyone,
                "vote to skip; skips once enough listeners agree",
            ),
            Self::SkipTo => ("skipto", "<position>", Dj, "jump to a track in the queue"),
            Self::Previous => ("previous", "", Dj, "play the previous track again"),
            Self::Stop => ("stop", "", Dj, "stop and clear the queue"),
            Self::Seek => ("seek", "<time>", Dj, "jump to a time in the track"),
            Self::Queue => ("queue", "[page]", Everyone, "show the queue"),
            Self::NowPlaying => ("nowplaying", "", Everyone, "show what is playing"),
            Self::Volume => ("volume", "<0-200>", Dj, "set the volume"),
            Self::Repeat => ("repeat", "off|track|queue", Dj, "set the repeat mode"),
            Self::Shuffle => ("shuffle", "", Dj, "shuffle the queue"),
            Self::Remove => (
                "remove",
                "<position>|<from>-<to>|dupes|mine",
                Dj,
                "remove a track, a range, the duplicates or your own tracks",
            ),
            Self::Move => ("move", "<from> <to>", Dj, "move a track in the queue"),
            Self::Clear => ("clear", "", Dj, "clear the upcoming tracks"),
            Self::FilterPreset => ("filter", "<preset>", Dj, "apply a filter preset"),
            Self::FilterEdit => (
                "filters",
                "set|remove|show|reset …",
                Dj,
                "set, show or remove one filter and its parameters",
            ),
            Self::Preview => (
                "preview",
                "<preset>",
                Everyone,
                "hear 10 s of the track with a filter",
            ),
            Self::Playlist => (
                "playlist",
                "create|add|remove|use|show|list|delete …",
                Everyone,
                "your saved playlists",
            ),
            Self::Settings => (
                "settings",
                "volume|filters|autoplay …",
                Everyone,
                "your own defaults",
            ),
            Self::GuildSettings => (
                "guildsettings",
                "djrole|idletimeout|maxqueue|stay247|… ",
                Admin,
                "the server's settings",
            ),
            Self::History => ("history", "[page]", Everyone, "what was played lately"),
            Self::LinkCode => (
                "id",
                "",
                Admin,
                "this chat's id and a one-time code to link it",
            ),
            Self::Link => (
                "link",
                "<code>",
                Admin,
                "link a Telegram chat with a Discord server",
            ),
            Self::Unlink => ("unlink", "", Admin, "unlink the Telegram chat"),
            Self::VoiceMembers => ("list", "", Everyone, "who is in voice on the linked server"),
            Self::All => (
                "all",
                "[reason]",
                Everyone,
                "call everyone in the voice channel",
            ),
            Self::Help => ("help", "", Everyone, "list the commands"),
            Self::Start => ("start", "", Everyone, "say hello and how to get started"),
        };
        CommandSpec {
            id: self,
            name,
            arguments,
            permission,
            summary,
        }
    }
}

/// A front-end's title and how it offers each command.
pub type FrontEnd<'a> = (&'a str, fn(CommandId) -> Surface);

/// The parity table in Markdown: every command against each front-end, with the reasons for
/// what one leaves out.
pub fn parity_markdown(front_ends: &[FrontEnd<'_>]) -> String {
    use std::fmt::Write as _;
    let mut table = String::from("| command | who |");
    for (title, _) in front_ends {
        let _ = write!(table, " {title} |");
    }
    table.push_str("\n|---|---|");
    for _ in front_ends {
        table.push_str("---|");
    }
    table.push('\n');
    for id in CommandId::ALL {
        let spec = id.spec();
        let _ = write!(
            table,
            "| `{}` — {} | {} |",
            spec.name,
            spec.summary,
            spec.permission.describe()
        );
        for (_, surface) in front_ends {
            let _ = match surface(id) {
                Surface::Offered(spelling) => write!(table, " `{spelling}` |"),
                Surface::Absent(reason) => write!(table, " — {reason} |"),
            };
        }
        table.push('\n');
    }
    table
}

/// The help lines of one front-end: each offered command with its arguments and summary,
/// `prefix` before the name (`/` on Discord and Telegram).
pub fn help_lines(prefix: &str, surface: fn(CommandId) -> Surface) -> Vec<String> {
    CommandId::ALL
        .into_iter()
        .filter_map(|id| match surface(id) {
            Surface::Offered(spelling) => {
                let spec = id.spec();
                let arguments = if spec.arguments.is_empty() {
                    String::new()
                } else {
                    format!(" {}", spec.arguments.trim())
                };
                Some(format!("{prefix}{spelling}{arguments} — {}", spec.summary))
            }
            Surface::Absent(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_command_is_listed_once_with_a_unique_name() {
        let ids: HashSet<CommandId> = CommandId::ALL.into_iter().collect();
        assert_eq!(ids.len(), CommandId::ALL.len());
        let names: HashSet<&str> = CommandId::ALL.iter().map(|id| id.spec().name).collect();
        assert_eq!(names.len(), CommandId::ALL.len());
    }

    fn everywhere(id: CommandId) -> Surface {
        Surface::Offered(id.spec().name)
    }

    fn nowhere(_: CommandId) -> Surface {
        Surface::Absent("not here")
    }

    #[test]
    fn the_table_has_a_row_per_command_and_a_column_per_front_end() {
        let table = parity_markdown(&[("A", everywhere), ("B", nowhere)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), CommandId::ALL.len() + 2);
        assert!(lines[0].ends_with("| A | B |"), "{}", lines[0]);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("| `play` — ")
                    && line.ends_with(" `play` | — not here |")),
            "{table}"
        );
    }

    #[test]
    fn help_lists_only_what_is_offered_with_its_arguments() {
        let lines = help_lines("/", everywhere);
        assert_eq!(lines.len(), CommandId::ALL.len());
        assert!(lines.contains(&"/volume <0-200> — set the volume".to_owned()));
        assert!(help_lines("/", nowhere).is_empty());
    }
}
