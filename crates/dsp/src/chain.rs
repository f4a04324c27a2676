//! The per-player processing chain: engines, live-change smoothing, volume and limiter.

use std::collections::VecDeque;

use minstrel_domain::filters::FilterSpec;

use crate::control::FilterControl;
use crate::engine::{DEFAULT_OUTPUT_CAPACITY, Engine, structure_of};
use crate::kernel::{copy_samples, extend_samples};
use crate::limiter::Limiter;
use crate::volume::{filter_volume_gain, player_volume_gain};
use crate::{CHANNELS, FRAMES_PER_BLOCK};

/// Input frames remembered to warm up a new engine before it is faded in (≈ 85 ms), so its
/// filters, delay lines and time-stretcher start from real history rather than silence.
pub(crate) const HISTORY_FRAMES: usize = 4096;
/// Length of a gain ramp or a cross-fade, in output frames: one 20 ms block.
const TRANSITION_FRAMES: usize = FRAMES_PER_BLOCK;

/// Total linear gain for a spec and a player volume.
fn total_gain(spec: &FilterSpec, volume_percent: u16) -> f32 {
    let filter_gain = spec.volume.map_or(1.0, filter_volume_gain);
    player_volume_gain(volume_percent) * filter_gain
}

/// A gain that moves linearly to a new target over one block.
#[derive(Debug, Clone)]
struct GainRamp {
    current: f32,
    target: f32,
    step: f32,
    remaining: usize,
}

impl GainRamp {
    fn new(gain: f32) -> Self {
        Self {
            current: gain,
            target: gain,
            step: 0.0,
            remaining: 0,
        }
    }

    // Exact comparison on purpose: only a real change restarts the ramp.
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    fn set_target(&mut self, target: f32) {
        if target == self.target {
            return;
        }
        self.target = target;
        self.remaining = TRANSITION_FRAMES;
        self.step = (target - self.current) / TRANSITION_FRAMES as f32;
    }

    fn snap(&mut self) {
        self.current = self.target;
        self.remaining = 0;
    }

    #[inline]
    fn next(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    /// Multiplies interleaved stereo `samples` by the gain, frame by frame: the ramp part per
    /// frame, the steady part as one tight loop (nothing at all at unity).
    // Exact comparison on purpose: unity gain is stored exactly and needs no multiply.
    #[allow(clippy::float_cmp)]
    #[inline(always)]
    fn apply(&mut self, samples: &mut [f32]) {
        let ramp_frames = self.remaining.min(samples.len() / CHANNELS);
        let (ramp, steady) = samples.split_at_mut(ramp_frames * CHANNELS);
        for frame in ramp.chunks_exact_mut(CHANNELS) {
            let gain = self.next();
            for sample in frame {
                *sample *= gain;
            }
        }
        if self.current != 1.0 {
            let gain = self.current;
            for sample in steady {
                *sample *= gain;
            }
        }
    }
}

/// The processing chain for one player.
///
/// Feed decoded interleaved stereo (48 kHz, `f32`) with [`push`](Self::push) and take processed
/// audio with [`pull`](Self::pull); timescale makes the two sizes differ. Changes made through
/// the [`FilterControl`] are picked up at the next 20 ms block: volume ramps linearly over one
/// block; any other filter change builds a new engine, warms it on the last ≈ 85 ms of input
/// and cross-fades from the old engine to it over one block.
///
/// Nothing is allocated or freed per block, filter changes included: the new engine is built by
/// [`FilterControl::set_filters`] on the caller's thread, and the replaced one goes back to the
/// control side to be dropped there. Exceptions: output that is not pulled keeps growing;
/// several chains following one handle build their own engines when another took the prepared
/// one; and a strong timescale speed-up (such as speed 2 × rate 5) may still grow one buffer
/// once on the audio thread after the change (the dry run in `Engine::prepared` misses it).
#[derive(Debug)]
pub struct FilterChain {
    control: FilterControl,
    seen_generation: u64,
    structure: FilterSpec,
    current: Engine,
    fading_out: Option<Engine>,
    fade_position: usize,
    /// A faded-out engine waiting to be handed back to the control side.
    retiring: Option<Engine>,
    history: VecDeque<f32>,
    gain: GainRamp,
    limiter: Limiter,
    /// Finished audio; `output[read..]` has not been pulled yet.
    output: Vec<f32>,
    read: usize,
}

impl FilterChain {
    pub fn new(control: FilterControl) -> Self {
        let seen_generation = control.generation();
        let spec = control.filters();
        let structure = structure_of(&spec);
        let mut current = Engine::prepared(&structure);
        let output = std::mem::take(&mut current.spare_output);
        Self {
            seen_generation,
            current,
            structure,
            fading_out: None,
            fade_position: 0,
            retiring: None,
            history: VecDeque::with_capacity(HISTORY_FRAMES * CHANNELS),
            gain: GainRamp::new(total_gain(&spec, control.volume())),
            limiter: Limiter::new(),
            output: if output.capacity() > DEFAULT_OUTPUT_CAPACITY {
                output
            } else {
                Vec::with_capacity(DEFAULT_OUTPUT_CAPACITY)
            },
            read: 0,
            control,
        }
    }

