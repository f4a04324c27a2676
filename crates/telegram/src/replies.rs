//! Command replies in a linked chat stand in for the bridge's own messages.
//!
//! A command typed in the linked chat acts on the player, and the player's events come back
//! to the bridge, which would tell the same chat again what the reply has just said (`/play`
//! answers "Now playing: …", then the bridge sends its own "Now playing: …"). That spends the
//! chat's small message budget on duplicates. So while a command runs, and for a short grace
//! after, its events only update the bridge's view: they raise no notices and no new message,
//! though the bridge still edits its now-playing message to match. A reply that shows the
//! now-playing track with the player keyboard becomes the bridge's now-playing message, which
//! later changes edit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use minstrel_domain::{GuildId, TrackId};
use teloxide::types::{ChatId, MessageId};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long after a command ended its events still count as answered by its reply. The use
/// cases publish their events before they return, so this only covers the bridge picking
/// them up late.
const ANSWER_GRACE: Duration = Duration::from_millis(250);

/// A message that shows `track` as now playing, with the player keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShownPlayer {
    pub(crate) chat: ChatId,
    pub(crate) message: MessageId,
    pub(crate) track: TrackId,
    pub(crate) at: Instant,
}

#[derive(Debug, Default)]
struct Window {
    running: usize,
    ended_at: Option<Instant>,
    shown: Option<ShownPlayer>,
}

/// What commands in linked chats are doing and have shown, per guild; shared by the handlers
/// and the bridge.
#[derive(Debug)]
pub(crate) struct CommandReplies {
    windows: Mutex<HashMap<GuildId, Window>>,
    now_playing_messages: Arc<Mutex<HashMap<ChatId, MessageId>>>,
    shown: watch::Sender<u64>,
}

impl CommandReplies {
    pub(crate) fn new(now_playing_messages: Arc<Mutex<HashMap<ChatId, MessageId>>>) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            now_playing_messages,
            shown: watch::channel(0).0,
        }
    }

    fn windows(&self) -> MutexGuard<'_, HashMap<GuildId, Window>> {
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a command for `guild` as running until the returned hold is dropped (after its
    /// reply was sent).
    pub(crate) fn begin(self: &Arc<Self>, guild: GuildId) -> ReplyHold {
        self.windows().entry(guild).or_default().running += 1;
        ReplyHold {
            replies: Arc::clone(self),
            guild,
            shown: None,
        }
    }

    /// Whether an event of `guild` seen `now` was caused by a command whose reply tells it.
    pub(crate) fn answering(&self, guild: GuildId, now: Instant) -> bool {
        self.windows().get(&guild).is_some_and(|window| {
            window.running > 0
                || window
                    .ended_at
                    .is_some_and(|ended| now.saturating_duration_since(ended) <= ANSWER_GRACE)
        })
    }

    /// Whether a command for `guild` is still running (its reply is not sent yet).
    pub(crate) fn running(&self, guild: GuildId) -> bool {
        self.windows()
            .get(&guild)
            .is_some_and(|window| window.running > 0)
    }

    /// Takes the player message a reply showed for `guild` when `matches` accepts it; keeps it
    /// for a later try otherwise, unless it is older than the grace (the track it shows has
    /// moved on).
    pub(crate) fn take_shown(
        &self,
        guild: GuildId,
        now: Instant,
        matches: impl FnOnce(&ShownPlayer) -> bool,
    ) -> Option<ShownPlayer> {
        let mut windows = self.windows();
        let window = windows.get_mut(&guild)?;
        let shown = window.shown?;
        if matches(&shown) {
            window.shown = None;
            return Some(shown);
        }
        if now.saturating_duration_since(shown.at) > ANSWER_GRACE {
            window.shown = None;
        }
        None
    }

    /// Bumped whenever a reply showed a player message.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.shown.subscribe()
    }
}

/// A running command in a linked chat; dropping it ends the command.
#[derive(Debug)]
pub(crate) struct ReplyHold {
    replies: Arc<CommandReplies>,
    guild: GuildId,
    shown: Option<ShownPlayer>,
}

impl ReplyHold {
    /// The reply, message `message` in `chat`, shows `track` as now playing.
    pub(crate) fn shows_player(&mut self, chat: ChatId, message: MessageId, track: TrackId) {
        self.shown = Some(ShownPlayer {
            chat,
            message,
            track,
            at: Instant::now(),
        });
    }
}

impl Drop for ReplyHold {
    fn drop(&mut self) {
        {
            let mut windows = self.replies.windows();
            let window = windows.entry(self.guild).or_default();
            window.running = window.running.saturating_sub(1);
            window.ended_at = Some(Instant::now());
            if let Some(shown) = self.shown {
                window.shown = Some(shown);
            }
        }
        if let Some(shown) = self.shown {
            // Buttons under it now belong to the bridge's message.
            self.replies
                .now_playing_messages
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(shown.chat, shown.message);
            self.replies.shown.send_modify(|count| *count += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild() -> GuildId {
        GuildId::new(5).unwrap()
    }

    fn after_the_grace() -> Instant {
        Instant::now() + ANSWER_GRACE + Duration::from_millis(1)
    }

    #[tokio::test]
    async fn a_command_answers_its_events_until_shortly_after_its_reply() {
        let replies = Arc::new(CommandReplies::new(Arc::default()));
        assert!(!replies.answering(guild(), Instant::now()));
        let hold = replies.begin(guild());
        assert!(replies.running(guild()));
        assert!(
            replies.answering(guild(), after_the_grace()),
            "while it runs"
        );
        drop(hold);
        assert!(!replies.running(guild()));
        assert!(replies.answering(guild(), Instant::now()));
        assert!(!replies.answering(guild(), after_the_grace()));
        let _other = replies.begin(GuildId::new(6).unwrap());
        assert!(!replies.answering(guild(), after_the_grace()), "per guild");
    }

    #[tokio::test]
    async fn a_shown_player_is_taken_once_when_it_matches_and_expires_otherwise() {
        let messages = Arc::new(Mutex::new(HashMap::new()));
        let replies = Arc::new(CommandReplies::new(Arc::clone(&messages)));
        let shown = replies.subscribe();
        let mut hold = replies.begin(guild());
        hold.shows_player(ChatId(-1), MessageId(9), TrackId(3));
        drop(hold);
        assert!(shown.has_changed().unwrap());
        assert_eq!(
            messages.lock().unwrap().get(&ChatId(-1)),
            Some(&MessageId(9))
        );

        let now = Instant::now();
        assert_eq!(replies.take_shown(guild(), now, |_| false), None);
        let taken = replies.take_shown(guild(), now, |shown| shown.track == TrackId(3));
        assert_eq!(taken.map(|shown| shown.message), Some(MessageId(9)));
        assert_eq!(
            replies.take_shown(guild(), now, |_| true),
            None,
            "taken once"
        );

        let mut hold = replies.begin(guild());
        hold.shows_player(ChatId(-1), MessageId(10), TrackId(4));
        drop(hold);
        assert_eq!(
            replies.take_shown(guild(), after_the_grace(), |_| false),
            None
        );
        assert_eq!(
            replies.take_shown(guild(), Instant::now(), |_| true),
            None,
            "a stale one is forgotten"
        );
    }
}
