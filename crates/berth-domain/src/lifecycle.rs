//! The rest of a customer's life after onboarding: update, suspend, resume and offboard. Each is a
//! state machine of its own that first takes the customer (one lifecycle execution at a
//! time), and what each may start from, passes through and ends in is decided here.
//! An update's request is the customer's whole desired spec, in the onboarding request's
//! shape; the others' requests are small: the customer, the caller's idempotency key, and
//! the operation's own options. `events/schemas/lifecycle-request.schema.json` describes them;
//! `events/suspend.json`, `events/resume.json` and `events/offboard.json` are examples.

use serde::{Deserialize, Serialize};

use crate::error::Violations;
use crate::state::CustomerState;
use crate::{naming, validate, BerthError};

/// Free text an operator adds (`note`, `requested_by`): bounded, printable, no credentials.
pub const NOTE_MAX: usize = 256;
pub const REQUESTED_BY_MAX: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Reconcile the customer's services to a new desired spec (image tags, counts, sizes,
    /// environment, secret references).
    Update,
    Suspend,
    Resume,
    Offboard,
}

impl Operation {
    pub const ALL: [Operation; 4] = [Operation::Update, Operation::Suspend, Operation::Resume, Operation::Offboard];

    pub const fn name(self) -> &'static str {
        match self {
            Operation::Update => "update",
            Operation::Suspend => "suspend",
            Operation::Resume => "resume",
            Operation::Offboard => "offboard",
        }
    }

    /// The states an execution of this operation may take the customer from. Offboarding
    /// a customer that is already DELETED runs again and finds nothing left.
    pub const fn allowed_from(self) -> &'static [CustomerState] {
        match self {
            Operation::Update => &[CustomerState::Active, CustomerState::Degraded],
            Operation::Suspend => &[CustomerState::Active],
            Operation::Resume => &[CustomerState::Suspended, CustomerState::Degraded],
            Operation::Offboard => &[
                CustomerState::Active,
                CustomerState::Suspended,
                CustomerState::Failed,
                CustomerState::RollbackFailed,
                CustomerState::Degraded,
                CustomerState::Deleted,
            ],
        }
    }

    /// The state the customer is in while the execution runs.
    pub const fn during(self) -> CustomerState {
        match self {
            Operation::Update => CustomerState::Updating,
            Operation::Suspend => CustomerState::Suspending,
            Operation::Resume => CustomerState::Resuming,
            Operation::Offboard => CustomerState::Deprovisioning,
        }
    }

    /// The state it ends in when the execution succeeds.
    pub const fn done(self) -> CustomerState {
        match self {
            Operation::Update => CustomerState::Active,
            Operation::Suspend => CustomerState::Suspended,
            Operation::Resume => CustomerState::Active,
            Operation::Offboard => CustomerState::Deleted,
        }
    }

    /// The state it ends in when the execution fails after taking the customer: an update
    /// or a suspend whose services were put back (to their previous revisions and counts)
    /// stays ACTIVE; otherwise something is not as it should be, and the record lists what.
    pub const fn failed(self, put_back: bool) -> CustomerState {
        match (self, put_back) {
            (Operation::Update | Operation::Suspend, true) => CustomerState::Active,
            _ => CustomerState::Degraded,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a customer is suspended, as the operator says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspendReason {
    Unpaid,
    Idle,
    OnRequest,
}

/// A suspend, resume or offboarding request: the state machine's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    pub customer_id: String,
    /// Chosen by the caller, the same for every delivery of one request: the execution is
    /// named `{customer_id}_{idempotency_key}`.
    pub idempotency_key: String,
    /// Suspend only: why (kept on the record and in the history).
    #[serde(default)]
    pub reason: Option<SuspendReason>,
    /// Offboarding only: keep the customer's log groups (with their retention) instead of
    /// deleting them.
    #[serde(default)]
    pub keep_log_groups: bool,
    /// Who asked (kept in the history).
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Free text kept in the history.
    #[serde(default)]
    pub note: Option<String>,
}

impl LifecycleRequest {
    /// Parses and checks a request for `op`: every broken rule is reported, naming its field.
    pub fn parse(op: Operation, value: &serde_json::Value) -> Result<LifecycleRequest, BerthError> {
        let request: LifecycleRequest = crate::input::parse(value, "request")?;
        let broken = request.check(op);
        if broken.is_empty() {
            Ok(request)
        } else {
            Err(BerthError::InvalidRequest(broken))
        }
    }

    pub fn check(&self, op: Operation) -> Violations {
        let mut v = Violations::default();
        validate::check_customer_id(&self.customer_id, &mut v);
        if !naming::is_idempotency_key(&self.idempotency_key) {
            v.push("idempotency_key", format!("must be 1-{} characters of letters, digits, '-' and '_'", naming::IDEMPOTENCY_KEY_MAX));
        }
        if self.reason.is_some() && op != Operation::Suspend {
            v.push("reason", format!("only a suspend takes a reason, not a {op}"));
        }
        if self.keep_log_groups && op != Operation::Offboard {
            v.push("keep_log_groups", format!("only an offboarding keeps log groups, not a {op}"));
        }
        for (field, text, max) in [("requested_by", &self.requested_by, REQUESTED_BY_MAX), ("note", &self.note, NOTE_MAX)] {
            let Some(text) = text else { continue };
            if text.is_empty() || !naming::is_plain_text(text, max) {
                v.push(field, format!("must be 1-{max} printable characters"));
            } else if naming::carries_credentials(text) {
                v.push(field, "carries credentials (the value is not shown)");
            }
        }
        v
    }

    /// The execution's name: the same for every delivery of one request.
    pub fn execution_name(&self) -> String {
        naming::execution_name(&self.customer_id, &self.idempotency_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_operation_starts_from_settled_states_only() {
        for op in Operation::ALL {
            assert!(op.during().in_progress(), "{op}");
            assert!(!op.done().in_progress(), "{op}");
            for s in op.allowed_from() {
                assert!(!s.in_progress(), "{op} from {s}");
            }
        }
        assert!(Operation::Offboard.allowed_from().contains(&CustomerState::Deleted));
        assert!(!Operation::Suspend.allowed_from().contains(&CustomerState::Suspended));
        assert_eq!(Operation::Suspend.failed(true), CustomerState::Active);
        assert_eq!(Operation::Offboard.failed(true), CustomerState::Degraded);
    }

    /// The committed JSON Schema describes exactly this type's fields.
    #[test]
    fn the_schema_has_the_same_fields() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/schemas/lifecycle-request.schema.json")).unwrap();
        let mut theirs: Vec<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
        theirs.sort();
        let full = LifecycleRequest {
            customer_id: "acme".into(),
            idempotency_key: "k".into(),
            reason: None,
            keep_log_groups: false,
            requested_by: None,
            note: None,
        };
        let mut mine: Vec<String> = serde_json::to_value(&full).unwrap().as_object().unwrap().keys().cloned().collect();
        mine.sort();
        assert_eq!(theirs, mine);
        let reasons: Vec<serde_json::Value> = schema["properties"]["reason"]["enum"].as_array().unwrap().clone();
        for r in [SuspendReason::Unpaid, SuspendReason::Idle, SuspendReason::OnRequest] {
            assert!(reasons.contains(&serde_json::to_value(r).unwrap()), "{r:?}");
        }
    }

    #[test]
    fn requests_are_checked_per_operation() {
        let ok = LifecycleRequest::parse(Operation::Suspend, &json!({"customer_id": "acme", "idempotency_key": "s-1", "reason": "unpaid"}))
            .unwrap();
        assert_eq!(ok.reason, Some(SuspendReason::Unpaid));
        assert_eq!(ok.execution_name(), "acme_s-1");
        let field = |op, v: serde_json::Value| match LifecycleRequest::parse(op, &v) {
            Err(BerthError::InvalidRequest(vs)) => vs.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(Operation::Resume, json!({"customer_id": "acme", "idempotency_key": "r", "reason": "idle"})), ["reason"]);
        assert_eq!(
            field(Operation::Suspend, json!({"customer_id": "acme", "idempotency_key": "r", "keep_log_groups": true})),
            ["keep_log_groups"]
        );
        assert_eq!(
            field(Operation::Offboard, json!({"customer_id": "Acme", "idempotency_key": "a/b"})),
            ["customer_id", "idempotency_key"]
        );
        assert_eq!(field(Operation::Offboard, json!({"customer_id": "acme", "idempotency_key": "k", "colour": 1})), ["request.colour"]);
        assert_eq!(
            field(Operation::Suspend, json!({"customer_id": "acme", "idempotency_key": "k", "reason": "bored"})),
            ["request.reason"]
        );
        assert_eq!(
            field(
                Operation::Offboard,
                json!({"customer_id": "acme", "idempotency_key": "k", "note": "db at postgres://app:hunter2@db/app"})
            ),
            ["note"]
        );
        assert_eq!(
            field(Operation::Offboard, json!({"customer_id": "acme", "idempotency_key": "k", "requested_by": ""})),
            ["requested_by"]
        );
    }
}
