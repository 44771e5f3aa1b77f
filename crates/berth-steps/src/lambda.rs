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

use berth_adapters::aws::{sdk_config, Aws};
use berth_adapters::config::{EventTarget, FromEnv, ProgressConfig};
use berth_adapters::ports::{Events, Ports};
use berth_domain::catalog::Catalog;
use berth_domain::{events, input, naming};
use berth_domain::{BerthError, ErrorKind};
use futures_util::FutureExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tracing::Instrument;

use crate::io::StepInput;
use crate::pipeline::Step;

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

/// What a step runs with: its function's configuration, read once at start, and the ports,
/// built once. `P` is [`Aws`] in a Lambda and the in-memory fakes in the tests.
pub struct Context<C, P> {
    pub config: C,
    pub ports: P,
    pub catalog: Catalog,
    /// Where the step puts its progress events (none when the deployment names no bus).
    pub progress: Option<EventTarget>,
}

impl<C, P> Context<C, P> {
    pub fn new(config: C, ports: P) -> Self {
        Context { config, ports, catalog: Catalog::builtin(), progress: None }
    }

    pub fn with_progress(mut self, progress: Option<EventTarget>) -> Self {
        self.progress = progress;
        self
    }
}

/// A berth Lambda: logging, its configuration, the SDK clients (each request's User-Agent
/// names the function), then the runtime serving `step` on every event. A function's `main`
/// is this one call.
pub async fn serve<C, I, O, F, Fut>(function: &'static Step, step: F) -> Result<(), lambda_runtime::Error>
where
    C: FromEnv,
    I: StepInput,
    O: Serialize,
    F: Fn(&'static Context<C, Aws>, I) -> Fut + Copy,
    Fut: Future<Output = Result<O, BerthError>>,
{
    berth_adapters::telemetry::init();
    let config = C::from_env()?;
    let progress = ProgressConfig::from_env()?.0;
    let sdk = sdk_config(&function.binary()).await;
    let ports = Aws::new(&sdk, config.table());
    let cx: &'static Context<C, Aws> = Box::leak(Box::new(Context::new(config, ports).with_progress(progress)));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: Event| async move { handle_reporting(function.name, cx, event, step).await },
    ))
    .await
}

