//! [`SongbirdPlayer`]: the `Player` port on Discord voice (songbird 0.6, DAVE-capable).
//!
//! Each track is opened through the `AudioOpener` port, run through the guild's dsp chain and
//! handed to songbird as raw interleaved `f32` PCM ([`RawAdapter`]); songbird encodes Opus,
//! encrypts and sends it. Decoding happens on a reading thread per track and filtering on
//! songbird's mixer thread as it pulls audio, never in an async task. Filter and volume changes go through the chain's
//! [`FilterControl`] and land within a block; a seek reopens the track at the new position,
//! which also resets filter state.
//!
//! The gateway side feeds songbird through [`SongbirdPlayer::shards_started`] and
//! [`SongbirdPlayer::process`]: songbird needs every shard's sender to ask Discord for a voice
//! connection, and the voice state and server updates of every shard.
//!
//! A track is read on its own thread, never in songbird's mixer (one mixer thread plays up to
//! 16 guilds): a stalled stream costs its own guild silence, and after the stuck window
//! (10 s by default) it is ended and reported `Stuck`. A voice session songbird gives up on
//! though Discord would take the guild back (close 4006, a failed resume) is renewed by
//! asking the gateway again; 4014 and 4022 are left alone and reported `Disconnected`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, Player, PlayerError, PlayerEvent, PlayerEventKind,
};
use minstrel_domain::{ChannelId, FilterSpec, GuildId, Track, TrackId, Volume};
use minstrel_dsp::{FilterChain, FilterControl};
use songbird::events::context_data::{DisconnectKind, DisconnectReason};
use songbird::events::{CoreEvent, Event, EventContext, EventHandler, TrackEvent};
use songbird::input::core::io::MediaSource;
use songbird::input::{Input, RawAdapter};
use songbird::model::CloseCode as VoiceCloseCode;
use songbird::shards::TwilightMap;
use songbird::tracks::TrackHandle;
use songbird::{Config, Songbird};
use tokio::sync::{Notify, broadcast};
use tracing::{debug, info, warn};
use twilight_gateway::{Event as GatewayEvent, MessageSender};

use crate::local::DEFAULT_STUCK_AFTER;
use crate::local::decoder::{Decoded, Feed};
use crate::metrics::{DspTimer, VOICE_RECONNECTS};

const RATE: u32 = 48_000;
const CHANNELS: usize = 2;
/// Samples decoded per pull from the track (20 ms of stereo).
const BLOCK_SAMPLES: usize = 960 * CHANNELS;
/// How long opening a track may take (a web source may be slow to answer).
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a position query waits for songbird's mixer.
const POSITION_DEADLINE: Duration = Duration::from_millis(300);

/// What plays in one guild now.
struct Playing {
    handle: TrackHandle,
    track: Track,
    /// Where the audio handed to songbird started in the track.
    offset: Duration,
    control: FilterControl,
    /// How the track was opened, so a seek reopens it the same way.
    options: OpenOptions,
    generation: u64,
}

/// Plays into Discord voice channels through songbird.
pub struct SongbirdPlayer {
    opener: Arc<dyn AudioOpener>,
    shards: Mutex<Option<Arc<TwilightMap>>>,
    songbird: OnceLock<Arc<Songbird>>,
    playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    generation: AtomicU64,
    /// The latest start, seek or stop asked for in each guild (a number from `generation`).
    /// Opening a track takes time; a request that a later one replaced meanwhile ends without
    /// playing, so a slow open never replaces the track asked for after it.
    latest: Mutex<HashMap<GuildId, u64>>,
    events: broadcast::Sender<PlayerEvent>,
    /// Guilds whose `Call` has a [`ConnectionWatcher`]: songbird keeps one `Call` per guild
    /// across joins, and a second watcher would count every reconnect twice.
    watched: Mutex<HashSet<GuildId>>,
    /// How long a playing track may yield no audio before it is ended as stuck.
    stuck_after: Duration,
}

impl std::fmt::Debug for SongbirdPlayer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SongbirdPlayer")
            .field("connected", &self.songbird.get().is_some())
            .finish_non_exhaustive()
    }
}

/// Songbird's configuration: its defaults, except that a busy mixer thread does not hand one
/// of its calls to another thread.
///
/// songbird 0.6.1 decides that hand-over between building a tick's packets and sending them,
/// and the `swap_remove` it does then leaves the call moved into the freed slot with its own
/// RTP header over the ciphertext of the call that left: that packet, sealed with another
/// session's key, cannot be decrypted (`scheduler/live.rs`, `offload_mixer` called from
/// `run_once`; the three-guild voice e2e test covers it). Calls still start
/// on a new thread once one holds 16, and each call costs a small part of the 20 ms tick, so
/// the hand-over buys little and its cost is a lost packet in two guilds.
///
/// A driver connection is retried [`DRIVER_RETRIES`] times (songbird's default is 5, whose
/// back-off runs past the join deadline): an unreachable voice server then fails the join
/// with its real cause within a couple of seconds, and a connection lost mid-track that
/// songbird gives up on is rejoined by the [`ConnectionWatcher`].
fn songbird_config() -> Config {
    let mut scheduler = songbird::driver::SchedulerConfig::default();
    scheduler.move_expensive_tasks = false;
    let retry = songbird::driver::retry::Retry {
        retry_limit: std::num::NonZeroU8::new(DRIVER_RETRIES),
        ..songbird::driver::retry::Retry::default()
    };
    Config::default()
        .scheduler(songbird::driver::Scheduler::new(scheduler))
        .driver_retry(retry)
}

