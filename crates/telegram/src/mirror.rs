//! The bridge: mirrors a linked guild's player events into its Telegram chat.
//!
//! Telegram allows about one message a second per chat and twenty a minute per group, while a
//! player can emit a burst of events in a millisecond (skip → ended → started → volume). So
//! events only update a per-guild view; the view is flushed once per burst (after
//! `coalesce_window`), and only when the chat's lane of the [`crate::pacer`] is free, so the
//! bridge never waits on one chat while others have news. A new track sends one now-playing
//! message with the player keyboard; later state changes of the same track edit that message
//! instead of sending new ones, and the message it replaces loses its buttons and says how its
//! track ended.
//!
//! A call from Discord's `/all` ([`DomainEvent::CallToChat`]) is no player state: it goes out
//! at once as its own message (see [`crate::call`]).
//!
//! Events caused by a command typed in the linked chat are already told by its reply (see
//! [`crate::replies`]): they keep the now-playing message up to date but send nothing new.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minstrel_app::BridgeService;
use minstrel_domain::events::{DEFAULT_TRACK_STUCK_AFTER, stuck_window_text};
use minstrel_domain::{
    DomainEvent, EndReason, FilterSpec, GuildId, RepeatMode, TelegramChatId, Track, Volume,
};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::MessageId;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::keyboard::player_keyboard;
use crate::pacer::{Origin, Pacer};
use crate::redact::describe;
use crate::replies::CommandReplies;
use crate::text::{PlayerView, player_text, split_message};

/// How the bridge gathers events (the chat limits themselves are [`crate::PaceLimits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorConfig {
    /// How long to gather a burst of events before sending anything.
    pub coalesce_window: Duration,
    /// The player's silence window (`MINSTREL_TRACK_STUCK_AFTER`), which the stuck notice
    /// names.
    pub track_stuck_after: Duration,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            coalesce_window: Duration::from_secs(1),
            track_stuck_after: DEFAULT_TRACK_STUCK_AFTER,
        }
    }
}

/// Each guild's repeat mode as last set from Telegram, shared by the handlers and the bridge.
#[derive(Debug, Clone, Default)]
pub(crate) struct RepeatModes(Arc<Mutex<HashMap<GuildId, RepeatMode>>>);

impl RepeatModes {
    pub(crate) fn set(&self, guild: GuildId, mode: RepeatMode) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(guild, mode);
    }

    pub(crate) fn get(&self, guild: GuildId) -> Option<RepeatMode> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&guild)
            .copied()
    }
}

/// At most this many one-line notices in one message; older ones are summarized.
const MAX_NOTICES: usize = 10;

/// What the chat should show about one guild's player.
#[derive(Debug, Default)]
struct GuildView {
    track: Option<Track>,
    paused: bool,
    volume: Option<Volume>,
    filters: Option<FilterSpec>,
    notices: Vec<String>,
    /// A track started since the last flush: it gets a new message.
    new_track: bool,
    /// The player text as the track started, before later changes: what a reply that
    /// announced the start shows.
    started_text: Option<String>,
    /// Some pending change was not caused by a command of the linked chat, whose reply
    /// already told it; only such changes may send a new message.
    unanswered: bool,
    /// When the pending changes go out; `None` when nothing is pending.
    due: Option<Instant>,
    /// The now-playing message being kept up to date, and its text.
    message: Option<(ChatId, MessageId, String)>,
    /// How the last track ended, as a replaced now-playing message says it.
    ended: Option<String>,
    /// Now-playing messages of earlier tracks, with what they say from now on (no buttons).
    retired: Vec<(ChatId, MessageId, String)>,
    repeat: Option<RepeatMode>,
}

impl GuildView {
    /// Applies `event`; `answered` when a command reply in the chat already told it, so it
    /// raises no notice. `false` when the event changes nothing the chat shows. A stuck track
    /// is one that gave no audio for `track_stuck_after`.
    fn apply(&mut self, event: &DomainEvent, answered: bool, track_stuck_after: Duration) -> bool {
        let notices = self.notices.len();
        let changed = self.apply_event(event, track_stuck_after);
        if answered {
            self.notices.truncate(notices);
        } else {
            self.unanswered |= changed;
        }
        changed
    }

