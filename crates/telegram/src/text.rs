//! Reply texts and Telegram's message size limit.
//!
//! Every message is sent as plain text (no `parse_mode`), so titles, names and queries full of
//! Markdown or HTML specials arrive exactly as written: there is nothing to escape.

use std::fmt::Write as _;

use minstrel_app::{NowPlaying, PlayOutcome, QueuePage};
use minstrel_domain::track::format_duration;
use minstrel_domain::{FilterSpec, PlaybackState, RepeatMode, Track, Volume};

/// Telegram's limit for one text message, in UTF-16 code units (characters for most text).
pub const MESSAGE_LIMIT: usize = 4096;

/// Splits `text` into messages Telegram accepts (at most [`MESSAGE_LIMIT`] UTF-16 units each),
/// cutting at a line break when there is one, else at a space, else anywhere. Chunks that would
/// be blank are dropped (Telegram refuses empty messages).
pub fn split_message(text: &str) -> Vec<String> {
    split_at(text, MESSAGE_LIMIT)
}

fn split_at(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while rest.encode_utf16().count() > limit {
        let mut cut = 0;
        let mut units = 0;
        for (index, character) in rest.char_indices() {
            if units + character.len_utf16() > limit {
                break;
            }
            units += character.len_utf16();
            cut = index + character.len_utf8();
        }
        if cut == 0 {
            // A limit below one character: take the character anyway so the loop ends.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let head = &rest[..cut];
        let (end, next) = head
            .rfind('\n')
            .or_else(|| head.rfind(' '))
            .filter(|&at| at > 0)
            .map_or((cut, cut), |at| (at, at + 1));
        chunks.push(rest[..end].to_owned());
        rest = &rest[next..];
    }
    chunks.push(rest.to_owned());
    chunks.retain(|chunk| !chunk.trim().is_empty());
    chunks
}

/// The most characters of a user's query (or a title made from one) a reply repeats.
pub(crate) const ECHO_LIMIT: usize = 100;

/// `text` cut to [`ECHO_LIMIT`] characters, with `…` when something was left out.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// What the bridge and the buttons show about the player.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlayerView<'a> {
    pub(crate) track: &'a Track,
    pub(crate) paused: bool,
    pub(crate) volume: Option<Volume>,
    pub(crate) filters: Option<FilterSpec>,
    pub(crate) repeat: Option<RepeatMode>,
}

impl<'a> PlayerView<'a> {
    pub(crate) fn from_now_playing(now: &'a NowPlaying) -> Self {
        Self {
            track: &now.track,
            paused: now.state == PlaybackState::Paused,
            volume: Some(now.volume),
            filters: Some(now.filters),
            repeat: Some(now.repeat),
        }
    }
}

pub(crate) fn player_text(view: &PlayerView<'_>) -> String {
    let mut text = if view.paused {
        format!("⏸ Paused: {}", view.track.display_title())
    } else {
        format!("▶ Now playing: {}", view.track.display_title())
    };
    let mut details = vec![format!(
        "requested by {}",
        view.track.requested_by.display_name
    )];
    if let Some(duration) = view.track.duration {
        details.push(format_duration(duration));
    }
    let _ = write!(text, "\n{}", details.join(" · "));
    let mut settings = Vec::new();
    if let Some(volume) = view.volume {
        settings.push(format!("volume {volume}"));
    }
    if let Some(repeat) = view.repeat {
        settings.push(format!("repeat {repeat}"));
    }
    if let Some(filters) = view.filters {
        let names = filters.labels();
        if !names.is_empty() {
            settings.push(format!("filters: {}", names.join(", ")));
        }
    }
    if !settings.is_empty() {
        let _ = write!(text, "\n{}", settings.join(" · "));
    }
    text
}

pub(crate) fn now_playing_text(now: &NowPlaying) -> String {
    let mut text = player_text(&PlayerView::from_now_playing(now));
    let position = format_duration(now.position);
    let _ = write!(text, "\nat {position} · {} upcoming", now.upcoming);
    text
}

