//! Transport controls: pause, resume, skip (and vote skip), previous, stop, seek, volume, repeat.

use std::sync::Arc;
use std::time::Duration;

use minstrel_domain::{
    Advance, DomainEvent, EndReason, GuildId, PlaybackError, PlaybackState, RepeatMode, Track,
    Volume, track::format_duration,
};
use tokio::sync::OwnedMutexGuard;
use tracing::warn;

use super::{MusicService, Session, SkipOutcome, VoteOutcome, refuse_while_opening};
use crate::error::MusicError;
use crate::policy::{Action, Actor, authorize};

impl MusicService {
    pub async fn pause(&self, guild: GuildId, actor: &Actor) -> Result<(), MusicError> {
        let mut session = self.authorized(guild, actor, Action::Pause).await?;
        refuse_while_opening(&session)?;
        let next = session.state.pause()?;
        self.ports.player.pause(guild).await?;
        session.state = next;
        if let Some(position) = self.ports.player.position(guild).await {
            session.queue.set_position(position);
        }
        self.ports.events.publish(DomainEvent::Paused { guild });
        self.persist(guild, &session).await;
        Ok(())
    }

    pub async fn resume(&self, guild: GuildId, actor: &Actor) -> Result<(), MusicError> {
        let mut session = self.authorized(guild, actor, Action::Resume).await?;
        refuse_while_opening(&session)?;
        let next = session.state.resume()?;
        self.ports.player.resume(guild).await?;
        session.state = next;
        self.ports.events.publish(DomainEvent::Resumed { guild });
        self.persist(guild, &session).await;
        Ok(())
    }

