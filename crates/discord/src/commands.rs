//! The slash command definitions minstrel registers, as twilight-model `Command` values.

use minstrel_domain::filters::FilterKind;
use minstrel_domain::{GuildSettings, Preset};
use twilight_model::application::command::{Command, CommandType};
use twilight_model::application::interaction::InteractionContextType;
use twilight_model::channel::ChannelType;
use twilight_model::guild::Permissions;
use twilight_model::oauth::ApplicationIntegrationType;
use twilight_util::builder::command::{
    BooleanBuilder, ChannelBuilder, CommandBuilder, IntegerBuilder, NumberBuilder, RoleBuilder,
    StringBuilder, SubCommandBuilder, UserBuilder,
};

/// Every command name, in registration order.
pub const COMMAND_NAMES: [&str; 38] = [
    "join",
    "leave",
    "help",
    "play",
    "playnext",
    "playnow",
    "replay",
    "pause",
    "resume",
    "skip",
    "skipto",
    "previous",
    "stop",
    "seek",
    "queue",
    "nowplaying",
    "volume",
    "repeat",
    "shuffle",
    "remove",
    "move",
    "clear",
    "filter",
    "filters",
    "preview",
    "playlist",
    "settings",
    "history",
    "guildsettings",
    "voteskip",
    "connect_telegram",
    "all",
    // Sub-commands that people look for by name are listed too, so a test can check them.
    "playlist create",
    "filters reset",
    "filters set",
    "filters remove",
    "settings volume",
    "guildsettings djrole",
];

fn command(name: &str, description: &str) -> CommandBuilder {
    // Music only makes sense inside a server: no DMs, no user installs. Discord's default for
    // `integration_types` follows the application's install settings, which could include
    // user installs; naming guild installs keeps the commands out of them whatever the portal says.
    CommandBuilder::new(name, description, CommandType::ChatInput)
        .contexts([InteractionContextType::Guild])
        .integration_types([ApplicationIntegrationType::GuildInstall])
}

fn simple(name: &str, description: &str) -> Command {
    command(name, description).build()
}

/// What to play: search words, a link or a file, suggested while typed.
fn query() -> StringBuilder {
    StringBuilder::new("query", "search words, a link or a file")
        .autocomplete(true)
        .max_length(500)
        .required(true)
}

fn position(name: &str, description: &str) -> IntegerBuilder {
    IntegerBuilder::new(name, description)
        .min_value(1)
        .required(true)
}

fn playlist_name() -> StringBuilder {
    StringBuilder::new("name", "the playlist's name")
        .max_length(64)
        .required(true)
}

fn page() -> IntegerBuilder {
    IntegerBuilder::new("page", "which page (from 1)").min_value(1)
}

fn preset_choices() -> Vec<(&'static str, &'static str)> {
    Preset::ALL
        .iter()
        .map(|preset| (preset.name(), preset.name()))
        .collect()
}

