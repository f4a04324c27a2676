//! The bounds every track is opened under, checked against what the container declares before
//! the decoder or the resampler allocates anything, and again against what the decoder reports.
//!
//! A file is untrusted input: anyone can post one as a web link or an attachment. Its header
//! chooses the sample rate (which sizes the resampler), the channel count and the block size
//! (which size the decode buffers) and its length. Outside these bounds a track is refused with
//! one sentence instead of costing gigabytes or playing for hours.

use std::time::Duration;

use minstrel_app::ports::AudioError;
use symphonia::core::audio::Channels;
use symphonia::core::codecs::{self, CodecParameters, CodecType};

use crate::resample::{OUTPUT_RATE, StereoResampler};

/// Lowest sample rate a track may have: telephone audio. Below it a few kilobytes "play" for
/// hours once stretched to 48 kHz.
pub(crate) const MIN_SAMPLE_RATE: u32 = 8_000;

/// Highest sample rate a track may have: the highest rate studio converters record at.
pub(crate) const MAX_SAMPLE_RATE: u32 = 384_000;

/// Most channels a track may have: symphonia describes a layout with a 32-bit mask.
pub(crate) const MAX_CHANNELS: usize = 32;

/// Longest a track may be, declared or decoded: longer than any album or live set, short
/// enough that a lying header cannot hold a player for days.
pub const MAX_TRACK_DURATION: Duration = Duration::from_hours(12);

/// Most memory one track's decode buffers and resampler may take, by the conservative
/// estimate of [`estimated_memory`]. The largest resampler of an 8 to 384 kHz rate (one coprime
/// with 48 kHz) fits; a declared packet size or layout that would need more is refused before
/// anything is allocated.
pub const MAX_TRACK_MEMORY: u64 = 96 * 1024 * 1024;

/// How many times more audio than the file holds its header may declare. A download or copy
/// cut short still plays what it has; a few kilobytes declaring gigabytes are refused.
const DECLARED_LENGTH_SLACK: u64 = 4;

/// Bytes per decoded sample held while decoding: symphonia's own buffer (up to 8 bytes for
/// 64-bit float input) and the interleaved `f32` copy of it.
const DECODE_BYTES_PER_SAMPLE: u64 = 8 + 4;

/// Every uncompressed codec symphonia knows.
const PCM_CODECS: [CodecType; 38] = [
    codecs::CODEC_TYPE_PCM_S32LE,
    codecs::CODEC_TYPE_PCM_S32LE_PLANAR,
    codecs::CODEC_TYPE_PCM_S32BE,
    codecs::CODEC_TYPE_PCM_S32BE_PLANAR,
    codecs::CODEC_TYPE_PCM_S24LE,
    codecs::CODEC_TYPE_PCM_S24LE_PLANAR,
    codecs::CODEC_TYPE_PCM_S24BE,
    codecs::CODEC_TYPE_PCM_S24BE_PLANAR,
    codecs::CODEC_TYPE_PCM_S16LE,
    codecs::CODEC_TYPE_PCM_S16LE_PLANAR,
    codecs::CODEC_TYPE_PCM_S16BE,
    codecs::CODEC_TYPE_PCM_S16BE_PLANAR,
    codecs::CODEC_TYPE_PCM_S8,
    codecs::CODEC_TYPE_PCM_S8_PLANAR,
    codecs::CODEC_TYPE_PCM_U32LE,
    codecs::CODEC_TYPE_PCM_U32LE_PLANAR,
    codecs::CODEC_TYPE_PCM_U32BE,
    codecs::CODEC_TYPE_PCM_U32BE_PLANAR,
    codecs::CODEC_TYPE_PCM_U24LE,
    codecs::CODEC_TYPE_PCM_U24LE_PLANAR,
    codecs::CODEC_TYPE_PCM_U24BE,
    codecs::CODEC_TYPE_PCM_U24BE_PLANAR,
    codecs::CODEC_TYPE_PCM_U16LE,
    codecs::CODEC_TYPE_PCM_U16LE_PLANAR,
    codecs::CODEC_TYPE_PCM_U16BE,
    codecs::CODEC_TYPE_PCM_U16BE_PLANAR,
    codecs::CODEC_TYPE_PCM_U8,
    codecs::CODEC_TYPE_PCM_U8_PLANAR,
    codecs::CODEC_TYPE_PCM_F32LE,
    codecs::CODEC_TYPE_PCM_F32LE_PLANAR,
    codecs::CODEC_TYPE_PCM_F32BE,
    codecs::CODEC_TYPE_PCM_F32BE_PLANAR,
    codecs::CODEC_TYPE_PCM_F64LE,
    codecs::CODEC_TYPE_PCM_F64LE_PLANAR,
    codecs::CODEC_TYPE_PCM_F64BE,
    codecs::CODEC_TYPE_PCM_F64BE_PLANAR,
    codecs::CODEC_TYPE_PCM_ALAW,
    codecs::CODEC_TYPE_PCM_MULAW,
];

/// The one sentence for a sample rate outside the bounds.
fn rate_refused(rate: u32) -> AudioError {
    AudioError::Unsupported(format!(
        "the file declares a sample rate of {rate} Hz, and I only play {} to {} kHz",
        MIN_SAMPLE_RATE / 1000,
        MAX_SAMPLE_RATE / 1000
    ))
}

/// Refuses a sample rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
pub(crate) fn check_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(rate_refused(rate))
    }
}