    /// Skips the current track. Members without the DJ role may skip their own tracks.
    pub async fn skip(&self, guild: GuildId, actor: &Actor) -> Result<SkipOutcome, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        let session = session.lock_owned().await;
        let current = session
            .queue
            .current()
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        authorize(actor, Action::Skip, &session.settings, Some(&current))?;
        Ok(self.skip_locked(guild, session, current).await)
    }

    pub(super) async fn skip_locked(
        &self,
        guild: GuildId,
        mut session: OwnedMutexGuard<Session>,
        current: Track,
    ) -> SkipOutcome {
        if let Err(error) = self.ports.player.stop(guild).await {
            warn!(%guild, ?error, "stopping the skipped track failed");
        }
        self.ports.events.publish(DomainEvent::Skipped {
            guild,
            track: current.clone(),
        });
        self.ports.events.publish(DomainEvent::TrackEnded {
            guild,
            track: current.clone(),
            reason: EndReason::Skipped,
        });
        session.queue.advance(Advance::Skipped);
        let next = self.start_for_reply(guild, session).await;
        SkipOutcome {
            skipped: current,
            next,
        }
    }

    /// Adds `actor`'s vote to skip; skips once the guild's ratio of `listeners` is reached.
    pub async fn vote_skip(
        &self,
        guild: GuildId,
        actor: &Actor,
        listeners: usize,
    ) -> Result<VoteOutcome, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        let mut session = session.lock_owned().await;
        let current = session
            .queue
            .current()
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        if !session.skip_votes.insert(actor.requester.id.clone()) {
            return Err(MusicError::AlreadyVoted);
        }
        let votes = session.skip_votes.len();
        let needed = session.settings.votes_needed(listeners);
        let skipped = if votes >= needed {
            Some(self.skip_locked(guild, session, current).await)
        } else {
            None
        };
        Ok(VoteOutcome {
            votes,
            needed,
            skipped,
        })
    }

    /// Jumps to the 0-based queue position `index`.
    pub async fn skip_to(
        &self,
        guild: GuildId,
        actor: &Actor,
        index: usize,
    ) -> Result<Track, MusicError> {
        let mut session = self.authorized(guild, actor, Action::SkipTo).await?;
        if index >= session.queue.len() {
            return Err(minstrel_domain::QueueError::NoSuchIndex {
                index,
                len: session.queue.len(),
            }
            .into());
        }
        if let Some(current) = session.queue.current().cloned() {
            let _ = self.ports.player.stop(guild).await;
            self.ports.events.publish(DomainEvent::TrackEnded {
                guild,
                track: current,
                reason: EndReason::Skipped,
            });
        }
        session.queue.skip_to(index)?;
        let started = self.start_for_reply(guild, session).await;
        started.ok_or(MusicError::NothingPlaying)
    }

    /// Plays the previous track again.
    pub async fn previous(&self, guild: GuildId, actor: &Actor) -> Result<Track, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Previous).await?;
        session.queue.previous()?;
        let _ = self.ports.player.stop(guild).await;
        let started = self.start_for_reply(guild, session).await;
        started.ok_or(MusicError::NothingPlaying)
    }

    /// Stops playback and clears the queue; returns how many upcoming tracks were removed.
    pub async fn stop(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Stop).await?;
        self.stop_locked(guild, &mut session).await
    }

    pub(super) async fn stop_locked(
        &self,
        guild: GuildId,
        session: &mut Session,
    ) -> Result<usize, MusicError> {
        session.stop_loads();
        let Some(current) = session.queue.current().cloned() else {
            if session.queue.is_empty() {
                return Err(PlaybackError::NothingPlaying.into());
            }
            let removed = session.queue.clear();
            self.persist(guild, session).await;
            return Ok(removed);
        };
        self.ports.player.stop(guild).await?;
        session.supersede_opening();
        let removed = session.queue.stop();
        session.state = session.state.stop().unwrap_or(PlaybackState::Stopped);
        self.ports.events.publish(DomainEvent::TrackEnded {
            guild,
            track: current,
            reason: EndReason::Stopped,
        });
        self.persist(guild, session).await;
        Ok(removed)
    }

    pub async fn seek(
        &self,
        guild: GuildId,
        actor: &Actor,
        position: Duration,
    ) -> Result<(), MusicError> {
        let mut session = self.authorized(guild, actor, Action::Seek).await?;
        let current = session
            .queue
            .current()
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        if let Some(duration) = current.duration
            && position >= duration
        {
            return Err(MusicError::SeekPastEnd(format_duration(duration)));
        }
        refuse_while_opening(&session)?;
        // The player reopens the track at the position, which can take as long as a start:
        // the session is unlocked meanwhile, as in `MusicPorts::start_current`.
        session.start_seq = session.start_seq.wrapping_add(1);
        session.opening = true;
        let seq = session.start_seq;
        let slot = Arc::clone(OwnedMutexGuard::mutex(&session));
        drop(session);
        let sought = self.ports.player.seek(guild, position).await;
        let mut session = slot.lock_owned().await;
        if session.start_seq != seq {
            // A skip, stop or leave came first: the seek no longer matters.
            return Ok(());
        }
        session.opening = false;
        sought?;
        session.queue.set_position(position);
        self.ports
            .events
            .publish(DomainEvent::Seeked { guild, position });
        self.persist(guild, &session).await;
        Ok(())
    }

    /// Sets the volume in percent (0–200).
    pub async fn set_volume(
        &self,
        guild: GuildId,
        actor: &Actor,
        percent: i64,
    ) -> Result<Volume, MusicError> {
        self.check_rate(actor)?;
        let volume = Volume::new(percent)?;
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        authorize(actor, Action::Volume, &session.settings, None)?;
        if session.queue.current().is_some() {
            self.ports.player.set_volume(guild, volume).await?;
        }
        session.volume = volume;
        self.ports
            .events
            .publish(DomainEvent::VolumeChanged { guild, volume });
        self.persist(guild, &session).await;
        Ok(volume)
    }

    pub async fn set_repeat(
        &self,
        guild: GuildId,
        actor: &Actor,
        mode: RepeatMode,
    ) -> Result<(), MusicError> {
        let mut session = self.authorized(guild, actor, Action::Repeat).await?;
        session.queue.set_repeat(mode);
        self.persist(guild, &session).await;
        Ok(())
    }
}
