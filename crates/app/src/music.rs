//! `MusicService`: the playback use cases of one bot (join, play, pause, skip, queue, …).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, SystemTime};

use minstrel_domain::{
    AddPosition, Advance, ChannelId, DomainEvent, EndReason, FilterSpec, GuildId, GuildSettings,
    HistoryEntry, PlaybackError, PlaybackState, Queue, RepeatMode, RequesterId, Track, TrackId,
    Volume, track::format_duration,
};
use rand::Rng;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::{debug, info, warn};

use crate::error::MusicError;
use crate::policy::{Action, Actor, RateLimit, authorize};
use crate::ports::{
    Clock, EventBus, HistoryRepo, OpenOptions, Player, PlayerEvent, PlayerEventKind, PlaylistRepo,
    ProgressSink, QueueSnapshot, QueueStore, SettingsRepo, TrackInfo, TrackResolver,
};

/// The adapters the music use cases work through.
#[derive(Clone)]
pub struct MusicPorts {
    pub resolver: Arc<dyn TrackResolver>,
    pub player: Arc<dyn Player>,
    pub settings: Arc<dyn SettingsRepo>,
    pub playlists: Arc<dyn PlaylistRepo>,
    pub history: Arc<dyn HistoryRepo>,
    pub queue_store: Arc<dyn QueueStore>,
    pub events: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
}

/// One guild's live state.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) queue: Queue,
    pub(crate) state: PlaybackState,
    pub(crate) volume: Volume,
    pub(crate) filters: FilterSpec,
    pub(crate) settings: GuildSettings,
    voice_channel: Option<ChannelId>,
    text_channel: Option<ChannelId>,
    skip_votes: HashSet<RequesterId>,
    /// The next start resumes a restored track: it was already recorded in history.
    resuming: bool,
    /// When the player was first seen with nothing playing, for the idle timeout.
    idle_since: Option<SystemTime>,
    /// The restored track and how many restarts brought it back unfinished, saved with the
    /// queue for the crash-loop guard (see [`MAX_RESTORED_STARTS`]).
    restored_attempts: Option<(TrackId, u32)>,
    /// Counts the starts and stops of the player, so a start that was opening with the session
    /// unlocked (see [`MusicService::start_current`]) knows on return whether a later command
    /// replaced it.
    start_seq: u64,
    /// The player is opening a track or seeking with the session unlocked.
    opening: bool,
}

impl Session {
    /// A start or seek under way is no longer wanted (a stop, a leave, a lost connection).
    fn supersede_opening(&mut self) {
        self.start_seq = self.start_seq.wrapping_add(1);
        self.opening = false;
    }
}

/// What `play` did.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayOutcome {
    /// The tracks that were queued, in order.
    pub queued: Vec<Track>,
    /// 0-based queue position of the first queued track, `None` when it started at once.
    pub position: Option<usize>,
    /// The track that started playing because the player was idle.
    pub started: Option<Track>,
    /// Tracks that did not fit in the queue.
    pub rejected: usize,
}

/// What `skip` did.
#[derive(Debug, Clone, PartialEq)]
pub struct SkipOutcome {
    pub skipped: Track,
    pub next: Option<Track>,
}

/// A vote to skip.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteOutcome {
    pub votes: usize,
    pub needed: usize,
    pub skipped: Option<SkipOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    pub track: Track,
    pub position: Duration,
    pub state: PlaybackState,
    pub volume: Volume,
    pub filters: FilterSpec,
    pub repeat: RepeatMode,
    pub upcoming: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    pub current: Option<Track>,
    /// 0-based positions and tracks of this page.
    pub items: Vec<(usize, Track)>,
    /// 1-based page number actually shown (clamped).
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub total_duration: Duration,
    pub repeat: RepeatMode,
}

/// The music use cases. Cheap to share: wrap in `Arc`.
pub struct MusicService {
    ports: MusicPorts,
    sessions: StdMutex<HashMap<GuildId, Arc<Mutex<Session>>>>,
    next_track_id: AtomicU64,
    rate_limit: RateLimit,
}

