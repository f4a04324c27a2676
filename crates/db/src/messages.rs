//! The sentences storage errors carry. Users read them, and every adapter of this crate must say
//! the same thing for the same situation, so they are written once here.

use minstrel_app::ports::StoreError;
use minstrel_domain::{Playlist, PlaylistName, PlaylistOwner};

pub(crate) fn duplicate_playlist(owner: PlaylistOwner, name: &PlaylistName) -> StoreError {
    let who = match owner {
        PlaylistOwner::User(_) => "you already have",
        PlaylistOwner::Guild(_) => "this server already has",
    };
    StoreError::Conflict(format!("{who} a playlist called \"{name}\""))
}

pub(crate) fn playlist_full(name: &PlaylistName, current: usize) -> StoreError {
    let room = Playlist::MAX_ENTRIES.saturating_sub(current);
    StoreError::Conflict(format!(
        "a playlist can hold at most {max} tracks; \"{name}\" has room for {room} more",
        max = Playlist::MAX_ENTRIES,
    ))
}

/// Displays as "that playlist was not found".
pub(crate) fn no_such_playlist() -> StoreError {
    StoreError::NotFound("that playlist".to_owned())
}

/// `index` is 0-based as in the port; people count from 1, so the message does too.
pub(crate) fn no_such_entry(index: usize) -> StoreError {
    StoreError::NotFound(format!("entry {}", index.saturating_add(1)))
}

pub(crate) fn duplicate_link_code() -> StoreError {
    StoreError::Conflict("that link code already exists".to_owned())
}
