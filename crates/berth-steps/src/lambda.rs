//! Adapts the steps to Lambda: parses the event into the step's typed input, runs it in a
//! span carrying the customer and execution, logs the outcome, and maps berth's errors to
//! a `Diagnostic` whose `error_type` is the vocabulary name the state machines match.

use std::future::Future;

use berth_domain::{BerthError, ErrorKind};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

/// berth's error as a Lambda handler error.
#[derive(Debug)]
pub struct StepError(pub BerthError);

impl From<BerthError> for StepError {
    fn from(e: BerthError) -> Self {
        StepError(e)
    }
}

impl From<StepError> for Diagnostic {
    fn from(e: StepError) -> Diagnostic {
        Diagnostic { error_type: e.0.kind().name().to_string(), error_message: e.0.to_string() }
    }
}

/// Parses a step input; a shape error is `Berth.InvalidRequest` naming the field.
pub fn parse<T: DeserializeOwned>(payload: Value) -> Result<T, BerthError> {
    serde_json::from_value(payload).map_err(|e| BerthError::invalid("input", format!("not the shape this step takes: {e}")))
}

fn field<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).unwrap_or("")
}

/// Runs one step for one event.
pub async fn handle<T, R, F, Fut>(step: &'static str, event: LambdaEvent<Value>, f: F) -> Result<R, StepError>
where
    T: DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = Result<R, BerthError>>,
{
    let payload = event.payload;
    let customer = match field(&payload, &["plan", "customer_id"]) {
        "" => field(&payload, &["request", "customer_id"]).to_string(),
        c => c.to_string(),
    };
    let execution = match field(&payload, &["plan", "execution_id"]) {
        "" => field(&payload, &["execution_id"]).to_string(),
        e => e.to_string(),
    };
    let span = tracing::info_span!("step", step, customer = %customer, execution = %execution, request_id = %event.context.request_id);
    async move {
        let input: T = parse(payload)?;
        match f(input).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let source = std::error::Error::source(&e).map(|s| format!("{s:?}"));
                if e.kind().is_transient() {
                    tracing::warn!(error_type = e.kind().name(), error = %e, source, "step failed, retryable");
                } else if matches!(e.kind(), ErrorKind::InvalidRequest | ErrorKind::Conflict) {
                    // The caller's request or another owner: not a fault of berth's.
                    tracing::warn!(error_type = e.kind().name(), error = %e, source, "step refused");
                } else {
                    tracing::error!(error_type = e.kind().name(), error = %e, source, "step failed");
                }
                Err(StepError(e))
            }
        }
    }
    .instrument(span)
    .await
}
