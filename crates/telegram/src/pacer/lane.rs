//! One chat's lane: its queue, what it sent lately, and how queued answers merge.

use std::collections::VecDeque;

use teloxide::RequestError;
use teloxide::types::{InlineKeyboardMarkup, MessageEntity, MessageId};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Delivered, Origin, PaceLimits};
use crate::text::MESSAGE_LIMIT;

/// What merged answers are joined with.
const SEPARATOR: &str = "\n";

/// One caller's message, waiting for its outcome.
pub(super) struct Part {
    pub(super) text: String,
    pub(super) keyboard: Option<InlineKeyboardMarkup>,
    /// Formatting of `text` (mentions), at UTF-16 offsets into it; only a bridge part, which
    /// is never merged with another, has any.
    pub(super) entities: Vec<MessageEntity>,
    pub(super) origin: Origin,
    pub(super) done: oneshot::Sender<Result<Delivered, RequestError>>,
}

/// One `sendMessage`: the parts of one or more callers.
pub(super) struct SendJob {
    pub(super) parts: Vec<Part>,
    pub(super) attempts: u32,
}

impl SendJob {
    fn mergeable(&self) -> bool {
        self.parts.iter().all(|part| part.origin == Origin::Reply)
    }

    fn units(&self) -> usize {
        self.parts
            .iter()
            .map(|part| part.text.encode_utf16().count() + SEPARATOR.len())
            .sum()
    }

    /// The message text, and which part's keyboard goes under it (the last part that has
    /// one). A part with a keyboard shows the player; an earlier such part in the same message
    /// is out of date, so its text is left out.
    pub(super) fn render(&self) -> (String, Option<usize>) {
        let carrier = self.parts.iter().rposition(|part| part.keyboard.is_some());
        let texts: Vec<&str> = self
            .parts
            .iter()
            .enumerate()
            .filter(|(index, part)| {
                part.keyboard.is_none() || carrier.is_none_or(|carrier| carrier == *index)
            })
            .map(|(_, part)| part.text.as_str())
            .collect();
        (texts.join(SEPARATOR), carrier)
    }
}

/// One caller waiting for an edit.
pub(super) struct Waiter {
    pub(super) origin: Origin,
    pub(super) done: oneshot::Sender<Result<(), RequestError>>,
}

/// One `editMessageText`: the latest text asked for, and everyone who asked.
pub(super) struct Edit {
    pub(super) message: MessageId,
    pub(super) text: String,
    pub(super) keyboard: Option<InlineKeyboardMarkup>,
    pub(super) waiters: Vec<Waiter>,
    pub(super) attempts: u32,
}

pub(super) enum Job {
    Send(SendJob),
    Edit(Edit),
}

#[derive(Default)]
pub(super) struct Lane {
    pub(super) queue: VecDeque<Job>,
    /// When this chat's recent messages went out, oldest first.
    sent: VecDeque<Instant>,
    /// Telegram's `retry_after` for this chat ends here.
    pub(super) blocked_until: Option<Instant>,
    /// A task works the queue.
    pub(super) working: bool,
}

impl Lane {
    /// `None` if a message could go now, else when it could.
    pub(super) fn free_at(
        &mut self,
        now: Instant,
        limits: &PaceLimits,
        group: bool,
    ) -> Option<Instant> {
        self.forget_old(now, limits);
        let mut free = self.blocked_until.filter(|&until| until > now);
        if let Some(&last) = self.sent.back() {
            free = free.max(Some(last + limits.chat_interval).filter(|&at| at > now));
        }
        if group {
            let window_start = now.checked_sub(limits.group_window);
            let in_window: Vec<Instant> = self
                .sent
                .iter()
                .copied()
                .filter(|&at| window_start.is_none_or(|start| at > start))
                .collect();
            if in_window.len() >= limits.group_messages.max(1) {
                // The oldest counted message has to leave the window first.
                let oldest = in_window[in_window.len() - limits.group_messages.max(1)];
                free = free.max(Some(oldest + limits.group_window));
            }
        }
        free
    }

    fn forget_old(&mut self, now: Instant, limits: &PaceLimits) {
        let keep = limits.group_window.max(limits.chat_interval);
        while self
            .sent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) > keep)
        {
            self.sent.pop_front();
        }
    }

    pub(super) fn record(&mut self, at: Instant) {
        self.sent.push_back(at);
    }

    /// Nothing queued and nothing the limits still remember: the lane can be dropped.
    pub(super) fn is_idle(&mut self, now: Instant, limits: &PaceLimits) -> bool {
        self.forget_old(now, limits);
        self.queue.is_empty()
            && self.sent.is_empty()
            && self.blocked_until.is_none_or(|until| until <= now)
    }

    /// The next message to send: the first job, with the answers queued right behind it
    /// merged in while the message stays within Telegram's size limit.
    pub(super) fn take_job(&mut self) -> Option<Job> {
        let job = self.queue.pop_front()?;
        let Job::Send(mut first) = job else {
            return Some(job);
        };
        if first.mergeable() {
            let mut units = first.units();
            while let Some(Job::Send(next)) = self.queue.front() {
                if !next.mergeable() || units + next.units() > MESSAGE_LIMIT {
                    break;
                }
                units += next.units();
                let Some(Job::Send(next)) = self.queue.pop_front() else {
                    break;
                };
                first.parts.extend(next.parts);
            }
        }
        Some(Job::Send(first))
    }
}
