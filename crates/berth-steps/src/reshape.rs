//! An update that adds or removes products: the customer's listener rules and priorities to
//! a new set of services, on the customer this execution holds.
//!
//! The input plan names every service whose rule the listener holds or is to hold (an
//! update's union of the recorded and the desired plan), its rules most specific first;
//! the customer's priorities, ascending, go to those rules in that order. Without
//! `remove`, the customer takes the numbers its new rules need (released numbers of the
//! listener first; a number a rule berth does not own holds is set aside), and its rules
//! that exist are moved where the order puts them, so that a new rule with paths comes
//! before the catch-all rule. With `remove`, those services' resources are removed (the
//! teardown code of rollback and offboarding; the host's DNS and a log group a kept
//! service writes to stay) and their numbers given back; the rules left keep their order without moving.
//!
//! An update that changes the customer's own domain holds both until it is done: the grow
//! claims the new hostname (after the same look for records berth does not own as at
//! registration, its records entered in the ledger when its zone is in the account) and
//! counts both certificates against the ALB's quota; the prune takes the replaced one away
//! (its certificate off the listener unless the new one is the same, its records, its
//! claim); the take-back of a failed update puts the replaced hostname back on the rules of
//! the customer's host and takes the new one away the same way.
//!
//! Moves go in rounds, each to numbers no rule holds at the time, so the listener never
//! holds one number twice; an order-keeping move never forms a cycle. Running it again
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use berth_adapters::config::TeardownConfig;
use berth_adapters::model::{same_dns_name, AlbRef, RuleObserved};
use berth_adapters::ports::{Customers, Dns, Ledger, ListenerRules, Placements, Pool, Ports, Roles, SecurityGroups};
use berth_adapters::CustomerRecord;
use berth_domain::access::{self, Access, Account, Permission, ROLE_POLICY_NAME};
use berth_domain::catalog::Catalog;
use berth_domain::ledger::{self, LedgerEntry, ResourceKind};
use berth_domain::naming::TAG_SERVICE;
use berth_domain::plan::{OwnDomain, Plan, RulePlan};
use berth_domain::BerthError;