/// [`serve`] for a step that calls no AWS API (validate): no SDK is loaded or linked.
pub async fn serve_pure<C, I, O, F, Fut>(function: &'static Step, step: F) -> Result<(), lambda_runtime::Error>
where
    C: FromEnv,
    I: StepInput,
    O: Serialize,
    F: Fn(&'static Context<C, ()>, I) -> Fut + Copy,
    Fut: Future<Output = Result<O, BerthError>>,
{
    berth_adapters::telemetry::init();
    run(function, Context::new(C::from_env()?, ()), step).await
}

async fn run<C, P, I, O, F, Fut>(function: &'static Step, cx: Context<C, P>, step: F) -> Result<(), lambda_runtime::Error>
where
    C: Send + Sync + 'static,
    P: Send + Sync + 'static,
    I: StepInput,
    O: Serialize,
    F: Fn(&'static Context<C, P>, I) -> Fut + Copy,
    Fut: Future<Output = Result<O, BerthError>>,
{
    // One context for the life of the process, which every invocation borrows.
    let cx: &'static Context<C, P> = Box::leak(Box::new(cx));
    lambda_runtime::run(lambda_runtime::service_fn(move |event: Event| async move { handle(function.name, cx, event, step).await })).await
}

/// Runs one step for one event.
pub async fn handle<'a, C, P, I, O, F, Fut>(step: &'static str, cx: &'a Context<C, P>, event: Event, f: F) -> Result<O, StepError>
where
    I: StepInput,
    F: FnOnce(&'a Context<C, P>, I) -> Fut,
    Fut: Future<Output = Result<O, BerthError>>,
{
    run_step(step, cx, event, f).await.0
}

/// [`handle`], then the step's progress event on berth's bus (when the deployment names
/// one, and the input names its customer and execution): the step, how it ended, its
/// duration and the time since the execution started. A progress event that cannot be put
/// is logged and does not fail the step (the execution's outcome event is the one that
/// must arrive).
pub async fn handle_reporting<'a, C, P, I, O, F, Fut>(step: &'static str, cx: &'a Context<C, P>, event: Event, f: F) -> Result<O, StepError>
where
    P: Ports,
    I: StepInput,
    F: FnOnce(&'a Context<C, P>, I) -> Fut,
    Fut: Future<Output = Result<O, BerthError>>,
{
    let began = std::time::Instant::now();
    let (outcome, seen) = run_step(step, cx, event, f).await;
    let (Some(target), Some(seen)) = (&cx.progress, seen.filter(|s| !s.customer.is_empty() && !s.execution.is_empty())) else {
        return outcome;
    };
    let error = outcome.as_ref().err().map(|e| e.0.kind());
    let elapsed_ms = seen.started_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| {
        let since = chrono::Utc::now().signed_duration_since(t.with_timezone(&chrono::Utc));
        since.num_milliseconds().max(0)
    });
    let detail = serde_json::json!({
        "version": events::VERSION,
        "customer_id": seen.customer,
        "execution": seen.execution,
        "step": step,
        "status": if error.is_none() { "succeeded" } else { "failed" },
        "error": error.map(|k| k.name()),
        "retryable": error.is_some_and(|k| k.is_transient()),
        "step_ms": began.elapsed().as_millis() as u64,
        "elapsed_ms": elapsed_ms,
    });
    if let Err(e) = cx.ports.events().put(&target.bus, &target.source, events::PROGRESS, &detail).await {
        tracing::warn!(step, customer = %seen.customer, execution = %seen.execution, error = %e, "progress event not put");
    }
    outcome
}

/// What a step's input said of itself: its customer and execution, and when the execution
/// started (every Task's `started_at`).
struct Seen {
    customer: String,
    execution: String,
    started_at: Option<String>,
}

async fn run_step<'a, C, P, I, O, F, Fut>(
    step: &'static str,
    cx: &'a Context<C, P>,
    event: Event,
    f: F,
) -> (Result<O, StepError>, Option<Seen>)
where
    I: StepInput,
    F: FnOnce(&'a Context<C, P>, I) -> Fut,
    Fut: Future<Output = Result<O, BerthError>>,
{
    let value = input::parse_text(event.payload.get());
    let started_at =
        value.as_ref().ok().and_then(|v| v.get("started_at")).and_then(Value::as_str).map(|t| naming::truncate(t, 40).to_string());
    let input: Result<I, BerthError> = value.and_then(|v| parse(&v));
    let (customer, execution) = match &input {
        Ok(i) => (naming::truncate(i.customer(), 80).to_string(), naming::truncate(i.execution(), 120).to_string()),
        Err(_) => (String::new(), String::new()),
    };
    let seen = input.is_ok().then(|| Seen { customer: customer.clone(), execution: execution.clone(), started_at });
    let span = tracing::info_span!("step", step, customer = %customer, execution = %execution, request_id = %event.context.request_id);
    let run = async move { f(cx, input?).await };
    let outcome = AssertUnwindSafe(run).catch_unwind().instrument(span.clone()).await.unwrap_or_else(|_| {
        // The panic's message went to stderr through the panic hook; the caller gets a name
        // from the vocabulary, not a Rust type name.
        Err(BerthError::Internal(format!("the {step} step panicked: this is a bug in berth")))
    });
    let _entered = span.enter();
    let outcome = match outcome {
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
    };
    (outcome, seen)
}

/// An event as the runtime would hand it to a berth Lambda, for invoking a handler in
/// process (tests, benchmarks): `payload` is the raw JSON text.
pub fn event(payload: &str) -> Result<Event, BerthError> {
    let raw = RawValue::from_string(payload.to_string())
        .map_err(|e| BerthError::invalid("input", format!("not JSON: {}", input::quiet(&e.to_string()))))?;
    Ok(LambdaEvent::new(raw, lambda_runtime::Context::default()))
}
