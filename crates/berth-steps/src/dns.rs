//! Step 6: alias A and AAAA records for each of the customer's hosts (its own and its
//! products' own), pointing at the ALB it was placed on. The record is in the resource ledger since registration, which also found the
//! host free of records berth does not own. The step looks again first: a record made by
//! hand since then is refused (`Berth.Conflict`), not replaced; aliases already pointing at
//! the ALB are left as they are (a re-run writes nothing).

use berth_adapters::config::DnsConfig;
use berth_adapters::model::{AlbRef, AliasSpec, RecordObserved};
use berth_adapters::ports::{Dns, Pool, Ports};
use berth_domain::plan::OwnDomain;
use berth_domain::BerthError;

use crate::io::{checked, DnsInput, DnsOutput, OwnDomainDns};
use crate::Context;

/// The alias target of a customer placed on the ALB with this DNS name.
pub fn alias_target(alb_dns_name: &str) -> String {
    format!("dualstack.{}", alb_dns_name.trim_end_matches('.'))
}

/// The alias targets of every ALB of the pool: berth's alias records point at one of them
/// (none asked for when `needed` is false).
pub(crate) async fn alias_targets<P: Ports>(ports: &P, needed: bool) -> Result<Vec<String>, BerthError> {
    if !needed {
        return Ok(Vec::new());
    }
    Ok(ports.pool().albs().await?.iter().map(|a| alias_target(&a.dns_name)).collect())
}

/// Where the customer's own domain's records are: in its zone when the account has it (the
/// dns step writes them there), otherwise the record the customer must create at its DNS
/// provider.
pub async fn own_domain_dns<D: Dns>(dns: &D, d: &OwnDomain, alb: &AlbRef) -> Result<OwnDomainDns, BerthError> {
    Ok(match dns.zone_of(&d.hostname).await? {
        Some(zone) => OwnDomainDns { hostname: d.hostname.clone(), hosted_zone_id: Some(zone), instructions: None },
        None => OwnDomainDns {
            hostname: d.hostname.clone(),
            hosted_zone_id: None,
            instructions: Some(format!(
                "create a CNAME record {} pointing to {} at the domain's DNS provider (at a zone apex, where a CNAME cannot be, an ALIAS or ANAME record to the same name, or Route 53 alias A and AAAA records to it in hosted zone {})",
                d.hostname,
                alb.dns_name.trim_end_matches('.'),
                alb.canonical_hosted_zone_id
            )),
        },
    })
}

pub async fn run<P: Ports>(cx: &Context<DnsConfig, P>, input: DnsInput) -> Result<DnsOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let (dns, cfg) = (cx.ports.dns(), &cx.config);
    if !input.healthy {
        return Err(BerthError::Conflict(format!("DNS for '{}' is written only once its services are stable", plan.customer_id)));
    }
    let alb = &input.alb;
    let target = alias_target(&alb.dns_name);
    let adopted: &[RecordObserved] = &input.adopted;
    let hosts = plan.hosts();
    // The names to point at the ALB, each in its zone: the customer's hosts in berth's zone,
    // and its own domain in the domain's zone when the account has it (otherwise the
    // outputs say what the customer must create).
    let mut names: Vec<(String, String)> = hosts.iter().map(|h| (cfg.hosted_zone_id.clone(), h.clone())).collect();
    let own_domain = match &plan.own_domain {
        None => None,
        Some(d) => Some(own_domain_dns(dns, d, alb).await?),
    };
    if let Some(OwnDomainDns { hostname, hosted_zone_id: Some(zone), .. }) = &own_domain {
        names.push((zone.clone(), hostname.clone()));
    }
    // Every name is looked at before any is written: one with records berth does not own
    // stops the step with nothing changed.
    let mut to_write = Vec::new();
    for (zone, name) in names {
        let found = dns.records(&zone, &name).await?;
        let foreign: Vec<String> =
            found.iter().filter(|r| !r.is_alias_to(&target) && !adopted.contains(r)).map(RecordObserved::label).collect();
        if !foreign.is_empty() {
            return Err(BerthError::Conflict(format!(
                "{name} has DNS records berth does not own in zone {zone} (made since registration): {}; berth changes nothing there",
                foreign.join(", ")
            )));
        }
        if ["A", "AAAA"].iter().all(|t| found.iter().any(|r| r.record_type == *t && r.is_alias_to(&target))) {
            tracing::info!(customer = %plan.customer_id, host = %name, "alias records already in place");
        } else {
            to_write.push((zone, name));
        }
    }
    // The certificate of the customer's dotted hosts on the listener before their records.
    if plan.customer_certificate.is_some() {
        match crate::resource::certificate::requested(cx.ports.certificates(), plan).await? {
            Some(c) if c.issued() => crate::resource::certificate::attach(cx.ports.rules(), plan, &alb.listener_arn, &c).await?,
            other => {
                return Err(BerthError::Conflict(format!(
                    "the certificate for {:?} is not issued ({}): the customer's hosts get no records without it",
                    plan.customer_certificate,
                    other.map_or_else(|| "not in ACM".to_string(), |c| c.status)
                )))
            }
        }
    }
    let mut change_id = String::new();
    for (zone, name) in to_write {
        change_id = dns
            .upsert_alias(&AliasSpec {
                hosted_zone_id: zone.clone(),
                name: name.clone(),
                target_dns_name: target.clone(),
                target_hosted_zone_id: alb.canonical_hosted_zone_id.clone(),
            })
            .await?;
        tracing::info!(customer = %plan.customer_id, host = %name, zone = %zone, change = %change_id, "alias records upserted");
    }
    Ok(DnsOutput { host: plan.host.clone(), hosts, alias_target: target, records: vec!["A".into(), "AAAA".into()], change_id, own_domain })
}
