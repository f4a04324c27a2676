//! Filters driven by a low-frequency oscillator: rotation ("8D"), tremolo and vibrato.
//!
//! Every oscillator starts at the phase where the filter is transparent (centre pan, full
//! volume, mid delay), so enabling one never jumps.
//!
//! The oscillator's shape (the trigonometry) is evaluated exactly at control points and
//! interpolated linearly in between, so the per-frame work is a multiply-add. Control points are
//! `216 / f` frames apart (4 ..= 120 frames): a linearly interpolated cosine is off by at most
//! `(2π f h)² / 8` of its amplitude for a spacing of `h` seconds, which keeps the error below
//! 0.01 % of the depth, and below 0.04 % above 54 Hz where the 4-frame minimum applies.

use std::f32::consts::{FRAC_PI_4, SQRT_2, TAU};

use minstrel_domain::filters::{Oscillation, Rotation};

use crate::kernel::{Simd, copy_samples, detect_simd, dispatched, mul_add};
use crate::{FRAMES_PER_BLOCK, SAMPLE_RATE};

/// Control-point spacing in frames is this divided by the frequency in Hz (see the module doc).
const CONTROL_FRAMES_HZ: f64 = 216.0;
const MIN_CONTROL_FRAMES: f64 = 4.0;
const MAX_CONTROL_FRAMES: f64 = 120.0;

/// Phase accumulator in cycles, kept in `0 ..= 1` so `f32` precision never degrades.
#[derive(Debug, Clone)]
struct Oscillator {
    phase: f64,
    increment: f64,
    /// Frames between two exact evaluations of the shape.
    control_frames: usize,
}

impl Oscillator {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn new(frequency_hz: f32) -> Self {
        let frequency = f64::from(frequency_hz);
        let control_frames = (CONTROL_FRAMES_HZ / frequency.max(f64::MIN_POSITIVE))
            .clamp(MIN_CONTROL_FRAMES, MAX_CONTROL_FRAMES) as usize;
        Self {
            phase: 0.0,
            increment: frequency / f64::from(SAMPLE_RATE),
            control_frames,
        }
    }

    /// Angle in radians `frames` frames from now.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    fn angle_in(&self, frames: usize) -> f32 {
        ((self.phase + self.increment * frames as f64).fract() as f32) * TAU
    }

    #[allow(clippy::cast_precision_loss)]
    fn advance(&mut self, frames: usize) {
        self.phase = (self.phase + self.increment * frames as f64).fract();
    }

    fn reset(&mut self) {
        self.phase = 0.0;
    }

    /// Calls `apply(segment, start, step)` for every control segment of `block` (whole stereo
    /// frames), where the value at frame `i` of the segment is `start + step · i`: `shape(angle)`
    /// exactly at every control point, linear in between. Advances the phase by the block's
    /// length.
    #[inline(always)]
    #[allow(clippy::cast_precision_loss)]
    fn segments<const N: usize>(
        &mut self,
        block: &mut [f32],
        shape: impl Fn(f32) -> [f32; N],
        mut apply: impl FnMut(&mut [f32], [f32; N], [f32; N]),
    ) {
        let mut start = shape(self.angle_in(0));
        for segment in block.chunks_mut(self.control_frames * 2) {
            let frames = segment.len() / 2;
            let end = shape(self.angle_in(frames));
            let mut step = [0.0f32; N];
            for ((step, start), end) in step.iter_mut().zip(&start).zip(&end) {
                *step = (end - start) / frames as f32;
            }
            apply(segment, start, step);
            self.advance(frames);
            start = end;
        }
    }

    /// Multiplies every sample of `block` by the value for its frame (as in
    /// [`segments`](Self::segments)), both channels by the one value when `N` is 1 and
    /// channel `c` by element `c` when it is 2. Four frames (eight lanes) at a time.
    #[inline(always)]
    fn scale<const N: usize>(&mut self, block: &mut [f32], shape: impl Fn(f32) -> [f32; N]) {
        self.segments(block, shape, |segment, start, step| {
            let (groups, rest) = segment.as_chunks_mut::<8>();
            for (group_index, group) in groups.iter_mut().enumerate() {
                let gains = frame_lanes(start, step, 4 * group_index);
                for (sample, gain) in group.iter_mut().zip(gains) {
                    *sample *= gain;
                }
            }
            let first = 4 * groups.len();
            for (k, frame) in rest.chunks_exact_mut(2).enumerate() {
                let value = value_at(start, step, first + k);
                for (channel, sample) in frame.iter_mut().enumerate() {
                    *sample *= value[channel % N];
                }
            }
        });
    }

    /// Calls `apply(frame, value)` for every stereo frame of `block`, with `value` as in
    /// [`segments`](Self::segments): the plain loop the grouped ones must match.
    #[cfg(test)]
    fn modulate<const N: usize>(
        &mut self,
        block: &mut [f32],
        shape: impl Fn(f32) -> [f32; N],
        mut apply: impl FnMut(&mut [f32], [f32; N]),
    ) {
        self.segments(block, shape, |segment, start, step| {
            for (index, frame) in segment.chunks_exact_mut(2).enumerate() {
                apply(frame, value_at(start, step, index));
            }
        });
    }
}

