//! Freeverb (Jezar's public-domain design): per channel 8 damped feedback combs in parallel,
//! then 4 all-passes in series; the right channel's delays are 23 samples longer for width.
//!
//! Parameter mapping (Freeverb's own scalings):
//! `feedback = 0.7 + 0.28 · roomSize`, `damp = 0.4 · damping`,
//! `out = (1 − wet) · dry + 3 · wet · reverb`, the input to the tank scaled by 0.015.
//!
//! The combs have two kernels that compute the same thing: with AVX2 + FMA, [`bank`] runs a
//! tank's eight combs as the eight lanes of a vector (explicit SIMD through `pulp`); on other
//! CPUs, [`run_combs`] runs one comb at a time, eight samples to a vector.

use minstrel_domain::filters::Reverb;

use crate::kernel::{dispatched, mul_add};
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

/// Values this small are flushed to zero so a decaying tail never turns denormal (slow on x86):
/// the combs' carried stores, once per block.
const DENORMAL_FLOOR: f32 = 1e-20;

/// Added to every sample of the tanks' input, so that no value inside them ever decays into the
/// denormal range (slow on x86): after silence the combs and all-passes settle on a constant of
/// at most `ANTI_DENORMAL / (1 − feedback) ≈ 5e-19` per comb instead of decaying towards zero.
/// It reaches the output as a constant below 1e-16, some 320 dB under full scale. Flushing each
/// new line sample instead cost three vector operations per frame in the comb bank's loop.
const ANTI_DENORMAL: f32 = 1e-20;

fn scaled(length: usize) -> usize {
    length * SAMPLE_RATE as usize / 44_100
}

/// Flushes `value` to zero once it is below [`DENORMAL_FLOOR`], without a branch.
#[inline(always)]
fn flushed(value: f32) -> f32 {
    if value.abs() < DENORMAL_FLOOR {
        0.0
    } else {
        value
    }
}

/// Blocks of headroom in a comb's history beyond the one being written: the history is moved
/// back to its start once every this many blocks. 12 costs about 56 KB per comb (0.9 MB for a
/// reverb's 16); fewer blocks move the history more often, and the move is then a noticeable
/// share of the reverb's time.
const HISTORY_BLOCKS: usize = 12;

/// A damped feedback comb: `out = line[n − length]`, `store = out·(1 − damp) + store·damp`,
/// `line[n] = in + store·feedback`.
///
/// The line is a linear history rather than a ring, so a block's reads and writes are each one
/// contiguous run and need no copies: `history[head .. head + length]` are the last `length`
/// samples written (the oldest first), a block reads the first `frames` of them and appends
/// `frames` new ones after them. When the appended ones would not fit, the live part moves back
/// to the start (once every [`HISTORY_BLOCKS`] blocks). `head` never drops below `SCAN`: the
/// scan reads up to `SCAN − 1` samples before the run (with zero weights).
#[derive(Debug, Clone)]
struct Comb {
    history: Vec<f32>,
    head: usize,
    length: usize,
    store: f32,
}

impl Comb {
    fn new(length: usize) -> Self {
        Self {
            history: vec![0.0; SCAN + length + (HISTORY_BLOCKS + 1) * FRAMES_PER_BLOCK],
            head: SCAN,
            length,
            store: 0.0,
        }
    }

    /// Makes room for `frames` new samples; returns the delayed line (`line[SCAN + i]` is
    /// frame `i`'s, after `SCAN` older samples) and the run the new samples go to.
    fn runs(&mut self, frames: usize) -> (&[f32], &mut [f32]) {
        debug_assert!(frames <= self.length.min(FRAMES_PER_BLOCK));
        if self.head + self.length + frames > self.history.len() {
            self.history
                .copy_within(self.head..self.head + self.length, SCAN);
            self.head = SCAN;
        }
        let (past, future) = self.history.split_at_mut(self.head + self.length);
        (
            &past[self.head - SCAN..self.head + frames],
            &mut future[..frames],
        )
    }
    fn reset(&mut self) {
        self.history.fill(0.0);
        self.store = 0.0;
        self.head = SCAN;
    }
}

