//! The decoding thread of one track.
//!
//! Opening and reading a [`PcmStream`] may block (a slow disk today, a network tomorrow), so
//! it runs on its own thread and hands 20 ms blocks to the playback thread through a short
//! bounded channel. The playback thread can then notice a stall (`Stuck`), and still obeys
//! `stop` while a read hangs. Buffers travel back for reuse, so steady playback allocates
//! nothing.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;
use std::time::Duration;

use minstrel_app::ports::{AudioError, AudioOpener, OpenOptions, PcmStream};
use minstrel_domain::{GuildId, Track};

use super::BLOCK_SAMPLES;

/// Blocks decoded ahead of playback (160 ms).
const FEED_DEPTH: usize = 8;

/// What the decoding thread reports, in this order: `Opened` or `OpenFailed` first, then
/// `Audio` blocks, then `End` or `Failed`.
#[derive(Debug)]
pub(crate) enum Decoded {
    Opened,
    OpenFailed(AudioError),
    Audio(Vec<f32>),
    End,
    Failed(AudioError),
}

/// The playback side of a decoding thread. Dropping it stops the thread at its next block.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) blocks: Receiver<Decoded>,
    recycle: Sender<Vec<f32>>,
}

impl Feed {
    /// Starts decoding `track` from `start_at` on a new thread.
    pub(super) fn spawn(
        opener: Arc<dyn AudioOpener>,
        guild: GuildId,
        track: Track,
        start_at: Duration,
        options: OpenOptions,
    ) -> io::Result<Self> {
        let (sender, blocks) = mpsc::sync_channel(FEED_DEPTH);
        let (recycle, returned) = mpsc::channel();
        thread::Builder::new()
            .name(format!("minstrel-decode-{guild}"))
            .spawn(move || {
                decode(
                    opener.as_ref(),
                    &track,
                    start_at,
                    options,
                    &sender,
                    &returned,
                );
            })?;
        Ok(Self { blocks, recycle })
    }

    /// Starts reading an opened `stream` on a new thread: the songbird player opens tracks
    /// itself (with a timeout) and must never read in songbird's mixer, which plays up to 16
    /// guilds on one thread. No `Opened` comes first.
    pub(crate) fn from_stream(guild: GuildId, mut stream: Box<dyn PcmStream>) -> io::Result<Self> {
        let (sender, blocks) = mpsc::sync_channel(FEED_DEPTH);
        let (recycle, returned) = mpsc::channel();
        thread::Builder::new()
            .name(format!("minstrel-read-{guild}"))
            .spawn(move || pump(stream.as_mut(), &sender, &returned))?;
        Ok(Self { blocks, recycle })
    }

    /// Hands a played block's buffer back to the decoding thread.
    pub(crate) fn give_back(&self, buffer: Vec<f32>) {
        // The thread may have ended already; then the buffer is simply freed.
        let _ = self.recycle.send(buffer);
    }
}

fn decode(
    opener: &dyn AudioOpener,
    track: &Track,
    start_at: Duration,
    options: OpenOptions,
    sender: &SyncSender<Decoded>,
    returned: &Receiver<Vec<f32>>,
) {
    let mut stream = match opener.open(track, start_at, options) {
        Ok(stream) => stream,
        Err(error) => {
            let _ = sender.send(Decoded::OpenFailed(error));
            return;
        }
    };
    if sender.send(Decoded::Opened).is_err() {
        return;
    }
    pump(stream.as_mut(), sender, returned);
}

/// Sends `stream`'s audio in blocks until it ends, fails or nobody takes the blocks any more.
fn pump(stream: &mut dyn PcmStream, sender: &SyncSender<Decoded>, returned: &Receiver<Vec<f32>>) {
    loop {
        let mut buffer = returned
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK_SAMPLES));
        buffer.resize(BLOCK_SAMPLES, 0.0);
        let (filled, ending) = fill(stream, &mut buffer);
        buffer.truncate(filled);
        if filled > 0 && sender.send(Decoded::Audio(buffer)).is_err() {
            return;
        }
        if let Some(ending) = ending {
            let _ = sender.send(ending);
            return;
        }
    }
}

/// Reads until `buffer` is full or the stream ends; returns the samples read (whole frames)
/// and how the stream ended, if it did.
fn fill(stream: &mut dyn PcmStream, buffer: &mut [f32]) -> (usize, Option<Decoded>) {
    let mut filled = 0;
    while filled < buffer.len() {
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => return (filled - filled % 2, Some(Decoded::End)),
            // A stream claiming more than it was given is clamped, not trusted.
            Ok(count) => filled = (filled + count).min(buffer.len()),
            Err(error) => return (filled - filled % 2, Some(Decoded::Failed(error))),
        }
    }
    (filled - filled % 2, None)
}