/// `start + step · index`, per element.
#[inline(always)]
#[allow(clippy::cast_precision_loss)]
fn value_at<const N: usize>(start: [f32; N], step: [f32; N], index: usize) -> [f32; N] {
    let mut value = start;
    for (value, step) in value.iter_mut().zip(&step) {
        *value += step * index as f32;
    }
    value
}

/// [`value_at`] for the four frames from `first`, two lanes per frame (`[frame 0 left,
/// frame 0 right, frame 1 left, …]`): element `c % N` of the value for channel `c`. Bit for
/// bit the same values, computed as one vector.
#[inline(always)]
#[allow(clippy::cast_precision_loss)]
fn frame_lanes<const N: usize>(start: [f32; N], step: [f32; N], first: usize) -> [f32; 8] {
    let base = first as f32;
    let offsets: [f32; 8] = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
    std::array::from_fn(|lane| {
        let element = lane % 2 % N;
        start[element] + step[element] * (base + offsets[lane])
    })
}

/// [`Oscillator::scale`] in explicit AVX2 through `pulp` (its `V3` token proves the CPU has
/// it): per segment the start and step are spread over the eight lanes once, and each group of
/// four frames is an add, a multiply and an add for the gains and a multiply for the samples,
/// the same operations in the same order as [`frame_lanes`], so the same values bit for bit.
/// The compiler's version of the generic loop rebuilt the lanes with shuffles every group.
mod lanes {
    use super::{Oscillator, Simd};

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn scale<const N: usize>(
        simd: Simd,
        _: &mut Oscillator,
        _: &mut [f32],
        _: impl Fn(f32) -> [f32; N],
    ) {
        match simd {}
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) fn scale<const N: usize>(
        simd: Simd,
        oscillator: &mut Oscillator,
        block: &mut [f32],
        shape: impl Fn(f32) -> [f32; N],
    ) {
        simd.vectorize(x86::Scale {
            simd,
            oscillator,
            block,
            shape,
        });
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use pulp::{cast, f32x8};

        use super::super::value_at;
        use super::{Oscillator, Simd};

        /// The loop as `pulp` runs it with AVX2 + FMA enabled: a struct with an
        /// `#[inline(always)]` method, not a closure (see the reverb's comb bank). The segments
        /// come from [`Oscillator::segments`], as for the vibrato.
        pub(super) struct Scale<'a, const N: usize, F> {
            pub(super) simd: Simd,
            pub(super) oscillator: &'a mut Oscillator,
            pub(super) block: &'a mut [f32],
            pub(super) shape: F,
        }

        impl<const N: usize, F: Fn(f32) -> [f32; N]> pulp::NullaryFnOnce for Scale<'_, N, F> {
            type Output = ();

