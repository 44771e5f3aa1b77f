//! A certificate on the customer's listener beside the deployment's wildcard: its own
//! domain's, so that the listener answers TLS for that name (SNI). It is one of the
//! listener's 25 certificates, which placement counts.

use berth_adapters::ports::ListenerRules;
use berth_adapters::CustomerRecord;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use super::Journal;

/// Puts each of the plan's certificates on the listener, unless it is there already.
pub(crate) async fn reconcile<R: ListenerRules>(rules: &R, plan: &Plan, listener_arn: &str, j: &mut Journal) -> Result<(), BerthError> {
    let wanted = plan.certificate_arns();
    if wanted.is_empty() {
        return Ok(());
    }
    let on = rules.certificates(listener_arn).await?;
    for arn in wanted {
        if !on.contains(&arn) {
            rules.add_certificate(listener_arn, &arn).await?;
            tracing::info!(customer = %plan.customer_id, listener = %listener_arn, certificate = %arn, "certificate added to the listener");
            j.created.push(arn.clone());
        }
        j.hold(ResourceKind::ListenerCertificate, &arn, Some(listener_arn));
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

/// Takes the certificate off the listener; false when it was not on it.
pub async fn remove<R: ListenerRules>(rules: &R, listener_arn: &str, certificate_arn: &str) -> Result<bool, BerthError> {
    rules.remove_certificate(listener_arn, certificate_arn).await
}