/// All slash commands, ready for `PUT /applications/{id}/commands`.
#[allow(clippy::too_many_lines)] // one entry per command reads as a table
pub fn definitions() -> Vec<Command> {
    let mut commands = vec![
        command("join", "join your voice channel (or the one you pick)")
            .option(
                ChannelBuilder::new("channel", "the voice channel to join")
                    .channel_types([ChannelType::GuildVoice, ChannelType::GuildStageVoice]),
            )
            .build(),
        simple("leave", "stop, clear the queue and leave the voice channel"),
        simple("help", "list the commands"),
        command(
            "play",
            "play a song or a link; without one, the active playlist",
        )
        .option(query().required(false))
        .build(),
        command("playnext", "queue a song to play right after this one")
            .option(query())
            .build(),
        command("playnow", "play a song at once, ahead of the queue")
            .option(query())
            .build(),
        simple("replay", "play the current track from its start"),
        simple("pause", "pause playback"),
        simple("resume", "resume playback"),
        simple("skip", "skip the current track"),
        command("skipto", "jump to a position in the queue")
            .option(position("position", "queue position (from 1)"))
            .build(),
        simple("previous", "play the previous track again"),
        simple("stop", "stop playback and clear the queue"),
        command("seek", "jump to a time in the current track")
            .option(
                StringBuilder::new("time", "e.g. 1:30 or 90s")
                    .max_length(16)
                    .required(true),
            )
            .build(),
        command("queue", "show the queue").option(page()).build(),
        simple("nowplaying", "show what is playing"),
        command("volume", "set the volume")
            .option(
                IntegerBuilder::new("percent", "0 to 200")
                    .min_value(0)
                    .max_value(200)
                    .required(true),
            )
            .build(),
        command("repeat", "repeat nothing, the track or the queue")
            .option(
                StringBuilder::new("mode", "what to repeat")
                    .choices([("off", "off"), ("track", "track"), ("queue", "queue")])
                    .required(true),
            )
            .build(),
        simple("shuffle", "shuffle the upcoming tracks"),
        command(
            "remove",
            "remove a track, a range, the duplicates or a member's tracks",
        )
        .option(position("position", "queue position (from 1)").required(false))
        .option(position("to", "the range's last position (from 1)").required(false))
        .option(UserBuilder::new(
            "member",
            "remove this member's upcoming tracks",
        ))
        .option(BooleanBuilder::new(
            "duplicates",
            "remove later copies of songs already queued",
        ))
        .option(BooleanBuilder::new(
            "absent",
            "remove the tracks of members who left the voice channel",
        ))
        .build(),
        command("move", "move a track in the queue")
            .option(position("from", "the track's position (from 1)"))
            .option(position("to", "its new position (from 1)"))
            .build(),
        simple("clear", "remove every upcoming track"),
        filter_command(),
        filters_command(),
        command(
            "preview",
            "hear 10 s of the current track with a filter, as a file",
        )
        .option(StringBuilder::new("preset", "the preset to try").choices(preset_choices()))
        .build(),
        playlist_command(),
        settings_command(),
        command("history", "the tracks you asked for lately")
            .option(page())
            .build(),
        guild_settings_command(),
        simple("voteskip", "vote to skip the current track"),
        command(
            "connect_telegram",
            "link this server with a Telegram chat (without a code: get one)",
        )
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(StringBuilder::new("code", "the code /id gave in Telegram").max_length(16))
        .build(),
        command("all", "mention everyone in the linked Telegram chat")
            .option(StringBuilder::new("message", "what to tell them").max_length(1000))
            .build(),
    ];
    debug_assert_eq!(commands.len(), 32);
    commands.shrink_to_fit();
    commands
}

fn filter_command() -> Command {
    let number = |name: &str, description: &str, min: f64, max: f64| {
        NumberBuilder::new(name, description)
            .min_value(min)
            .max_value(max)
    };
    command("filter", "add a preset or set a filter by hand")
        .option(StringBuilder::new("preset", "a ready-made filter").choices(preset_choices()))
        .option(number("speed", "timescale speed (1 = normal)", 0.1, 5.0))
        .option(number("pitch", "timescale pitch (1 = normal)", 0.1, 5.0))
        .option(number("rate", "timescale rate (1 = normal)", 0.1, 5.0))
        .option(number("rotation", "8D rotation in Hz", 0.0, 5.0))
        .option(number(
            "tremolo_frequency",
            "tremolo frequency in Hz",
            0.01,
            20.0,
        ))
        .option(number("tremolo_depth", "tremolo depth", 0.01, 1.0))
        .option(number(
            "vibrato_frequency",
            "vibrato frequency in Hz",
            0.01,
            14.0,
        ))
        .option(number("vibrato_depth", "vibrato depth", 0.01, 1.0))
        .option(number(
            "lowpass",
            "low-pass smoothing (higher = darker)",
            1.0,
            100.0,
        ))
        .option(number("volume", "filter volume multiplier", 0.0, 5.0))
        .option(
            StringBuilder::new("equalizer", "bands as band:gain, e.g. 0:0.2,1:0.15")
                .max_length(200),
        )
        .option(BooleanBuilder::new("karaoke", "remove centred vocals"))
        .build()
}

/// Lavalink's filter names, for `/filters set` and `/filters remove`.
fn filter_kind_choices() -> Vec<(&'static str, &'static str)> {
    FilterKind::ALL
        .iter()
        .map(|kind| (kind.name(), kind.name()))
        .collect()
}