    /// The handle this chain follows.
    pub fn control(&self) -> &FilterControl {
        &self.control
    }

    /// Feeds decoded interleaved stereo input (a trailing half frame is ignored).
    pub fn push(&mut self, input: &[f32]) {
        let whole = input.len() - input.len() % CHANNELS;
        for block in input[..whole].chunks(FRAMES_PER_BLOCK * CHANNELS) {
            self.follow_control();
            self.current.process(block);
            if let Some(old) = &mut self.fading_out {
                old.process(block);
            }
            self.remember(block);
            self.mix();
        }
    }

    /// Writes up to `out.len()` samples (whole frames) of processed audio into `out`, returns
    /// how many were written.
    pub fn pull(&mut self, out: &mut [f32]) -> usize {
        let count = (out.len() - out.len() % CHANNELS).min(self.available());
        copy_samples(
            &mut out[..count],
            &self.output[self.read..self.read + count],
        );
        self.read += count;
        if self.read == self.output.len() {
            self.output.clear();
            self.read = 0;
        }
        count
    }

    /// Samples ready to [`pull`](Self::pull).
    pub fn available(&self) -> usize {
        self.output.len() - self.read
    }

    /// End of track: flushes internal buffers (timescale) so `pull` drains everything. Call
    /// [`reset`](Self::reset) before pushing the next track through the same chain.
    pub fn finish(&mut self) {
        self.current.finish();
        if let Some(old) = &mut self.fading_out {
            old.finish();
        }
        self.mix();
        if let Some(old) = self.fading_out.take() {
            self.fade_position = 0;
            self.retire(old);
            self.mix();
        }
    }

    /// A seek happened: drops filter state, history and audio not yet pulled.
    pub fn reset(&mut self) {
        if let Some(old) = self.fading_out.take() {
            self.retire(old);
        }
        self.fade_position = 0;
        self.current.reset();
        self.history.clear();
        self.output.clear();
        self.read = 0;
        self.limiter.reset();
        self.gain.snap();
    }

    /// Applies changes from the control handle; a new structure waits until a running
    /// cross-fade has finished (at most a block or two).
    ///
    /// Takes the engine [`FilterControl::set_filters`] prepared, so nothing is allocated here.
    /// While the control side holds the exchange, or an engine is still waiting to go back
    /// (a block or two at most), the change waits for the next block.
    fn follow_control(&mut self) {
        if let Some(old) = self.retiring.take() {
            self.retire(old);
        }
        if self.fading_out.is_some() || self.retiring.is_some() {
            return;
        }
        let generation = self.control.generation();
        if generation == self.seen_generation {
            return;
        }
        let Some(update) = self.control.take_update(&self.structure) else {
            return;
        };
        self.seen_generation = generation;
        self.gain
            .set_target(total_gain(&update.spec, self.control.volume()));
        if let Some(mut fresh) = update.engine {
            self.structure = *fresh.structure();
            self.adopt_output_buffer(&mut fresh);
            let (older, newer) = self.history.as_slices();
            fresh.process(older);
            fresh.process(newer);
            fresh.output.clear();
            self.fading_out = Some(std::mem::replace(&mut self.current, fresh));
            self.fade_position = 0;
        }
    }

