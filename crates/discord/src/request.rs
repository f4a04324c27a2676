//! Turning an application command's data into a [`Request`]: what the member asked for, checked
//! for shape but not yet for meaning (the use cases decide that).

use std::time::Duration;

use minstrel_app::GuildSettingChange;
use minstrel_app::vocabulary::{CommandId, GuildCommand, QUEUE_PAGE_SIZE, Removal, parse_text};
use minstrel_domain::{ChannelId, Preset, RepeatMode, RequesterId, RoleId, UserId};
use twilight_model::application::interaction::application_command::{
    CommandData, CommandDataOption, CommandOptionValue,
};

/// Manual filter values from `/filter`; `None` leaves a filter as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ManualFilters {
    pub(crate) speed: Option<f64>,
    pub(crate) pitch: Option<f64>,
    pub(crate) rate: Option<f64>,
    pub(crate) rotation: Option<f64>,
    pub(crate) tremolo_frequency: Option<f64>,
    pub(crate) tremolo_depth: Option<f64>,
    pub(crate) vibrato_frequency: Option<f64>,
    pub(crate) vibrato_depth: Option<f64>,
    pub(crate) low_pass: Option<f64>,
    pub(crate) volume: Option<f64>,
    pub(crate) equalizer: Option<String>,
    pub(crate) karaoke: bool,
}