            #[inline(always)]
            fn call(self) {
                let Self {
                    simd,
                    oscillator,
                    block,
                    shape,
                } = self;
                oscillator.segments(block, shape, |segment, start, step| {
                    scale_segment(simd, segment, start, step);
                });
            }
        }

        /// One segment: lane `l` of a group is channel `l % 2`'s value for frame `l / 2`.
        #[inline(always)]
        #[allow(clippy::cast_precision_loss)]
        fn scale_segment<const N: usize>(
            simd: Simd,
            segment: &mut [f32],
            start: [f32; N],
            step: [f32; N],
        ) {
            let spread = |values: [f32; N]| -> f32x8 {
                cast::<[f32; 8], f32x8>(std::array::from_fn(|lane| values[lane % 2 % N]))
            };
            let (starts, steps) = (spread(start), spread(step));
            let mut frame: f32x8 = cast([0.0f32, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
            let four = simd.splat_f32x8(4.0);
            let (groups, rest) = segment.as_chunks_mut::<8>();
            for group in groups.iter_mut() {
                let gains = simd.add_f32x8(starts, simd.mul_f32x8(steps, frame));
                *group = cast(simd.mul_f32x8(cast(*group), gains));
                frame = simd.add_f32x8(frame, four);
            }
            let first = 4 * groups.len();
            for (k, frame) in rest.chunks_exact_mut(2).enumerate() {
                let value = value_at(start, step, first + k);
                for (channel, sample) in frame.iter_mut().enumerate() {
                    *sample *= value[channel % N];
                }
            }
        }
    }
}

/// Pans the stereo image around the listener: `sin` of the rotation angle drives a
/// constant-power pan (both channels at unity when centred, one at +3 dB and the other silent
/// at the extremes). Positive sine pans right.
#[derive(Debug, Clone)]
pub(crate) struct RotationFilter {
    oscillator: Oscillator,
    /// AVX2 + FMA, when the CPU has them: the gains are then applied by [`lanes`].
    simd: Option<Simd>,
}

/// The rotation's gains `[left, right]` at `angle`: a constant-power pan by `sin angle`.
fn pan(angle: f32) -> [f32; 2] {
    let position = angle.sin();
    let (right, left) = (FRAC_PI_4 * (1.0 + position)).sin_cos();
    [SQRT_2 * left, SQRT_2 * right]
}

impl RotationFilter {
    pub(crate) fn new(spec: Rotation) -> Self {
        Self {
            oscillator: Oscillator::new(spec.rotation_hz),
            simd: detect_simd(),
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        match self.simd {
            Some(simd) => lanes::scale(simd, &mut self.oscillator, block, pan),
            None => rotate(self, block),
        }
    }

    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        self.oscillator.scale(block, pan);
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
    }
}

/// Amplitude modulation: `gain = 1 − depth · (1 − cos(2π f t)) / 2`, between `1 − depth` and 1.
#[derive(Debug, Clone)]
pub(crate) struct TremoloFilter {
    oscillator: Oscillator,
    depth: f32,
    /// AVX2 + FMA, when the CPU has them: the gains are then applied by [`lanes`].
    simd: Option<Simd>,
}

impl TremoloFilter {
    pub(crate) fn new(spec: Oscillation) -> Self {
        Self {
            oscillator: Oscillator::new(spec.frequency),
            depth: spec.depth.clamp(0.0, 1.0),
            simd: detect_simd(),
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        let depth = self.depth;
        match self.simd {
            Some(simd) => lanes::scale(simd, &mut self.oscillator, block, |angle| {
                [1.0 - depth * (1.0 - angle.cos()) * 0.5]
            }),
            None => tremble(self, block),
        }
    }

    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        let depth = self.depth;
        self.oscillator
            .scale(block, |angle| [1.0 - depth * (1.0 - angle.cos()) * 0.5]);
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
    }
}

dispatched! {
    /// The rotation's block loop, for the CPU at hand.
    fn rotate(filter: &mut RotationFilter, block: &mut [f32]) => process_inline
}

dispatched! {
    /// The tremolo's block loop, for the CPU at hand.
    fn tremble(filter: &mut TremoloFilter, block: &mut [f32]) => process_inline
}

dispatched! {
    /// The vibrato's block loop, for the CPU at hand.
    fn vibrato(filter: &mut VibratoFilter, block: &mut [f32]) => process_inline
}

/// Longest vibrato sweep, as in lavadsp: 2 ms of delay at depth 1.
const VIBRATO_MAX_SWEEP_SECONDS: f32 = 0.002;
/// Minimum delay so the 4-point interpolator always has a newer neighbour.
const VIBRATO_BASE_DELAY: f32 = 2.0;
/// History kept between blocks, in frames: more than the longest delay (2 + 96 frames) plus
/// the interpolator's older neighbours.
const VIBRATO_HISTORY: usize = 128;

