//! Step 7: the customer becomes ACTIVE, with its outputs recorded and returned.

use berth_adapters::config::TableConfig;
use berth_adapters::ports::{Customers, Ports};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{checked, ActivateInput, Outputs};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: ActivateInput) -> Result<Outputs, BerthError> {
    let plan = checked(&input.plan)?;
    let (allocation, resources, dns) = (&input.placement, &input.resources, &input.dns);
    let mut outputs = Outputs {
        customer_id: plan.customer_id.clone(),
        state: CustomerState::Active,
        url: plan.url(),
        host: plan.host.clone(),
        urls: plan.urls(),
        own_domain: dns.own_domain.clone(),
        alb: allocation.alb.clone(),
        listener_arn: allocation.listener_arn.clone(),
        priorities: allocation.priorities.iter().map(|p| (p.service.clone(), p.priority)).collect(),
        target_groups: Default::default(),
        rules: Default::default(),
        task_definitions: Default::default(),
        services: Default::default(),
        log_groups: Default::default(),
        dns_change_id: dns.change_id.clone(),
    };
    for s in &resources.services {
        if let Some(tg) = &s.target_group_arn {
            outputs.target_groups.insert(s.service.clone(), tg.clone());
        }
        if let Some(r) = &s.rule_arn {
            outputs.rules.insert(s.service.clone(), r.clone());
        }
        outputs.task_definitions.insert(s.service.clone(), s.task_definition_arn.clone());
        outputs.services.insert(s.service.clone(), s.service_arn.clone());
        outputs.log_groups.insert(s.service.clone(), s.log_group.clone());
    }
    let value = serde_json::to_value(&outputs).map_err(|e| BerthError::Internal(format!("outputs not serializable: {e}")))?;
    cx.ports.customers().activate(&plan.customer_id, &plan.execution_id, &value).await?;
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, url = %outputs.url, "customer active");
    Ok(outputs)
}
