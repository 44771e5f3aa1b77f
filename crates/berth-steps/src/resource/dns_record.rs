//! The alias records of the customer's hosts. They are written by the dns step (which
//! checks what is there first); here they are found and removed.

use berth_adapters::model::same_dns_name;
use berth_adapters::ports::Dns;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

/// Each of the plan's hosts that has alias records, and the customer's own domain when its
/// zone in the account has them.
pub async fn find<D: Dns>(dns: &D, zone: &str, plan: &Plan) -> Result<Vec<LedgerEntry>, BerthError> {
    let mut found = Vec::new();
    for host in plan.hosts() {
        if !dns.aliases(zone, &host).await?.is_empty() {
            found.push(LedgerEntry::new(ResourceKind::DnsRecord, &host, Some(zone.to_string()), plan.execution_id.as_str()));
        }
    }
    if let Some(d) = &plan.own_domain {
        if let Some(own_zone) = dns.zone_of(&d.hostname).await? {
            if !dns.aliases(&own_zone, &d.hostname).await?.is_empty() {
                found.push(LedgerEntry::new(ResourceKind::DnsRecord, &d.hostname, Some(own_zone), plan.execution_id.as_str()));
            }
        }
    }
    Ok(found)
}

/// Deletes the host's aliases that point at one of `targets` (berth's), exactly as found;
/// no other record is touched. False when there was none.
pub async fn remove<D: Dns>(dns: &D, zone: &str, host: &str, targets: &[String]) -> Result<bool, BerthError> {
    let records: Vec<_> =
        dns.aliases(zone, host).await?.into_iter().filter(|r| targets.iter().any(|t| same_dns_name(&r.target_dns_name, t))).collect();
    dns.delete_aliases(zone, &records).await
}