    fn apply_event(&mut self, event: &DomainEvent, track_stuck_after: Duration) -> bool {
        match event {
            DomainEvent::TrackStarted { track, .. } => {
                self.track = Some(track.clone());
                self.paused = false;
                self.new_track = true;
                self.started_text = self.player_text();
            }
            DomainEvent::Skipped { track, .. } => {
                self.notices
                    .push(format!("⏭ Skipped: {}", track.display_title()));
            }
            DomainEvent::TrackEnded { track, reason, .. } => {
                self.ended = Some(ended_text(track, reason));
                return self.apply_ended(track, reason, track_stuck_after);
            }
            DomainEvent::TrackFailed { track, reason, .. } => self.notices.push(format!(
                "✖ Could not play {}: {reason}",
                track.display_title()
            )),
            DomainEvent::Paused { .. } => self.paused = true,
            DomainEvent::Resumed { .. } => self.paused = false,
            DomainEvent::VolumeChanged { volume, .. } => self.volume = Some(*volume),
            DomainEvent::FiltersChanged { filters, .. } => self.filters = Some(*filters),
            DomainEvent::QueueFinished { .. } => {
                self.track = None;
                self.notices.push("■ The queue has finished".to_owned());
            }
            DomainEvent::VoiceLost { queued, .. } => {
                self.track = None;
                self.notices.push(format!(
                    "⏏ Discord disconnected the bot from the voice channel; the queue was kept ({})",
                    tracks(*queued)
                ));
            }
            // A call from Discord is no player state: `Mirror::apply` sends it on its own.
            DomainEvent::TrackQueued { .. }
            | DomainEvent::Seeked { .. }
            | DomainEvent::CallToChat { .. } => return false,
        }
        true
    }

    fn apply_ended(
        &mut self,
        track: &Track,
        reason: &EndReason,
        track_stuck_after: Duration,
    ) -> bool {
        match reason {
            EndReason::Stopped => {
                self.track = None;
                self.notices.push("⏹ Playback stopped".to_owned());
            }
            EndReason::Stuck => self.notices.push(format!(
                "✖ {} produced no audio for {} and was skipped",
                track.display_title(),
                stuck_window_text(track_stuck_after)
            )),
            EndReason::Finished
            | EndReason::Skipped
            | EndReason::Replaced
            | EndReason::Failed(_) => return false,
        }
        true
    }

    /// The now-playing message `previous` shows an earlier track from now on: it says how
    /// that track ended and loses its buttons.
    fn retire(&mut self, chat: ChatId, message: MessageId) {
        let text = self
            .ended
            .take()
            .unwrap_or_else(|| "⏹ This track has ended.".to_owned());
        self.retired.push((chat, message, text));
    }

    fn player_text(&self) -> Option<String> {
        let track = self.track.as_ref()?;
        Some(player_text(&PlayerView {
            track,
            paused: self.paused,
            volume: self.volume,
            filters: self.filters,
            repeat: self.repeat,
        }))
    }
}

/// What a now-playing message says once its track has ended.
fn ended_text(track: &Track, reason: &EndReason) -> String {
    let title = track.display_title();
    match reason {
        EndReason::Finished => format!("✔ Played: {title}"),
        EndReason::Skipped => format!("⏭ Skipped: {title}"),
        EndReason::Stopped => format!("⏹ Stopped: {title}"),
        EndReason::Replaced => format!("⏭ Replaced: {title}"),
        EndReason::Stuck => format!("✖ No audio, skipped: {title}"),
        EndReason::Failed(_) => format!("✖ Could not finish: {title}"),
    }
}

/// "1 track", "3 tracks".
fn tracks(count: usize) -> String {
    if count == 1 {
        "1 track".to_owned()
    } else {
        format!("{count} tracks")
    }
}

/// The notices as one message: the last [`MAX_NOTICES`], the older ones counted.
fn view_notices(notices: &[String]) -> Option<String> {
    if notices.is_empty() {
        return None;
    }
    let hidden = notices.len().saturating_sub(MAX_NOTICES);
    let mut lines: Vec<String> = Vec::new();
    if hidden > 0 {
        lines.push(format!("… {hidden} earlier events"));
    }
    lines.extend(notices.iter().skip(hidden).cloned());
    Some(lines.join("\n"))
}

pub(crate) struct Mirror {
    pacer: Pacer,
    repeat_modes: RepeatModes,
    bridge: Arc<BridgeService>,
    config: MirrorConfig,
    views: HashMap<GuildId, GuildView>,
    now_playing_messages: Arc<Mutex<HashMap<ChatId, MessageId>>>,
    replies: Arc<CommandReplies>,
    flushes: watch::Sender<u64>,
    token: String,
}

