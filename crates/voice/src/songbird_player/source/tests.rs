use std::sync::mpsc;
use std::time::Instant;

use metrics_util::debugging::DebuggingRecorder;
use minstrel_app::ports::PcmStream;
use minstrel_domain::{FilterSpec, GuildId};
use minstrel_dsp::FilterControl;

use super::*;
use crate::metrics::DSP_BLOCK_SECONDS;
use crate::metrics::tests::samples;

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

fn source(stream: Box<dyn PcmStream>, stuck_after: Duration) -> (DspSource, mpsc::Receiver<()>) {
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
