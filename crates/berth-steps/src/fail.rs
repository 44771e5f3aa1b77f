//! After a failure that is not transient: the customer becomes FAILED with the error name
//! and cause, if this execution owns it. A customer another execution owns is left alone.

use berth_adapters::ports::Customers;
use berth_domain::BerthError;

use crate::io::{FailOutput, State};

/// Causes are kept short in the record: enough to act on, never a payload dump.
pub const CAUSE_MAX: usize = 2000;

pub async fn run<C: Customers>(customers: &C, state: &State) -> Result<FailOutput, BerthError> {
    let plan = state.plan()?;
    let caught = state.error.clone().ok_or_else(|| BerthError::invalid("error", "missing: the Catch puts the error at $.error"))?;
    let cause = readable_cause(&caught.cause);
    let marked = customers.mark_failed(&plan.customer_id, &plan.execution_id, &caught.error, &cause).await?.is_some();
    tracing::warn!(customer = %plan.customer_id, execution = %plan.execution_id, error = %caught.error, marked, "provisioning failed");
    Ok(FailOutput { customer_id: plan.customer_id.clone(), marked, error: caught.error, cause })
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
    let mut end = CAUSE_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
