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
    autoplay: bool,
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
            autoplay: false,
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

    pub fn autoplay(&self) -> bool {
        self.autoplay
    }

    pub fn set_autoplay(&mut self, autoplay: bool) {
        self.autoplay = autoplay;
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
    pub fn previous(&mut self) -> Result<&Track, QueueError> {
        if self.current.is_some() && self.upcoming.len() >= self.max_size {
            return Err(QueueError::Full { max: self.max_size });
        }
        let previous = self.history.pop_back().ok_or(QueueError::NoPrevious)?;
        if let Some(current) = self.current.take() {
            self.upcoming.push_front(current);
        }
        self.position = Duration::ZERO;
        Ok(self.current.insert(previous))
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

    fn push_history(&mut self, track: Track) {
        if self.history.len() == HISTORY_LIMIT {
            self.history.pop_front();
        }
        self.history.push_back(track);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackId;
    use crate::track::tests::track;
    use proptest::prelude::*;

    fn ids(queue: &Queue) -> Vec<u64> {
        queue.upcoming().map(|track| track.id.0).collect()
    }

    fn queue_of(count: u64) -> Queue {
        let mut queue = Queue::new(100);
        for id in 1..=count {
            queue.add(track(id), AddPosition::End).unwrap();
        }
        queue
    }

    #[test]
    fn add_positions() {
        let mut queue = queue_of(3);
        assert_eq!(queue.add(track(9), AddPosition::Next), Ok(0));
        assert_eq!(queue.add(track(8), AddPosition::At(2)), Ok(2));
        assert_eq!(queue.add(track(7), AddPosition::At(99)), Ok(5));
        assert_eq!(ids(&queue), vec![9, 1, 8, 2, 3, 7]);
    }

    #[test]
    fn full_queue_refuses_and_reports_the_limit() {
        let mut queue = Queue::new(2);
        queue.add(track(1), AddPosition::End).unwrap();
        queue.add(track(2), AddPosition::End).unwrap();
        let error = queue.add(track(3), AddPosition::End).unwrap_err();
        assert_eq!(error.to_string(), "the queue is full (2 tracks at most)");
        let (_, rejected) = queue.add_all([track(4), track(5)], AddPosition::End);
        assert_eq!(rejected.len(), 2);
        let mut roomy = queue_of(2);
        assert_eq!(roomy.add_all([track(8), track(9)], AddPosition::Next).0, 0);
        assert_eq!(ids(&roomy), vec![8, 9, 1, 2]);
    }

    #[test]
    fn remove_range_and_errors_use_one_based_positions() {
        let mut queue = queue_of(5);
        let removed = queue.remove_range(1, 3).unwrap();
        assert_eq!(removed.len(), 3);
        assert_eq!(ids(&queue), vec![1, 5]);
        assert_eq!(
            queue.remove(7).unwrap_err().to_string(),
            "there is no track at position 8 (the queue has 2)"
        );
        assert!(queue.remove_range(1, 0).is_err());
    }

    #[test]
    fn advance_respects_repeat_modes() {
        let mut queue = queue_of(2);
        queue.set_repeat(RepeatMode::Queue);
        assert_eq!(queue.advance(Advance::Finished).unwrap().id, TrackId(1));
        assert_eq!(queue.advance(Advance::Finished).unwrap().id, TrackId(2));
        assert_eq!(queue.advance(Advance::Finished).unwrap().id, TrackId(1));
        queue.set_repeat(RepeatMode::Track);
        assert_eq!(queue.advance(Advance::Finished).unwrap().id, TrackId(1));
        assert_eq!(queue.advance(Advance::Skipped).unwrap().id, TrackId(2));
        queue.set_repeat(RepeatMode::Off);
        assert!(queue.advance(Advance::Finished).is_none());
        assert!(queue.current().is_none());
    }

    #[test]
    fn skip_to_and_previous() {
        let mut queue = queue_of(5);
        queue.advance(Advance::Finished);
        assert_eq!(queue.skip_to(2).unwrap().id, TrackId(4));
        assert_eq!(ids(&queue), vec![5]);
        assert_eq!(queue.previous().unwrap().id, TrackId(3));
        assert_eq!(ids(&queue), vec![4, 5]);
        assert!(queue.skip_to(5).is_err());
        let mut fresh = queue_of(1);
        assert_eq!(fresh.previous().unwrap_err(), QueueError::NoPrevious);
    }

    #[test]
    fn history_keeps_the_last_fifty() {
        let mut queue = queue_of(60);
        while queue.advance(Advance::Finished).is_some() {}
        assert_eq!(queue.history().len(), HISTORY_LIMIT);
        assert_eq!(queue.history().last().unwrap().id, TrackId(60));
    }

    #[test]
    fn dedupe_removes_later_copies() {
        let mut queue = queue_of(3);
        let mut copy = track(1);
        copy.id = TrackId(10);
        queue.add(copy, AddPosition::End).unwrap();
        queue.advance(Advance::Finished);
        let mut copy_of_two = track(2);
        copy_of_two.id = TrackId(11);
        queue.add(copy_of_two, AddPosition::End).unwrap();
        assert_eq!(queue.dedupe(), 2);
        assert_eq!(ids(&queue), vec![2, 3]);
    }

    #[test]
    fn requeue_current_plays_it_again_from_the_start_next() {
        let mut queue = queue_of(3);
        queue.advance(Advance::Finished);
        queue.set_position(Duration::from_secs(42));
        assert!(queue.requeue_current());
        assert!(queue.current().is_none());
        assert_eq!(queue.position(), Duration::ZERO);
        assert_eq!(ids(&queue), vec![1, 2, 3]);
        assert_eq!(queue.advance(Advance::Skipped).unwrap().id, TrackId(1));
        let mut idle = Queue::new(5);
        assert!(!idle.requeue_current());
        assert!(idle.is_empty());
    }

    #[test]
    fn stop_clears_everything_but_history() {
        let mut queue = queue_of(3);
        queue.advance(Advance::Finished);
        assert_eq!(queue.stop(), 2);
        assert!(queue.current().is_none() && queue.is_empty());
        assert_eq!(queue.history().len(), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add,
        AddNext,
        Remove(u8),
        RemoveRange(u8, u8),
        Move(u8, u8),
        Shuffle(u64),
        SkipTo(u8),
        Advance(bool),
        Previous,
        Dedupe,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Add),
            Just(Op::AddNext),
            any::<u8>().prop_map(Op::Remove),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a, b)),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Move(a, b)),
            any::<u64>().prop_map(Op::Shuffle),
            any::<u8>().prop_map(Op::SkipTo),
            any::<bool>().prop_map(Op::Advance),
            Just(Op::Previous),
            Just(Op::Dedupe),
        ]
    }

    fn all_ids(queue: &Queue) -> Vec<u64> {
        let mut all: Vec<u64> = queue
            .current()
            .into_iter()
            .chain(queue.upcoming())
            .map(|track| track.id.0)
            .collect();
        all.sort_unstable();
        all
    }

    proptest! {
        /// Moves and shuffles keep exactly the same tracks; removals remove exactly what they
        /// return; nothing is ever duplicated.
        #[test]
        fn no_track_is_lost_or_duplicated(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>()) {
            let mut queue = Queue::new(40);
            let mut next_id = 1u64;
            let mut state = seed | 1;
            for op in ops {
                let before = all_ids(&queue);
                match op {
                    Op::Add | Op::AddNext => {
                        let position = if matches!(op, Op::AddNext) { AddPosition::Next } else { AddPosition::End };
                        let added = queue.add(track(next_id), position).is_ok();
                        next_id += 1;
                        prop_assert_eq!(all_ids(&queue).len(), before.len() + usize::from(added));
                    }
                    Op::Remove(index) => {
                        let removed = queue.remove(usize::from(index) % (queue.len() + 1));
                        let mut after = all_ids(&queue);
                        if let Ok(track) = removed { after.push(track.id.0); after.sort_unstable(); }
                        prop_assert_eq!(after, before);
                    }
                    Op::RemoveRange(a, b) => {
                        let len = queue.len() + 1;
                        let removed = queue.remove_range(usize::from(a) % len, usize::from(b) % len);
                        let mut after = all_ids(&queue);
                        if let Ok(tracks) = removed { after.extend(tracks.iter().map(|t| t.id.0)); after.sort_unstable(); }
                        prop_assert_eq!(after, before);
                    }
                    Op::Move(a, b) => {
                        let len = queue.len() + 1;
                        let _ = queue.move_track(usize::from(a) % len, usize::from(b) % len);
                        prop_assert_eq!(all_ids(&queue), before);
                    }
                    Op::Shuffle(salt) => {
                        state ^= salt;
                        queue.shuffle_with(|n| {
                            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                            usize::try_from(state >> 33).unwrap() % n
                        });
                        prop_assert_eq!(all_ids(&queue), before);
                    }
                    Op::SkipTo(index) => {
                        let _ = queue.skip_to(usize::from(index) % (queue.len() + 1));
                    }
                    Op::Advance(finished) => {
                        queue.advance(if finished { Advance::Finished } else { Advance::Skipped });
                    }
                    Op::Previous => { let _ = queue.previous(); }
                    Op::Dedupe => { queue.dedupe(); }
                }
                let ids = all_ids(&queue);
                let mut unique = ids.clone();
                unique.dedup();
                prop_assert_eq!(ids, unique, "a track is duplicated");
                prop_assert!(queue.len() <= queue.max_size());
            }
        }
    }
}
