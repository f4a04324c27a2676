//! One immutable filter configuration turned into running filters: everything of a
//! [`FilterSpec`] except the volume, in Lavalink's order.

use minstrel_domain::filters::{ChannelMix, Distortion, FilterSpec};

use crate::filters::equalizer::{BassBoostFilter, EqualizerFilter};
use crate::filters::karaoke::KaraokeFilter;
use crate::filters::modulation::{RotationFilter, TremoloFilter, VibratoFilter};
use crate::filters::reverb::ReverbFilter;
use crate::filters::simple::{ChannelMixFilter, DistortionFilter, LowPassFilter};
use crate::kernel::extend_samples;
use crate::timescale::TimescaleFilter;
use crate::{CHANNELS, FRAMES_PER_BLOCK};

/// The spec with its gain-only part (volume) removed: two specs with the same structure can
/// switch by ramping a gain, anything else needs a cross-fade between engines.
pub(crate) fn structure_of(spec: &FilterSpec) -> FilterSpec {
    FilterSpec {
        volume: None,
        ..*spec
    }
}

#[derive(Debug)]
pub(crate) struct Engine {
    /// The spec this engine was built for, volume removed ([`structure_of`]).
    structure: FilterSpec,
    low_pass: Option<LowPassFilter>,
    channel_mix: Option<ChannelMixFilter>,
    rotation: Option<RotationFilter>,
    distortion: Option<DistortionFilter>,
    vibrato: Option<VibratoFilter>,
    tremolo: Option<TremoloFilter>,
    timescale: Option<TimescaleFilter>,
    karaoke: Option<KaraokeFilter>,
    equalizer: Option<EqualizerFilter>,
    bass_boost: Option<BassBoostFilter>,
    reverb: Option<ReverbFilter>,
    work: Vec<f32>,
    /// Processed audio waiting to be mixed into the chain's output.
    pub(crate) output: Vec<f32>,
    /// A buffer big enough for the chain's output behind this engine, when that is more than a
    /// chain starts with (a strong slow-down); the chain swaps it in. Empty otherwise.
    pub(crate) spare_output: Vec<f32>,
}

/// Capacity, in samples, of a chain's and an engine's output buffer before anything grows.
pub(crate) const DEFAULT_OUTPUT_CAPACITY: usize = FRAMES_PER_BLOCK * CHANNELS * 8;

/// Grows `buffer`'s capacity by a quarter (a margin for data-dependent sizes).
fn add_margin(buffer: &mut Vec<f32>) {
    let wanted = buffer.capacity() + buffer.capacity() / 4;
    buffer.reserve(wanted - buffer.len());
}

impl Engine {
    /// Builds the filters that actually change something; neutral ones are left out.
    pub(crate) fn new(spec: &FilterSpec) -> Self {
        Self {
            structure: structure_of(spec),
            low_pass: spec
                .low_pass
                .filter(|low_pass| low_pass.smoothing > 1.0)
                .map(LowPassFilter::new),
            channel_mix: spec
                .channel_mix
                .filter(|mix| *mix != ChannelMix::default())
                .map(ChannelMixFilter::new),
            rotation: spec
                .rotation
                .filter(|rotation| rotation.rotation_hz > 0.0)
                .map(RotationFilter::new),
            distortion: spec
                .distortion
                .filter(|distortion| *distortion != Distortion::default())
                .map(DistortionFilter::new),
            vibrato: spec
                .vibrato
                .filter(|vibrato| vibrato.depth > 0.0 && vibrato.frequency > 0.0)
                .map(VibratoFilter::new),
            tremolo: spec
                .tremolo
                .filter(|tremolo| tremolo.depth > 0.0 && tremolo.frequency > 0.0)
                .map(TremoloFilter::new),
            timescale: spec.timescale.and_then(TimescaleFilter::new),
            karaoke: spec
                .karaoke
                .filter(|karaoke| karaoke.level > 0.0 || karaoke.mono_level > 0.0)
                .map(KaraokeFilter::new),
            equalizer: spec
                .equalizer
                .filter(|equalizer| !equalizer.is_neutral())
                .map(|equalizer| EqualizerFilter::new(&equalizer)),
            bass_boost: spec.bass_boost.map(BassBoostFilter::new),
            reverb: spec
                .reverb
                .filter(|reverb| reverb.wet > 0.0)
                .map(ReverbFilter::new),
            work: Vec::with_capacity(FRAMES_PER_BLOCK * CHANNELS),
            output: Vec::with_capacity(DEFAULT_OUTPUT_CAPACITY),
            spare_output: Vec::new(),
        }
    }

