//! What a guild command answers, as data: every front-end renders these in its own words.

use std::time::Duration;

use minstrel_domain::{FilterSpec, PlaybackState, RepeatMode, Track, Volume};

/// What `play` did.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayOutcome {
    /// The tracks that were queued, in order.
    pub queued: Vec<Track>,
    /// 0-based queue position of the first queued track, `None` when it started at once.
    pub position: Option<usize>,
    /// The track that started playing because the player was idle (or is still opening when
    /// the answer was due).
    pub started: Option<Track>,
    /// Tracks that did not fit in the queue.
    pub rejected: usize,
    /// More tracks of a long playlist are still loading: they join the queue as they arrive.
    pub loading: bool,
}

impl PlayOutcome {
    /// The queued tracks that wait their turn: every queued track but the one that started.
    pub fn queued_later(&self) -> Vec<&Track> {
        self.queued
            .iter()
            .filter(|track| {
                self.started
                    .as_ref()
                    .is_none_or(|started| started.id != track.id)
            })
            .collect()
    }
}

/// What `skip` did.
#[derive(Debug, Clone, PartialEq)]
pub struct SkipOutcome {
    pub skipped: Track,
    pub next: Option<Track>,
}

/// A vote to skip.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteOutcome {
    pub votes: usize,
    pub needed: usize,
    pub skipped: Option<SkipOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    pub track: Track,
    pub position: Duration,
    pub state: PlaybackState,
    pub volume: Volume,
    pub filters: FilterSpec,
    pub repeat: RepeatMode,
    pub upcoming: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub current: Option<Track>,
    /// 0-based positions and tracks of this page.
    pub items: Vec<(usize, Track)>,
    /// 1-based page number actually shown (clamped).
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub total_duration: Duration,
    pub repeat: RepeatMode,
}

/// What a guild command did. A front-end renders every variant (a `match` without a wildcard
/// arm), so a new reply is listed by the compiler wherever it is not rendered yet.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandReply {
    /// Join: the channel the player is now in.
    Joined,
    /// Leave: stopped, cleared and disconnected.
    Left,
    Played(PlayOutcome),
    Paused,
    Resumed,
    Skipped(SkipOutcome),
    Voted(VoteOutcome),
    /// Skip-to and previous: the track that plays now.
    Jumped(Track),
    /// Stop: how many queued tracks were removed.
    Stopped(usize),
    /// Seek: the position the track plays from now.
    Sought(Duration),
    Queue(QueuePage),
    NowPlaying(Box<NowPlaying>),
    Volume(Volume),
    Repeat(RepeatMode),
    Shuffled(usize),
    Removed(Track),
    /// A removal of several tracks: how many went.
    RemovedMany(usize),
    /// Move: the track and its new 0-based position.
    Moved(Track, usize),
    /// Clear: how many upcoming tracks were removed.
    Cleared(usize),
    Filters(FilterSpec),
}
