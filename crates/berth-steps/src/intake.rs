//! Intake: what the portal calls to onboard a customer. It validates the request (a bad
//! one changes nothing), names the execution after the customer and the request's
//! idempotency key, and starts it. The same request delivered again finds that execution
//! and starts nothing; the same key with a different request is `Berth.Conflict`, and so is
//! a new onboarding of a customer who is ACTIVE or being provisioned by another execution
//! (changes go through updates).

use berth_adapters::config::IntakeConfig;
use berth_adapters::ports::{Customers, Executions, Ports};
use berth_adapters::ExecutionObserved;
use berth_domain::naming;
use berth_domain::request::OnboardingRequest;
use berth_domain::validate;
use berth_domain::BerthError;

use crate::io::{IntakeInput, IntakeOutput};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<IntakeConfig, P>, input: IntakeInput) -> Result<IntakeOutput, BerthError> {
    let IntakeInput(request) = input;
    let (customers, executions) = (cx.ports.customers(), cx.ports.executions());
    let (catalog, settings, state_machine_arn) = (&cx.catalog, &cx.config.settings, cx.config.state_machine_arn.as_str());
    let parsed = OnboardingRequest::from_json(request.clone())?;
    let name = naming::execution_name(&parsed.customer_id, &parsed.idempotency_key);
    let arn = naming::execution_arn(state_machine_arn, &name);
    validate::validate(&parsed, catalog, settings, &arn).map_err(BerthError::InvalidRequest)?;
    let out = |started: bool, status: String| IntakeOutput {
        customer_id: parsed.customer_id.clone(),
        execution_name: name.clone(),
        execution_arn: arn.clone(),
        started,
        status,
    };

    if let Some(existing) = executions.find(&arn).await? {
        same_request(&existing, &request, &parsed)?;
        tracing::info!(customer = %parsed.customer_id, execution = %arn, status = %existing.status, "delivered before: nothing started");
        return Ok(out(false, existing.status));
    }
    if let Some(c) = customers.get(&parsed.customer_id).await? {
        if c.execution_id != arn && !c.state.onboardable() {
            return Err(BerthError::Conflict(format!(
                "customer '{}' is already {} (execution {}): a new onboarding starts only from FAILED, ROLLBACK_FAILED or DELETED",
                parsed.customer_id, c.state, c.execution_id
            )));
        }
    }
    // Canonical JSON (keys sorted), so every delivery of one request has the same input.
    let input = serde_json::to_string(&request).map_err(|e| BerthError::Internal(format!("request not serializable: {e}")))?;
    let start = executions.start(state_machine_arn, &name, &input).await?;
    if start.started {
        tracing::info!(customer = %parsed.customer_id, execution = %start.arn, "execution started");
        return Ok(out(true, "RUNNING".into()));
    }
    // Another delivery started it between our look and our start.
    let existing = executions
        .find(&arn)
        .await?
        .ok_or_else(|| BerthError::Transient(format!("execution {name} reported to exist but not found yet")))?;
    same_request(&existing, &request, &parsed)?;
    tracing::info!(customer = %parsed.customer_id, execution = %arn, status = %existing.status, "delivered concurrently: nothing started");
    Ok(out(false, existing.status))
}

fn same_request(existing: &ExecutionObserved, request: &serde_json::Value, parsed: &OnboardingRequest) -> Result<(), BerthError> {
    let theirs: Option<serde_json::Value> = existing.input.as_deref().and_then(|i| serde_json::from_str(i).ok());
    if theirs.as_ref() == Some(request) {
        return Ok(());
    }
    Err(BerthError::Conflict(format!(
        "idempotency_key '{}' of customer '{}' was used by execution {} for a different request",
        parsed.idempotency_key, parsed.customer_id, existing.arn
    )))
}
