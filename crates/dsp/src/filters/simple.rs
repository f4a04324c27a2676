//! Memoryless or one-pole filters that work frame by frame: lowPass, channelMix, distortion.

use minstrel_domain::filters::{ChannelMix, Distortion, LowPass};

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
        for frame in block.chunks_exact_mut(2) {
            for (sample, state) in frame.iter_mut().zip(&mut self.state) {
                *state += (*sample - *state) * self.factor;
                // Flush the decay after silence before it turns denormal (slow on x86).
                if state.abs() < 1e-30 {
                    *state = 0.0;
                }
                *sample = *state;
            }
        }
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
/// Lavalink's. A non-finite intermediate (tan near its pole) becomes silence, never NaN.
#[derive(Debug, Clone)]
pub(crate) struct DistortionFilter {
    spec: Distortion,
}

impl DistortionFilter {
    pub(crate) fn new(spec: Distortion) -> Self {
        Self { spec }
    }

    pub(crate) fn process(&self, block: &mut [f32]) {
        let d = &self.spec;
        for sample in block.iter_mut() {
            let x = *sample;
            let sin = d.sin_offset + (x * d.sin_scale).sin();
            let cos = d.cos_offset + (x * d.cos_scale).cos();
            let tan = d.tan_offset + (x * d.tan_scale).tan();
            let shaped = d.offset + d.scale * sin * cos * tan;
            *sample = if shaped.is_finite() {
                shaped.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
    }
}
