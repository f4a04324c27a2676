//! A guild command as a value: what every front-end parses its input into, and what travels to
//! the process that plays the guild (see [`crate::shards`]).

use std::time::Duration;

use minstrel_domain::{ChannelId, RepeatMode, RequesterId};

use super::CommandId;

/// Where a seek goes: to a time, or forward or back from the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTarget {
    At(Duration),
    Forward(Duration),
    Back(Duration),
}

impl SeekTarget {
    /// The position this target names, seen from `current`; back past the start is the start.
    pub fn resolve(self, current: Duration) -> Duration {
        match self {
            Self::At(position) => position,
            Self::Forward(by) => current.saturating_add(by),
            Self::Back(by) => current.saturating_sub(by),
        }
    }
}

/// Which upcoming tracks a removal takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// 0-based positions `from..=to`.
    Range { from: usize, to: usize },
    /// Later copies of a song already in the queue.
    Duplicates,
    /// The tracks one requester asked for; `None` is whoever gives the command.
    RequestedBy(Option<RequesterId>),
    /// The tracks of Discord members who are no longer in the voice channel: everyone not
    /// in `listeners`. Tracks from Telegram, the console or autoplay stay.
    Absent { listeners: Vec<RequesterId> },
}

/// A command for one guild's player. Positions are 0-based; front-ends show them 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuildCommand {
    /// Connect to this voice channel; the guild's notices go to `text_channel` when given.
    Join {
        channel: ChannelId,
        text_channel: Option<ChannelId>,
    },
    /// Stop, clear the queue and disconnect.
    Leave,
    /// Queue what `query` finds at the end of the queue.
    Play {
        query: String,
    },
    /// Queue what `query` finds right after the current track.
    PlayNext {
        query: String,
    },
    /// Queue what `query` finds and play it at once, skipping the current track.
    PlayNow {
        query: String,
    },
    /// Play the current track again from its start.
    Replay,
    Pause,
    Resume,
    Skip,
    /// A vote to skip; `listeners` is how many people listen in the voice channel.
    VoteSkip {
        listeners: usize,
    },
    SkipTo {
        index: usize,
    },
    Previous,
    /// Stop and clear the queue.
    Stop,
    Seek {
        target: SeekTarget,
    },
    /// Page `page` (1-based) of `per_page` tracks.
    Queue {
        page: usize,
        per_page: usize,
    },
    NowPlaying,
    SetVolume {
        percent: i64,
    },
    SetRepeat {
        mode: RepeatMode,
    },
    Shuffle,
    Remove {
        index: usize,
    },
    /// Remove several upcoming tracks at once.
    RemoveMany {
        removal: Removal,
    },
    Move {
        from: usize,
        to: usize,
    },
    /// Remove every upcoming track.
    Clear,
    ApplyPreset {
        name: String,
    },
    /// Parameters of one filter, as typed: `distortion sinOffset=0.1` (parsed by the owner);
    /// several filters at once are separated by `;` and change together or not at all.
    SetFilter {
        text: String,
    },
    /// Turns one filter off by its name (`reverb`).
    RemoveFilter {
        name: String,
    },
    /// The active filters.
    ShowFilters,
    ResetFilters,
}

impl GuildCommand {
    /// The vocabulary entry this command belongs to.
    pub fn id(&self) -> CommandId {
        match self {
            Self::Join { .. } => CommandId::Join,
            Self::Leave => CommandId::Leave,
            Self::Play { .. } => CommandId::Play,
            Self::PlayNext { .. } => CommandId::PlayNext,
            Self::PlayNow { .. } => CommandId::PlayNow,
            Self::Replay => CommandId::Replay,
            Self::Pause => CommandId::Pause,
            Self::Resume => CommandId::Resume,
            Self::Skip => CommandId::Skip,
            Self::VoteSkip { .. } => CommandId::VoteSkip,
            Self::SkipTo { .. } => CommandId::SkipTo,
            Self::Previous => CommandId::Previous,
            Self::Stop => CommandId::Stop,
            Self::Seek { .. } => CommandId::Seek,
            Self::Queue { .. } => CommandId::Queue,
            Self::NowPlaying => CommandId::NowPlaying,
            Self::SetVolume { .. } => CommandId::Volume,
            Self::SetRepeat { .. } => CommandId::Repeat,
            Self::Shuffle => CommandId::Shuffle,
            Self::Remove { .. } | Self::RemoveMany { .. } => CommandId::Remove,
            Self::Move { .. } => CommandId::Move,
            Self::Clear => CommandId::Clear,
            Self::ApplyPreset { .. } => CommandId::FilterPreset,
            Self::SetFilter { .. }
            | Self::RemoveFilter { .. }
            | Self::ShowFilters
            | Self::ResetFilters => CommandId::FilterEdit,
        }
    }

    /// What a play of any kind (play, play next, play now) asks for; `None` for the rest.
    pub fn query(&self) -> Option<&str> {
        match self {
            Self::Play { query } | Self::PlayNext { query } | Self::PlayNow { query } => {
                Some(query)
            }
            _ => None,
        }
    }

    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SetFilter { .. } => "filter_set",
            Self::RemoveFilter { .. } => "filter_remove",
            Self::ShowFilters => "filter_show",
            Self::ResetFilters => "filter_reset",
            Self::NowPlaying => "np",
            Self::RemoveMany { .. } => "remove_many",
            other => other.id().spec().name,
        }
    }
}