use crate::io::{checked, AllocationOutput, Phase, ReshapeInput, ReshapeOutput, RulePriority};
use crate::resource::{self, owned_by, Site};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TeardownConfig, P>, input: ReshapeInput) -> Result<ReshapeOutput, BerthError> {
    let (ports, site) = (&cx.ports, &cx.config);
    let plan = checked(&input.plan)?;
    if let Some(stray) = input.remove.iter().find(|name| plan.service(name).is_none()) {
        return Err(BerthError::invalid("remove", format!("'{stray}' is not a service of the plan")));
    }
    let phase = input.phase.unwrap_or(if input.remove.is_empty() { Phase::Grow } else { Phase::Prune });
    if phase == Phase::Grow && !input.remove.is_empty() {
        return Err(BerthError::invalid("remove", "a grow takes priorities and removes nothing: name the phase prune or take_back"));
    }
    // The own domain the customer keeps after this phase, and the one it takes away.
    let (staying, leaving) = match (phase, &plan.domain_change) {
        (Phase::Grow, _) | (_, None) => (plan.own_domain.as_ref(), None),
        (Phase::Prune, Some(_)) => (plan.own_domain.as_ref(), plan.replaced_domain()),
        (Phase::TakeBack, Some(_)) => (plan.replaced_domain(), plan.own_domain.as_ref()),
    };
    let record = ports
        .customers()
        .get(&plan.customer_id)
        .await?
        .ok_or_else(|| BerthError::NotFound(format!("customer '{}' is not registered", plan.customer_id)))?;
    if record.execution_id != plan.execution_id {
        return Err(BerthError::Conflict(format!("customer '{}' is held by execution {}", plan.customer_id, record.execution_id)));
    }
    let (Some(listener), Some(alb_name)) = (record.listener_arn.clone(), record.alb_name.clone()) else {
        return Err(BerthError::Conflict(format!("customer '{}' is not placed on an ALB: onboard it again", plan.customer_id)));
    };
    let alb = ports
        .pool()
        .albs()
        .await?
        .into_iter()
        .find(|a| a.name == alb_name)
        .ok_or_else(|| BerthError::NotFound(format!("ALB {alb_name} of customer '{}' is not in the pool", plan.customer_id)))?;
    let keep: Vec<&RulePlan> = plan.rules.iter().filter(|r| !input.remove.contains(&r.service)).collect();
    let keep_target_groups = plan.services.iter().filter(|s| s.target_group.is_some() && !input.remove.contains(&s.name)).count() as u32;
    // The certificates it keeps: its own domain's (while an update changes it, the grow
    // counts both), and berth's for its dotted product hosts while one of them stays.
    let own_certificates = match phase {
        Phase::Grow => plan.certificate_arns().len() as u32,
        Phase::Prune | Phase::TakeBack => staying.is_some() as u32,
    };
    let keep_certificates = own_certificates + (plan.customer_certificate.is_some() && keeps_product_host(plan, &input.remove)) as u32;
    let mut out = ReshapeOutput::default();

    if !input.remove.is_empty() {
        take_away(
            ports,
            Site { cluster: &site.cluster, hosted_zone_id: &site.hosted_zone_id, vpc_id: &site.vpc_id },
            plan,
            &record,
            &input.remove,
            &mut out,
        )
        .await?;
        narrow_access(ports, &cx.catalog, site, plan, &input.remove).await?;
    }
    if let Some(gone) = leaving {
        // A failed update's new own domain: the replaced hostname on the rules first, so
        // that it is served again before the new one goes.
        if phase == Phase::TakeBack {
            hosts_back(ports.rules(), plan, &listener, staying, &input.remove, &mut out).await?;
        }
        retire_domain(ports, site, plan, gone, staying, &mut out).await?;
    }

    // The numbers: the customer's, ascending, go to the plan's rules in order.
    let mut held = record.priorities.clone();
    held.sort_unstable();
    let mut release = Vec::new();
    let grow = phase == Phase::Grow && held.len() < plan.rules.len();
    if phase == Phase::Grow {
        claim_hosts(ports, &site.hosted_zone_id, plan).await?;
    }
    if grow {
        held = ports
            .placements()
            .resize(&plan.customer_id, &plan.execution_id, &[], plan.rules.len(), keep_target_groups, keep_certificates)
            .await?;
    } else if held.len() == plan.rules.len() {
        release = held.iter().zip(&plan.rules).filter(|(_, r)| input.remove.contains(&r.service)).map(|(p, _)| *p).collect();
    } else if held.len() != keep.len() {
        return Err(BerthError::Conflict(format!(
            "customer '{}' holds {} priorities: its rules take {} ({} without the services removed)",
            plan.customer_id,
            held.len(),
            plan.rules.len(),
            keep.len()
        )));
    }
    // The listener once (again only when numbers had to be set aside).
    let (held, live, ours) = if grow {
        clear_of_strangers(ports, plan, &listener, held).await?
    } else {
        let (live, ours) = our_rules(ports.rules(), plan, &listener).await?;
        (held, live, ours)
    };
    let kept: Vec<u32> = held.iter().filter(|p| !release.contains(p)).copied().collect();
    let targets: BTreeMap<&str, u32> = keep.iter().map(|r| r.service.as_str()).zip(kept.iter().copied()).collect();

    out.moved = move_rules(ports.rules(), &live, &ours, &targets).await?;
    if !grow && (!release.is_empty() || record.target_groups_held != keep_target_groups || record.certificates_held != keep_certificates) {
        out.released = release.clone();
        ports
            .placements()
            .resize(&plan.customer_id, &plan.execution_id, &release, keep.len(), keep_target_groups, keep_certificates)
            .await?;
    }
    out.placement = Some(AllocationOutput {
        alb: AlbRef::from(&alb),
        listener_arn: listener.clone(),
        priorities: keep.iter().map(|r| RulePriority { service: r.service.clone(), priority: targets[r.service.as_str()] }).collect(),
    });
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, listener = %listener, moved = ?out.moved, removed = out.removed.len(), released = ?out.released, "rules reshaped");
    Ok(out)
}

/// The live rules of the listener, and the customer's among them by their tags: the service
/// each serves.
async fn our_rules<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    listener: &str,
) -> Result<(Vec<RuleObserved>, BTreeMap<String, RuleObserved>), BerthError> {
    let live = rules.list(listener).await?;
    let hosts = plan.rule_hosts();
    let at_host: Vec<String> = live
        .iter()
        .filter(|r| r.priority.is_some() && r.hosts.iter().any(|h| hosts.iter().any(|p| same_dns_name(h, p))))
        .map(|r| r.arn.clone())
        .collect();
    let mut ours = BTreeMap::new();
    if !at_host.is_empty() {
        let tags = rules.tags(&at_host).await?;
        for r in live.iter().filter(|r| at_host.contains(&r.arn)) {
            let Some(t) = tags.get(&r.arn).filter(|t| owned_by(t, plan)) else { continue };
            if let Some(service) = t.get(TAG_SERVICE) {
                ours.insert(service.clone(), r.clone());
            }
        }
    }
    Ok((live, ours))
}

