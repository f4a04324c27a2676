//! Saved playlists and listening history.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::ids::{GuildId, UserId};
use crate::track::{RequesterId, SourceKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaylistNameError {
    #[error("a playlist name cannot be empty")]
    Empty,
    #[error("a playlist name can have at most {max} characters", max = PlaylistName::MAX_CHARS)]
    TooLong,
    #[error("a playlist name cannot contain control characters")]
    ControlCharacter,
}

/// A playlist name: trimmed, 1 ..= 64 characters, no control characters. Compared
/// case-insensitively so "Chill" and "chill" are the same playlist.
#[derive(Debug, Clone, Eq)]
pub struct PlaylistName(String);

impl PlaylistName {
    pub const MAX_CHARS: usize = 64;

    pub fn new(name: &str) -> Result<Self, PlaylistNameError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(PlaylistNameError::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(PlaylistNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(PlaylistNameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key names are unique by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PartialEq for PlaylistName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl fmt::Display for PlaylistName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Whose playlist it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistOwner {
    User(UserId),
    Guild(GuildId),
}

/// A saved entry: enough to resolve it again and to show it without resolving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistEntry {
    pub title: String,
    pub locator: String,
    pub source_kind: SourceKind,
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaylistId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    pub id: PlaylistId,
    pub owner: PlaylistOwner,
    pub name: PlaylistName,
    pub entries: Vec<PlaylistEntry>,
}

impl Playlist {
    pub const MAX_ENTRIES: usize = 1000;
}

/// One played track in someone's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub guild_id: GuildId,
    pub requester: RequesterId,
    pub title: String,
    pub locator: String,
    pub duration: Option<Duration>,
    pub played_at: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_names_validate_and_compare_case_insensitively() {
        assert_eq!(PlaylistName::new("  Chill  ").unwrap().as_str(), "Chill");
        assert_eq!(
            PlaylistName::new("chill").unwrap(),
            PlaylistName::new("CHILL").unwrap()
        );
        assert_eq!(PlaylistName::new("   "), Err(PlaylistNameError::Empty));
        assert_eq!(
            PlaylistName::new(&"x".repeat(65)),
            Err(PlaylistNameError::TooLong)
        );
        assert_eq!(
            PlaylistName::new("a\u{7}b"),
            Err(PlaylistNameError::ControlCharacter)
        );
        assert!(PlaylistName::new(&"é".repeat(64)).is_ok());
    }
}