/// Pitch modulation through a delay line whose length follows a sine; reads are 4-point,
/// 3rd-order Hermite interpolated.
///
/// The line is linear rather than circular: `VIBRATO_HISTORY` frames of history followed by the
/// block being processed, so reads need no wrapping.
#[derive(Debug, Clone)]
pub(crate) struct VibratoFilter {
    oscillator: Oscillator,
    sweep: f32,
    /// Interleaved stereo: history, then up to one block.
    line: Vec<f32>,
    /// AVX2 + FMA, when the CPU has them: groups are then interpolated in explicit SIMD.
    simd: Option<Simd>,
}

/// Reads one control segment of the vibrato's line into `segment`: frame `i` of it at delay
/// `start + step · i`, `write` being the line's frame for the segment's first frame.
trait SegmentReader {
    fn segment(&self, line: &[f32], write: usize, segment: &mut [f32], start: f32, step: f32);
}

/// The portable loop: four frames at a time whose delays have the same whole part read four
/// consecutive frames of the line, so their taps are four plain 8-sample loads and the
/// interpolation runs on eight lanes (four frames × two channels); a group across a whole
/// frame of delay, and the frames after the last whole group, go frame by frame.
struct PortableSegments<const FMA: bool>;

impl<const FMA: bool> SegmentReader for PortableSegments<FMA> {
    #[inline(always)]
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss
    )]
    fn segment(&self, line: &[f32], write: usize, segment: &mut [f32], start: f32, step: f32) {
        let (groups, rest) = segment.as_chunks_mut::<8>();
        for (group_index, group) in groups.iter_mut().enumerate() {
            let first = 4 * group_index;
            let delays = frame_lanes([start], [step], first);
            // The delay is positive, so truncation is `floor` (which on baseline x86-64 is a
            // library call). Through `i32`: one instruction each way, where `usize` needs
            // several.
            let whole = delays[0] as i32;
            if delays[7] as i32 == whole {
                let newest = (write + first - whole as usize) * 2;
                let Some(taps) = line[newest - 4..].first_chunk::<14>() else {
                    unreachable!("the line holds the group's taps")
                };
                let whole_frames = whole as f32;
                *group = std::array::from_fn(|lane| {
                    hermite::<FMA>(
                        [taps[lane], taps[2 + lane], taps[4 + lane], taps[6 + lane]],
                        delays[lane] - whole_frames,
                    )
                });
            } else {
                for (k, frame) in group.as_chunks_mut::<2>().0.iter_mut().enumerate() {
                    read_frame::<FMA>(line, write + first + k, delays[2 * k], frame);
                }
            }
        }
        read_rest::<FMA>(line, write, groups.len(), rest, start, step);
    }
}

/// The frames of a segment after its `groups` whole groups, frame by frame.
#[inline(always)]
fn read_rest<const FMA: bool>(
    line: &[f32],
    write: usize,
    groups: usize,
    rest: &mut [f32],
    start: f32,
    step: f32,
) {
    let first = 4 * groups;
    for (k, frame) in rest.as_chunks_mut::<2>().0.iter_mut().enumerate() {
        let [delay] = value_at([start], [step], first + k);
        read_frame::<FMA>(line, write + first + k, delay, frame);
    }
}

