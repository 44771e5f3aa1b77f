//! A service's target group.

use berth_adapters::config::InfraConfig;
use berth_adapters::model::{TargetGroupObserved, TargetGroupSpec};
use berth_adapters::ports::TargetGroups;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::{Plan, ServicePlan};
use berth_domain::BerthError;

use super::{not_ours, owned_by, tags, Journal};

pub(crate) async fn reconcile<T: TargetGroups>(
    tgs: &T,
    plan: &Plan,
    s: &ServicePlan,
    infra: &InfraConfig,
    j: &mut Journal,
) -> Result<TargetGroupObserved, BerthError> {
    let want = s.target_group.as_ref().ok_or_else(|| BerthError::Internal(format!("service {} has no target group", s.name)))?;
    match tgs.find(&want.name).await? {
        Some(tg) => {
            if !owned_by(&tg.tags, plan) {
                return Err(not_ours("target group", &want.name, plan));
            }
            if tg.port != Some(want.port) || tg.vpc_id.as_deref() != Some(infra.vpc_id.as_str()) {
                return Err(BerthError::Conflict(format!(
                    "target group {} exists with port {:?} in {:?}; the plan wants port {} in {}",
                    want.name, tg.port, tg.vpc_id, want.port, infra.vpc_id
                )));
            }
            j.hold(ResourceKind::TargetGroup, &tg.arn, None);
            if tg.health_check_path.as_deref() != Some(want.health_check_path.as_str()) {
                tgs.set_health_check_path(&tg.arn, &want.health_check_path).await?;
                j.fixed.push(format!("{}: health check {}", tg.arn, want.health_check_path));
            }
            Ok(tg)
        }
        None => {
            let tg = tgs
                .create(&TargetGroupSpec {
                    name: want.name.clone(),
                    port: want.port,
                    vpc_id: infra.vpc_id.clone(),
                    health_check_path: want.health_check_path.clone(),
                    tags: tags(plan, &s.name),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, target_group = %tg.arn, "target group created");
            j.created.push(tg.arn.clone());
            j.hold(ResourceKind::TargetGroup, &tg.arn, None);
            Ok(tg)
        }
    }
}

/// The planned target groups that exist and are the customer's; those of a planned name
/// that are not go to `strangers`.
pub async fn find<T: TargetGroups>(tgs: &T, plan: &Plan, strangers: &mut Vec<String>) -> Result<Vec<LedgerEntry>, BerthError> {
    let mut found = Vec::new();
    for s in &plan.services {
        let Some(want) = &s.target_group else { continue };
        if let Some(tg) = tgs.find(&want.name).await? {
            if owned_by(&tg.tags, plan) {
                found.push(LedgerEntry::new(ResourceKind::TargetGroup, &tg.arn, None, plan.execution_id.as_str()));
            } else {
                strangers.push(format!("target group {}", tg.arn));
            }
        }
    }
    Ok(found)
}

/// Deletes the target group; false when it was not there.
pub async fn remove<T: TargetGroups>(tgs: &T, arn: &str) -> Result<bool, BerthError> {
    tgs.delete(arn).await
}
