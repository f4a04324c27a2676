//! The individual filters. Each works in place on interleaved stereo `f32` and allocates only
//! when it is built.

pub(crate) mod biquad;
pub(crate) mod equalizer;
pub(crate) mod karaoke;
pub(crate) mod modulation;
pub(crate) mod reverb;
pub(crate) mod simple;
pub(crate) mod trig;
