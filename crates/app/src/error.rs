//! Errors of the music use cases, written for the person who typed the command.

use std::time::Duration;

use minstrel_domain::{
    FilterError, PlaybackError, PlaylistNameError, QueueError, SettingsError, VolumeError,
};

use crate::policy::PermissionError;
use crate::ports::{PlayerError, ResolveError, StoreError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MusicError {
    #[error("nothing is playing")]
    NothingPlaying,
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Playback(#[from] PlaybackError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("the {0} filter is turned off on this server")]
    FilterNotAllowed(String),
    #[error("this server only allows its chosen presets; hand-made filters are turned off")]
    ManualFiltersNotAllowed,
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Permission(#[from] PermissionError),
    #[error("slow down a little: try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("nothing to play: give me a song, or choose a playlist with `playlist use`")]
    NoActivePlaylist,
    #[error("that is past the end of the track ({0})")]
    SeekPastEnd(String),
    #[error("you already voted to skip this track")]
    AlreadyVoted,
    #[error("give me something to search for")]
    EmptyQuery,
    #[error(transparent)]
    Player(#[from] PlayerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    PlaylistName(#[from] PlaylistNameError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("no playlist called \"{0}\"")]
    NoSuchPlaylist(String),
    #[error("the track is still loading; try again in a moment")]
    StillOpening,
    #[error(
        "I am not in a voice channel: someone on Discord starts me with /join or /play, or a \
         server manager sets a default channel with /guildsettings voicechannel"
    )]
    NoVoiceChannel,
}

impl MusicError {
    /// True for failures of the bot rather than of the request (worth a log line at error level).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Player(PlayerError::Internal(_))
                | Self::Store(StoreError::Internal(_) | StoreError::Unavailable(_))
                | Self::Resolve(ResolveError::Internal(_))
        )
    }
}
