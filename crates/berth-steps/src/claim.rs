//! The first step of every lifecycle machine (suspend, resume, offboarding): check the
//! request, then take the customer for this execution, from one of the states the operation
//! may start from to its in-progress state, in one conditional write. A second lifecycle
//! execution for the same customer is refused with `Berth.Conflict` naming the execution
//! that holds it, and changes nothing. Returns the customer's plan (the names of what berth
//! made for it) now carrying this execution, for the steps that follow.

use berth_adapters::config::TableConfig;
use berth_adapters::ports::{Customers, Ports};
use berth_domain::lifecycle::LifecycleRequest;
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use crate::io::{checked, ClaimInput, Claimed, Outputs, TargetGroupRef};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: ClaimInput) -> Result<Claimed, BerthError> {
    let op = input.operation;
    let request = LifecycleRequest::parse(op, &input.request)?;
    if input.execution_id.is_empty() || input.execution_id.len() > berth_domain::plan::EXECUTION_ID_MAX {
        return Err(BerthError::invalid("execution_id", "must be the execution's ARN"));
    }
    let record = cx.ports.customers().begin(&request.customer_id, &input.execution_id, op).await?;
    let from = record.previous_state.unwrap_or(record.state);
    let mut plan: Plan = record
        .plan
        .clone()
        .ok_or_else(|| BerthError::Internal(format!("customer '{}' has no recorded plan", request.customer_id)))
        .and_then(|p| berth_domain::input::parse(&p, "plan"))?;
    plan.execution_id = input.execution_id.clone();
    checked(&plan)?;
    // The target groups, as the customer's outputs recorded them when it became ACTIVE.
    let recorded: Option<Outputs> = record.outputs.clone().and_then(|o| serde_json::from_value(o).ok());
    let target_groups = plan
        .services
        .iter()
        .map(|s| TargetGroupRef {
            service: s.name.clone(),
            target_group_arn: recorded.as_ref().and_then(|o| o.target_groups.get(&s.name).cloned()),
        })
        .collect();
    tracing::info!(customer = %request.customer_id, execution = %input.execution_id, operation = %op, from = %from, "customer taken");
    Ok(Claimed { plan, request, from, target_groups })
}
