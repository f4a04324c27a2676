//! [`SongbirdPlayer`]: the `Player` port on Discord voice (songbird 0.6, DAVE-capable).
//!
//! Each track is opened through the `AudioOpener` port, run through the guild's dsp chain and
//! handed to songbird as raw interleaved `f32` PCM ([`RawAdapter`]); songbird encodes Opus,
//! encrypts and sends it. Decoding and filtering happen on songbird's mixer thread as it pulls
//! audio, never in an async task. Filter and volume changes go through the chain's
//! [`FilterControl`] and land within a block; a seek reopens the track at the new position,
//! which also resets filter state.
//!
//! The gateway side feeds songbird through [`SongbirdPlayer::shards_started`] and
//! [`SongbirdPlayer::process`]: songbird needs every shard's sender to ask Discord for a voice
//! connection, and the voice state and server updates of every shard.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{
    AudioOpener, OpenOptions, PcmStream, Player, PlayerError, PlayerEvent, PlayerEventKind,
};
use minstrel_domain::{ChannelId, FilterSpec, GuildId, Track, TrackId, Volume};
use minstrel_dsp::{FilterChain, FilterControl};
use songbird::events::context_data::DisconnectReason;
use songbird::events::{CoreEvent, Event, EventContext, EventHandler, TrackEvent};
use songbird::input::core::io::MediaSource;
use songbird::input::{Input, RawAdapter};
use songbird::model::CloseCode as VoiceCloseCode;
use songbird::shards::TwilightMap;
use songbird::tracks::TrackHandle;
use songbird::{Config, Songbird};
use tokio::sync::broadcast;
use tracing::{debug, info, warn};
use twilight_gateway::{Event as GatewayEvent, MessageSender};

use crate::metrics::{DspTimer, VOICE_RECONNECTS};

const RATE: u32 = 48_000;
const CHANNELS: usize = 2;
/// Samples decoded per pull from the track (20 ms of stereo).
const BLOCK_SAMPLES: usize = 960 * CHANNELS;
/// How long opening a track may take (a web source may be slow to answer).
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

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
    events: broadcast::Sender<PlayerEvent>,
    /// Guilds whose `Call` has a [`ConnectionWatcher`]: songbird keeps one `Call` per guild
    /// across joins, and a second watcher would count every reconnect twice.
    watched: Mutex<HashSet<GuildId>>,
}

impl std::fmt::Debug for SongbirdPlayer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SongbirdPlayer")
            .field("connected", &self.songbird.get().is_some())
            .finish_non_exhaustive()
    }
}

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
            events,
            watched: Mutex::new(HashSet::new()),
        }
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
                    Songbird::twilight_from_config(shards, ready.user.id, Config::default());
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
        let source = DspSource::new(stream, FilterChain::new(control.clone()));
        let input: Input = RawAdapter::new(source, RATE, 2).into();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let handle = call.lock().await.play_only_input(input);
        let reporter = Reporter {
            guild,
            track: track.id,
            generation,
            playing: Arc::clone(&self.playing),
            events: self.events.clone(),
        };
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
            let watcher =
                ConnectionWatcher::new(guild, Arc::clone(&self.playing), self.events.clone());
            let mut call = call.lock().await;
            for event in [CoreEvent::DriverReconnect, CoreEvent::DriverDisconnect] {
                call.add_global_event(Event::Core(event), watcher.clone());
            }
        }
        songbird
            .join(songbird_guild, channel)
            .await
            .map(|_| ())
            .map_err(|error| {
                PlayerError::Failed(format!("could not join the voice channel: {error}"))
            })
    }

    async fn leave(&self, guild: GuildId) -> Result<(), PlayerError> {
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
        let state = handle.get_info().await.ok()?;
        Some(offset + state.position)
    }

    fn events(&self) -> broadcast::Receiver<PlayerEvent> {
        self.events.subscribe()
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

#[async_trait]
impl EventHandler for Reporter {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        let is_current = {
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
        };
        if !is_current {
            // Stopped, replaced or reopened by a seek on purpose: nothing to report.
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
        debug!(guild = %self.guild, ?kind, "track ended in voice");
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track: self.track,
            kind,
        });
        None
    }
}

