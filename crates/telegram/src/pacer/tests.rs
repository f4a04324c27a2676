use std::time::Duration;

use teloxide::types::{InlineKeyboardMarkup, MessageId};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::lane::{Edit, Job, Lane, Part, SendJob};
use super::{Origin, PaceLimits};
use crate::keyboard::player_keyboard;
use crate::text::MESSAGE_LIMIT;

fn limits() -> PaceLimits {
    PaceLimits {
        chat_interval: Duration::from_secs(1),
        group_messages: 3,
        group_window: Duration::from_mins(1),
        overall_per_second: 30,
    }
}

fn part(text: &str, keyboard: Option<InlineKeyboardMarkup>, origin: Origin) -> Part {
    Part {
        text: text.to_owned(),
        keyboard,
        entities: Vec::new(),
        origin,
        done: oneshot::channel().0,
    }
}

fn send(parts: Vec<Part>) -> Job {
    Job::Send(SendJob { parts, attempts: 0 })
}

fn texts(job: &Job) -> String {
    match job {
        Job::Send(job) => job.render().0,
        Job::Edit(edit) => edit.text.clone(),
    }
}

#[test]
fn a_chat_gets_one_message_a_second_and_a_group_its_count_per_window() {
    let limits = limits();
    let start = Instant::now();
    let mut lane = Lane::default();
    assert_eq!(lane.free_at(start, &limits, true), None);
    lane.record(start);
    assert_eq!(
        lane.free_at(start, &limits, false),
        Some(start + Duration::from_secs(1))
    );
    lane.record(start + Duration::from_secs(1));
    lane.record(start + Duration::from_secs(2));
    let later = start + Duration::from_secs(3);
    assert_eq!(
        lane.free_at(later, &limits, true),
        Some(start + Duration::from_mins(1)),
        "a group gets three a window here"
    );
    assert_eq!(
        lane.free_at(later, &limits, false),
        None,
        "a private chat only spaces"
    );
    assert_eq!(
        lane.free_at(start + Duration::from_mins(1), &limits, true),
        None
    );
}

#[test]
fn a_429_closes_the_lane_until_it_ends() {
    let limits = limits();
    let now = Instant::now();
    let mut lane = Lane::default();
    lane.blocked_until = Some(now + Duration::from_secs(8));
    assert_eq!(
        lane.free_at(now, &limits, false),
        Some(now + Duration::from_secs(8))
    );
    assert_eq!(
        lane.free_at(now + Duration::from_secs(8), &limits, false),
        None
    );
}

#[test]
fn queued_answers_merge_and_the_latest_player_text_wins() {
    let mut lane = Lane::default();
    lane.queue.push_back(send(vec![part(
        "🔊 Volume set to 50.",
        None,
        Origin::Reply,
    )]));
    lane.queue.push_back(send(vec![part(
        "▶ Now playing: old",
        Some(player_keyboard(false, None)),
        Origin::Reply,
    )]));
    lane.queue
        .push_back(send(vec![part("⏸ Paused.", None, Origin::Reply)]));
    lane.queue.push_back(send(vec![part(
        "▶ Now playing: new",
        Some(player_keyboard(true, None)),
        Origin::Reply,
    )]));
    lane.queue
        .push_back(send(vec![part("bridge news", None, Origin::Bridge)]));
    let job = lane.take_job().unwrap();
    let Job::Send(merged) = &job else {
        panic!("a send")
    };
    let (text, carrier) = merged.render();
    assert_eq!(text, "🔊 Volume set to 50.\n⏸ Paused.\n▶ Now playing: new");
    assert_eq!(carrier, Some(3));
    assert_eq!(
        texts(&lane.take_job().unwrap()),
        "bridge news",
        "the bridge's own"
    );
    assert!(lane.take_job().is_none());
}

#[test]
fn merging_stops_at_telegrams_size_limit() {
    let mut lane = Lane::default();
    let long = "x".repeat(MESSAGE_LIMIT / 2);
    for _ in 0..3 {
        lane.queue
            .push_back(send(vec![part(&long, None, Origin::Reply)]));
    }
    let first = texts(&lane.take_job().unwrap());
    assert!(first.encode_utf16().count() <= MESSAGE_LIMIT);
    assert_eq!(first, long, "two halves and a separator do not fit");
    assert_eq!(lane.queue.len(), 2);
}

#[test]
fn an_edit_is_not_merged_into_sends() {
    let mut lane = Lane::default();
    lane.queue.push_back(Job::Edit(Edit {
        message: MessageId(3),
        text: "edited".to_owned(),
        keyboard: None,
        waiters: Vec::new(),
        attempts: 0,
    }));
    lane.queue
        .push_back(send(vec![part("a", None, Origin::Reply)]));
    assert_eq!(texts(&lane.take_job().unwrap()), "edited");
    assert_eq!(texts(&lane.take_job().unwrap()), "a");
}
