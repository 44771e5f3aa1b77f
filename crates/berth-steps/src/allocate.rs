//! Step 3: place the customer on an ALB of the pool with room for all of its rules and
//! target groups, and take its listener-rule priorities there, atomically.

use berth_adapters::ports::Placements;
use berth_domain::pool::Need;
use berth_domain::BerthError;

use crate::io::{AllocationOutput, RulePriority, State};

pub async fn run<P: Placements>(placements: &P, state: &State) -> Result<AllocationOutput, BerthError> {
    let plan = state.plan()?;
    let need = Need {
        rules: plan.rules.len() as u32,
        target_groups: plan.services.iter().filter(|s| s.target_group.is_some()).count() as u32,
        certificates: 0,
    };
    let placement = placements.place(&plan.customer_id, &plan.execution_id, &need).await?;
    let mut numbers = placement.priorities;
    if numbers.len() != plan.rules.len() {
        return Err(BerthError::Conflict(format!(
            "customer '{}' holds {} priorities but the plan has {} rules",
            plan.customer_id,
            numbers.len(),
            plan.rules.len()
        )));
    }
    // Lowest number to the most specific rule: the plan lists rules most specific first.
    numbers.sort_unstable();
    let out = AllocationOutput {
        listener_arn: placement.alb.listener_arn.clone(),
        alb: placement.alb,
        priorities: plan.rules.iter().zip(numbers).map(|(r, p)| RulePriority { service: r.service.clone(), priority: p }).collect(),
    };
    tracing::info!(customer = %plan.customer_id, alb = %out.alb.name, listener = %out.listener_arn, priorities = ?out.priorities, "placed");
    Ok(out)
}
