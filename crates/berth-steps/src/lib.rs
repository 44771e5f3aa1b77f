//! The provisioning steps. Each is a reconciler: it looks up what exists, creates or fixes
//! only what is missing, and returns what it observed; running it twice changes nothing.
//! Steps take typed inputs (the execution state) and the narrow ports they need; the
//! [`lambda`] module adapts them to Lambda events and `Diagnostic`s.

pub mod activate;
pub mod allocate;
pub mod check;
pub mod dns;
pub mod fail;
pub mod intake;
pub mod io;
pub mod lambda;
pub mod register;
pub mod resources;
pub mod rollback;
pub mod validate;

pub use io::*;
