//! Step 1: normalize and check the request, then build the plan with every name computed.
//! Pure: it calls no AWS API, so a bad request changes nothing anywhere.

use berth_domain::catalog::Catalog;
use berth_domain::naming;
use berth_domain::plan::{Plan, EXECUTION_ID_MAX};
use berth_domain::request::OnboardingRequest;
use berth_domain::validate::{self, Settings};
use berth_domain::BerthError;

use crate::io::ValidateInput;
use crate::Context;

pub async fn run<P>(cx: &Context<Settings, P>, input: ValidateInput) -> Result<Plan, BerthError> {
    plan(input, &cx.catalog, &cx.config)
}

/// The plan for a request: pure.
pub fn plan(input: ValidateInput, catalog: &Catalog, settings: &Settings) -> Result<Plan, BerthError> {
    if input.execution_id.trim().is_empty() {
        return Err(BerthError::invalid("execution_id", "missing: the state machine passes $$.Execution.Id"));
    }
    if !naming::is_plain_text(&input.execution_id, EXECUTION_ID_MAX) || input.execution_id.contains(char::is_whitespace) {
        return Err(BerthError::invalid(
            "execution_id",
            format!("must be an execution ARN: at most {EXECUTION_ID_MAX} characters, no spaces or control characters"),
        ));
    }
    let request = OnboardingRequest::from_json(input.request)?;
    let plan = validate::validate(&request, catalog, settings, &input.execution_id).map_err(BerthError::InvalidRequest)?;
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, host = %plan.host, services = plan.services.len(), rules = plan.rules.len(), "request valid, plan built");
    Ok(plan)
}
