//! `berth follow`: an execution, step by step as its history grows, to its end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use berth_domain::BerthError;
use serde::Serialize;
use serde_json::Value;

use crate::CliError;

/// What `follow` reads of one history event.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Started {
        at_ms: i64,
    },
    Entered {
        state: String,
        kind: String,
        at_ms: i64,
    },
    Exited {
        state: String,
        at_ms: i64,
    },
    /// A task, Lambda or state failed (it may be retried or caught).
    Failed {
        error: String,
        cause: String,
        at_ms: i64,
    },
    /// A task or Lambda was scheduled (again, after a failure: a retry) or succeeded.
    Attempt,
    Other,
}

impl Seen {
    pub fn of(e: &HistoryEvent) -> Seen {
        let at_ms = (e.timestamp().as_secs_f64() * 1000.0) as i64;
        let t = e.r#type().as_str();
        if t == "ExecutionStarted" {
            return Seen::Started { at_ms };
        }
        if let Some(d) = e.state_entered_event_details() {
            return Seen::Entered { state: d.name().to_string(), kind: t.trim_end_matches("StateEntered").to_string(), at_ms };
        }
        if let Some(d) = e.state_exited_event_details() {
            return Seen::Exited { state: d.name().to_string(), at_ms };
        }
        let failed = |error: Option<&str>, cause: Option<&str>| Seen::Failed {
            error: error.unwrap_or("unknown").to_string(),
            cause: cause.unwrap_or_default().to_string(),
            at_ms,
        };
        if let Some(d) = e.task_failed_event_details() {
            return failed(d.error(), d.cause());
        }
        if let Some(d) = e.lambda_function_failed_event_details() {
            return failed(d.error(), d.cause());
        }
        if let Some(d) = e.task_timed_out_event_details() {
            return failed(d.error(), d.cause());
        }
        if e.task_scheduled_event_details().is_some()
            || e.lambda_function_scheduled_event_details().is_some()
            || e.task_succeeded_event_details().is_some()
            || e.lambda_function_succeeded_event_details().is_some()
        {
            return Seen::Attempt;
        }
        Seen::Other
    }
}

/// A line of the follow: a step done, or a failure in one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepLine {
    pub state: String,
    /// `done` or `failed`.
    pub status: String,
    /// The step's duration (done) or the time into it (failed).
    pub ms: u64,
    /// Since the execution started.
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A cause as people read it: a Lambda's error payload (`{"errorType", "errorMessage"}`)
/// is its message.
pub fn readable_cause(cause: &str) -> String {
    match serde_json::from_str::<Value>(cause) {
        Ok(v) => v.get("errorMessage").and_then(Value::as_str).map_or_else(|| cause.to_string(), str::to_string),
        Err(_) => cause.to_string(),
    }
}

impl StepLine {
    pub fn text(&self) -> String {
        let at = format!("{:>7.1}s", self.elapsed_ms as f64 / 1000.0);
        match &self.error {
            None => format!("{at}  ok    {:<24} {:.1}s", self.state, self.ms as f64 / 1000.0),
            Some(e) => {
                let cause = self.cause.as_deref().map(|c| berth_domain::naming::truncate(c, 200)).unwrap_or_default();
                format!("{at}  FAIL  {:<24} {e}: {cause}", self.state)
            }
        }
    }
}

/// Turns history events into step lines and knows how far along the main path is.
#[derive(Debug, Default)]
pub struct Tracker {
    started_ms: Option<i64>,
    /// The task states of the main path (not reached only by a Catch).
    main: BTreeSet<String>,
    entered: BTreeMap<String, i64>,
    current: Option<String>,
    /// The current task's last attempt failed (a caught failure exits the state too).
    failing: bool,
    done: BTreeSet<String>,
    /// State transitions so far.
    pub transitions: usize,
}

impl Tracker {
    pub fn new(main_path: BTreeSet<String>) -> Self {
        Tracker { main: main_path, ..Tracker::default() }
    }