/// Driver connection attempts after the first (0.25 s, 0.5 s and 1 s apart).
const DRIVER_RETRIES: u8 = 3;

fn songbird_guild(guild: GuildId) -> Result<songbird::id::GuildId, PlayerError> {
    std::num::NonZeroU64::new(guild.get())
        .map(songbird::id::GuildId::from)
        .ok_or_else(|| PlayerError::Internal(format!("guild id {guild} is zero")))
}

impl SongbirdPlayer {
    pub fn new(opener: Arc<dyn AudioOpener>) -> Self {
        let (events, _) = broadcast::channel(256);
        Self {
            opener,
            shards: Mutex::new(None),
            songbird: OnceLock::new(),
            playing: Arc::new(Mutex::new(HashMap::new())),
            generation: AtomicU64::new(1),
            latest: Mutex::new(HashMap::new()),
            events,
            watched: Mutex::new(HashSet::new()),
            stuck_after: DEFAULT_STUCK_AFTER,
        }
    }

    /// Changes how long a playing track may yield no audio before it is reported `Stuck` and
    /// ended (default 10 s). Pausing does not count.
    #[must_use]
    pub fn with_stuck_after(mut self, stuck_after: Duration) -> Self {
        self.stuck_after = stuck_after;
        self
    }

    /// The gateway's shards exist: songbird sends voice state updates through them.
    pub fn shards_started(&self, senders: HashMap<u32, MessageSender>) {
        *self
            .shards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Arc::new(TwilightMap::new(senders)));
    }

    /// Hands a gateway event to songbird; READY also creates it (it needs the bot's user id).
    pub async fn process(&self, event: &GatewayEvent) {
        if let GatewayEvent::Ready(ready) = event
            && self.songbird.get().is_none()
        {
            let shards = self
                .shards
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(shards) = shards {
                let songbird =
                    Songbird::twilight_from_config(shards, ready.user.id, songbird_config());
                if self.songbird.set(Arc::new(songbird)).is_ok() {
                    info!("Discord voice ready");
                }
            } else {
                warn!("READY arrived before the shards were handed over; voice stays off");
            }
        }
        if let Some(songbird) = self.songbird.get() {
            songbird.process(event).await;
        }
    }

    fn songbird(&self) -> Result<&Arc<Songbird>, PlayerError> {
        self.songbird.get().ok_or_else(|| {
            PlayerError::Failed(
                "voice is not connected to Discord yet; try again in a moment".to_owned(),
            )
        })
    }

    /// Records a new request for the guild, replacing any before it; returns its number.
    fn request(&self, guild: GuildId) -> u64 {
        let request = self.generation.fetch_add(1, Ordering::Relaxed);
        self.lock_latest().insert(guild, request);
        request
    }

    fn is_latest(&self, guild: GuildId, request: u64) -> bool {
        self.lock_latest().get(&guild) == Some(&request)
    }

    fn lock_latest(&self) -> std::sync::MutexGuard<'_, HashMap<GuildId, u64>> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_playing(&self) -> std::sync::MutexGuard<'_, HashMap<GuildId, Playing>> {
        self.playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn with_playing<T>(
        &self,
        guild: GuildId,
        action: impl FnOnce(&Playing) -> T,
    ) -> Result<T, PlayerError> {
        self.lock_playing()
            .get(&guild)
            .map(action)
            .ok_or(PlayerError::NothingPlaying)
    }

    async fn start(
        &self,
        guild: GuildId,
        track: &Track,
        start_at: Duration,
        control: FilterControl,
        options: OpenOptions,
    ) -> Result<(), PlayerError> {
        let songbird = self.songbird()?;
        let call = songbird
            .get(songbird_guild(guild)?)
            .ok_or(PlayerError::NotConnected)?;
        let generation = self.request(guild);
        let opener = Arc::clone(&self.opener);
        let opened_track = track.clone();
        let open =
            tokio::task::spawn_blocking(move || opener.open(&opened_track, start_at, options));
        let stream = match tokio::time::timeout(OPEN_TIMEOUT, open).await {
            Ok(Ok(Ok(stream))) => stream,
            Ok(Ok(Err(error))) => return Err(PlayerError::Failed(error.to_string())),
            Ok(Err(join)) => return Err(PlayerError::Internal(join.to_string())),
            Err(_) => {
                return Err(PlayerError::Failed(
                    "the track took too long to open".to_owned(),
                ));
            }
        };
        if !self.is_latest(guild, generation) {
            // A later start, seek, stop or leave came while this track opened: it wins.
            debug!(%guild, track = %track.display_title(), "dropped an opened track a later request replaced");
            return Ok(());
        }
        let feed = Feed::from_stream(guild, stream)
            .map_err(|error| PlayerError::Internal(format!("cannot start a reader: {error}")))?;
        let reporter = Reporter {
            guild,
            track: track.id,
            generation,
            playing: Arc::clone(&self.playing),
            events: self.events.clone(),
        };
        let stuck = reporter.clone();
        let source = DspSource::new(
            feed,
            FilterChain::new(control.clone()),
            self.stuck_after,
            Box::new(move || stuck.stuck()),
        );
        let input: Input = RawAdapter::new(source, RATE, 2).into();
        let handle = call.lock().await.play_only_input(input);
        for event in [TrackEvent::End, TrackEvent::Error] {
            handle
                .add_event(Event::Track(event), reporter.clone())
                .map_err(|error| PlayerError::Internal(error.to_string()))?;
        }
        self.lock_playing().insert(
            guild,
            Playing {
                handle,
                track: track.clone(),
                offset: start_at,
                control,
                options,
                generation,
            },
        );
        let _ = self.events.send(PlayerEvent {
            guild,
            track: track.id,
            kind: PlayerEventKind::Started,
        });
        Ok(())
    }
}

