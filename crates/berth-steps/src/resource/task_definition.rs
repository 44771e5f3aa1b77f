//! A service's task definition family and its revisions.

use berth_adapters::config::InfraConfig;
use berth_adapters::model::TaskDefinitionSpec;
use berth_adapters::ports::TaskDefinitions;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::naming;
use berth_domain::plan::{Plan, ServicePlan};
use berth_domain::BerthError;

use super::{not_ours, owned_by, tags, Journal, TAG_SPEC_HASH};

/// The task definition of one of the customer's services: its tasks run as, and ECS starts
/// them with, the customer's own role.
pub(crate) fn task_definition_spec(plan: &Plan, s: &ServicePlan, infra: &InfraConfig, role_arn: &str) -> TaskDefinitionSpec {
    let mut spec = TaskDefinitionSpec {
        family: s.task_family.clone(),
        container_name: s.name.clone(),
        image: s.image.clone(),
        cpu: s.cpu,
        memory: s.memory,
        port: s.port,
        environment: s.environment.clone(),
        secrets: s.secrets.clone(),
        log_group: s.log_group.clone(),
        log_region: infra.region.clone(),
        execution_role_arn: role_arn.to_string(),
        task_role_arn: role_arn.to_string(),
        tags: tags(plan, &s.name),
    };
    let fingerprint = format!("{spec:?}");
    spec.tags.insert(TAG_SPEC_HASH.to_string(), naming::short_hash(&[&fingerprint], 32));
    spec
}

/// The longest prefix all the names share; None for no names.
pub(crate) fn common_prefix<'n>(names: &[&'n str]) -> Option<&'n str> {
    let first = *names.first()?;
    let mut len = names.iter().fold(first.len(), |len, n| first.bytes().zip(n.bytes()).take(len).take_while(|(a, b)| a == b).count());
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first.get(..len)
}

pub(crate) async fn reconcile<D: TaskDefinitions>(
    tds: &D,
    plan: &Plan,
    s: &ServicePlan,
    family_exists: bool,
    infra: &InfraConfig,
    role_arn: &str,
    j: &mut Journal,
) -> Result<String, BerthError> {
    let spec = task_definition_spec(plan, s, infra, role_arn);
    if family_exists {
        if let Some(latest) = tds.latest(&spec.family).await? {
            if !owned_by(&latest.tags, plan) {
                return Err(not_ours("task definition family", &spec.family, plan));
            }
            if latest.active && latest.tags.get(TAG_SPEC_HASH) == spec.tags.get(TAG_SPEC_HASH) {
                j.hold(ResourceKind::TaskDefinition, &latest.arn, None);
                return Ok(latest.arn);
            }
        }
    }
    let td = tds.register(&spec).await?;
    tracing::info!(customer = %plan.customer_id, task_definition = %td.arn, "task definition registered");
    j.created.push(td.arn.clone());
    j.hold(ResourceKind::TaskDefinition, &td.arn, None);
    Ok(td.arn)
}

/// Every revision of each planned family whose latest revision is the customer's: berth
/// never registers into a family whose latest revision is someone else's.
pub async fn find<D: TaskDefinitions>(tds: &D, plan: &Plan, strangers: &mut Vec<String>) -> Result<Vec<LedgerEntry>, BerthError> {
    let mut found = Vec::new();
    for s in &plan.services {
        let revisions = tds.revisions(&s.task_family).await?;
        if revisions.is_empty() {
            continue;
        }
        if !tds.latest(&s.task_family).await?.is_some_and(|td| owned_by(&td.tags, plan)) {
            strangers.push(format!("task definition family {}", s.task_family));
            continue;
        }
        for arn in revisions {
            found.push(LedgerEntry::new(ResourceKind::TaskDefinition, arn, None, plan.execution_id.as_str()));
        }
    }
    Ok(found)
}

/// Deregisters the revision and deletes it; false when it was not there.
pub async fn remove<D: TaskDefinitions>(tds: &D, arn: &str) -> Result<bool, BerthError> {
    tds.retire(arn).await
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn families_share_the_customer_prefix() {
        assert_eq!(common_prefix(&[]), None);
        assert_eq!(common_prefix(&["berth-acme-api"]), Some("berth-acme-api"));
        assert_eq!(common_prefix(&["berth-acme-api", "berth-acme-frontend", "berth-acme-worker"]), Some("berth-acme-"));
        assert_eq!(common_prefix(&["berth-acme-api", "berth-acme-api2"]), Some("berth-acme-api"));
    }
}
