//! e2e

mod layering;
