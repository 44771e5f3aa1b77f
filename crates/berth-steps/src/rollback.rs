//! Teardown, for a rollback and for an offboarding. After a step failed for good, or when
//! the customer leaves, remove what berth made for the customer, in the reverse of the order provisioning builds it: the DNS records, the
//! services (scaled to 0, then deleted), the task definitions, the listener rules, the
//! target groups and the log groups; then give back the priorities and the host.
//!
//! What to undo comes from the resource ledger, and from the plan's names: a Lambda that
//! died between a create and its ledger write leaves a resource only the names can find
//! (each checked to be this customer's). Every removal treats "already gone" as done, so
//! the rollback can run again after any failure and converges. A transient error makes
//! the whole rollback fail with `Berth.Transient` (the state machine retries it); anything
//! else is reported as left over, with the reason. An offboarding may keep the log groups
//! (with their retention); a resource of one of the customer's names that is not berth's
//! for it by its tags is never touched, and is reported.

use std::collections::BTreeSet;

use berth_adapters::config::TeardownConfig;
use berth_adapters::ports::{Customers, Ledger, Placements, Ports};
use berth_domain::ledger::{self, LedgerEntry, ResourceKind};
use berth_domain::BerthError;

use crate::io::{checked, Leftover, RollbackOutput, TeardownInput};
use crate::resource::{self, Site};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TeardownConfig, P>, input: TeardownInput) -> Result<RollbackOutput, BerthError> {
    let (ports, site) = (&cx.ports, &cx.config);
    let plan = checked(&input.plan)?;
    let mut out = RollbackOutput { customer_id: plan.customer_id.clone(), ..RollbackOutput::default() };
    let customer = match ports.customers().get(&plan.customer_id).await? {
        Some(c) if c.execution_id == plan.execution_id => c,
        other => {
            // Registration refused this execution (another one owns the customer) or never
            // happened: it created nothing, and what exists belongs to someone else.
            tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, owner = ?other.map(|c| c.execution_id), "not this execution's customer: nothing to undo");
            return Ok(out);
        }
    };
    out.owned = true;

    let recorded = ports.ledger().entries(&plan.customer_id).await?;
    let site_ref = Site { cluster: &site.cluster, hosted_zone_id: &site.hosted_zone_id, vpc_id: &site.vpc_id };
    let found = resource::discover(ports, site_ref, plan, &customer).await?;
    if !found.strangers.is_empty() {
        tracing::warn!(customer = %plan.customer_id, not_ours = ?found.strangers, "of the customer's names but not berth's for it: left alone");
    }
    out.not_ours = found.strangers;
    let found = found.ours;
    let known: BTreeSet<(ResourceKind, String)> = recorded.iter().map(|e| (e.kind, e.id.clone())).collect();
    let unrecorded: Vec<LedgerEntry> = found.into_iter().filter(|e| !known.contains(&(e.kind, e.id.clone()))).collect();
    if !unrecorded.is_empty() {
        tracing::warn!(customer = %plan.customer_id, unrecorded = ?unrecorded.iter().map(LedgerEntry::label).collect::<Vec<_>>(), "found by name, not in the ledger: recording before undoing");
        ports.ledger().record(&plan.customer_id, &unrecorded).await?;
    }

    // berth's alias records point at an ALB of the pool (the one the customer was placed
    // on, or the one an earlier execution's records point at); no other record at the host
    // is ever deleted.
    let holds_records = ledger::holds_host(&recorded) || unrecorded.iter().any(|e| e.kind == ResourceKind::DnsRecord);
    let dns_targets = crate::dns::alias_targets(ports, holds_records).await?;

    let mut removed = Vec::new();
    let mut left = Vec::new();
    let mut retry = Vec::new();
    for entry in ledger::teardown_order(recorded.into_iter().chain(unrecorded)) {
        if input.keep_log_groups && entry.kind == ResourceKind::LogGroup {
            // Kept with its retention, which expires what it holds; no longer berth's.
            tracing::info!(customer = %plan.customer_id, id = %entry.id, "kept by request");
            out.kept.push(entry.label());
            removed.push(entry);
            continue;
        }
        match resource::remove(ports, site_ref, &plan.customer_id, &entry, &dns_targets).await {
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
        ports.ledger().forget(&plan.customer_id, &removed).await?;
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
        out.released_priorities = ports.placements().release(&plan.customer_id).await?;
    }
    // Each host (the customer's, its products' own, any its ledger held records at) stays
    // claimed while a record of the customer is left there.
    let mut hosts = vec![plan.host.clone()];
    hosts.extend(plan.product_hosts());
    hosts.extend(plan.own_domain.iter().map(|d| d.hostname.clone()));
    for e in removed.iter().chain(&left).filter(|e| e.kind == ResourceKind::DnsRecord) {
        if !hosts.contains(&e.id) {
            hosts.push(e.id.clone());
        }
    }
    for host in hosts {
        if removed.iter().any(|e| e.kind == ResourceKind::HostClaim && e.id == host) {
            // Given back with its ledger entry above.
            continue;
        }
        if left.iter().any(|e| e.kind == ResourceKind::DnsRecord && e.id == host) {
            out.leftovers.push(Leftover { resource: format!("host {host}"), reason: "kept: a DNS record of the customer is left".into() });
        } else if ports.customers().release_host(&plan.customer_id, &host).await? && host == plan.host {
            out.host_released = true;
        }
    }
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, removed = out.removed.len(), leftovers = out.leftovers.len(), priorities = ?out.released_priorities, host_released = out.host_released, "rolled back");
    Ok(out)
}
