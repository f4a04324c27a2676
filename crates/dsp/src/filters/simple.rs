//! Memoryless or one-pole filters that work frame by frame: lowPass, channelMix, distortion.

use minstrel_domain::filters::{ChannelMix, Distortion, LowPass};

use super::trig;
use crate::kernel::{dispatched, mul_add};

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
        smooth(self, block);
    }

    /// `y[n] = keep · y[n−1] + factor · x[n]` four frames at a time: within a group the inputs'
    /// part is summed on its own (`f_k = keep · f_{k−1} + factor · x_k`, which does not wait
    /// for earlier groups), and the state enters once, as `y_k = keep^k · y + f_k`. So the
    /// sample-to-sample dependency of the plain recurrence, one multiply-add per frame, becomes
    /// one per four frames.
    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let factor = self.factor;
        let keep = 1.0 - factor;
        let powers = [
            keep,
            keep * keep,
            keep * keep * keep,
            keep * keep * keep * keep,
        ];
        let mut state = self.state;
        let (groups, rest) = block.as_chunks_mut::<8>();
        for group in groups {
            let mut inputs_part = [0.0f32; 8];
            let mut carried = [0.0f32; 2];
            for (lane, part) in inputs_part.iter_mut().enumerate() {
                let carried = &mut carried[lane % 2];
                *carried = mul_add::<FMA>(*carried, keep, group[lane] * factor);
                *part = *carried;
            }
            for (lane, sample) in group.iter_mut().enumerate() {
                *sample = mul_add::<FMA>(powers[lane / 2], state[lane % 2], inputs_part[lane]);
            }
            state = [group[6], group[7]];
        }
        for frame in rest.chunks_exact_mut(2) {
            for channel in 0..2 {
                state[channel] = mul_add::<FMA>(state[channel], keep, frame[channel] * factor);
                frame[channel] = state[channel];
            }
        }
        // Flush the decay after silence before it turns denormal (slow on x86). Once per block
        // rather than per sample: at worst part of one block after a silence is slow.
        for state in &mut state {
            if state.abs() < 1e-20 {
                *state = 0.0;
            }
        }
        self.state = state;
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
            (true, true, true) => self.shape::<FMA, true, true, true>(block),
            (true, true, false) => self.shape::<FMA, true, true, false>(block),
            (true, false, true) => self.shape::<FMA, true, false, true>(block),
            (true, false, false) => self.shape::<FMA, true, false, false>(block),
            (false, true, true) => self.shape::<FMA, false, true, true>(block),
            (false, true, false) => self.shape::<FMA, false, true, false>(block),
            (false, false, true) => self.shape::<FMA, false, false, true>(block),
            (false, false, false) => self.shape::<FMA, false, false, false>(block),
        }
    }

    #[inline(always)]
    fn shape<const FMA: bool, const SIN: bool, const COS: bool, const TAN: bool>(
        &self,
        block: &mut [f32],
    ) {
        let d = &self.spec;
        for sample in block.iter_mut() {
            let x = *sample;
            let sin = d.sin_offset
                + if SIN {
                    trig::sin::<FMA>(x * d.sin_scale)
                } else {
                    0.0
                };
            let cos = d.cos_offset
                + if COS {
                    trig::cos::<FMA>(x * d.cos_scale)
                } else {
                    1.0
                };
            let tan = d.tan_offset
                + if TAN {
                    trig::tan::<FMA>(x * d.tan_scale)
                } else {
                    0.0
                };
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
    /// The low-pass's block loop, for the CPU at hand.
    fn smooth(filter: &mut LowPassFilter, block: &mut [f32]) => process_inline
}

dispatched! {
    /// The distortion's block loop, for the CPU at hand.
    fn distort(filter: &DistortionFilter, block: &mut [f32]) => process_inline
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FRAMES_PER_BLOCK;

    /// The grouped recurrence is the plain one `y += (x − y) / smoothing` within rounding, in
    /// every build, across block boundaries and a trailing partial group.
    #[test]
    fn grouped_low_pass_matches_the_plain_recurrence() {
        let mut noise = crate::tests::white_noise(0x1234_5679);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 3 + 6).map(|_| noise()).collect();
        for smoothing in [1.5f32, 20.0, 500.0] {
            let mut expected = input.clone();
            let mut state = [0.0f64; 2];
            for frame in expected.chunks_exact_mut(2) {
                for channel in 0..2 {
                    state[channel] +=
                        (f64::from(frame[channel]) - state[channel]) / f64::from(smoothing);
                    #[allow(clippy::cast_possible_truncation)]
                    let value = state[channel] as f32;
                    frame[channel] = value;
                }
            }
            let kernels: [fn(&mut LowPassFilter, &mut [f32]); 3] = [
                LowPassFilter::process_inline::<false>,
                LowPassFilter::process_inline::<true>,
                LowPassFilter::process,
            ];
            for kernel in kernels {
                let mut filter = LowPassFilter::new(LowPass::new(smoothing).expect("valid"));
                let mut output = input.clone();
                for block in output.chunks_mut(FRAMES_PER_BLOCK * 2 - 2) {
                    kernel(&mut filter, block);
                }
                for (index, (expected, actual)) in expected.iter().zip(&output).enumerate() {
                    assert!(
                        (expected - actual).abs() < 1e-5,
                        "smoothing {smoothing}, sample {index}: {expected} against {actual}"
                    );
                }
            }
        }
    }
}
