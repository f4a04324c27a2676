//! The player's events, checkpoints, the idle timer, and saving and restoring queues across restarts.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use minstrel_domain::{
    Advance, DomainEvent, EndReason, GuildId, GuildSettings, PlaybackState, Queue, Track,
};
use tracing::{debug, info, warn};

use super::{CRASH_LOOP_REASON, MAX_RESTORED_STARTS, MusicService};
use crate::error::MusicError;
use crate::ports::{PlayerEvent, PlayerEventKind, QueueSnapshot};

impl MusicService {
    /// Reacts to what the player reports: next track on finish, skip on failure or stall.
    pub async fn handle_player_event(&self, event: PlayerEvent) {
        let Some(session) = self.existing_session(event.guild) else {
            return;
        };
        let mut session = session.lock_owned().await;
        if let PlayerEventKind::Disconnected(reason) = &event.kind {
            self.output_lost(event.guild, &mut session, reason).await;
            return;
        }
        let Some(current) = session.queue.current().cloned() else {
            return;
        };
        if current.id != event.track {
            debug!(guild = %event.guild, "ignoring an event of a replaced track");
            return;
        }
        let guild = event.guild;
        let (reason, advance) = match event.kind {
            // A lost output was handled above, whichever track it names.
            PlayerEventKind::Started | PlayerEventKind::Disconnected(_) => return,
            PlayerEventKind::Finished => (EndReason::Finished, Advance::Finished),
            PlayerEventKind::Stuck => (EndReason::Stuck, Advance::Skipped),
            PlayerEventKind::Failed(reason) => {
                self.ports.events.publish(DomainEvent::TrackFailed {
                    guild,
                    track: current.clone(),
                    reason: reason.clone(),
                });
                (EndReason::Failed(reason), Advance::Skipped)
            }
        };
        self.ports.events.publish(DomainEvent::TrackEnded {
            guild,
            track: current,
            reason,
        });
        session.queue.advance(advance);
        // Bounded, so a slow open holds this guild's events for a moment, not every guild's.
        self.start_for_reply(guild, session).await;
    }

    /// Consumes the player's events until the player goes away. The composition root spawns it.
    /// Saves the queue and the position of every guild that is playing, so a crash loses at
    /// most the time since the last checkpoint. Returns how many guilds were saved.
    pub async fn checkpoint_playing(&self) -> usize {
        let sessions = self.all_sessions();
        let mut saved = 0;
        for (guild, session) in sessions {
            let mut session = session.lock().await;
            if session.state != PlaybackState::Playing {
                continue;
            }
            if let Some(position) = self.ports.player.position(guild).await {
                session.queue.set_position(position);
            }
            self.persist(guild, &session).await;
            saved += 1;
        }
        saved
    }

    /// Disconnects every guild whose player has had nothing to play (idle or stopped) for the
    /// guild's idle timeout, unless the guild stays 24/7. A paused player stays: somebody
    /// means to come back. The queue snapshot is kept. Returns how many guilds were left.
    pub async fn leave_idle_guilds(&self, now: SystemTime) -> usize {
        let sessions = self.all_sessions();
        let mut left = 0;
        for (guild, session) in sessions {
            let mut session = session.lock().await;
            let idle = matches!(session.state, PlaybackState::Idle | PlaybackState::Stopped);
            if !idle || session.voice_channel.is_none() || session.settings.stay_24_7 {
                session.idle_since = None;
                continue;
            }
            let since = *session.idle_since.get_or_insert(now);
            let idle_for = now.duration_since(since).unwrap_or_default();
            if idle_for < session.settings.idle_timeout() {
                continue;
            }
            match self.ports.player.leave(guild).await {
                Ok(()) => {
                    info!(%guild, idle_seconds = idle_for.as_secs(), "left the voice channel after the idle timeout");
                    session.voice_channel = None;
                    session.idle_since = None;
                    self.persist(guild, &session).await;
                    left += 1;
                }
                Err(error) => warn!(%guild, ?error, "could not leave an idle voice channel"),
            }
        }
        left
    }

