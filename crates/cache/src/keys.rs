//! Cache keys (`kind:{id}`, as the `Cache` port documents) and how long each kind stays fresh.
//!
//! Every cache user builds its keys here, so two parts of the program never spell the same
//! entry two ways.

use std::time::Duration;

use minstrel_domain::{GuildId, PlaylistId, UserId};

/// Saved settings change only when the user changes them, and that path deletes the key.
pub const USER_SETTINGS_TTL: Duration = Duration::from_mins(30);
/// A guild's settings change only through its settings commands, and that path deletes the key.
pub const GUILD_SETTINGS_TTL: Duration = Duration::from_mins(30);
/// Track metadata (title, duration, thumbnail) rarely changes at the source.
pub const TRACK_METADATA_TTL: Duration = Duration::from_hours(1);
/// A guild's active playlist is edited often while people listen.
pub const PLAYLIST_TTL: Duration = Duration::from_mins(10);

/// `user_settings:{user}`.
pub fn user_settings(user: UserId) -> String {
    format!("user_settings:{user}")
}

/// `guild_settings:{guild}`.
pub fn guild_settings(guild: GuildId) -> String {
    format!("guild_settings:{guild}")
}

/// `track_metadata:{id}`, where `id` is what identifies the track at its source (a URL, a
/// video id, a path).
pub fn track_metadata(id: &str) -> String {
    format!("track_metadata:{id}")
}

/// `playlist:{guild}`: which playlist is the guild's active one (or that none is).
///
/// Only the pointer lives here; the playlist itself is under [`playlist_contents`], so an edit
/// of a playlist, which knows its id but not the guilds that play it, has one key to delete.
pub fn playlist(guild: GuildId) -> String {
    format!("playlist:{guild}")
}

/// `playlist_contents:{id}`: one playlist (owner, name, entries), as an active playlist shows.
pub fn playlist_contents(id: &PlaylistId) -> String {
    format!("playlist_contents:{}", id.0)
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
        assert_eq!(guild_settings(guild), "guild_settings:42");
        assert_eq!(playlist_contents(&PlaylistId(42)), "playlist_contents:42");
    }

    #[test]
    fn kinds_do_not_collide_for_the_same_number() {
        let user = user_settings(UserId::new(7).unwrap());
        let guild = playlist(GuildId::new(7).unwrap());
        let track = track_metadata("7");
        let guild_settings = guild_settings(GuildId::new(7).unwrap());
        let contents = playlist_contents(&PlaylistId(7));
        let all = [user, guild, track, guild_settings, contents];
        for (index, key) in all.iter().enumerate() {
            assert!(
                !all[index + 1..].contains(key),
                "{key} is spelt the same as another kind"
            );
        }
    }

    #[test]
    fn ttls() {
        assert_eq!(USER_SETTINGS_TTL.as_secs(), 30 * 60);
        assert_eq!(TRACK_METADATA_TTL.as_secs(), 60 * 60);
        assert_eq!(GUILD_SETTINGS_TTL.as_secs(), 30 * 60);
        assert_eq!(PLAYLIST_TTL.as_secs(), 10 * 60);
    }
}
