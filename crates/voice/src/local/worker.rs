//! The playback thread of one guild: decoded blocks → filter chain → sink, paced.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use minstrel_app::ports::{
    AudioError, AudioOpener, OpenOptions, PlayerError, PlayerEvent, PlayerEventKind,
};
use minstrel_domain::{GuildId, Track};
use minstrel_dsp::{FilterChain, FilterControl, SAMPLE_RATE};
use tokio::sync::{broadcast, oneshot, watch};

use super::decoder::{Decoded, Feed};
use super::{BLOCK_SAMPLES, Pace, Status};
use crate::metrics::DspTimer;
use crate::sink::AudioSink;

/// How long the playback thread waits for the decoder before it looks at its commands again.
const POLL: Duration = Duration::from_millis(20);

/// How far real-time output may fall behind before the schedule restarts from now (instead of
/// bursting to catch up after a stall).
const MAX_LAG: Duration = Duration::from_millis(100);

/// How long a seek may take to open the track at the new position.
pub(super) const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) type SeekReply = oneshot::Sender<Result<(), PlayerError>>;

#[derive(Debug)]
pub(super) enum Command {
    Play {
        generation: u64,
        track: Box<Track>,
        start_at: Duration,
        options: OpenOptions,
    },
    Pause,
    Resume,
    Stop,
    Seek {
        position: Duration,
        reply: SeekReply,
    },
    Shutdown,
}

/// How the current track ends.
enum Ending {
    Finished,
    Failed(String),
    Stuck,
    /// Stopped or replaced on purpose: no event.
    Quietly,
}

struct PendingSeek {
    position: Duration,
    feed: Feed,
    reply: SeekReply,
    since: Instant,
}

struct Current {
    generation: u64,
    track: Track,
    start_at: Duration,
    /// How the track was opened, so a seek reopens it the same way.
    options: OpenOptions,
    frames_consumed: u64,
    chain: FilterChain,
    feed: Feed,
    input_done: bool,
    started: bool,
    paused: bool,
    /// When the next block is due (real-time pace).
    deadline: Instant,
    /// When the decoder last delivered audio (or playback resumed).
    last_audio: Instant,
    pending_seek: Option<PendingSeek>,
}

impl Current {
    fn position(&self) -> Duration {
        self.start_at + frames_to_duration(self.frames_consumed)
    }
}

