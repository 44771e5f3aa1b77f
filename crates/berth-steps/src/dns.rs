//! Step 6: alias A and AAAA records for each of the customer's hosts (its own and its
//! products' own), pointing at the ALB it was placed on. The record is in the resource ledger since registration, which also found the
//! host free of records berth does not own. The step looks again first: a record made by
//! hand since then is refused (`Berth.Conflict`), not replaced; aliases already pointing at
//! the ALB are left as they are (a re-run writes nothing).

use berth_adapters::config::DnsConfig;
use berth_adapters::model::{AliasSpec, RecordObserved};
use berth_adapters::ports::{Dns, Ports};
use berth_domain::BerthError;

use crate::io::{checked, DnsInput, DnsOutput, OwnDomainDns};
use crate::Context;

/// The alias target of a customer placed on the ALB with this DNS name.
pub fn alias_target(alb_dns_name: &str) -> String {
    format!("dualstack.{}", alb_dns_name.trim_end_matches('.'))
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
    // Every host is looked at before any is written: one with records berth does not own
    // stops the step with nothing changed.
    let mut to_write = Vec::new();
    let mut to_write_own: Option<String> = None;
    for host in &hosts {
        let found = dns.records(&cfg.hosted_zone_id, host).await?;
        let foreign: Vec<String> =
            found.iter().filter(|r| !r.is_alias_to(&target) && !adopted.contains(r)).map(RecordObserved::label).collect();
        if !foreign.is_empty() {
            return Err(BerthError::Conflict(format!(
                "host {host} has DNS records berth does not own in zone {} (made since registration): {}; berth changes nothing there",
                cfg.hosted_zone_id,
                foreign.join(", ")
            )));
        }
        if ["A", "AAAA"].iter().all(|t| found.iter().any(|r| r.record_type == *t && r.is_alias_to(&target))) {
            tracing::info!(customer = %plan.customer_id, host = %host, "alias records already in place");
        } else {
            to_write.push(host);
        }
    }
    // The customer's own domain: in its zone when the account has it, else instructions.
    let own_domain = match &plan.own_domain {
        None => None,
        Some(d) => match dns.zone_of(&d.hostname).await? {
            Some(zone) => {
                let found = dns.records(&zone, &d.hostname).await?;
                let foreign: Vec<String> =
                    found.iter().filter(|r| !r.is_alias_to(&target) && !adopted.contains(r)).map(RecordObserved::label).collect();
                if !foreign.is_empty() {
                    return Err(BerthError::Conflict(format!(
                        "the customer's domain {} has DNS records berth does not own in zone {zone}: {}; berth changes nothing there",
                        d.hostname,
                        foreign.join(", ")
                    )));
                }
                if !["A", "AAAA"].iter().all(|t| found.iter().any(|r| r.record_type == *t && r.is_alias_to(&target))) {
                    to_write_own = Some(zone.clone());
                }
                Some(OwnDomainDns { hostname: d.hostname.clone(), hosted_zone_id: Some(zone), instructions: None })
            }
            None => Some(OwnDomainDns {
                hostname: d.hostname.clone(),
                hosted_zone_id: None,
                instructions: Some(format!(
                    "create a CNAME record {} pointing to {} at the domain's DNS provider (at a zone apex, where a CNAME cannot be, an ALIAS or ANAME record to the same name, or Route 53 alias A and AAAA records to it in hosted zone {})",
                    d.hostname,
                    alb.dns_name.trim_end_matches('.'),
                    alb.canonical_hosted_zone_id
                )),
            }),
        },
    };
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
    if let (Some(zone), Some(d)) = (to_write_own, &plan.own_domain) {
        change_id = dns
            .upsert_alias(&AliasSpec {
                hosted_zone_id: zone.clone(),
                name: d.hostname.clone(),
                target_dns_name: target.clone(),
                target_hosted_zone_id: alb.canonical_hosted_zone_id.clone(),
            })
            .await?;
        tracing::info!(customer = %plan.customer_id, host = %d.hostname, zone = %zone, change = %change_id, "alias records of the customer's domain upserted");
    }
    for host in to_write {
        let id = dns
            .upsert_alias(&AliasSpec {
                hosted_zone_id: cfg.hosted_zone_id.clone(),
                name: host.clone(),
                target_dns_name: target.clone(),
                target_hosted_zone_id: alb.canonical_hosted_zone_id.clone(),
            })
            .await?;
        tracing::info!(customer = %plan.customer_id, host = %host, change = %id, "alias records upserted");
        change_id = id;
    }
    Ok(DnsOutput { host: plan.host.clone(), hosts, alias_target: target, records: vec!["A".into(), "AAAA".into()], change_id, own_domain })
}
