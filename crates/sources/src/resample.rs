//! Sample-rate conversion of interleaved stereo to 48 kHz with rubato.
//!
//! rubato works on fixed input chunks and has a latency of `output_delay()` frames, so this
//! wrapper buffers partial chunks, drops the leading latency and, at the end, pads and flushes
//! until exactly `round(input × 48000 / rate)` frames came out: a 1 s file stays 1 s long.

use std::collections::VecDeque;

use minstrel_app::ports::AudioError;
use rubato::{FftFixedIn, Resampler};

/// The rate everything leaves this crate at.
pub(crate) const OUTPUT_RATE: u32 = 48_000;

/// Input frames per rubato call: about 20 ms at 44.1 kHz, small enough to keep latency low.
const CHUNK_FRAMES: usize = 1024;

/// FFT resampler sub-chunks (rubato's "desired number of sub chunks").
const SUB_CHUNKS: usize = 2;

pub(crate) struct StereoResampler {
    inner: FftFixedIn<f32>,
    input_rate: u32,
    pending: [Vec<f32>; 2],
    output: Vec<Vec<f32>>,
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
}

impl StereoResampler {
    /// A resampler from `input_rate`, which must lie within the decode bounds: rubato sizes
    /// its FFTs from `input_rate / gcd(input_rate, 48000)`, so a rate near 2^32 would ask for
    /// gigabytes.
    pub(crate) fn new(input_rate: u32) -> Result<Self, AudioError> {
        crate::decode::check_rate(input_rate)?;
        let inner = FftFixedIn::<f32>::new(
            input_rate as usize,
            OUTPUT_RATE as usize,
            CHUNK_FRAMES,
            SUB_CHUNKS,
            2,
        )
        .map_err(|error| AudioError::Unsupported(format!("cannot resample: {error}")))?;
        let output = inner.output_buffer_allocate(true);
        let delay_left = inner.output_delay();
        Ok(Self {
            inner,
            input_rate,
            pending: [
                Vec::with_capacity(CHUNK_FRAMES * 2),
                Vec::with_capacity(CHUNK_FRAMES * 2),
            ],
            output,
            delay_left,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// The FFT lengths (input, output) rubato picks for `input_rate`, computed as it does.
    fn fft_sizes(input_rate: u32) -> (u64, u64) {
        let input_rate = u64::from(input_rate.max(1));
        let output_rate = u64::from(OUTPUT_RATE);
        let gcd = greatest_common_divisor(input_rate, output_rate);
        let min_chunk_in = input_rate / gcd;
        let wanted = (CHUNK_FRAMES / SUB_CHUNKS) as u64;
        let fft_chunks = wanted.div_ceil(min_chunk_in).max(1);
        (
            fft_chunks * input_rate / gcd,
            fft_chunks * output_rate / gcd,
        )
    }

    /// An upper bound on the bytes a resampler from `input_rate` allocates: per FFT point,
    /// rubato's filter, spectra, buffers and overlaps, and rustfft's plan, which for a length
    /// with large prime factors runs a power-of-two transform up to four times as long.
    pub(crate) fn estimated_memory(input_rate: u32) -> u64 {
        const BYTES_PER_FFT_POINT: u64 = 160;
        let (fft_in, fft_out) = Self::fft_sizes(input_rate);
        let buffers = 2 * 4 * (CHUNK_FRAMES as u64 + fft_in + 2 * fft_out);
        (fft_in + fft_out)
            .saturating_mul(BYTES_PER_FFT_POINT)
            .saturating_add(buffers)
    }

    pub(crate) fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Feeds interleaved stereo; whole chunks are converted and appended to `out`.
    pub(crate) fn push(
        &mut self,
        stereo: &[f32],
        out: &mut VecDeque<f32>,
    ) -> Result<(), AudioError> {
        for frame in stereo.chunks_exact(2) {
            self.pending[0].push(frame[0]);
            self.pending[1].push(frame[1]);
        }
        self.frames_in += (stereo.len() / 2) as u64;
        while self.pending[0].len() >= self.inner.input_frames_next() {
            let needed = self.inner.input_frames_next();
            let (consumed, produced) = self
                .inner
                .process_into_buffer(
                    &[&self.pending[0][..needed], &self.pending[1][..needed]],
                    &mut self.output,
                    None,
                )
                .map_err(|error| AudioError::Internal(format!("resampling failed: {error}")))?;
            self.pending[0].drain(..consumed);
            self.pending[1].drain(..consumed);
            self.emit(produced, u64::MAX, out);
        }
        Ok(())
    }

    /// Flushes what is buffered; afterwards exactly the expected number of frames came out.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<f32>) -> Result<(), AudioError> {
        let expected = self.expected_frames();
        // Output appears once a whole FFT of input is in, which for a rate coprime with 48 kHz
        // is a second of audio: flush enough padding to push the last real frame and the
        // latency through. The bound only guards against a resampler that stops producing.
        let (fft_in, _) = Self::fft_sizes(self.input_rate);
        let padding = 2 * fft_in + self.delay_left as u64;
        let rounds = usize::try_from(padding / CHUNK_FRAMES as u64).unwrap_or(usize::MAX) + 4;
        for _ in 0..rounds {
            if self.frames_out >= expected {
                break;
            }
            let result = if self.pending[0].is_empty() {
                self.inner
                    .process_partial_into_buffer(None::<&[&[f32]]>, &mut self.output, None)
            } else {
                let input = [self.pending[0].as_slice(), self.pending[1].as_slice()];
                self.inner
                    .process_partial_into_buffer(Some(&input[..]), &mut self.output, None)
            };
            let (_, produced) = result
                .map_err(|error| AudioError::Internal(format!("resampling failed: {error}")))?;
            self.pending[0].clear();
            self.pending[1].clear();
            self.emit(produced, expected, out);
        }
        Ok(())
    }

    fn expected_frames(&self) -> u64 {
        let numerator =
            u128::from(self.frames_in) * u128::from(OUTPUT_RATE) + u128::from(self.input_rate / 2);
        u64::try_from(numerator / u128::from(self.input_rate)).unwrap_or(u64::MAX)
    }

    fn emit(&mut self, produced: usize, limit: u64, out: &mut VecDeque<f32>) {
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        for index in skip..produced {
            if self.frames_out >= limit {
                break;
            }
            out.push_back(self.output[0][index]);
            out.push_back(self.output[1][index]);
            self.frames_out += 1;
        }
    }
}

fn greatest_common_divisor(mut left: u64, mut right: u64) -> u64 {
    while right != 0 {
        (left, right) = (right, left % right);
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_duration_exact() {
        let mut resampler = StereoResampler::new(44_100).unwrap();
        let mut out = VecDeque::new();
        let block = vec![0.25_f32; 2 * 300];
        for _ in 0..147 {
            resampler.push(&block, &mut out).unwrap();
        }
        resampler.finish(&mut out).unwrap();
        assert_eq!(out.len(), 2 * 48_000);
    }

    #[test]
    fn keeps_the_duration_exact_at_a_rate_coprime_with_48_khz() {
        // One FFT takes a whole second of input here: the flush must reach past it.
        let mut resampler = StereoResampler::new(44_101).unwrap();
        let mut out = VecDeque::new();
        let block = vec![0.25_f32; 2 * 1000];
        for _ in 0..30 {
            resampler.push(&block, &mut out).unwrap();
        }
        resampler.finish(&mut out).unwrap();
        let wanted = (30_000 * 48_000 + 44_101 / 2) / 44_101;
        assert_eq!(out.len(), 2 * wanted);
    }

    #[test]
    fn refuses_a_zero_rate() {
        assert!(StereoResampler::new(0).is_err());
    }

    #[test]
    fn refuses_rates_outside_the_bounds_before_allocating() {
        for rate in [1, 7_999, 384_001, 16_777_213, u32::MAX] {
            assert!(
                matches!(StereoResampler::new(rate), Err(AudioError::Unsupported(_))),
                "{rate} Hz"
            );
        }
    }

    #[test]
    fn computes_the_fft_sizes_rubato_picks() {
        // 44.1 kHz: gcd 300, 147 in per 160 out, four of them fill half a chunk.
        assert_eq!(StereoResampler::fft_sizes(44_100), (588, 640));
        // A rate coprime with 48 kHz takes one FFT as long as a second of audio.
        assert_eq!(StereoResampler::fft_sizes(44_101), (44_101, 48_000));
    }
}