impl VibratoFilter {
    pub(crate) fn new(spec: Oscillation) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let max_sweep = VIBRATO_MAX_SWEEP_SECONDS * SAMPLE_RATE as f32;
        Self {
            oscillator: Oscillator::new(spec.frequency),
            sweep: max_sweep * spec.depth.clamp(0.0, 1.0),
            line: vec![0.0; (VIBRATO_HISTORY + FRAMES_PER_BLOCK) * 2],
            simd: detect_simd(),
        }
    }

    /// The block loop, segment by segment through [`PortableSegments`].
    #[inline(always)]
    fn process_inline<const FMA: bool>(&mut self, block: &mut [f32]) {
        self.process_with(block, &PortableSegments::<FMA>);
    }

    /// The block loop with `reader` reading each control segment.
    #[inline(always)]
    fn process_with(&mut self, block: &mut [f32], reader: &impl SegmentReader) {
        let sweep = self.sweep;
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let history = VIBRATO_HISTORY * 2;
            copy_samples(&mut self.line[history..history + chunk.len()], chunk);
            let line = &self.line;
            let mut write = VIBRATO_HISTORY;
            self.oscillator.segments(
                chunk,
                |angle| [VIBRATO_BASE_DELAY + sweep * 0.5 * (1.0 + angle.sin())],
                |segment, [start], [step]| {
                    reader.segment(line, write, segment, start, step);
                    write += segment.len() / 2;
                },
            );
            let frames = chunk.len() / 2;
            self.line.copy_within(frames * 2..frames * 2 + history, 0);
        }
    }

    /// The plain per-frame loop, which the grouped [`process_inline`](Self::process_inline)
    /// must match exactly.
    #[cfg(test)]
    fn process_frame_by_frame(&mut self, block: &mut [f32]) {
        let sweep = self.sweep;
        for chunk in block.chunks_mut(FRAMES_PER_BLOCK * 2) {
            let history = VIBRATO_HISTORY * 2;
            copy_samples(&mut self.line[history..history + chunk.len()], chunk);
            let line = &self.line;
            let mut write = VIBRATO_HISTORY;
            self.oscillator.modulate(
                chunk,
                |angle| [VIBRATO_BASE_DELAY + sweep * 0.5 * (1.0 + angle.sin())],
                |frame, [delay]| {
                    let frame: &mut [f32; 2] = frame.try_into().expect("a stereo frame");
                    read_frame::<false>(line, write, delay, frame);
                    write += 1;
                },
            );
            let frames = chunk.len() / 2;
            self.line.copy_within(frames * 2..frames * 2 + history, 0);
        }
    }

    pub(crate) fn process(&mut self, block: &mut [f32]) {
        match self.simd {
            Some(simd) => vector::run(simd, self, block),
            None => vibrato(self, block),
        }
    }

    pub(crate) fn reset(&mut self) {
        self.oscillator.reset();
        self.line.fill(0.0);
    }
}

/// The vibrato in explicit AVX2 + FMA through `pulp` (its `V3` token proves the CPU has them):
/// the same loop, with each group's four taps loaded as four vectors and [`hermite`] run on
/// eight lanes with the same operations in the same order.
mod vector {
    use super::{Simd, VibratoFilter};

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn run(simd: Simd, _: &mut VibratoFilter, _: &mut [f32]) {
        match simd {}
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) fn run(simd: Simd, filter: &mut VibratoFilter, block: &mut [f32]) {
        simd.vectorize(x86::Run {
            simd,
            filter,
            block,
        });
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use pulp::{cast, f32x8};

        use super::super::{SegmentReader, read_frame, read_rest};
        use super::{Simd, VibratoFilter};

        /// The loop as `pulp` runs it with AVX2 + FMA enabled: a struct with an
        /// `#[inline(always)]` method, not a closure (see the reverb's comb bank).
        pub(super) struct Run<'a> {
            pub(super) simd: Simd,
            pub(super) filter: &'a mut VibratoFilter,
            pub(super) block: &'a mut [f32],
        }

        impl pulp::NullaryFnOnce for Run<'_> {
            type Output = ();

