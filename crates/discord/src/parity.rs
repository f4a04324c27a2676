//! How the Discord front-end offers each command of the vocabulary, or why it does not.

use minstrel_app::vocabulary::{CommandId, Surface};

/// The slash command (and sub-command) each command is, or the reason there is none.
pub fn surface(command: CommandId) -> Surface {
    use Surface::{Absent, Offered};
    match command {
        CommandId::Join => Offered("join"),
        CommandId::Leave => Offered("leave"),
        CommandId::Play => Offered("play"),
        CommandId::PlayNext => Offered("playnext"),
        CommandId::PlayNow => Offered("playnow"),
        CommandId::Replay => Offered("replay"),
        CommandId::Pause => Offered("pause"),
        CommandId::Resume => Offered("resume"),
        CommandId::Skip => Offered("skip"),
        CommandId::VoteSkip => Offered("voteskip"),
        CommandId::SkipTo => Offered("skipto"),
        CommandId::Previous => Offered("previous"),
        CommandId::Stop => Offered("stop"),
        CommandId::Seek => Offered("seek"),
        CommandId::Queue => Offered("queue"),
        CommandId::NowPlaying => Offered("nowplaying"),
        CommandId::Volume => Offered("volume"),
        CommandId::Repeat => Offered("repeat"),
        CommandId::Shuffle => Offered("shuffle"),
        CommandId::Remove => Offered("remove"),
        CommandId::Move => Offered("move"),
        CommandId::Clear => Offered("clear"),
        CommandId::FilterPreset => Offered("filter"),
        CommandId::FilterEdit => Offered("filters"),
        CommandId::Preview => Offered("preview"),
        CommandId::Playlist => Offered("playlist"),
        CommandId::Settings => Offered("settings"),
        CommandId::GuildSettings => Offered("guildsettings"),
        CommandId::History => Offered("history"),
        CommandId::LinkCode => Absent("the one-time code is made in the Telegram chat (/id)"),
        CommandId::Link => Offered("connect_telegram"),
        CommandId::Unlink => Absent("a chat admin unlinks from the Telegram chat (/unlink)"),
        CommandId::VoiceMembers => Absent("Discord itself shows who is in a voice channel"),
        CommandId::All => Offered("all"),
        CommandId::Help => Offered("help"),
        CommandId::Start => Absent("Telegram's first-contact greeting; Discord has no such step"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use minstrel_app::vocabulary::{CommandId, Surface};

    use super::surface;
    use crate::commands::COMMAND_NAMES;

    /// Every command offered is registered, and every registered command is in the vocabulary.
    #[test]
    fn the_vocabulary_and_the_registered_commands_agree() {
        let registered: HashSet<&str> = COMMAND_NAMES
            .iter()
            .filter(|name| !name.contains(' '))
            .copied()
            .collect();
        let mut offered = HashSet::new();
        for id in CommandId::ALL {
            match surface(id) {
                Surface::Offered(spelling) => {
                    let name = spelling.split(' ').next().unwrap_or(spelling);
                    assert!(
                        registered.contains(name),
                        "{id:?} is offered as /{spelling}, which is not registered"
                    );
                    offered.insert(name);
                }
                Surface::Absent(reason) => assert!(!reason.trim().is_empty(), "{id:?}: no reason"),
            }
        }
        let unlisted: Vec<&&str> = registered.difference(&offered).collect();
        assert!(
            unlisted.is_empty(),
            "registered but not in the vocabulary: {unlisted:?}"
        );
    }
}