impl MusicService {
    pub fn new(ports: MusicPorts, rate_limit: RateLimit) -> Self {
        Self {
            ports,
            sessions: StdMutex::new(HashMap::new()),
            next_track_id: AtomicU64::new(1),
            rate_limit,
        }
    }

    pub(crate) fn ports(&self) -> &MusicPorts {
        &self.ports
    }

    /// What happens to every guild's player from now on (the event bus these use cases
    /// publish to), for front-ends that tell their users unasked.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<DomainEvent> {
        self.ports.events.subscribe()
    }

    pub(crate) async fn session(&self, guild: GuildId) -> Result<Arc<Mutex<Session>>, MusicError> {
        if let Some(session) = self.existing_session(guild) {
            return Ok(session);
        }
        let settings = self
            .ports
            .settings
            .guild(guild)
            .await?
            .unwrap_or_else(|| GuildSettings::new(guild));
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = sessions.entry(guild).or_insert_with(|| {
            Arc::new(Mutex::new(Session {
                queue: Queue::new(settings.max_queue()),
                state: PlaybackState::Idle,
                volume: settings.default_volume,
                filters: FilterSpec::default(),
                settings,
                voice_channel: None,
                text_channel: None,
                skip_votes: HashSet::new(),
                resuming: false,
                idle_since: None,
                restored_attempts: None,
                start_seq: 0,
                opening: false,
            }))
        });
        Ok(Arc::clone(session))
    }

    /// Every guild's session, taken out of the map so no lock is held while they are visited.
    fn all_sessions(&self) -> Vec<(GuildId, Arc<Mutex<Session>>)> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(guild, session)| (*guild, Arc::clone(session)))
            .collect()
    }

    fn existing_session(&self, guild: GuildId) -> Option<Arc<Mutex<Session>>> {
        let sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.get(&guild).cloned()
    }

    pub(crate) fn check_rate(&self, actor: &Actor) -> Result<(), MusicError> {
        self.rate_limit
            .check(&actor.requester.id)
            .map_err(|retry_after| MusicError::RateLimited { retry_after })
    }

    /// Checks the rate limit, locks the guild's session and checks `action` is allowed.
    async fn authorized(
        &self,
        guild: GuildId,
        actor: &Actor,
        action: Action,
    ) -> Result<OwnedMutexGuard<Session>, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?.lock_owned().await;
        authorize(actor, action, &session.settings, None)?;
        Ok(session)
    }

    fn new_track(&self, info: TrackInfo, actor: &Actor) -> Track {
        let id = TrackId(self.next_track_id.fetch_add(1, Ordering::Relaxed));
        info.into_track(id, actor.requester.clone())
    }

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
        session.text_channel = text_channel.or(session.text_channel);
        self.persist(guild, &session).await;
        Ok(())
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

    /// Resolves `query` and queues the result (`placement` End or Next). An empty query plays
    /// the guild's active playlist. Starts playback when the player is idle.
    pub async fn play(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
        placement: AddPosition,
    ) -> Result<PlayOutcome, MusicError> {
        self.play_reporting(guild, actor, query, placement, None)
            .await
    }

    /// [`MusicService::play`], telling `progress` how far loading a playlist got (page by
    /// page) so a front-end can show it while a long playlist loads.
    pub async fn play_reporting(
        &self,
        guild: GuildId,
        actor: &Actor,
        query: &str,
        placement: AddPosition,
        progress: Option<ProgressSink>,
    ) -> Result<PlayOutcome, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        authorize(actor, Action::Play, &session.lock().await.settings, None)?;
        let infos = self.resolve(guild, query, progress).await?;
        let tracks: Vec<Track> = infos
            .into_iter()
            .map(|info| self.new_track(info, actor))
            .collect();
        let mut session = session.lock_owned().await;
        let was_idle = session.queue.current().is_none();
        let (queued, first_index, rejected) = if tracks.len() == 1 {
            let index = session.queue.add(tracks[0].clone(), placement)?;
            (tracks, index, 0)
        } else {
            let (start, refused) = session.queue.add_all(tracks.iter().cloned(), placement);
            if refused.len() == tracks.len() {
                return Err(minstrel_domain::QueueError::Full {
                    max: session.queue.max_size(),
                }
                .into());
            }
            let kept = tracks.len() - refused.len();
            (tracks[..kept].to_vec(), start, refused.len())
        };
        let mut position = Some(first_index);
        for (offset, track) in queued.iter().enumerate() {
            self.ports.events.publish(DomainEvent::TrackQueued {
                guild,
                track: track.clone(),
                position: first_index + offset,
            });
        }
        let mut started = None;
        if was_idle {
            self.apply_user_defaults(actor, &mut session).await;
            session.queue.advance(Advance::Skipped);
            (session, started) = self.start_current(guild, session).await;
            if started
                .as_ref()
                .is_some_and(|track| track.id == queued[0].id)
            {
                position = None;
            }
        }
        self.persist(guild, &session).await;
        Ok(PlayOutcome {
            queued,
            position,
            started,
            rejected,
        })
    }

    async fn resolve(
        &self,
        guild: GuildId,
        query: &str,
        progress: Option<ProgressSink>,
    ) -> Result<Vec<TrackInfo>, MusicError> {
        let query = query.trim();
        if !query.is_empty() {
            let resolver = &self.ports.resolver;
            let infos = match progress {
                Some(progress) => resolver.resolve_with_progress(query, progress).await?,
                None => resolver.resolve(query).await?,
            };
            if infos.is_empty() {
                return Err(crate::ports::ResolveError::NotFound(query.to_owned()).into());
            }
            return Ok(infos);
        }
        let playlist = self
            .ports
            .playlists
            .active(guild)
            .await?
            .filter(|playlist| !playlist.entries.is_empty())
            .ok_or(MusicError::NoActivePlaylist)?;
        Ok(playlist
            .entries
            .into_iter()
            .map(|entry| TrackInfo {
                title: entry.title,
                artist: None,
                duration: entry.duration,
                source_kind: entry.source_kind,
                locator: entry.locator,
                thumbnail: None,
            })
            .collect())
    }

    /// A user who saved a default volume or preferred filters gets them when they start an
    /// idle player.
    async fn apply_user_defaults(&self, actor: &Actor, session: &mut Session) {
        let RequesterId::Discord(user) = actor.requester.id else {
            return;
        };
        match self.ports.settings.user(user).await {
            Ok(Some(settings)) => {
                // A saved personal volume wins over the server default, but not over a volume
                // somebody already set on this player.
                if settings.default_volume != Volume::DEFAULT
                    && session.volume == session.settings.default_volume
                {
                    session.volume = settings.default_volume;
                }
                let preferred = settings.preferred_spec();
                if !preferred.is_neutral() && session.filters.is_neutral() {
                    session.filters = preferred;
                }
            }
            Ok(None) => {}
            Err(error) => warn!(%user, ?error, "could not read user settings; using defaults"),
        }
    }

    /// Plays the queue's current track; a track that fails to start is reported and the next
    /// one is tried. Returns the session again with the track that started, if any.
    ///
    /// The session is unlocked while the player opens the track: opening can take seconds (a
    /// slow source, a broken voice connection up to the player's deadline), and every other
    /// command of the guild answers meanwhile. A start that a later command replaced while it
    /// was opening (a skip, a stop, a leave) returns `None` and leaves the session to it.
    async fn start_current(
        &self,
        guild: GuildId,
        mut session: OwnedMutexGuard<Session>,
    ) -> (OwnedMutexGuard<Session>, Option<Track>) {
        session.skip_votes.clear();
        // Every failed attempt removes a track, so this ends.
        loop {
            let Some(track) = session.queue.current().cloned() else {
                if session.state.is_active() {
                    self.ports
                        .events
                        .publish(DomainEvent::QueueFinished { guild });
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
                .ports
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
                    self.ports.events.publish(DomainEvent::TrackStarted {
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
                    self.ports.events.publish(DomainEvent::TrackFailed {
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
    async fn catch_up_controls(
        &self,
        guild: GuildId,
        session: &Session,
        volume: Volume,
        filters: FilterSpec,
    ) {
        if session.volume != volume
            && let Err(error) = self.ports.player.set_volume(guild, session.volume).await
        {
            warn!(%guild, ?error, "could not apply the volume set while the track opened");
        }
        if session.filters != filters
            && let Err(error) = self.ports.player.set_filters(guild, session.filters).await
        {
            warn!(%guild, ?error, "could not apply the filters set while the track opened");
        }
    }

    async fn record_history(&self, guild: GuildId, track: &Track) {
        if !matches!(track.requested_by.id, RequesterId::Discord(_)) {
            return;
        }
        let entry = HistoryEntry {
            guild_id: guild,
            requester: track.requested_by.id.clone(),
            title: track.display_title(),
            locator: track.locator.clone(),
            duration: track.duration,
            played_at: self.ports.clock.now(),
        };
        if let Err(error) = self.ports.history.record(&[entry]).await {
            warn!(%guild, ?error, "could not record history");
        }
    }

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
        let (session, _) = self.start_current(guild, session).await;
        self.persist(guild, &session).await;
    }

    /// The player lost its output for good (kicked out of the voice channel, channel deleted):
    /// no rejoin. The player's state for the guild is released, the current track goes back to
    /// the front of the queue and the queue is saved, so the next `play` or `join` carries on
    /// with it; listeners hear that playback stopped.
    async fn output_lost(&self, guild: GuildId, session: &mut Session, reason: &str) {
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

    async fn skip_locked(
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
        let (session, next) = self.start_current(guild, session).await;
        self.persist(guild, &session).await;
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
        let (session, started) = self.start_current(guild, session).await;
        self.persist(guild, &session).await;
        started.ok_or(MusicError::NothingPlaying)
    }

    /// Plays the previous track again.
    pub async fn previous(&self, guild: GuildId, actor: &Actor) -> Result<Track, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Previous).await?;
        session.queue.previous()?;
        let _ = self.ports.player.stop(guild).await;
        let (session, started) = self.start_current(guild, session).await;
        self.persist(guild, &session).await;
        started.ok_or(MusicError::NothingPlaying)
    }

    /// Stops playback and clears the queue; returns how many upcoming tracks were removed.
    pub async fn stop(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Stop).await?;
        self.stop_locked(guild, &mut session).await
    }

    async fn stop_locked(
        &self,
        guild: GuildId,
        session: &mut Session,
    ) -> Result<usize, MusicError> {
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
        // the session is unlocked meanwhile, as in `start_current`.
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

    /// Shuffles the upcoming tracks; returns how many were shuffled.
    pub async fn shuffle(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Shuffle).await?;
        if session.queue.is_empty() {
            return Err(minstrel_domain::QueueError::Empty.into());
        }
        {
            // `ThreadRng` is not `Send`: it must be gone before the next `.await`, or the
            // future cannot run on a multi-threaded runtime (teloxide's dispatcher).
            let mut rng = rand::rng();
            session
                .queue
                .shuffle_with(|below| rng.random_range(0..below));
        }
        self.persist(guild, &session).await;
        Ok(session.queue.len())
    }

    /// Removes the track at 0-based `index`. Members may remove their own tracks.
    pub async fn remove(
        &self,
        guild: GuildId,
        actor: &Actor,
        index: usize,
    ) -> Result<Track, MusicError> {
        self.check_rate(actor)?;
        let session = self.session(guild).await?;
        let mut session = session.lock().await;
        let target = session.queue.get(index).cloned();
        authorize(actor, Action::Remove, &session.settings, target.as_ref())?;
        let removed = session.queue.remove(index)?;
        self.persist(guild, &session).await;
        Ok(removed)
    }

    /// Moves a track between 0-based positions.
    pub async fn move_track(
        &self,
        guild: GuildId,
        actor: &Actor,
        from: usize,
        to: usize,
    ) -> Result<Track, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Move).await?;
        session.queue.move_track(from, to)?;
        let moved = session
            .queue
            .get(to)
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        self.persist(guild, &session).await;
        Ok(moved)
    }

    /// Removes every upcoming track (the current one keeps playing).
    pub async fn clear(&self, guild: GuildId, actor: &Actor) -> Result<usize, MusicError> {
        let mut session = self.authorized(guild, actor, Action::Clear).await?;
        let removed = session.queue.clear();
        self.persist(guild, &session).await;
        Ok(removed)
    }

    pub async fn now_playing(&self, guild: GuildId) -> Result<NowPlaying, MusicError> {
        let session = self.session(guild).await?;
        let session = session.lock().await;
        let track = session
            .queue
            .current()
            .cloned()
            .ok_or(MusicError::NothingPlaying)?;
        let position = self
            .ports
            .player
            .position(guild)
            .await
            .unwrap_or(session.queue.position());
        Ok(NowPlaying {
            track,
            position,
            state: session.state,
            volume: session.volume,
            filters: session.filters,
            repeat: session.queue.repeat(),
            upcoming: session.queue.len(),
        })
    }

    /// One page (1-based) of the upcoming tracks.
    pub async fn queue_page(
        &self,
        guild: GuildId,
        page: usize,
        per_page: usize,
    ) -> Result<QueuePage, MusicError> {
        let per_page = per_page.clamp(1, 50);
        let session = self.session(guild).await?;
        let session = session.lock().await;
        let total = session.queue.len();
        let pages = total.div_ceil(per_page).max(1);
        let page = page.clamp(1, pages);
        let items = session
            .queue
            .upcoming()
            .enumerate()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(index, track)| (index, track.clone()))
            .collect();
        Ok(QueuePage {
            current: session.queue.current().cloned(),
            items,
            page,
            pages,
            total,
            total_duration: session.queue.total_duration(),
            repeat: session.queue.repeat(),
        })
    }

    /// Current playback state of a guild (Idle for a guild never seen).
    pub async fn state(&self, guild: GuildId) -> PlaybackState {
        match self.existing_session(guild) {
            Some(session) => session.lock().await.state,
            None => PlaybackState::Idle,
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
    fn guard_restored_current(
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
            session.text_channel = snapshot.text_channel;
            if let Some(track) = session.queue.current() {
                // Counted and saved before it plays: if the process dies during it, the next
                // restore knows.
                session.restored_attempts = Some((track.id, attempts.saturating_add(1)));
                self.persist(guild, &session).await;
                session.resuming = true;
                (session, _) = self.start_current(guild, session).await;
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

    pub(crate) async fn persist(&self, guild: GuildId, session: &Session) {
        let snapshot = QueueSnapshot {
            guild,
            voice_channel: session.voice_channel,
            text_channel: session.text_channel,
            current: session.queue.current().cloned(),
            upcoming: session.queue.upcoming().cloned().collect(),
            position: session.queue.position(),
            repeat: session.queue.repeat(),
            filters: session.filters,
            volume: session.volume,
            paused: session.state == PlaybackState::Paused,
            updated_at: self.ports.clock.now(),
            // Once the restored track finished or was skipped, the count no longer applies.
            current_attempts: match (session.queue.current(), session.restored_attempts) {
                (Some(current), Some((restored, attempts))) if current.id == restored => attempts,
                _ => 0,
            },
        };
        if let Err(error) = self.ports.queue_store.save(&snapshot).await {
            warn!(%guild, ?error, "could not save the queue snapshot");
        }
    }
}

/// Restarts that may bring a track back unfinished before the crash-loop guard drops it: the
/// process died during it after each of them, so a third restore would most likely die again.
pub const MAX_RESTORED_STARTS: u32 = 2;

/// The notice for a track the crash-loop guard dropped.
const CRASH_LOOP_REASON: &str =
    "the bot stopped twice while playing it after a restart, so it was taken off the queue";

/// A track is still opening (or seeking): the player has nothing to pause or seek yet.
fn refuse_while_opening(session: &Session) -> Result<(), MusicError> {
    if session.opening {
        return Err(MusicError::StillOpening);
    }
    Ok(())
}

impl std::fmt::Debug for MusicService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MusicService")
            .finish_non_exhaustive()
    }
}
