//! A guild command and its reply as the JSON of one stream entry's `request` / `reply` field.
//! Reading validates every value again through the domain's constructors.

use std::time::Duration;

use minstrel_app::vocabulary::{Removal, SeekTarget, VoteOutcome};
use minstrel_app::{
    Actor, CommandError, CommandReply, GuildCommand, NowPlaying, PlayOutcome, QueuePage,
    SkipOutcome,
};
use minstrel_domain::{
    ChannelId, GuildId, PlaybackState, RepeatMode, Requester, RequesterId, RoleId, TelegramUserId,
    Track, UserId, Volume,
};
use minstrel_wire::{FiltersJson, TrackJson};
use serde::{Deserialize, Serialize};

/// The command a caller sends.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) guild: GuildId,
    pub(super) actor: Actor,
    pub(super) command: GuildCommand,
}

#[derive(Serialize, Deserialize)]
struct RequestJson {
    guild: u64,
    actor: ActorJson,
    command: CommandJson,
}

#[derive(Serialize, Deserialize)]
struct ActorJson {
    #[serde(flatten)]
    requester: RequesterIdJson,
    display_name: String,
    is_admin: bool,
    #[serde(default)]
    roles: Vec<u64>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RequesterIdJson {
    Discord { id: u64 },
    Telegram { id: i64 },
    Console,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CommandJson {
    Join {
        channel: u64,
        /// Absent in commands from a process that predates it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text_channel: Option<u64>,
    },
    Leave,
    Play {
        query: String,
    },
    PlayNext {
        query: String,
    },
    PlayNow {
        query: String,
    },
    Replay,
    Skip,
    VoteSkip {
        listeners: usize,
    },
    SkipTo {
        index: usize,
    },
    Previous,
    Seek {
        to: SeekJson,
        millis: u64,
    },
    Remove {
        index: usize,
    },
    RemoveRange {
        from: usize,
        to: usize,
    },
    RemoveDuplicates,
    RemoveRequestedBy {
        requester: Option<RequesterIdJson>,
    },
    RemoveAbsent {
        listeners: Vec<RequesterIdJson>,
    },
    Move {
        from: usize,
        to: usize,
    },
    Clear,
    Pause,
    Resume,
    Stop,
    Queue {
        page: usize,
        per_page: usize,
    },
    NowPlaying,
    SetVolume {
        percent: i64,
    },
    ApplyPreset {
        name: String,
    },
    SetFilter {
        text: String,
    },
    RemoveFilter {
        name: String,
    },
    ShowFilters,
    ResetFilters,
    SetRepeat {
        mode: String,
    },
    Shuffle,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SeekJson {
    At,
    Forward,
    Back,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReplyJson {
    // Boxed: a reply is built once and written at once; the size gap is not worth a lint.
    Ok(Box<ReplyBodyJson>),
    Error { message: String, internal: bool },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ReplyBodyJson {
    Played {
        queued: Vec<TrackJson>,
        position: Option<usize>,
        started: Option<TrackJson>,
        rejected: usize,
        /// Absent in the answers of a process from before long playlists loaded in the
        /// background.
        #[serde(default)]
        loading: bool,
    },
    Skipped {
        skipped: TrackJson,
        next: Option<TrackJson>,
    },
    Voted {
        votes: usize,
        needed: usize,
        skipped: Option<TrackJson>,
        next: Option<TrackJson>,
    },
    Joined,
    Left,
    Paused,
    Resumed,
    Jumped {
        track: TrackJson,
    },
    Sought {
        position_ms: u64,
    },
    Repeat {
        mode: String,
    },
    Removed {
        track: TrackJson,
    },
    Moved {
        track: TrackJson,
        to: usize,
    },
    Cleared {
        count: usize,
    },
    RemovedMany {
        count: usize,
    },
    Stopped {
        removed: usize,
    },
    Queue {
        current: Option<TrackJson>,
        items: Vec<(usize, TrackJson)>,
        page: usize,
        pages: usize,
        total: usize,
        total_duration_ms: u64,
        repeat: String,
    },
    NowPlaying {
        track: TrackJson,
        position_ms: u64,
        state: String,
        volume: u16,
        filters: FiltersJson,
        repeat: String,
        upcoming: usize,
    },
    Volume {
        percent: u16,
    },
    Filters {
        filters: FiltersJson,
    },
    Shuffled {
        count: usize,
    },
}

fn invalid(what: &str, cause: impl std::fmt::Display) -> String {
    format!("the {what} is invalid: {cause}")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn track(track: &Track) -> Result<TrackJson, String> {
    TrackJson::from_track(track).map_err(|error| error.to_string())
}

fn from_track(json: TrackJson) -> Result<Track, String> {
    json.into_track().map_err(|error| error.to_string())
}

fn repeat(text: &str) -> Result<RepeatMode, String> {
    RepeatMode::parse(text).ok_or_else(|| invalid("repeat mode", format!("\"{text}\"")))
}

fn playback_state(text: &str) -> Result<PlaybackState, String> {
    [
        PlaybackState::Idle,
        PlaybackState::Playing,
        PlaybackState::Paused,
        PlaybackState::Stopped,
    ]
    .into_iter()
    .find(|state| state.as_str() == text)
    .ok_or_else(|| invalid("playback state", format!("\"{text}\"")))
}

fn requester_json(id: &RequesterId) -> RequesterIdJson {
    match id {
        RequesterId::Discord(user) => RequesterIdJson::Discord { id: user.get() },
        RequesterId::Telegram(user) => RequesterIdJson::Telegram { id: user.get() },
        RequesterId::Console => RequesterIdJson::Console,
    }
}

fn requester_id(json: RequesterIdJson) -> Result<RequesterId, String> {
    Ok(match json {
        RequesterIdJson::Discord { id } => {
            RequesterId::Discord(UserId::new(id).map_err(|error| invalid("requester", error))?)
        }
        RequesterIdJson::Telegram { id } => RequesterId::Telegram(
            TelegramUserId::new(id).map_err(|error| invalid("requester", error))?,
        ),
        RequesterIdJson::Console => RequesterId::Console,
    })
}

/// The request as JSON.
///
/// # Errors
/// Never for the values the use cases make; a sentence otherwise.
pub(super) fn encode_request(request: &Request) -> Result<String, String> {
    let requester = requester_json(&request.actor.requester.id);
    let command = match &request.command {
        GuildCommand::Join {
            channel,
            text_channel,
        } => CommandJson::Join {
            channel: channel.get(),
            text_channel: text_channel.map(ChannelId::get),
        },
        GuildCommand::Leave => CommandJson::Leave,
        GuildCommand::Play { query } => CommandJson::Play {
            query: query.clone(),
        },
        GuildCommand::PlayNext { query } => CommandJson::PlayNext {
            query: query.clone(),
        },
        GuildCommand::PlayNow { query } => CommandJson::PlayNow {
            query: query.clone(),
        },
        GuildCommand::Replay => CommandJson::Replay,
        GuildCommand::Skip => CommandJson::Skip,
        &GuildCommand::VoteSkip { listeners } => CommandJson::VoteSkip { listeners },
        &GuildCommand::SkipTo { index } => CommandJson::SkipTo { index },
        GuildCommand::Previous => CommandJson::Previous,
        &GuildCommand::Seek { target } => {
            let (to, position) = match target {
                SeekTarget::At(position) => (SeekJson::At, position),
                SeekTarget::Forward(by) => (SeekJson::Forward, by),
                SeekTarget::Back(by) => (SeekJson::Back, by),
            };
            CommandJson::Seek {
                to,
                millis: millis(position),
            }
        }
        &GuildCommand::Remove { index } => CommandJson::Remove { index },
        GuildCommand::RemoveMany { removal } => match removal {
            &Removal::Range { from, to } => CommandJson::RemoveRange { from, to },
            Removal::Duplicates => CommandJson::RemoveDuplicates,
            Removal::RequestedBy(requester) => CommandJson::RemoveRequestedBy {
                requester: requester.as_ref().map(requester_json),
            },
            Removal::Absent { listeners } => CommandJson::RemoveAbsent {
                listeners: listeners.iter().map(requester_json).collect(),
            },
        },
        &GuildCommand::Move { from, to } => CommandJson::Move { from, to },
        GuildCommand::Clear => CommandJson::Clear,
        GuildCommand::Pause => CommandJson::Pause,
        GuildCommand::Resume => CommandJson::Resume,
        GuildCommand::Stop => CommandJson::Stop,
        &GuildCommand::Queue { page, per_page } => CommandJson::Queue { page, per_page },
        GuildCommand::NowPlaying => CommandJson::NowPlaying,
        &GuildCommand::SetVolume { percent } => CommandJson::SetVolume { percent },
        GuildCommand::ApplyPreset { name } => CommandJson::ApplyPreset { name: name.clone() },
        GuildCommand::SetFilter { text } => CommandJson::SetFilter { text: text.clone() },
        GuildCommand::RemoveFilter { name } => CommandJson::RemoveFilter { name: name.clone() },
        GuildCommand::ShowFilters => CommandJson::ShowFilters,
        GuildCommand::ResetFilters => CommandJson::ResetFilters,
        GuildCommand::SetRepeat { mode } => CommandJson::SetRepeat {
            mode: mode.as_str().to_owned(),
        },
        GuildCommand::Shuffle => CommandJson::Shuffle,
    };
    let json = RequestJson {
        guild: request.guild.get(),
        actor: ActorJson {
            requester,
            display_name: request.actor.requester.display_name.clone(),
            is_admin: request.actor.is_admin,
            roles: request.actor.roles.iter().map(|role| role.get()).collect(),
        },
        command,
    };
    serde_json::to_string(&json).map_err(|error| error.to_string())
}

/// The request again.
///
/// # Errors
/// A sentence when the JSON or a value in it is invalid.
pub(super) fn decode_request(text: &str) -> Result<Request, String> {
    let json: RequestJson =
        serde_json::from_str(text).map_err(|error| invalid("command", error))?;
    let guild = GuildId::new(json.guild).map_err(|error| invalid("guild", error))?;
    let id = requester_id(json.actor.requester)?;
    let roles = json
        .actor
        .roles
        .into_iter()
        .map(|role| RoleId::new(role).map_err(|error| invalid("role", error)))
        .collect::<Result<_, _>>()?;
    let actor = Actor::member(
        Requester {
            id,
            display_name: json.actor.display_name,
        },
        roles,
        json.actor.is_admin,
    );
    let command = match json.command {
        CommandJson::Join {
            channel,
            text_channel,
        } => GuildCommand::Join {
            channel: ChannelId::new(channel).map_err(|error| invalid("channel", error))?,
            text_channel: text_channel
                .map(ChannelId::new)
                .transpose()
                .map_err(|error| invalid("text_channel", error))?,
        },
        CommandJson::Leave => GuildCommand::Leave,
        CommandJson::Play { query } => GuildCommand::Play { query },
        CommandJson::PlayNext { query } => GuildCommand::PlayNext { query },
        CommandJson::Skip => GuildCommand::Skip,
        CommandJson::VoteSkip { listeners } => GuildCommand::VoteSkip { listeners },
        CommandJson::SkipTo { index } => GuildCommand::SkipTo { index },
        CommandJson::Previous => GuildCommand::Previous,
        CommandJson::Seek { to, millis } => {
            let position = Duration::from_millis(millis);
            GuildCommand::Seek {
                target: match to {
                    SeekJson::At => SeekTarget::At(position),
                    SeekJson::Forward => SeekTarget::Forward(position),
                    SeekJson::Back => SeekTarget::Back(position),
                },
            }
        }
        CommandJson::Remove { index } => GuildCommand::Remove { index },
        CommandJson::RemoveRange { from, to } => GuildCommand::RemoveMany {
            removal: Removal::Range { from, to },
        },
        CommandJson::RemoveDuplicates => GuildCommand::RemoveMany {
            removal: Removal::Duplicates,
        },
        CommandJson::RemoveRequestedBy { requester } => GuildCommand::RemoveMany {
            removal: Removal::RequestedBy(requester.map(requester_id).transpose()?),
        },
        CommandJson::RemoveAbsent { listeners } => GuildCommand::RemoveMany {
            removal: Removal::Absent {
                listeners: listeners
                    .into_iter()
                    .map(requester_id)
                    .collect::<Result<_, _>>()?,
            },
        },
        CommandJson::PlayNow { query } => GuildCommand::PlayNow { query },
        CommandJson::Replay => GuildCommand::Replay,
        CommandJson::Move { from, to } => GuildCommand::Move { from, to },
        CommandJson::Clear => GuildCommand::Clear,
        CommandJson::Pause => GuildCommand::Pause,
        CommandJson::Resume => GuildCommand::Resume,
        CommandJson::Stop => GuildCommand::Stop,
        CommandJson::Queue { page, per_page } => GuildCommand::Queue { page, per_page },
        CommandJson::NowPlaying => GuildCommand::NowPlaying,
        CommandJson::SetVolume { percent } => GuildCommand::SetVolume { percent },
        CommandJson::ApplyPreset { name } => GuildCommand::ApplyPreset { name },
        CommandJson::SetFilter { text } => GuildCommand::SetFilter { text },
        CommandJson::RemoveFilter { name } => GuildCommand::RemoveFilter { name },
        CommandJson::ShowFilters => GuildCommand::ShowFilters,
        CommandJson::ResetFilters => GuildCommand::ResetFilters,
        CommandJson::SetRepeat { mode } => GuildCommand::SetRepeat {
            mode: repeat(&mode)?,
        },
        CommandJson::Shuffle => GuildCommand::Shuffle,
    };
    Ok(Request {
        guild,
        actor,
        command,
    })
}

/// A reply as JSON; an error travels as its sentence for the user.
///
/// # Errors
/// When a track's duration does not fit.
pub(super) fn encode_reply(reply: &Result<CommandReply, CommandError>) -> Result<String, String> {
    let json = match reply {
        Ok(reply) => ReplyJson::Ok(Box::new(body(reply)?)),
        Err(error) => ReplyJson::Error {
            message: error.to_string(),
            internal: error.is_internal(),
        },
    };
    serde_json::to_string(&json).map_err(|error| error.to_string())
}

fn body(reply: &CommandReply) -> Result<ReplyBodyJson, String> {
    Ok(match reply {
        CommandReply::Played(outcome) => ReplyBodyJson::Played {
            queued: outcome.queued.iter().map(track).collect::<Result<_, _>>()?,
            position: outcome.position,
            started: outcome.started.as_ref().map(track).transpose()?,
            rejected: outcome.rejected,
            loading: outcome.loading,
        },
        CommandReply::Skipped(outcome) => ReplyBodyJson::Skipped {
            skipped: track(&outcome.skipped)?,
            next: outcome.next.as_ref().map(track).transpose()?,
        },
        CommandReply::Voted(vote) => ReplyBodyJson::Voted {
            votes: vote.votes,
            needed: vote.needed,
            skipped: vote
                .skipped
                .as_ref()
                .map(|outcome| track(&outcome.skipped))
                .transpose()?,
            next: vote
                .skipped
                .as_ref()
                .and_then(|outcome| outcome.next.as_ref())
                .map(track)
                .transpose()?,
        },
        CommandReply::Joined => ReplyBodyJson::Joined,
        CommandReply::Left => ReplyBodyJson::Left,
        CommandReply::Paused => ReplyBodyJson::Paused,
        CommandReply::Resumed => ReplyBodyJson::Resumed,
        CommandReply::Jumped(jumped) => ReplyBodyJson::Jumped {
            track: track(jumped)?,
        },
        &CommandReply::Sought(position) => ReplyBodyJson::Sought {
            position_ms: millis(position),
        },
        CommandReply::Repeat(mode) => ReplyBodyJson::Repeat {
            mode: mode.as_str().to_owned(),
        },
        CommandReply::Removed(removed) => ReplyBodyJson::Removed {
            track: track(removed)?,
        },
        &CommandReply::Moved(ref moved, to) => ReplyBodyJson::Moved {
            track: track(moved)?,
            to,
        },
        &CommandReply::Cleared(count) => ReplyBodyJson::Cleared { count },
        &CommandReply::RemovedMany(count) => ReplyBodyJson::RemovedMany { count },
        &CommandReply::Stopped(removed) => ReplyBodyJson::Stopped { removed },
        CommandReply::Queue(page) => ReplyBodyJson::Queue {
            current: page.current.as_ref().map(track).transpose()?,
            items: page
                .items
                .iter()
                .map(|(position, item)| Ok((*position, track(item)?)))
                .collect::<Result<_, String>>()?,
            page: page.page,
            pages: page.pages,
            total: page.total,
            total_duration_ms: millis(page.total_duration),
            repeat: page.repeat.as_str().to_owned(),
        },
        CommandReply::NowPlaying(now) => ReplyBodyJson::NowPlaying {
            track: track(&now.track)?,
            position_ms: millis(now.position),
            state: now.state.as_str().to_owned(),
            volume: now.volume.percent(),
            filters: FiltersJson::from_spec(&now.filters),
            repeat: now.repeat.as_str().to_owned(),
            upcoming: now.upcoming,
        },
        CommandReply::Volume(volume) => ReplyBodyJson::Volume {
            percent: volume.percent(),
        },
        CommandReply::Filters(spec) => ReplyBodyJson::Filters {
            filters: FiltersJson::from_spec(spec),
        },
        &CommandReply::Shuffled(count) => ReplyBodyJson::Shuffled { count },
    })
}

/// The reply again.
///
/// # Errors
/// A sentence when the JSON or a value in it is invalid (the caller reports a transport
/// failure; a refusal of the use case is an `Ok(Err(..))`).
#[allow(clippy::too_many_lines)] // one arm per reply reads as a table
pub(super) fn decode_reply(text: &str) -> Result<Result<CommandReply, CommandError>, String> {
    let json: ReplyJson = serde_json::from_str(text).map_err(|error| invalid("reply", error))?;
    let body = match json {
        ReplyJson::Ok(body) => *body,
        ReplyJson::Error { message, internal } => {
            return Ok(Err(CommandError::Remote { message, internal }));
        }
    };
    let volume =
        |percent: u16| Volume::new(i64::from(percent)).map_err(|error| invalid("volume", error));
    let filters = |json: FiltersJson| json.into_spec().map_err(|error| invalid("filters", error));
    Ok(Ok(match body {
        ReplyBodyJson::Played {
            queued,
            position,
            started,
            rejected,
            loading,
        } => CommandReply::Played(PlayOutcome {
            queued: queued
                .into_iter()
                .map(from_track)
                .collect::<Result<_, _>>()?,
            position,
            started: started.map(from_track).transpose()?,
            rejected,
            loading,
        }),
        ReplyBodyJson::Skipped { skipped, next } => CommandReply::Skipped(SkipOutcome {
            skipped: from_track(skipped)?,
            next: next.map(from_track).transpose()?,
        }),
        ReplyBodyJson::Voted {
            votes,
            needed,
            skipped,
            next,
        } => CommandReply::Voted(VoteOutcome {
            votes,
            needed,
            skipped: skipped
                .map(|skipped| {
                    Ok::<_, String>(SkipOutcome {
                        skipped: from_track(skipped)?,
                        next: next.map(from_track).transpose()?,
                    })
                })
                .transpose()?,
        }),
        ReplyBodyJson::Joined => CommandReply::Joined,
        ReplyBodyJson::Left => CommandReply::Left,
        ReplyBodyJson::Paused => CommandReply::Paused,
        ReplyBodyJson::Resumed => CommandReply::Resumed,
        ReplyBodyJson::Jumped { track } => CommandReply::Jumped(from_track(track)?),
        ReplyBodyJson::Sought { position_ms } => {
            CommandReply::Sought(Duration::from_millis(position_ms))
        }
        ReplyBodyJson::Repeat { mode } => CommandReply::Repeat(repeat(&mode)?),
        ReplyBodyJson::Removed { track } => CommandReply::Removed(from_track(track)?),
        ReplyBodyJson::Moved { track, to } => CommandReply::Moved(from_track(track)?, to),
        ReplyBodyJson::Cleared { count } => CommandReply::Cleared(count),
        ReplyBodyJson::RemovedMany { count } => CommandReply::RemovedMany(count),
        ReplyBodyJson::Stopped { removed } => CommandReply::Stopped(removed),
        ReplyBodyJson::Queue {
            current,
            items,
            page,
            pages,
            total,
            total_duration_ms,
            repeat: mode,
        } => CommandReply::Queue(QueuePage {
            current: current.map(from_track).transpose()?,
            items: items
                .into_iter()
                .map(|(position, item)| Ok((position, from_track(item)?)))
                .collect::<Result<_, String>>()?,
            page,
            pages,
            total,
            total_duration: Duration::from_millis(total_duration_ms),
            repeat: repeat(&mode)?,
        }),
        ReplyBodyJson::NowPlaying {
            track,
            position_ms,
            state,
            volume: percent,
            filters: spec,
            repeat: mode,
            upcoming,
        } => CommandReply::NowPlaying(Box::new(NowPlaying {
            track: from_track(track)?,
            position: Duration::from_millis(position_ms),
            state: playback_state(&state)?,
            volume: volume(percent)?,
            filters: filters(spec)?,
            repeat: repeat(&mode)?,
            upcoming,
        })),
        ReplyBodyJson::Volume { percent } => CommandReply::Volume(volume(percent)?),
        ReplyBodyJson::Filters { filters: spec } => CommandReply::Filters(filters(spec)?),
        ReplyBodyJson::Shuffled { count } => CommandReply::Shuffled(count),
    }))
}

#[cfg(test)]
mod tests;
