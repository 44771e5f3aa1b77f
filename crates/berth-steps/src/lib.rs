//! The steps of every state machine (onboarding, suspend, resume, offboarding). Each is a reconciler: it looks up what exists, creates or fixes
//! only what is missing, and returns what it observed; running it twice changes nothing.
//! Each step takes its function's [`Context`] (configuration and ports, built once) and its
//! own small input ([`io`]); the [`lambda`] module adapts them to Lambda events and
//! `Diagnostic`s, and [`pipeline`] names every step once and builds the state machines.

pub mod activate;
pub mod allocate;
pub mod api;
pub mod check;
pub mod claim;
pub mod dns;
pub mod fail;
pub mod gate;
pub mod intake;
pub mod io;
pub mod lambda;
pub mod pipeline;
pub mod register;
pub mod reshape;
pub mod resource;
pub mod resources;
pub mod rollback;
pub mod sbt;
pub mod scale;
pub mod settle;
pub mod validate;
pub mod waves;

pub use io::*;
pub use lambda::{serve, Context};