/// Counts and logs what songbird's driver says about a guild's voice connection, and reports
/// a connection Discord ended for good as [`PlayerEventKind::Disconnected`].
#[derive(Clone)]
struct ConnectionWatcher {
    guild: GuildId,
    reconnects: metrics::Counter,
    playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
    events: broadcast::Sender<PlayerEvent>,
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

impl ConnectionWatcher {
    /// Bound to the metrics recorder in force now (the global one in the binary).
    fn new(
        guild: GuildId,
        playing: Arc<Mutex<HashMap<GuildId, Playing>>>,
        events: broadcast::Sender<PlayerEvent>,
    ) -> Self {
        Self {
            guild,
            reconnects: metrics::counter!(VOICE_RECONNECTS),
            playing,
            events,
        }
    }

    fn ended(&self, code: u16) {
        let track = self
            .playing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.guild)
            .map_or(TrackId(0), |playing| playing.track.id);
        warn!(guild = %self.guild, code, "Discord ended the voice connection; not reconnecting");
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track,
            kind: PlayerEventKind::Disconnected(format!(
                "Discord closed the voice connection ({code})"
            )),
        });
    }

    fn reconnected(&self, channel: impl std::fmt::Display) {
        self.reconnects.increment(1);
        info!(guild = %self.guild, %channel, "the voice connection was re-established");
    }
}

#[async_trait]
impl EventHandler for ConnectionWatcher {
    async fn act(&self, context: &EventContext<'_>) -> Option<Event> {
        match context {
            EventContext::DriverReconnect(connect) => self.reconnected(connect.channel_id),
            // No reason: asked for (a leave or a move to another channel).
            EventContext::DriverDisconnect(disconnect) => {
                if let Some(code) = ended_for_good(disconnect.reason.as_ref()) {
                    self.ended(code);
                    return None;
                }
                disconnect.reason?;
                info!(
                    guild = %self.guild,
                    channel = %disconnect.channel_id,
                    kind = ?disconnect.kind,
                    reason = ?disconnect.reason,
                    "the voice connection dropped and songbird gave up reconnecting"
                );
            }
            _ => {}
        }
        None
    }
}

/// Decoded audio through the filter chain, as the little-endian `f32` bytes songbird's
/// [`RawAdapter`] reads.
struct DspSource {
    inner: Mutex<DspState>,
}

struct DspState {
    stream: Box<dyn PcmStream>,
    chain: FilterChain,
    /// The chain's time per refill (one pull, about one 20 ms block).
    timer: DspTimer,
    decoded: Vec<f32>,
    processed: Vec<f32>,
    /// Bytes of `processed` not yet read.
    pending: Vec<u8>,
    pending_read: usize,
    ended: bool,
}

impl DspSource {
    fn new(stream: Box<dyn PcmStream>, chain: FilterChain) -> Self {
        Self {
            inner: Mutex::new(DspState {
                stream,
                chain,
                timer: DspTimer::new(),
                decoded: vec![0.0; BLOCK_SAMPLES],
                processed: vec![0.0; BLOCK_SAMPLES * 4],
                pending: Vec::with_capacity(BLOCK_SAMPLES * 4 * 4),
                pending_read: 0,
                ended: false,
            }),
        }
    }
}

impl DspState {
    /// Fills `pending` with the next processed audio; false at the end of the track.
    fn refill(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.pending_read = 0;
        while self.chain.available() == 0 {
            if self.ended {
                return Ok(false);
            }
            let count = self
                .stream
                .read(&mut self.decoded)
                .map_err(|error| io::Error::other(error.to_string()))?;
            if count == 0 {
                self.ended = true;
                self.timer.time(|| self.chain.finish());
            } else {
                self.timer.time(|| self.chain.push(&self.decoded[..count]));
            }
        }
        let count = self.timer.time(|| self.chain.pull(&mut self.processed));
        self.timer.block_done();
        for sample in &self.processed[..count] {
            self.pending.extend_from_slice(&sample.to_le_bytes());
        }
        Ok(true)
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
    use metrics_util::debugging::DebuggingRecorder;
    use minstrel_app::ports::AudioError;

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

    #[test]
    fn every_refill_records_the_chain_time_of_its_block() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let mut source = metrics::with_local_recorder(&recorder, || {
            DspSource::new(
                Box::new(Blocks { left: 5 }),
                FilterChain::new(FilterControl::new(FilterSpec::default(), 100)),
            )
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

    #[tokio::test]
    async fn a_connection_ended_for_good_is_reported_with_the_guild() {
        let (events, mut received) = broadcast::channel(4);
        let guild = GuildId::new(7).unwrap();
        let watcher = ConnectionWatcher::new(guild, Arc::new(Mutex::new(HashMap::new())), events);
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
            )
        });
        watcher.clone().reconnected(42);
        watcher.reconnected(42);
        assert_eq!(counted(&snapshotter, VOICE_RECONNECTS), 2);
    }
}
