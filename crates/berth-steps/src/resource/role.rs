//! The customer's own IAM role: its task role and task execution role in one (see
//! [`berth_domain::access`]), under berth's path, with the deployment's permissions
//! boundary, trusted by ECS tasks of the account only, and one inline policy that names
//! only what is the customer's.

use berth_adapters::config::InfraConfig;
use berth_adapters::model::RoleSpec;
use berth_adapters::ports::Roles;
use berth_domain::access::{self, ROLE_POLICY_NAME};
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use super::{not_ours, owned_by, Journal};

/// Makes the role, or puts back what drifted of it (its trust, its policy); returns its ARN.
/// A role of the name that is not berth's for the customer, or that lacks the deployment's
/// boundary, is a conflict: berth neither uses nor changes it.
pub(crate) async fn reconcile<R: Roles>(roles: &R, plan: &Plan, infra: &InfraConfig, j: &mut Journal) -> Result<String, BerthError> {
    let trust = access::trust_policy(&infra.account);
    let policy = access::role_policy(plan, &infra.account);
    let (role, made) = match roles.find(&plan.role).await? {
        Some(found) => {
            if !owned_by(&found.tags, plan) {
                return Err(not_ours("IAM role", &plan.role, plan));
            }
            if found.boundary_arn.as_deref() != Some(infra.role_boundary_arn.as_str()) {
                return Err(BerthError::Conflict(format!(
                    "IAM role {} has permissions boundary {:?}, not the deployment's {}: berth changes no role's boundary",
                    plan.role, found.boundary_arn, infra.role_boundary_arn
                )));
            }
            j.hold(ResourceKind::Role, &found.name, None);
            if found.trust.as_ref() != Some(&trust) {
                roles.set_trust(&found.name, &trust).await?;
                j.fixed.push(format!("{}: trust", found.arn));
            }
            (found, false)
        }
        None => {
            let created = roles
                .create(&RoleSpec {
                    name: plan.role.clone(),
                    path: plan.role_path.clone(),
                    trust,
                    boundary_arn: infra.role_boundary_arn.clone(),
                    description: format!("berth: the tasks of customer {}", plan.customer_id),
                    tags: plan.tags.clone(),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, role = %created.arn, "role created");
            j.created.push(created.arn.clone());
            j.hold(ResourceKind::Role, &created.name, None);
            (created, true)
        }
    };
    // A role made now has no policy yet; one found keeps its policy when it is the plan's.
    if made || roles.policy(&role.name, ROLE_POLICY_NAME).await?.as_ref() != Some(&policy) {
        roles.put_policy(&role.name, ROLE_POLICY_NAME, &policy).await?;
        if !made {
            j.fixed.push(format!("{}: policy {ROLE_POLICY_NAME}", role.arn));
        }
    }
    Ok(role.arn)
}

/// The customer's role, when it exists and is the customer's.
pub async fn find<R: Roles>(roles: &R, plan: &Plan, strangers: &mut Vec<String>) -> Result<Vec<LedgerEntry>, BerthError> {
    if plan.role.is_empty() {
        return Ok(Vec::new());
    }
    match roles.find(&plan.role).await? {
        Some(r) if owned_by(&r.tags, plan) => Ok(vec![LedgerEntry::new(ResourceKind::Role, &r.name, None, plan.execution_id.as_str())]),
        Some(r) => {
            strangers.push(format!("IAM role {}", r.name));
            Ok(Vec::new())
        }
        None => Ok(Vec::new()),
    }
}

/// Deletes the role and its policy; false when it was not there.
pub async fn remove<R: Roles>(roles: &R, name: &str) -> Result<bool, BerthError> {
    roles.delete(name).await
}
