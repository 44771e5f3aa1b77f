//! The events berth puts on its bus, and the request events it takes from there: their
//! `detail-type`s and the version their `detail` carries. The contracts are the JSON Schemas
//! in `events/schemas/`, with an example of each in `events/`.
//!
//! Every execution of a customer machine ends with exactly one outcome event, named after
//! its operation and how it ended (`Customer Onboarding Succeeded`, `Customer Suspend
//! Failed`...). The state machines put them (the `events:putEvents` integration).

use crate::lifecycle::Operation;

/// The `version` of every event's detail that berth emits: a change a consumer must handle
/// gets a new one.
pub const VERSION: &str = "1";

/// The `source` of berth's events unless the deployment sets another.
pub const DEFAULT_SOURCE: &str = "berth";

/// A request event the intake could not take (bad detail-type, invalid request): every
/// reason, each naming its field.
pub const REQUEST_REJECTED: &str = "Customer Request Rejected";

/// A step of a customer's execution has ended: the step, how (succeeded, or failed and
/// whether the machine retries it), its duration and the time since the execution started.
pub const PROGRESS: &str = "Customer Progress";

/// How an operation is named in its events: `Customer {noun} Requested`, `... Succeeded`,
/// `... Failed` (None: an onboarding).
pub const fn noun(op: Option<Operation>) -> &'static str {
    match op {
        None => "Onboarding",
        Some(Operation::Update) => "Update",
        Some(Operation::Suspend) => "Suspend",
        Some(Operation::Resume) => "Resume",
        Some(Operation::Offboard) => "Offboarding",
    }
}

/// The operation as the events' `operation` field names it.
pub const fn operation(op: Option<Operation>) -> &'static str {
    match op {
        None => "onboard",
        Some(op) => op.name(),
    }
}

/// The request event's `detail-type` for an operation.
pub fn requested(op: Option<Operation>) -> String {
    format!("Customer {} Requested", noun(op))
}

/// The outcome event's `detail-type` for an operation that ended as `succeeded` says.
pub fn outcome(op: Option<Operation>, succeeded: bool) -> String {
    format!("Customer {} {}", noun(op), if succeeded { "Succeeded" } else { "Failed" })
}

/// Every operation the events speak of: the onboarding, then the lifecycle operations.
pub fn operations() -> impl Iterator<Item = Option<Operation>> {
    std::iter::once(None).chain(Operation::ALL.into_iter().map(Some))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_has_its_own_request_and_outcome_names() {
        let mut names: Vec<String> = operations().flat_map(|op| [requested(op), outcome(op, true), outcome(op, false)]).collect();
        names.push(REQUEST_REJECTED.to_string());
        names.push(PROGRESS.to_string());
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(outcome(None, true), "Customer Onboarding Succeeded");
        assert_eq!(outcome(Some(Operation::Offboard), false), "Customer Offboarding Failed");
        assert_eq!(requested(Some(Operation::Suspend)), "Customer Suspend Requested");
    }
}
