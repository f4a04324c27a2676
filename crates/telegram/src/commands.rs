//! The bot's commands, as Telegram shows them (`setMyCommands`) and parses them.

use minstrel_app::vocabulary::CommandId;
use teloxide::types::BotCommand;
use teloxide::utils::command::BotCommands;

// Every command the bot answers. Arguments are taken as text and checked by the handlers, so a
// wrong argument gets a usage line instead of silence. (A plain comment: teloxide would show a
// doc comment to users as the description of the command list.)
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(
    rename_rule = "lowercase",
    description = "minstrel plays music in a Discord voice channel; a linked chat controls it."
)]
pub enum Command {
    #[command(description = "say hello and how to get started")]
    Start,
    #[command(description = "this chat's id and a one-time link code (chat admins)")]
    Id,
    #[command(description = "link this chat with a code made on Discord (chat admins)")]
    Link(String),
    #[command(description = "unlink this chat from its Discord server (chat admins)")]
    Unlink,
    #[command(description = "who is in voice on the linked Discord server")]
    List,
    #[command(description = "play a song: /play <search words or URL>")]
    Play(String),
    #[command(
        description = "queue a song right after the current one: /playnext <search words or URL>"
    )]
    Playnext(String),
    #[command(
        description = "play a song at once, ahead of the queue: /playnow <search words or URL>"
    )]
    Playnow(String),
    #[command(description = "play the current track from its start")]
    Replay,
    #[command(description = "show the queue: /queue [page]")]
    Queue(String),
    #[command(description = "show what is playing")]
    Np,
    #[command(description = "skip the current track")]
    Skip,
    #[command(description = "jump to a track in the queue: /skipto <position>")]
    Skipto(String),
    #[command(description = "play the previous track again")]
    Previous,
    #[command(description = "jump to a time in the track: /seek 1:30, /seek +30, /seek -10")]
    Seek(String),
    #[command(description = "pause playback")]
    Pause,
    #[command(description = "resume playback")]
    Resume,
    #[command(description = "stop and clear the queue")]
    Stop,
    #[command(description = "set the volume: /volume <0-200>")]
    Volume(String),
    #[command(
        description = "filters: /filter <preset>, /filter set <filter> name=value, /filter remove <filter>, /filter show, /filter reset"
    )]
    Filter(String),
    #[command(description = "repeat mode: /repeat off|track|queue")]
    Repeat(String),
    #[command(description = "shuffle the queue")]
    Shuffle,
    #[command(
        description = "remove from the queue: /remove <position>, /remove 3-7, /remove dupes, /remove mine"
    )]
    Remove(String),
    #[command(description = "move a track in the queue: /move <from> <to>")]
    Move(String),
    #[command(description = "clear the upcoming tracks")]
    Clear,
    #[command(description = "show this help")]
    Help,
}

impl Command {
    /// The vocabulary entry this command is, and the text of its arguments.
    pub(crate) fn entry(&self) -> (CommandId, &str) {
        match self {
            Self::Start => (CommandId::Start, ""),
            Self::Id => (CommandId::LinkCode, ""),
            Self::Link(code) => (CommandId::Link, code),
            Self::Unlink => (CommandId::Unlink, ""),
            Self::List => (CommandId::VoiceMembers, ""),
            Self::Play(query) => (CommandId::Play, query),
            Self::Playnext(query) => (CommandId::PlayNext, query),
            Self::Playnow(query) => (CommandId::PlayNow, query),
            Self::Replay => (CommandId::Replay, ""),
            Self::Queue(page) => (CommandId::Queue, page),
            Self::Np => (CommandId::NowPlaying, ""),
            Self::Skip => (CommandId::Skip, ""),
            Self::Skipto(position) => (CommandId::SkipTo, position),
            Self::Previous => (CommandId::Previous, ""),
            Self::Seek(time) => (CommandId::Seek, time),
            Self::Pause => (CommandId::Pause, ""),
            Self::Resume => (CommandId::Resume, ""),
            Self::Stop => (CommandId::Stop, ""),
            Self::Volume(percent) => (CommandId::Volume, percent),
            Self::Filter(words) => (CommandId::FilterPreset, words),
            Self::Repeat(mode) => (CommandId::Repeat, mode),
            Self::Shuffle => (CommandId::Shuffle, ""),
            Self::Remove(position) => (CommandId::Remove, position),
            Self::Move(positions) => (CommandId::Move, positions),
            Self::Clear => (CommandId::Clear, ""),
            Self::Help => (CommandId::Help, ""),
        }
    }
}

/// The commands as `setMyCommands` wants them: teloxide's [`BotCommands::bot_commands`]
/// spells them with the `/` prefix (`/play`), while the Bot API expects the bare name
/// (`play`, 1–32 characters of `a-z`, `0-9` and `_`) and refuses or garbles the others.
pub(crate) fn registered_commands() -> Vec<BotCommand> {
    Command::bot_commands()
        .into_iter()
        .map(|mut command| {
            if let Some(bare) = command.command.strip_prefix('/') {
                command.command = bare.to_owned();
            }
            command
        })
        .collect()
}

/// What `/start` answers: Telegram's Start button sends it, and so does every new user first.
pub(crate) const WELCOME: &str = "Hi! I'm minstrel: I play music in a Discord voice channel, and a \
Telegram chat linked to that Discord server can control it.\n\n\
To link this chat: a chat admin sends /id here and gets a one-time code; someone with Manage \
Server on the Discord server runs /connect_telegram <code> there. Then /play <song or URL> \
plays music, and the buttons under the now-playing message pause, skip and change the volume.\n\n\
/help lists everything I can do.";

/// The help text: what the bot is, how to start, and every command with its description.
pub(crate) fn help_text() -> String {
    let commands: Vec<String> = registered_commands()
        .into_iter()
        .map(|command| format!("/{} — {}", command.command, command.description))
        .collect();
    format!(
        "minstrel plays music in a Discord voice channel; a Telegram chat linked to that \
         Discord server controls it. New here? Send /start.\n\nCommands:\n{}",
        commands.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_names_are_bare_and_valid_for_the_bot_api() {
        let commands = registered_commands();
        assert_eq!(commands.len(), Command::bot_commands().len());
        for command in &commands {
            assert!(
                (1..=32).contains(&command.command.len())
                    && command
                        .command
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{command:?}"
            );
            assert!(!command.description.is_empty(), "{command:?}");
        }
        assert_eq!(commands[0].command, "start");
    }

    #[test]
    fn help_is_written_for_users() {
        let help = help_text();
        assert!(help.starts_with("minstrel plays music"), "{help}");
        assert!(help.contains("/play — play a song"), "{help}");
        assert!(help.contains("/start — "), "{help}");
        for code_words in ["handlers", "Arguments are taken", "Every command the bot"] {
            assert!(!help.contains(code_words), "{help}");
        }
    }
}