#[async_trait]
impl Player for SongbirdPlayer {
    async fn join(&self, guild: GuildId, channel: ChannelId) -> Result<(), PlayerError> {
        let songbird = self.songbird()?;
        let channel = std::num::NonZeroU64::new(channel.get())
            .ok_or_else(|| PlayerError::Internal("channel id 0".to_owned()))?;
        let songbird_guild = songbird_guild(guild)?;
        let newly_watched = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(guild);
        if newly_watched {
            // `join` reuses this `Call`, so the watcher sees the connection it makes.
            let call = songbird.get_or_insert(songbird_guild);
            let watcher = ConnectionWatcher::new(
                guild,
                Arc::clone(&self.playing),
                self.events.clone(),
                Arc::downgrade(songbird),
            );
            let mut call = call.lock().await;
            for event in [
                CoreEvent::DriverConnect,
                CoreEvent::DriverReconnect,
                CoreEvent::DriverDisconnect,
            ] {
                call.add_global_event(Event::Core(event), watcher.clone());
            }
        }
        let Err(error) = songbird.join(songbird_guild, channel).await else {
            return Ok(());
        };
        // songbird keeps a failed call (and its channel) to retry later; we do not: leave,
        // so Discord drops the bot from the channel (op 4 with no channel) and the next
        // join starts afresh.
        let cause = join_failure(&error);
        warn!(%guild, %channel, cause, error = %error, "the voice join failed; leaving");
        self.lock_latest().remove(&guild);
        self.lock_playing().remove(&guild);
        self.watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&guild);
        if let Err(error) = songbird.remove(songbird_guild).await {
            warn!(%guild, %error, "could not leave after the failed join");
        }
        Err(PlayerError::JoinFailed(cause.to_owned()))
    }

    async fn leave(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.lock_latest().remove(&guild);
        self.lock_playing().remove(&guild);
        // `remove` drops the `Call` and its watcher; the next join gets a new one.
        self.watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&guild);
        let songbird = self.songbird()?;
        match songbird.remove(songbird_guild(guild)?).await {
            Ok(()) | Err(songbird::error::JoinError::NoCall) => Ok(()),
            Err(error) => Err(PlayerError::Failed(error.to_string())),
        }
    }

    async fn play(
        &self,
        guild: GuildId,
        track: &Track,
        start_at: Duration,
        volume: Volume,
        filters: FilterSpec,
        options: OpenOptions,
    ) -> Result<(), PlayerError> {
        self.start(
            guild,
            track,
            start_at,
            FilterControl::new(filters, volume.percent()),
            options,
        )
        .await
    }

    async fn pause(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.with_playing(guild, |playing| playing.handle.pause())?
            .map_err(|error| PlayerError::Internal(error.to_string()))
    }

    async fn resume(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.with_playing(guild, |playing| playing.handle.play())?
            .map_err(|error| PlayerError::Internal(error.to_string()))
    }

    async fn stop(&self, guild: GuildId) -> Result<(), PlayerError> {
        self.request(guild);
        // Removed first, so the End event of the stopped track is recognised as ours.
        let playing = self.lock_playing().remove(&guild);
        if let Some(playing) = playing {
            let _ = playing.handle.stop();
        }
        Ok(())
    }

    async fn seek(&self, guild: GuildId, position: Duration) -> Result<(), PlayerError> {
        let (track, control, options) = {
            let playing = self.lock_playing();
            let current = playing.get(&guild).ok_or(PlayerError::NothingPlaying)?;
            (
                current.track.clone(),
                current.control.clone(),
                current.options,
            )
        };
        // The decoded stream is not seekable inside songbird; reopening at the position is
        // exact for every source that can seek, and starts the filters afresh.
        self.start(guild, &track, position, control, options).await
    }

    async fn set_volume(&self, guild: GuildId, volume: Volume) -> Result<(), PlayerError> {
        self.with_playing(guild, |playing| {
            playing.control.set_volume(volume.percent());
        })
    }

    async fn set_filters(&self, guild: GuildId, filters: FilterSpec) -> Result<(), PlayerError> {
        self.with_playing(guild, |playing| playing.control.set_filters(filters))
    }

    async fn position(&self, guild: GuildId) -> Option<Duration> {
        let (handle, offset) = {
            let playing = self.lock_playing();
            let current = playing.get(&guild)?;
            (current.handle.clone(), current.offset)
        };
        // The mixer answers within a tick while the call runs; a driver that stopped never
        // answers, and then the caller falls back to the last saved position.
        let state = tokio::time::timeout(POSITION_DEADLINE, handle.get_info())
            .await
            .ok()?
            .ok()?;
        Some(offset + state.position)
    }

    fn events(&self) -> broadcast::Receiver<PlayerEvent> {
        self.events.subscribe()
    }
}

