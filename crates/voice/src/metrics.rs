//! The names of the metrics this crate records: the same strings the binary's exporter
//! describes (`ops::metric` builds its names from these, so they cannot drift).

use std::time::{Duration, Instant};

/// Histogram: seconds the filter chain spent on one 20 ms block of one guild (push and pull).
pub const DSP_BLOCK_SECONDS: &str = "minstrel_dsp_block_seconds";
/// Counter: Discord voice connections songbird re-established after a drop.
pub const VOICE_RECONNECTS: &str = "minstrel_voice_reconnects_total";

/// Adds up the time the filter chain works on one block, then records it.
///
/// The histogram handle is taken once (per player or per track), so the mixer and playback
/// threads only read the clock and record a float per block: no registry lookup, no label,
/// no allocation.
#[derive(Clone)]
pub(crate) struct DspTimer {
    histogram: metrics::Histogram,
    spent: Duration,
}

impl DspTimer {
    /// Binds to the recorder in force now (the global one in the binary).
    pub(crate) fn new() -> Self {
        Self {
            histogram: metrics::histogram!(DSP_BLOCK_SECONDS),
            spent: Duration::ZERO,
        }
    }

    /// Runs `work` (a push, a pull or a finish of the chain) and counts its time.
    pub(crate) fn time<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = work();
        self.spent += started.elapsed();
        result
    }

    /// Records the time counted since the last block as one block's.
    pub(crate) fn block_done(&mut self) {
        self.histogram.record(self.spent.as_secs_f64());
        self.spent = Duration::ZERO;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

    /// The samples blocks into the histogram `name` so far.
    pub(crate) fn samples(snapshotter: &Snapshotter, name: &str) -> Vec<f64> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find_map(|(key, _, _, value)| match value {
                DebugValue::Histogram(samples) if key.key().name() == name => {
                    Some(samples.into_iter().map(|sample| sample.0).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The value of the counter `name` (without labels) so far.
    pub(crate) fn counted(snapshotter: &Snapshotter, name: &str) -> u64 {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find_map(|(key, _, _, value)| match value {
                DebugValue::Counter(count) if key.key().name() == name => Some(count),
                _ => None,
            })
            .unwrap_or(0)
    }

    #[test]
    fn a_block_records_the_time_its_work_took() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let mut timer = metrics::with_local_recorder(&recorder, super::DspTimer::new);
        timer.time(|| std::thread::sleep(std::time::Duration::from_millis(2)));
        timer.time(|| ());
        timer.block_done();
        timer.block_done();
        let blocks = samples(&snapshotter, super::DSP_BLOCK_SECONDS);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert!(blocks[0] >= 0.002, "{blocks:?}");
        // The second block did no work: the first block's time does not carry over.
        assert!(blocks[1] < 0.002, "{blocks:?}");
    }
}
