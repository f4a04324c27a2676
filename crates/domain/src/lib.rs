//! minstrel's domain: tracks, the per-guild queue, the playback state machine, filter
//! specifications, settings, playlists and domain events.
//!
//! Pure rules and validated values. This crate knows no async runtime, no I/O and no framework
//! (no tokio, sea-orm, twilight, teloxide, songbird or symphonia): everything here is testable
//! with plain values.

pub mod events;
pub mod filters;
pub mod ids;
pub mod playback;
pub mod playlist;
pub mod queue;
pub mod settings;
pub mod text;
pub mod track;
pub mod volume;

pub use events::{DomainEvent, EndReason};
pub use filters::{FilterError, FilterSpec, Preset};
pub use ids::{ChannelId, GuildId, IdError, RoleId, TelegramChatId, TelegramUserId, UserId};
pub use playback::{PlaybackError, PlaybackState};
pub use playlist::{
    HistoryEntry, Playlist, PlaylistEntry, PlaylistId, PlaylistName, PlaylistNameError,
    PlaylistOwner,
};
pub use queue::{AddPosition, Advance, Queue, QueueError, RepeatMode};
pub use settings::{GuildSettings, SettingsError, UserSettings};
pub use text::single_line;
pub use track::{Requester, RequesterId, Song, SongState, SourceKind, Track, TrackId};
pub use volume::{Volume, VolumeError};