/// The likely cause of a failed join and the next step, for a user.
fn join_failure(error: &songbird::error::JoinError) -> &'static str {
    use songbird::error::{ConnectionError, JoinError};
    match error {
        JoinError::TimedOut => {
            "Discord did not hand over a voice server in time. Check that I can see and \
             connect to the channel, then try again"
        }
        JoinError::Driver(
            ConnectionError::DaveCreateKeyPackageError(_)
            | ConnectionError::DaveInitializationError(_)
            | ConnectionError::Crypto(_)
            | ConnectionError::CryptoInvalidLength
            | ConnectionError::CryptoModeInvalid
            | ConnectionError::CryptoModeUnavailable,
        ) => {
            "the voice encryption (DAVE) could not be set up with Discord's voice server. Try \
             again in a moment"
        }
        JoinError::Driver(ConnectionError::TimedOut) => {
            "the voice server did not answer in time. Try again in a moment, or set another \
             region for the channel"
        }
        JoinError::Driver(_) => {
            "the voice server could not be reached or refused the connection. Try again in a \
             moment, or set another region for the channel"
        }
        JoinError::Dropped | JoinError::NoSender | JoinError::NoCall => {
            "my connection to Discord is not ready. Try again in a moment"
        }
        _ => "the voice connection failed. Try again in a moment",
    }
}

/// Turns songbird's track events into the port's, for the track that is still current.
#[derive(Clone)]
struct Reporter {
    guild: GuildId,
    track: TrackId,
    generation: u64,
    playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    events: broadcast::Sender<PlayerEvent>,
}

impl Reporter {
    /// Whether this reporter's track is still the guild's current one; if so it no longer is,
    /// so the track's end is reported exactly once.
    fn take_current(&self) -> bool {
        let mut playing = self
            .playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = playing
            .get(&self.guild)
            .is_some_and(|playing| playing.generation == self.generation);
        if current {
            playing.remove(&self.guild);
        }
        current
    }

    fn send(&self, kind: PlayerEventKind) {
        debug!(guild = %self.guild, ?kind, "track ended in voice");
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track: self.track,
            kind,
        });
    }

    /// The track played without audio for the stuck window (called on the mixer thread; it
    /// only takes a short lock and sends).
    fn stuck(&self) {
        if self.take_current() {
            warn!(guild = %self.guild, track = %self.track, "the track produced no audio; skipping it");
            self.send(PlayerEventKind::Stuck);
        }
    }
}

#[async_trait]
impl EventHandler for Reporter {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        if !self.take_current() {
            // Stopped, replaced, reopened by a seek or reported stuck: nothing to report.
            return None;
        }
        let kind = match context {
            EventContext::Track(states)
                if states.iter().any(|(state, _)| {
                    matches!(state.playing, songbird::tracks::PlayMode::Errored(_))
                }) =>
            {
                let reason = states
                    .iter()
                    .find_map(|(state, _)| match &state.playing {
                        songbird::tracks::PlayMode::Errored(error) => Some(error.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "the audio could not be played".to_owned());
                PlayerEventKind::Failed(reason)
            }
            _ => PlayerEventKind::Finished,
        };
        self.send(kind);
        None
    }
}

/// Counts and logs what songbird's driver says about a guild's voice connection, reports a
/// connection Discord ended for good as [`PlayerEventKind::Disconnected`], and rejoins when
/// songbird gave up on one Discord would take back (see [`ConnectionWatcher::rejoin`]).
#[derive(Clone)]
struct ConnectionWatcher {
    guild: GuildId,
    reconnects: metrics::Counter,
    playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    events: broadcast::Sender<PlayerEvent>,
    /// Weak: songbird owns the `Call` whose driver owns this watcher.
    songbird: Weak<Songbird>,
    /// Woken by every (re)connection of the driver.
    connected: Arc<Notify>,
    /// When the recent rejoins started, to give up on a voice session that keeps failing.
    rejoins: Arc<Mutex<VecDeque<Instant>>>,
}

/// The voice close codes after which Discord will not take the session back and songbird does
/// not reconnect: 4014 (kicked, moved out, or the channel went away) and 4022 (call
/// terminated). Rejoining on our own would fight a moderator, so the app keeps the queue.
fn ended_for_good(reason: Option<&DisconnectReason>) -> Option<u16> {
    match reason? {
        DisconnectReason::WsClosed(Some(
            code @ (VoiceCloseCode::Disconnected | VoiceCloseCode::CallTerminated),
        )) => Some(*code as u16),
        _ => None,
    }
}

/// Whether a dropped connection is worth a rejoin: songbird gave up on it at run time (4006
/// "session no longer valid", a failed resume, a lost server), it was not asked for and
/// Discord did not end it for good. A first connection that fails is the join's own error.
fn worth_rejoining(kind: DisconnectKind, reason: Option<&DisconnectReason>) -> bool {
    reason.is_some_and(|reason| !matches!(reason, DisconnectReason::Requested))
        && ended_for_good(reason).is_none()
        && matches!(kind, DisconnectKind::Runtime | DisconnectKind::Reconnect)
}

/// Rejoins allowed within [`REJOIN_WINDOW`]; past that a session that keeps failing is left
/// alone (it is logged), so a broken voice server is not hammered.
const MAX_REJOINS: usize = 3;
const REJOIN_WINDOW: Duration = Duration::from_mins(2);
/// How long a rejoin waits for songbird to connect with the session Discord sends, before it
/// connects with it itself.
const REJOIN_WAIT: Duration = Duration::from_secs(2);

impl ConnectionWatcher {
    /// Bound to the metrics recorder in force now (the global one in the binary).
    fn new(
        guild: GuildId,
        playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
        events: broadcast::Sender<PlayerEvent>,
        songbird: Weak<Songbird>,
    ) -> Self {
        Self {
            guild,
            reconnects: metrics::counter!(VOICE_RECONNECTS),
            playing,
            events,
            songbird,
            connected: Arc::new(Notify::new()),
            rejoins: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn ended(&self, code: u16) {
        warn!(guild = %self.guild, code, "Discord ended the voice connection; not reconnecting");
        self.lost(format!("Discord closed the voice connection ({code})"));
    }

    /// Reports the connection gone for good: the app releases it and keeps the queue.
    fn lost(&self, reason: String) {
        let track = self
            .playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.guild)
            .map_or(TrackId(0), |playing| playing.track.id);
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track,
            kind: PlayerEventKind::Disconnected(reason),
        });
    }