enum Sent {
    Message(MessageId),
    Nothing,
}

impl Mirror {
    pub(crate) fn new(
        pacer: Pacer,
        repeat_modes: RepeatModes,
        bridge: Arc<BridgeService>,
        config: MirrorConfig,
        now_playing_messages: Arc<Mutex<HashMap<ChatId, MessageId>>>,
        replies: Arc<CommandReplies>,
        token: String,
    ) -> (Self, watch::Receiver<u64>) {
        let (flushes, receiver) = watch::channel(0);
        let mirror = Self {
            pacer,
            repeat_modes,
            bridge,
            config,
            views: HashMap::new(),
            now_playing_messages,
            replies,
            flushes,
            token,
        };
        (mirror, receiver)
    }

    pub(crate) async fn run(
        mut self,
        mut events: broadcast::Receiver<DomainEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut shown = self.replies.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            let next_due = self.views.values().filter_map(|view| view.due).min();
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { return },
                received = events.recv() => match received {
                    Ok(event) => self.apply(&event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        warn!(missed, "the Telegram bridge fell behind; some player events were not mirrored");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                changed = shown.changed() => if changed.is_ok() {
                    let guilds: Vec<GuildId> = self.views.keys().copied().collect();
                    for guild in guilds {
                        self.adopt_shown(guild);
                    }
                },
                () = sleep_until(next_due) => self.flush_due().await,
            }
        }
    }

    fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::CallToChat {
            guild,
            caller,
            reason,
        } = event
        {
            // On its own task: a long call waits on the chat's lane, and the bridge must not.
            tokio::spawn(crate::call::send_call(
                Arc::clone(&self.bridge),
                self.pacer.clone(),
                self.token.clone(),
                *guild,
                caller.clone(),
                reason.clone(),
            ));
            return;
        }
        let now = Instant::now();
        let guild = event.guild();
        let answered = self.replies.answering(guild, now);
        let window = self.config.coalesce_window;
        let view = self.views.entry(guild).or_default();
        if view.apply(event, answered, self.config.track_stuck_after) && view.due.is_none() {
            view.due = Some(now + window);
        }
        self.adopt_shown(guild);
    }

    /// Makes a reply that shows the guild's current track the now-playing message.
    fn adopt_shown(&mut self, guild: GuildId) {
        let Some(view) = self.views.get_mut(&guild) else {
            return;
        };
        let Some(track) = view.track.as_ref().map(|track| track.id) else {
            return;
        };
        if let Some(shown) = self
            .replies
            .take_shown(guild, Instant::now(), |shown| shown.track == track)
        {
            // A reply that started the track shows it as it started (later changes still
            // need an edit); one about a track playing for a while shows the view as it is.
            let text = if view.new_track {
                view.started_text.clone()
            } else {
                None
            };
            let text = text.or_else(|| view.player_text()).unwrap_or_default();
            if let Some(previous) = view.message.take()
                && previous.1 != shown.message
            {
                view.retire(previous.0, previous.1);
                view.due.get_or_insert_with(Instant::now);
            }
            view.message = Some((shown.chat, shown.message, text));
            view.new_track = false;
        }
    }

    async fn flush_due(&mut self) {
        let now = Instant::now();
        let due: Vec<GuildId> = self
            .views
            .iter()
            .filter(|(_, view)| view.due.is_some_and(|at| at <= now))
            .map(|(guild, _)| *guild)
            .collect();
        for guild in due {
            if self.flush(guild).await {
                self.flushes.send_modify(|count| *count += 1);
            }
        }
    }

    /// Sends what is pending for `guild`; `false` when the chat's budget put it off.
    async fn flush(&mut self, guild: GuildId) -> bool {
        let chat = match self.bridge.link_of_guild(guild).await {
            Ok(Some(link)) => ChatId(link.chat.get()),
            Ok(None) => {
                // Not linked: keep the state, drop what would have been said.
                if let Some(view) = self.views.get_mut(&guild) {
                    view.notices.clear();
                    view.new_track = false;
                    view.unanswered = false;
                    view.due = None;
                    view.message = None;
                }
                return true;
            }
            Err(error) => {
                warn!(%guild, ?error, "could not look up the linked chat; retrying shortly");
                if let Some(view) = self.views.get_mut(&guild) {
                    view.due = Some(Instant::now() + Duration::from_secs(5));
                }
                return true;
            }
        };
        let now = Instant::now();
        if self.replies.running(guild) {
            // Its reply may become the now-playing message: wait for it.
            if let Some(view) = self.views.get_mut(&guild) {
                view.due = Some(now + self.config.coalesce_window);
            }
            return false;
        }
        self.adopt_shown(guild);
        if let Some(later) = self.pacer.busy_until(chat) {
            if let Some(view) = self.views.get_mut(&guild) {
                view.due = Some(later);
            }
            return false;
        }
        let Some(mut view) = self.views.remove(&guild) else {
            return true;
        };
        view.repeat = self.repeat_modes.get(guild);
        if view
            .message
            .as_ref()
            .is_some_and(|(message_chat, _, _)| *message_chat != chat)
        {
            view.message = None;
        }
        let outcome = self.send_view(chat, &mut view).await;
        match &outcome {
            Err(RequestError::RetryAfter(after)) => {
                // Telegram said "not now": nothing of the failed request arrived and the view
                // still holds it (send_view put it back), so the same changes go out once,
                // later, together with whatever comes meanwhile.
                debug!(%guild, retry_after = ?after.duration(), "Telegram asked the bridge to wait");
                view.due = Some(Instant::now() + after.duration());
            }
            Err(RequestError::MigrateToChatId(to)) => {
                self.follow_migration(chat, *to).await;
                view.message = None;
                view.notices.clear();
                view.new_track = false;
                view.unanswered = false;
                view.due = Some(Instant::now());
            }
            Err(error) => {
                warn!(%guild, error = %describe(error, &self.token), "could not mirror player events to Telegram");
                view.message = None;
                view.notices.clear();
                view.due = None;
                view.new_track = false;
                view.unanswered = false;
            }
            Ok(()) => {
                // A message this flush replaced is told it ended at the next one.
                view.due = (!view.retired.is_empty()).then(Instant::now);
                view.new_track = false;
                view.unanswered = false;
            }
        }
        self.views.insert(guild, view);
        true
    }

    async fn send_view(&mut self, chat: ChatId, view: &mut GuildView) -> Result<(), RequestError> {
        while let Some((message_chat, id, text)) = view.retired.first().cloned() {
            match self.edit(message_chat, id, &text, None).await {
                Err(error @ RequestError::RetryAfter(_)) => return Err(error),
                Err(error) => {
                    debug!(error = %describe(&error, &self.token), "could not mark an old now-playing message as ended");
                }
                Ok(()) => {}
            }
            view.retired.remove(0);
        }
        if !view.unanswered {
            // Replies told all of it: at most bring the now-playing message up to date.
            view.new_track = false;
            if view.message.is_none() {
                return Ok(());
            }
        }
        // On a failed request the view gets back what did not go out (the notices, the
        // message to edit), so a retry after Telegram's RetryAfter sends it exactly once.
        let notices = std::mem::take(&mut view.notices);
        let summary = view_notices(&notices);
        let player = view.player_text();
        match (player, view.message.take()) {
            (Some(player), previous) if view.new_track || previous.is_none() => {
                let text = match summary {
                    Some(summary) => format!("{summary}\n{player}"),
                    None => player.clone(),
                };
                match self
                    .send(chat, &text, Some((view.paused, view.repeat)))
                    .await
                {
                    Ok(Sent::Message(id)) => {
                        view.message = Some((chat, id, text));
                        self.set_now_playing_message(chat, Some(id));
                        if let Some(previous) = previous
                            && previous.1 != id
                        {
                            // Told at the next flush; a failure there does not resend this one.
                            view.retire(previous.0, previous.1);
                        }
                    }
                    Ok(Sent::Nothing) => {}
                    Err(error) => {
                        view.notices = notices;
                        view.message = previous;
                        return Err(error);
                    }
                }
            }
            (Some(player), Some((message_chat, id, shown))) => {
                if let Some(summary) = summary
                    && let Err(error) = self.send(chat, &summary, None).await
                {
                    view.notices = notices;
                    view.message = Some((message_chat, id, shown));
                    return Err(error);
                }
                let text = player;
                if text != shown
                    && let Err(error) = self
                        .edit(chat, id, &text, Some((view.paused, view.repeat)))
                        .await
                {
                    view.message = Some((message_chat, id, shown));
                    return Err(error);
                }
                view.message = Some((message_chat, id, text));
            }
            (None, Some((message_chat, id, shown))) => {
                let text = match (view.ended.take(), summary) {
                    (Some(ended), Some(summary)) => format!("{ended}\n{summary}"),
                    (Some(ended), None) => ended,
                    (None, Some(summary)) => summary,
                    (None, None) => "■ Nothing is playing".to_owned(),
                };
                if let Err(error) = self.edit(chat, id, &text, None).await {
                    view.notices = notices;
                    view.message = Some((message_chat, id, shown));
                    return Err(error);
                }
                self.set_now_playing_message(chat, None);
            }
            (None, None) => {
                if let Some(summary) = summary
                    && let Err(error) = self.send(chat, &summary, None).await
                {
                    view.notices = notices;
                    return Err(error);
                }
            }
            (Some(_), None) => unreachable!("matched by the first arm"),
        }
        Ok(())
    }

    fn set_now_playing_message(&self, chat: ChatId, message: Option<MessageId>) {
        let mut messages = self
            .now_playing_messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match message {
            Some(message) => messages.insert(chat, message),
            None => messages.remove(&chat),
        };
    }

    /// Sends `text` (split at Telegram's limit); the player keyboard, when `player` is given,
    /// goes on the last part, whose id is returned.
    async fn send(
        &mut self,
        chat: ChatId,
        text: &str,
        player: Option<(bool, Option<RepeatMode>)>,
    ) -> Result<Sent, RequestError> {
        let chunks = split_message(text);
        let last = chunks.len().saturating_sub(1);
        let mut sent = Sent::Nothing;
        for (index, chunk) in chunks.into_iter().enumerate() {
            let keyboard = player
                .filter(|_| index == last)
                .map(|(paused, repeat)| player_keyboard(paused, repeat));
            let delivered = self
                .pacer
                .send(chat, chunk, keyboard, Origin::Bridge)
                .await?;
            sent = Sent::Message(delivered.message);
        }
        Ok(sent)
    }

    async fn edit(
        &mut self,
        chat: ChatId,
        message: MessageId,
        text: &str,
        player: Option<(bool, Option<RepeatMode>)>,
    ) -> Result<(), RequestError> {
        // An edit cannot split: a now-playing text is far below the limit, but be safe.
        let text = split_message(text).into_iter().next().unwrap_or_default();
        let keyboard = player.map(|(paused, repeat)| player_keyboard(paused, repeat));
        self.pacer
            .edit(chat, message, text, keyboard, Origin::Bridge)
            .await
    }

    async fn follow_migration(&self, from: ChatId, to: ChatId) {
        let (Ok(from_id), Ok(to_id)) = (TelegramChatId::new(from.0), TelegramChatId::new(to.0))
        else {
            return;
        };
        debug!(%from_id, %to_id, "Telegram says the chat moved to a supergroup");
        if let Err(error) = self.bridge.migrate_chat(from_id, to_id).await {
            warn!(?error, "could not move the link of a migrated chat");
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use minstrel_domain::{Requester, SourceKind, TrackId};

    use super::*;

    #[test]
    fn a_stuck_track_and_a_lost_voice_connection_are_told_in_plain_words() {
        let guild = GuildId::new(1).unwrap();
        let track = Track {
            id: TrackId(1),
            title: "Radio".to_owned(),
            artist: None,
            duration: None,
            source_kind: SourceKind::Http,
            locator: "https://example.com/radio".to_owned(),
            thumbnail: None,
            requested_by: Requester::console(),
        };
        let stuck = DomainEvent::TrackEnded {
            guild,
            track,
            reason: EndReason::Stuck,
        };
        let default = MirrorConfig::default().track_stuck_after;
        let mut view = GuildView::default();
        assert!(view.apply(&stuck, false, default));
        assert!(view.apply(&DomainEvent::VoiceLost { guild, queued: 3 }, false, default));
        assert_eq!(
            view.notices,
            [
                "✖ Radio produced no audio for 10 s and was skipped",
                "⏏ Discord disconnected the bot from the voice channel; the queue was kept (3 tracks)",
            ]
        );
        let mut configured = GuildView::default();
        assert!(configured.apply(&stuck, false, Duration::from_millis(2500)));
        assert_eq!(
            configured.notices,
            ["✖ Radio produced no audio for 2.5 s and was skipped"],
            "the notice names the configured window, not the default"
        );
    }
}
