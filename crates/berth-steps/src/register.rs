//! Step 2: the customer record (PROVISIONING), the claims of its hosts (its own and its
//! products' own) and the ledger entries of the DNS records the customer will hold under
//! them, in one transaction; but first, each host must carry no DNS record berth does not
//! own, and an own domain's certificate must be issued for it. A name in a shared zone may
//! already serve something else (a site, mail, a verification record): berth refuses it
//! rather than replace it, before anything is written.

use berth_adapters::config::RegisterConfig;
use berth_adapters::model::{RecordObserved, Registration};
use berth_adapters::ports::{Certificates, Customers, Dns, Ledger, Ports};
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::naming;
use berth_domain::plan::{OwnDomain, Plan};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{checked, PlanInput, RegisterOutput};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<RegisterConfig, P>, input: PlanInput) -> Result<RegisterOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let zone = cx.config.hosted_zone_id.as_str();
    let hosts = plan.hosts();
    let mut records = Vec::new();
    for host in &hosts {
        records.extend(owned_records(cx.ports.ledger(), cx.ports.dns(), zone, &plan.customer_id, host).await?);
    }
    // The customer's own domain: claimed like its hosts; its records entered in the ledger
    // when its zone is in the account (the dns step writes them there), after the same look
    // for records berth does not own; otherwise its claim.
    let mut ledger: Vec<LedgerEntry> =
        hosts.iter().map(|h| LedgerEntry::new(ResourceKind::DnsRecord, h, Some(zone.to_string()), &plan.execution_id)).collect();
    let mut claimed = plan.product_hosts();
    if let Some(d) = &plan.own_domain {
        own_domain_certificate(cx.ports.certificates(), d).await?;
        claimed.push(d.hostname.clone());
        let (found, entry) = own_domain_records(&cx.ports, plan, d).await?;
        records.extend(found);
        ledger.push(entry);
    }
    let plan_json = serde_json::to_string(plan).map_err(|e| BerthError::Internal(format!("plan not serializable: {e}")))?;
    cx.ports
        .customers()
        .register(&Registration {
            customer_id: plan.customer_id.clone(),
            execution_id: plan.execution_id.clone(),
            host: plan.host.clone(),
            product_hosts: claimed,
            display_name: plan.display_name.clone(),
            products: plan.products.clone(),
            plan_json,
            // In the ledger before the dns step can write it: a rollback from any later
            // step looks for it.
            ledger,
        })
        .await?;
    tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, host = %plan.host, "customer registered");
    Ok(RegisterOutput { customer_id: plan.customer_id.clone(), state: CustomerState::Provisioning, host: plan.host.clone(), records })
}

/// The certificate the customer's own domain names must be in ACM (in the deployment's
/// account and region: an ALB takes no other), issued, and serve the hostname; otherwise the
/// request is refused naming `domain.certificate_arn`, before anything is made. One pending
/// validation is `Berth.Transient`: ACM may issue it within the step's retries.
pub(crate) async fn own_domain_certificate<C: Certificates>(acm: &C, d: &OwnDomain) -> Result<(), BerthError> {
    const FIELD: &str = "domain.certificate_arn";
    let Some(c) = acm.describe(&d.certificate_arn).await? else {
        return Err(BerthError::invalid(
            FIELD,
            format!("no certificate {} in ACM in the deployment's account and region: an ALB serves only those", d.certificate_arn),
        ));
    };
    match c.status.as_str() {
        "ISSUED" => {}
        "PENDING_VALIDATION" => {
            return Err(BerthError::Transient(format!(
                "certificate {} for {} is pending validation: an ALB serves it once ACM has issued it",
                c.arn, d.hostname
            )))
        }
        other => {
            return Err(BerthError::invalid(
                FIELD,
                format!("certificate {} is {other}, not ISSUED: an ALB serves issued certificates only", c.arn),
            ))
        }
    }
    if !naming::certificate_covers(&c.names, &d.hostname) {
        return Err(BerthError::invalid(
            FIELD,
            format!(
                "certificate {} serves {}, not {}: it must name the hostname, or a wildcard one label above it",
                c.arn,
                c.names.join(", "),
                d.hostname
            ),
        ));
    }
    Ok(())
}

/// The customer's own domain's records when its zone is in the account (the dns step writes
/// them there): those at the hostname, all of them berth's for the customer (see
/// [`owned_records`]), and the ledger entry that holds them; when the zone is elsewhere, no
/// records and an entry for the claim alone.
pub(crate) async fn own_domain_records<P: Ports>(
    ports: &P,
    plan: &Plan,
    d: &OwnDomain,
) -> Result<(Vec<RecordObserved>, LedgerEntry), BerthError> {
    let Some(zone) = ports.dns().zone_of(&d.hostname).await? else {
        // Its records are the customer's to make: the ledger holds the claim alone, so that
        // whatever takes the domain away (offboarding, an update) gives the name back.
        return Ok((Vec::new(), LedgerEntry::new(ResourceKind::HostClaim, &d.hostname, None, &plan.execution_id)));
    };
    let found = owned_records(ports.ledger(), ports.dns(), &zone, &plan.customer_id, &d.hostname).await?;
    Ok((found, LedgerEntry::new(ResourceKind::DnsRecord, &d.hostname, Some(zone), &plan.execution_id)))
}

/// The records at `host`, all of them berth's for `customer` (A or AAAA aliases its ledger
/// holds, left by an earlier execution); `Berth.Conflict` naming every other one.
pub(crate) async fn owned_records<G: Ledger, D: Dns>(
    ledger: &G,
    dns: &D,
    zone: &str,
    customer: &str,
    host: &str,
) -> Result<Vec<RecordObserved>, BerthError> {
    let found = dns.records(zone, host).await?;
    if found.is_empty() {
        return Ok(found);
    }
    let ledgered = ledger.entries(customer).await?.iter().any(|e| e.kind == ResourceKind::DnsRecord && e.id == host);
    let foreign: Vec<String> = found
        .iter()
        .filter(|r| !ledgered || !matches!(r.record_type.as_str(), "A" | "AAAA") || r.alias_target.is_none())
        .map(RecordObserved::label)
        .collect();
    if !foreign.is_empty() {
        return Err(BerthError::Conflict(format!(
            "host {host} already has DNS records berth does not own in zone {}: {}; berth changes nothing there (remove them, or choose another customer id)",
            zone,
            foreign.join(", ")
        )));
    }
    tracing::info!(customer, host, records = found.len(), "records at the host are the customer's, from an earlier execution");
    Ok(found)
}
