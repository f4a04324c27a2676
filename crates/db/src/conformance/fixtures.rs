//! Fresh ids and sample values for the suite.
//!
//! Ids are unique within a process and, because they start from the clock, across runs too, so
//! a database reused between runs does not make a check see old rows. They stay below `2^63`,
//! so columns holding them as signed 64-bit integers work.
//!
//! Times and durations have whole milliseconds: a store may keep no finer precision than that.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minstrel_domain::filters::{
    BassBoostLevel, ChannelMix, Distortion, Equalizer, Karaoke, LowPass, Oscillation, Reverb,
    Rotation, Timescale,
};
use minstrel_domain::{
    ChannelId, FilterSpec, GuildId, PlaylistEntry, PlaylistName, Requester, RequesterId,
    SourceKind, TelegramChatId, TelegramUserId, Track, TrackId, UserId,
};

/// A number no other call in this process returned, non-zero and below `2^63`.
pub fn unique() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        // Microseconds since 1970: about 2^51 today, far from 2^63, and a new run starts far
        // above everything an earlier run handed out.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| u64::try_from(since.as_micros()).ok())
            .unwrap_or(1)
    });
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn guild() -> GuildId {
    GuildId::new(unique()).expect("unique ids are non-zero")
}

pub fn user() -> UserId {
    UserId::new(unique()).expect("unique ids are non-zero")
}

pub fn channel() -> ChannelId {
    ChannelId::new(unique()).expect("unique ids are non-zero")
}

/// A group chat id: negative, as Telegram gives groups.
pub fn chat() -> TelegramChatId {
    let raw = i64::try_from(unique()).expect("unique ids stay below 2^63");
    TelegramChatId::new(-raw).expect("unique ids are non-zero")
}

pub fn telegram_user() -> TelegramUserId {
    let raw = i64::try_from(unique()).expect("unique ids stay below 2^63");
    TelegramUserId::new(raw).expect("unique ids are non-zero")
}

/// `millis` milliseconds after a fixed instant in 2023.
pub fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + millis)
}

pub fn name(text: &str) -> PlaylistName {
    PlaylistName::new(text).expect("sample playlist names are valid")
}

/// Playlist entry number `n`, every field derived from `n`.
pub fn entry(n: usize) -> PlaylistEntry {
    PlaylistEntry {
        title: format!("Entry {n}"),
        locator: format!("https://example.com/entry/{n}"),
        source_kind: if n.is_multiple_of(2) {
            SourceKind::Http
        } else {
            SourceKind::YouTube
        },
        duration: (!n.is_multiple_of(3)).then(|| Duration::from_millis(60_000 + n as u64)),
    }
}

/// A track with every optional field set, requested by `requester`.
pub fn full_track(id: u64, requester: RequesterId) -> Track {
    Track {
        id: TrackId(id),
        title: format!("Track {id} – “quoted” & ünïcödé"),
        artist: Some(format!("Artist {id}")),
        duration: Some(Duration::from_millis(215_250)),
        source_kind: SourceKind::SoundCloud,
        locator: format!("https://soundcloud.com/artist/track-{id}?x=1&y=2"),
        thumbnail: Some(format!("https://i.example.com/{id}.jpg")),
        requested_by: Requester {
            id: requester,
            display_name: format!("listener {id}"),
        },
    }
}

/// A track with every optional field empty, requested on the console.
pub fn bare_track(id: u64) -> Track {
    Track {
        id: TrackId(id),
        title: format!("bare {id}"),
        artist: None,
        duration: None,
        source_kind: SourceKind::Local,
        locator: format!("/music/bare {id}.flac"),
        thumbnail: None,
        requested_by: Requester::console(),
    }
}

/// A filter chain with every filter set to a non-default value.
pub fn every_filter() -> FilterSpec {
    FilterSpec {
        volume: Some(1.5),
        equalizer: Some(Equalizer::from_bands(&[(0, 0.25), (7, -0.125), (14, 1.0)]).unwrap()),
        karaoke: Some(Karaoke::new(0.75, 0.5, 220.0, 100.0).unwrap()),
        timescale: Some(Timescale::new(1.25, 0.875, 1.0).unwrap()),
        tremolo: Some(Oscillation::tremolo(4.0, 0.5).unwrap()),
        vibrato: Some(Oscillation::vibrato(2.0, 0.25).unwrap()),
        rotation: Some(Rotation::new(0.2).unwrap()),
        distortion: Some(
            Distortion {
                sin_offset: 0.5,
                scale: 2.0,
                ..Distortion::default()
            }
            .validated()
            .unwrap(),
        ),
        channel_mix: Some(ChannelMix::new(0.5, 0.5, 0.5, 0.5).unwrap()),
        low_pass: Some(LowPass::new(20.0).unwrap()),
        bass_boost: Some(BassBoostLevel::High),
        reverb: Some(Reverb::new(0.6, 0.5, 0.3).unwrap()),
    }
}