impl ManualFilters {
    /// The options as the vocabulary's typed filter change: one `filter name=value …` part a
    /// filter, joined by `;` so that they change together (`None` when no option is set).
    /// Parameters without an option keep their current values, as with `/filters set`.
    pub(crate) fn change_text(&self) -> Option<String> {
        let mut parts = Vec::new();
        let mut add = |filter: &str, params: &[(&str, Option<f64>)]| {
            let set: Vec<String> = params
                .iter()
                .filter_map(|(name, value)| value.map(|value| format!("{name}={value}")))
                .collect();
            if !set.is_empty() {
                parts.push(format!("{filter} {}", set.join(" ")));
            }
        };
        add(
            "timescale",
            &[
                ("speed", self.speed),
                ("pitch", self.pitch),
                ("rate", self.rate),
            ],
        );
        add("rotation", &[("rotationHz", self.rotation)]);
        add(
            "tremolo",
            &[
                ("frequency", self.tremolo_frequency),
                ("depth", self.tremolo_depth),
            ],
        );
        add(
            "vibrato",
            &[
                ("frequency", self.vibrato_frequency),
                ("depth", self.vibrato_depth),
            ],
        );
        add("lowPass", &[("smoothing", self.low_pass)]);
        add("volume", &[("volume", self.volume)]);
        if let Some(bands) = &self.equalizer {
            // The option holds bands only: a `;` in it cannot start another filter.
            parts.push(format!("equalizer {}", bands.replace(';', ",")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PlaylistRequest {
    Create(String),
    AddCurrent(String),
    AddQuery { name: String, query: String },
    Remove { name: String, position: usize },
    Use(String),
    Show(String),
    List { page: usize },
    Delete(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SettingsRequest {
    Show,
    Volume(i64),
    Filters(Vec<String>),
    Autoplay(bool),
}

/// One slash command, parsed. Positions are 0-based here (people type them from 1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    Join {
        channel: Option<ChannelId>,
    },
    /// A player command of the vocabulary, run as every front-end runs it.
    Player(GuildCommand),
    /// The list of commands, from the vocabulary.
    Help,
    /// `/filter` with options: a preset and hand-set filters, applied in this order.
    Filter(Vec<GuildCommand>),
    /// `/filter` without options: the active filters and a menu of presets.
    FilterMenu,
    FiltersList,
    Preview {
        preset: Option<String>,
    },
    Playlist(PlaylistRequest),
    Settings(SettingsRequest),
    History {
        page: usize,
    },
    /// `/guildsettings`: a change of the app's own vocabulary, or `None` to show them.
    GuildSettings(Option<GuildSettingChange>),
    VoteSkip,
    /// `/remove absent`: the tracks of members no longer in the voice channel (who is there
    /// is known to the handler).
    RemoveAbsent,
    ConnectTelegram {
        code: Option<String>,
    },
    All {
        message: Option<String>,
    },
}

/// A command whose shape is wrong: a sentence for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

fn usage(text: impl Into<String>) -> UsageError {
    UsageError(text.into())
}

/// The options of one command or sub-command, by name.
pub(crate) struct Options<'a>(&'a [CommandDataOption]);

impl<'a> Options<'a> {
    fn get(&self, name: &str) -> Option<&'a CommandOptionValue> {
        self.0
            .iter()
            .find(|option| option.name == name)
            .map(|option| &option.value)
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            CommandOptionValue::String(value) | CommandOptionValue::Focused(value, _) => {
                Some(value.trim().to_owned())
            }
            _ => None,
        }
    }

    fn required_string(&self, name: &str) -> Result<String, UsageError> {
        self.string(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| usage(format!("tell me the {name}")))
    }

    fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            CommandOptionValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    fn required_integer(&self, name: &str) -> Result<i64, UsageError> {
        self.integer(name)
            .ok_or_else(|| usage(format!("tell me the {name}")))
    }

    fn number(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            CommandOptionValue::Number(value) => Some(*value),
            // Discord sends whole numbers of a NUMBER option as integers.
            #[allow(clippy::cast_precision_loss)]
            CommandOptionValue::Integer(value) => Some(*value as f64),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            CommandOptionValue::Boolean(value) => Some(*value),
            _ => None,
        }
    }

    fn required_boolean(&self, name: &str) -> Result<bool, UsageError> {
        self.boolean(name)
            .ok_or_else(|| usage(format!("tell me whether {name} is on")))
    }

    /// A 1-based position → a 0-based index.
    fn position(&self, name: &str) -> Result<usize, UsageError> {
        let value = self.required_integer(name)?;
        usize::try_from(value)
            .ok()
            .and_then(|value| value.checked_sub(1))
            .ok_or_else(|| usage("positions start at 1"))
    }

    fn page(&self) -> usize {
        self.integer("page")
            .and_then(|page| usize::try_from(page).ok())
            .unwrap_or(1)
            .max(1)
    }

    /// The sub-command chosen and its options.
    fn sub_command(&self) -> Result<(&'a str, Options<'a>), UsageError> {
        self.0
            .iter()
            .find_map(|option| match &option.value {
                CommandOptionValue::SubCommand(options) => {
                    Some((option.name.as_str(), Options(options)))
                }
                _ => None,
            })
            .ok_or_else(|| usage("pick one of the sub-commands"))
    }
}

/// The option being typed in an autocomplete interaction: its name and text so far.
pub(crate) fn focused(data: &CommandData) -> Option<(String, String)> {
    fn search(options: &[CommandDataOption]) -> Option<(String, String)> {
        options.iter().find_map(|option| match &option.value {
            CommandOptionValue::Focused(text, _) => Some((option.name.clone(), text.clone())),
            CommandOptionValue::SubCommand(inner) | CommandOptionValue::SubCommandGroup(inner) => {
                search(inner)
            }
            _ => None,
        })
    }
    search(&data.options)
}

fn names(list: &str) -> Vec<String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_none_word(text: &str) -> bool {
    matches!(
        text.trim().to_lowercase().as_str(),
        "" | "none" | "off" | "clear"
    )
}

/// Parses an application command.
///
/// # Errors
/// A [`UsageError`] sentence for an unknown command or a missing or malformed option.
pub(crate) fn parse(data: &CommandData) -> Result<Request, UsageError> {
    let options = Options(&data.options);
    let request = match data.name.as_str() {
        "join" => Request::Join {
            channel: match options.get("channel") {
                Some(CommandOptionValue::Channel(id)) => ChannelId::new(id.get()).ok(),
                _ => None,
            },
        },
        "leave" => Request::Player(GuildCommand::Leave),
        "help" => Request::Help,
        "play" => Request::Player(GuildCommand::Play {
            query: options.string("query").unwrap_or_default(),
        }),
        "playnext" => Request::Player(GuildCommand::PlayNext {
            query: options.required_string("query")?,
        }),
        "playnow" => Request::Player(GuildCommand::PlayNow {
            query: options.required_string("query")?,
        }),
        "replay" => Request::Player(GuildCommand::Replay),
        "pause" => Request::Player(GuildCommand::Pause),
        "resume" => Request::Player(GuildCommand::Resume),
        "skip" => Request::Player(GuildCommand::Skip),
        "skipto" => Request::Player(GuildCommand::SkipTo {
            index: options.position("position")?,
        }),
        "previous" => Request::Player(GuildCommand::Previous),
        "stop" => Request::Player(GuildCommand::Stop),
        "seek" => {
            let text = options.required_string("time")?;
            Request::Player(parse_text(CommandId::Seek, &text).map_err(|_| {
                usage(format!(
                    "\"{text}\" is not a time; try 1:30, 90s, +30 or -10"
                ))
            })?)
        }
        "queue" => Request::Player(GuildCommand::Queue {
            page: options.page(),
            per_page: QUEUE_PAGE_SIZE,
        }),
        "nowplaying" => Request::Player(GuildCommand::NowPlaying),
        "volume" => Request::Player(GuildCommand::SetVolume {
            percent: options.required_integer("percent")?,
        }),
        "repeat" => {
            let text = options.required_string("mode")?;
            Request::Player(GuildCommand::SetRepeat {
                mode: RepeatMode::parse(&text)
                    .ok_or_else(|| usage("repeat is off, track or queue"))?,
            })
        }
        "shuffle" => Request::Player(GuildCommand::Shuffle),
        "remove" => parse_remove(&options)?,
        "move" => Request::Player(GuildCommand::Move {
            from: options.position("from")?,
            to: options.position("to")?,
        }),
        "clear" => Request::Player(GuildCommand::Clear),
        "filter" => parse_filter(&options),
        "filters" => match options.sub_command()? {
            ("reset", _) => Request::Player(GuildCommand::ResetFilters),
            ("list", _) => Request::FiltersList,
            ("set", sub) => {
                let filter = sub.required_string("filter")?;
                let params = sub.required_string("params")?;
                Request::Player(GuildCommand::SetFilter {
                    // One filter: a `;` in the options cannot reach another.
                    text: format!("{filter} {params}").replace(';', " "),
                })
            }
            ("remove", sub) => Request::Player(GuildCommand::RemoveFilter {
                name: sub.required_string("filter")?,
            }),
            _ => Request::Player(GuildCommand::ShowFilters),
        },
        "preview" => Request::Preview {
            preset: options.string("preset"),
        },
        "playlist" => Request::Playlist(parse_playlist(&options)?),
        "settings" => Request::Settings(parse_settings(&options)?),
        "history" => Request::History {
            page: options.page(),
        },
        "guildsettings" => Request::GuildSettings(parse_guild_settings(&options)?),
        "voteskip" => Request::VoteSkip,
        "connect_telegram" => Request::ConnectTelegram {
            code: options.string("code").filter(|code| !code.is_empty()),
        },
        "all" => Request::All {
            message: options.string("message").filter(|text| !text.is_empty()),
        },
        other => return Err(usage(format!("I do not know the command /{other}"))),
    };
    Ok(request)
}

/// `/remove`: one position, a range (`position` and `to`), a member's tracks, the
/// duplicates, or the tracks of members who left: exactly one of them.
fn parse_remove(options: &Options<'_>) -> Result<Request, UsageError> {
    let member = match options.get("member") {
        Some(CommandOptionValue::User(user)) => UserId::new(user.get()).ok(),
        _ => None,
    };
    let duplicates = options.boolean("duplicates").unwrap_or(false);
    let absent = options.boolean("absent").unwrap_or(false);
    let position = options
        .integer("position")
        .map(|_| options.position("position"))
        .transpose()?;
    let to = options
        .integer("to")
        .map(|_| options.position("to"))
        .transpose()?;
    let removal = match (position, to, member, duplicates, absent) {
        (Some(index), None, None, false, false) => {
            return Ok(Request::Player(GuildCommand::Remove { index }));
        }
        (Some(from), Some(to), None, false, false) if from <= to => Removal::Range { from, to },
        (Some(_), Some(_), None, false, false) => {
            return Err(usage("a range goes from a position to a later one"));
        }
        (None, None, Some(member), false, false) => {
            Removal::RequestedBy(Some(RequesterId::Discord(member)))
        }
        (None, None, None, true, false) => Removal::Duplicates,
        (None, None, None, false, true) => return Ok(Request::RemoveAbsent),
        _ => {
            return Err(usage(
                "pick one: a position, a range (position and to), a member, duplicates or absent",
            ));
        }
    };
    Ok(Request::Player(GuildCommand::RemoveMany { removal }))
}

fn parse_filter(options: &Options<'_>) -> Request {
    let manual = ManualFilters {
        speed: options.number("speed"),
        pitch: options.number("pitch"),
        rate: options.number("rate"),
        rotation: options.number("rotation"),
        tremolo_frequency: options.number("tremolo_frequency"),
        tremolo_depth: options.number("tremolo_depth"),
        vibrato_frequency: options.number("vibrato_frequency"),
        vibrato_depth: options.number("vibrato_depth"),
        low_pass: options.number("lowpass"),
        volume: options.number("volume"),
        equalizer: options.string("equalizer").filter(|text| !text.is_empty()),
        karaoke: options.boolean("karaoke").unwrap_or(false),
    };
    let mut commands = Vec::new();
    if let Some(name) = options.string("preset").filter(|name| !name.is_empty()) {
        commands.push(GuildCommand::ApplyPreset { name });
    }
    if manual.karaoke {
        commands.push(GuildCommand::ApplyPreset {
            name: Preset::Karaoke.name().to_owned(),
        });
    }
    if let Some(text) = manual.change_text() {
        commands.push(GuildCommand::SetFilter { text });
    }
    if commands.is_empty() {
        Request::FilterMenu
    } else {
        Request::Filter(commands)
    }
}

fn parse_playlist(options: &Options<'_>) -> Result<PlaylistRequest, UsageError> {
    let (sub, options) = options.sub_command()?;
    Ok(match sub {
        "create" => PlaylistRequest::Create(options.required_string("name")?),
        "add" => PlaylistRequest::AddCurrent(options.required_string("name")?),
        "addto" => PlaylistRequest::AddQuery {
            name: options.required_string("name")?,
            query: options.required_string("query")?,
        },
        "remove" => PlaylistRequest::Remove {
            name: options.required_string("name")?,
            position: usize::try_from(options.required_integer("position")?)
                .map_err(|_| usage("positions start at 1"))?,
        },
        "use" => PlaylistRequest::Use(options.required_string("name")?),
        "show" => PlaylistRequest::Show(options.required_string("name")?),
        "list" => PlaylistRequest::List {
            page: options.page(),
        },
        "delete" => PlaylistRequest::Delete(options.required_string("name")?),
        other => return Err(usage(format!("playlist has no \"{other}\""))),
    })
}

fn parse_settings(options: &Options<'_>) -> Result<SettingsRequest, UsageError> {
    let (sub, options) = options.sub_command()?;
    Ok(match sub {
        "volume" => SettingsRequest::Volume(options.required_integer("percent")?),
        "filters" => {
            let text = options.string("presets").unwrap_or_default();
            SettingsRequest::Filters(if is_none_word(&text) {
                Vec::new()
            } else {
                names(&text)
            })
        }
        "autoplay" => SettingsRequest::Autoplay(options.required_boolean("enabled")?),
        _ => SettingsRequest::Show,
    })
}

fn parse_guild_settings(options: &Options<'_>) -> Result<Option<GuildSettingChange>, UsageError> {
    let (sub, options) = options.sub_command()?;
    Ok(Some(match sub {
        "djrole" => GuildSettingChange::DjRole(match options.get("role") {
            Some(CommandOptionValue::Role(role)) => RoleId::new(role.get()).ok(),
            _ => None,
        }),
        "maxqueue" => GuildSettingChange::MaxQueue(
            usize::try_from(options.required_integer("tracks")?)
                .map_err(|_| usage("the queue needs room for at least one track"))?,
        ),
        "stay247" => GuildSettingChange::Stay247(options.required_boolean("enabled")?),
        "voicechannel" => GuildSettingChange::DefaultVoiceChannel(match options.get("channel") {
            Some(CommandOptionValue::Channel(id)) => ChannelId::new(id.get()).ok(),
            _ => None,
        }),
        "idletimeout" => {
            let minutes = u64::try_from(options.required_integer("minutes")?)
                .map_err(|_| usage("the idle timeout is a number of minutes"))?;
            GuildSettingChange::IdleTimeout(Duration::from_secs(minutes.saturating_mul(60)))
        }
        "voteskip" => {
            let ratio = options
                .number("ratio")
                .ok_or_else(|| usage("tell me the ratio"))?;
            #[allow(clippy::cast_possible_truncation)]
            GuildSettingChange::VoteSkipRatio(ratio as f32)
        }
        "normalisation" => GuildSettingChange::Normalisation(options.required_boolean("enabled")?),
        "volume" => GuildSettingChange::DefaultVolume(options.required_integer("percent")?),
        "filters" => {
            let text = options.string("presets").unwrap_or_default();
            GuildSettingChange::AllowedFilters(
                if matches!(text.trim().to_lowercase().as_str(), "" | "all" | "any") {
                    None
                } else {
                    Some(names(&text))
                },
            )
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests;
