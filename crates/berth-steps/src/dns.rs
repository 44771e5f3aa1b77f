//! Step 6: alias A and AAAA records for each of the customer's hosts (its own and its
//! products' own), pointing at the ALB it was placed on. The record is in the resource ledger since registration, which also found the
//! host free of records berth does not own. The step looks again first: a record made by
//! hand since then is refused (`Berth.Conflict`), not replaced; aliases already pointing at
//! the ALB are left as they are (a re-run writes nothing).

use berth_adapters::config::DnsConfig;
use berth_adapters::model::{AliasSpec, RecordObserved};
use berth_adapters::ports::{Dns, Ports};
use berth_domain::BerthError;

use crate::io::{checked, DnsInput, DnsOutput};
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
    let mut change_id = String::new();
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
    Ok(DnsOutput { host: plan.host.clone(), hosts, alias_target: target, records: vec!["A".into(), "AAAA".into()], change_id })
}