/// `/filters`: one filter at a time by its Lavalink name (a slash command cannot give every
/// parameter of every filter its own option, so they are typed as `name=value` in one string).
fn filters_command() -> Command {
    let filter = |description: &str| {
        StringBuilder::new("filter", description)
            .choices(filter_kind_choices())
            .required(true)
    };
    command("filters", "show, set, remove or reset the active filters")
        .option(SubCommandBuilder::new("reset", "turn every filter off"))
        .option(SubCommandBuilder::new(
            "show",
            "every active filter with its parameters",
        ))
        .option(SubCommandBuilder::new("list", "list the presets"))
        .option(
            SubCommandBuilder::new("set", "set parameters of one filter")
                .option(filter("the filter to set"))
                .option(
                    StringBuilder::new(
                        "params",
                        "name=value pairs, e.g. sinOffset=0.1 scale=2 (bassBoost: level=high)",
                    )
                    .max_length(300)
                    .required(true),
                ),
        )
        .option(
            SubCommandBuilder::new("remove", "turn one filter off")
                .option(filter("the filter to turn off")),
        )
        .build()
}

fn playlist_command() -> Command {
    command("playlist", "your saved playlists")
        .option(SubCommandBuilder::new("create", "make a new playlist").option(playlist_name()))
        .option(SubCommandBuilder::new("add", "save the track playing now").option(playlist_name()))
        .option(
            SubCommandBuilder::new("addto", "find a song and save it")
                .option(playlist_name())
                .option(
                    StringBuilder::new("query", "search words, a link or a file")
                        .autocomplete(true)
                        .max_length(500)
                        .required(true),
                ),
        )
        .option(
            SubCommandBuilder::new("remove", "remove an entry")
                .option(playlist_name())
                .option(position("position", "the entry's position (from 1)")),
        )
        .option(
            SubCommandBuilder::new("use", "make it the server's active playlist")
                .option(playlist_name()),
        )
        .option(SubCommandBuilder::new("show", "list its tracks").option(playlist_name()))
        .option(SubCommandBuilder::new("list", "list your playlists").option(page()))
        .option(SubCommandBuilder::new("delete", "delete a playlist").option(playlist_name()))
        .build()
}