    /// The steps of the main path, the progress bar's length.
    pub fn total(&self) -> usize {
        self.main.len()
    }

    /// The main path's steps done.
    pub fn position(&self) -> usize {
        self.done.iter().filter(|s| self.main.contains(*s)).count()
    }

    /// The state being run.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    pub fn observe(&mut self, seen: Seen) -> Option<StepLine> {
        let since = |started: Option<i64>, at: i64| started.map_or(0, |s| (at - s).max(0) as u64);
        match seen {
            Seen::Started { at_ms } => {
                self.started_ms = Some(at_ms);
                None
            }
            Seen::Entered { state, kind, at_ms } => {
                self.transitions += 1;
                if kind == "Task" {
                    self.current = Some(state.clone());
                    self.failing = false;
                }
                self.entered.insert(state, at_ms);
                None
            }
            Seen::Exited { state, at_ms } => {
                let ms = self.entered.get(&state).map_or(0, |e| (at_ms - e).max(0) as u64);
                let task = self.current.as_deref() == Some(state.as_str());
                if task {
                    self.current = None;
                    if std::mem::take(&mut self.failing) {
                        // Caught: its failure was the line.
                        return None;
                    }
                }
                self.done.insert(state.clone());
                // Only task states make lines: choices and passes are bookkeeping.
                task.then(|| StepLine {
                    state,
                    status: "done".into(),
                    ms,
                    elapsed_ms: since(self.started_ms, at_ms),
                    error: None,
                    cause: None,
                })
            }
            Seen::Failed { error, cause, at_ms } => {
                self.failing = true;
                let state = self.current.clone().unwrap_or_else(|| "-".into());
                let ms = self.entered.get(&state).map_or(0, |e| (at_ms - e).max(0) as u64);
                Some(StepLine {
                    state,
                    status: "failed".into(),
                    ms,
                    elapsed_ms: since(self.started_ms, at_ms),
                    error: Some(error),
                    cause: Some(readable_cause(&cause)),
                })
            }
            Seen::Attempt => {
                self.failing = false;
                None
            }
            Seen::Other => None,
        }
    }
}

/// The task states reachable from `StartAt` without a Catch (the path of an execution that
/// succeeds), counting the tasks inside Parallel branches and Map iterators too.
pub fn main_path(definition: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(definition, &mut found);
    found
}

fn walk(machine: &Value, found: &mut BTreeSet<String>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else { return };
    let mut todo: Vec<String> = machine.get("StartAt").and_then(Value::as_str).map(str::to_string).into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(state) = states.get(&name) else { continue };
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => {
                found.insert(name.clone());
            }
            Some("Parallel") => {
                for branch in state.get("Branches").and_then(Value::as_array).into_iter().flatten() {
                    walk(branch, found);
                }
            }
            Some("Map") => {
                if let Some(inner) = state.get("ItemProcessor").or_else(|| state.get("Iterator")) {
                    walk(inner, found);
                }
            }
            _ => {}
        }
        let next = ["Next", "Default"].iter().filter_map(|k| state.get(*k).and_then(Value::as_str));
        let choices =
            state.get("Choices").and_then(Value::as_array).into_iter().flatten().filter_map(|c| c.get("Next").and_then(Value::as_str));
        todo.extend(next.chain(choices).map(str::to_string));
    }
}

/// How a followed execution ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Followed {
    pub execution_arn: String,
    pub status: String,
    pub duration_ms: u64,
    pub steps: Vec<StepLine>,
    pub transitions: usize,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Followed {
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    /// The last line: the outcome.
    pub fn text(&self) -> String {
        let secs = self.duration_ms as f64 / 1000.0;
        if self.succeeded() {
            let url = self.output.as_ref().and_then(|o| o.get("url").or_else(|| o.get("outputs").and_then(|x| x.get("url"))));
            match url.and_then(Value::as_str) {
                Some(u) => format!("SUCCEEDED in {secs:.1}s: {u}"),
                None => format!("SUCCEEDED in {secs:.1}s"),
            }
        } else {
            format!(
                "{} after {secs:.1}s: {} {}",
                self.status,
                self.error.as_deref().unwrap_or_default(),
                self.cause.as_deref().map(readable_cause).map(|c| berth_domain::naming::truncate(&c, 1000).to_string()).unwrap_or_default()
            )
        }
    }
}

