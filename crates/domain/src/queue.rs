//! The per-guild tracklist: what plays now, what comes next, what played before.
//!
//! Indices are 0-based positions in the upcoming list; front-ends show them 1-based.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::track::Track;

/// How many played tracks `previous` can go back through.
pub const HISTORY_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RepeatMode {
    #[default]
    Off,
    Track,
    Queue,
}

impl RepeatMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "off" | "none" | "no" => Some(Self::Off),
            "track" | "song" | "one" | "single" => Some(Self::Track),
            "queue" | "all" | "loop" => Some(Self::Queue),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Track => "track",
            Self::Queue => "queue",
        }
    }
}

impl fmt::Display for RepeatMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where `add` puts a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPosition {
    End,
    Next,
    At(usize),
}

/// Why the current track is being left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// It played to the end: repeat modes apply.
    Finished,
    /// Someone skipped it: repeat-track does not hold it.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is full ({max} tracks at most)")]
    Full { max: usize },
    #[error("there is no track at position {position} (the queue has {len})", position = index + 1)]
    NoSuchIndex { index: usize, len: usize },
    #[error("the queue is empty")]
    Empty,
    #[error("there is no previous track")]
    NoPrevious,
    #[error("positions {start} to {end} are not a valid range", start = start + 1, end = end + 1)]
    BadRange { start: usize, end: usize },
}

/// The tracklist of one guild.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    current: Option<Track>,
    upcoming: VecDeque<Track>,
    history: VecDeque<Track>,
    repeat: RepeatMode,
    max_size: usize,
    position: Duration,
}

impl Queue {
    pub fn new(max_size: usize) -> Self {
        Self {
            current: None,
            upcoming: VecDeque::new(),
            history: VecDeque::new(),
            repeat: RepeatMode::Off,
            max_size: max_size.max(1),
            position: Duration::ZERO,
        }
    }

    /// Rebuilds a queue from a saved snapshot.
    pub fn restore(
        max_size: usize,
        current: Option<Track>,
        upcoming: Vec<Track>,
        repeat: RepeatMode,
        position: Duration,
    ) -> Self {
        let mut queue = Self::new(max_size);
        queue.current = current;
        queue.upcoming = upcoming.into();
        queue.repeat = repeat;
        queue.position = position;
        queue
    }

    pub fn current(&self) -> Option<&Track> {
        self.current.as_ref()
    }

    pub fn upcoming(&self) -> impl ExactSizeIterator<Item = &Track> + DoubleEndedIterator {
        self.upcoming.iter()
    }

    pub fn get(&self, index: usize) -> Option<&Track> {
        self.upcoming.get(index)
    }

    /// Played tracks, most recent last.
    pub fn history(&self) -> impl ExactSizeIterator<Item = &Track> + DoubleEndedIterator {
        self.history.iter()
    }

    /// Number of upcoming tracks (the current one not counted).
    pub fn len(&self) -> usize {
        self.upcoming.len()
    }

    pub fn is_empty(&self) -> bool {
        self.upcoming.is_empty()
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size.max(1);
    }

    pub fn repeat(&self) -> RepeatMode {
        self.repeat
    }

    pub fn set_repeat(&mut self, repeat: RepeatMode) {
        self.repeat = repeat;
    }

    /// Playback position in the current track.
    pub fn position(&self) -> Duration {
        self.position
    }

    pub fn set_position(&mut self, position: Duration) {
        self.position = position;
    }

    /// Sum of the known durations of the upcoming tracks.
    pub fn total_duration(&self) -> Duration {
        self.upcoming
            .iter()
            .filter_map(|track| track.duration)
            .sum()
    }

    /// Adds a track; returns the index it landed at.
    pub fn add(&mut self, track: Track, position: AddPosition) -> Result<usize, QueueError> {
        if self.upcoming.len() >= self.max_size {
            return Err(QueueError::Full { max: self.max_size });
        }
        let index = match position {
            AddPosition::End => self.upcoming.len(),
            AddPosition::Next => 0,
            AddPosition::At(index) => index.min(self.upcoming.len()),
        };
        self.upcoming.insert(index, track);
        Ok(index)
    }

    /// Adds as many tracks as fit, in order, starting at `position`; returns the index of the
    /// first one and the tracks that did not fit.
    pub fn add_all(
        &mut self,
        tracks: impl IntoIterator<Item = Track>,
        position: AddPosition,
    ) -> (usize, Vec<Track>) {
        let start = match position {
            AddPosition::End => self.upcoming.len(),
            AddPosition::Next => 0,
            AddPosition::At(index) => index.min(self.upcoming.len()),
        };
        let mut rejected = Vec::new();
        let mut index = start;
        for track in tracks {
            if self.upcoming.len() < self.max_size {
                self.upcoming.insert(index, track);
                index += 1;
            } else {
                rejected.push(track);
            }
        }
        (start, rejected)
    }

    pub fn remove(&mut self, index: usize) -> Result<Track, QueueError> {
        let len = self.upcoming.len();
        self.upcoming
            .remove(index)
            .ok_or(QueueError::NoSuchIndex { index, len })
    }

