//! Cache keys (`kind:{id}`, as the `Cache` port documents) and how long each kind stays fresh.
//!
//! Every cache user builds its keys here, so two parts of the program never spell the same
//! entry two ways.

use std::time::Duration;

use minstrel_domain::{GuildId, UserId};

/// Saved settings change only when the user changes them, and that path deletes the key.
pub const USER_SETTINGS_TTL: Duration = Duration::from_mins(30);
/// Track metadata (title, duration, thumbnail) rarely changes at the source.
pub const TRACK_METADATA_TTL: Duration = Duration::from_hours(1);
/// A guild's active playlist is edited often while people listen.
pub const PLAYLIST_TTL: Duration = Duration::from_mins(10);

/// `user_settings:{user}`.
pub fn user_settings(user: UserId) -> String {
    format!("user_settings:{user}")
}

/// `track_metadata:{id}`, where `id` is what identifies the track at its source (a URL, a
/// video id, a path).
pub fn track_metadata(id: &str) -> String {
    format!("track_metadata:{id}")
}

/// `playlist:{guild}`: the guild's active playlist.
pub fn playlist(guild: GuildId) -> String {
    format!("playlist:{guild}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kind_colon_id() {
        let user = UserId::new(81_384_788_765_712_384).unwrap();
        let guild = GuildId::new(42).unwrap();
        assert_eq!(user_settings(user), "user_settings:81384788765712384");
        assert_eq!(
            track_metadata("https://youtu.be/dQw4w9WgXcQ"),
            "track_metadata:https://youtu.be/dQw4w9WgXcQ"
        );
        assert_eq!(playlist(guild), "playlist:42");
    }

    #[test]
    fn kinds_do_not_collide_for_the_same_number() {
        let user = user_settings(UserId::new(7).unwrap());
        let guild = playlist(GuildId::new(7).unwrap());
        let track = track_metadata("7");
        assert!(user != guild && guild != track && user != track);
    }

    #[test]
    fn ttls() {
        assert_eq!(USER_SETTINGS_TTL.as_secs(), 30 * 60);
        assert_eq!(TRACK_METADATA_TTL.as_secs(), 60 * 60);
        assert_eq!(PLAYLIST_TTL.as_secs(), 10 * 60);
    }
}