/// Options of a follow.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Give up (exit 7) after this long; None: wait for the end.
    pub timeout: Option<Duration>,
    /// How often the history is read.
    pub poll: Duration,
}

fn sfn_error<E>(operation: &'static str, e: aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>) -> BerthError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if e.code() == Some("ExecutionDoesNotExist") {
        return BerthError::NotFound(format!("no execution: {}", e.message().unwrap_or("Step Functions has no such execution")));
    }
    berth_adapters::classify("states", operation, e)
}

/// Follows the execution to its end, calling `line` with each step as it ends and `tick` with
/// the tracker after each read.
pub async fn follow(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    options: FollowOptions,
    mut line: impl FnMut(&StepLine),
    mut tick: impl FnMut(&Tracker),
) -> Result<Followed, CliError> {
    let started = Instant::now();
    let d = sfn.describe_execution().execution_arn(execution_arn).send().await.map_err(|e| sfn_error("DescribeExecution", e))?;
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(d.state_machine_arn())
        .send()
        .await
        .map_err(|e| sfn_error("DescribeStateMachine", e))?;
    let definition: Value = serde_json::from_str(machine.definition()).unwrap_or(Value::Null);
    let mut tracker = Tracker::new(main_path(&definition));
    let mut steps = Vec::new();
    let mut seen = 0usize;
    loop {
        // The status first: a history read after it shows every event before the end.
        let d = sfn.describe_execution().execution_arn(execution_arn).send().await.map_err(|e| sfn_error("DescribeExecution", e))?;
        let events = berth_adapters::aws::sfn::history(sfn, execution_arn).await?;
        for e in events.iter().skip(seen) {
            if let Some(l) = tracker.observe(Seen::of(e)) {
                line(&l);
                tick(&tracker);
                steps.push(l);
            }
        }
        seen = events.len();
        tick(&tracker);
        if *d.status() != ExecutionStatus::Running {
            let duration_ms =
                d.stop_date().map_or(0, |stop| ((stop.as_secs_f64() - d.start_date().as_secs_f64()) * 1000.0).max(0.0) as u64);
            return Ok(Followed {
                execution_arn: execution_arn.to_string(),
                status: d.status().as_str().to_string(),
                duration_ms,
                steps,
                transitions: tracker.transitions,
                output: d.output().and_then(|o| serde_json::from_str(o).ok()),
                error: d.error().map(str::to_string),
                cause: d.cause().map(str::to_string),
            });
        }
        if options.timeout.is_some_and(|t| started.elapsed() > t) {
            return Err(CliError::StillRunning(format!("{execution_arn} is still running after {:?}", started.elapsed())));
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// The newest running execution of the customer on any of `machines` (each named
/// `{customer}_{key}`): one started a moment ago, before its customer's record names it.
pub async fn latest_running(sfn: &aws_sdk_sfn::Client, machines: &[String], customer: &str) -> Result<Option<String>, BerthError> {
    let prefix = format!("{customer}_");
    let mut newest: Option<(f64, String)> = None;
    for machine in machines {
        let mut token = None;
        loop {
            let out = sfn
                .list_executions()
                .state_machine_arn(machine)
                .status_filter(ExecutionStatus::Running)
                .set_next_token(token.take())
                .max_results(1000)
                .send()
                .await
                .map_err(|e| sfn_error("ListExecutions", e))?;
            for e in out.executions().iter().filter(|e| e.name().starts_with(&prefix)) {
                let at = e.start_date().as_secs_f64();
                if newest.as_ref().is_none_or(|(t, _)| at > *t) {
                    newest = Some((at, e.execution_arn().to_string()));
                }
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
    }
    Ok(newest.map(|(_, arn)| arn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_main_path_leaves_out_what_only_a_catch_reaches() {
        let definition = json!({"StartAt": "Validate", "States": {
            "Validate": {"Type": "Task", "Next": "Pick", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rollback"}]},
            "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "Dns"}], "Default": "Both"},
            "Both": {"Type": "Parallel", "Next": "Dns", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "End": true}}}]},
            "Dns": {"Type": "Task", "Next": "Done"},
            "Done": {"Type": "Succeed"},
            "Rollback": {"Type": "Task", "Next": "Failed"},
            "Failed": {"Type": "Fail"}}});
        let path: Vec<String> = main_path(&definition).into_iter().collect();
        assert_eq!(path, ["A", "B", "Dns", "Validate"]);
    }

    #[test]
    fn the_committed_machines_have_main_paths() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines");
        let text = std::fs::read_to_string(root.join("onboard.asl.json")).expect("the onboarding machine");
        let definition: Value = serde_json::from_str(&text).expect("JSON");
        let path = main_path(&definition);
        assert!(path.len() >= 5 && !path.iter().any(|s| s.contains("Rollback")), "{path:?}");
    }

    fn entered(state: &str, at_ms: i64) -> Seen {
        Seen::Entered { state: state.into(), kind: "Task".into(), at_ms }
    }

    #[test]
    fn a_retried_step_that_succeeds_is_done() {
        let mut t = Tracker::new(["Allocate"].into_iter().map(String::from).collect());
        let lines: Vec<StepLine> = [
            entered("Allocate", 0),
            Seen::Attempt,
            Seen::Failed { error: "Berth.Transient".into(), cause: "throttled".into(), at_ms: 100 },
            Seen::Attempt,
            Seen::Attempt,
            Seen::Exited { state: "Allocate".into(), at_ms: 400 },
        ]
        .into_iter()
        .filter_map(|s| t.observe(s))
        .collect();
        let statuses: Vec<&str> = lines.iter().map(|l| l.status.as_str()).collect();
        assert_eq!(statuses, ["failed", "done"]);
        assert_eq!((lines[1].ms, t.position()), (400, 1));
    }

    #[test]
    fn steps_are_timed_and_failures_named() {
        let mut t = Tracker::new(["Validate", "Resources"].into_iter().map(String::from).collect());
        assert_eq!(t.total(), 2);
        let mut lines = Vec::new();
        for seen in [
            Seen::Started { at_ms: 1000 },
            entered("Validate", 1000),
            Seen::Exited { state: "Validate".into(), at_ms: 1250 },
            entered("Resources", 1300),
            Seen::Failed {
                error: "Berth.Internal".into(),
                cause: r#"{"errorType":"Berth.Internal","errorMessage":"ECS refused"}"#.into(),
                at_ms: 1800,
            },
            Seen::Exited { state: "Resources".into(), at_ms: 1850 },
            entered("Rollback", 1900),
            Seen::Exited { state: "Rollback".into(), at_ms: 2000 },
        ] {
            lines.extend(t.observe(seen));
        }
        let summary: Vec<(String, String, u64, u64)> =
            lines.iter().map(|l| (l.state.clone(), l.status.clone(), l.ms, l.elapsed_ms)).collect();
        assert_eq!(
            summary,
            [
                ("Validate".into(), "done".into(), 250, 250),
                ("Resources".into(), "failed".into(), 500, 800),
                ("Rollback".into(), "done".into(), 100, 1000)
            ]
        );
        assert_eq!(lines[1].error.as_deref(), Some("Berth.Internal"));
        assert_eq!((t.position(), t.transitions), (1, 3), "a caught step is not done");
        assert!(
            lines[1].text().contains("FAIL  Resources") && lines[1].text().contains("Berth.Internal: ECS refused"),
            "{}",
            lines[1].text()
        );
    }
}