    fn reconnected(&self, channel: impl std::fmt::Display) {
        self.reconnects.increment(1);
        info!(guild = %self.guild, %channel, "the voice connection was re-established");
    }

    /// Takes a place for one more rejoin now; `false` when the recent ones used them up.
    fn may_rejoin(&self, now: Instant) -> bool {
        let mut rejoins = self
            .rejoins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while rejoins
            .front()
            .is_some_and(|started| now.duration_since(*started) >= REJOIN_WINDOW)
        {
            rejoins.pop_front();
        }
        if rejoins.len() >= MAX_REJOINS {
            return false;
        }
        rejoins.push_back(now);
        true
    }

    /// Gets a new voice session for the channel the `Call` is still in, keeping its tracks:
    /// the voice state update (op 4) is sent again, as Discord's clients do after 4006, and
    /// Discord answers with a fresh voice session. songbird connects on its own when that
    /// session differs from the old one; when it does not (same endpoint and token), songbird
    /// sees nothing new, so after [`REJOIN_WAIT`] the driver is connected with it here.
    async fn rejoin(&self) {
        let (Some(songbird), Ok(guild)) = (self.songbird.upgrade(), songbird_guild(self.guild))
        else {
            return;
        };
        let Some(call) = songbird.get(guild) else {
            return;
        };
        let connected = self.connected.notified();
        tokio::pin!(connected);
        connected.as_mut().enable();
        {
            let mut call = call.lock().await;
            if call.current_channel().is_none() {
                // Left in the meantime.
                return;
            }
            // `deafen` with the current setting is the one public way to send the voice state
            // update for the channel the call is in, without leaving it.
            let deaf = call.is_deaf();
            if let Err(error) = call.deafen(deaf).await {
                warn!(guild = %self.guild, %error, "could not ask Discord for a new voice session");
                return;
            }
        }
        if tokio::time::timeout(REJOIN_WAIT, connected).await.is_ok() {
            return;
        }
        let connect = {
            let mut call = call.lock().await;
            let Some(info) = call.current_connection().cloned() else {
                return;
            };
            call.connect(info)
        };
        match connect.await {
            Ok(()) => info!(guild = %self.guild, "rejoined the voice channel with a new session"),
            // Replaced by songbird's own connection with the session Discord sent meanwhile.
            Err(songbird::error::ConnectionError::AttemptDiscarded) => {}
            Err(error) => {
                warn!(guild = %self.guild, %error, "could not rejoin the voice channel; leaving it");
                self.lost(format!(
                    "the voice connection could not be made again ({error})"
                ));
            }
        }
    }
}

#[async_trait]
impl EventHandler for ConnectionWatcher {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        match context {
            EventContext::DriverConnect(_) => self.connected.notify_waiters(),
            EventContext::DriverReconnect(connect) => {
                self.connected.notify_waiters();
                self.reconnected(connect.channel_id);
            }
            // No reason: asked for (a leave or a move to another channel).
            EventContext::DriverDisconnect(disconnect) => {
                if let Some(code) = ended_for_good(disconnect.reason.as_ref()) {
                    self.ended(code);
                    return None;
                }
                if !worth_rejoining(disconnect.kind, disconnect.reason.as_ref()) {
                    return None;
                }
                if !self.may_rejoin(Instant::now()) {
                    // A defined end instead of a call that plays into nothing: the app leaves
                    // the channel, keeps the queue and tells the guild.
                    warn!(
                        guild = %self.guild,
                        reason = ?disconnect.reason,
                        "the voice connection keeps failing; leaving the channel"
                    );
                    self.lost("the voice connection kept failing".to_owned());
                    return None;
                }
                info!(
                    guild = %self.guild,
                    channel = %disconnect.channel_id,
                    kind = ?disconnect.kind,
                    reason = ?disconnect.reason,
                    "the voice connection dropped and songbird gave up; rejoining"
                );
                self.reconnects.increment(1);
                // Not awaited here: songbird delivers its events on this task, and the rejoin
                // waits for one.
                let watcher = self.clone();
                tokio::spawn(async move { watcher.rejoin().await });
            }
            _ => {}
        }
        None
    }
}

