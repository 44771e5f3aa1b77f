//! Intake: what the portal calls to change a customer. It takes an onboarding request as
//! posted, or a request event for any machine as EventBridge delivers it (the envelope's
//! `detail-type` names the machine, its `detail` is the request). It validates the request
//! (a bad one starts nothing and names each field it breaks), names the execution after the
//! customer and the request's idempotency key, and starts it on that machine. The same
//! request delivered again finds that execution and starts nothing; the same key with a
//! different request is `Berth.Conflict`, and so is a new onboarding of a customer who is
//! ACTIVE or being provisioned by another execution (changes go through updates). A
//! lifecycle request for a customer another execution holds starts, and its claim refuses it
//! with `Berth.Conflict` naming the holder. A request event the intake can never take (an
//! invalid request, an unknown detail-type, a conflict) starts nothing and is answered with a
//! `Customer Request Rejected` event on berth's bus listing every reason.
//!
//! It also takes the SaaS Builder Toolkit's requests (`onboardingRequest`,
//! `offboardingRequest`, `activateRequest`, `deactivateRequest`) from SBT's control plane
//! source, mapped to berth's requests by [`berth_domain::sbt`]; their reasons name SBT's
//! fields.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use berth_adapters::config::IntakeConfig;
use berth_adapters::ports::{Customers, Events, Executions, Ports};
use berth_adapters::ExecutionObserved;
use berth_domain::events;
use berth_domain::lifecycle::{LifecycleRequest, Operation};
use berth_domain::naming;
use berth_domain::request::OnboardingRequest;
use berth_domain::sbt;
use berth_domain::validate;
use berth_domain::{BerthError, ErrorKind, Violation};
use serde_json::{json, Value};

use crate::io::{IntakeInput, IntakeOutput};
use crate::Context;

/// The request events' `detail-type`s, and the lifecycle operation each asks for (None: an
/// onboarding).
pub const REQUEST_EVENTS: [(&str, Option<Operation>); 5] = [
    ("Customer Onboarding Requested", None),
    ("Customer Update Requested", Some(Operation::Update)),
    ("Customer Suspend Requested", Some(Operation::Suspend)),
    ("Customer Resume Requested", Some(Operation::Resume)),
    ("Customer Offboarding Requested", Some(Operation::Offboard)),
];

pub async fn run<P: Ports>(cx: &Context<IntakeConfig, P>, input: IntakeInput) -> Result<IntakeOutput, BerthError> {
    let IntakeInput(delivered) = input;
    if delivered.get("detail-type").is_none() {
        // A direct call: the caller gets the error.
        return take(cx, delivered).await;
    }
    // A request event: one it can never take (an invalid request, a conflict) is answered
    // with a rejection event on the bus, which the portal hears, and is not retried; a
    // failure that may pass is an error, retried by EventBridge and then dead-lettered.
    let rejected = Rejected::of(&delivered);
    match take(cx, delivered).await {
        Err(e) if matches!(e.kind(), ErrorKind::InvalidRequest | ErrorKind::Conflict) => {
            let detail = rejected.detail(&e);
            cx.ports.events().put(&cx.config.bus, &cx.config.event_source, events::REQUEST_REJECTED, &detail).await?;
            tracing::warn!(customer = %rejected.customer_id, event = %rejected.event_id, error_type = e.kind().name(), error = %e, "request event rejected");
            Ok(IntakeOutput {
                customer_id: rejected.customer_id,
                execution_name: String::new(),
                execution_arn: String::new(),
                started: false,
                status: "REJECTED".into(),
            })
        }
        other => other,
    }
}

/// What a rejection event says of the request event it answers: its id and detail-type,
/// and the customer and key it names (when they are text; cut to a sane length).
struct Rejected {
    event_id: String,
    detail_type: String,
    customer_id: String,
    idempotency_key: Option<String>,
}

impl Rejected {
    fn of(delivered: &Value) -> Rejected {
        let text = |v: Option<&Value>, max: usize| v.and_then(Value::as_str).map(|s| naming::truncate(s, max).to_string());
        let detail = delivered.get("detail");
        let mut rejected = Rejected {
            event_id: text(delivered.get("id"), 100).unwrap_or_default(),
            detail_type: text(delivered.get("detail-type"), 100).unwrap_or_default(),
            customer_id: text(detail.and_then(|d| d.get("customer_id")), 80).unwrap_or_default(),
            idempotency_key: text(detail.and_then(|d| d.get("idempotency_key")), 80),
        };
        // An SBT request names its tenant: the customer and key are berth's for it.
        let sbt_request = delivered.get("detail-type").and_then(Value::as_str).and_then(sbt::operation_of);
        if let (Some(op), Some(detail)) = (sbt_request, detail) {
            if let Ok(request) = sbt::request(op, &rejected.event_id, detail) {
                rejected.customer_id = text(request.get("customer_id"), 80).unwrap_or_default();
                rejected.idempotency_key = text(request.get("idempotency_key"), 80);
            }
        }
        rejected
    }

    /// The rejection's detail: every reason, each naming its field.
    fn detail(&self, e: &BerthError) -> Value {
        let reasons: Vec<Violation> = match e {
            BerthError::InvalidRequest(v) => v.0.clone(),
            other => {
                vec![Violation::new(if self.idempotency_key.is_some() { "idempotency_key" } else { "customer_id" }, other.to_string())]
            }
        };
        json!({
            "version": events::VERSION,
            "request_id": self.event_id,
            "request_detail_type": self.detail_type,
            "customer_id": self.customer_id,
            "idempotency_key": self.idempotency_key,
            "error": e.kind().name(),
            "reasons": reasons,
        })
    }
}

