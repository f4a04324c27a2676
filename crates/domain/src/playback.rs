//! The playback state machine: IDLE → PLAYING ⇄ PAUSED → STOPPED.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[must_use]
pub enum PlaybackState {
    #[default]
    Idle,
    Playing,
    Paused,
    Stopped,
}

impl PlaybackState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Self::Playing | Self::Paused)
    }

    /// A track starts (from idle, stopped, or replacing the one playing).
    pub fn start(self) -> Self {
        Self::Playing
    }

    pub fn pause(self) -> Result<Self, PlaybackError> {
        match self {
            Self::Playing => Ok(Self::Paused),
            Self::Paused => Err(PlaybackError::AlreadyPaused),
            Self::Idle | Self::Stopped => Err(PlaybackError::NothingPlaying),
        }
    }

    pub fn resume(self) -> Result<Self, PlaybackError> {
        match self {
            Self::Paused => Ok(Self::Playing),
            Self::Playing => Err(PlaybackError::NotPaused),
            Self::Idle | Self::Stopped => Err(PlaybackError::NothingPlaying),
        }
    }

    /// `stop`: playback ends and the queue is cleared.
    pub fn stop(self) -> Result<Self, PlaybackError> {
        match self {
            Self::Playing | Self::Paused => Ok(Self::Stopped),
            Self::Idle | Self::Stopped => Err(PlaybackError::NothingPlaying),
        }
    }

    /// The queue ran out after a track ended.
    pub fn queue_finished(self) -> Self {
        Self::Idle
    }
}

impl fmt::Display for PlaybackState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlaybackError {
    #[error("nothing is playing")]
    NothingPlaying,
    #[error("playback is already paused")]
    AlreadyPaused,
    #[error("playback is not paused")]
    NotPaused,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_of_the_state_machine() {
        let playing = PlaybackState::Idle.start();
        assert_eq!(playing, PlaybackState::Playing);
        let paused = playing.pause().unwrap();
        assert_eq!(paused.pause(), Err(PlaybackError::AlreadyPaused));
        assert_eq!(paused.resume(), Ok(PlaybackState::Playing));
        assert_eq!(playing.resume(), Err(PlaybackError::NotPaused));
        assert_eq!(paused.stop(), Ok(PlaybackState::Stopped));
        assert_eq!(
            PlaybackState::Idle.pause(),
            Err(PlaybackError::NothingPlaying)
        );
        assert_eq!(
            PlaybackState::Stopped.stop(),
            Err(PlaybackError::NothingPlaying)
        );
        assert_eq!(PlaybackState::Stopped.start(), PlaybackState::Playing);
        assert_eq!(playing.queue_finished(), PlaybackState::Idle);
        assert!(paused.is_active() && !PlaybackState::Idle.is_active());
    }
}
