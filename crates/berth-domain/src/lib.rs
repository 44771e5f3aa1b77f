//! berth's domain: everything that can be decided without talking to AWS.
//!
//! - [`request`]: the onboarding request the portal sends (the state machine's input);
//! - [`catalog`]: the products and their services;
//! - [`validate`]: turns a request into a [`plan::Plan`] or a list of violations;
//! - [`naming`]: every AWS name berth derives, within AWS's limits;
//! - [`allocation`]: the listener-rule priority rules;
//! - [`ledger`]: what berth created for a customer, and the order cleanup undoes it in;
//! - [`lifecycle`]: suspend, resume and offboarding: their requests and their states;
//! - [`events`]: the events berth puts on its bus and the request events it takes;
//! - [`sbt`]: the SaaS Builder Toolkit's requests and answers, mapped to berth's;
//! - [`input`]: outside input's size, depth and shape, with errors that name the field;
//! - [`error`]: the one error vocabulary shared by every step and the state machines.

pub mod access;
pub mod allocation;
pub mod catalog;
pub mod error;
pub mod events;
pub mod input;
pub mod ledger;
pub mod lifecycle;
pub mod naming;
pub mod plan;
pub mod pool;
pub mod request;
pub mod rollout;
pub mod sbt;
pub mod state;
pub mod validate;

pub use error::{BerthError, ErrorKind, Violation, Violations};
