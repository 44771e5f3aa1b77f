//! Compensation: after a step failed for good, undo exactly what this customer's execution
//! created, in the reverse of the order provisioning builds it: the DNS records, the
//! services (scaled to 0, then deleted), the task definitions, the listener rules, the
//! target groups and the log groups; then give back the priorities and the host.
//!
//! What to undo comes from the resource ledger, and from the plan's names: a Lambda that
//! died between a create and its ledger write leaves a resource only the names can find
//! (each checked to be this customer's). Every removal treats "already gone" as done, so
//! the rollback can run again after any failure and converges. A transient error makes
//! the whole rollback fail with `Berth.Transient` (the state machine retries it); anything
//! else is reported as left over, with the reason.

use std::collections::BTreeSet;

use berth_adapters::model::same_dns_name;
use berth_adapters::ports::{Customers, Dns, Ledger, ListenerRules, LogGroups, Placements, Services, TargetGroups, TaskDefinitions};
use berth_adapters::CustomerRecord;
use berth_domain::ledger::{self, LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use crate::io::{Leftover, RollbackOutput, State};
use crate::resources::owned_by;

/// The ports the rollback drives.
pub struct Ports<'a, C, G, P, L, T, R, D, S, N> {
    pub customers: &'a C,
    pub ledger: &'a G,
    pub placements: &'a P,
    pub logs: &'a L,
    pub target_groups: &'a T,
    pub rules: &'a R,
    pub task_definitions: &'a D,
    pub services: &'a S,
    pub dns: &'a N,
}

/// Where the shared resources live.
pub struct Site<'a> {
    pub cluster: &'a str,
    pub hosted_zone_id: &'a str,
}

pub async fn run<C, G, P, L, T, R, D, S, N>(
    ports: &Ports<'_, C, G, P, L, T, R, D, S, N>,
    site: &Site<'_>,
    state: &State,
) -> Result<RollbackOutput, BerthError>
where
    C: Customers,
    G: Ledger,
    P: Placements,
    L: LogGroups,
    T: TargetGroups,
    R: ListenerRules,
    D: TaskDefinitions,
    S: Services,
    N: Dns,
{
    let plan = state.plan()?;
    let mut out = RollbackOutput { customer_id: plan.customer_id.clone(), ..RollbackOutput::default() };
    let customer = match ports.customers.get(&plan.customer_id).await? {
        Some(c) if c.execution_id == plan.execution_id => c,
        other => {
            // Registration refused this execution (another one owns the customer) or never
            // happened: it created nothing, and what exists belongs to someone else.
            tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, owner = ?other.map(|c| c.execution_id), "not this execution's customer: nothing to undo");
            return Ok(out);
        }
    };
    out.owned = true;

    let recorded = ports.ledger.entries(&plan.customer_id).await?;
    let found = ports.discover(site, plan, &customer).await?;
    let known: BTreeSet<(ResourceKind, String)> = recorded.iter().map(|e| (e.kind, e.id.clone())).collect();
    let unrecorded: Vec<LedgerEntry> = found.into_iter().filter(|e| !known.contains(&(e.kind, e.id.clone()))).collect();
    if !unrecorded.is_empty() {
        tracing::warn!(customer = %plan.customer_id, unrecorded = ?unrecorded.iter().map(LedgerEntry::label).collect::<Vec<_>>(), "found by name, not in the ledger: recording before undoing");
        ports.ledger.record(&plan.customer_id, &unrecorded).await?;
    }

    // berth's alias records point at the ALB the customer was placed on (or at the one an
    // earlier execution's records, adopted at registration, point at); no other record at
    // the host is ever deleted.
    let mut dns_targets: Vec<String> = state.allocation.iter().map(|a| crate::dns::alias_target(&a.alb.dns_name)).collect();
    dns_targets.extend(state.register.iter().flat_map(|r| r.records.iter().filter_map(|r| r.alias_target.clone())));

    let mut removed = Vec::new();
    let mut left = Vec::new();
    let mut retry = Vec::new();
    for entry in ledger::teardown_order(recorded.into_iter().chain(unrecorded)) {
        match ports.undo(site, &entry, &dns_targets).await {
            Ok(existed) => {
                tracing::info!(customer = %plan.customer_id, kind = %entry.kind, id = %entry.id, existed, "undone");
                out.removed.push(entry.label());
                removed.push(entry);
            }
            Err(e) if e.kind().is_transient() => {
                tracing::warn!(customer = %plan.customer_id, kind = %entry.kind, id = %entry.id, error = %e, "undo failed, will retry");
                retry.push(format!("{}: {e}", entry.label()));
            }
            Err(e) => {
                tracing::error!(customer = %plan.customer_id, kind = %entry.kind, id = %entry.id, error_type = e.kind().name(), error = %e, "undo failed");
                out.leftovers.push(Leftover { resource: entry.label(), reason: format!("{}: {e}", e.kind().name()) });
                left.push(entry);
            }
        }
    }
    if !removed.is_empty() {
        ports.ledger.forget(&plan.customer_id, &removed).await?;
    }
    if !retry.is_empty() {
        return Err(BerthError::Transient(format!("rollback of '{}': {} to retry: {}", plan.customer_id, retry.len(), retry.join("; "))));
    }

    // Numbers and the host stay held while something still uses them.
    if ledger::holds_priorities(&left) {
        out.leftovers.push(Leftover {
            resource: format!("priorities {:?}", customer.priorities),
            reason: "kept: a listener rule of the customer is left".into(),
        });
    } else {
        out.released_priorities = ports.placements.release(&plan.customer_id).await?;
    }
    if ledger::holds_host(&left) {
        out.leftovers
            .push(Leftover { resource: format!("host {}", plan.host), reason: "kept: a DNS record of the customer is left".into() });
    } else {
        out.host_released = ports.customers.release_host(&plan.customer_id, &plan.host).await?;
    }
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, removed = out.removed.len(), leftovers = out.leftovers.len(), priorities = ?out.released_priorities, host_released = out.host_released, "rolled back");
    Ok(out)
}