/// Validates a delivery and starts its execution once.
async fn take<P: Ports>(cx: &Context<IntakeConfig, P>, delivered: Value) -> Result<IntakeOutput, BerthError> {
    let sbt = delivered.get("detail-type").and_then(Value::as_str).and_then(sbt::operation_of);
    let (op, request) = unwrap(delivered, &cx.config.sbt_control_plane_source)?;
    match sbt {
        Some(sbt_op) => start(cx, op, request).await.map_err(|e| sbt::rename_fields(sbt_op, e)),
        None => start(cx, op, request).await,
    }
}

/// Validates a request for `op` (None: an onboarding) and starts its execution once, named
/// `{customer_id}_{idempotency_key}` (the HTTP API starts through here too).
pub async fn start<P: Ports>(cx: &Context<IntakeConfig, P>, op: Option<Operation>, request: Value) -> Result<IntakeOutput, BerthError> {
    // An update's request is the customer's whole desired spec, checked as an onboarding's.
    let (customer_id, key, state_machine_arn) = match op {
        None | Some(Operation::Update) => {
            let parsed = OnboardingRequest::from_json(request.clone())?;
            let machine = op.map_or(cx.config.state_machine_arn.as_str(), |op| cx.config.lifecycle_state_machine(op));
            let arn = naming::execution_arn(machine, &naming::execution_name(&parsed.customer_id, &parsed.idempotency_key));
            validate::validate(&parsed, &cx.catalog, &cx.config.settings, &arn).map_err(BerthError::InvalidRequest)?;
            (parsed.customer_id, parsed.idempotency_key, machine)
        }
        Some(op) => {
            let parsed = LifecycleRequest::parse(op, &request)?;
            (parsed.customer_id, parsed.idempotency_key, cx.config.lifecycle_state_machine(op))
        }
    };
    let name = naming::execution_name(&customer_id, &key);
    let arn = naming::execution_arn(state_machine_arn, &name);
    let out = |started: bool, status: String| IntakeOutput {
        customer_id: customer_id.clone(),
        execution_name: name.clone(),
        execution_arn: arn.clone(),
        started,
        status,
    };

    let executions = cx.ports.executions();
    if let Some(existing) = executions.find(&arn).await? {
        same_request(&existing, &request, &customer_id, &key)?;
        tracing::info!(customer = %customer_id, execution = %arn, status = %existing.status, "delivered before: nothing started");
        return Ok(out(false, existing.status));
    }
    if op.is_none() {
        if let Some(c) = cx.ports.customers().get(&customer_id).await? {
            if c.execution_id != arn && !c.state.onboardable() {
                return Err(BerthError::Conflict(format!(
                    "customer '{customer_id}' is already {} (execution {}): a new onboarding starts only from FAILED, ROLLBACK_FAILED or DELETED",
                    c.state, c.execution_id
                )));
            }
        }
    }
    // Canonical JSON (keys sorted), so every delivery of one request has the same input.
    let input = serde_json::to_string(&request).map_err(|e| BerthError::Internal(format!("request not serializable: {e}")))?;
    let start = executions.start(state_machine_arn, &name, &input).await?;
    if start.started {
        tracing::info!(customer = %customer_id, execution = %start.arn, operation = op.map_or("onboard", Operation::name), "execution started");
        return Ok(out(true, "RUNNING".into()));
    }
    // Another delivery started it between our look and our start.
    let existing = executions
        .find(&arn)
        .await?
        .ok_or_else(|| BerthError::Transient(format!("execution {name} reported to exist but not found yet")))?;
    same_request(&existing, &request, &customer_id, &key)?;
    tracing::info!(customer = %customer_id, execution = %arn, status = %existing.status, "delivered concurrently: nothing started");
    Ok(out(false, existing.status))
}

/// The operation a delivery asks for and its request: an EventBridge envelope's `detail`
/// under its `detail-type`, SBT's request mapped to berth's (from SBT's control plane
/// source), or an onboarding request as posted.
pub fn unwrap(delivered: Value, sbt_source: &str) -> Result<(Option<Operation>, Value), BerthError> {
    if delivered.get("detail-type").is_none() {
        return Ok((None, delivered));
    }
    let event: EventBridgeEvent<Value> = serde_json::from_value(delivered)
        .map_err(|e| BerthError::invalid("detail", format!("not an EventBridge event with a request as its detail: {e}")))?;
    if let Some(op) = sbt::operation_of(&event.detail_type) {
        if event.source != sbt_source {
            return Err(BerthError::invalid("source", format!("SBT's requests are taken from its control plane's source '{sbt_source}'")));
        }
        let id = event.id.as_deref().unwrap_or_default();
        return Ok((op, sbt::request(op, id, &event.detail)?));
    }
    let op = REQUEST_EVENTS.iter().find(|(t, _)| *t == event.detail_type).map(|(_, op)| *op).ok_or_else(|| {
        let known: Vec<&str> = REQUEST_EVENTS.iter().map(|(t, _)| *t).chain(sbt::REQUESTS.iter().map(|(t, _)| *t)).collect();
        BerthError::invalid("detail-type", format!("must be one of {known:?}"))
    })?;
    if !event.detail.is_object() {
        return Err(BerthError::invalid("detail", "must be the request, an object"));
    }
    Ok((op, event.detail))
}

fn same_request(existing: &ExecutionObserved, request: &Value, customer_id: &str, key: &str) -> Result<(), BerthError> {
    let theirs: Option<Value> = existing.input.as_deref().and_then(|i| serde_json::from_str(i).ok());
    if theirs.as_ref() == Some(request) {
        return Ok(());
    }
    Err(BerthError::Conflict(format!(
        "idempotency_key '{key}' of customer '{customer_id}' was used by execution {} for a different request",
        existing.arn
    )))
}
