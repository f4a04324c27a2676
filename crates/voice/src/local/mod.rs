//! [`LocalPlayer`]: the [`Player`] port on local sinks (a WAV file, nowhere), one playback
//! thread per guild.
//!
//! The async methods only update the guild's status and send a command; decoding, filtering
//! and writing happen on the guild's playback thread (and a decoding thread per track), never
//! in an async task.

pub(crate) mod decoder;
mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_trait::async_trait;
use minstrel_app::ports::{AudioOpener, OpenOptions, Player, PlayerError, PlayerEvent};
use minstrel_domain::{ChannelId, FilterSpec, GuildId, Track, TrackId, Volume};
use minstrel_dsp::{CHANNELS, FRAMES_PER_BLOCK, FilterControl};
use tokio::sync::{broadcast, oneshot, watch};

use crate::metrics::DspTimer;
use crate::sink::{AudioSink, SinkError, SinkKind, lock};
use worker::{Command, SEEK_TIMEOUT, Worker};

/// Samples in one 20 ms block of interleaved stereo.
const BLOCK_SAMPLES: usize = FRAMES_PER_BLOCK * CHANNELS;

/// How long the stream may deliver nothing while playing before the track is reported `Stuck`.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(10);

const EVENT_CAPACITY: usize = 256;

/// How fast a [`LocalPlayer`] writes audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// 20 ms of audio per 20 ms of wall time, like a voice connection.
    Realtime,
    /// As fast as decoding allows (rendering files, tests).
    Fast,
}

/// What the async side and the playback thread share about a guild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Status {
    /// Bumped by every play and stop, so a late report about an older track is ignored.
    generation: u64,
    track: Option<TrackId>,
    paused: bool,
    /// Position in the source, frozen while paused.
    position: Duration,
}

#[derive(Debug)]
struct GuildHandle {
    commands: Sender<Command>,
    control: FilterControl,
    status: watch::Sender<Status>,
    thread: Option<JoinHandle<()>>,
}

impl GuildHandle {
    /// Stops what plays (no event) and lets the thread end.
    fn shut(&mut self) -> Option<JoinHandle<()>> {
        self.status.send_modify(|status| {
            status.generation += 1;
            status.track = None;
            status.paused = false;
        });
        let _ = self.commands.send(Command::Shutdown);
        self.thread.take()
    }
}

/// The [`Player`] port for local outputs: plays into a WAV file or nowhere.
///
/// Several guilds play at once, each on its own thread; their blocks share the one sink.
/// `join` is a no-op and `leave` stops the guild. Call [`LocalPlayer::shutdown`] (or drop the
/// player) to stop every guild and complete the WAV file.
pub struct LocalPlayer {
    opener: Arc<dyn AudioOpener>,
    sink: Arc<dyn AudioSink>,
    pace: Pace,
    stuck_after: Duration,
    events: broadcast::Sender<PlayerEvent>,
    guilds: Mutex<HashMap<GuildId, GuildHandle>>,
    /// Bound to the metrics recorder in force when the player was built; each guild's thread
    /// gets a copy.
    dsp_timer: DspTimer,
}

impl std::fmt::Debug for LocalPlayer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LocalPlayer")
            .field("sink", &self.sink)
            .field("pace", &self.pace)
            .field("stuck_after", &self.stuck_after)
            .finish_non_exhaustive()
    }
}

impl LocalPlayer {
    /// A player opening tracks with `opener` and writing to the `sink` it opens.
    ///
    /// # Errors
    /// When the sink cannot be opened (the WAV file cannot be created).
    pub fn new(
        opener: Arc<dyn AudioOpener>,
        sink: &SinkKind,
        pace: Pace,
    ) -> Result<Self, SinkError> {
        Ok(Self::with_sink(opener, sink.open()?, pace))
    }

