//! The outbound pacer: every message the bot sends or edits in a chat goes through here, so the
//! bot keeps to Telegram's limits while commands themselves run the moment they arrive.
//!
//! Each chat has its own lane: a queue worked by one task, spaced by the chat's limits (about
//! one message a second, and at most twenty a minute in a group or supergroup), while one
//! global limiter keeps the whole bot under thirty a second. When a backlog builds, the lane
//! coalesces instead of falling minutes behind: queued command answers go out as one message
//! (an older now-playing text dropped for a newer one), and queued edits of one message keep
//! only the latest text. A 429 `retry_after` closes only the lane of the chat it names.
//!
//! Requests that are not chat messages (`answerCallbackQuery`, `getChatMember`) do not come
//! here: Telegram does not count them, and a button's answer must never wait for a backlog.

mod lane;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageEntity, MessageId};
use teloxide::{ApiError, RequestError};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::debug;

use lane::{Edit, Job, Lane, Part, SendJob, Waiter};

/// Telegram's published limits for one bot (the Bot API FAQ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceLimits {
    /// The least time between two messages (sent or edited) in one chat: about one a second.
    pub chat_interval: Duration,
    /// At most this many messages in one group or supergroup per [`Self::group_window`].
    pub group_messages: usize,
    /// The window of [`Self::group_messages`]: a minute.
    pub group_window: Duration,
    /// At most this many messages a second over all chats.
    pub overall_per_second: u32,
}

impl Default for PaceLimits {
    fn default() -> Self {
        Self {
            chat_interval: Duration::from_secs(1),
            group_messages: 20,
            group_window: Duration::from_mins(1),
            overall_per_second: 30,
        }
    }
}

/// Who sends, which decides how a backlog and a 429 treat the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A command's answer: merged with other queued answers; waits out a 429 and retries.
    Reply,
    /// The bridge: sent on its own; a 429 comes back to the bridge, which reschedules itself
    /// (so one chat's flood control never holds up the bridge's other chats).
    Bridge,
}

/// A message as it arrived in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) message: MessageId,
    /// This part's keyboard is the one under the message (a later part in the same message
    /// may have replaced it).
    pub(crate) keyboard: bool,
}

/// Above this many lanes, idle ones are dropped when a message is queued.
const LANES_KEPT: usize = 256;

/// How many times a reply is tried when Telegram keeps answering 429.
const MAX_ATTEMPTS: u32 = 5;

/// The pacer; cheap to clone.
#[derive(Clone)]
pub(crate) struct Pacer {
    shared: Arc<Shared>,
}

struct Shared {
    bot: Bot,
    limits: PaceLimits,
    overall: DefaultDirectRateLimiter,
    lanes: Mutex<HashMap<ChatId, Lane>>,
}

