//! The end of a failed execution: the customer becomes FAILED with the error name and
//! cause when the rollback undid everything, or ROLLBACK_FAILED with the list of what is
//! left. Only the owning execution writes; a customer another execution owns is left alone.

use berth_adapters::config::TableConfig;
use berth_adapters::model::Failure;
use berth_adapters::ports::{Customers, Ledger, Ports};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{checked, FailInput, FailOutput, RollbackOutcome};
use crate::Context;

/// Causes are kept short in the record: enough to act on, never a payload dump.
pub const CAUSE_MAX: usize = 2000;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: FailInput) -> Result<FailOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let caught = input.error.clone();
    let cause = readable_cause(&caught.cause);
    let leftovers: Vec<String> = match &input.rollback {
        RollbackOutcome::Done(r) => r.leftovers.iter().map(|l| format!("{}: {}", l.resource, l.reason)).collect(),
        // The rollback failed for good: what the ledger still lists is left, and the
        // priorities and host were not given back.
        RollbackOutcome::Failed(re) => {
            let mut left: Vec<String> = cx.ports.ledger().entries(&plan.customer_id).await?.iter().map(|e| e.label()).collect();
            left.push(format!("rollback stopped: {}: {}", re.error, readable_cause(&re.cause)));
            left.push("priorities and host: kept".to_string());
            left
        }
    };
    let failure = Failure {
        state: if leftovers.is_empty() { CustomerState::Failed } else { CustomerState::RollbackFailed },
        error: caught.error.clone(),
        cause: cause.clone(),
        leftovers,
    };
    let marked = cx.ports.customers().mark_failed(&plan.customer_id, &plan.execution_id, &failure).await?.is_some();
    if failure.state == CustomerState::RollbackFailed {
        tracing::error!(customer = %plan.customer_id, execution = %plan.execution_id, error = %caught.error, marked, leftovers = ?failure.leftovers, "provisioning failed and cleanup did not finish");
    } else {
        tracing::warn!(customer = %plan.customer_id, execution = %plan.execution_id, error = %caught.error, marked, "provisioning failed, everything undone");
    }
    Ok(FailOutput {
        customer_id: plan.customer_id.clone(),
        marked,
        state: failure.state,
        error: caught.error,
        cause,
        leftovers: failure.leftovers,
        rolled_back: match input.rollback {
            RollbackOutcome::Done(r) => r.removed,
            RollbackOutcome::Failed(_) => Vec::new(),
        },
    })
}

/// A Lambda error's cause is the JSON `{"errorType", "errorMessage"}`: keep the message.
pub fn readable_cause(cause: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| cause.to_string());
    if text.len() <= CAUSE_MAX {
        return text;
    }
    format!("{}…", berth_domain::naming::truncate(&text, CAUSE_MAX))
}
