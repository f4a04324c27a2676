//! Memoryless or one-pole filters that work frame by frame: lowPass, channelMix, distortion.

use minstrel_domain::filters::{ChannelMix, Distortion, LowPass};

use super::trig;
use crate::kernel::dispatched;

/// Lavalink's one-pole smoothing low-pass: `y += (x − y) / smoothing`, per channel.
#[derive(Debug, Clone)]
pub(crate) struct LowPassFilter {
    factor: f32,
    state: [f32; 2],
}

impl LowPassFilter {
    pub(crate) fn new(spec: LowPass) -> Self {
        Self {
            factor: 1.0 / spec.smoothing.max(1.0),
            state: [0.0; 2],
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        let factor = self.factor;
        let keep = 1.0 - factor;
        let [mut left, mut right] = self.state;
        for frame in block.chunks_exact_mut(2) {
            // `y·(1 − f) + x·f` rather than `y + (x − y)·f`: the same filter with one operation
            // fewer in the sample-to-sample dependency.
            left = left * keep + frame[0] * factor;
            right = right * keep + frame[1] * factor;
            frame[0] = left;
            frame[1] = right;
        }
        // Flush the decay after silence before it turns denormal (slow on x86). Once per block
        // rather than per sample: at worst part of one block after a silence is slow.
        for state in [&mut left, &mut right] {
            if state.abs() < 1e-20 {
                *state = 0.0;
            }
        }
        self.state = [left, right];
    }

    pub(crate) fn reset(&mut self) {
        self.state = [0.0; 2];
    }
}

/// 2×2 mixing matrix.
#[derive(Debug, Clone)]
pub(crate) struct ChannelMixFilter {
    spec: ChannelMix,
}

impl ChannelMixFilter {
    pub(crate) fn new(spec: ChannelMix) -> Self {
        Self { spec }
    }

    pub(crate) fn process(&self, block: &mut [f32]) {
        let m = &self.spec;
        for frame in block.chunks_exact_mut(2) {
            let (left, right) = (frame[0], frame[1]);
            frame[0] = m.left_to_left * left + m.right_to_left * right;
            frame[1] = m.left_to_right * left + m.right_to_right * right;
        }
    }
}

/// lavadsp's distortion, every function enabled (as Lavalink configures it):
///
/// ```text
/// s   = sinOffset + sin(x · sinScale)
/// c   = cosOffset + cos(x · cosScale)
/// t   = tanOffset + tan(x · tanScale)
/// out = clamp(offset + scale · s · c · t, −1, 1)
/// ```
///
/// With the default parameters this is `sin²(x)`: a harsh, rectifying shaper, exactly as harsh as
/// Lavalink's. A non-finite intermediate (tan at its pole) becomes silence, never NaN. The
/// trigonometry is [`trig`]'s vectorisable approximation (within 3e-7 of libm).
#[derive(Debug, Clone)]
pub(crate) struct DistortionFilter {
    spec: Distortion,
}

impl DistortionFilter {
    pub(crate) fn new(spec: Distortion) -> Self {
        Self { spec }
    }

    /// Dispatches to a loop that evaluates only the functions whose scale is non-zero: with a
    /// zero scale, `sin(0) = 0`, `cos(0) = 1` and `tan(0) = 0` exactly (in [`trig`] too), so that
    /// term is a constant and the result is bit for bit the same.
    pub(crate) fn process(&self, block: &mut [f32]) {
        distort(self, block);
    }

    #[inline(always)]
    fn process_inline<const FMA: bool>(&self, block: &mut [f32]) {
        let d = &self.spec;
        match (d.sin_scale != 0.0, d.cos_scale != 0.0, d.tan_scale != 0.0) {
            (true, true, true) => self.shape::<true, true, true>(block),
            (true, true, false) => self.shape::<true, true, false>(block),
            (true, false, true) => self.shape::<true, false, true>(block),
            (true, false, false) => self.shape::<true, false, false>(block),
            (false, true, true) => self.shape::<false, true, true>(block),
            (false, true, false) => self.shape::<false, true, false>(block),
            (false, false, true) => self.shape::<false, false, true>(block),
            (false, false, false) => self.shape::<false, false, false>(block),
        }
    }

    #[inline(always)]
    fn shape<const SIN: bool, const COS: bool, const TAN: bool>(&self, block: &mut [f32]) {
        let d = &self.spec;
        for sample in block.iter_mut() {
            let x = *sample;
            let sin = d.sin_offset + if SIN { trig::sin(x * d.sin_scale) } else { 0.0 };
            let cos = d.cos_offset + if COS { trig::cos(x * d.cos_scale) } else { 1.0 };
            let tan = d.tan_offset + if TAN { trig::tan(x * d.tan_scale) } else { 0.0 };
            let shaped = d.offset + d.scale * sin * cos * tan;
            // A non-finite input gives a non-finite `shaped` whenever a function is evaluated;
            // the check keeps that (silence) when a constant term stands in for it.
            *sample = if shaped.is_finite() && ((SIN && COS && TAN) || x.is_finite()) {
                shaped.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
    }
}

dispatched! {
    /// The distortion's block loop, for the CPU at hand.
    fn distort(filter: &DistortionFilter, block: &mut [f32]) => process_inline
}
