//! The customer's log group.

use std::collections::BTreeMap;

use berth_adapters::ports::LogGroups;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use super::{not_ours, owned_by, Journal};

pub(crate) async fn reconcile<L: LogGroups>(logs: &L, plan: &Plan, j: &mut Journal) -> Result<(), BerthError> {
    // One group per customer in practice; every service names the group it writes to, and
    // the group keeps the longest retention any of them asks for.
    let mut wanted: BTreeMap<&str, i32> = BTreeMap::new();
    for s in &plan.services {
        let days = wanted.entry(&s.log_group).or_insert(s.log_retention_days);
        *days = (*days).max(s.log_retention_days);
    }
    for (group, days) in wanted {
        // Created first: a group that exists already is looked at only then.
        if logs.create(group, &plan.tags).await? {
            j.created.push(group.to_string());
            j.hold(ResourceKind::LogGroup, group, None);
            logs.set_retention(group, days).await?;
            tracing::info!(customer = %plan.customer_id, log_group = %group, "log group created");
            continue;
        }
        // The name is the prefix: DescribeLogGroups also lists longer names, which are not it.
        let existing = logs
            .list(group)
            .await?
            .into_iter()
            .find(|g| g.name == group)
            .ok_or_else(|| BerthError::Transient(format!("log group {group} reported to exist but not listed yet")))?;
        if !owned_by(&logs.tags(&existing.arn).await?, plan) {
            return Err(not_ours("log group", group, plan));
        }
        j.hold(ResourceKind::LogGroup, group, None);
        if existing.retention_days != Some(days) {
            logs.set_retention(group, days).await?;
            j.fixed.push(format!("{group}: retention {days} days"));
        }
    }
    Ok(())
}

/// The planned groups that exist and are the customer's.
pub async fn find<L: LogGroups>(logs: &L, plan: &Plan, strangers: &mut Vec<String>) -> Result<Vec<LedgerEntry>, BerthError> {
    let mut found = Vec::new();
    let planned: std::collections::BTreeSet<&str> = plan.services.iter().map(|s| s.log_group.as_str()).collect();
    for group in planned {
        if let Some(g) = logs.list(group).await?.into_iter().find(|g| g.name == group) {
            if owned_by(&logs.tags(&g.arn).await?, plan) {
                found.push(LedgerEntry::new(ResourceKind::LogGroup, group, None, plan.execution_id.as_str()));
            } else {
                strangers.push(format!("log group {group}"));
            }
        }
    }
    Ok(found)
}

/// Deletes the group; false when it was not there.
pub async fn remove<L: LogGroups>(logs: &L, name: &str) -> Result<bool, BerthError> {
    logs.delete(name).await
}
