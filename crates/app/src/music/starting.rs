//! Starting the queue's current track, with the session unlocked while the player opens it.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{
    Advance, DomainEvent, FilterSpec, GuildId, HistoryEntry, RequesterId, Track, Volume,
};
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::autoplay::{Autoplayed, Autoplayer};
use super::{MusicPorts, MusicService, Session};
use crate::ports::OpenOptions;

impl MusicPorts {
    /// Plays the queue's current track; a track that fails to start is reported and the next
    /// one is tried. Returns the session again with the track that started, if any.
    ///
    /// The session is unlocked while the player opens the track: opening can take seconds (a
    /// slow source, a broken voice connection up to the player's deadline), and every other
    /// command of the guild answers meanwhile. A start that a later command replaced while it
    /// was opening (a skip, a stop, a leave) returns `None` and leaves the session to it.
    pub(super) async fn start_current(
        &self,
        guild: GuildId,
        session: OwnedMutexGuard<Session>,
    ) -> (OwnedMutexGuard<Session>, Option<Track>) {
        self.start_current_or_autoplay(guild, session, None).await
    }

    /// [`Self::start_current`]; when the queue has run out while playing, `autoplayer` may
    /// queue one related track first (once, so a related track that fails ends it).
    pub(super) async fn start_current_or_autoplay(
        &self,
        guild: GuildId,
        mut session: OwnedMutexGuard<Session>,
        mut autoplayer: Option<Autoplayer>,
    ) -> (OwnedMutexGuard<Session>, Option<Track>) {
        session.skip_votes.clear();
        // Every failed attempt removes a track and autoplay adds one at most, so this ends.
        loop {
            let Some(track) = session.queue.current().cloned() else {
                if session.state.is_active()
                    && let Some(autoplayer) = autoplayer.take()
                {
                    let outcome;
                    (session, outcome) = self.autoplay(guild, session, &autoplayer).await;
                    match outcome {
                        Autoplayed::Queued => continue,
                        Autoplayed::Replaced => return (session, None),
                        Autoplayed::Nothing => {}
                    }
                }
                if session.state.is_active() {
                    self.events.publish(DomainEvent::QueueFinished { guild });
                }
                session.state = session.state.queue_finished();
                return (session, None);
            };
            let start_at = session.queue.position();
            let options = OpenOptions::for_guild(&session.settings);
            let (volume, filters) = (session.volume, session.filters);
            session.start_seq = session.start_seq.wrapping_add(1);
            session.opening = true;
            let seq = session.start_seq;
            let slot = Arc::clone(OwnedMutexGuard::mutex(&session));
            drop(session);
            let result = self
                .player
                .play(guild, &track, start_at, volume, filters, options)
                .await;
            session = slot.lock_owned().await;
            if session.start_seq != seq {
                debug!(%guild, track = %track.display_title(), "a later command replaced this start");
                return (session, None);
            }
            session.opening = false;
            match result {
                Ok(()) => {
                    session.state = session.state.start();
                    info!(%guild, track = %track.display_title(), "track started");
                    self.catch_up_controls(guild, &session, volume, filters)
                        .await;
                    self.events.publish(DomainEvent::TrackStarted {
                        guild,
                        track: track.clone(),
                    });
                    if !std::mem::take(&mut session.resuming) {
                        self.record_history(guild, &track).await;
                    }
                    return (session, Some(track));
                }
                Err(error) => {
                    warn!(%guild, track = %track.display_title(), ?error, "track failed to start");
                    self.events.publish(DomainEvent::TrackFailed {
                        guild,
                        track,
                        reason: error.to_string(),
                    });
                    session.queue.advance(Advance::Skipped);
                }
            }
        }
    }

    /// A volume or filter change that came while the track was opening reached the session but
    /// not the new track: it is applied now.
    pub(super) async fn catch_up_controls(
        &self,
        guild: GuildId,
        session: &Session,
        volume: Volume,
        filters: FilterSpec,
    ) {
        if session.volume != volume
            && let Err(error) = self.player.set_volume(guild, session.volume).await
        {
            warn!(%guild, ?error, "could not apply the volume set while the track opened");
        }
        if session.filters != filters
            && let Err(error) = self.player.set_filters(guild, session.filters).await
        {
            warn!(%guild, ?error, "could not apply the filters set while the track opened");
        }
    }

    pub(super) async fn record_history(&self, guild: GuildId, track: &Track) {
        if !matches!(track.requested_by.id, RequesterId::Discord(_)) {
            return;
        }
        let entry = HistoryEntry {
            guild_id: guild,
            requester: track.requested_by.id.clone(),
            title: track.display_title(),
            locator: track.locator.clone(),
            duration: track.duration,
            played_at: self.clock.now(),
        };
        if let Err(error) = self.history.record(&[entry]).await {
            warn!(%guild, ?error, "could not record history");
        }
    }
}

/// How long a command waits for the track it starts before it answers with the track still
/// opening: a slow source or a broken voice connection must not hold the reply.
const START_REPLY_WAIT: Duration = Duration::from_millis(1500);

impl MusicService {
    /// Starts the queue's current track on a task of its own, which saves the queue when it
    /// is done; the event loop hands a finished track's successor to it and goes on at once.
    pub(super) fn spawn_start(
        &self,
        guild: GuildId,
        session: OwnedMutexGuard<Session>,
    ) -> JoinHandle<Option<Track>> {
        let ports = self.ports.clone();
        let autoplayer = self.autoplayer();
        tokio::spawn(async move {
            let (session, started) = ports
                .start_current_or_autoplay(guild, session, autoplayer)
                .await;
            ports.persist(guild, &session).await;
            started
        })
    }

    /// [`Self::spawn_start`], waiting up to [`START_REPLY_WAIT`] for the answer: the track
    /// that started, or the track still opening (the start goes on; if it fails, its
    /// `TrackFailed` event tells the guild).
    pub(super) async fn start_for_reply(
        &self,
        guild: GuildId,
        session: OwnedMutexGuard<Session>,
    ) -> Option<Track> {
        let opening = session.queue.current().cloned();
        let mut start = self.spawn_start(guild, session);
        match tokio::time::timeout(START_REPLY_WAIT, &mut start).await {
            Ok(Ok(started)) => started,
            Ok(Err(error)) => {
                warn!(%guild, %error, "the start of a track ended abnormally");
                None
            }
            Err(_) => {
                debug!(%guild, "answering while the track still opens");
                opening
            }
        }
    }
}