/// Refuses a channel count of 0 or above [`MAX_CHANNELS`].
pub(crate) fn check_channels(count: usize) -> Result<(), AudioError> {
    if (1..=MAX_CHANNELS).contains(&count) {
        Ok(())
    } else {
        Err(AudioError::Unsupported(format!(
            "the file declares {count} audio channels, and I only play 1 to {MAX_CHANNELS}"
        )))
    }
}

fn too_long(limit: Duration) -> AudioError {
    let seconds = limit.as_secs();
    let limit = match seconds {
        _ if seconds >= 3600 && seconds.is_multiple_of(3600) => format!("{} hours", seconds / 3600),
        _ if seconds >= 60 && seconds.is_multiple_of(60) => format!("{} minutes", seconds / 60),
        _ => format!("{seconds} seconds"),
    };
    AudioError::Unsupported(format!(
        "the track is longer than {limit}, the longest I play"
    ))
}

/// Refuses `frames` at `rate` once they pass `limit` ([`MAX_TRACK_DURATION`]).
pub(crate) fn check_decoded_frames(
    frames: u64,
    rate: u32,
    limit: Duration,
) -> Result<(), AudioError> {
    if frames > limit.as_secs().saturating_mul(u64::from(rate)) {
        Err(too_long(limit))
    } else {
        Ok(())
    }
}

/// Bytes per frame of an uncompressed codec, whose declared length can be checked against the
/// file's size; `None` for compressed codecs, which may legitimately shrink silence a
/// thousandfold.
fn pcm_bytes_per_frame(params: &CodecParameters, channels: usize) -> Option<u64> {
    if !PCM_CODECS.contains(&params.codec) {
        return None;
    }
    let bits = params.bits_per_coded_sample.or(params.bits_per_sample)?;
    let bytes = u64::from(bits).div_ceil(8);
    Some(bytes * channels as u64).filter(|bytes| *bytes > 0)
}

/// Memory the decode buffers and the resampler of this track would take, from its header.
pub(crate) fn estimated_memory(rate: u32, channels: usize, frames_per_packet: u64) -> u64 {
    let decode = frames_per_packet
        .saturating_mul(channels as u64)
        .saturating_mul(DECODE_BYTES_PER_SAMPLE);
    let resampler = if rate == OUTPUT_RATE {
        0
    } else {
        StereoResampler::estimated_memory(rate)
    };
    decode.saturating_add(resampler)
}

fn check_memory(rate: u32, channels: usize, frames_per_packet: u64) -> Result<(), AudioError> {
    let needed = estimated_memory(rate, channels, frames_per_packet);
    if needed > MAX_TRACK_MEMORY {
        return Err(AudioError::Unsupported(format!(
            "decoding this file would take {} MB of memory, more than the {} MB a track may use",
            needed.div_ceil(1024 * 1024),
            MAX_TRACK_MEMORY / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Checks what a container declares about the track to play, before a decoder is made.
/// `byte_len` is the size of the whole source when it is known.
///
/// What the container leaves out (some formats only learn the rate from the first packet) is
/// checked again by [`check_rate`] and [`check_channels`] on the decoded audio.
pub(crate) fn check_declared(
    params: &CodecParameters,
    byte_len: Option<u64>,
) -> Result<(), AudioError> {
    if let Some(rate) = params.sample_rate {
        check_rate(rate)?;
    }
    let channels = params.channels.map(Channels::count);
    if let Some(count) = channels {
        check_channels(count)?;
    }
    let (Some(rate), Some(frames)) = (params.sample_rate, params.n_frames) else {
        return check_memory(
            params.sample_rate.unwrap_or(OUTPUT_RATE),
            channels.unwrap_or(2),
            params.max_frames_per_packet.unwrap_or(0),
        );
    };
    check_decoded_frames(frames, rate, MAX_TRACK_DURATION)?;
    if let (Some(available), Some(per_frame)) = (
        byte_len,
        channels.and_then(|count| pcm_bytes_per_frame(params, count)),
    ) {
        let declared = frames.saturating_mul(per_frame);
        // ffmpeg writing WAV to a pipe cannot know the length and declares 2^32 - 1 bytes.
        let unknown_length = frames == u64::from(u32::MAX) / per_frame;
        if declared > available.saturating_mul(DECLARED_LENGTH_SLACK) && !unknown_length {
            return Err(AudioError::Corrupt(format!(
                "the file declares {declared} bytes of audio but holds only {available}"
            )));
        }
    }
    check_memory(
        rate,
        channels.unwrap_or(2),
        params.max_frames_per_packet.unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rate_in_bounds_fits_the_memory_bound() {
        // The resampler's size depends on rate / gcd(rate, 48 kHz): coprime rates are the worst.
        for rate in [
            MIN_SAMPLE_RATE,
            8_001,
            44_100,
            44_101,
            192_001,
            383_999,
            MAX_SAMPLE_RATE,
        ] {
            let needed = estimated_memory(rate, MAX_CHANNELS, 8192);
            assert!(needed <= MAX_TRACK_MEMORY, "{rate} Hz: {needed} bytes");
        }
    }

    #[test]
    fn rates_outside_the_bounds_are_refused_with_a_sentence() {
        for rate in [0, 1, 7_999, 384_001, 16_777_213, u32::MAX] {
            let error = check_rate(rate).unwrap_err().to_string();
            assert!(error.contains(&format!("{rate} Hz")), "{error}");
            assert!(error.contains("8 to 384 kHz"), "{error}");
        }
    }
}
