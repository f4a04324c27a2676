//! The bot's commands, as Telegram shows them (`setMyCommands`) and parses them.

use teloxide::utils::command::BotCommands;

/// Every command the bot answers. Arguments are taken as text and checked by the handlers,
/// so a wrong argument gets a usage line instead of silence.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(
    rename_rule = "lowercase",
    description = "minstrel plays music in a Discord voice channel; a linked chat controls it."
)]
pub enum Command {
    #[command(description = "this chat's id and a one-time link code (chat admins)")]
    Id,
    #[command(description = "link this chat with a code made on Discord (chat admins)")]
    Link(String),
    #[command(description = "unlink this chat from its Discord server (chat admins)")]
    Unlink,
    #[command(description = "who is online in the linked Discord server")]
    List,
    #[command(description = "play a song: /play <search words or URL>")]
    Play(String),
    #[command(description = "show the queue")]
    Queue,
    #[command(description = "show what is playing")]
    Np,
    #[command(description = "skip the current track")]
    Skip,
    #[command(description = "pause playback")]
    Pause,
    #[command(description = "resume playback")]
    Resume,
    #[command(description = "stop and clear the queue")]
    Stop,
    #[command(description = "set the volume: /volume <0-200>")]
    Volume(String),
    #[command(description = "add a filter preset: /filter <preset>, /filter list, /filter reset")]
    Filter(String),
    #[command(description = "repeat mode: /repeat off|track|queue")]
    Repeat(String),
    #[command(description = "shuffle the queue")]
    Shuffle,
    #[command(description = "show this help")]
    Help,
}

/// The help text: every command with its description.
pub(crate) fn help_text() -> String {
    Command::descriptions().to_string()
}
