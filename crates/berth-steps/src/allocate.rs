//! Step 3: the listener-rule priorities this customer needs, atomically.

use berth_adapters::ports::Priorities;
use berth_domain::BerthError;

use crate::io::{AllocationOutput, RulePriority, State};

pub async fn run<P: Priorities>(priorities: &P, listener_arn: &str, state: &State) -> Result<AllocationOutput, BerthError> {
    let plan = state.plan()?;
    let mut numbers = priorities.allocate(listener_arn, &plan.customer_id, &plan.execution_id, plan.rules.len()).await?;
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
        listener_arn: listener_arn.to_string(),
        priorities: plan.rules.iter().zip(numbers).map(|(r, p)| RulePriority { service: r.service.clone(), priority: p }).collect(),
    };
    tracing::info!(customer = %plan.customer_id, listener = listener_arn, priorities = ?out.priorities, "priorities held");
    Ok(out)
}