impl Shared {
    fn lanes(&self) -> MutexGuard<'_, HashMap<ChatId, Lane>> {
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Groups, supergroups and channels have negative ids; private chats positive ones.
fn is_group(chat: ChatId) -> bool {
    chat.0 < 0
}

impl Pacer {
    pub(crate) fn new(bot: Bot, limits: PaceLimits) -> Self {
        let per_second =
            NonZeroU32::new(limits.overall_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        // No burst: thirty a second means one every 33 ms, never thirty at once.
        let overall = Quota::with_period(Duration::from_secs(1) / per_second.get())
            .unwrap_or_else(|| Quota::per_second(per_second))
            .allow_burst(NonZeroU32::MIN);
        Self {
            shared: Arc::new(Shared {
                bot,
                limits,
                overall: RateLimiter::direct(overall),
                lanes: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Queues `text` for `chat` (one message: at most [`crate::MESSAGE_LIMIT`]) now, so
    /// messages keep the order of the calls; the returned future tells how it arrived.
    pub(crate) fn send(
        &self,
        chat: ChatId,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
        origin: Origin,
    ) -> impl Future<Output = Result<Delivered, RequestError>> + Send + 'static {
        self.send_part(chat, text, keyboard, Vec::new(), origin)
    }

    /// Queues a bridge message whose `entities` (mentions) format `text`; like [`Self::send`]
    /// it is never merged with another message, so the entities' offsets hold.
    pub(crate) fn send_formatted(
        &self,
        chat: ChatId,
        text: String,
        entities: Vec<MessageEntity>,
    ) -> impl Future<Output = Result<Delivered, RequestError>> + Send + 'static {
        self.send_part(chat, text, None, entities, Origin::Bridge)
    }

    fn send_part(
        &self,
        chat: ChatId,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
        entities: Vec<MessageEntity>,
        origin: Origin,
    ) -> impl Future<Output = Result<Delivered, RequestError>> + Send + 'static {
        let (done, receiver) = oneshot::channel();
        let part = Part {
            text,
            keyboard,
            entities,
            origin,
            done,
        };
        self.enqueue(chat, |lane| {
            lane.queue.push_back(Job::Send(SendJob {
                parts: vec![part],
                attempts: 0,
            }));
        });
        outcome(receiver)
    }

    /// Queues an edit of `message`; a later edit of the same message queued before this one
    /// went out replaces it (both callers then learn the later one's outcome). Telegram's
    /// "message is not modified" counts as done.
    pub(crate) fn edit(
        &self,
        chat: ChatId,
        message: MessageId,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
        origin: Origin,
    ) -> impl Future<Output = Result<(), RequestError>> + Send + 'static {
        let (done, receiver) = oneshot::channel();
        let waiter = Waiter { origin, done };
        self.enqueue(chat, |lane| {
            let queued = lane.queue.iter_mut().find_map(|job| match job {
                Job::Edit(edit) if edit.message == message => Some(edit),
                _ => None,
            });
            match queued {
                Some(edit) => {
                    edit.text = text;
                    edit.keyboard = keyboard;
                    edit.waiters.push(waiter);
                }
                None => lane.queue.push_back(Job::Edit(Edit {
                    message,
                    text,
                    keyboard,
                    waiters: vec![waiter],
                    attempts: 0,
                })),
            }
        });
        outcome(receiver)
    }

    /// When `chat` could take a message: `None` if now (nothing queued, no 429 pending, within
    /// its limits). The bridge asks before it flushes, so it never waits in a lane.
    pub(crate) fn busy_until(&self, chat: ChatId) -> Option<Instant> {
        let now = Instant::now();
        let limits = &self.shared.limits;
        let mut lanes = self.shared.lanes();
        let lane = lanes.get_mut(&chat)?;
        let free = lane.free_at(now, limits, is_group(chat));
        if lane.queue.is_empty() {
            free
        } else {
            // Queued messages go first; look again once the next of them could have gone.
            Some(free.unwrap_or(now).max(now) + limits.chat_interval)
        }
    }

    fn enqueue(&self, chat: ChatId, add: impl FnOnce(&mut Lane)) {
        let start = {
            let mut lanes = self.shared.lanes();
            if lanes.len() > LANES_KEPT {
                // A lane whose worker ended while its chat's recent sends still counted stays
                // behind; forget the ones that no longer limit anything.
                let now = Instant::now();
                let limits = &self.shared.limits;
                lanes.retain(|_, lane| lane.working || !lane.is_idle(now, limits));
            }
            let lane = lanes.entry(chat).or_default();
            add(lane);
            !std::mem::replace(&mut lane.working, true)
        };
        if start {
            tokio::spawn(work_lane(Arc::clone(&self.shared), chat));
        }
    }
}

async fn outcome<T>(
    receiver: oneshot::Receiver<Result<T, RequestError>>,
) -> Result<T, RequestError> {
    receiver.await.unwrap_or_else(|_| {
        Err(RequestError::Io(Arc::new(std::io::Error::other(
            "the Telegram sender stopped before the message went out",
        ))))
    })
}

/// Works one chat's lane until it is empty.
async fn work_lane(shared: Arc<Shared>, chat: ChatId) {
    loop {
        let wait = {
            let mut lanes = shared.lanes();
            let Some(lane) = lanes.get_mut(&chat) else {
                return;
            };
            let now = Instant::now();
            if lane.queue.is_empty() {
                lane.working = false;
                if lane.is_idle(now, &shared.limits) {
                    lanes.remove(&chat);
                }
                return;
            }
            lane.free_at(now, &shared.limits, is_group(chat))
        };
        if let Some(at) = wait {
            tokio::time::sleep_until(at).await;
            continue;
        }
        shared.overall.until_ready().await;
        // Taken only now, so whatever arrived while the lane waited joins this message.
        let Some(job) = ({
            let mut lanes = shared.lanes();
            lanes.get_mut(&chat).and_then(|lane| {
                let job = lane.take_job();
                if job.is_some() {
                    lane.record(Instant::now());
                }
                job
            })
        }) else {
            continue;
        };
        let retry = match job {
            Job::Send(job) => perform_send(&shared.bot, chat, job).await,
            Job::Edit(edit) => perform_edit(&shared.bot, chat, edit).await,
        };
        if let Some((after, job)) = retry {
            debug!(chat = chat.0, retry_after = ?after, "Telegram asked this chat to wait");
            let mut lanes = shared.lanes();
            let lane = lanes.entry(chat).or_default();
            lane.blocked_until = Some(Instant::now() + after);
            if let Some(job) = job {
                lane.queue.push_front(job);
            }
        }
    }
}

/// Sends a (possibly merged) message; on a 429 returns the wait and what to try again.
async fn perform_send(
    bot: &Bot,
    chat: ChatId,
    mut job: SendJob,
) -> Option<(Duration, Option<Job>)> {
    let (text, carrier) = job.render();
    let keyboard = carrier.and_then(|index| job.parts[index].keyboard.clone());
    let mut request = bot.send_message(chat, text);
    if let [part] = job.parts.as_slice()
        && !part.entities.is_empty()
    {
        request = request.entities(part.entities.clone());
    }
    let result = match keyboard {
        Some(keyboard) => request.reply_markup(keyboard).await,
        None => request.await,
    };
    match result {
        Ok(message) => {
            for (index, part) in job.parts.into_iter().enumerate() {
                let _ = part.done.send(Ok(Delivered {
                    message: message.id,
                    keyboard: carrier == Some(index),
                }));
            }
            None
        }
        Err(RequestError::RetryAfter(after)) => {
            job.attempts += 1;
            let error = RequestError::RetryAfter(after);
            let (again, refused): (Vec<Part>, Vec<Part>) = job
                .parts
                .into_iter()
                .partition(|part| part.origin == Origin::Reply && job.attempts < MAX_ATTEMPTS);
            for part in refused {
                let _ = part.done.send(Err(error.clone()));
            }
            let again = (!again.is_empty()).then(|| {
                Job::Send(SendJob {
                    parts: again,
                    attempts: job.attempts,
                })
            });
            Some((after.duration(), again))
        }
        Err(error) => {
            for part in job.parts {
                let _ = part.done.send(Err(error.clone()));
            }
            None
        }
    }
}

async fn perform_edit(bot: &Bot, chat: ChatId, mut edit: Edit) -> Option<(Duration, Option<Job>)> {
    let request = bot.edit_message_text(chat, edit.message, edit.text.clone());
    let result = match edit.keyboard.clone() {
        Some(keyboard) => request.reply_markup(keyboard).await,
        None => request.await,
    };
    let error = match result {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {
            for waiter in edit.waiters {
                let _ = waiter.done.send(Ok(()));
            }
            return None;
        }
        Err(error) => error,
    };
    let RequestError::RetryAfter(after) = error else {
        for waiter in edit.waiters {
            let _ = waiter.done.send(Err(error.clone()));
        }
        return None;
    };
    edit.attempts += 1;
    let attempts = edit.attempts;
    let (again, refused): (Vec<Waiter>, Vec<Waiter>) = edit
        .waiters
        .into_iter()
        .partition(|waiter| waiter.origin == Origin::Reply && attempts < MAX_ATTEMPTS);
    for waiter in refused {
        let _ = waiter.done.send(Err(RequestError::RetryAfter(after)));
    }
    edit.waiters = again;
    let again = (!edit.waiters.is_empty()).then_some(Job::Edit(edit));
    Some((after.duration(), again))
}