    /// Every `every`, for as long as the task lives: saves the playing queues with their
    /// position ([`MusicService::checkpoint_playing`]) and leaves idle voice channels
    /// ([`MusicService::leave_idle_guilds`]).
    pub async fn run_checkpoints(self: Arc<Self>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick completes at once; nothing has played yet.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            self.checkpoint_playing().await;
            self.leave_idle_guilds(self.ports.clock.now()).await;
        }
    }

    pub async fn run_player_events(self: Arc<Self>) {
        let mut events = self.ports.player.events();
        loop {
            match events.recv().await {
                Ok(event) => self.handle_player_event(event).await,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "player events were dropped; the queue may need a skip"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Applies changed guild settings to a live session.
    pub(crate) async fn refresh_settings(&self, settings: GuildSettings) {
        if let Some(session) = self.existing_session(settings.guild_id) {
            let mut session = session.lock().await;
            session.queue.set_max_size(settings.max_queue());
            session.settings = settings;
        }
    }

    /// Saves every queue for a clean stop: the process did not die during the current tracks,
    /// so their crash-loop counts go back to 0, then the playing positions are checkpointed
    /// ([`Self::checkpoint_playing`]). Returns how many playing guilds were saved.
    pub async fn checkpoint_at_shutdown(&self) -> usize {
        for (guild, session) in self.all_sessions() {
            let mut session = session.lock().await;
            if session.restored_attempts.take().is_some() {
                self.persist(guild, &session).await;
            }
        }
        self.checkpoint_playing().await
    }

    /// The crash-loop guard: a saved current track that restarts already brought back
    /// [`MAX_RESTORED_STARTS`] times without it finishing is dropped with a notice (the
    /// process most likely died because of it), and the next track takes its place. Returns
    /// the current track, the upcoming ones, the position and the current track's count.
    pub(super) fn guard_restored_current(
        &self,
        snapshot: &QueueSnapshot,
    ) -> (Option<Track>, Vec<Track>, Duration, u32) {
        let mut upcoming = snapshot.upcoming.clone();
        match &snapshot.current {
            Some(track) if snapshot.current_attempts >= MAX_RESTORED_STARTS => {
                let guild = snapshot.guild;
                warn!(
                    %guild,
                    track = %track.display_title(),
                    restarts = snapshot.current_attempts,
                    "dropped the restored track: the bot stopped while playing it every time it came back"
                );
                self.ports.events.publish(DomainEvent::TrackFailed {
                    guild,
                    track: track.clone(),
                    reason: CRASH_LOOP_REASON.to_owned(),
                });
                let next = (!upcoming.is_empty()).then(|| upcoming.remove(0));
                (next, upcoming, Duration::ZERO, 0)
            }
            current => (
                current.clone(),
                upcoming,
                snapshot.position,
                snapshot.current_attempts,
            ),
        }
    }

    /// Brings back every saved queue: rejoins the voice channel and resumes the current track
    /// at its saved position. Returns how many guilds were restored.
    pub async fn restore_all(&self) -> Result<usize, MusicError> {
        self.restore_owned(|_| true).await
    }

    /// As [`Self::restore_all`], for the guilds `owned` accepts only: a process of a sharded
    /// deployment brings back the queues of its own shards, and leaves the others' to them.
    pub async fn restore_owned(
        &self,
        owned: impl Fn(GuildId) -> bool + Send + Sync,
    ) -> Result<usize, MusicError> {
        let snapshots = self.ports.queue_store.load_all().await?;
        let mut restored = 0;
        for snapshot in snapshots {
            let guild = snapshot.guild;
            if !owned(guild) {
                continue;
            }
            let highest = snapshot
                .current
                .iter()
                .chain(&snapshot.upcoming)
                .map(|track| track.id.0)
                .max()
                .unwrap_or(0);
            self.next_track_id.fetch_max(highest + 1, Ordering::Relaxed);
            let (saved_current, saved_upcoming, saved_position, attempts) =
                self.guard_restored_current(&snapshot);
            let session = self.session(guild).await?;
            let mut session = session.lock_owned().await;
            if session.queue.current().is_some() || !session.queue.is_empty() {
                // Somebody played here between start-up and the restore (with Discord the
                // restore waits for READY): what they asked for wins over the snapshot.
                info!(%guild, "kept the queue started since start-up instead of the saved one");
                continue;
            }
            let rejoined = match snapshot.voice_channel {
                Some(channel) => match self.ports.player.join(guild, channel).await {
                    Ok(()) => true,
                    Err(error) => {
                        warn!(%guild, ?error, "could not rejoin the voice channel; queue kept");
                        false
                    }
                },
                None => true,
            };
            let (current, upcoming, position) = if rejoined {
                (saved_current, saved_upcoming, saved_position)
            } else {
                // Not connected: keep every track queued, the current one first, so the next
                // `play` or `join` picks it up instead of a track that never starts.
                let upcoming = saved_current.into_iter().chain(saved_upcoming).collect();
                (None, upcoming, Duration::ZERO)
            };
            session.queue = Queue::restore(
                session.settings.max_queue(),
                current,
                upcoming,
                snapshot.repeat,
                position,
            );
            session.volume = snapshot.volume;
            session.filters = snapshot.filters;
            session.voice_channel = snapshot.voice_channel;
            session.last_voice_channel = snapshot.voice_channel;
            session.text_channel = snapshot.text_channel;
            if let Some(track) = session.queue.current() {
                // Counted and saved before it plays: if the process dies during it, the next
                // restore knows.
                session.restored_attempts = Some((track.id, attempts.saturating_add(1)));
                self.persist(guild, &session).await;
                session.resuming = true;
                (session, _) = self.ports.start_current(guild, session).await;
                if snapshot.paused
                    && session.state == PlaybackState::Playing
                    && self.ports.player.pause(guild).await.is_ok()
                {
                    session.state = PlaybackState::Paused;
                }
            }
            restored += 1;
        }
        Ok(restored)
    }
}
