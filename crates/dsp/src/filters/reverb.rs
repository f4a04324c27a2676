//! Freeverb (Jezar's public-domain design): per channel 8 damped feedback combs in parallel,
//! then 4 all-passes in series; the right channel's delays are 23 samples longer for width.
//!
//! Parameter mapping (Freeverb's own scalings):
//! `feedback = 0.7 + 0.28 · roomSize`, `damp = 0.4 · damping`,
//! `out = (1 − wet) · dry + 3 · wet · reverb`, the input to the tank scaled by 0.015.

use minstrel_domain::filters::Reverb;

use crate::SAMPLE_RATE;

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

    #[inline]
    fn process(&mut self, input: f32, feedback: f32, damp: f32) -> f32 {
        let output = self.buffer[self.index];
        self.store = output * (1.0 - damp) + self.store * damp;
        if self.store.abs() < DENORMAL_FLOOR {
            self.store = 0.0;
        }
        self.buffer[self.index] = input + self.store * feedback;
        self.index += 1;
        if self.index == self.buffer.len() {
            self.index = 0;
        }
        output
    }

    fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.store = 0.0;
        self.index = 0;
    }
}

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

    #[inline]
    fn process(&mut self, input: f32) -> f32 {
        let delayed = self.buffer[self.index];
        let mut stored = input + delayed * ALLPASS_FEEDBACK;
        if stored.abs() < DENORMAL_FLOOR {
            stored = 0.0;
        }
        self.buffer[self.index] = stored;
        self.index += 1;
        if self.index == self.buffer.len() {
            self.index = 0;
        }
        delayed - input
    }

    fn reset(&mut self) {
        self.buffer.fill(0.0);
        self.index = 0;
    }
}

#[derive(Debug, Clone)]
struct Tank {
    combs: Vec<Comb>,
    allpasses: Vec<AllPass>,
}

impl Tank {
    fn new(spread: usize) -> Self {
        Self {
            combs: COMB_TUNINGS
                .iter()
                .map(|&length| Comb::new(scaled(length + spread)))
                .collect(),
            allpasses: ALLPASS_TUNINGS
                .iter()
                .map(|&length| AllPass::new(scaled(length + spread)))
                .collect(),
        }
    }

    #[inline]
    fn process(&mut self, input: f32, feedback: f32, damp: f32) -> f32 {
        let mut output = 0.0;
        for comb in &mut self.combs {
            output += comb.process(input, feedback, damp);
        }
        for allpass in &mut self.allpasses {
            output = allpass.process(output);
        }
        output
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
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        for frame in block.chunks_exact_mut(2) {
            let input = (frame[0] + frame[1]) * FIXED_GAIN;
            let left = self.tanks[0].process(input, self.feedback, self.damp);
            let right = self.tanks[1].process(input, self.feedback, self.damp);
            frame[0] = frame[0] * self.dry + left * self.wet;
            frame[1] = frame[1] * self.dry + right * self.wet;
        }
    }

    pub(crate) fn reset(&mut self) {
        self.tanks.iter_mut().for_each(Tank::reset);
    }
}
