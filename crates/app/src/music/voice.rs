//! Joining and leaving voice channels, and a voice connection lost for good.

use minstrel_domain::{ChannelId, DomainEvent, EndReason, GuildId, PlaybackError, PlaybackState};
use tracing::warn;

use super::{MusicService, Session};
use crate::error::MusicError;
use crate::policy::{Action, Actor, authorize};

impl MusicService {
    /// Connects the guild's player to a voice channel and remembers where replies go.
    pub async fn join(
        &self,
        guild: GuildId,
        actor: &Actor,
        voice_channel: ChannelId,
        text_channel: Option<ChannelId>,
    ) -> Result<(), MusicError> {
        // The session is not locked while the voice connection is made: a join can take
        // seconds, and every other command of the guild answers meanwhile.
        drop(self.authorized(guild, actor, Action::Join).await?);
        let joined = self.ports.player.join(guild, voice_channel).await;
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        if let Err(error) = joined {
            // The player has left again: nothing is connected, so the next join starts
            // afresh. The queue is kept.
            warn!(%guild, channel = %voice_channel, %error, "the voice join failed");
            // A move to another channel failed: the old connection is gone too.
            let moved = session.voice_channel.take().is_some();
            session.supersede_opening();
            if session.queue.requeue_current() {
                session.state = PlaybackState::Stopped;
            }
            if moved {
                self.persist(guild, &session).await;
            }
            return Err(error.into());
        }
        session.voice_channel = Some(voice_channel);
        session.last_voice_channel = Some(voice_channel);
        session.text_channel = text_channel.or(session.text_channel);
        self.persist(guild, &session).await;
        Ok(())
    }

    /// For a play asked from outside Discord (a linked Telegram chat), whose user is in no
    /// voice channel the bot could follow: joins the channel the player was last in since it
    /// started, or else the guild's default voice channel. Nothing to do while connected, or
    /// when the player plays without voice channels (a local output).
    pub async fn join_for_remote_play(
        &self,
        guild: GuildId,
        actor: &Actor,
    ) -> Result<(), MusicError> {
        let (connected, remembered, default) = {
            let session = self.session(guild).await?;
            let session = session.lock().await;
            (
                session.voice_channel.is_some(),
                session.last_voice_channel,
                session.settings.default_voice_channel,
            )
        };
        if connected || !self.needs_voice_channel {
            return Ok(());
        }
        let channel = remembered.or(default).ok_or(MusicError::NoVoiceChannel)?;
        self.join(guild, actor, channel, None).await
    }

    /// The voice channel the guild's player is connected to, `None` while it is in none (a
    /// join that failed or is still under way included).
    pub async fn voice_channel(&self, guild: GuildId) -> Option<ChannelId> {
        let session = self.existing_session(guild)?;
        session.lock().await.voice_channel
    }

    /// Stops playback, clears the queue and disconnects.
    pub async fn leave(&self, guild: GuildId, actor: &Actor) -> Result<(), MusicError> {
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        authorize(actor, Action::Leave, &session.settings, None)?;
        session.stop_loads();
        // Leaving an idle player is the common case (the queue ran out): still disconnect.
        match self.stop_locked(guild, &mut session).await {
            Ok(_) | Err(MusicError::Playback(PlaybackError::NothingPlaying)) => {}
            Err(error) => return Err(error),
        }
        session.supersede_opening();
        self.ports.player.leave(guild).await?;
        session.voice_channel = None;
        if let Err(error) = self.ports.queue_store.delete(guild).await {
            warn!(%guild, ?error, "could not delete the queue snapshot");
        }
        Ok(())
    }

    /// Leaves because nobody listens: playback stops, the current track goes back to the front
    /// of the queue and the queue is saved with no channel, so the next `join` or `play`
    /// carries on where it stopped. Returns how many tracks wait.
    pub async fn leave_keeping_queue(&self, guild: GuildId) -> Result<usize, MusicError> {
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        session.supersede_opening();
        session.stop_loads();
        if let Some(track) = session.queue.current().cloned() {
            self.ports.player.stop(guild).await?;
            self.ports.events.publish(DomainEvent::TrackEnded {
                guild,
                track,
                reason: EndReason::Stopped,
            });
        }
        self.ports.player.leave(guild).await?;
        session.queue.requeue_current();
        session.state = PlaybackState::Stopped;
        session.voice_channel = None;
        session.skip_votes.clear();
        session.idle_since = None;
        self.persist(guild, &session).await;
        Ok(session.queue.len())
    }

    /// The player lost its output for good (kicked out of the voice channel, channel deleted):
    /// no rejoin. The player's state for the guild is released, the current track goes back to
    /// the front of the queue and the queue is saved, so the next `play` or `join` carries on
    /// with it; listeners hear that playback stopped.
    pub(super) async fn output_lost(&self, guild: GuildId, session: &mut Session, reason: &str) {
        if let Err(error) = self.ports.player.leave(guild).await {
            warn!(%guild, ?error, "could not release the lost voice connection");
        }
        if let Some(track) = session.queue.current().cloned() {
            self.ports.events.publish(DomainEvent::TrackEnded {
                guild,
                track,
                reason: EndReason::Stopped,
            });
        }
        session.queue.requeue_current();
        self.ports.events.publish(DomainEvent::VoiceLost {
            guild,
            queued: session.queue.len(),
        });
        session.state = PlaybackState::Stopped;
        session.supersede_opening();
        session.voice_channel = None;
        session.skip_votes.clear();
        session.idle_since = None;
        warn!(
            %guild,
            reason,
            queued = session.queue.len(),
            "Discord ended the voice connection; not rejoining, the queue is saved"
        );
        self.persist(guild, session).await;
    }
}
