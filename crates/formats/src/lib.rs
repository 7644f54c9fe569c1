//! Text formats several crates share: the metrics endpoints' expositions
//! and durations in configuration files.

pub mod duration;
pub mod exposition;

pub use exposition::Exposition;
