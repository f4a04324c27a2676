//! Output protection: an envelope limiter followed by a soft knee, so output never exceeds 1.0
//! in magnitude and never hard clips.
//!
//! The envelope (stereo-linked peak, 1 ms attack, 150 ms release) pulls the level down to the
//! threshold smoothly; whatever gets past during the attack goes through a `tanh` knee that is
//! the identity up to 0.9 and approaches 1.0 asymptotically. Signals below 0.9 pass unchanged.

use crate::{CHANNELS, SAMPLE_RATE};

const THRESHOLD: f32 = 0.9;
const KNEE: f32 = 0.9;
const ATTACK_SECONDS: f32 = 0.001;
const RELEASE_SECONDS: f32 = 0.150;

#[allow(clippy::cast_precision_loss)]
fn coefficient(seconds: f32) -> f32 {
    1.0 - (-1.0 / (seconds * SAMPLE_RATE as f32)).exp()
}

/// Identity below `KNEE`, smooth (continuous slope) saturation to 1.0 above.
#[inline]
pub(crate) fn soft_knee(sample: f32) -> f32 {
    let magnitude = sample.abs();
    if magnitude <= KNEE {
        return sample;
    }
    let headroom = 1.0 - KNEE;
    let shaped = KNEE + headroom * ((magnitude - KNEE) / headroom).tanh();
    shaped.min(1.0).copysign(sample)
}

#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    envelope: f32,
    attack: f32,
    release: f32,
}

impl Limiter {
    pub(crate) fn new() -> Self {
        Self {
            envelope: 0.0,
            attack: coefficient(ATTACK_SECONDS),
            release: coefficient(RELEASE_SECONDS),
        }
    }

    pub(crate) fn reset(&mut self) {
        self.envelope = 0.0;
    }

    /// Limits interleaved stereo `samples` (whole frames) in place.
    ///
    /// A quiet block (every sample finite and at most the threshold, envelope at most the
    /// threshold) is the identity, so it is left untouched and the envelope jumps straight to
    /// where it would be had the block's peak been held for the whole block. That is an upper
    /// bound of the frame-by-frame envelope and stays below the threshold, so the limiter can
    /// only react a little earlier, never later. Any other block runs frame by frame.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    #[inline(always)]
    pub(crate) fn process(&mut self, samples: &mut [f32]) {
        const LANES: usize = 8;
        let mut peaks = [0.0f32; LANES];
        // `s · 0` is 0 for finite samples and NaN for infinities and NaN.
        let mut finite = [0.0f32; LANES];
        let mut chunks = samples.chunks_exact(LANES);
        for chunk in &mut chunks {
            for ((peak, finite), sample) in peaks.iter_mut().zip(&mut finite).zip(chunk) {
                let magnitude = sample.abs();
                *peak = if magnitude > *peak { magnitude } else { *peak };
                *finite += sample * 0.0;
            }
        }
        for sample in chunks.remainder() {
            peaks[0] = peaks[0].max(sample.abs());
            finite[0] += sample * 0.0;
        }
        let peak = peaks.iter().fold(0.0f32, |peak, lane| peak.max(*lane));
        let all_finite = finite.iter().sum::<f32>() == 0.0;
        if all_finite && peak <= THRESHOLD && self.envelope <= THRESHOLD {
            let frames = (samples.len() / CHANNELS) as i32;
            let speed = if peak > self.envelope {
                self.attack
            } else {
                self.release
            };
            self.envelope = peak + (self.envelope - peak) * (1.0 - speed).powi(frames);
            return;
        }
        for frame in samples.chunks_exact_mut(CHANNELS) {
            self.process_frame(frame);
        }
    }

    /// Limits one stereo frame in place.
    #[inline]
    fn process_frame(&mut self, frame: &mut [f32]) {
        for sample in frame.iter_mut() {
            if !sample.is_finite() {
                *sample = 0.0;
            }
        }
        let peak = frame
            .iter()
            .fold(0.0f32, |peak, sample| peak.max(sample.abs()));
        let speed = if peak > self.envelope {
            self.attack
        } else {
            self.release
        };
        self.envelope += (peak - self.envelope) * speed;
        let gain = if self.envelope > THRESHOLD {
            THRESHOLD / self.envelope
        } else {
            1.0
        };
        for sample in frame.iter_mut() {
            *sample = soft_knee(*sample * gain);
        }
    }
}
