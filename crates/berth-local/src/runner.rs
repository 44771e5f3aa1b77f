//! Starts an execution and follows it state by state, from the execution history.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use serde::{Deserialize, Serialize};

use crate::router::{self, Stats};
use crate::stack::Stack;
use crate::{Result, LAMBDA_ACCESS_KEY};

/// The Step Functions executor inside moto invokes Lambda with this access key.
pub const STATE_MACHINE_CALLER: &str = "ak";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTiming {
    pub state: String,
    pub ms: u64,
}

/// What one execution did, as observed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub execution_arn: String,
    pub status: String,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// From the execution's own start and stop dates.
    pub execution_ms: u64,
    /// From StartExecution to the observed end.
    pub wall_ms: u64,
    /// States entered (what Standard workflows bill for).
    pub transitions: usize,
    pub steps: Vec<StepTiming>,
    /// AWS API calls the Lambdas made, by "service:Operation".
    pub api_calls: BTreeMap<String, u64>,
    /// The same calls by calling function (the SDK's app name).
    #[serde(default)]
    pub api_calls_by_function: BTreeMap<String, BTreeMap<String, u64>>,
    /// Lambda invocations the state machine made, by function.
    pub invocations: BTreeMap<String, u64>,
}

impl Report {
    pub fn api_total(&self) -> u64 {
        self.api_calls.values().sum()
    }
}

fn entered_name(e: &HistoryEvent) -> Option<String> {
    e.state_entered_event_details().map(|d| d.name().to_string())
}

fn exited_name(e: &HistoryEvent) -> Option<String> {
    e.state_exited_event_details().map(|d| d.name().to_string())
}

pub fn is_entered(t: &HistoryEventType) -> bool {
    t.as_str().ends_with("StateEntered")
}

/// Starts an execution of `state_machine_arn` and waits for its end (polling its status;
/// the history is read once, at the end).
pub async fn run(
    stack: &Stack,
    state_machine_arn: &str,
    input: &serde_json::Value,
    name: Option<&str>,
    timeout: Duration,
) -> Result<Report> {
    start_and_follow(stack, state_machine_arn, input, name, timeout, None).await
}

/// As [`run`], calling `progress` with each state as it finishes (the history is read at
/// each poll while it runs).
pub async fn run_live(
    stack: &Stack,
    state_machine_arn: &str,
    input: &serde_json::Value,
    name: Option<&str>,
    timeout: Duration,
    progress: &mut (dyn FnMut(&StepTiming) + Send),
) -> Result<Report> {
    start_and_follow(stack, state_machine_arn, input, name, timeout, Some(progress)).await
}

async fn start_and_follow(
    stack: &Stack,
    state_machine_arn: &str,
    input: &serde_json::Value,
    name: Option<&str>,
    timeout: Duration,
    progress: Option<&mut (dyn FnMut(&StepTiming) + Send)>,
) -> Result<Report> {
    let sdk = crate::observer_config(&stack.endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let before: Stats = router::stats(&stack.endpoint).await?;
    let started = Instant::now();
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let customer = input.get("customer_id").and_then(|v| v.as_str()).unwrap_or("run");
            let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            format!("{}-{millis}", customer.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(60).collect::<String>())
        }
    };
    let req = sfn.start_execution().state_machine_arn(state_machine_arn).input(input.to_string()).name(name);
    let arn = req.send().await?.execution_arn().to_string();
    follow_from(stack, &sfn, arn, before, started, timeout, progress).await
}

/// Follows an execution that is already running (started by intake, say) to its end.
pub async fn follow(stack: &Stack, execution_arn: &str, timeout: Duration) -> Result<Report> {
    let sdk = crate::observer_config(&stack.endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let before: Stats = router::stats(&stack.endpoint).await?;
    follow_from(stack, &sfn, execution_arn.to_string(), before, Instant::now(), timeout, None).await
}

async fn follow_from(
    stack: &Stack,
    sfn: &aws_sdk_sfn::Client,
    arn: String,
    before: Stats,
    started: Instant,
    timeout: Duration,
    mut progress: Option<&mut (dyn FnMut(&StepTiming) + Send)>,
) -> Result<Report> {
    let mut seen = 0usize;
    let mut entered_at: BTreeMap<String, i64> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut transitions = 0usize;
    loop {
        let d = sfn.describe_execution().execution_arn(&arn).send().await?;
        // Without a live watcher the history is read once, at the end: many executions
        // followed at once would otherwise read their whole histories several times a second.
        let running = *d.status() == ExecutionStatus::Running;
        if running && progress.is_none() {
            if started.elapsed() > timeout {
                return Err(format!("execution {arn} still running after {timeout:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            continue;
        }
        let events = history(sfn, &arn).await?;
        for e in events.iter().skip(seen) {
            let t = e.timestamp().as_secs_f64();
            if is_entered(e.r#type()) {
                transitions += 1;
                if let Some(n) = entered_name(e) {
                    entered_at.insert(n, (t * 1000.0) as i64);
                }
            } else if let Some(n) = exited_name(e) {
                let ms = entered_at.get(&n).map_or(0, |s| ((t * 1000.0) as i64 - s).max(0) as u64);
                let step = StepTiming { state: n, ms };
                if let Some(p) = progress.as_mut() {
                    p(&step);
                }
                steps.push(step);
            }
        }
        seen = events.len();
        if *d.status() != ExecutionStatus::Running {
            let after: Stats = router::stats(&stack.endpoint).await?;
            let execution_ms = match (d.start_date(), d.stop_date()) {
                (start, Some(stop)) => ((stop.as_secs_f64() - start.as_secs_f64()) * 1000.0).max(0.0) as u64,
                _ => 0,
            };
            let invocations = after
                .since(&before, STATE_MACHINE_CALLER)
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix("lambda:Invoke:").map(|f| (f.to_string(), v)))
                .collect();
            return Ok(Report {
                execution_arn: arn,
                status: d.status().as_str().to_string(),
                output: d.output().and_then(|o| serde_json::from_str(o).ok()),
                error: d.error().map(str::to_string),
                cause: d.cause().map(str::to_string),
                execution_ms,
                wall_ms: started.elapsed().as_millis() as u64,
                transitions,
                steps,
                api_calls: after.since(&before, LAMBDA_ACCESS_KEY),
                api_calls_by_function: after
                    .functions
                    .keys()
                    .map(|f| (f.clone(), after.since_function(&before, f)))
                    .filter(|(_, calls)| !calls.is_empty())
                    .collect(),
                invocations,
            });
        }
        if started.elapsed() > timeout {
            return Err(format!("execution {arn} still running after {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The whole history of an execution, oldest first.
pub async fn history(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<Vec<HistoryEvent>> {
    Ok(berth_adapters::aws::sfn::history(sfn, arn).await?)
}