    /// Removes positions `start..=end`.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Result<Vec<Track>, QueueError> {
        if start > end || end >= self.upcoming.len() {
            return Err(QueueError::BadRange { start, end });
        }
        Ok(self.upcoming.drain(start..=end).collect())
    }

    pub fn move_track(&mut self, from: usize, to: usize) -> Result<(), QueueError> {
        let len = self.upcoming.len();
        if to >= len {
            return Err(QueueError::NoSuchIndex { index: to, len });
        }
        let track = self.remove(from)?;
        self.upcoming.insert(to, track);
        Ok(())
    }

    /// Leaves the current track and makes the next one current. Returns the new current track,
    /// or `None` when the queue has run out.
    pub fn advance(&mut self, reason: Advance) -> Option<&Track> {
        self.position = Duration::ZERO;
        if reason == Advance::Finished && self.repeat == RepeatMode::Track && self.current.is_some()
        {
            return self.current.as_ref();
        }
        if let Some(previous) = self.current.take() {
            if self.repeat == RepeatMode::Queue {
                self.upcoming.push_back(previous.clone());
            }
            self.push_history(previous);
        }
        self.current = self.upcoming.pop_front();
        self.current.as_ref()
    }

    /// Jumps to `index`; the tracks before it count as played.
    pub fn skip_to(&mut self, index: usize) -> Result<&Track, QueueError> {
        let len = self.upcoming.len();
        if index >= len {
            return Err(QueueError::NoSuchIndex { index, len });
        }
        self.position = Duration::ZERO;
        let leaving = self.current.take().into_iter();
        let skipped: Vec<Track> = leaving.chain(self.upcoming.drain(..index)).collect();
        for track in skipped {
            if self.repeat == RepeatMode::Queue {
                self.upcoming.push_back(track.clone());
            }
            self.push_history(track);
        }
        self.current = self.upcoming.pop_front();
        self.current.as_ref().ok_or(QueueError::Empty)
    }

    /// Goes back to the most recently played track; the current one becomes next.
    ///
    /// With repeat-queue the played tracks were also put back at the end of the queue: the copy
    /// of the one going back is taken out of there, so no track is ever queued twice. When
    /// nothing has been played yet, repeat-queue goes round the loop to its last track.
    pub fn previous(&mut self) -> Result<&Track, QueueError> {
        let Some(previous) = self.history.back() else {
            return self.previous_round_the_loop();
        };
        let previous_id = previous.id;
        // The current entry itself when the loop holds a single track.
        let is_current = self
            .current
            .as_ref()
            .is_some_and(|current| current.id == previous_id);
        let requeued_copy = self
            .upcoming
            .iter()
            .rposition(|track| track.id == previous_id);
        let grows = self.current.is_some() && !is_current;
        if grows && requeued_copy.is_none() && self.upcoming.len() >= self.max_size {
            return Err(QueueError::Full { max: self.max_size });
        }
        let previous = self.history.pop_back().ok_or(QueueError::NoPrevious)?;
        if let Some(index) = requeued_copy {
            self.upcoming.remove(index);
        }
        self.position = Duration::ZERO;
        if is_current {
            return self.current.as_ref().ok_or(QueueError::NoPrevious);
        }
        if let Some(current) = self.current.take() {
            self.upcoming.push_front(current);
        }
        Ok(self.current.insert(previous))
    }

    /// Repeat-queue with no history (nothing played yet, or a restored queue): the track before
    /// the current one in the loop is the last upcoming one.
    fn previous_round_the_loop(&mut self) -> Result<&Track, QueueError> {
        if self.repeat != RepeatMode::Queue || self.current.is_none() {
            return Err(QueueError::NoPrevious);
        }
        let last = self.upcoming.pop_back().ok_or(QueueError::NoPrevious)?;
        if let Some(current) = self.current.take() {
            self.upcoming.push_front(current);
        }
        self.position = Duration::ZERO;
        Ok(self.current.insert(last))
    }

    /// Shuffles the upcoming tracks (Fisher–Yates). `random_below(n)` must return a value in
    /// `0..n`; the caller owns the randomness so the domain stays deterministic and testable.
    pub fn shuffle_with(&mut self, mut random_below: impl FnMut(usize) -> usize) {
        let tracks = self.upcoming.make_contiguous();
        for last in (1..tracks.len()).rev() {
            let pick = random_below(last + 1).min(last);
            tracks.swap(last, pick);
        }
    }

    /// Removes every upcoming track; returns how many were removed.
    pub fn clear(&mut self) -> usize {
        let removed = self.upcoming.len();
        self.upcoming.clear();
        removed
    }

    /// Stops: the current track counts as played and nothing is upcoming.
    pub fn stop(&mut self) -> usize {
        if let Some(current) = self.current.take() {
            self.push_history(current);
        }
        self.position = Duration::ZERO;
        self.clear()
    }

    /// Puts the current track back at the front of the upcoming ones, from its start, so the
    /// next [`Queue::advance`] plays it again; nothing is current afterwards. For a player that
    /// lost its output (kicked out of a voice channel): the queue is kept for later. Returns
    /// whether there was a current track.
    pub fn requeue_current(&mut self) -> bool {
        self.position = Duration::ZERO;
        let Some(current) = self.current.take() else {
            return false;
        };
        self.upcoming.push_front(current);
        true
    }

    /// Removes later copies of the same song (same locator, including the current one);
    /// returns how many were removed.
    pub fn dedupe(&mut self) -> usize {
        let mut seen: HashSet<String> = self
            .current
            .iter()
            .map(|track| track.locator.clone())
            .collect();
        let before = self.upcoming.len();
        self.upcoming
            .retain(|track| seen.insert(track.locator.clone()));
        before - self.upcoming.len()
    }

    /// Removes every upcoming track `unwanted` picks; returns how many were removed.
    pub fn remove_upcoming_where(&mut self, mut unwanted: impl FnMut(&Track) -> bool) -> usize {
        let before = self.upcoming.len();
        self.upcoming.retain(|track| !unwanted(track));
        before - self.upcoming.len()
    }

    fn push_history(&mut self, track: Track) {
        if self.history.len() == HISTORY_LIMIT {
            self.history.pop_front();
        }
        self.history.push_back(track);
    }
}

#[cfg(test)]
mod tests;