fn frames_to_duration(frames: u64) -> Duration {
    let nanos = u128::from(frames) * 1_000_000_000 / u128::from(SAMPLE_RATE);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn seek_error(error: &AudioError) -> PlayerError {
    match error {
        AudioError::SeekUnsupported => PlayerError::SeekUnsupported,
        other => PlayerError::Failed(other.to_string()),
    }
}

pub(super) struct Worker {
    pub(super) guild: GuildId,
    pub(super) opener: Arc<dyn AudioOpener>,
    pub(super) sink: Arc<dyn AudioSink>,
    pub(super) pace: Pace,
    pub(super) stuck_after: Duration,
    pub(super) events: broadcast::Sender<PlayerEvent>,
    pub(super) status: watch::Sender<Status>,
    pub(super) control: FilterControl,
    pub(super) commands: Receiver<Command>,
    pub(super) dsp_timer: DspTimer,
}

/// What the playback thread owns besides its configuration.
struct Playback {
    current: Option<Current>,
    output: Vec<f32>,
    /// The filter chain's time for the block being made.
    dsp_timer: DspTimer,
}

impl Worker {
    pub(super) fn run(self) {
        let mut playback = Playback {
            current: None,
            output: vec![0.0; BLOCK_SAMPLES],
            dsp_timer: self.dsp_timer.clone(),
        };
        loop {
            self.poll_pending_seek(&mut playback);
            let command = match self.wait_budget(&playback) {
                None => match self.commands.recv() {
                    Ok(command) => Some(command),
                    Err(_) => break,
                },
                Some(budget) if budget.is_zero() => match self.commands.try_recv() {
                    Ok(command) => Some(command),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => break,
                },
                Some(budget) => match self.commands.recv_timeout(budget) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            if matches!(command, Some(Command::Shutdown)) {
                break;
            }
            // A bug in the filter engine or a sink must cost one track, not the guild's player
            // (nor, through a poisoned lock, the process).
            let step = catch_unwind(AssertUnwindSafe(|| match command {
                Some(command) => self.handle(&mut playback, command),
                None => self.produce(&mut playback),
            }));
            if step.is_err() {
                tracing::error!(guild = %self.guild, "the playback thread recovered from a crash");
                self.end(
                    &mut playback,
                    Ending::Failed("the audio engine crashed on this track".to_owned()),
                );
            }
        }
        self.end(&mut playback, Ending::Quietly);
    }

    /// How long to wait for a command before doing audio work; `None` waits for a command.
    fn wait_budget(&self, playback: &Playback) -> Option<Duration> {
        let current = playback.current.as_ref()?;
        if current.paused {
            return current.pending_seek.as_ref().map(|_| POLL);
        }
        match self.pace {
            Pace::Fast => Some(Duration::ZERO),
            Pace::Realtime => Some(current.deadline.saturating_duration_since(Instant::now())),
        }
    }

    fn handle(&self, playback: &mut Playback, command: Command) {
        match command {
            Command::Play {
                generation,
                track,
                start_at,
                options,
            } => self.start(playback, generation, *track, start_at, options),
            Command::Pause => {
                if let Some(current) = playback.current.as_mut() {
                    current.paused = true;
                }
            }
            Command::Resume => {
                if let Some(current) = playback.current.as_mut() {
                    current.paused = false;
                    current.deadline = Instant::now();
                    current.last_audio = Instant::now();
                }
            }
            Command::Stop | Command::Shutdown => self.end(playback, Ending::Quietly),
            Command::Seek { position, reply } => self.begin_seek(playback, position, reply),
        }
    }

    fn start(
        &self,
        playback: &mut Playback,
        generation: u64,
        track: Track,
        start_at: Duration,
        options: OpenOptions,
    ) {
        self.end(playback, Ending::Quietly);
        let feed = match Feed::spawn(
            Arc::clone(&self.opener),
            self.guild,
            track.clone(),
            start_at,
            options,
        ) {
            Ok(feed) => feed,
            Err(error) => {
                tracing::error!(guild = %self.guild, %error, "cannot start a decoding thread");
                self.report(
                    generation,
                    &track,
                    Ending::Failed("the player is overloaded".into()),
                );
                return;
            }
        };
        let now = Instant::now();
        playback.current = Some(Current {
            generation,
            track,
            start_at,
            options,
            frames_consumed: 0,
            // A fresh chain per track: no tail of the previous track's reverb or stretch.
            chain: FilterChain::new(self.control.clone()),
            feed,
            input_done: false,
            started: false,
            paused: false,
            deadline: now,
            last_audio: now,
            pending_seek: None,
        });
    }

    fn begin_seek(&self, playback: &mut Playback, position: Duration, reply: SeekReply) {
        let Some(current) = playback.current.as_mut() else {
            let _ = reply.send(Err(PlayerError::NothingPlaying));
            return;
        };
        match Feed::spawn(
            Arc::clone(&self.opener),
            self.guild,
            current.track.clone(),
            position,
            current.options,
        ) {
            Ok(feed) => {
                // A newer seek supersedes one still opening.
                if let Some(older) = current.pending_seek.take() {
                    let _ = older.reply.send(Ok(()));
                }
                current.pending_seek = Some(PendingSeek {
                    position,
                    feed,
                    reply,
                    since: Instant::now(),
                });
            }
            Err(error) => {
                let _ = reply.send(Err(PlayerError::Internal(error.to_string())));
            }
        }
    }

    /// Switches to a seek's new stream once it opened; the old one plays until then.
    fn poll_pending_seek(&self, playback: &mut Playback) {
        let Some(current) = playback.current.as_mut() else {
            return;
        };
        let Some(pending) = current.pending_seek.as_ref() else {
            return;
        };
        let outcome = match pending.feed.blocks.try_recv() {
            Ok(Decoded::Opened) => Ok(()),
            Ok(Decoded::OpenFailed(error)) => Err(seek_error(&error)),
            Ok(other) => Err(PlayerError::Internal(format!(
                "the decoder spoke out of turn: {other:?}"
            ))),
            Err(TryRecvError::Empty) if pending.since.elapsed() < SEEK_TIMEOUT => return,
            Err(TryRecvError::Empty) => {
                Err(PlayerError::Failed("seeking took too long".to_owned()))
            }
            Err(TryRecvError::Disconnected) => Err(PlayerError::Failed(
                "the decoder stopped unexpectedly".to_owned(),
            )),
        };
        let Some(pending) = current.pending_seek.take() else {
            return;
        };
        if outcome.is_ok() {
            let now = Instant::now();
            current.feed = pending.feed;
            current.chain.reset();
            current.start_at = pending.position;
            current.frames_consumed = 0;
            current.input_done = false;
            current.deadline = now;
            current.last_audio = now;
            self.publish_position(current);
        }
        let _ = pending.reply.send(outcome);
    }

    fn publish_position(&self, current: &Current) {
        let position = current.position();
        // Position changes do not wake `wait_idle` waiters: only the track changing does.
        self.status.send_if_modified(|status| {
            if status.generation == current.generation {
                status.position = position;
            }
            false
        });
    }

    /// Produces one output block if the decoder has audio for it.
    fn produce(&self, playback: &mut Playback) {
        let Some(current) = playback.current.as_mut() else {
            return;
        };
        let timer = &mut playback.dsp_timer;
        if let Some(ending) = self.feed_chain(current, timer) {
            self.end(playback, ending);
            return;
        }
        let written = timer.time(|| current.chain.pull(&mut playback.output));
        if written > 0 {
            timer.block_done();
        }
        if written == 0 {
            if current.input_done {
                self.end(playback, Ending::Finished);
            }
            return;
        }
        if let Err(error) = self.sink.write(&playback.output[..written]) {
            self.end(playback, Ending::Failed(error.to_string()));
            return;
        }
        if !current.started {
            current.started = true;
            self.emit(current.generation, &current.track, PlayerEventKind::Started);
        }
        self.publish_position(current);
        if self.pace == Pace::Realtime {
            current.deadline += frames_to_duration((written / 2) as u64);
            let now = Instant::now();
            if now > current.deadline + MAX_LAG {
                current.deadline = now;
            }
        }
    }

    /// Pushes decoded audio until a block of output is ready; `Some` when the track ends.
    /// Only the chain's own work counts towards `timer`, not the wait for the decoder.
    fn feed_chain(&self, current: &mut Current, timer: &mut DspTimer) -> Option<Ending> {
        while current.chain.available() < BLOCK_SAMPLES && !current.input_done {
            match current.feed.blocks.recv_timeout(POLL) {
                Ok(Decoded::Opened) => {}
                Ok(Decoded::Audio(buffer)) => {
                    timer.time(|| current.chain.push(&buffer));
                    current.frames_consumed += (buffer.len() / 2) as u64;
                    current.last_audio = Instant::now();
                    current.feed.give_back(buffer);
                }
                Ok(Decoded::End) => {
                    timer.time(|| current.chain.finish());
                    current.input_done = true;
                }
                Ok(Decoded::OpenFailed(error) | Decoded::Failed(error)) => {
                    return Some(Ending::Failed(error.to_string()));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let stalled = current.last_audio.elapsed() >= self.stuck_after;
                    return (self.pace == Pace::Realtime && stalled).then_some(Ending::Stuck);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Some(Ending::Failed(
                        "the decoder stopped unexpectedly".to_owned(),
                    ));
                }
            }
        }
        None
    }

    fn end(&self, playback: &mut Playback, ending: Ending) {
        let Some(current) = playback.current.take() else {
            return;
        };
        if let Some(pending) = current.pending_seek {
            let _ = pending.reply.send(Err(PlayerError::NothingPlaying));
        }
        self.report(current.generation, &current.track, ending);
        // Dropping the feed stops the decoding thread at its next block.
    }

    /// Marks the guild idle and reports how the track ended, unless a newer command (play,
    /// stop) has taken over the guild: a replaced or stopped track reports nothing.
    fn report(&self, generation: u64, track: &Track, ending: Ending) {
        let kind = match ending {
            Ending::Finished => Some(PlayerEventKind::Finished),
            Ending::Failed(reason) => Some(PlayerEventKind::Failed(reason)),
            Ending::Stuck => Some(PlayerEventKind::Stuck),
            Ending::Quietly => None,
        };
        self.status.send_if_modified(|status| {
            if status.generation != generation {
                return false;
            }
            // Sent under the status lock, so a concurrent stop either sees the track ended
            // or suppresses the event: never both.
            if let Some(kind) = kind {
                self.send_event(track, kind);
            }
            status.track = None;
            status.paused = false;
            true
        });
    }

    fn emit(&self, generation: u64, track: &Track, kind: PlayerEventKind) {
        self.status.send_if_modified(|status| {
            if status.generation == generation {
                self.send_event(track, kind);
            }
            false
        });
    }

    fn send_event(&self, track: &Track, kind: PlayerEventKind) {
        tracing::debug!(guild = %self.guild, track = %track.id, ?kind, "player event");
        // Nobody listening is fine: events are informational.
        let _ = self.events.send(PlayerEvent {
            guild: self.guild,
            track: track.id,
            kind,
        });
    }
}