/// Moves the customer's rules to their target numbers, in rounds of moves to numbers no rule
/// holds at the time.
async fn move_rules<R: ListenerRules>(
    rules: &R,
    live: &[RuleObserved],
    ours: &BTreeMap<String, RuleObserved>,
    targets: &BTreeMap<&str, u32>,
) -> Result<Vec<String>, BerthError> {
    let mut occupied: BTreeSet<u32> = live.iter().filter_map(|r| r.priority).collect();
    let mut pending: Vec<(String, u32, u32)> = ours
        .iter()
        .filter_map(|(service, r)| {
            let to = *targets.get(service.as_str())?;
            let from = r.priority?;
            (from != to).then(|| (r.arn.clone(), from, to))
        })
        .collect();
    let mut moved = Vec::new();
    while !pending.is_empty() {
        let (now, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, _, to)| !occupied.contains(to));
        // Every target is held by a rule still to move: a trade of numbers, which AWS takes
        // in one request.
        let (round, rest) = if now.is_empty() { (later, Vec::new()) } else { (now, later) };
        rules.set_priorities(&round.iter().map(|(arn, _, to)| (arn.clone(), *to)).collect::<Vec<_>>()).await?;
        for (_, from, _) in &round {
            occupied.remove(from);
        }
        for (arn, from, to) in &round {
            occupied.insert(*to);
            tracing::info!(rule = %arn, from, to, "listener rule moved");
            moved.push(format!("{arn}: {from} -> {to}"));
        }
        pending = rest;
    }
    Ok(moved)
}

/// Numbers just taken that a rule berth does not own holds on the live listener are set
/// aside and replaced (as at allocation). Returns the numbers, and the listener as last
/// listed with the customer's rules on it.
async fn clear_of_strangers<P: Ports>(ports: &P, plan: &Plan, listener: &str, mut held: Vec<u32>) -> Result<Listed, BerthError> {
    for _ in 0..3 {
        let (live, ours) = our_rules(ports.rules(), plan, listener).await?;
        let strangers: Vec<(u32, String)> = live
            .iter()
            .filter(|r| r.priority.is_some_and(|p| held.contains(&p)) && !ours.values().any(|o| o.arn == r.arn))
            .map(|r| (r.priority.unwrap_or_default(), r.arn.clone()))
            .collect();
        if strangers.is_empty() {
            return Ok((held, live, ours));
        }
        tracing::warn!(customer = %plan.customer_id, listener, held = ?strangers, "priorities held by rules berth does not own");
        held = ports.placements().set_aside(&plan.customer_id, &plan.execution_id, &strangers).await?;
    }
    let (live, ours) = our_rules(ports.rules(), plan, listener).await?;
    Ok((held, live, ours))
}

/// The customer's numbers, the listener's live rules and the customer's among them.
type Listed = (Vec<u32>, Vec<RuleObserved>, BTreeMap<String, RuleObserved>);

