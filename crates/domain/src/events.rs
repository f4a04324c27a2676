//! Domain events: what happened to a guild's player, for front-ends, the Telegram bridge,
//! history and metrics.

use std::time::Duration;

use crate::filters::FilterSpec;
use crate::ids::GuildId;
use crate::track::Track;
use crate::volume::Volume;

/// Why a track stopped playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    Finished,
    Skipped,
    Stopped,
    Replaced,
    /// No audio came for too long while playing.
    Stuck,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    TrackQueued {
        guild: GuildId,
        track: Track,
        position: usize,
    },
    TrackStarted {
        guild: GuildId,
        track: Track,
    },
    TrackEnded {
        guild: GuildId,
        track: Track,
        reason: EndReason,
    },
    TrackFailed {
        guild: GuildId,
        track: Track,
        reason: String,
    },
    Paused {
        guild: GuildId,
    },
    Resumed {
        guild: GuildId,
    },
    VolumeChanged {
        guild: GuildId,
        volume: Volume,
    },
    FiltersChanged {
        guild: GuildId,
        filters: FilterSpec,
    },
    Seeked {
        guild: GuildId,
        position: Duration,
    },
    QueueFinished {
        guild: GuildId,
    },
    Skipped {
        guild: GuildId,
        track: Track,
    },
    /// Discord ended the guild's voice connection for good (the bot was kicked or moved out,
    /// or the channel was deleted). The bot does not rejoin on its own; the queue is kept,
    /// `queued` tracks long, for the next join or play.
    VoiceLost {
        guild: GuildId,
        queued: usize,
    },
}

impl DomainEvent {
    pub fn guild(&self) -> GuildId {
        match self {
            Self::TrackQueued { guild, .. }
            | Self::TrackStarted { guild, .. }
            | Self::TrackEnded { guild, .. }
            | Self::TrackFailed { guild, .. }
            | Self::Paused { guild }
            | Self::Resumed { guild }
            | Self::VolumeChanged { guild, .. }
            | Self::FiltersChanged { guild, .. }
            | Self::Seeked { guild, .. }
            | Self::QueueFinished { guild }
            | Self::Skipped { guild, .. }
            | Self::VoiceLost { guild, .. } => *guild,
        }
    }

    /// A stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TrackQueued { .. } => "track_queued",
            Self::TrackStarted { .. } => "track_started",
            Self::TrackEnded { .. } => "track_ended",
            Self::TrackFailed { .. } => "track_failed",
            Self::Paused { .. } => "paused",
            Self::Resumed { .. } => "resumed",
            Self::VolumeChanged { .. } => "volume_changed",
            Self::FiltersChanged { .. } => "filters_changed",
            Self::Seeked { .. } => "seeked",
            Self::QueueFinished { .. } => "queue_finished",
            Self::Skipped { .. } => "skipped",
            Self::VoiceLost { .. } => "voice_lost",
        }
    }
}