fn settings_command() -> Command {
    command("settings", "your own defaults")
        .option(SubCommandBuilder::new("show", "show your settings"))
        .option(
            SubCommandBuilder::new("volume", "the volume you start with").option(
                IntegerBuilder::new("percent", "0 to 200")
                    .min_value(0)
                    .max_value(200)
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("filters", "presets you start with").option(
                StringBuilder::new("presets", "preset names separated by commas, or none")
                    .max_length(200)
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("autoplay", "keep playing related songs")
                .option(BooleanBuilder::new("enabled", "on or off").required(true)),
        )
        .build()
}

fn guild_settings_command() -> Command {
    command("guildsettings", "this server's music settings")
        .default_member_permissions(Permissions::MANAGE_GUILD)
        .option(SubCommandBuilder::new("show", "show the settings"))
        .option(
            SubCommandBuilder::new("djrole", "who may control playback (none: everyone)").option(
                RoleBuilder::new("role", "the DJ role; leave out to remove it"),
            ),
        )
        .option(
            SubCommandBuilder::new("maxqueue", "the longest queue").option(
                IntegerBuilder::new("tracks", "how many tracks")
                    .min_value(1)
                    .max_value(whole(GuildSettings::MAX_QUEUE_LIMIT))
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("stay247", "stay in the voice channel when idle")
                .option(BooleanBuilder::new("enabled", "on or off").required(true)),
        )
        .option(
            SubCommandBuilder::new(
                "voicechannel",
                "the channel a play from the linked Telegram chat joins",
            )
            .option(
                ChannelBuilder::new("channel", "a voice channel; leave out to remove it")
                    .channel_types([ChannelType::GuildVoice, ChannelType::GuildStageVoice]),
            ),
        )
        .option(
            SubCommandBuilder::new("idletimeout", "leave after this long idle").option(
                IntegerBuilder::new("minutes", "minutes")
                    .min_value(1)
                    .max_value(whole(GuildSettings::MAX_IDLE_TIMEOUT.as_secs() / 60))
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("voteskip", "share of listeners needed to skip").option(
                NumberBuilder::new("ratio", "0.1 to 1.0")
                    .min_value(0.1)
                    .max_value(1.0)
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("normalisation", "even out loudness between tracks")
                .option(BooleanBuilder::new("enabled", "on or off").required(true)),
        )
        .option(
            SubCommandBuilder::new("volume", "the server's default volume").option(
                IntegerBuilder::new("percent", "0 to 200")
                    .min_value(0)
                    .max_value(200)
                    .required(true),
            ),
        )
        .option(
            SubCommandBuilder::new("filters", "presets members may use").option(
                StringBuilder::new("presets", "names separated by commas, or all")
                    .max_length(300)
                    .required(true),
            ),
        )
        .build()
}

/// A limit of the settings as a command option bound (Discord's integers are `i64`).
fn whole(limit: impl TryInto<i64>) -> i64 {
    limit.try_into().unwrap_or(i64::MAX)
}

/// The definitions as pretty JSON, for `minstrel discord commands --json`.
pub fn definitions_json() -> String {
    serde_json::to_string_pretty(&definitions())
        .unwrap_or_else(|error| unreachable!("command definitions always serialize: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::application::command::{
        CommandOption, CommandOptionType, CommandOptionValue,
    };

    #[test]
    fn every_command_is_defined_once_and_valid() {
        let commands = definitions();
        let names: Vec<&str> = commands
            .iter()
            .map(|command| command.name.as_str())
            .collect();
        for wanted in COMMAND_NAMES {
            let mut words = wanted.split(' ');
            let top = words.next().unwrap();
            let command = commands
                .iter()
                .find(|command| command.name == top)
                .unwrap_or_else(|| panic!("{top} missing from {names:?}"));
            if let Some(sub) = words.next() {
                assert!(
                    command
                        .options
                        .iter()
                        .any(|option| option.name == sub
                            && option.kind == CommandOptionType::SubCommand),
                    "{wanted}"
                );
            }
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "duplicate names");
        for command in &commands {
            twilight_validate::command::command(command)
                .unwrap_or_else(|error| panic!("{}: {error}", command.name));
        }
    }

    #[test]
    fn play_autocompletes_and_filter_offers_every_preset() {
        let commands = definitions();
        let play = commands.iter().find(|c| c.name == "play").unwrap();
        assert_eq!(play.options[0].autocomplete, Some(true));
        assert_ne!(
            play.options[0].required,
            Some(true),
            "no argument plays the playlist"
        );
        let filter = commands.iter().find(|c| c.name == "filter").unwrap();
        let choices = filter.options[0].choices.as_ref().unwrap();
        assert_eq!(choices.len(), Preset::ALL.len());
        let json: serde_json::Value = serde_json::from_str(&definitions_json()).unwrap();
        assert_eq!(json.as_array().unwrap().len(), commands.len());
    }

    fn guild_settings_option(name: &str) -> CommandOption {
        let commands = definitions();
        let settings = commands
            .iter()
            .find(|command| command.name == "guildsettings")
            .unwrap();
        let sub = settings
            .options
            .iter()
            .find(|option| option.name == name)
            .unwrap_or_else(|| panic!("no /guildsettings {name}"));
        sub.options.as_ref().unwrap()[0].clone()
    }

    #[test]
    fn every_command_is_for_guild_installs_only() {
        for command in definitions() {
            assert_eq!(
                command.integration_types,
                Some(vec![ApplicationIntegrationType::GuildInstall]),
                "{}",
                command.name
            );
            assert_eq!(
                command.contexts,
                Some(vec![InteractionContextType::Guild]),
                "{}",
                command.name
            );
        }
    }

    #[test]
    fn guild_setting_bounds_are_the_ones_the_settings_enforce() {
        let ratio = guild_settings_option("voteskip");
        assert!(
            ratio.description.starts_with("0.1"),
            "{}",
            ratio.description
        );
        assert_eq!(ratio.min_value, Some(CommandOptionValue::Number(0.1)));
        assert_eq!(ratio.max_value, Some(CommandOptionValue::Number(1.0)));

        let tracks = guild_settings_option("maxqueue");
        let mut settings = GuildSettings::new(minstrel_domain::GuildId::new(1).unwrap());
        let Some(CommandOptionValue::Integer(most)) = tracks.max_value else {
            panic!("maxqueue has no integer max_value: {:?}", tracks.max_value);
        };
        settings
            .set_max_queue(usize::try_from(most).unwrap())
            .unwrap();
        assert!(
            settings
                .set_max_queue(usize::try_from(most + 1).unwrap())
                .is_err()
        );

        let minutes = guild_settings_option("idletimeout");
        let Some(CommandOptionValue::Integer(most)) = minutes.max_value else {
            panic!(
                "idletimeout has no integer max_value: {:?}",
                minutes.max_value
            );
        };
        let minute = std::time::Duration::from_mins(1);
        let most = u32::try_from(most).unwrap();
        settings.set_idle_timeout(minute * most).unwrap();
        assert!(settings.set_idle_timeout(minute * (most + 1)).is_err());
    }
}