/// Decoded audio through the filter chain, as the little-endian `f32` bytes songbird's
/// [`RawAdapter`] reads.
///
/// songbird reads this on its mixer thread, which mixes up to 16 guilds: a read that blocks
/// there (an HTTP stream that stalls) would silence all of them. So the stream is read on its
/// own thread ([`Feed`]) and a read here never waits for it longer than [`FIRST_WAIT`]: when no
/// audio is ready, a block of silence goes out instead. songbird reads a track only while it
/// plays (never while paused), so the silence handed out measures how long the track has been
/// playing without audio; past the stuck window the track ends and is reported as stuck.
struct DspSource {
    inner: Mutex<DspState>,
}

/// How long a read waits for the reading thread before it hands out silence; only the first
/// read of a stall waits, so a stalled track costs the mixer this once, not every 20 ms.
const FIRST_WAIT: Duration = Duration::from_millis(5);

/// Reports a track that stalled for the stuck window; called once, on the mixer thread.
type StuckReport = Box<dyn FnOnce() + Send>;

struct DspState {
    feed: Feed,
    chain: FilterChain,
    /// The chain's time per refill (one pull, about one 20 ms block).
    timer: DspTimer,
    processed: Vec<f32>,
    /// Bytes of `processed` (or silence) not yet read.
    pending: Vec<u8>,
    pending_read: usize,
    ended: bool,
    /// Silence handed out since the last audio, in samples.
    silent_samples: usize,
    /// After this much silence in a row the track is stuck.
    stuck_samples: usize,
    on_stuck: Option<StuckReport>,
}

impl DspSource {
    fn new(feed: Feed, chain: FilterChain, stuck_after: Duration, on_stuck: StuckReport) -> Self {
        let stuck_frames = stuck_after.as_secs_f64() * f64::from(RATE);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let stuck_samples = (stuck_frames as usize).max(1) * CHANNELS;
        Self {
            inner: Mutex::new(DspState {
                feed,
                chain,
                timer: DspTimer::new(),
                processed: vec![0.0; BLOCK_SAMPLES * 4],
                pending: Vec::with_capacity(BLOCK_SAMPLES * 4 * 4),
                pending_read: 0,
                ended: false,
                silent_samples: 0,
                stuck_samples,
                on_stuck: Some(on_stuck),
            }),
        }
    }
}

impl DspState {
    /// The next message of the reading thread, or `None` when it has nothing ready.
    fn next_decoded(&mut self) -> Option<Decoded> {
        let waited = if self.silent_samples == 0 {
            self.feed.blocks.recv_timeout(FIRST_WAIT)
        } else {
            self.feed.blocks.try_recv().map_err(|error| match error {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        };
        match waited {
            Ok(decoded) => Some(decoded),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Decoded::Failed(AudioError::Internal(
                "the audio reader stopped unexpectedly".to_owned(),
            ))),
        }
    }

    /// Fills `pending` with the next processed audio (or a block of silence while the stream
    /// has none ready); false at the end of the track.
    fn refill(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.pending_read = 0;
        while self.chain.available() == 0 {
            if self.ended {
                return Ok(false);
            }
            match self.next_decoded() {
                Some(Decoded::Audio(buffer)) => {
                    self.silent_samples = 0;
                    self.timer.time(|| self.chain.push(&buffer));
                    self.feed.give_back(buffer);
                }
                Some(Decoded::End) => {
                    self.ended = true;
                    self.timer.time(|| self.chain.finish());
                }
                Some(Decoded::Failed(error) | Decoded::OpenFailed(error)) => {
                    return Err(io::Error::other(error.to_string()));
                }
                Some(Decoded::Opened) => {}
                None => return Ok(self.silence()),
            }
        }
        let count = self.timer.time(|| self.chain.pull(&mut self.processed));
        self.timer.block_done();
        for sample in &self.processed[..count] {
            self.pending.extend_from_slice(&sample.to_le_bytes());
        }
        Ok(true)
    }

    /// One block of silence while the stream has nothing; false (the end) once the track has
    /// been silent for the stuck window, after reporting it.
    fn silence(&mut self) -> bool {
        if self.silent_samples >= self.stuck_samples {
            self.ended = true;
            if let Some(report) = self.on_stuck.take() {
                report();
            }
            return false;
        }
        self.silent_samples += BLOCK_SAMPLES;
        self.pending.resize(BLOCK_SAMPLES * 4, 0);
        true
    }

    fn read_bytes(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.pending_read == self.pending.len() && !self.refill()? {
            return Ok(0);
        }
        let available = &self.pending[self.pending_read..];
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.pending_read += count;
        Ok(count)
    }
}

impl Read for DspSource {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let state = self
            .inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A decoder that panics fails this track with a reason, never the mixer thread.
        catch_unwind(AssertUnwindSafe(|| state.read_bytes(buffer))).unwrap_or_else(|_| {
            Err(io::Error::other(
                "the decoder crashed on this file; skipping it",
            ))
        })
    }
}