/// Runs `G` combs side by side over `input` (at most one block, and no longer than any comb,
/// so no sample of it reads what it writes) and adds their delayed lines to `total`.
///
/// The damping recurrence `store[i] = keep·line[i] + damp·store[i−1]` is computed eight
/// samples at a time rather than sample by sample: within a chunk of eight,
/// `store[i+l] = Σⱼ≤ₗ keep·dampʲ·line[i+l−j] + dampˡ⁺¹·store[i−1]`, which is eight
/// independent multiply-adds on shifted copies of the line and one carried value per chunk
/// (see [`DampingScan`]). That carried value is a chain of dependent operations per comb, so
/// several combs run in the same loop to overlap their chains. Everything else is
/// element-wise.
#[inline(always)]
fn run_combs<const FMA: bool, const G: usize>(
    combs: &mut [Comb; G],
    input: &[f32],
    total: &mut [f32],
    scan: &DampingScan,
) {
    let frames = input.len();
    let mut stores = combs.each_ref().map(|comb| comb.store);
    let mut runs = combs.each_mut().map(|comb| comb.runs(frames));
    for (line, _) in &runs {
        for (sum, delayed) in total.iter_mut().zip(&line[SCAN..]) {
            *sum += delayed;
        }
    }
    let whole = frames - frames % SCAN;
    for (chunk, input) in input[..whole].as_chunks::<SCAN>().0.iter().enumerate() {
        let start = SCAN + chunk * SCAN;
        for ((line, written), store) in runs.iter_mut().zip(&mut stores) {
            // Two partial sums of the shifted lines, then the carried store last: only that
            // one multiply-add waits for the previous chunk.
            let mut partial = [[0.0f32; SCAN]; 2];
            // The chunk and the `SCAN − 1` samples before it, taken once (one bounds check).
            let Some(window) = line[start + 1 - SCAN..start + SCAN].as_array::<WINDOW>() else {
                unreachable!("a slice of WINDOW samples")
            };
            for (shift, weights) in scan.weights.iter().enumerate() {
                let Some(shifted) = window[SCAN - 1 - shift..][..SCAN].as_array::<SCAN>() else {
                    unreachable!("a slice of SCAN samples")
                };
                partial[shift % 2] = fused::<FMA>(weights, shifted, partial[shift % 2]);
            }
            let mut lines = partial[0];
            for (line, second) in lines.iter_mut().zip(&partial[1]) {
                *line += second;
            }
            let chunk_stores = fused::<FMA>(&scan.carry, &[*store; SCAN], lines);
            let Some(written) = written[start - SCAN..start].as_mut_array::<SCAN>() else {
                unreachable!("a slice of SCAN samples")
            };
            *written = fused::<FMA>(&[scan.feedback; SCAN], &chunk_stores, *input);
            // The chunk's last store, `carry[last] · store + lines[last]`, recomputed in
            // scalars: the carried chain is then a multiply and an add per chunk, where
            // taking it from the vector (broadcast, multiply-add, extract) was longer. Not
            // fused on purpose, or the compiler merges it with the vector's last lane.
            *store = scan.carry[SCAN - 1] * *store + lines[SCAN - 1];
        }
    }
    for ((line, written), store) in runs.iter_mut().zip(&mut stores) {
        for ((written, input), delayed) in written[whole..]
            .iter_mut()
            .zip(&input[whole..])
            .zip(&line[SCAN + whole..])
        {
            *written = scan.step::<FMA>(store, *delayed, *input);
        }
    }
    for (comb, store) in combs.iter_mut().zip(stores) {
        comb.store = flushed(store);
        comb.head += frames;
    }
}

