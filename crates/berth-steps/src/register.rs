//! Step 2: the customer record, PROVISIONING, and the host claim, in one transaction.

use berth_adapters::model::Registration;
use berth_adapters::ports::Customers;
use berth_domain::BerthError;

use crate::io::{RegisterOutput, State};

pub async fn run<C: Customers>(customers: &C, state: &State) -> Result<RegisterOutput, BerthError> {
    let plan = state.plan()?;
    let plan_json = serde_json::to_string(plan).map_err(|e| BerthError::Internal(format!("plan not serializable: {e}")))?;
    let record = customers
        .register(&Registration {
            customer_id: plan.customer_id.clone(),
            execution_id: plan.execution_id.clone(),
            host: plan.host.clone(),
            display_name: plan.display_name.clone(),
            products: plan.products.clone(),
            plan_json,
        })
        .await?;
    tracing::info!(customer = %record.customer_id, execution = %record.execution_id, state = %record.state, "customer registered");
    Ok(RegisterOutput { customer_id: record.customer_id, state: record.state, host: record.host })
}
