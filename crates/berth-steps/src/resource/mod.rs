//! Each kind of resource berth makes for a customer, in a file of its own: how it is
//! reconciled (found by name or priority and checked to be the customer's, created when
//! missing, fixed when it drifted), how berth finds what is the customer's by the plan's
//! names, and how it is removed. The resources step reconciles; teardown (here: the
//! rollback, and whatever else removes a customer's things) finds and removes, with the
//! same code.

pub mod certificate;
pub mod dns_record;
pub mod log_group;
pub mod role;
pub mod rule;
pub mod scaling;
pub mod security_group;
pub mod service;
pub mod target_group;
pub mod task_definition;

use std::collections::BTreeMap;

use berth_adapters::ports::{Customers, Ports};
use berth_adapters::CustomerRecord;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::naming::{self, TAG_CUSTOMER, TAG_MANAGED_BY, TAG_SERVICE};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

/// Tag on task definitions: a hash of everything berth put in them, so a re-run can tell
/// whether the latest revision is already the one it wants.
pub const TAG_SPEC_HASH: &str = "berth:spec-hash";

/// What a reconciling step did and holds.
pub(crate) struct Journal {
    pub execution_id: String,
    pub created: Vec<String>,
    pub fixed: Vec<String>,
    /// Every resource the step holds (created or found), for the ledger.
    pub held: Vec<LedgerEntry>,
}

impl Journal {
    pub fn hold(&mut self, kind: ResourceKind, id: &str, scope: Option<&str>) {
        self.held.push(LedgerEntry::new(kind, id, scope.map(str::to_string), self.execution_id.clone()));
    }
}

/// The tags berth puts on what it makes for one of the plan's services.
pub(crate) fn tags(plan: &Plan, service: &str) -> BTreeMap<String, String> {
    let mut t = plan.tags.clone();
    t.insert(TAG_SERVICE.to_string(), service.to_string());
    t
}

/// True when the tags say berth made it for this plan's customer.
pub(crate) fn owned_by(tags: &BTreeMap<String, String>, plan: &Plan) -> bool {
    tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(naming::MANAGED_BY_VALUE) && tags.get(TAG_CUSTOMER) == Some(&plan.customer_id)
}

/// `Berth.Conflict`: a resource of that name exists and is not berth's for the customer.
pub(crate) fn not_ours(kind: &str, name: &str, plan: &Plan) -> BerthError {
    BerthError::Conflict(format!(
        "{kind} {name} exists and is not berth's for customer '{}' (its tags say otherwise): berth changes nothing of it",
        plan.customer_id
    ))
}

/// Where a customer's shared things live, for finding and removing them.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub cluster: &'a str,
    pub hosted_zone_id: &'a str,
    /// The VPC of the customers' security groups.
    pub vpc_id: &'a str,
}

/// What the plan's names find on AWS.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The customer's, by its tags, in the order berth builds them.
    pub ours: Vec<LedgerEntry>,
    /// Of a planned name, but not the customer's by its tags: never touched, reported.
    pub strangers: Vec<String>,
}

/// What the plan's names find of this customer's, on AWS, in the order berth builds it: only
/// what its tags give to the customer (a resource of the same name made by someone else is
/// never touched, only reported).
pub async fn discover<P: Ports>(ports: &P, site: Site<'_>, plan: &Plan, customer: &CustomerRecord) -> Result<Discovered, BerthError> {
    let mut d = Discovered { ours: dns_record::find(ports.dns(), site.hosted_zone_id, plan).await?, strangers: Vec::new() };
    let services = service::find(ports.services(), site.cluster, plan, &mut d.strangers).await?;
    d.ours.extend(scaling::find(ports.scaling(), site.cluster, plan, &services).await?);
    d.ours.extend(services);
    d.ours.extend(task_definition::find(ports.task_definitions(), plan, &mut d.strangers).await?);
    d.ours.extend(rule::find(ports.rules(), plan, customer, &mut d.strangers).await?);
    d.ours.extend(certificate::find(ports.rules(), plan, customer).await?);
    d.ours.extend(certificate::find_requested(ports, plan, customer, site.hosted_zone_id).await?);
    d.ours.extend(target_group::find(ports.target_groups(), plan, &mut d.strangers).await?);
    d.ours.extend(security_group::find(ports.security_groups(), site.vpc_id, plan, &mut d.strangers).await?);
    d.ours.extend(role::find(ports.roles(), plan, &mut d.strangers).await?);
    d.ours.extend(log_group::find(ports.logs(), plan, &mut d.strangers).await?);
    Ok(d)
}

/// Removes one of `customer`'s resources; `Ok(false)` when it was already gone. Of the
/// records at a host, only aliases to `dns_targets` are berth's.
pub async fn remove<P: Ports>(
    ports: &P,
    site: Site<'_>,
    customer: &str,
    e: &LedgerEntry,
    dns_targets: &[String],
) -> Result<bool, BerthError> {
    match e.kind {
        ResourceKind::DnsRecord => {
            dns_record::remove(ports.dns(), e.scope.as_deref().unwrap_or(site.hosted_zone_id), &e.id, dns_targets).await
        }
        ResourceKind::ScalableTarget => scaling::remove(ports.scaling(), &e.id).await,
        ResourceKind::Service => service::remove(ports.services(), e.scope.as_deref().unwrap_or(site.cluster), &e.id).await,
        ResourceKind::TaskDefinition => task_definition::remove(ports.task_definitions(), &e.id).await,
        ResourceKind::ListenerRule => rule::remove(ports.rules(), &e.id).await,
        ResourceKind::ListenerCertificate => match &e.scope {
            Some(listener) => certificate::remove(ports, customer, listener, &e.id).await,
            None => Err(BerthError::Internal(format!("listener certificate {} without its listener in the ledger", e.id))),
        },
        ResourceKind::HostClaim => ports.customers().release_host(customer, &e.id).await,
        ResourceKind::Certificate => certificate::remove_requested(ports, e.scope.as_deref(), &e.id).await,
        ResourceKind::ValidationRecord => {
            certificate::remove_validation(ports.dns(), e.scope.as_deref().unwrap_or(site.hosted_zone_id), &e.id).await
        }
        ResourceKind::TargetGroup => target_group::remove(ports.target_groups(), &e.id).await,
        ResourceKind::SecurityGroup => security_group::remove(ports.security_groups(), &e.id).await,
        ResourceKind::Role => role::remove(ports.roles(), &e.id).await,
        ResourceKind::LogGroup => log_group::remove(ports.logs(), &e.id).await,
    }
}
