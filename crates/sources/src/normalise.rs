//! Loudness normalisation with EBU R128 (the `ebur128` crate).
//!
//! The first seconds are decoded ahead and measured before anything plays, so the very first
//! sample already has about the right gain; the integrated loudness keeps being refined while
//! the track plays and the gain glides toward the new value at a bounded rate, so nothing
//! jumps or clicks. The gain never pushes the measured sample peak above full scale.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ebur128::{EbuR128, Mode};
use minstrel_app::ports::{AudioError, AudioOpener, OpenOptions, PcmStream};
use minstrel_domain::Track;

const RATE: u32 = 48_000;
const CHANNELS: usize = 2;

/// How loudness normalisation behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalisationConfig {
    /// Off leaves the audio untouched, sample for sample.
    pub enabled: bool,
    /// Integrated loudness aimed at, in LUFS (default −14).
    pub target_lufs: f64,
    /// Largest boost, in dB (default +20); cuts are not limited.
    pub max_gain_db: f64,
    /// Audio measured before the first sample plays (default 3 s).
    pub measure_first: Duration,
    /// How often the measurement is refined while playing (default 1 s).
    pub refine_every: Duration,
    /// Fastest gain change, in dB per second (default 6).
    pub slew_db_per_second: f64,
}

impl Default for NormalisationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            target_lufs: -14.0,
            max_gain_db: 20.0,
            measure_first: Duration::from_secs(3),
            refine_every: Duration::from_secs(1),
            slew_db_per_second: 6.0,
        }
    }
}

fn samples_in(duration: Duration) -> usize {
    let frames = duration.as_millis() * u128::from(RATE) / 1000;
    usize::try_from(frames).unwrap_or(usize::MAX / 4) * CHANNELS
}

fn db_to_linear(db: f64) -> f64 {
    10_f64.powf(db / 20.0)
}

/// A [`PcmStream`] decorator bringing a track to the target loudness.
pub struct NormalisedStream {
    inner: Box<dyn PcmStream>,
    config: NormalisationConfig,
    switch: Arc<AtomicBool>,
    meter: Option<EbuR128>,
    /// Audio decoded ahead while measuring the start, and how much of it was played.
    ahead: Vec<f32>,
    ahead_played: usize,
    primed: bool,
    /// Whether audio already played before the measurement started (switched on late).
    started: bool,
    /// Gain applied now and the gain aimed at (linear).
    gain: f64,
    target_gain: f64,
    /// Per-frame gain factor for the fastest allowed glide.
    slew: f64,
    since_refine: usize,
    refine_samples: usize,
    ended: bool,
}

impl std::fmt::Debug for NormalisedStream {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NormalisedStream")
            .field("config", &self.config)
            .field("gain", &self.gain)
            .field("target_gain", &self.target_gain)
            .finish_non_exhaustive()
    }
}

impl NormalisedStream {
    pub fn new(inner: Box<dyn PcmStream>, config: NormalisationConfig) -> Self {
        let switch = Arc::new(AtomicBool::new(config.enabled));
        Self::with_switch(inner, config, switch)
    }

    /// Like [`NormalisedStream::new`], with a switch the guild setting can flip while the
    /// track plays (`config.enabled` is ignored; the switch decides). Turning it off glides
    /// back to unity gain.
    pub fn with_switch(
        inner: Box<dyn PcmStream>,
        config: NormalisationConfig,
        switch: Arc<AtomicBool>,
    ) -> Self {
        let frames_per_second = f64::from(RATE);
        let slew = db_to_linear(config.slew_db_per_second.max(0.1) / frames_per_second);
        Self {
            inner,
            config,
            switch,
            meter: None,
            ahead: Vec::new(),
            ahead_played: 0,
            primed: false,
            started: false,
            gain: 1.0,
            target_gain: 1.0,
            slew,
            since_refine: 0,
            refine_samples: samples_in(config.refine_every).max(CHANNELS),
            ended: false,
        }
    }

    /// The gain being applied now, in dB.
    pub fn current_gain_db(&self) -> f64 {
        20.0 * self.gain.log10()
    }

    fn meter(&mut self) -> Result<&mut EbuR128, AudioError> {
        if self.meter.is_none() {
            let channels = u32::try_from(CHANNELS).unwrap_or(2);
            let meter =
                EbuR128::new(channels, RATE, Mode::I | Mode::SAMPLE_PEAK).map_err(|error| {
                    AudioError::Internal(format!("the loudness meter failed: {error}"))
                })?;
            self.meter = Some(meter);
        }
        self.meter
            .as_mut()
            .ok_or_else(|| AudioError::Internal("the loudness meter is missing".to_owned()))
    }

    fn measure(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        if samples.is_empty() {
            return Ok(());
        }
        self.meter()?
            .add_frames_f32(samples)
            .map_err(|error| AudioError::Internal(format!("the loudness meter failed: {error}")))
    }

