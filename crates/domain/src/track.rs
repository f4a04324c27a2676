//! Tracks and the lifecycle of a requested song.

use std::fmt;
use std::time::Duration;

use crate::ids::{TelegramUserId, UserId};

/// Where a track's audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Local,
    Http,
    YouTube,
    YouTubeMusic,
    SoundCloud,
    Bandcamp,
    Twitch,
    Vimeo,
    Spotify,
    Other,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Http => "http",
            Self::YouTube => "youtube",
            Self::YouTubeMusic => "youtube-music",
            Self::SoundCloud => "soundcloud",
            Self::Bandcamp => "bandcamp",
            Self::Twitch => "twitch",
            Self::Vimeo => "vimeo",
            Self::Spotify => "spotify",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Local,
            Self::Http,
            Self::YouTube,
            Self::YouTubeMusic,
            Self::SoundCloud,
            Self::Bandcamp,
            Self::Twitch,
            Self::Vimeo,
            Self::Spotify,
            Self::Other,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// Who asked for a track.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequesterId {
    Discord(UserId),
    Telegram(TelegramUserId),
    /// The local console front-end.
    Console,
}

/// A requester with a name to show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requester {
    pub id: RequesterId,
    pub display_name: String,
}

impl Requester {
    pub fn console() -> Self {
        Self {
            id: RequesterId::Console,
            display_name: "console".to_owned(),
        }
    }
}

/// Identity of one queue entry. Unique within a process; the same song queued twice gets two ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId(pub u64);

impl fmt::Display for TrackId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "#{}", self.0)
    }
}

/// A playable track: metadata plus the locator its resolver understands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Track {
    pub id: TrackId,
    pub title: String,
    pub artist: Option<String>,
    pub duration: Option<Duration>,
    pub source_kind: SourceKind,
    /// What the resolver needs to open the audio again (a path, a URL).
    pub locator: String,
    pub thumbnail: Option<String>,
    pub requested_by: Requester,
}

impl Track {
    /// "Artist – Title" or just the title.
    pub fn display_title(&self) -> String {
        // A track saved before titles were cleaned on the way in is cleaned on the way out.
        let title = crate::text::single_line(&self.title);
        match self.artist.as_deref().map(crate::text::single_line) {
            Some(artist) if !artist.is_empty() => format!("{artist} – {title}"),
            _ => title.into_owned(),
        }
    }
}

/// Formats a duration as `m:ss` or `h:mm:ss`.
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// Parses `90`, `1:30`, `1:02:03`, `90s`, `2m`, `1m30s` into a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.contains(':') {
        let mut total: u64 = 0;
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 {
            return None;
        }
        for part in parts {
            let value: u64 = part.parse().ok()?;
            total = total.checked_mul(60)?.checked_add(value)?;
        }
        return Some(Duration::from_secs(total));
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let value: u64 = number.parse().ok()?;
        number.clear();
        let unit = match character {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(value.checked_mul(unit)?)?;
    }
    number.is_empty().then_some(Duration::from_secs(total))
}

/// Where a requested song is on its way to playable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SongState {
    Pending,
    Resolving,
    Ready(Track),
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SongError {
    #[error("the song cannot go from {from} to {to}")]
    InvalidTransition {
        from: &'static str,
        to: &'static str,
    },
    #[error("gave up after {0} attempts")]
    RetriesExhausted(u32),
}

/// A song request moving PENDING → RESOLVING → READY | FAILED(reason), with retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Song {
    pub query: String,
    state: SongState,
    attempts: u32,
    max_attempts: u32,
}

impl Song {
    pub fn new(query: impl Into<String>, max_attempts: u32) -> Self {
        Self {
            query: query.into(),
            state: SongState::Pending,
            attempts: 0,
            max_attempts: max_attempts.max(1),
        }
    }

    pub fn state(&self) -> &SongState {
        &self.state
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            SongState::Pending => "pending",
            SongState::Resolving => "resolving",
            SongState::Ready(_) => "ready",
            SongState::Failed { .. } => "failed",
        }
    }

    /// PENDING → RESOLVING, or FAILED → RESOLVING while attempts remain (a retry).
    pub fn start_resolving(&mut self) -> Result<(), SongError> {
        match self.state {
            SongState::Pending => {}
            SongState::Failed { .. } if self.attempts < self.max_attempts => {}
            SongState::Failed { .. } => return Err(SongError::RetriesExhausted(self.attempts)),
            _ => {
                return Err(SongError::InvalidTransition {
                    from: self.state_name(),
                    to: "resolving",
                });
            }
        }
        self.attempts += 1;
        self.state = SongState::Resolving;
        Ok(())
    }

    pub fn resolved(&mut self, track: Track) -> Result<(), SongError> {
        self.expect_resolving("ready")?;
        self.state = SongState::Ready(track);
        Ok(())
    }

    pub fn failed(&mut self, reason: impl Into<String>) -> Result<(), SongError> {
        self.expect_resolving("failed")?;
        self.state = SongState::Failed {
            reason: reason.into(),
        };
        Ok(())
    }

    pub fn can_retry(&self) -> bool {
        matches!(self.state, SongState::Failed { .. }) && self.attempts < self.max_attempts
    }

    fn expect_resolving(&self, to: &'static str) -> Result<(), SongError> {
        if self.state == SongState::Resolving {
            Ok(())
        } else {
            Err(SongError::InvalidTransition {
                from: self.state_name(),
                to,
            })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn track(id: u64) -> Track {
        Track {
            id: TrackId(id),
            title: format!("Song {id}"),
            artist: None,
            duration: Some(Duration::from_mins(3)),
            source_kind: SourceKind::Local,
            locator: format!("song{id}.wav"),
            thumbnail: None,
            requested_by: Requester::console(),
        }
    }

    #[test]
    fn song_lifecycle_with_retries() {
        let mut song = Song::new("never gonna", 2);
        assert!(song.resolved(track(1)).is_err());
        song.start_resolving().unwrap();
        song.failed("network down").unwrap();
        assert!(song.can_retry());
        song.start_resolving().unwrap();
        song.failed("still down").unwrap();
        assert!(!song.can_retry());
        assert_eq!(song.start_resolving(), Err(SongError::RetriesExhausted(2)));
        let mut ok = Song::new("x", 3);
        ok.start_resolving().unwrap();
        ok.resolved(track(2)).unwrap();
        assert!(matches!(ok.state(), SongState::Ready(t) if t.id == TrackId(2)));
        assert!(ok.start_resolving().is_err());
    }

    #[test]
    fn durations_format_and_parse() {
        assert_eq!(format_duration(Duration::from_secs(75)), "1:15");
        assert_eq!(format_duration(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(parse_duration("1:30"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("1m30"), None);
        assert_eq!(parse_duration(""), None);
    }
}