/// Removes the resources of the services in `remove` (found by their names and tags, and
/// their rules by the service tag), in teardown order, and forgets them in the ledger. A
/// transient failure fails the step (it is retried); anything else is reported by name,
/// after all that could be removed was, and the numbers stay held.
/// What the customer's tasks may reach shrinks with the services removed: their secret
/// references, images and products' data out of the customer's role policy, their ports out
/// of its group's inbound rules. (The update reconciled both to the old and new services
/// together, which ran side by side until now.) The partition and account are the role's own.
async fn narrow_access<P: Ports>(
    ports: &P,
    catalog: &Catalog,
    site: &TeardownConfig,
    plan: &Plan,
    remove: &[String],
) -> Result<(), BerthError> {
    let mut kept = plan.clone();
    kept.services.retain(|s| !remove.contains(&s.name));
    kept.rules.retain(|r| !remove.contains(&r.service));
    kept.products.retain(|p| kept.services.iter().any(|s| &s.product == p));
    kept.access = kept.products.iter().filter_map(|p| catalog.products.get(p)).fold(Access::default(), |a, p| a.union(&p.access));
    // A plan from before berth made roles and groups names neither.
    if plan.role.is_empty() || plan.security_group.is_empty() {
        return Ok(());
    }
    if let Some(role) = ports.roles().find(&plan.role).await?.filter(|r| owned_by(&r.tags, plan)) {
        let mut arn = role.arn.split(':');
        let (partition, account) = (arn.nth(1).unwrap_or("aws").to_string(), arn.nth(2).unwrap_or_default().to_string());
        let want = access::role_policy(&kept, &Account { partition, id: account, region: site.region.clone() });
        if ports.roles().policy(&role.name, ROLE_POLICY_NAME).await?.as_ref() != Some(&want) {
            ports.roles().put_policy(&role.name, ROLE_POLICY_NAME, &want).await?;
            tracing::info!(customer = %plan.customer_id, role = %role.arn, "role policy narrowed to the services kept");
        }
    }
    if let Some(group) = ports.security_groups().find(&site.vpc_id, &plan.security_group).await?.filter(|g| owned_by(&g.tags, plan)) {
        let open: BTreeSet<i32> = kept.services.iter().filter(|s| s.target_group.is_some()).filter_map(|s| s.port).map(i32::from).collect();
        let stale: Vec<Permission> = group.ingress.iter().filter(|p| !open.contains(&p.from_port)).cloned().collect();
        if !stale.is_empty() {
            ports.security_groups().revoke(&group.id, false, &stale).await?;
            tracing::info!(customer = %plan.customer_id, security_group = %group.id, closed = stale.len(), "ports of the services removed closed");
        }
    }
    Ok(())
}

