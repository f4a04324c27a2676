//! Freeverb (Jezar's public-domain design): per channel 8 damped feedback combs in parallel,
//! then 4 all-passes in series; the right channel's delays are 23 samples longer for width.
//!
//! Parameter mapping (Freeverb's own scalings):
//! `feedback = 0.7 + 0.28 · roomSize`, `damp = 0.4 · damping`,
//! `out = (1 − wet) · dry + 3 · wet · reverb`, the input to the tank scaled by 0.015.

use minstrel_domain::filters::Reverb;

use crate::{FRAMES_PER_BLOCK, SAMPLE_RATE};

/// Freeverb tunings at 44.1 kHz; rescaled to our sample rate at construction.
const COMB_TUNINGS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASS_TUNINGS: [usize; 4] = [556, 441, 341, 225];
const STEREO_SPREAD: usize = 23;
const FIXED_GAIN: f32 = 0.015;
const SCALE_WET: f32 = 3.0;
const SCALE_DAMP: f32 = 0.4;
const SCALE_ROOM: f32 = 0.28;
const OFFSET_ROOM: f32 = 0.7;
const ALLPASS_FEEDBACK: f32 = 0.5;

/// Values this small are flushed to zero so a decaying tail never turns denormal (slow on x86).
const DENORMAL_FLOOR: f32 = 1e-20;

fn scaled(length: usize) -> usize {
    length * SAMPLE_RATE as usize / 44_100
}

/// Flushes `value` to zero once it is below [`DENORMAL_FLOOR`], without a branch.
#[inline]
fn flushed(value: f32) -> f32 {
    if value.abs() < DENORMAL_FLOOR {
        0.0
    } else {
        value
    }
}

/// A damped feedback comb: `out = line[n − length]`, `store = out·(1 − damp) + store·damp`,
/// `line[n] = in + store·feedback`.
#[derive(Debug, Clone)]
struct Comb {
    buffer: Vec<f32>,
    index: usize,
    store: f32,
}

impl Comb {
    fn new(length: usize) -> Self {
        Self {
            buffer: vec![0.0; length],
            index: 0,
            store: 0.0,
        }
    }

    /// Frames until the read/write position wraps.
    fn until_wrap(&self) -> usize {
        self.buffer.len() - self.index
    }

    fn advance(&mut self, frames: usize) {
        self.index += frames;
        if self.index == self.buffer.len() {
            self.index = 0;
        }
    }

    fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.store = 0.0;
        self.index = 0;
    }
}

/// A Schroeder all-pass: `out = line[n − length] − in`, `line[n] = in + line[n − length]/2`.
#[derive(Debug, Clone)]
struct AllPass {
    buffer: Vec<f32>,
    index: usize,
}

impl AllPass {
    fn new(length: usize) -> Self {
        Self {
            buffer: vec![0.0; length],
            index: 0,
        }
    }

    /// In place. No sample of a run of at most `length` frames reads what the same run wrote,
    /// so each run is a plain element-wise loop (which vectorises).
    fn process(&mut self, block: &mut [f32]) {
        let mut done = 0;
        while done < block.len() {
            let run = (self.buffer.len() - self.index).min(block.len() - done);
            let line = &mut self.buffer[self.index..self.index + run];
            for (sample, stored) in block[done..done + run].iter_mut().zip(line) {
                let delayed = *stored;
                *stored = flushed(*sample + delayed * ALLPASS_FEEDBACK);
                *sample = delayed - *sample;
            }
            self.index += run;
            if self.index == self.buffer.len() {
                self.index = 0;
            }
            done += run;
        }
    }

    fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.index = 0;
    }
}

/// One channel's reverb: the combs in parallel, then the all-passes in series.
#[derive(Debug, Clone)]
struct Tank {
    combs: [Comb; COMBS],
    allpasses: Vec<AllPass>,
}

const COMBS: usize = COMB_TUNINGS.len();

impl Tank {
    fn new(spread: usize) -> Self {
        Self {
            combs: COMB_TUNINGS.map(|length| Comb::new(scaled(length + spread))),
            allpasses: ALLPASS_TUNINGS
                .iter()
                .map(|&length| AllPass::new(scaled(length + spread)))
                .collect(),
        }
    }

    /// Writes the reverb of mono `input` into `output` (same length).
    ///
    /// The combs run side by side over runs in which none of them wraps, so the inner loop has
    /// no branches and the eight feedback paths (each a chain of dependent operations) overlap.
    fn process(&mut self, input: &[f32], output: &mut [f32], feedback: f32, damp: f32) {
        let keep = 1.0 - damp;
        let mut done = 0;
        while done < input.len() {
            let run = self
                .combs
                .iter()
                .map(Comb::until_wrap)
                .fold(input.len() - done, usize::min);
            let mut stores = self.combs.each_ref().map(|comb| comb.store);
            let mut lines = self
                .combs
                .each_mut()
                .map(|comb| &mut comb.buffer[comb.index..comb.index + run]);
            for (offset, (sample, sum)) in input[done..done + run]
                .iter()
                .zip(&mut output[done..done + run])
                .enumerate()
            {
                let mut total = 0.0;
                for (line, store) in lines.iter_mut().zip(&mut stores) {
                    let delayed = line[offset];
                    *store = flushed(delayed * keep + *store * damp);
                    line[offset] = sample + *store * feedback;
                    total += delayed;
                }
                *sum = total;
            }
            for (comb, store) in self.combs.iter_mut().zip(stores) {
                comb.store = store;
                comb.advance(run);
            }
            done += run;
        }
        for allpass in &mut self.allpasses {
            allpass.process(output);
        }
    }

    fn reset(&mut self) {
        self.combs.iter_mut().for_each(Comb::reset);
        self.allpasses.iter_mut().for_each(AllPass::reset);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ReverbFilter {
    tanks: [Tank; 2],
    feedback: f32,
    damp: f32,
    dry: f32,
    wet: f32,
    /// Per-block scratch: the tank input, then each tank's output.
    input: Vec<f32>,
    wet_signal: [Vec<f32>; 2],
}

impl ReverbFilter {
    pub(crate) fn new(spec: Reverb) -> Self {
        let wet = spec.wet.clamp(0.0, 1.0);
        Self {
            tanks: [Tank::new(0), Tank::new(STEREO_SPREAD)],
            feedback: OFFSET_ROOM + SCALE_ROOM * spec.room_size.clamp(0.0, 1.0),
            damp: SCALE_DAMP * spec.damping.clamp(0.0, 1.0),
            dry: 1.0 - wet,
            wet: SCALE_WET * wet,
            input: vec![0.0; FRAMES_PER_BLOCK],
            wet_signal: [vec![0.0; FRAMES_PER_BLOCK], vec![0.0; FRAMES_PER_BLOCK]],
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let frames = chunk.len() / 2;
            let input = &mut self.input[..frames];
            for (mono, frame) in input.iter_mut().zip(chunk.chunks_exact(2)) {
                *mono = (frame[0] + frame[1]) * FIXED_GAIN;
            }
            for (tank, wet_signal) in self.tanks.iter_mut().zip(&mut self.wet_signal) {
                tank.process(input, &mut wet_signal[..frames], self.feedback, self.damp);
            }
            let [left, right] = &self.wet_signal;
            for ((frame, left), right) in chunk.chunks_exact_mut(2).zip(left).zip(right) {
                frame[0] = frame[0] * self.dry + left * self.wet;
                frame[1] = frame[1] * self.dry + right * self.wet;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.tanks.iter_mut().for_each(Tank::reset);
    }
}
