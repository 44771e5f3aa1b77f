//! Step 6: alias A and AAAA records for the customer's host, pointing at the ALB it was
//! placed on.
//! The record is in the resource ledger since registration; UPSERT makes a re-run a no-op.

use berth_adapters::config::DnsConfig;
use berth_adapters::model::AliasSpec;
use berth_adapters::ports::Dns;
use berth_domain::BerthError;

use crate::io::{DnsOutput, State};

pub async fn run<D: Dns>(dns: &D, cfg: &DnsConfig, state: &State) -> Result<DnsOutput, BerthError> {
    let plan = state.plan()?;
    if !state.health.as_ref().is_some_and(|h| h.stable) {
        return Err(BerthError::Conflict(format!("DNS for '{}' is written only once its services are stable", plan.customer_id)));
    }
    let alb = &state.allocation()?.alb;
    let target = format!("dualstack.{}", alb.dns_name.trim_end_matches('.'));
    let change_id = dns
        .upsert_alias(&AliasSpec {
            hosted_zone_id: cfg.hosted_zone_id.clone(),
            name: plan.host.clone(),
            target_dns_name: target.clone(),
            target_hosted_zone_id: alb.canonical_hosted_zone_id.clone(),
        })
        .await?;
    tracing::info!(customer = %plan.customer_id, host = %plan.host, change = %change_id, "alias records upserted");
    Ok(DnsOutput { host: plan.host.clone(), alias_target: target, records: vec!["A".into(), "AAAA".into()], change_id })
}
