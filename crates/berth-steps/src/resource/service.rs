//! A service of the customer's on the shared cluster.

use berth_adapters::config::InfraConfig;
use berth_adapters::model::{ServiceObserved, ServiceSpec};
use berth_adapters::ports::Services;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::{Plan, ServicePlan};
use berth_domain::BerthError;

use super::{not_ours, owned_by, tags, Journal};

#[allow(clippy::too_many_arguments)]
pub(crate) async fn reconcile<S: Services>(
    services: &S,
    plan: &Plan,
    s: &ServicePlan,
    task_definition: &str,
    load_balancer: Option<(String, String, u16)>,
    found: Option<&ServiceObserved>,
    infra: &InfraConfig,
    security_group: &str,
    j: &mut Journal,
) -> Result<ServiceObserved, BerthError> {
    let groups = vec![security_group.to_string()];
    match found {
        Some(svc) if svc.status != "INACTIVE" && !owned_by(&svc.tags, plan) => Err(not_ours("ECS service", &svc.name, plan)),
        Some(svc) if svc.status == "ACTIVE" => {
            j.hold(ResourceKind::Service, &svc.arn, Some(&infra.cluster));
            // A scaled service keeps the count its scaler gave it, within the plan's bounds.
            let now = svc.desired_count.max(0) as u32;
            let desired = match &s.autoscaling {
                Some(a) if (a.min..=a.max).contains(&now) => now,
                _ => s.desired_count,
            };
            // Its tasks in the customer's group and no other.
            let network = (svc.security_groups != groups).then_some((infra.subnets.as_slice(), groups.as_slice()));
            if svc.task_definition != task_definition || now != desired || svc.desired_count < 0 || network.is_some() {
                let updated = services.update(&infra.cluster, &s.ecs_service, task_definition, desired, network).await?;
                let moved = if network.is_some() { format!(", security group {security_group}") } else { String::new() };
                j.fixed.push(format!("{}: task definition {task_definition}, desired {desired}{moved}", svc.arn));
                return Ok(updated);
            }
            Ok(svc.clone())
        }
        Some(svc) if svc.status == "DRAINING" => {
            Err(BerthError::Transient(format!("service {} is still draining from an earlier deletion", svc.name)))
        }
        _ => {
            let created = services
                .create(&ServiceSpec {
                    cluster: infra.cluster.clone(),
                    name: s.ecs_service.clone(),
                    task_definition_arn: task_definition.to_string(),
                    desired_count: s.desired_count,
                    subnets: infra.subnets.clone(),
                    security_groups: groups,
                    load_balancer,
                    client_token: s.client_token.clone(),
                    tags: tags(plan, &s.name),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, service = %created.arn, "service created");
            j.created.push(created.arn.clone());
            j.hold(ResourceKind::Service, &created.arn, Some(&infra.cluster));
            Ok(created)
        }
    }
}

/// The planned services that are ACTIVE on the cluster and the customer's.
pub async fn find<S: Services>(
    services: &S,
    cluster: &str,
    plan: &Plan,
    strangers: &mut Vec<String>,
) -> Result<Vec<LedgerEntry>, BerthError> {
    let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
    let mut found = Vec::new();
    for s in services.describe(cluster, &names).await?.into_iter().filter(|s| s.status == "ACTIVE") {
        if owned_by(&s.tags, plan) {
            found.push(LedgerEntry::new(ResourceKind::Service, &s.arn, Some(cluster.to_string()), plan.execution_id.as_str()));
        } else {
            strangers.push(format!("service {}", s.arn));
        }
    }
    Ok(found)
}

/// Scales the service (by ARN or name) to 0, then deletes it; false when it was not there.
pub async fn remove<S: Services>(services: &S, cluster: &str, service: &str) -> Result<bool, BerthError> {
    let name = service.rsplit('/').next().unwrap_or(service);
    services.remove(cluster, name).await
}
