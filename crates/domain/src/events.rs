//! Domain events: what happened to a guild's player, for front-ends, the Telegram bridge,
//! history and metrics.

use std::time::Duration;

use crate::filters::FilterSpec;
use crate::ids::GuildId;
use crate::track::Track;
use crate::volume::Volume;

/// How long a playing track may stay silent before the player skips it as stuck, unless
/// configured otherwise (the players' own default is the same).
pub const DEFAULT_TRACK_STUCK_AFTER: Duration = Duration::from_secs(10);

/// The silence after which a track counted as stuck, as the notices name it: "10 s",
/// "2.5 s", "1 min 30 s".
pub fn stuck_window_text(after: Duration) -> String {
    // A window under a millisecond is named as one rather than as none.
    let millis = after.as_millis().max(u128::from(!after.is_zero()));
    let (seconds, fraction) = (millis / 1000, millis % 1000);
    if fraction == 0 && seconds >= 60 {
        let (minutes, seconds) = (seconds / 60, seconds % 60);
        return if seconds == 0 {
            format!("{minutes} min")
        } else {
            format!("{minutes} min {seconds} s")
        };
    }
    if fraction == 0 {
        return format!("{seconds} s");
    }
    let fraction = format!("{fraction:03}");
    format!("{seconds}.{} s", fraction.trim_end_matches('0'))
}

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
    /// Someone on Discord called the guild's linked Telegram chat with `/all`: the chat is to
    /// mention each of its known members, naming `caller` and the `reason` (`None` when none
    /// was given). The Telegram side looks the members up when it sends.
    CallToChat {
        guild: GuildId,
        caller: String,
        reason: Option<String>,
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
            | Self::VoiceLost { guild, .. }
            | Self::CallToChat { guild, .. } => *guild,
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
            Self::CallToChat { .. } => "call_to_chat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stuck_window_is_named_in_seconds_or_minutes() {
        assert_eq!(stuck_window_text(DEFAULT_TRACK_STUCK_AFTER), "10 s");
        assert_eq!(stuck_window_text(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(stuck_window_text(Duration::from_millis(250)), "0.25 s");
        assert_eq!(stuck_window_text(Duration::from_micros(10)), "0.001 s");
        assert_eq!(stuck_window_text(Duration::from_secs(90)), "1 min 30 s");
        assert_eq!(stuck_window_text(Duration::from_hours(1)), "60 min");
        assert_eq!(stuck_window_text(Duration::from_millis(60_500)), "60.5 s");
    }
}