impl Seek for DspSource {
    fn seek(&mut self, _position: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "seeking reopens the track instead",
        ))
    }
}

impl MediaSource for DspSource {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use metrics_util::debugging::DebuggingRecorder;
    use minstrel_app::ports::PcmStream;

    use super::*;
    use crate::metrics::DSP_BLOCK_SECONDS;
    use crate::metrics::tests::{counted, samples};

    /// `blocks` blocks of a quiet constant signal, then the end.
    struct Blocks {
        left: usize,
    }

    impl PcmStream for Blocks {
        fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
            if self.left == 0 {
                return Ok(0);
            }
            self.left -= 1;
            out.fill(0.25);
            Ok(out.len())
        }
    }

    /// `blocks` blocks of audio, then nothing until it is dropped (an HTTP stream that
    /// stalls); `stalling` hears of every read that hangs.
    struct Stalls {
        left: usize,
        stalling: mpsc::Sender<()>,
        release: mpsc::Receiver<()>,
    }

    impl PcmStream for Stalls {
        fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
            if self.left > 0 {
                self.left -= 1;
                out.fill(0.25);
                return Ok(out.len());
            }
            let _ = self.stalling.send(());
            // Blocks until the test ends (the sender is dropped).
            let _ = self.release.recv();
            Ok(0)
        }
    }

    /// How long a test may wait for a thread to get going on a busy machine; never reached
    /// when the code works.
    const PATIENCE: Duration = Duration::from_secs(20);

    fn source(
        stream: Box<dyn PcmStream>,
        stuck_after: Duration,
    ) -> (DspSource, mpsc::Receiver<()>) {
        let (stuck, reported) = mpsc::channel();
        let feed = Feed::from_stream(GuildId::new(7).unwrap(), stream).unwrap();
        let source = DspSource::new(
            feed,
            FilterChain::new(FilterControl::new(FilterSpec::default(), 100)),
            stuck_after,
            Box::new(move || stuck.send(()).unwrap()),
        );
        (source, reported)
    }

    /// Reads 20 ms of bytes, as songbird's mixer does once per tick; 0 at the end.
    fn read_tick(source: &mut DspSource) -> usize {
        let mut tick = vec![0_u8; BLOCK_SAMPLES * 4];
        let mut filled = 0;
        while filled < tick.len() {
            match source.read(&mut tick[filled..]).unwrap() {
                0 => break,
                count => filled += count,
            }
        }
        filled
    }

    fn is_silent(bytes: &[u8]) -> bool {
        bytes.iter().all(|byte| *byte == 0)
    }

    #[test]
    fn a_stalled_stream_is_stuck_after_the_window_of_playing_time() {
        let (stalling, stalled) = mpsc::channel();
        let (_release, release) = mpsc::channel();
        let stream = Stalls {
            left: 3,
            stalling,
            release,
        };
        let window = Duration::from_millis(400);
        let (mut source, reported) = source(Box::new(stream), window);
        stalled.recv_timeout(PATIENCE).unwrap();
        let mut audio = Vec::new();
        let mut ticks = 0;
        loop {
            let mut tick = vec![0_u8; BLOCK_SAMPLES * 4];
            let count = source.read(&mut tick).unwrap();
            if count == 0 {
                break;
            }
            audio.extend_from_slice(&tick[..count]);
            ticks += 1;
            assert!(ticks < 10_000, "never reported stuck");
        }
        reported.try_recv().expect("the stall was reported");
        // The three blocks of audio came out, then silence for the window (20 ms per block).
        let audible = audio.iter().rposition(|byte| *byte != 0).unwrap_or(0);
        assert!(audible > 0, "the audio before the stall was lost");
        let silence_samples = (audio.len() - audible) / 4;
        // 400 ms at 48 kHz, stereo.
        let window_samples = 19_200 * 2;
        assert!(
            silence_samples >= window_samples - BLOCK_SAMPLES
                && silence_samples <= window_samples + 2 * BLOCK_SAMPLES,
            "{silence_samples} silent samples for a window of {window_samples}"
        );
        // Ended for good: reported once.
        assert_eq!(source.read(&mut [0_u8; 64]).unwrap(), 0);
        assert!(reported.try_recv().is_err());
    }

    #[test]
    fn a_stalled_read_never_blocks_the_mixer_and_time_not_read_does_not_count() {
        let (stalling, stalled) = mpsc::channel();
        let (_release, release) = mpsc::channel();
        let stream = Stalls {
            left: 0,
            stalling,
            release,
        };
        let window = Duration::from_millis(300);
        let (mut source, reported) = source(Box::new(stream), window);
        stalled.recv_timeout(PATIENCE).unwrap();
        // songbird reads a paused track not at all: wall time without reads, far beyond the
        // window, is not playing time.
        let started = Instant::now();
        let mut tick = vec![0_u8; BLOCK_SAMPLES * 4];
        assert_eq!(read_tick(&mut source), tick.len());
        std::thread::sleep(window * 2);
        assert_eq!(read_tick(&mut source), tick.len());
        assert!(reported.try_recv().is_err(), "stuck while not read");
        // Each read returns at once (silence), though the stream's read hangs.
        let count = source.read(&mut tick).unwrap();
        assert!(count > 0 && is_silent(&tick[..count]));
        assert!(started.elapsed() < PATIENCE);
        // Playing on, the window fills with silence and the track ends as stuck.
        while read_tick(&mut source) > 0 {}
        reported.try_recv().expect("the stall was reported");
    }

    #[test]
    fn every_refill_records_the_chain_time_of_its_block() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (mut source, _) = metrics::with_local_recorder(&recorder, || {
            // A window no test reaches: a busy machine may hand out silence before the reader
            // catches up.
            source(Box::new(Blocks { left: 5 }), Duration::from_hours(1))
        });
        let mut bytes = Vec::new();
        source.read_to_end(&mut bytes).unwrap();
        assert!(!bytes.is_empty());
        let blocks = samples(&snapshotter, DSP_BLOCK_SECONDS);
        // One sample per refill that produced audio; the chain may hold back a little until
        // `finish`, so there are about as many as blocks went in.
        assert!((4..=7).contains(&blocks.len()), "{blocks:?}");
        assert!(blocks.iter().any(|seconds| *seconds > 0.0), "{blocks:?}");
    }

    #[test]
    fn only_4014_and_4022_end_the_connection_for_good() {
        let closed = |code| DisconnectReason::WsClosed(Some(code));
        assert_eq!(
            ended_for_good(Some(&closed(VoiceCloseCode::Disconnected))),
            Some(4014)
        );
        assert_eq!(
            ended_for_good(Some(&closed(VoiceCloseCode::CallTerminated))),
            Some(4022)
        );
        for reason in [
            closed(VoiceCloseCode::VoiceServerCrash),
            closed(VoiceCloseCode::SessionInvalid),
            DisconnectReason::WsClosed(None),
            DisconnectReason::Requested,
            DisconnectReason::TimedOut,
        ] {
            assert_eq!(ended_for_good(Some(&reason)), None, "{reason:?}");
        }
        assert_eq!(ended_for_good(None), None);
    }

    #[test]
    fn a_session_songbird_gave_up_on_is_rejoined_unless_discord_ended_it() {
        let closed = |code| Some(DisconnectReason::WsClosed(Some(code)));
        for (kind, reason) in [
            (
                DisconnectKind::Runtime,
                closed(VoiceCloseCode::SessionInvalid),
            ),
            (
                DisconnectKind::Runtime,
                Some(DisconnectReason::WsClosed(None)),
            ),
            (DisconnectKind::Reconnect, Some(DisconnectReason::TimedOut)),
        ] {
            assert!(
                worth_rejoining(kind, reason.as_ref()),
                "{kind:?} {reason:?}"
            );
        }
        for (kind, reason) in [
            (
                DisconnectKind::Runtime,
                closed(VoiceCloseCode::Disconnected),
            ),
            (
                DisconnectKind::Runtime,
                closed(VoiceCloseCode::CallTerminated),
            ),
            (DisconnectKind::Runtime, Some(DisconnectReason::Requested)),
            (DisconnectKind::Runtime, None),
            // The join itself fails and says so.
            (DisconnectKind::Connect, Some(DisconnectReason::TimedOut)),
        ] {
            assert!(
                !worth_rejoining(kind, reason.as_ref()),
                "{kind:?} {reason:?}"
            );
        }
    }

    #[test]
    fn rejoins_stop_when_a_session_keeps_failing_and_come_back_later() {
        let watcher = ConnectionWatcher::new(
            GuildId::new(7).unwrap(),
            Arc::new(Mutex::new(HashMap::new())),
            broadcast::channel(4).0,
            Weak::new(),
        );
        let start = Instant::now();
        for _ in 0..MAX_REJOINS {
            assert!(watcher.may_rejoin(start));
        }
        assert!(!watcher.clone().may_rejoin(start + Duration::from_secs(1)));
        assert!(watcher.may_rejoin(start + REJOIN_WINDOW));
    }

    #[tokio::test]
    async fn a_connection_ended_for_good_is_reported_with_the_guild() {
        let (events, mut received) = broadcast::channel(4);
        let guild = GuildId::new(7).unwrap();
        let watcher = ConnectionWatcher::new(
            guild,
            Arc::new(Mutex::new(HashMap::new())),
            events,
            Weak::new(),
        );
        watcher.ended(4014);
        let event = received.try_recv().unwrap();
        assert_eq!(event.guild, guild);
        assert_eq!(event.track, TrackId(0), "nothing was playing");
        assert!(
            matches!(&event.kind, PlayerEventKind::Disconnected(reason) if reason.contains("4014")),
            "{event:?}"
        );
    }

    #[test]
    fn a_reconnect_is_counted() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let watcher = metrics::with_local_recorder(&recorder, || {
            ConnectionWatcher::new(
                GuildId::new(7).unwrap(),
                Arc::new(Mutex::new(HashMap::new())),
                broadcast::channel(4).0,
                Weak::new(),
            )
        });
        watcher.clone().reconnected(42);
        watcher.reconnected(42);
        assert_eq!(counted(&snapshotter, VOICE_RECONNECTS), 2);
    }
}
