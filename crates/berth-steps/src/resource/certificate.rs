//! A certificate on the customer's listener beside the deployment's wildcard, so that the
//! listener answers TLS for the customer's names (SNI): its own domain's, given by ARN; or,
//! for its products on dotted hosts of their own, `*.{customer}.{domain}`, which berth
//! requests from ACM, validates by a CNAME in its zone, and puts on the listener once ACM
//! has issued it. Each is one of the listener's 25 certificates, which placement counts.

use berth_adapters::model::CertificateObserved;
use berth_adapters::ports::{Certificates, Customers, Dns, ListenerRules, Ports};
use berth_adapters::CustomerRecord;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::naming;
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use super::Journal;

/// Puts each of the plan's certificates on the listener, unless it is there already, the
/// customer counted among its users there first (another customer may serve its own domain
/// with the same certificate: it comes off the listener only when the last one is done).
pub(crate) async fn reconcile<P: Ports>(ports: &P, plan: &Plan, listener_arn: &str, j: &mut Journal) -> Result<(), BerthError> {
    let wanted = plan.certificate_arns();
    if wanted.is_empty() {
        return Ok(());
    }
    let on = ports.rules().certificates(listener_arn).await?;
    for arn in wanted {
        ports.customers().share_certificate(&plan.customer_id, listener_arn, &arn).await?;
        // Held before it is added: a failed add still leaves the share to undo.
        j.hold(ResourceKind::ListenerCertificate, &arn, Some(listener_arn));
        if !on.contains(&arn) {
            ports.rules().add_certificate(listener_arn, &arn).await?;
            tracing::info!(customer = %plan.customer_id, listener = %listener_arn, certificate = %arn, "certificate added to the listener");
            j.created.push(arn.clone());
        }
    }
    Ok(())
}

/// The plan's certificates that are on the customer's listener.
pub async fn find<R: ListenerRules>(rules: &R, plan: &Plan, customer: &CustomerRecord) -> Result<Vec<LedgerEntry>, BerthError> {
    let wanted = plan.certificate_arns();
    let Some(listener) = customer.listener_arn.as_ref().filter(|_| !wanted.is_empty()) else {
        return Ok(Vec::new());
    };
    let on = rules.certificates(listener).await?;
    Ok(wanted
        .into_iter()
        .filter(|a| on.contains(a))
        .map(|a| LedgerEntry::new(ResourceKind::ListenerCertificate, a, Some(listener.clone()), plan.execution_id.as_str()))
        .collect())
}

/// The customer no longer serves its own domain with the certificate: it comes off the
/// listener unless another customer still does. False when it stays, or was not on it.
pub async fn remove<P: Ports>(ports: &P, customer: &str, listener_arn: &str, certificate_arn: &str) -> Result<bool, BerthError> {
    let users = ports.customers().unshare_certificate(customer, listener_arn, certificate_arn).await?;
    if !users.is_empty() {
        tracing::info!(customer, listener = %listener_arn, certificate = %certificate_arn, users = ?users, "certificate kept on the listener: other customers serve their domains with it");
        return Ok(false);
    }
    ports.rules().remove_certificate(listener_arn, certificate_arn).await
}

/// The certificate berth requests for the customer's dotted product hosts: found (by its
/// domain and tags) or requested, its validation record put in berth's zone, and on the
/// listener once issued. `Berth.Transient` while ACM has not given the validation record.
pub(crate) async fn reconcile_requested<P: Ports>(
    ports: &P,
    plan: &Plan,
    listener_arn: &str,
    zone: &str,
    j: &mut Journal,
) -> Result<(), BerthError> {
    let Some(domain) = &plan.customer_certificate else { return Ok(()) };
    let acm = ports.certificates();
    let cert = match acm.find(domain, &plan.customer_id).await? {
        Some(c) => c,
        None => {
            let token = naming::short_hash(&[&plan.customer_id, domain, &plan.execution_id], 32);
            let arn = acm.request(domain, &token, &plan.tags).await?;
            tracing::info!(customer = %plan.customer_id, certificate = %arn, domain = %domain, "certificate requested");
            j.created.push(arn.clone());
            j.hold(ResourceKind::Certificate, &arn, Some(listener_arn));
            acm.describe(&arn).await?.ok_or_else(|| BerthError::Transient(format!("certificate {arn} not yet described by ACM")))?
        }
    };
    j.hold(ResourceKind::Certificate, &cert.arn, Some(listener_arn));
    let Some(v) = &cert.validation else {
        return Err(BerthError::Transient(format!("ACM has not yet given the validation record of {}", cert.arn)));
    };
    if ports.dns().cname(zone, &v.name).await?.as_deref() != Some(v.value.as_str()) {
        ports.dns().upsert_cname(zone, &v.name, &v.value).await?;
        tracing::info!(customer = %plan.customer_id, certificate = %cert.arn, record = %v.name, "validation record written");
        j.created.push(v.name.clone());
    }
    j.hold(ResourceKind::ValidationRecord, &v.name, Some(zone));
    if cert.issued() {
        attach(ports.rules(), plan, listener_arn, &cert).await?;
    }
    Ok(())
}

/// The customer's requested certificate, as ACM has it now (none: the plan needs none, or
/// it is not there).
pub async fn requested<C: Certificates>(acm: &C, plan: &Plan) -> Result<Option<CertificateObserved>, BerthError> {
    match &plan.customer_certificate {
        Some(domain) => acm.find(domain, &plan.customer_id).await,
        None => Ok(None),
    }
}

/// Puts an issued certificate on the listener, unless it is there.
pub async fn attach<R: ListenerRules>(rules: &R, plan: &Plan, listener_arn: &str, cert: &CertificateObserved) -> Result<(), BerthError> {
    if !rules.certificates(listener_arn).await?.contains(&cert.arn) {
        rules.add_certificate(listener_arn, &cert.arn).await?;
        tracing::info!(customer = %plan.customer_id, listener = %listener_arn, certificate = %cert.arn, "issued certificate added to the listener");
    }
    Ok(())
}

/// The customer's requested certificate and its validation record, found by the plan.
pub async fn find_requested<P: Ports>(
    ports: &P,
    plan: &Plan,
    customer: &CustomerRecord,
    zone: &str,
) -> Result<Vec<LedgerEntry>, BerthError> {
    let Some(cert) = requested(ports.certificates(), plan).await? else { return Ok(Vec::new()) };
    let mut found = vec![LedgerEntry::new(ResourceKind::Certificate, &cert.arn, customer.listener_arn.clone(), plan.execution_id.as_str())];
    if let Some(v) = &cert.validation {
        if ports.dns().cname(zone, &v.name).await?.is_some() {
            found.push(LedgerEntry::new(ResourceKind::ValidationRecord, &v.name, Some(zone.to_string()), plan.execution_id.as_str()));
        }
    }
    Ok(found)
}

/// Takes a requested certificate off the listener it serves on, then deletes it.
pub async fn remove_requested<P: Ports>(ports: &P, listener_arn: Option<&str>, arn: &str) -> Result<bool, BerthError> {
    if let Some(listener) = listener_arn {
        ports.rules().remove_certificate(listener, arn).await?;
    }
    ports.certificates().delete(arn).await
}

/// Deletes the validation record at `name`, whatever it points to (its name is the
/// certificate's own).
pub async fn remove_validation<D: Dns>(dns: &D, zone: &str, name: &str) -> Result<bool, BerthError> {
    match dns.cname(zone, name).await? {
        Some(value) => dns.delete_cname(zone, name, &value).await,
        None => Ok(false),
    }
}
