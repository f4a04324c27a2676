//! How the console offers each command of the vocabulary, or why it does not.

use minstrel_app::vocabulary::{CommandId, Surface};

/// The console command each command is, or the reason there is none.
pub fn surface(command: CommandId) -> Surface {
    use Surface::{Absent, Offered};
    const NO_CHAT: &str = "the console is not a chat: nothing to link or call";
    match command {
        CommandId::Join => Absent("the console plays locally; there is no channel to join"),
        CommandId::Leave => Offered("leave"),
        CommandId::Play => Offered("play"),
        CommandId::PlayNext => Offered("playnext"),
        CommandId::PlayNow => Offered("playnow"),
        CommandId::Replay => Offered("replay"),
        CommandId::Pause => Offered("pause"),
        CommandId::Resume => Offered("resume"),
        CommandId::Skip => Offered("skip"),
        CommandId::VoteSkip => Absent("the console has one listener: skip"),
        CommandId::SkipTo => Offered("skipto"),
        CommandId::Previous => Offered("previous"),
        CommandId::Stop => Offered("stop"),
        CommandId::Seek => Offered("seek"),
        CommandId::Queue => Offered("queue"),
        CommandId::NowPlaying => Offered("np"),
        CommandId::Volume => Offered("volume"),
        CommandId::Repeat => Offered("repeat"),
        CommandId::Shuffle => Offered("shuffle"),
        CommandId::Remove => Offered("remove"),
        CommandId::Move => Offered("move"),
        CommandId::Clear => Offered("clear"),
        CommandId::FilterPreset => Offered("filter"),
        CommandId::FilterEdit => Offered("filter set"),
        CommandId::Preview => Absent("the console hears the filter itself: apply it and listen"),
        CommandId::Playlist => Offered("playlist"),
        CommandId::Settings => Absent(
            "the console's one user has no settings of their own: `settings` is the player's",
        ),
        CommandId::GuildSettings => Offered("settings"),
        CommandId::History => Offered("history"),
        CommandId::LinkCode
        | CommandId::Link
        | CommandId::Unlink
        | CommandId::VoiceMembers
        | CommandId::All => Absent(NO_CHAT),
        CommandId::Help => Offered("help"),
        CommandId::Start => Absent("the console greets with its prompt"),
    }
}

#[cfg(test)]
mod tests {
    use minstrel_app::vocabulary::{CommandId, Surface};

    use super::surface;
    use crate::commands::HELP;

    /// Every command offered is named in the console's help.
    #[test]
    fn every_offered_command_is_in_the_help() {
        for id in CommandId::ALL {
            match surface(id) {
                Surface::Offered(spelling) => {
                    let name = spelling.split(' ').next().unwrap_or(spelling);
                    assert!(
                        HELP.split(|c: char| !c.is_ascii_alphanumeric())
                            .any(|word| word == name),
                        "{id:?} is offered as `{spelling}`, which the help does not name"
                    );
                }
                Surface::Absent(reason) => assert!(!reason.trim().is_empty(), "{id:?}: no reason"),
            }
        }
    }
}
