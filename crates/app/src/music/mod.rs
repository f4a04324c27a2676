//! `MusicService`: the playback use cases of one bot (join, play, pause, skip, queue, …).
//!
//! This module holds the service, a guild's session and what the use cases answer; the use
//! cases are grouped by what they do: [`voice`] (join, leave), [`queueing`] (play and the
//! queue's commands), [`transport`] (pause, skip, seek, …), [`starting`] (starting the current
//! track), [`autoplay`] (a related track when the queue runs out), [`loading`] (the rest of
//! a long playlist, loaded in the background) and [`lifecycle`] (the player's events,
//! checkpoints, restore).

mod autoplay;
mod lifecycle;
mod loading;
mod queueing;
mod starting;
mod transport;
mod voice;

pub use autoplay::AUTOPLAY_REQUESTER_NAME;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::SystemTime;

use minstrel_domain::{
    ChannelId, DomainEvent, FilterSpec, GuildId, GuildSettings, PlaybackState, Queue, Requester,
    RequesterId, Track, TrackId, Volume,
};
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::warn;

use crate::error::MusicError;
use crate::policy::{Action, Actor, RateLimit, authorize};
use crate::ports::{
    Clock, EventBus, HistoryRepo, Player, PlaylistRepo, QueueSnapshot, QueueStore, RelatedTracks,
    SettingsRepo, TrackInfo, TrackResolver,
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
    /// unlocked (see [`MusicPorts::start_current`]) knows on return whether a later command
    /// replaced it.
    start_seq: u64,
    /// The voice channel the player was last connected to since the process started (or
    /// restored), kept after a leave: a play from a linked Telegram chat joins it again.
    last_voice_channel: Option<ChannelId>,
    /// The player is opening a track or seeking with the session unlocked.
    opening: bool,
    /// Counts the stops and leaves: a playlist still loading in the background appends only
    /// while it is the count its play saw (see [`loading`]).
    loads: u64,
}

impl Session {
    /// A start or seek under way is no longer wanted (a stop, a leave, a lost connection).
    fn supersede_opening(&mut self) {
        self.start_seq = self.start_seq.wrapping_add(1);
        self.opening = false;
    }

    /// The playlists still loading in the background are no longer wanted (a stop, a leave).
    fn stop_loads(&mut self) {
        self.loads = self.loads.wrapping_add(1);
    }
}

pub use crate::vocabulary::{NowPlaying, PlayOutcome, QueuePage, SkipOutcome, VoteOutcome};

/// The music use cases. Cheap to share: wrap in `Arc`.
pub struct MusicService {
    ports: MusicPorts,
    sessions: StdMutex<HashMap<GuildId, Arc<Mutex<Session>>>>,
    /// Shared with autoplay, which queues tracks from the player's start task.
    next_track_id: Arc<AtomicU64>,
    rate_limit: RateLimit,
    /// Where autoplay finds related tracks; `None` turns autoplay off for every guild.
    related: Option<Arc<dyn RelatedTracks>>,
    /// The player plays into voice channels (Discord), so it must be in one to play; a local
    /// output plays without.
    needs_voice_channel: bool,
}

impl MusicPorts {
    /// Saves the guild's queue snapshot (a failure is logged: playback goes on).
    pub(super) async fn persist(&self, guild: GuildId, session: &Session) {
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
            updated_at: self.clock.now(),
            // Once the restored track finished or was skipped, the count no longer applies.
            current_attempts: match (session.queue.current(), session.restored_attempts) {
                (Some(current), Some((restored, attempts))) if current.id == restored => attempts,
                _ => 0,
            },
        };
        if let Err(error) = self.queue_store.save(&snapshot).await {
            warn!(%guild, ?error, "could not save the queue snapshot");
        }
    }
}

impl MusicService {
    pub fn new(ports: MusicPorts, rate_limit: RateLimit) -> Self {
        Self {
            ports,
            sessions: StdMutex::new(HashMap::new()),
            next_track_id: Arc::new(AtomicU64::new(1)),
            rate_limit,
            related: None,
            needs_voice_channel: false,
        }
    }

    /// Lets autoplay queue a track from `related` when a guild's queue runs out and the
    /// requester of the last track turned autoplay on.
    #[must_use]
    pub fn with_related_tracks(mut self, related: Arc<dyn RelatedTracks>) -> Self {
        self.related = Some(related);
        self
    }

    /// The player plays into voice channels: a play from outside Discord joins one first
    /// (see [`MusicService::join_for_remote_play`]).
    #[must_use]
    pub fn with_voice_channels(mut self) -> Self {
        self.needs_voice_channel = true;
        self
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
                last_voice_channel: None,
                start_seq: 0,
                opening: false,
                loads: 0,
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
        new_track(&self.next_track_id, info, &actor.requester)
    }

    pub(crate) async fn persist(&self, guild: GuildId, session: &Session) {
        self.ports.persist(guild, session).await;
    }
}

/// `info` queued by `requester`, with the next track id.
fn new_track(next_track_id: &AtomicU64, info: TrackInfo, requester: &Requester) -> Track {
    let id = TrackId(next_track_id.fetch_add(1, Ordering::Relaxed));
    info.into_track(id, requester.clone())
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
