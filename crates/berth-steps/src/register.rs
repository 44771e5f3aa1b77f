//! Step 2: the customer record (PROVISIONING), the host claim and the ledger entry of the
//! DNS record the customer will hold under that host, in one transaction.

use berth_adapters::config::DnsConfig;
use berth_adapters::model::Registration;
use berth_adapters::ports::Customers;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{RegisterOutput, State};

pub async fn run<C: Customers>(customers: &C, dns: &DnsConfig, state: &State) -> Result<RegisterOutput, BerthError> {
    let plan = state.plan()?;
    let plan_json = serde_json::to_string(plan).map_err(|e| BerthError::Internal(format!("plan not serializable: {e}")))?;
    customers
        .register(&Registration {
            customer_id: plan.customer_id.clone(),
            execution_id: plan.execution_id.clone(),
            host: plan.host.clone(),
            display_name: plan.display_name.clone(),
            products: plan.products.clone(),
            plan_json,
            // In the ledger before the dns step can write it: a rollback from any later
            // step looks for it.
            ledger: vec![LedgerEntry::new(ResourceKind::DnsRecord, &plan.host, Some(dns.hosted_zone_id.clone()), &plan.execution_id)],
        })
        .await?;
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, host = %plan.host, "customer registered");
    Ok(RegisterOutput { customer_id: plan.customer_id.clone(), state: CustomerState::Provisioning, host: plan.host.clone() })
}
