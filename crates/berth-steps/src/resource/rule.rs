//! A listener rule: the customer's host (and paths) to a service's target group, at a
//! priority the customer holds.

use berth_adapters::model::{same_dns_name, RuleObserved, RuleSpec};
use berth_adapters::ports::ListenerRules;
use berth_adapters::CustomerRecord;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use berth_domain::naming::TAG_SERVICE;

use super::{owned_by, Journal};

pub(crate) async fn reconcile<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    spec: &RuleSpec,
    existing: &mut Option<Vec<RuleObserved>>,
    j: &mut Journal,
) -> Result<RuleObserved, BerthError> {
    // Known from an earlier look at the listener in this run: adopt it.
    let known = existing.as_ref().and_then(|rs| rs.iter().find(|r| r.priority == Some(spec.priority)).cloned());
    if let Some(r) = known {
        return adopt_rule(rules, plan, spec, r, j).await;
    }
    match rules.create(spec).await {
        Ok(r) => {
            tracing::info!(rule = %r.arn, priority = spec.priority, host = %spec.host, "listener rule created");
            j.created.push(r.arn.clone());
            j.hold(ResourceKind::ListenerRule, &r.arn, Some(&spec.listener_arn));
            Ok(r)
        }
        Err(e) if e.aws_code() == Some("PriorityInUse") => {
            let listed = rules.list(&spec.listener_arn).await?;
            let found = listed.iter().find(|r| r.priority == Some(spec.priority)).cloned();
            *existing = Some(listed);
            match found {
                Some(r) => adopt_rule(rules, plan, spec, r, j).await,
                None => Err(BerthError::Transient(format!("priority {} reported in use but no rule holds it yet", spec.priority))),
            }
        }
        Err(e) => Err(e),
    }
}

/// The rule at the customer's priority: ours when its tags say it is this customer's rule for
/// this service (then its hosts, paths and target are fixed if they drifted), a conflict
/// otherwise.
async fn adopt_rule<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    spec: &RuleSpec,
    r: RuleObserved,
    j: &mut Journal,
) -> Result<RuleObserved, BerthError> {
    let tags = rules.tags(std::slice::from_ref(&r.arn)).await?.remove(&r.arn).unwrap_or_default();
    // berth's for this customer and this service by its tags: the rule the plan wants there.
    if !owned_by(&tags, plan) || tags.get(TAG_SERVICE) != spec.tags.get(TAG_SERVICE) {
        return Err(BerthError::Conflict(format!(
            "priority {} on the listener is held by rule {} (hosts {:?}, paths {:?}), which is not berth's for customer '{}'",
            spec.priority, r.arn, r.hosts, r.path_patterns, plan.customer_id
        )));
    }
    j.hold(ResourceKind::ListenerRule, &r.arn, Some(&spec.listener_arn));
    if !r.matches_hosts(&spec.hosts(), &spec.path_patterns) {
        rules.set_conditions(&r.arn, &spec.hosts(), &spec.path_patterns).await?;
        j.fixed.push(format!("{}: hosts {:?}, paths {:?}", r.arn, spec.hosts(), spec.path_patterns));
    }
    if r.target_group_arns != [spec.target_group_arn.clone()] {
        rules.set_target(&r.arn, &spec.target_group_arn).await?;
        j.fixed.push(format!("{}: forward to {}", r.arn, spec.target_group_arn));
    }
    Ok(r)
}

/// The rules at the customer's priorities on its listener that route its host and are its.
pub async fn find<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    customer: &CustomerRecord,
    strangers: &mut Vec<String>,
) -> Result<Vec<LedgerEntry>, BerthError> {
    let mut found = Vec::new();
    let (Some(listener), false) = (&customer.listener_arn, customer.priorities.is_empty()) else {
        return Ok(found);
    };
    let hosts = plan.rule_hosts();
    let candidates: Vec<_> = rules
        .list(listener)
        .await?
        .into_iter()
        .filter(|r| {
            r.priority.is_some_and(|p| customer.priorities.contains(&p))
                && r.hosts.iter().any(|h| hosts.iter().any(|p| same_dns_name(h, p)))
        })
        .collect();
    if !candidates.is_empty() {
        let tags = rules.tags(&candidates.iter().map(|r| r.arn.clone()).collect::<Vec<_>>()).await?;
        for r in candidates {
            if tags.get(&r.arn).is_some_and(|t| owned_by(t, plan)) {
                found.push(LedgerEntry::new(ResourceKind::ListenerRule, &r.arn, Some(listener.clone()), plan.execution_id.as_str()));
            } else {
                strangers.push(format!("listener rule {}", r.arn));
            }
        }
    }
    Ok(found)
}

/// Deletes the rule; false when it was not there.
pub async fn remove<R: ListenerRules>(rules: &R, arn: &str) -> Result<bool, BerthError> {
    rules.delete(arn).await
}