pub(crate) fn queue_text(page: &QueuePage) -> String {
    let mut text = String::new();
    match &page.current {
        Some(track) => {
            let _ = writeln!(text, "▶ Now: {}", track.display_title());
        }
        None => text.push_str("Nothing is playing.\n"),
    }
    if page.items.is_empty() {
        text.push_str("The queue is empty.");
        return text;
    }
    let _ = writeln!(
        text,
        "Up next ({} tracks, {}, repeat {}):",
        page.total,
        format_duration(page.total_duration),
        page.repeat
    );
    for (index, track) in &page.items {
        let duration = track.duration.map(format_duration).unwrap_or_default();
        let _ = writeln!(
            text,
            "{}. {} {duration} (by {})",
            index + 1,
            track.display_title(),
            track.requested_by.display_name
        );
    }
    if page.pages > 1 {
        let _ = write!(text, "page {} of {}", page.page, page.pages);
    }
    text.trim_end().to_owned()
}

pub(crate) fn play_text(outcome: &PlayOutcome) -> String {
    let mut text = String::new();
    if let Some(started) = &outcome.started {
        let _ = writeln!(text, "▶ Now playing: {}", shorten(&started.display_title()));
    }
    let queued = outcome.queued_later();
    match (queued.as_slice(), outcome.position) {
        ([], _) => {}
        ([track], Some(position)) => {
            let _ = writeln!(
                text,
                "Queued {} at position {}",
                shorten(&track.display_title()),
                position + 1
            );
        }
        (tracks, _) => {
            let _ = writeln!(text, "Queued {} tracks", tracks.len());
        }
    }
    if outcome.rejected > 0 {
        let _ = writeln!(text, "{} tracks did not fit in the queue", outcome.rejected);
    }
    if outcome.loading {
        let _ = writeln!(text, "The rest of the playlist is loading…");
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split_message("hello"), vec!["hello".to_owned()]);
        assert!(split_message("").is_empty());
        assert!(split_message("\n \n").is_empty());
    }

    #[test]
    fn long_text_splits_at_line_breaks_within_the_limit() {
        let line = "x".repeat(100);
        let text = vec![line.as_str(); 100].join("\n");
        let chunks = split_message(&text);
        assert_eq!(chunks.len(), 3);
        for chunk in &chunks {
            assert!(chunk.encode_utf16().count() <= MESSAGE_LIMIT);
            assert!(
                chunk.split('\n').all(|part| part == line),
                "cut inside a line"
            );
        }
        assert_eq!(chunks.join("\n"), text);
    }

    #[test]
    fn text_without_breaks_is_cut_and_counts_utf16_units() {
        // Each emoji is two UTF-16 units: 4096 units hold 2048 of them.
        let text = "🎵".repeat(5000);
        let chunks = split_message(&text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].chars().count(), 2048);
        assert!(
            chunks
                .iter()
                .all(|chunk| chunk.encode_utf16().count() <= MESSAGE_LIMIT)
        );
        assert_eq!(chunks.concat(), text);
        assert_eq!(split_at("abc", 0), vec!["a", "b", "c"]);
    }

    #[test]
    fn a_play_whose_playlist_still_loads_says_so() {
        let outcome = PlayOutcome {
            queued: Vec::new(),
            position: None,
            started: None,
            rejected: 0,
            loading: true,
        };
        assert_eq!(play_text(&outcome), "The rest of the playlist is loading…");
        let loaded = PlayOutcome {
            loading: false,
            ..outcome
        };
        assert_eq!(play_text(&loaded), "");
    }

    #[test]
    fn a_long_query_is_echoed_shortened() {
        assert_eq!(shorten("short"), "short");
        let long = "ab ".repeat(2000);
        let echoed = shorten(&long);
        assert!(echoed.chars().count() <= ECHO_LIMIT + 1, "{echoed}");
        assert!(echoed.ends_with('…'));
        assert_eq!(shorten(&"é".repeat(ECHO_LIMIT)), "é".repeat(ECHO_LIMIT));
    }
}