            #[inline(always)]
            fn call(self) {
                self.filter
                    .process_with(self.block, &VectorSegments(self.simd));
            }
        }

        struct VectorSegments(Simd);

        impl SegmentReader for VectorSegments {
            /// As [`PortableSegments`] with fused multiply-adds, bit for bit, with the
            /// group's delays from a frame index kept in a vector (whole numbers, so adding
            /// four is exact) and their whole parts found in vectors, where the portable loop
            /// converted each group's first frame number and two delays in scalars.
            #[inline(always)]
            #[allow(clippy::cast_sign_loss)]
            fn segment(
                &self,
                line: &[f32],
                write: usize,
                segment: &mut [f32],
                start: f32,
                step: f32,
            ) {
                let simd = self.0;
                let (starts, steps) = (simd.splat_f32x8(start), simd.splat_f32x8(step));
                let mut index: f32x8 = cast([0.0f32, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
                let four = simd.splat_f32x8(4.0);
                let (groups, rest) = segment.as_chunks_mut::<8>();
                for (group_index, group) in groups.iter_mut().enumerate() {
                    let first = 4 * group_index;
                    let delays = simd.add_f32x8(starts, simd.mul_f32x8(steps, index));
                    index = simd.add_f32x8(index, four);
                    // Positive delays: truncation is `floor`; the whole parts convert exactly.
                    let wholes = simd.truncate_f32x8(delays);
                    let whole: [i32; 8] = cast(simd.convert_f32x8_to_i32x8(wholes));
                    if whole[0] == whole[7] {
                        let newest = (write + first - whole[0] as usize) * 2;
                        let Some(taps) = line[newest - 4..].first_chunk::<14>() else {
                            unreachable!("the line holds the group's taps")
                        };
                        *group = cast(hermite_lanes(simd, taps, simd.sub_f32x8(delays, wholes)));
                    } else {
                        let delays: [f32; 8] = cast(delays);
                        for (k, frame) in group.as_chunks_mut::<2>().0.iter_mut().enumerate() {
                            read_frame::<true>(line, write + first + k, delays[2 * k], frame);
                        }
                    }
                }
                read_rest::<true>(line, write, groups.len(), rest, start, step);
            }
        }

        /// [`hermite`] on eight lanes, operation for operation: `taps` are the 14 samples
        /// from the oldest group frame's `y2`, `t` each lane's fraction.
        #[inline(always)]
        fn hermite_lanes(simd: Simd, taps: &[f32; 14], t: f32x8) -> f32x8 {
            let load = |offset: usize| -> f32x8 {
                let Some(lanes) = taps[offset..].first_chunk::<8>() else {
                    unreachable!("14 taps hold 8 from offset 6")
                };
                cast(*lanes)
            };
            let [y2, y1, y0, newer] = [load(0), load(2), load(4), load(6)];
            let splat = |value: f32| simd.splat_f32x8(value);
            let c1 = simd.mul_f32x8(splat(0.5), simd.sub_f32x8(y1, newer));
            let c2 = simd.sub_f32x8(
                simd.add_f32x8(
                    simd.sub_f32x8(newer, simd.mul_f32x8(splat(2.5), y0)),
                    simd.mul_f32x8(splat(2.0), y1),
                ),
                simd.mul_f32x8(splat(0.5), y2),
            );
            let c3 = simd.add_f32x8(
                simd.mul_f32x8(splat(0.5), simd.sub_f32x8(y2, newer)),
                simd.mul_f32x8(splat(1.5), simd.sub_f32x8(y0, y1)),
            );
            let cubic = simd.mul_add_f32x8(c3, t, c2);
            let quadratic = simd.mul_add_f32x8(cubic, t, c1);
            simd.mul_add_f32x8(quadratic, t, y0)
        }
    }
}

/// Reads the line `delay` frames before frame `write` into `frame` (both channels).
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]
fn read_frame<const FMA: bool>(line: &[f32], write: usize, delay: f32, frame: &mut [f32; 2]) {
    // Truncation is `floor` here too (see `process_inline`).
    let whole = delay as i32;
    let t = delay - whole as f32;
    let newest = (write - whole as usize) * 2;
    let taps = &line[newest - 4..newest + 4];
    for (channel, sample) in frame.iter_mut().enumerate() {
        *sample = hermite::<FMA>(
            [
                taps[channel],
                taps[2 + channel],
                taps[4 + channel],
                taps[6 + channel],
            ],
            t,
        );
    }
}