/// Combs run side by side by [`run_combs`].
const COMB_GROUP: usize = 1;

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
    #[inline(always)]
    fn process(&mut self, block: &mut [f32]) {
        let mut done = 0;
        while done < block.len() {
            let run = (self.buffer.len() - self.index).min(block.len() - done);
            let line = &mut self.buffer[self.index..self.index + run];
            for (sample, stored) in block[done..done + run].iter_mut().zip(line) {
                let delayed = *stored;
                *stored = *sample + delayed * ALLPASS_FEEDBACK;
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

    /// Writes the reverb of mono `input` into `output` (same length, at most one block).
    #[inline(always)]
    fn process<const FMA: bool>(
        &mut self,
        input: &[f32],
        output: &mut [f32],
        scan: &DampingScan,
        lanes: Option<bank::Simd>,
    ) {
        output.fill(0.0);
        if let Some(simd) = lanes {
            bank::run(simd, &mut self.combs, input, output, scan);
        } else {
            for group in self.combs.as_chunks_mut::<COMB_GROUP>().0 {
                run_combs::<FMA, COMB_GROUP>(group, input, output, scan);
            }
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

/// `a · b + c` lane by lane (fused with `FMA`), as one vector operation.
#[inline(always)]
fn fused<const FMA: bool>(a: &[f32; SCAN], b: &[f32; SCAN], c: [f32; SCAN]) -> [f32; SCAN] {
    // A plain loop over the lanes, not `array::from_fn`: its closure is one more inlining
    // decision, and when the compiler made it differently the kernel came out in half-width
    // vectors at half the speed.
    let mut out = c;
    for ((out, a), b) in out.iter_mut().zip(a).zip(b) {
        *out = mul_add::<FMA>(*a, *b, *out);
    }
    out
}

/// Samples per chunk of the damping recurrence (see [`run_combs`]): one AVX register.
const SCAN: usize = 8;
/// A chunk and the `SCAN − 1` samples before it.
const WINDOW: usize = 2 * SCAN - 1;

/// The combs' shared constants, with the weights that compute the damping recurrence a chunk
/// at a time: `weights[j][l] = keep · dampʲ` where `l ≥ j` (else 0), `carry[l] = dampˡ⁺¹`.
#[derive(Debug, Clone)]
struct DampingScan {
    keep: f32,
    damp: f32,
    feedback: f32,
    weights: [[f32; SCAN]; SCAN],
    carry: [f32; SCAN],
}

impl DampingScan {
    /// One frame of one comb, sample by sample: `store = keep·delayed + damp·store`, and the
    /// returned new line sample `feedback·store + input`. Both kernels' frames after
    /// their last whole chunk.
    #[inline(always)]
    fn step<const FMA: bool>(&self, store: &mut f32, delayed: f32, input: f32) -> f32 {
        *store = mul_add::<FMA>(self.keep, delayed, self.damp * *store);
        mul_add::<FMA>(self.feedback, *store, input)
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    fn new(damp: f32, feedback: f32) -> Self {
        let keep = 1.0 - damp;
        let power = |exponent: usize| f64::from(damp).powi(exponent as i32);
        #[allow(clippy::cast_possible_truncation)]
        let weights = std::array::from_fn(|shift| {
            std::array::from_fn(|lane| {
                if lane >= shift {
                    (f64::from(keep) * power(shift)) as f32
                } else {
                    0.0
                }
            })
        });
        #[allow(clippy::cast_possible_truncation)]
        let carry = std::array::from_fn(|lane| power(lane + 1) as f32);
        Self {
            keep,
            damp,
            feedback,
            weights,
            carry,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ReverbFilter {
    tanks: [Tank; 2],
    scan: DampingScan,
    dry: f32,
    wet: f32,
    /// Per-block scratch: the tank input, then each tank's output.
    input: Vec<f32>,
    wet_signal: [Vec<f32>; 2],
    /// AVX2 + FMA, when the CPU has them: the combs then run as vector lanes ([`bank`]).
    lanes: Option<bank::Simd>,
}

impl ReverbFilter {
    pub(crate) fn new(spec: Reverb) -> Self {
        let wet = spec.wet.clamp(0.0, 1.0);
        Self {
            tanks: [Tank::new(0), Tank::new(STEREO_SPREAD)],
            scan: DampingScan::new(
                SCALE_DAMP * spec.damping.clamp(0.0, 1.0),
                OFFSET_ROOM + SCALE_ROOM * spec.room_size.clamp(0.0, 1.0),
            ),
            dry: 1.0 - wet,
            wet: SCALE_WET * wet,
            input: vec![0.0; FRAMES_PER_BLOCK],
            wet_signal: [vec![0.0; FRAMES_PER_BLOCK], vec![0.0; FRAMES_PER_BLOCK]],
            lanes: bank::detect(),
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        reverberate(self, block);
    }

    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let frames = chunk.len() / 2;
            let input = &mut self.input[..frames];
            for (mono, frame) in input.iter_mut().zip(chunk.chunks_exact(2)) {
                // A non-finite input would stay in the lines for good: it enters as silence.
                let sum = frame[0] + frame[1];
                let sum = if sum.is_finite() { sum } else { 0.0 };
                *mono = mul_add::<FMA>(sum, FIXED_GAIN, ANTI_DENORMAL);
            }
            for (tank, wet_signal) in self.tanks.iter_mut().zip(&mut self.wet_signal) {
                tank.process::<FMA>(input, &mut wet_signal[..frames], &self.scan, self.lanes);
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

dispatched! {
    /// The reverb's block loop, for the CPU at hand.
    fn reverberate(filter: &mut ReverbFilter, block: &mut [f32]) => process_inline
}

/// The eight combs of a tank as the eight lanes of one AVX vector, where [`run_combs`] puts
/// eight samples of one comb in a vector: the damping recurrence is then one multiply-add per
/// frame for all eight combs, with no scan. Each comb's line stays a linear history, so eight
/// frames of the eight delayed lines are loaded as eight vectors, transposed to eight frames
/// of all combs, run, and the eight new frames transposed back and stored. Explicit AVX2
/// through `pulp`'s safe wrappers (its `V3` token proves the CPU has them), so neither the
/// transposes nor the lane layout depend on what the compiler makes of array code.
mod bank {
    pub(super) use crate::kernel::{Simd, detect_simd as detect};

    use super::{Comb, DampingScan};

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn run(simd: Simd, _: &mut [Comb; 8], _: &[f32], _: &mut [f32], _: &DampingScan) {
        match simd {}
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) use self::x86::run;

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::x86_64::__m256;

        use pulp::{cast, f32x8};

        use super::super::{SCAN, flushed};
        use super::{Comb, DampingScan, Simd};

        /// Rows to columns: `out[j]` lane `i` is `rows[i]` lane `j`.
        #[inline(always)]
        fn transpose(simd: Simd, rows: [f32x8; 8]) -> [f32x8; 8] {
            let avx = simd.avx;
            let r: [__m256; 8] = rows.map(cast);
            let t = [
                avx._mm256_unpacklo_ps(r[0], r[1]),
                avx._mm256_unpackhi_ps(r[0], r[1]),
                avx._mm256_unpacklo_ps(r[2], r[3]),
                avx._mm256_unpackhi_ps(r[2], r[3]),
                avx._mm256_unpacklo_ps(r[4], r[5]),
                avx._mm256_unpackhi_ps(r[4], r[5]),
                avx._mm256_unpacklo_ps(r[6], r[7]),
                avx._mm256_unpackhi_ps(r[6], r[7]),
            ];
            let u = [
                avx._mm256_shuffle_ps::<0x44>(t[0], t[2]),
                avx._mm256_shuffle_ps::<0xEE>(t[0], t[2]),
                avx._mm256_shuffle_ps::<0x44>(t[1], t[3]),
                avx._mm256_shuffle_ps::<0xEE>(t[1], t[3]),
                avx._mm256_shuffle_ps::<0x44>(t[4], t[6]),
                avx._mm256_shuffle_ps::<0xEE>(t[4], t[6]),
                avx._mm256_shuffle_ps::<0x44>(t[5], t[7]),
                avx._mm256_shuffle_ps::<0xEE>(t[5], t[7]),
            ];
            [
                cast(avx._mm256_permute2f128_ps::<0x20>(u[0], u[4])),
                cast(avx._mm256_permute2f128_ps::<0x20>(u[1], u[5])),
                cast(avx._mm256_permute2f128_ps::<0x20>(u[2], u[6])),
                cast(avx._mm256_permute2f128_ps::<0x20>(u[3], u[7])),
                cast(avx._mm256_permute2f128_ps::<0x31>(u[0], u[4])),
                cast(avx._mm256_permute2f128_ps::<0x31>(u[1], u[5])),
                cast(avx._mm256_permute2f128_ps::<0x31>(u[2], u[6])),
                cast(avx._mm256_permute2f128_ps::<0x31>(u[3], u[7])),
            ]
        }

        /// Runs the eight `combs` over `input` (at most one block, no longer than any comb)
        /// and adds their delayed lines to `total`.
        pub(in super::super) fn run(
            simd: Simd,
            combs: &mut [Comb; 8],
            input: &[f32],
            total: &mut [f32],
            scan: &DampingScan,
        ) {
            simd.vectorize(RunCombs {
                simd,
                combs,
                input,
                total,
                scan,
            });
        }

        /// [`run_inline`] as `pulp` runs it with AVX2 + FMA enabled: a struct with an
        /// `#[inline(always)]` method, not a closure, because only what is inlined into
        /// `pulp`'s entry point gets its CPU features and a closure is inlined at the
        /// compiler's discretion, and out of line it runs without them.
        struct RunCombs<'a> {
            simd: Simd,
            combs: &'a mut [Comb; 8],
            input: &'a [f32],
            total: &'a mut [f32],
            scan: &'a DampingScan,
        }

        impl pulp::NullaryFnOnce for RunCombs<'_> {
            type Output = ();

            #[inline(always)]
            fn call(self) {
                run_inline(self.simd, self.combs, self.input, self.total, self.scan);
            }
        }

        #[inline(always)]
        fn run_inline(
            simd: Simd,
            combs: &mut [Comb; 8],
            input: &[f32],
            total: &mut [f32],
            scan: &DampingScan,
        ) {
            let frames = input.len();
            let mut stores = [0.0f32; 8];
            for (store, comb) in stores.iter_mut().zip(combs.iter()) {
                *store = comb.store;
            }
            let mut runs = combs.each_mut().map(|comb| comb.runs(frames));
            // The store is carried divided by `keep` (at least 0.6), so each frame's update is
            // one multiply-add, `store/keep ← damp · store/keep + delayed`, and the feedback
            // takes `keep` instead: `line = feedback · keep · store/keep + input`.
            let damp = simd.splat_f32x8(scan.damp);
            let damp_squared = simd.splat_f32x8(scan.damp * scan.damp);
            let feedback = simd.splat_f32x8(scan.feedback * scan.keep);
            let zero = simd.splat_f32x8(0.0);
            let mut scaled = [0.0f32; 8];
            for (scaled, store) in scaled.iter_mut().zip(stores) {
                *scaled = store / scan.keep;
            }
            let mut store: f32x8 = cast(scaled);
            let steps = frames / 8;
            let whole = steps * 8;
            // Each comb's delayed run and new run as `steps` chunks of eight, all of the same
            // length, so indexing them by step needs no bounds check of its own.
            let lines = runs
                .each_ref()
                .map(|(line, _)| &line[SCAN..SCAN + whole].as_chunks::<8>().0[..steps]);
            let (inputs, _) = input[..whole].as_chunks::<8>();
            let (totals, _) = total[..whole].as_chunks_mut::<8>();
            let mut written_runs = runs
                .each_mut()
                .map(|(_, run)| &mut run[..whole].as_chunks_mut::<8>().0[..steps]);
            for (step, (inputs, sum)) in inputs.iter().zip(totals.iter_mut()).enumerate() {
                let mut delayed = [zero; 8];
                for (delayed, line) in delayed.iter_mut().zip(&lines) {
                    *delayed = cast(line[step]);
                }
                let pairs = [
                    simd.add_f32x8(delayed[0], delayed[1]),
                    simd.add_f32x8(delayed[2], delayed[3]),
                    simd.add_f32x8(delayed[4], delayed[5]),
                    simd.add_f32x8(delayed[6], delayed[7]),
                ];
                let all = simd.add_f32x8(
                    simd.add_f32x8(pairs[0], pairs[1]),
                    simd.add_f32x8(pairs[2], pairs[3]),
                );
                *sum = cast(simd.add_f32x8(cast(*sum), all));
                // The stores two frames at a time: `store[k+1] = damp² · store[k−1] + (damp ·
                // delayed[k] + delayed[k+1])`, the bracket not waiting for the chain, and
                // `store[k]` beside it. The chain carried through the step is four
                // multiply-adds instead of eight (it bounded the loop).
                let delayed = transpose(simd, delayed);
                let mut stores = [zero; 8];
                for pair in 0..4 {
                    let (first, second) = (2 * pair, 2 * pair + 1);
                    let ahead = simd.mul_add_f32x8(damp, delayed[first], delayed[second]);
                    stores[first] = simd.mul_add_f32x8(damp, store, delayed[first]);
                    store = simd.mul_add_f32x8(damp_squared, store, ahead);
                    stores[second] = store;
                }
                let mut written = [zero; 8];
                for ((written, store), input) in written.iter_mut().zip(stores).zip(inputs) {
                    *written = simd.mul_add_f32x8(feedback, store, simd.splat_f32x8(*input));
                }
                for (run, samples) in written_runs.iter_mut().zip(transpose(simd, written)) {
                    run[step] = cast(samples);
                }
            }
            let scaled: [f32; 8] = cast(store);
            for (store, scaled) in stores.iter_mut().zip(scaled) {
                *store = scaled * scan.keep;
            }
            for frame in whole..frames {
                for ((line, run), store) in runs.iter_mut().zip(&mut stores) {
                    let delayed = line[SCAN + frame];
                    total[frame] += delayed;
                    run[frame] = scan.step::<true>(store, delayed, input[frame]);
                }
            }
            for (comb, store) in combs.iter_mut().zip(stores) {
                comb.store = flushed(store);
                comb.head += frames;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Freeverb's comb as written, one sample at a time.
    struct ReferenceComb {
        buffer: Vec<f32>,
        index: usize,
        store: f32,
    }

    impl ReferenceComb {
        fn process(&mut self, input: f32, damp: f32, feedback: f32) -> f32 {
            let delayed = self.buffer[self.index];
            self.store = delayed * (1.0 - damp) + self.store * damp;
            self.buffer[self.index] = input + self.store * feedback;
            self.index = (self.index + 1) % self.buffer.len();
            delayed
        }
    }

    fn chunked_comb_matches_the_sample_by_sample_comb<const FMA: bool>() {
        let (damp, feedback) = (0.2, 0.84);
        let length = scaled(COMB_TUNINGS[0]);
        let scan = DampingScan::new(damp, feedback);
        let mut comb = Comb::new(length);
        let mut reference = ReferenceComb {
            buffer: vec![0.0; length],
            index: 0,
            store: 0.0,
        };
        let mut noise = crate::tests::white_noise(0x1234_5678);
        // Odd lengths and lengths that make the line wrap inside a block.
        for frames in [960, 333, 960, 7, 960, 1, 960, 959, 960, 960, 960] {
            let input: Vec<f32> = (0..frames).map(|_| noise()).collect();
            let mut total = vec![0.0; frames];
            run_combs::<FMA, 1>(std::array::from_mut(&mut comb), &input, &mut total, &scan);
            for (sample, (input, total)) in input.iter().zip(&total).enumerate() {
                let expected = reference.process(*input, damp, feedback);
                assert!(
                    (total - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                    "block of {frames}, sample {sample}: {total} against {expected}"
                );
            }
        }
    }

    /// The lane-per-comb bank against eight of Freeverb's sample-by-sample combs, on the
    /// right tank's lengths, with blocks that leave partial steps of eight.
    #[test]
    fn comb_bank_matches_freeverb() {
        let Some(simd) = bank::detect() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI's machine has AVX2 + FMA, so the bank must be compared"
            );
            eprintln!("no AVX2 + FMA here: the bank is not used, nothing to compare");
            return;
        };
        let (damp, feedback) = (0.3, 0.9);
        let scan = DampingScan::new(damp, feedback);
        let lengths = COMB_TUNINGS.map(|length| scaled(length + STEREO_SPREAD));
        let mut combs = lengths.map(Comb::new);
        let mut references = lengths.map(|length| ReferenceComb {
            buffer: vec![0.0; length],
            index: 0,
            store: 0.0,
        });
        let mut noise = crate::tests::white_noise(0x0BAD_5EED);
        for frames in [960, 333, 960, 7, 960, 1, 960, 959, 960, 960, 960, 960] {
            let input: Vec<f32> = (0..frames).map(|_| noise()).collect();
            let mut total = vec![0.0; frames];
            bank::run(simd, &mut combs, &input, &mut total, &scan);
            for (sample, (input, total)) in input.iter().zip(&total).enumerate() {
                let expected: f32 = references
                    .iter_mut()
                    .map(|reference| reference.process(*input, damp, feedback))
                    .sum();
                assert!(
                    (total - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                    "block of {frames}, sample {sample}: {total} against {expected}"
                );
            }
        }
    }

    /// Every value the reverb keeps: comb lines and stores, all-pass lines.
    fn state(reverb: &ReverbFilter) -> impl Iterator<Item = f32> + '_ {
        reverb.tanks.iter().flat_map(|tank| {
            let combs = tank
                .combs
                .iter()
                .flat_map(|comb| comb.history.iter().copied().chain([comb.store]));
            let allpasses = tank
                .allpasses
                .iter()
                .flat_map(|allpass| allpass.buffer.iter().copied());
            combs.chain(allpasses)
        })
    }

    /// A loud burst, then a minute of silence: no value in the tanks ever turns subnormal
    /// (checked every 100 ms; the smallest room decays fastest, through that range within
    /// the first 15 s without a floor), and the output stays below 1e-15 once the tail has
    /// died.
    #[test]
    fn a_dying_tail_never_turns_subnormal() {
        let spec = Reverb {
            room_size: 0.0,
            damping: 0.0,
            wet: 1.0,
        };
        let mut noise = crate::tests::white_noise(0xDEC_A7ED);
        let burst: Vec<f32> = (0..FRAMES_PER_BLOCK * 2).map(|_| noise()).collect();
        let silence = vec![0.0f32; FRAMES_PER_BLOCK * 2];
        let mut reverb = ReverbFilter::new(spec);
        let mut block = burst.clone();
        reverb.process(&mut block);
        let blocks_per_second = SAMPLE_RATE as usize / FRAMES_PER_BLOCK;
        for index in 0..60 * blocks_per_second {
            block.copy_from_slice(&silence);
            reverb.process(&mut block);
            if index % 5 == 0 {
                let subnormal = state(&reverb).filter(|value| value.is_subnormal()).count();
                assert_eq!(subnormal, 0, "block {index}: {subnormal} subnormal values");
            }
            if index > 50 * blocks_per_second {
                let loudest = block
                    .iter()
                    .fold(0.0f32, |most, sample| most.max(sample.abs()));
                assert!(
                    loudest < 1e-15,
                    "block {index}: the dead tail left {loudest}"
                );
            }
        }
    }

    /// A non-finite input sample enters the tanks as silence instead of filling them with NaN.
    #[test]
    fn a_non_finite_input_does_not_poison_the_tail() {
        let mut reverb = ReverbFilter::new(Reverb {
            room_size: 0.8,
            damping: 0.3,
            wet: 0.5,
        });
        let mut noise = crate::tests::white_noise(0x0BAD_F00D);
        let mut block: Vec<f32> = (0..FRAMES_PER_BLOCK * 2).map(|_| 0.5 * noise()).collect();
        block[100] = f32::NAN;
        block[301] = f32::INFINITY;
        reverb.process(&mut block);
        for _ in 0..20 {
            let mut block: Vec<f32> = (0..FRAMES_PER_BLOCK * 2).map(|_| 0.5 * noise()).collect();
            reverb.process(&mut block);
            assert!(block.iter().all(|sample| sample.is_finite()));
        }
        assert!(state(&reverb).all(f32::is_finite));
    }

    #[test]
    fn chunked_comb_matches_freeverb_with_and_without_fma() {
        chunked_comb_matches_the_sample_by_sample_comb::<false>();
        chunked_comb_matches_the_sample_by_sample_comb::<true>();
    }
}
