//! How the Telegram front-end offers each command of the vocabulary, or why it does not.

use minstrel_app::vocabulary::{CommandId, Surface};

/// The Telegram command each command is, or the reason there is none.
pub fn surface(command: CommandId) -> Surface {
    use Surface::{Absent, Offered};
    const DISCORD_USERS: &str =
        "kept per Discord user; Telegram users have no Discord identity here";
    match command {
        CommandId::Join | CommandId::Leave => {
            Absent("a Telegram user is not in Discord voice: join and leave from Discord")
        }
        CommandId::Play => Offered("play"),
        CommandId::Queue => Offered("queue"),
        CommandId::NowPlaying => Offered("np"),
        CommandId::Skip => Offered("skip"),
        CommandId::Pause => Offered("pause"),
        CommandId::Resume => Offered("resume"),
        CommandId::Stop => Offered("stop"),
        CommandId::Volume => Offered("volume"),
        CommandId::Repeat => Offered("repeat"),
        CommandId::Shuffle => Offered("shuffle"),
        CommandId::FilterPreset => Offered("filter"),
        CommandId::FilterEdit => Offered("filter set"),
        CommandId::PlayNext => Offered("playnext"),
        CommandId::PlayNow => Offered("playnow"),
        CommandId::Replay => Offered("replay"),
        CommandId::SkipTo => Offered("skipto"),
        CommandId::Previous => Offered("previous"),
        CommandId::Seek => Offered("seek"),
        CommandId::Remove => Offered("remove"),
        CommandId::Move => Offered("move"),
        CommandId::Clear => Offered("clear"),
        CommandId::Preview => Absent(
            "a preview is sent privately to one Discord member; a chat has no private answer",
        ),
        CommandId::VoteSkip => Absent("a linked chat acts as one listener: /skip"),
        CommandId::Playlist | CommandId::Settings | CommandId::History => Absent(DISCORD_USERS),
        CommandId::GuildSettings => {
            Absent("server settings are changed by Discord server managers")
        }
        CommandId::LinkCode => Offered("id"),
        CommandId::Link => Offered("link"),
        CommandId::Unlink => Offered("unlink"),
        CommandId::VoiceMembers => Offered("list"),
        CommandId::All => Absent("called from Discord: /all mentions the voice channel's members"),
        CommandId::Help => Offered("help"),
        CommandId::Start => Offered("start"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use minstrel_app::vocabulary::{CommandId, Surface};

    use super::surface;
    use crate::commands::registered_commands;

    /// Every command offered is registered with Telegram, and every registered one is in the
    /// vocabulary.
    #[test]
    fn the_vocabulary_and_the_registered_commands_agree() {
        let registered: HashSet<String> = registered_commands()
            .into_iter()
            .map(|command| command.command)
            .collect();
        let mut offered = HashSet::new();
        for id in CommandId::ALL {
            match surface(id) {
                Surface::Offered(spelling) => {
                    let name = spelling.split(' ').next().unwrap_or(spelling).to_owned();
                    assert!(
                        registered.contains(&name),
                        "{id:?} is offered as /{spelling}, which is not registered"
                    );
                    offered.insert(name);
                }
                Surface::Absent(reason) => assert!(!reason.trim().is_empty(), "{id:?}: no reason"),
            }
        }
        let unlisted: Vec<&String> = registered.difference(&offered).collect();
        assert!(
            unlisted.is_empty(),
            "registered but not in the vocabulary: {unlisted:?}"
        );
    }
}