impl<C, G, P, L, T, R, D, S, N> Ports<'_, C, G, P, L, T, R, D, S, N>
where
    L: LogGroups,
    T: TargetGroups,
    R: ListenerRules,
    D: TaskDefinitions,
    S: Services,
    N: Dns,
{
    /// What the plan's names find of this customer's, on AWS: only what its tags give to the
    /// customer (a resource of the same name made by someone else is never touched).
    async fn discover(&self, site: &Site<'_>, plan: &Plan, customer: &CustomerRecord) -> Result<Vec<LedgerEntry>, BerthError> {
        let ports = self;
        let exec = plan.execution_id.as_str();
        let mut found = Vec::new();
        if !ports.dns.aliases(site.hosted_zone_id, &plan.host).await?.is_empty() {
            found.push(LedgerEntry::new(ResourceKind::DnsRecord, &plan.host, Some(site.hosted_zone_id.to_string()), exec));
        }
        let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
        for s in ports.services.describe(site.cluster, &names).await? {
            if s.status == "ACTIVE" && owned_by(&s.tags, plan) {
                found.push(LedgerEntry::new(ResourceKind::Service, &s.arn, Some(site.cluster.to_string()), exec));
            }
        }
        for s in &plan.services {
            let revisions = ports.task_definitions.revisions(&s.task_family).await?;
            // A family is berth's when its latest revision says so: berth never registers
            // into a family whose latest revision is someone else's.
            if revisions.is_empty() || !ports.task_definitions.latest(&s.task_family).await?.is_some_and(|td| owned_by(&td.tags, plan)) {
                continue;
            }
            for arn in revisions {
                found.push(LedgerEntry::new(ResourceKind::TaskDefinition, arn, None, exec));
            }
        }
        if let (Some(listener), false) = (&customer.listener_arn, customer.priorities.is_empty()) {
            let candidates: Vec<_> = ports
                .rules
                .list(listener)
                .await?
                .into_iter()
                .filter(|r| {
                    r.priority.is_some_and(|p| customer.priorities.contains(&p)) && r.hosts.iter().any(|h| same_dns_name(h, &plan.host))
                })
                .collect();
            if !candidates.is_empty() {
                let tags = ports.rules.tags(&candidates.iter().map(|r| r.arn.clone()).collect::<Vec<_>>()).await?;
                for r in candidates {
                    if tags.get(&r.arn).is_some_and(|t| owned_by(t, plan)) {
                        found.push(LedgerEntry::new(ResourceKind::ListenerRule, &r.arn, Some(listener.clone()), exec));
                    }
                }
            }
        }
        for s in &plan.services {
            let Some(want) = &s.target_group else { continue };
            if let Some(tg) = ports.target_groups.find(&want.name).await? {
                if owned_by(&tg.tags, plan) {
                    found.push(LedgerEntry::new(ResourceKind::TargetGroup, &tg.arn, None, exec));
                }
            }
        }
        let planned: BTreeSet<&str> = plan.services.iter().map(|s| s.log_group.as_str()).collect();
        for group in planned {
            if let Some(g) = ports.logs.list(group).await?.into_iter().find(|g| g.name == group) {
                if owned_by(&ports.logs.tags(&g.arn).await?, plan) {
                    found.push(LedgerEntry::new(ResourceKind::LogGroup, group, None, exec));
                }
            }
        }
        Ok(found)
    }

    /// Removes one resource; `Ok(false)` when it was already gone. Of the records at a host,
    /// only aliases to `dns_targets` are berth's.
    async fn undo(&self, site: &Site<'_>, e: &LedgerEntry, dns_targets: &[String]) -> Result<bool, BerthError> {
        let ports = self;
        match e.kind {
            ResourceKind::DnsRecord => {
                let zone = e.scope.as_deref().unwrap_or(site.hosted_zone_id);
                let records: Vec<_> = ports
                    .dns
                    .aliases(zone, &e.id)
                    .await?
                    .into_iter()
                    .filter(|r| dns_targets.iter().any(|t| same_dns_name(&r.target_dns_name, t)))
                    .collect();
                ports.dns.delete_aliases(zone, &records).await
            }
            ResourceKind::Service => {
                let cluster = e.scope.as_deref().unwrap_or(site.cluster);
                let name = e.id.rsplit('/').next().unwrap_or(&e.id);
                ports.services.remove(cluster, name).await
            }
            ResourceKind::TaskDefinition => ports.task_definitions.retire(&e.id).await,
            ResourceKind::ListenerRule => ports.rules.delete(&e.id).await,
            ResourceKind::TargetGroup => ports.target_groups.delete(&e.id).await,
            ResourceKind::LogGroup => ports.logs.delete(&e.id).await,
        }
    }
}
