//! Lavalink's timescale: `rate` resamples (pitch and tempo together), `speed` changes tempo
//! only, `pitch` changes pitch only.
//!
//! Implemented as a WSOLA stretch by `speed / pitch` followed by a resample by `rate · pitch`:
//! the pitch moves by `rate · pitch` and the duration divides by `rate · speed`. Either half is
//! skipped when its factor is 1, so plain `rate` (nightcore, slow) never touches WSOLA.

pub(crate) mod resampler;
pub(crate) mod wsola;

use minstrel_domain::filters::Timescale;

use self::resampler::Resampler;
use self::wsola::Wsola;

#[derive(Debug, Clone)]
pub(crate) struct TimescaleFilter {
    stretch: Option<Wsola>,
    resampler: Option<Resampler>,
    between: Vec<f32>,
}

impl TimescaleFilter {
    /// `None` when the spec changes nothing.
    pub(crate) fn new(spec: Timescale) -> Option<Self> {
        let tempo = f64::from(spec.speed) / f64::from(spec.pitch);
        let ratio = f64::from(spec.rate) * f64::from(spec.pitch);
        let stretch = ((tempo - 1.0).abs() > 1e-6).then(|| Wsola::new(tempo));
        let resampler = ((ratio - 1.0).abs() > 1e-6).then(|| Resampler::new(ratio));
        (stretch.is_some() || resampler.is_some()).then(|| Self {
            stretch,
            resampler,
            between: Vec::with_capacity(crate::CHANNELS * 16_384),
        })
    }

    /// Appends the output produced by `input` to `output`.
    pub(crate) fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        match (&mut self.stretch, &mut self.resampler) {
            (Some(stretch), Some(resampler)) => {
                self.between.clear();
                stretch.process(input, &mut self.between);
                resampler.process(&self.between, output);
            }
            (Some(stretch), None) => stretch.process(input, output),
            (None, Some(resampler)) => resampler.process(input, output),
            (None, None) => output.extend_from_slice(input),
        }
    }

    pub(crate) fn finish(&mut self, output: &mut Vec<f32>) {
        match (&mut self.stretch, &mut self.resampler) {
            (Some(stretch), Some(resampler)) => {
                self.between.clear();
                stretch.finish(&mut self.between);
                resampler.process(&self.between, output);
                resampler.finish(output);
            }
            (Some(stretch), None) => stretch.finish(output),
            (None, Some(resampler)) => resampler.finish(output),
            (None, None) => {}
        }
    }

    /// Calls `f` on every buffer whose size depends on how much audio flows through.
    pub(crate) fn for_each_buffer(&mut self, mut f: impl FnMut(&mut Vec<f32>)) {
        f(&mut self.between);
        if let Some(stretch) = &mut self.stretch {
            f(stretch.buffer_mut());
        }
        if let Some(resampler) = &mut self.resampler {
            f(resampler.buffer_mut());
        }
    }

    pub(crate) fn reset(&mut self) {
        if let Some(stretch) = &mut self.stretch {
            stretch.reset();
        }
        if let Some(resampler) = &mut self.resampler {
            resampler.reset();
        }
    }
}