    /// The gain that brings what was measured so far to the target.
    fn wanted_gain(&mut self) -> Result<f64, AudioError> {
        let config = self.config;
        let meter = self.meter()?;
        let loudness = meter.loudness_global().unwrap_or(f64::NEG_INFINITY);
        if !loudness.is_finite() {
            // Silence (or too little audio to gate): leave it alone.
            return Ok(1.0);
        }
        let mut gain_db = (config.target_lufs - loudness).min(config.max_gain_db);
        let peak = (0..CHANNELS)
            .filter_map(|channel| meter.sample_peak(u32::try_from(channel).ok()?).ok())
            .fold(0.0_f64, f64::max);
        if peak > 0.0 {
            gain_db = gain_db.min(-20.0 * peak.log10());
        }
        Ok(db_to_linear(gain_db))
    }

    /// Decodes and measures the first seconds before anything plays.
    fn prime(&mut self) -> Result<(), AudioError> {
        let wanted = samples_in(self.config.measure_first);
        self.ahead = vec![0.0; wanted];
        let mut filled = 0;
        while filled < wanted {
            let count = self.inner.read(&mut self.ahead[filled..])?;
            if count == 0 {
                self.ended = true;
                break;
            }
            filled += count;
        }
        self.ahead.truncate(filled);
        let ahead = std::mem::take(&mut self.ahead);
        self.measure(&ahead)?;
        self.ahead = ahead;
        self.target_gain = self.wanted_gain()?;
        if !self.started {
            // Nothing has played yet, so starting at the target is not a jump.
            self.gain = self.target_gain;
        }
        self.primed = true;
        Ok(())
    }

    fn apply(&mut self, samples: &mut [f32]) {
        let target = if self.switch.load(Ordering::Relaxed) {
            self.target_gain
        } else {
            1.0
        };
        for frame in samples.chunks_exact_mut(CHANNELS) {
            if self.gain < target {
                self.gain = (self.gain * self.slew).min(target);
            } else if self.gain > target {
                self.gain = (self.gain / self.slew).max(target);
            }
            #[allow(clippy::cast_possible_truncation)]
            let gain = self.gain as f32;
            for sample in frame {
                *sample = (*sample * gain).clamp(-1.0, 1.0);
            }
        }
    }
}

impl PcmStream for NormalisedStream {
    fn read(&mut self, out: &mut [f32]) -> Result<usize, AudioError> {
        let wanted = out.len() & !1;
        let enabled = self.switch.load(Ordering::Relaxed);
        if !self.primed {
            if !enabled {
                // Off from the start: untouched, sample for sample, no look-ahead.
                self.started = true;
                return self.inner.read(out);
            }
            self.prime()?;
        }
        let count = if self.ahead_played < self.ahead.len() {
            let available = &self.ahead[self.ahead_played..];
            let count = wanted.min(available.len());
            out[..count].copy_from_slice(&available[..count]);
            self.ahead_played += count;
            if self.ahead_played == self.ahead.len() {
                self.ahead = Vec::new();
                self.ahead_played = 0;
            }
            count
        } else if self.ended {
            0
        } else {
            let count = self.inner.read(&mut out[..wanted])?;
            if count == 0 {
                self.ended = true;
            }
            self.measure(&out[..count])?;
            self.since_refine += count;
            if self.since_refine >= self.refine_samples {
                self.since_refine = 0;
                self.target_gain = self.wanted_gain()?;
            }
            count
        };
        if !enabled && self.gain.to_bits() == 1.0_f64.to_bits() {
            return Ok(count);
        }
        self.apply(&mut out[..count]);
        Ok(count)
    }
}

/// An [`AudioOpener`] decorator that normalises the streams the inner opener opens.
///
/// Two levels decide. The bot-wide switch (from the configuration) is the master: off, nothing
/// is normalised; flipping it takes effect on the tracks already playing. Under it, a guild
/// that turned normalisation off opens its tracks with [`OpenOptions::normalise`] false and
/// gets them untouched, from its next track on.
pub struct NormalisingOpener {
    inner: Arc<dyn AudioOpener>,
    config: NormalisationConfig,
    switch: Arc<AtomicBool>,
}

impl std::fmt::Debug for NormalisingOpener {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NormalisingOpener")
            .field("config", &self.config)
            .field("enabled", &self.switch.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl NormalisingOpener {
    /// Normalises what `inner` opens; `config.enabled` sets the switch's first position.
    pub fn new(inner: Arc<dyn AudioOpener>, config: NormalisationConfig) -> Self {
        let switch = Arc::new(AtomicBool::new(config.enabled));
        Self {
            inner,
            config,
            switch,
        }
    }

    /// The switch every stream opened from now on (and every one playing) obeys.
    pub fn switch(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.switch)
    }
}

impl AudioOpener for NormalisingOpener {
    fn open(
        &self,
        track: &Track,
        start_at: Duration,
        options: OpenOptions,
    ) -> Result<Box<dyn PcmStream>, AudioError> {
        let stream = self.inner.open(track, start_at, options)?;
        if !options.normalise {
            // The guild turned it off: its audio stays untouched, sample for sample.
            return Ok(stream);
        }
        Ok(Box::new(NormalisedStream::with_switch(
            stream,
            self.config,
            Arc::clone(&self.switch),
        )))
    }
}

#[cfg(test)]
mod tests;
