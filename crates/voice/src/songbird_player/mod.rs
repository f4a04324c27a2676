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

mod source;
mod watch;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioOpener, OpenOptions, Player, PlayerError, PlayerEvent, PlayerEventKind,
};
use minstrel_domain::{ChannelId, FilterSpec, GuildId, Track, Volume};
use minstrel_dsp::{FilterChain, FilterControl};
use songbird::events::{CoreEvent, Event, TrackEvent};
use songbird::input::{Input, RawAdapter};
use songbird::shards::TwilightMap;
use songbird::tracks::TrackHandle;
use songbird::{Config, Songbird};
use tokio::sync::broadcast;
use tracing::{debug, info, warn};
use twilight_gateway::{Event as GatewayEvent, MessageSender};

use crate::local::DEFAULT_STUCK_AFTER;
use crate::local::decoder::Feed;

use source::DspSource;
use watch::{ConnectionWatcher, Reporter};

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