    /// A player writing to any [`AudioSink`].
    pub fn with_sink(opener: Arc<dyn AudioOpener>, sink: Arc<dyn AudioSink>, pace: Pace) -> Self {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            opener,
            sink,
            pace,
            stuck_after: DEFAULT_STUCK_AFTER,
            events,
            guilds: Mutex::new(HashMap::new()),
            dsp_timer: DspTimer::new(),
        }
    }

    /// Changes how long a silent stream may stall before `Stuck` (default 10 s).
    #[must_use]
    pub fn with_stuck_after(mut self, stuck_after: Duration) -> Self {
        self.stuck_after = stuck_after;
        self
    }

    /// Resolves when `guild` has nothing playing (at once if it never played).
    pub async fn wait_idle(&self, guild: GuildId) {
        let receiver = lock(&self.guilds)
            .get(&guild)
            .map(|handle| handle.status.subscribe());
        if let Some(mut receiver) = receiver {
            // An error means the guild's thread is gone: nothing plays.
            let _ = receiver.wait_for(|status| status.track.is_none()).await;
        }
    }

    /// Whether `guild` has a track that is paused.
    pub fn is_paused(&self, guild: GuildId) -> bool {
        lock(&self.guilds).get(&guild).is_some_and(|handle| {
            let status = handle.status.borrow();
            status.track.is_some() && status.paused
        })
    }

    /// Stops every guild, waits for their threads and completes the sink (the WAV header).
    /// Blocks for as long as the threads take to notice (a block or two).
    ///
    /// # Errors
    /// When the sink cannot be completed.
    pub fn shutdown(&self) -> Result<(), PlayerError> {
        let threads: Vec<JoinHandle<()>> = lock(&self.guilds)
            .drain()
            .filter_map(|(_, mut handle)| handle.shut())
            .collect();
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a playback thread panicked");
            }
        }
        self.sink
            .finish()
            .map_err(|error| PlayerError::Internal(error.to_string()))
    }

    /// The guild's control handle and status, starting its playback thread if needed.
    fn handle(
        &self,
        guild: GuildId,
    ) -> Result<(Sender<Command>, FilterControl, watch::Sender<Status>), PlayerError> {
        let mut guilds = lock(&self.guilds);
        if let Some(handle) = guilds.get(&guild) {
            return Ok((
                handle.commands.clone(),
                handle.control.clone(),
                handle.status.clone(),
            ));
        }
        let (commands, receiver) = mpsc::channel();
        let control = FilterControl::new(FilterSpec::default(), Volume::DEFAULT.percent());
        let (status, _) = watch::channel(Status::default());
        let worker = Worker {
            guild,
            opener: Arc::clone(&self.opener),
            sink: Arc::clone(&self.sink),
            pace: self.pace,
            stuck_after: self.stuck_after,
            events: self.events.clone(),
            status: status.clone(),
            control: control.clone(),
            commands: receiver,
            dsp_timer: self.dsp_timer.clone(),
        };
        let thread = thread::Builder::new()
            .name(format!("minstrel-player-{guild}"))
            .spawn(move || worker.run())
            .map_err(|error| PlayerError::Internal(format!("cannot start a player: {error}")))?;
        guilds.insert(
            guild,
            GuildHandle {
                commands: commands.clone(),
                control: control.clone(),
                status: status.clone(),
                thread: Some(thread),
            },
        );
        Ok((commands, control, status))
    }

    /// The guild's handle if it has one.
    fn existing(
        &self,
        guild: GuildId,
    ) -> Option<(Sender<Command>, FilterControl, watch::Sender<Status>)> {
        lock(&self.guilds).get(&guild).map(|handle| {
            (
                handle.commands.clone(),
                handle.control.clone(),
                handle.status.clone(),
            )
        })
    }

    /// Sends a command; a guild whose thread died is forgotten so the next play starts afresh.
    fn send(
        &self,
        guild: GuildId,
        commands: &Sender<Command>,
        command: Command,
    ) -> Result<(), PlayerError> {
        commands.send(command).map_err(|_| {
            lock(&self.guilds).remove(&guild);
            PlayerError::Internal("the guild's player stopped; play again".to_owned())
        })
    }

    /// The guild's handle when a track is current, else `NothingPlaying`.
    fn playing(
        &self,
        guild: GuildId,
    ) -> Result<(Sender<Command>, watch::Sender<Status>), PlayerError> {
        let (commands, _, status) = self.existing(guild).ok_or(PlayerError::NothingPlaying)?;
        if status.borrow().track.is_none() {
            return Err(PlayerError::NothingPlaying);
        }
        Ok((commands, status))
    }
}