async fn take_away<P: Ports>(
    ports: &P,
    site: Site<'_>,
    plan: &Plan,
    record: &CustomerRecord,
    remove: &[String],
    out: &mut ReshapeOutput,
) -> Result<(), BerthError> {
    let mut subset = plan.clone();
    subset.services.retain(|s| remove.contains(&s.name));
    subset.rules.retain(|r| remove.contains(&r.service));
    // A log group the services kept write to stays.
    let shared: BTreeSet<&str> = plan.services.iter().filter(|s| !remove.contains(&s.name)).map(|s| s.log_group.as_str()).collect();
    let mut logs = subset.clone();
    logs.services.retain(|s| !shared.contains(s.log_group.as_str()));
    // A host only the removed services were served at goes with them: its records, its
    // ledger entry, its claim.
    let kept_hosts: BTreeSet<&str> = std::iter::once(plan.host.as_str())
        .chain(plan.rules.iter().filter(|r| !remove.contains(&r.service)).map(|r| r.host.as_str()))
        .collect();
    let mut gone_hosts: Vec<String> = subset.rules.iter().map(|r| r.host.clone()).filter(|h| !kept_hosts.contains(h.as_str())).collect();
    gone_hosts.dedup();
    let mut strangers = Vec::new();
    let mut found = Vec::new();
    // The last product on a host of its own gone: berth's certificate for those hosts goes
    // with it (off the listener, deleted, its validation record too).
    if plan.customer_certificate.is_some() && !keeps_product_host(plan, remove) {
        found.extend(resource::certificate::find_requested(ports, plan, record, site.hosted_zone_id).await?);
    }
    for host in &gone_hosts {
        if !ports.dns().aliases(site.hosted_zone_id, host).await?.is_empty() {
            found.push(LedgerEntry::new(ResourceKind::DnsRecord, host, Some(site.hosted_zone_id.to_string()), plan.execution_id.as_str()));
        }
    }
    let dns_targets = crate::dns::alias_targets(ports, !found.is_empty()).await?;
    found.extend(resource::service::find(ports.services(), site.cluster, &subset, &mut strangers).await?);
    found.extend(resource::task_definition::find(ports.task_definitions(), &subset, &mut strangers).await?);
    if let Some(listener) = &record.listener_arn {
        let (_, ours) = our_rules(ports.rules(), plan, listener).await?;
        for (service, r) in ours.iter().filter(|(service, _)| remove.contains(service)) {
            tracing::debug!(service = %service, rule = %r.arn, "rule of a service removed");
            found.push(LedgerEntry::new(ResourceKind::ListenerRule, &r.arn, Some(listener.clone()), plan.execution_id.as_str()));
        }
    }
    found.extend(resource::target_group::find(ports.target_groups(), &subset, &mut strangers).await?);
    found.extend(resource::log_group::find(ports.logs(), &logs, &mut strangers).await?);
    out.not_ours = strangers;

    let mut removed = Vec::new();
    let mut kept: Vec<LedgerEntry> = Vec::new();
    let mut retry = Vec::new();
    let mut failed: Option<BerthError> = None;
    for entry in ledger::teardown_order(found) {
        match resource::remove(ports, site, &plan.customer_id, &entry, &dns_targets).await {
            Ok(existed) => {
                tracing::info!(customer = %plan.customer_id, kind = %entry.kind, id = %entry.id, existed, "removed with its product");
                out.removed.push(entry.label());
                removed.push(entry);
            }
            Err(e) if e.kind().is_transient() => {
                retry.push(format!("{}: {e}", entry.label()));
                kept.push(entry);
            }
            Err(e) => {
                tracing::error!(customer = %plan.customer_id, kind = %entry.kind, id = %entry.id, error_type = e.kind().name(), error = %e, "removal failed");
                failed.get_or_insert(e);
                kept.push(entry);
            }
        }
    }
    // The ledger forgets what is gone: what was removed, and what it holds of the removed
    // services that no longer exists.
    let recorded = ports.ledger().entries(&plan.customer_id).await?;
    let hosts_gone: Vec<&String> =
        gone_hosts.iter().filter(|h| !kept.iter().any(|e| e.kind == ResourceKind::DnsRecord && e.id == **h)).collect();
    let gone: Vec<LedgerEntry> = recorded
        .into_iter()
        .filter(|e| {
            removed.iter().any(|r| r.kind == e.kind && r.id == e.id)
                || of_services(e, &logs)
                || (e.kind == ResourceKind::DnsRecord && hosts_gone.contains(&&e.id))
        })
        .collect();
    if !gone.is_empty() {
        ports.ledger().forget(&plan.customer_id, &gone).await?;
    }
    for host in hosts_gone {
        if ports.customers().release_host(&plan.customer_id, host).await? {
            tracing::info!(customer = %plan.customer_id, host = %host, "host given back with its product");
        }
    }
    if !retry.is_empty() {
        return Err(BerthError::Transient(format!(
            "removing services of '{}': {} to retry: {}",
            plan.customer_id,
            retry.len(),
            retry.join("; ")
        )));
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// True when the ledger entry names a resource of one of the subset's services (`subset`
/// without the log groups that stay).
fn of_services(e: &LedgerEntry, subset: &Plan) -> bool {
    subset.services.iter().any(|s| match e.kind {
        ResourceKind::LogGroup => e.id == s.log_group,
        ResourceKind::TaskDefinition => e.id.contains(&format!(":task-definition/{}:", s.task_family)),
        ResourceKind::Service | ResourceKind::ScalableTarget => e.id.rsplit('/').next() == Some(s.ecs_service.as_str()),
        ResourceKind::TargetGroup => s.target_group.as_ref().is_some_and(|tg| e.id.contains(&format!(":targetgroup/{}/", tg.name))),
        ResourceKind::ListenerRule
        | ResourceKind::ListenerCertificate
        | ResourceKind::HostClaim
        | ResourceKind::Certificate
        | ResourceKind::ValidationRecord
        | ResourceKind::SecurityGroup
        | ResourceKind::Role
        | ResourceKind::DnsRecord => false,
    })
}

/// Claims each of the plan's hosts not claimed yet (a product added on a host of its own),
/// after checking it carries no DNS record berth does not own, and enters its records in
/// the ledger before the dns step writes them. Again, nothing changes.
async fn claim_hosts<P: Ports>(ports: &P, zone: &str, plan: &Plan) -> Result<(), BerthError> {
    let new_domain = plan.domain_change.as_ref().and(plan.own_domain.as_ref());
    // A new own domain's certificate first: refused, nothing is claimed.
    if let Some(d) = new_domain {
        crate::register::own_domain_certificate(ports.certificates(), d).await?;
    }
    let recorded = ports.ledger().entries(&plan.customer_id).await?;
    let mut entered = Vec::new();
    for host in plan.product_hosts() {
        if recorded.iter().any(|e| e.kind == ResourceKind::DnsRecord && e.id == host) {
            continue;
        }
        crate::register::owned_records(ports.ledger(), ports.dns(), zone, &plan.customer_id, &host).await?;
        ports.customers().claim_host(&plan.customer_id, &host).await?;
        tracing::info!(customer = %plan.customer_id, host = %host, "host claimed for an added product");
        entered.push(LedgerEntry::new(ResourceKind::DnsRecord, &host, Some(zone.to_string()), plan.execution_id.as_str()));
    }
    // A new own domain: claimed like the customer's hosts; its records entered in the ledger
    // when its zone is in the account (the dns step writes them there once healthy), its
    // claim otherwise.
    if let Some(d) = new_domain {
        let (_, entry) = crate::register::own_domain_records(ports, plan, d).await?;
        if !recorded.iter().any(|r| r.kind == entry.kind && r.id == entry.id) {
            entered.push(entry);
        }
        ports.customers().claim_host(&plan.customer_id, &d.hostname).await?;
        tracing::info!(customer = %plan.customer_id, hostname = %d.hostname, "own domain claimed for the update");
    }
    if !entered.is_empty() {
        ports.ledger().record(&plan.customer_id, &entered).await?;
    }
    Ok(())
}

/// The rules of the customer's host that the plan keeps back on the customer's host and
/// `own` (the own domain a failed update replaced), as they were before the update.
async fn hosts_back<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    listener: &str,
    own: Option<&OwnDomain>,
    remove: &[String],
    out: &mut ReshapeOutput,
) -> Result<(), BerthError> {
    let (_, ours) = our_rules(rules, plan, listener).await?;
    for r in plan.rules.iter().filter(|r| r.host == plan.host && !remove.contains(&r.service)) {
        let Some(live) = ours.get(&r.service) else { continue };
        let hosts: Vec<String> = std::iter::once(r.host.clone()).chain(own.map(|d| d.hostname.clone())).collect();
        if !live.matches_hosts(&hosts, &r.path_patterns) {
            rules.set_conditions(&live.arn, &hosts, &r.path_patterns).await?;
            tracing::info!(rule = %live.arn, hosts = ?hosts, "rule's hosts put back");
            out.moved.push(format!("{}: hosts {hosts:?}", live.arn));
        }
    }
    Ok(())
}

/// Takes an own domain of the customer away: its certificate off the listener (unless the
/// one that stays is the same), its alias records in its zone, its ledger entries and its
/// claim.
async fn retire_domain<P: Ports>(
    ports: &P,
    site: &TeardownConfig,
    plan: &Plan,
    gone: &OwnDomain,
    staying: Option<&OwnDomain>,
    out: &mut ReshapeOutput,
) -> Result<(), BerthError> {
    // Only what the customer's ledger holds of it, where the ledger says it is: a name whose
    // claim failed (another customer holds it) keeps that customer's records.
    let keeps_certificate = staying.is_some_and(|d| d.certificate_arn == gone.certificate_arn);
    let entries: Vec<LedgerEntry> = ports
        .ledger()
        .entries(&plan.customer_id)
        .await?
        .into_iter()
        .filter(|e| match e.kind {
            ResourceKind::ListenerCertificate => e.id == gone.certificate_arn && !keeps_certificate,
            ResourceKind::DnsRecord | ResourceKind::HostClaim => e.id == gone.hostname,
            _ => false,
        })
        .collect();
    let targets = crate::dns::alias_targets(ports, entries.iter().any(|e| e.kind == ResourceKind::DnsRecord)).await?;
    let at = Site { cluster: &site.cluster, hosted_zone_id: &site.hosted_zone_id, vpc_id: &site.vpc_id };
    for e in &entries {
        let existed = resource::remove(ports, at, &plan.customer_id, e, &targets).await?;
        tracing::info!(customer = %plan.customer_id, kind = %e.kind, id = %e.id, existed, "own domain taken away");
        out.removed.push(e.label());
    }
    if !entries.is_empty() {
        ports.ledger().forget(&plan.customer_id, &entries).await?;
    }
    // A claim the ledger held went with its entry; one it did not hold (a name whose records
    // berth writes) is given back here.
    let claim_held = entries.iter().any(|e| e.kind == ResourceKind::HostClaim);
    if !claim_held && ports.customers().release_host(&plan.customer_id, &gone.hostname).await? {
        tracing::info!(customer = %plan.customer_id, hostname = %gone.hostname, "own domain given back");
    }
    Ok(())
}

/// True when a rule the plan keeps (all but `remove`'s) is on a product's own host.
fn keeps_product_host(plan: &Plan, remove: &[String]) -> bool {
    plan.rules.iter().any(|r| !remove.contains(&r.service) && r.host != plan.host)
}