    /// An engine ready to hand to the audio thread: built, then run on silence the way a chain
    /// runs it (a warm-up on [`HISTORY_FRAMES`](crate::chain::HISTORY_FRAMES) of history, then
    /// blocks) so that every buffer has grown to its working size plus a margin, then reset.
    /// Only the timescale changes how much audio flows, so other engines skip the dry run.
    pub(crate) fn prepared(spec: &FilterSpec) -> Self {
        let mut engine = Self::new(spec);
        if engine.timescale.is_none() {
            return engine;
        }
        let silence = vec![0.0; crate::chain::HISTORY_FRAMES * CHANNELS];
        engine.process(&silence);
        let mut most = engine.output.len();
        engine.output.clear();
        for _ in 0..8 {
            engine.process(&silence[..FRAMES_PER_BLOCK * CHANNELS]);
            most = most.max(engine.output.len());
            engine.output.clear();
        }
        for buffer in [&mut engine.work, &mut engine.output] {
            add_margin(buffer);
        }
        if let Some(timescale) = &mut engine.timescale {
            timescale.for_each_buffer(add_margin);
        }
        // The chain's output holds up to a block or two of this engine's output at once, plus
        // what its caller has not pulled yet.
        let chain_output = 2 * most + DEFAULT_OUTPUT_CAPACITY;
        if chain_output > DEFAULT_OUTPUT_CAPACITY * 2 {
            engine.spare_output = Vec::with_capacity(chain_output);
        }
        engine.reset();
        engine
    }

    pub(crate) fn structure(&self) -> &FilterSpec {
        &self.structure
    }

    /// Runs interleaved stereo `input` (whole frames) through every filter, block by block,
    /// appending the result to [`Engine::output`].
    pub(crate) fn process(&mut self, input: &[f32]) {
        for block in input.chunks(FRAMES_PER_BLOCK * CHANNELS) {
            if self.timescale.is_none() {
                // The block keeps its length: filter it in place at the end of the output,
                // which saves a copy. (The buffers are taken out and put back so `self`'s
                // filters can run on them; an empty `Vec` costs nothing.)
                let mut output = std::mem::take(&mut self.output);
                let start = output.len();
                extend_samples(&mut output, block);
                self.before_timescale(&mut output[start..]);
                self.after_timescale(&mut output[start..]);
                self.output = output;
                continue;
            }
            let mut work = std::mem::take(&mut self.work);
            work.clear();
            extend_samples(&mut work, block);
            self.before_timescale(&mut work);
            // The timescale appends to the output, and the filters after it run there in place.
            let start = self.output.len();
            if let Some(timescale) = &mut self.timescale {
                timescale.process(&work, &mut self.output);
            }
            self.work = work;
            self.after_timescale_from(start);
        }
    }

    /// End of input: flush what the timescale still holds.
    pub(crate) fn finish(&mut self) {
        if let Some(timescale) = &mut self.timescale {
            let start = self.output.len();
            timescale.finish(&mut self.output);
            self.after_timescale_from(start);
        }
    }

    pub(crate) fn reset(&mut self) {
        macro_rules! reset_all {
            ($($filter:ident),*) => {$(if let Some(filter) = &mut self.$filter { filter.reset(); })*};
        }
        reset_all!(
            low_pass, rotation, vibrato, tremolo, timescale, karaoke, equalizer, bass_boost, reverb
        );
        self.output.clear();
    }

    fn before_timescale(&mut self, block: &mut [f32]) {
        if let Some(filter) = &mut self.low_pass {
            filter.process(block);
        }
        if let Some(filter) = &self.channel_mix {
            filter.process(block);
        }
        if let Some(filter) = &mut self.rotation {
            filter.process(block);
        }
        if let Some(filter) = &self.distortion {
            filter.process(block);
        }
        if let Some(filter) = &mut self.vibrato {
            filter.process(block);
        }
        if let Some(filter) = &mut self.tremolo {
            filter.process(block);
        }
    }

    /// The filters after the timescale on `output[start..]` (taken out and put back so that
    /// `self`'s filters can run on it).
    fn after_timescale_from(&mut self, start: usize) {
        let mut output = std::mem::take(&mut self.output);
        self.after_timescale(&mut output[start..]);
        self.output = output;
    }

    fn after_timescale(&mut self, block: &mut [f32]) {
        if let Some(filter) = &mut self.karaoke {
            filter.process(block);
        }
        if let Some(filter) = &mut self.equalizer {
            filter.process(block);
        }
        if let Some(filter) = &mut self.bass_boost {
            filter.process(block);
        }
        if let Some(filter) = &mut self.reverb {
            filter.process(block);
        }
    }
}