impl Drop for LocalPlayer {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::warn!(%error, "the local player did not shut down cleanly");
        }
    }
}

#[async_trait]
impl Player for LocalPlayer {
    async fn join(&self, _guild: GuildId, _channel: ChannelId) -> Result<(), PlayerError> {
        Ok(())
    }

    async fn leave(&self, guild: GuildId) -> Result<(), PlayerError> {
        let handle = lock(&self.guilds).remove(&guild);
        if let Some(mut handle) = handle {
            // The thread ends on its own within a block; nobody needs to wait for it.
            drop(handle.shut());
        }
        Ok(())
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
        let (commands, control, status) = self.handle(guild)?;
        control.set_filters(filters);
        control.set_volume(volume.percent());
        let mut generation = 0;
        status.send_modify(|status| {
            status.generation += 1;
            generation = status.generation;
            status.track = Some(track.id);
            status.paused = false;
            status.position = start_at;
        });
        self.send(
            guild,
            &commands,
            Command::Play {
                generation,
                track: Box::new(track.clone()),
                start_at,
                options,
            },
        )
    }

    async fn pause(&self, guild: GuildId) -> Result<(), PlayerError> {
        let (commands, status) = self.playing(guild)?;
        status.send_modify(|status| status.paused = true);
        self.send(guild, &commands, Command::Pause)
    }

    async fn resume(&self, guild: GuildId) -> Result<(), PlayerError> {
        let (commands, status) = self.playing(guild)?;
        status.send_modify(|status| status.paused = false);
        self.send(guild, &commands, Command::Resume)
    }

    async fn stop(&self, guild: GuildId) -> Result<(), PlayerError> {
        let Some((commands, _, status)) = self.existing(guild) else {
            return Ok(());
        };
        status.send_modify(|status| {
            status.generation += 1;
            status.track = None;
            status.paused = false;
        });
        self.send(guild, &commands, Command::Stop)
    }

    async fn seek(&self, guild: GuildId, position: Duration) -> Result<(), PlayerError> {
        let (commands, _) = self.playing(guild)?;
        let (reply, answer) = oneshot::channel();
        self.send(guild, &commands, Command::Seek { position, reply })?;
        // The thread gives up after SEEK_TIMEOUT itself; the margin covers a busy machine.
        match tokio::time::timeout(SEEK_TIMEOUT * 2, answer).await {
            Ok(Ok(outcome)) => outcome,
            // The track ended or was replaced while seeking.
            Ok(Err(_)) => Err(PlayerError::NothingPlaying),
            Err(_) => Err(PlayerError::Failed("seeking took too long".to_owned())),
        }
    }

    async fn set_volume(&self, guild: GuildId, volume: Volume) -> Result<(), PlayerError> {
        // Without a thread there is nothing to change: `play` carries the volume.
        if let Some((_, control, _)) = self.existing(guild) {
            control.set_volume(volume.percent());
        }
        Ok(())
    }

    async fn set_filters(&self, guild: GuildId, filters: FilterSpec) -> Result<(), PlayerError> {
        if let Some((_, control, _)) = self.existing(guild) {
            control.set_filters(filters);
        }
        Ok(())
    }

    async fn position(&self, guild: GuildId) -> Option<Duration> {
        let (_, _, status) = self.existing(guild)?;
        let status = status.borrow();
        status.track.map(|_| status.position)
    }

    fn events(&self) -> broadcast::Receiver<PlayerEvent> {
        self.events.subscribe()
    }
}
