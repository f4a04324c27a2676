//! [`DspSource`]: a track's decoded audio through the guild's filter chain, as songbird reads it.

use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::Duration;

use minstrel_app::ports::AudioError;
use minstrel_dsp::FilterChain;
use songbird::input::core::io::MediaSource;

use crate::local::decoder::{Decoded, Feed};
use crate::metrics::DspTimer;

use super::{BLOCK_SAMPLES, CHANNELS, RATE};

/// Decoded audio through the filter chain, as the little-endian `f32` bytes songbird's
/// [`RawAdapter`] reads.
///
/// songbird reads this on its mixer thread, which mixes up to 16 guilds: a read that blocks
/// there (an HTTP stream that stalls) would silence all of them. So the stream is read on its
/// own thread ([`Feed`]) and a read here never waits for it longer than [`FIRST_WAIT`]: when no
/// audio is ready, a block of silence goes out instead. songbird reads a track only while it
/// plays (never while paused), so the silence handed out measures how long the track has been
/// playing without audio; past the stuck window the track ends and is reported as stuck.
pub(super) struct DspSource {
    inner: Mutex<DspState>,
}

/// How long a read waits for the reading thread before it hands out silence; only the first
/// read of a stall waits, so a stalled track costs the mixer this once, not every 20 ms.
const FIRST_WAIT: Duration = Duration::from_millis(5);

/// Reports a track that stalled for the stuck window; called once, on the mixer thread.
pub(super) type StuckReport = Box<dyn FnOnce() + Send>;

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
    pub(super) fn new(
        feed: Feed,
        chain: FilterChain,
        stuck_after: Duration,
        on_stuck: StuckReport,
    ) -> Self {
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
mod tests;
