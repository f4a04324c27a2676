//! Queue rules: positions, repeat modes and navigation never lose or duplicate a track.

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

/// Steps of the repeat × navigation table below.
#[derive(Debug, Clone, Copy)]
enum Step {
    Skip,
    Finish,
    Previous,
    SkipTo(usize),
    Remove(usize),
}

/// Plays the first of `count` tracks under `repeat`, runs `steps` (refusals left as they
/// are) and returns the current track and the upcoming ones.
fn after_steps(count: u64, repeat: RepeatMode, steps: &[Step]) -> (Option<u64>, Vec<u64>) {
    let mut queue = queue_of(count);
    queue.advance(Advance::Finished);
    queue.set_repeat(repeat);
    for step in steps {
        match *step {
            Step::Skip => {
                let _ = queue.advance(Advance::Skipped);
            }
            Step::Finish => {
                let _ = queue.advance(Advance::Finished);
            }
            Step::Previous => {
                let _ = queue.previous();
            }
            Step::SkipTo(index) => {
                let _ = queue.skip_to(index);
            }
            Step::Remove(index) => {
                let _ = queue.remove(index);
            }
        }
    }
    (queue.current().map(|track| track.id.0), ids(&queue))
}

#[test]
fn repeat_queue_skip_then_previous_keeps_three_tracks_in_order() {
    let (current, upcoming) = after_steps(3, RepeatMode::Queue, &[Step::Skip, Step::Previous]);
    assert_eq!(current, Some(1));
    assert_eq!(upcoming, vec![2, 3]);
}

/// Repeat mode, steps, then the expected current track and upcoming ones.
type TableRow = (RepeatMode, &'static [Step], Option<u64>, &'static [u64]);

#[test]
fn every_repeat_mode_with_every_navigation_keeps_each_track_once() {
    use RepeatMode::{Off, Queue, Track};
    use Step::{Finish, Previous, Remove, Skip, SkipTo};
    // Three tracks, the first one playing: (repeat, steps, current, upcoming).
    let table: &[TableRow] = &[
        (Off, &[Skip], Some(2), &[3]),
        (Off, &[Skip, Previous], Some(1), &[2, 3]),
        (Off, &[Previous], Some(1), &[2, 3]),
        (Off, &[SkipTo(1)], Some(3), &[]),
        (Off, &[SkipTo(1), Previous], Some(2), &[3]),
        (Off, &[SkipTo(1), Previous, Previous], Some(1), &[2, 3]),
        (Off, &[Remove(0)], Some(1), &[3]),
        (Off, &[Remove(0), Skip, Previous], Some(1), &[3]),
        (Off, &[Finish, Finish, Finish], None, &[]),
        (Track, &[Finish], Some(1), &[2, 3]),
        (Track, &[Skip], Some(2), &[3]),
        (Track, &[Skip, Previous], Some(1), &[2, 3]),
        (Track, &[SkipTo(1)], Some(3), &[]),
        (Track, &[SkipTo(1), Previous], Some(2), &[3]),
        (Track, &[Remove(1), Skip], Some(2), &[]),
        (Track, &[Remove(1), Skip, Previous], Some(1), &[2]),
        (Queue, &[Skip], Some(2), &[3, 1]),
        (Queue, &[Skip, Previous], Some(1), &[2, 3]),
        (Queue, &[Skip, Skip, Skip], Some(1), &[2, 3]),
        (Queue, &[Skip, Skip, Skip, Previous], Some(3), &[1, 2]),
        (Queue, &[Skip, Skip, Previous, Previous], Some(1), &[2, 3]),
        (Queue, &[Finish, Finish, Finish], Some(1), &[2, 3]),
        // Nothing played yet: back round the loop to its last track.
        (Queue, &[Previous], Some(3), &[1, 2]),
        (Queue, &[Skip, Previous, Previous], Some(3), &[1, 2]),
        (Queue, &[SkipTo(1)], Some(3), &[1, 2]),
        (Queue, &[SkipTo(1), Previous], Some(2), &[3, 1]),
        (Queue, &[SkipTo(1), Previous, Previous], Some(1), &[2, 3]),
        (Queue, &[Remove(0)], Some(1), &[3]),
        (Queue, &[Remove(0), Skip], Some(3), &[1]),
        (Queue, &[Remove(0), Skip, Previous], Some(1), &[3]),
        // Previous plays what was played last, even when its copy was removed meanwhile.
        (Queue, &[Skip, Remove(1), Previous], Some(1), &[2, 3]),
    ];
    for (repeat, steps, current, upcoming) in table {
        assert_eq!(
            after_steps(3, *repeat, steps),
            (*current, upcoming.to_vec()),
            "repeat {repeat}, steps {steps:?}"
        );
    }
}

#[test]
fn repeat_queue_of_one_track_restarts_it_on_previous() {
    for steps in [&[Step::Skip, Step::Previous][..], &[Step::Previous]] {
        assert_eq!(
            after_steps(1, RepeatMode::Queue, steps),
            (Some(1), vec![]),
            "steps {steps:?}"
        );
    }
}

#[test]
fn previous_in_a_full_repeat_queue_reuses_the_requeued_slot() {
    let mut queue = Queue::new(2);
    for id in 1..=3 {
        let _ = queue.add(track(id), AddPosition::End);
        if id == 1 {
            queue.advance(Advance::Finished);
        }
    }
    queue.set_repeat(RepeatMode::Queue);
    queue.advance(Advance::Skipped);
    assert_eq!(ids(&queue), vec![3, 1]);
    assert_eq!(queue.previous().unwrap().id, TrackId(1));
    assert_eq!(ids(&queue), vec![2, 3]);
    queue.set_repeat(RepeatMode::Off);
    queue.advance(Advance::Skipped);
    queue.add(track(4), AddPosition::End).unwrap();
    assert_eq!(queue.previous().unwrap_err(), QueueError::Full { max: 2 });
    assert_eq!(queue.current().unwrap().id, TrackId(2));
    assert_eq!(ids(&queue), vec![3, 4]);
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
    Repeat(u8),
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
        any::<u8>().prop_map(Op::Repeat),
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
                Op::Repeat(mode) => {
                    queue.set_repeat([RepeatMode::Off, RepeatMode::Track, RepeatMode::Queue][usize::from(mode) % 3]);
                }
            }
            let ids = all_ids(&queue);
            let mut unique = ids.clone();
            unique.dedup();
            prop_assert_eq!(ids, unique, "a track is duplicated");
            prop_assert!(queue.len() <= queue.max_size());
        }
    }
}
