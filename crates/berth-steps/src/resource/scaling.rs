//! The scaler of a customer's service: Application Auto Scaling's target on the service's
//! task count, with the target-tracking policy on its average CPU. It is the service's: the
//! service is checked to be the customer's before its scaler is touched.

use berth_adapters::model::ScalableTargetObserved;
use berth_adapters::ports::Scaling;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::{Plan, ScalingPlan, ServicePlan};
use berth_domain::BerthError;

use super::Journal;

/// The ledger's id of a service's scaler: `service/{cluster}/{service}`.
pub fn id(cluster: &str, ecs_service: &str) -> String {
    berth_adapters::aws::scaling::resource_id(cluster, ecs_service)
}

/// What setting a scaler did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Unchanged,
    Created,
    Changed,
    Removed,
}

/// Makes the service's scaler `want`: registered with its bounds and policy (scaling on),
/// or none. Only what differs is written.
pub async fn set<S: Scaling>(scaling: &S, cluster: &str, ecs_service: &str, want: Option<&ScalingPlan>) -> Result<Set, BerthError> {
    let found = scaling.target(cluster, ecs_service).await?;
    set_from(scaling, cluster, ecs_service, found, want).await
}

/// As [`set`], from the scaler found (looked up by the caller: none for a service made a
/// moment ago).
pub async fn set_from<S: Scaling>(
    scaling: &S,
    cluster: &str,
    ecs_service: &str,
    found: Option<ScalableTargetObserved>,
    want: Option<&ScalingPlan>,
) -> Result<Set, BerthError> {
    let Some(a) = want else {
        if found.is_some() {
            scaling.deregister(cluster, ecs_service).await?;
            return Ok(Set::Removed);
        }
        return Ok(Set::Unchanged);
    };
    let mut done = Set::Unchanged;
    match &found {
        Some(t) if t.min == a.min && t.max == a.max && !t.suspended => {}
        _ => {
            scaling.register(cluster, ecs_service, a.min, a.max, false).await?;
            done = if found.is_some() { Set::Changed } else { Set::Created };
        }
    }
    let policies = if found.is_some() { scaling.policies(cluster, ecs_service).await? } else { Vec::new() };
    if !policies.iter().any(|p| p.name == a.policy_name && p.cpu_target == Some(f64::from(a.cpu_target))) {
        scaling.put_cpu_policy(cluster, ecs_service, &a.policy_name, a.cpu_target).await?;
        if done == Set::Unchanged {
            done = Set::Changed;
        }
    }
    Ok(done)
}

/// The resources step's part: the service's scaler as the plan says (`found`: its scaler
/// as looked up with the others'), held in the ledger.
pub(crate) async fn reconcile<S: Scaling>(
    scaling: &S,
    plan: &Plan,
    s: &ServicePlan,
    cluster: &str,
    found: Option<ScalableTargetObserved>,
    j: &mut Journal,
) -> Result<(), BerthError> {
    let target_id = id(cluster, &s.ecs_service);
    let done = set_from(scaling, cluster, &s.ecs_service, found, s.autoscaling.as_ref()).await?;
    match done {
        Set::Created => j.created.push(target_id.clone()),
        Set::Changed => j.fixed.push(format!("{target_id}: scaler set")),
        Set::Removed => j.fixed.push(format!("{target_id}: no scaler (the plan scales the service no more)")),
        Set::Unchanged => {}
    }
    if done != Set::Unchanged {
        tracing::info!(customer = %plan.customer_id, service = %s.ecs_service, scaler = ?s.autoscaling, "scaler set");
    }
    if s.autoscaling.is_some() {
        j.hold(ResourceKind::ScalableTarget, &target_id, Some(cluster));
    }
    Ok(())
}

/// The scalers of the planned services that the customer's services found (`services`:
/// the ledger entries of its services).
pub async fn find<S: Scaling>(scaling: &S, cluster: &str, plan: &Plan, services: &[LedgerEntry]) -> Result<Vec<LedgerEntry>, BerthError> {
    let ours: Vec<String> = plan
        .services
        .iter()
        .filter(|s| services.iter().any(|e| e.kind == ResourceKind::Service && e.id.rsplit('/').next() == Some(s.ecs_service.as_str())))
        .map(|s| s.ecs_service.clone())
        .collect();
    if ours.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scaling
        .targets(cluster, &ours)
        .await?
        .into_iter()
        .map(|t| LedgerEntry::new(ResourceKind::ScalableTarget, t.resource_id, Some(cluster.to_string()), plan.execution_id.as_str()))
        .collect())
}

/// Deregisters the scaler (its policies with it); false when it was not there.
pub async fn remove<S: Scaling>(scaling: &S, target_id: &str) -> Result<bool, BerthError> {
    // service/{cluster}/{service}
    let mut parts = target_id.splitn(3, '/');
    let (Some("service"), Some(cluster), Some(service)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(BerthError::invalid("ledger.id", format!("'{target_id}' is not a service's scalable target")));
    };
    scaling.deregister(cluster, service).await
}

/// Suspends the scaler (and lets the count go to 0) or gives it back its plan's bounds.
pub async fn suspend<S: Scaling>(scaling: &S, cluster: &str, s: &ServicePlan, suspended: bool) -> Result<bool, BerthError> {
    let Some(a) = &s.autoscaling else { return Ok(false) };
    let Some(t) = scaling.target(cluster, &s.ecs_service).await? else { return Ok(false) };
    let (min, max) = if suspended { (0, a.max) } else { (a.min, a.max) };
    if t.suspended == suspended && t.min == min && t.max == max {
        return Ok(false);
    }
    scaling.register(cluster, &s.ecs_service, min, max, suspended).await?;
    Ok(true)
}
