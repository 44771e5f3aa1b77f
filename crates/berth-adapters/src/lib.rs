//! Narrow traits over the AWS services berth drives, and their implementations.
//!
//! Each trait is one capability a step needs (`TargetGroups`, `ListenerRules`, `Customers`...);
//! `aws::*` implements them with the AWS SDK for Rust, [`memory`] with in-memory state for the
//! steps' unit tests. AWS errors are classified into berth's vocabulary here, at the boundary
//! ([`classify`]), and keep their SDK error as the source.

pub mod aws;
pub mod classify;
pub mod config;
pub mod memory;
pub mod model;
pub mod ports;
pub mod telemetry;

pub use classify::classify;
pub use model::*;
pub use ports::*;
