//! Adapts the steps to Lambda: takes the event as raw JSON text, bounds its size and depth,
//! parses it into the step's typed input (an error names the field), runs the step in a span
//! carrying the customer and execution, logs the outcome, and maps berth's errors to a
//! `Diagnostic` whose `error_type` is the vocabulary name the state machines match.
//!
//! Nothing the caller sends can make a berth Lambda answer with a name outside the
//! vocabulary: the runtime only has to read the payload as JSON text (which never fails on
//! depth), every parse and check is berth's, and a panic, were one left, is caught and
//! reported as `Berth.Internal`.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use berth_domain::input;
use berth_domain::{BerthError, ErrorKind};
use futures_util::FutureExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;
use tracing::Instrument;

/// The event every berth Lambda takes: the payload as JSON text, parsed by berth.
pub type Event = LambdaEvent<Box<RawValue>>;

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
pub fn parse<T: DeserializeOwned>(payload: &Value) -> Result<T, BerthError> {
    input::parse(payload, "")
}

/// A string at `path` for the log span, cut short: a log line never carries a megabyte.
fn field(v: &Value, path: &[&str]) -> String {
    let s = path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).unwrap_or("");
    berth_domain::naming::truncate(s, 80).to_string()
}

/// Runs one step for one event.
pub async fn handle<T, R, F, Fut>(step: &'static str, event: Event, f: F) -> Result<R, StepError>
where
    T: DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = Result<R, BerthError>>,
{
    let payload = input::parse_text(event.payload.get());
    let (customer, execution) = match &payload {
        Ok(v) => (
            Some(field(v, &["plan", "customer_id"])).filter(|c| !c.is_empty()).unwrap_or_else(|| field(v, &["request", "customer_id"])),
            Some(field(v, &["plan", "execution_id"])).filter(|e| !e.is_empty()).unwrap_or_else(|| field(v, &["execution_id"])),
        ),
        Err(_) => (String::new(), String::new()),
    };
    let span = tracing::info_span!("step", step, customer = %customer, execution = %execution, request_id = %event.context.request_id);
    let run = async move {
        let input: T = parse(&payload?)?;
        f(input).await
    };
    let outcome = AssertUnwindSafe(run).catch_unwind().instrument(span.clone()).await.unwrap_or_else(|_| {
        // The panic's message went to stderr through the panic hook; the caller gets a name
        // from the vocabulary, not a Rust type name.
        Err(BerthError::Internal(format!("the {step} step panicked: this is a bug in berth")))
    });
    let _entered = span.enter();
    match outcome {
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

/// An event as the runtime would hand it to a berth Lambda, for invoking a handler in
/// process (tests, benchmarks): `payload` is the raw JSON text.
pub fn event(payload: &str) -> Result<Event, BerthError> {
    let raw = RawValue::from_string(payload.to_string())
        .map_err(|e| BerthError::invalid("input", format!("not JSON: {}", input::quiet(&e.to_string()))))?;
    Ok(LambdaEvent::new(raw, lambda_runtime::Context::default()))
}