    /// Moves the output into `engine`'s spare buffer when that one is bigger (the new engine
    /// produces more per block); the smaller buffer stays with the engine and leaves with it.
    fn adopt_output_buffer(&mut self, engine: &mut Engine) {
        if engine.spare_output.capacity() > self.output.capacity() {
            engine.spare_output.clear();
            engine
                .spare_output
                .extend_from_slice(&self.output[self.read..]);
            self.read = 0;
            std::mem::swap(&mut self.output, &mut engine.spare_output);
        }
    }

    /// Hands a replaced engine back to the control side, which frees it; keeps it for another
    /// try at the next block while the exchange is busy.
    fn retire(&mut self, engine: Engine) {
        self.retiring = self.control.retire(engine);
    }

    fn remember(&mut self, block: &[f32]) {
        let keep = HISTORY_FRAMES * CHANNELS;
        if block.len() >= keep {
            self.history.clear();
            self.history.extend(&block[block.len() - keep..]);
            return;
        }
        let overflow = (self.history.len() + block.len()).saturating_sub(keep);
        self.history.drain(..overflow);
        extend_samples(&mut self.history, block);
    }

    /// Moves finished engine output through cross-fade, gain and limiter into `output`.
    #[allow(clippy::cast_precision_loss)]
    fn mix(&mut self) {
        // Audio already pulled is dropped here, once per block, rather than on every pull.
        if self.read > 0 {
            self.output.drain(..self.read);
            self.read = 0;
        }
        let start = self.output.len();
        if let Some(old) = &mut self.fading_out {
            let ready = old.output.len().min(self.current.output.len()) / CHANNELS;
            let frames = ready.min(TRANSITION_FRAMES - self.fade_position);
            let samples = frames * CHANNELS;
            for (old_frame, new_frame) in old.output[..samples]
                .chunks_exact(CHANNELS)
                .zip(self.current.output[..samples].chunks_exact(CHANNELS))
            {
                self.fade_position += 1;
                let weight = self.fade_position as f32 / TRANSITION_FRAMES as f32;
                for (old_sample, new_sample) in old_frame.iter().zip(new_frame) {
                    self.output
                        .push(old_sample + (new_sample - old_sample) * weight);
                }
            }
            old.output.drain(..samples);
            self.current.output.drain(..samples);
            if self.fade_position < TRANSITION_FRAMES {
                self.finish_samples(start);
                return;
            }
            if let Some(old) = self.fading_out.take() {
                self.retire(old);
            }
            self.fade_position = 0;
        }
        let whole = self.current.output.len() - self.current.output.len() % CHANNELS;
        if self.output.is_empty()
            && whole == self.current.output.len()
            && self.output.capacity() == self.current.output.capacity()
        {
            // Everything was pulled and the engine's output is whole frames: swap the buffers
            // rather than copy. Only buffers of the same size, so neither side ever finds a
            // smaller one than it was prepared with (and has to grow on the audio thread).
            std::mem::swap(&mut self.output, &mut self.current.output);
        } else {
            extend_samples(&mut self.output, &self.current.output[..whole]);
            self.current.output.drain(..whole);
        }
        self.finish_samples(start);
    }

    /// Gain and limiter on `output[start..]`, the audio `mix` just added.
    fn finish_samples(&mut self, start: usize) {
        gain_and_limit(&mut self.gain, &mut self.limiter, &mut self.output[start..]);
    }
}

/// [`GainRamp::apply`] then [`Limiter::process`], the two loops every chain runs over every
/// block, compiled for baseline x86-64 and for AVX2 (eight lanes instead of four) and picked at
/// run time (see [`crate::kernel`]). Neither uses fused multiply-adds, so both builds compute
/// the same samples.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn gain_and_limit(gain: &mut GainRamp, limiter: &mut Limiter, samples: &mut [f32]) {
    gain.apply(samples);
    limiter.process(samples);
}
