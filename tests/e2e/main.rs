//! e2e

mod deploy;
mod layering;