/// 4-point, 3rd-order Hermite interpolation between `y0` and its newer neighbour, `t` of the
/// way back from `y0` towards `y1`; `[y2, y1, y0, newer]` oldest first.
#[inline(always)]
fn hermite<const FMA: bool>([y2, y1, y0, newer]: [f32; 4], t: f32) -> f32 {
    let c1 = 0.5 * (y1 - newer);
    let c2 = newer - 2.5 * y0 + 2.0 * y1 - 0.5 * y2;
    let c3 = 0.5 * (y2 - newer) + 1.5 * (y0 - y1);
    let cubic = mul_add::<FMA>(c3, t, c2);
    let quadratic = mul_add::<FMA>(cubic, t, c1);
    mul_add::<FMA>(quadratic, t, y0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rotation and tremolo scale in groups of four frames exactly as frame by frame, in
    /// every build, over blocks that end in a partial group.
    #[test]
    fn grouped_gains_match_frame_by_frame_gains() {
        let mut noise = crate::tests::white_noise(0x0BAD_5EED);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 3 + 6).map(|_| noise()).collect();
        let pan = |angle: f32| {
            let (right, left) = (FRAC_PI_4 * (1.0 + angle.sin())).sin_cos();
            [SQRT_2 * left, SQRT_2 * right]
        };
        let mut expected = input.clone();
        let mut reference = RotationFilter::new(Rotation { rotation_hz: 7.0 });
        let mut actual = input.clone();
        let mut rotation = RotationFilter::new(Rotation { rotation_hz: 7.0 });
        let mut dispatched_output = input.clone();
        let mut dispatched = RotationFilter::new(Rotation { rotation_hz: 7.0 });
        let pieces = FRAMES_PER_BLOCK * 2 - 6;
        for ((expected, actual), dispatched_output) in expected
            .chunks_mut(pieces)
            .zip(actual.chunks_mut(pieces))
            .zip(dispatched_output.chunks_mut(pieces))
        {
            reference
                .oscillator
                .modulate(expected, pan, |frame, [left, right]| {
                    frame[0] *= left;
                    frame[1] *= right;
                });
            rotation.process_inline::<false>(actual);
            dispatched.process(dispatched_output);
        }
        assert_eq!(expected, actual);
        assert_eq!(expected, dispatched_output);
        assert!(
            expected
                .iter()
                .zip(&input)
                .any(|(out, x)| (out - x).abs() > 1e-3)
        );

        let spec = Oscillation {
            frequency: 9.0,
            depth: 0.8,
        };
        let mut expected = input.clone();
        let mut reference = TremoloFilter::new(spec);
        let mut actual = input.clone();
        let mut tremolo = TremoloFilter::new(spec);
        for (expected, actual) in expected.chunks_mut(pieces).zip(actual.chunks_mut(pieces)) {
            let depth = reference.depth;
            reference.oscillator.modulate(
                expected,
                |angle| [1.0 - depth * (1.0 - angle.cos()) * 0.5],
                |frame, [gain]| {
                    frame[0] *= gain;
                    frame[1] *= gain;
                },
            );
            tremolo.process(actual);
        }
        assert_eq!(expected, actual);
        assert!(
            expected
                .iter()
                .zip(&input)
                .any(|(out, x)| (out - x).abs() > 1e-3)
        );
    }

    /// The grouped loop gives exactly the per-frame loop's output, in both builds and with the
    /// explicit-SIMD groups, at the fastest and deepest vibrato (delay crossing whole frames
    /// often) and at a gentle one.
    #[test]
    fn grouped_reads_match_frame_by_frame_reads() {
        let mut noise = crate::tests::white_noise(0x2545_F491);
        let input: Vec<f32> = (0..FRAMES_PER_BLOCK * 2 * 7 + 10)
            .map(|_| noise())
            .collect();
        for (frequency, depth) in [(14.0, 1.0), (5.0, 0.5), (0.3, 0.05)] {
            let spec = Oscillation { frequency, depth };
            let mut expected = input.clone();
            let mut reference = VibratoFilter::new(spec);
            let mut grouped = VibratoFilter::new(spec);
            let mut actual = input.clone();
            for (expected, actual) in expected
                .chunks_mut(FRAMES_PER_BLOCK * 2)
                .zip(actual.chunks_mut(FRAMES_PER_BLOCK * 2))
            {
                reference.process_frame_by_frame(expected);
                grouped.process_inline::<false>(actual);
            }
            assert_eq!(expected, actual, "{frequency} Hz, depth {depth}");
            assert!(
                expected
                    .iter()
                    .zip(&input)
                    .any(|(out, x)| (out - x).abs() > 1e-3)
            );
            let mut dispatched = VibratoFilter::new(spec);
            let mut output = input.clone();
            for block in output.chunks_mut(FRAMES_PER_BLOCK * 2) {
                dispatched.process(block);
            }
            for (index, (expected, actual)) in expected.iter().zip(&output).enumerate() {
                assert!((expected - actual).abs() < 1e-5, "sample {index}");
            }
            // The explicit-SIMD groups compute exactly what the fused portable loop does.
            if dispatched.simd.is_some() {
                let mut fused = VibratoFilter::new(spec);
                let mut fused_output = input.clone();
                for block in fused_output.chunks_mut(FRAMES_PER_BLOCK * 2) {
                    fused.process_inline::<true>(block);
                }
                assert_eq!(
                    fused_output, output,
                    "{frequency} Hz, depth {depth}: SIMD groups"
                );
            }
        }
    }
}
