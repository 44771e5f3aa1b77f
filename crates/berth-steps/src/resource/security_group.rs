//! The customer's own security group in the cluster's VPC: inbound only from the ALBs'
//! group on the customer's service ports; outbound as the deployment says.

use std::collections::BTreeSet;

use berth_adapters::config::InfraConfig;
use berth_adapters::model::SecurityGroupSpec;
use berth_adapters::ports::SecurityGroups;
use berth_domain::access::{self, Permission};
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use super::{not_ours, owned_by, Journal};

/// Makes the group, or puts its rules back to exactly the wanted ones; returns its id.
pub(crate) async fn reconcile<G: SecurityGroups>(
    groups: &G,
    plan: &Plan,
    infra: &InfraConfig,
    j: &mut Journal,
) -> Result<String, BerthError> {
    let (group, made) = match groups.find(&infra.vpc_id, &plan.security_group).await? {
        Some(found) if !owned_by(&found.tags, plan) => return Err(not_ours("security group", &plan.security_group, plan)),
        Some(found) => (found, false),
        None => {
            let created = groups
                .create(&SecurityGroupSpec {
                    vpc_id: infra.vpc_id.clone(),
                    name: plan.security_group.clone(),
                    description: format!("berth: the tasks of customer {}", plan.customer_id),
                    tags: plan.tags.clone(),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, security_group = %created.id, "security group created");
            j.created.push(created.id.clone());
            (created, true)
        }
    };
    j.hold(ResourceKind::SecurityGroup, &group.id, Some(&infra.vpc_id));
    let ingress = access::ingress(plan, &infra.alb_security_group);
    let egress = infra.egress.rules();
    for (is_egress, have, want) in [(false, &group.ingress, &ingress), (true, &group.egress, &egress)] {
        let missing: Vec<Permission> = want.difference(have).cloned().collect();
        let extra: Vec<Permission> = have.difference(want).cloned().collect();
        let way = if is_egress { "outbound" } else { "inbound" };
        // A group made now gets its rules; one found is put back to them, and says so.
        if !missing.is_empty() {
            groups.authorize(&group.id, is_egress, &missing).await?;
            if !made {
                j.fixed.push(format!("{}: {way} {}", group.id, labels(&missing)));
            }
        }
        if !extra.is_empty() {
            groups.revoke(&group.id, is_egress, &extra).await?;
            if !made {
                j.fixed.push(format!("{}: {way} no longer {}", group.id, labels(&extra)));
            }
        }
    }
    Ok(group.id)
}

fn labels(rules: &[Permission]) -> String {
    rules.iter().map(Permission::label).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
}

/// The customer's group in the VPC, when it exists and is the customer's.
pub async fn find<G: SecurityGroups>(
    groups: &G,
    vpc_id: &str,
    plan: &Plan,
    strangers: &mut Vec<String>,
) -> Result<Vec<LedgerEntry>, BerthError> {
    if plan.security_group.is_empty() {
        return Ok(Vec::new());
    }
    match groups.find(vpc_id, &plan.security_group).await? {
        Some(g) if owned_by(&g.tags, plan) => {
            Ok(vec![LedgerEntry::new(ResourceKind::SecurityGroup, &g.id, Some(vpc_id.to_string()), plan.execution_id.as_str())])
        }
        Some(g) => {
            strangers.push(format!("security group {}", g.id));
            Ok(Vec::new())
        }
        None => Ok(Vec::new()),
    }
}

/// Deletes the group; false when it was not there.
pub async fn remove<G: SecurityGroups>(groups: &G, id: &str) -> Result<bool, BerthError> {
    groups.delete(id).await
}
