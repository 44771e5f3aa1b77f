//! The step table and the state machines built from it.
//!
//! Each step is named once, here. From its name come its Lambda binary (`berth-<name>`), its
//! state (`<Name>`), the template's substitution key for its ARN (`<Name>FunctionArn`) and
//! where a machine keeps its result (`$.<name>`; validate's result is the plan, at
//! `$.plan`). The table also says how a step is retried and which deployment variables its
//! function reads. The files in `statemachines/` are written from [`machines`]: a test
//! fails when a committed file differs, and `BERTH_WRITE_ASL=1` rewrites them.
//!
//! Adding a step is one entry here, its code, and its place in a machine.

use berth_adapters::config::{
    ClusterConfig, DnsConfig, Env, FromEnv, InfraConfig, IntakeConfig, NoConfig, RegisterConfig, SbtConfig, ScaleConfig, TableConfig,
    TeardownConfig,
};
use berth_domain::events;
use berth_domain::lifecycle::Operation;
use berth_domain::validate::Settings;
use berth_domain::{BerthError, ErrorKind};
use serde_json::{json, Map, Value};

/// How a step's Task retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient errors a few times, backing off to 20 s.
    Standard,
    /// Transient errors more times and longer (the rollback must converge).
    Patient,
}

/// One step: a Lambda of its own.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub name: &'static str,
    /// What it does: the template function's description and the state's comment.
    pub summary: &'static str,
    pub retry: Retry,
    /// The deployment variables its configuration reads.
    pub vars: &'static [&'static str],
    /// Reads its configuration (a test reads it from the template's variables).
    pub read_config: fn(&Env) -> Result<(), BerthError>,
}

fn read<C: FromEnv>(env: &Env) -> Result<(), BerthError> {
    C::read(env).map(|_| ())
}

impl Step {
    pub fn binary(&self) -> String {
        format!("berth-{}", self.name)
    }
    /// The state's name in a machine.
    pub fn state(&self) -> String {
        let mut chars = self.name.chars();
        chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
    }
    /// The `DefinitionSubstitutions` key of its function's ARN.
    pub fn substitution(&self) -> String {
        format!("{}FunctionArn", self.state())
    }
    /// The template's logical id of its function.
    pub fn function_id(&self) -> String {
        format!("{}Function", self.state())
    }
    /// Every deployment variable its function reads: its configuration's and
    /// [`PROGRESS_VARS`].
    pub fn env_vars(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.vars.iter().chain(PROGRESS_VARS.iter()).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    /// Where a machine keeps its result.
    pub fn result_path(&self) -> String {
        format!("$.{}", self.result_key())
    }
    pub fn result_key(&self) -> &'static str {
        if self.name == VALIDATE.name {
            "plan"
        } else {
            self.name
        }
    }
}

pub const VALIDATE: Step = Step {
    name: "validate",
    summary: "Check the request and build the plan. A bad request ends the execution with Berth.InvalidRequest before anything is recorded or created.",
    retry: Retry::Standard,
    vars: Settings::VARS,
    read_config: read::<Settings>,
};
pub const REGISTER: Step = Step {
    name: "register",
    summary: "Customer record PROVISIONING and host claim, in one conditional transaction, once the host is free of DNS records berth does not own.",
    retry: Retry::Standard,
    vars: RegisterConfig::VARS,
    read_config: read::<RegisterConfig>,
};
pub const ALLOCATE: Step = Step {
    name: "allocate",
    summary: "Place the customer on an ALB of the pool and take its listener-rule priorities there, atomically in DynamoDB.",
    retry: Retry::Standard,
    vars: TableConfig::VARS,
    read_config: read::<TableConfig>,
};
pub const RESOURCES: Step = Step {
    name: "resources",
    summary: "Log groups, target groups, the customer's own certificates on the listener, listener rules, task definitions, services and their scalers: each reconciled.",
    retry: Retry::Standard,
    vars: InfraConfig::VARS,
    read_config: read::<InfraConfig>,
};
pub const CHECK: Step = Step {
    name: "check",
    summary: "Are the services stable and their targets healthy? Berth.Timeout after the plan's attempts.",
    retry: Retry::Standard,
    vars: ClusterConfig::VARS,
    read_config: read::<ClusterConfig>,
};
pub const DNS: Step = Step {
    name: "dns",
    summary: "Alias A and AAAA records for each of the customer's hosts, to the ALB; for its own domain too when the domain's zone is in the account (otherwise the outputs say which record to create).",
    retry: Retry::Standard,
    vars: DnsConfig::VARS,
    read_config: read::<DnsConfig>,
};
pub const ACTIVATE: Step = Step {
    name: "activate",
    summary: "The customer becomes ACTIVE; its outputs are the execution output.",
    retry: Retry::Standard,
    vars: TableConfig::VARS,
    read_config: read::<TableConfig>,
};
pub const ROLLBACK: Step = Step {
    name: "rollback",
    summary: "Remove, in reverse order, what berth made for the customer (from the resource ledger and the plan's names): DNS records, services (scaled to 0, then deleted), task definitions, listener rules, target groups, log groups (an offboarding may keep them); then give back the priorities and the host. Never touches what is not berth's for the customer by its tags (reported), nor a customer another execution owns. Idempotent: retried on transient errors.",
    retry: Retry::Patient,
    vars: TeardownConfig::VARS,
    read_config: read::<TeardownConfig>,
};
pub const FAIL: Step = Step {
    name: "fail",
    summary: "Record FAILED with the error name and cause, or ROLLBACK_FAILED with what is left, on the customer this execution owns.",
    retry: Retry::Standard,
    vars: TableConfig::VARS,
    read_config: read::<TableConfig>,
};
pub const CLAIM: Step = Step {
    name: "claim",
    summary: "Check the request and take the customer for this execution, from a state the operation may start from, in one conditional write: Berth.Conflict naming the execution that holds it, or the state it is in; nothing changed. An update also reads where the customer is placed and what its services run now, and takes nothing when the desired spec is the current one.",
    retry: Retry::Standard,
    vars: ScaleConfig::VARS,
    read_config: read::<ScaleConfig>,
};
pub const RESHAPE: Step = Step {
    name: "reshape",
    summary: "For an update that adds or removes products: the customer takes the priorities its new rules need and its rules are re-ordered (most specific first, the catch-all last); or the removed services' resources are removed (the teardown code, the host's DNS kept) and their priorities given back. On the customer this execution holds; idempotent.",
    retry: Retry::Patient,
    vars: TeardownConfig::VARS,
    read_config: read::<TeardownConfig>,
};
pub const SCALE: Step = Step {
    name: "scale",
    summary: "Every service of the customer to 0 tasks, each one's count remembered first; or back to the remembered counts; or back to the revisions and counts before an update. DNS, rules and target groups stay.",
    retry: Retry::Standard,
    vars: ScaleConfig::VARS,
    read_config: read::<ScaleConfig>,
};
pub const SETTLE: Step = Step {
    name: "settle",
    summary: "The customer's state and its history entry, together: ACTIVE (an update's spec now the last good one), SUSPENDED or DELETED (a tombstone with the history); after a failure ACTIVE when everything was put back, otherwise DEGRADED with what is left.",
    retry: Retry::Standard,
    vars: TableConfig::VARS,
    read_config: read::<TableConfig>,
};
pub const WAVES: Step = Step {
    name: "waves",
    summary: "Check a rollout request, choose its customers (every ACTIVE customer of the product, or the listed ones; those already on the tag or not in a state an update starts from are skipped, with the reason) and cut them into waves, the canary first.",
    retry: Retry::Standard,
    vars: TableConfig::VARS,
    read_config: read::<TableConfig>,
};
pub const GATE: Step = Step {
    name: "gate",
    summary: "Tally how each update of the wave ended and decide: the next wave, or stop when the wave's failures pass the threshold (the customers not reached are listed, untouched).",
    retry: Retry::Standard,
    vars: NoConfig::VARS,
    read_config: read::<NoConfig>,
};
/// Not a state: the portal's entry point, which starts the onboarding machine.
pub const INTAKE: Step = Step {
    name: "intake",
    summary: "Validate an onboarding request and start its execution, once per idempotency key.",
    retry: Retry::Standard,
    vars: IntakeConfig::VARS,
    read_config: read::<IntakeConfig>,
};

/// Not a state: answers SBT's control plane on its bus (deployed when berth is an SBT
/// application plane).
pub const SBT: Step = Step {
    name: "sbt",
    summary: "Answer SBT's control plane: each outcome or rejection of an SBT tenant's request as SBT's provision, deprovision, activate or deactivate success or failure, on SBT's bus.",
    retry: Retry::Standard,
    vars: SbtConfig::VARS,
    read_config: read::<SbtConfig>,
};

/// Not a state: the HTTP API (the intake's checks and start, and the customers' records).
pub const API: Step = Step {
    name: "api",
    summary: "The portal's HTTP API: start onboardings, updates, suspends, resumes and offboardings (202 with the execution), show and list customers; errors as problem+json.",
    retry: Retry::Standard,
    vars: IntakeConfig::VARS,
    read_config: read::<IntakeConfig>,
};

/// Every berth Lambda: the onboarding's, in its order, then the lifecycle machines' own,
/// then the ways in and out (intake, SBT answers, HTTP API).
pub const STEPS: [Step; 18] = [
    VALIDATE, REGISTER, ALLOCATE, RESOURCES, CHECK, DNS, ACTIVATE, ROLLBACK, FAIL, CLAIM, RESHAPE, SCALE, SETTLE, WAVES, GATE, INTAKE, SBT,
    API,
];

pub fn step(name: &str) -> Option<&'static Step> {
    STEPS.iter().find(|s| s.name == name)
}

/// What a Lambda that died mid-step reports: every step converges when it runs again.
pub const LAMBDA_CRASH: [&str; 3] = ["Runtime.ExitError", "Sandbox.Timedout", "Lambda.Unknown"];
/// The Lambda service's own transient refusals.
pub const LAMBDA_TRANSIENT: [&str; 4] =
    ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"];

fn retrier(errors: Value, interval: u32, attempts: u32, max_delay: u32) -> Value {
    json!({
        "ErrorEquals": errors,
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": max_delay,
        "JitterStrategy": "FULL"
    })
}

fn retry(policy: Retry) -> Value {
    let transient = match policy {
        Retry::Standard => retrier(json!([ErrorKind::Transient.name()]), 1, 6, 20),
        Retry::Patient => retrier(json!([ErrorKind::Transient.name()]), 2, 8, 60),
    };
    json!([transient, retrier(json!(LAMBDA_TRANSIENT), 1, 4, 20), retrier(json!(LAMBDA_CRASH), 1, 2, 10)])
}

/// A state machine: its name, its file, and its states in the order they run.
pub struct Machine {
    pub name: &'static str,
    pub file: &'static str,
    pub comment: String,
    pub states: Vec<(String, Value)>,
}

impl Machine {
    pub fn definition(&self) -> Value {
        let states: Map<String, Value> = self.states.iter().cloned().collect();
        json!({ "Comment": self.comment, "StartAt": self.states.first().map(|(n, _)| n.clone()), "States": states })
    }

    /// The Task states and the step each runs, those of a Map's iterations included.
    pub fn tasks(&self) -> Vec<(&str, &'static Step)> {
        fn walk<'a>(states: Vec<(&'a str, &'a Value)>, out: &mut Vec<(&'a str, &'static Step)>) {
            for (n, s) in states {
                if let Some(inner) = s.get("ItemProcessor").and_then(|p| p.get("States")).and_then(Value::as_object) {
                    walk(inner.iter().map(|(k, v)| (k.as_str(), v)).collect(), out);
                }
                let Some(resource) = s.get("Resource").and_then(Value::as_str) else { continue };
                if let Some(step) = STEPS.iter().find(|st| resource == format!("${{{}}}", st.substitution())) {
                    out.push((n, step));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.states.iter().map(|(n, s)| (n.as_str(), s)).collect(), &mut out);
        out
    }

    /// The file's text: states in the order they run, keys in ASL's usual order, and every
    /// object or list short enough on one line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let order: Vec<&str> = self.states.iter().map(|(n, _)| n.as_str()).collect();
        render(&self.definition(), 0, &order, &mut out);
        out.push('\n');
        out
    }
}

/// A Task that runs `step` with `parameters` and keeps its result at its result path.
/// Every step's input also carries when its execution started (`started_at`), from which
/// its progress event tells the time elapsed.
fn task(step: &Step, mut parameters: Value) -> Map<String, Value> {
    let mut t = Map::new();
    t.insert("Type".into(), json!("Task"));
    t.insert("Comment".into(), json!(step.summary));
    t.insert("Resource".into(), json!(format!("${{{}}}", step.substitution())));
    parameters[STARTED_AT] = json!(EXECUTION_START);
    t.insert("Parameters".into(), parameters);
    t.insert("ResultPath".into(), json!(step.result_path()));
    t.insert("Retry".into(), retry(step.retry));
    t
}

fn then(mut t: Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(m) = extra {
        t.extend(m);
    }
    Value::Object(t)
}

/// The key of every step input that says when its execution started, and where it comes from.
pub const STARTED_AT: &str = "started_at.$";
pub const EXECUTION_START: &str = "$$.Execution.StartTime";

/// The variables every step function reads besides its configuration: where it puts its
/// progress events (the template's Globals).
pub use berth_adapters::config::PROGRESS_VARS;

/// The Step Functions integration that puts events on a bus.
pub const PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";
/// The `DefinitionSubstitutions` keys of the bus berth's events go to and their `source`.
pub const EVENT_BUS_SUBSTITUTION: &str = "EventBusName";
pub const EVENT_SOURCE_SUBSTITUTION: &str = "EventSource";

/// An outcome event's detail: what every one carries (the version, the operation, how it
/// ended, the execution), then `fields`, paths into the state.
fn detail(op: Option<Operation>, succeeded: bool, fields: Value) -> Value {
    let mut d = json!({
        "version": events::VERSION,
        "operation": events::operation(op),
        "outcome": if succeeded { "succeeded" } else { "failed" },
        "execution.$": "$$.Execution.Id"
    });
    if let (Some(d), Value::Object(fields)) = (d.as_object_mut(), fields) {
        d.extend(fields);
    }
    d
}

/// A state that puts the execution's outcome event on berth's bus, then goes on to `next`,
/// or ends the execution (`next` None: its output is the state at `output`). The event is
/// retried; when it cannot be put, the execution still ends as it would have (at `next`, or
/// the Succeed state `Unannounced`), with the error kept at `$.unannounced`.
fn announce(op: Option<Operation>, succeeded: bool, detail: Value, next: Option<&str>, output: &str) -> Value {
    let mut state = json!({
        "Type": "Task",
        "Comment": format!("The outcome event ({}) on berth's bus.", events::outcome(op, succeeded)),
        "Resource": PUT_EVENTS,
        "Parameters": {
            "Entries": [{
                "EventBusName": format!("${{{EVENT_BUS_SUBSTITUTION}}}"),
                "Source": format!("${{{EVENT_SOURCE_SUBSTITUTION}}}"),
                "DetailType": events::outcome(op, succeeded),
                "Detail": detail
            }]
        },
        "ResultPath": null,
        "Retry": [retrier(json!(["States.ALL"]), 1, 4, 10)],
        "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.unannounced", "Next": next.unwrap_or("Unannounced") }]
    });
    match next {
        Some(next) => state["Next"] = json!(next),
        None => {
            if output != "$" {
                state["OutputPath"] = json!(output);
            }
            state["End"] = json!(true);
        }
    }
    state
}

/// Where a succeeded execution ends when its event could not be put: as it would have, the
/// error at `$.unannounced` in its history.
fn unannounced(output: &str) -> (String, Value) {
    let mut end = json!({ "Type": "Succeed", "Comment": "Succeeded; its outcome event could not be put on the bus (the error is at $.unannounced)." });
    if output != "$" {
        end["OutputPath"] = json!(output);
    }
    ("Unannounced".into(), end)
}

/// The outcome of an execution that ended before anything was recorded for it (a refused
/// request or claim), or whose record could not be written: the error only (at `$.error`),
/// the customer from the execution's input.
fn announce_unrecorded(op: Option<Operation>, next: &str) -> (String, Value) {
    let fields = json!({
        "customer_id.$": "$$.Execution.Input.customer_id", "recorded": false, "error.$": "$.error.Error", "cause.$": "$.error.Cause"
    });
    ("AnnounceUnrecorded".into(), announce(op, false, detail(op, false, fields), Some(next), "$"))
}

/// The outcome of a failure the execution recorded: from the result at `at` of the step that
/// recorded it (fail, or settle), whose `recorded` field says whether it could.
fn announce_recorded_failure(op: Option<Operation>, at: String, recorded: &str) -> (String, Value) {
    let path = |field: &str| json!(format!("{at}.{field}"));
    let fields = json!({
        "customer_id.$": path("customer_id"), "recorded.$": path(recorded), "state.$": path("state"), "error.$": path("error"),
        "cause.$": path("cause"), "rolled_back.$": path("rolled_back"), "left.$": path("leftovers")
    });
    ("AnnounceFailure".into(), announce(op, false, detail(op, false, fields), Some("Failed"), "$"))
}

/// Where an execution that is refused at its first steps goes: its outcome event, then its end.
fn refused() -> Value {
    json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "AnnounceUnrecorded" }])
}

/// Every state machine berth deploys.
pub fn machines() -> Vec<Machine> {
    vec![onboard(), update(), suspend(), resume(), offboard(), rollout()]
}

/// Onboarding: validate, register, allocate, resources, the health gate, DNS, activate;
/// after a permanent failure of any step after validate, rollback and fail.
pub fn onboard() -> Machine {
    let plan = json!({ "plan.$": "$.plan" });
    let caught = json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": ROLLBACK.state() }]);
    let mut states = vec![
        (
            VALIDATE.state(),
            then(
                task(&VALIDATE, json!({ "request.$": "$", "execution_id.$": "$$.Execution.Id" })),
                // The plan is the state from here on; the health checks start counting at 0.
                json!({
                    "ResultSelector": { "plan.$": "$", "check": { "attempts": 0, "stable": false } },
                    "ResultPath": "$",
                    "Catch": refused(),
                    "Next": REGISTER.state()
                }),
            ),
        ),
        (REGISTER.state(), then(task(&REGISTER, plan.clone()), json!({ "Catch": caught, "Next": ALLOCATE.state() }))),
        (ALLOCATE.state(), then(task(&ALLOCATE, plan.clone()), json!({ "Catch": caught, "Next": RESOURCES.state() }))),
        (
            RESOURCES.state(),
            then(
                task(&RESOURCES, json!({ "plan.$": "$.plan", "placement.$": "$.allocate" })),
                json!({ "Catch": caught, "Next": CHECK.state() }),
            ),
        ),
    ];
    // The health gate after the resources, before DNS.
    states.extend(health_gate("$.plan", "$.resources.services", caught.clone(), &DNS.state()));
    states.extend([
        (
            DNS.state(),
            then(
                task(
                    &DNS,
                    json!({ "plan.$": "$.plan", "alb.$": "$.allocate.alb", "healthy.$": "$.check.stable", "adopted.$": "$.register.records" }),
                ),
                json!({ "Catch": caught, "Next": ACTIVATE.state() }),
            ),
        ),
        (
            ACTIVATE.state(),
            then(
                task(&ACTIVATE, json!({ "plan.$": "$.plan", "placement.$": "$.allocate", "resources.$": "$.resources", "dns.$": "$.dns" })),
                json!({ "OutputPath": ACTIVATE.result_path(), "Catch": caught, "Next": "Announce" }),
            ),
        ),
        (
            "Announce".into(),
            announce(
                None,
                true,
                detail(None, true, json!({ "customer_id.$": "$.customer_id", "state.$": "$.state", "url.$": "$.url", "outputs.$": "$" })),
                None,
                "$",
            ),
        ),
        unannounced("$"),
        (
            ROLLBACK.state(),
            then(
                task(&ROLLBACK, plan.clone()),
                // A rollback that failed for good leaves its error where its result would be.
                json!({ "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": ROLLBACK.result_path(), "Next": FAIL.state() }], "Next": FAIL.state() }),
            ),
        ),
        (
            FAIL.state(),
            then(
                task(&FAIL, json!({ "plan.$": "$.plan", "error.$": "$.error", "rollback.$": "$.rollback" })),
                json!({ "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.unrecorded", "Next": "AnnounceUnrecorded" }], "Next": "AnnounceFailure" }),
            ),
        ),
        announce_recorded_failure(None, FAIL.result_path(), "marked"),
        announce_unrecorded(None, "Failed"),
        (
            "Failed".into(),
            json!({ "Type": "Fail", "Comment": "Ends with the error that failed the step.", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause" }),
        ),
    ]);
    Machine {
        name: "berth-onboard",
        file: "statemachines/onboard.asl.json",
        comment: "berth: onboard one customer onto the shared ECS cluster and a pool ALB. Input: an onboarding request (events/schemas/onboarding-request.schema.json), normally started by the intake Lambda as {customer_id}_{idempotency_key}. Output: the customer's outputs (URL, priorities, ARNs). After a permanent failure, Rollback undoes what the execution created, in reverse order, and Fail records FAILED (or ROLLBACK_FAILED with what is left). Generated from the step table (crates/berth-steps/src/pipeline.rs): do not edit.".into(),
        states,
    }
}

/// The first state of a lifecycle machine: the request checked and the customer taken. The
/// plan, the request and the target groups are the state from here on (a refusal ends the
/// execution with its error, and nothing changed).
fn claim(op: Operation, next: &str) -> (String, Value) {
    (
        CLAIM.state(),
        then(
            task(&CLAIM, json!({ "operation": op.name(), "request.$": "$", "execution_id.$": "$$.Execution.Id" })),
            json!({
                "ResultSelector": {
                    "plan.$": "$.plan", "request.$": "$.request", "from.$": "$.from", "target_groups.$": "$.target_groups",
                    "check": { "attempts": 0, "stable": false }
                },
                "ResultPath": "$",
                "Catch": refused(),
                "Next": next
            }),
        ),
    )
}

/// The settle state of the success path (`done` is where the last step's result is), the
/// choice on its outcome, and the ends: the execution fails when the customer is not in the
/// operation's end state.
fn settled(op: Operation, done: &str) -> Vec<(String, Value)> {
    let mut params = json!({ "plan.$": "$.plan", "operation": op.name(), "request.$": "$.request", "done.$": done });
    if op == Operation::Update {
        params["before.$"] = json!("$.before");
    }
    vec![
        (SETTLE.state(), then(task(&SETTLE, params), json!({ "Catch": refused(), "Next": "Settled?" }))),
        (
            "Settled?".into(),
            json!({ "Type": "Choice", "Choices": [{ "Variable": "$.settle.succeeded", "BooleanEquals": true, "Next": "Announce" }], "Default": "AnnounceFailure" }),
        ),
        (
            "Announce".into(),
            announce(
                Some(op),
                true,
                detail(
                    Some(op),
                    true,
                    json!({ "customer_id.$": "$.settle.customer_id", "state.$": "$.settle.state", "url.$": "$.settle.url", "outputs.$": "$.settle.outputs" }),
                ),
                None,
                &SETTLE.result_path(),
            ),
        ),
        unannounced(&SETTLE.result_path()),
    ]
}

/// After a failure: settle records it (with `undo`, what putting things back returned), and
/// the execution fails with the error.
fn settle_failure(op: Operation, undo: Option<&str>) -> Vec<(String, Value)> {
    let mut params = json!({ "plan.$": "$.plan", "operation": op.name(), "request.$": "$.request", "error.$": "$.error" });
    if let Some(path) = undo {
        params["undo.$"] = json!(path);
    }
    if op == Operation::Update {
        params["before.$"] = json!("$.before");
    }
    vec![
        (
            "SettleFailure".into(),
            then(
                task(&SETTLE, params),
                json!({ "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.unrecorded", "Next": "AnnounceUnrecorded" }], "Next": "AnnounceFailure" }),
            ),
        ),
        announce_recorded_failure(Some(op), SETTLE.result_path(), "recorded"),
        (
            "Failed".into(),
            json!({ "Type": "Fail", "Comment": "The customer is not in the operation's end state: the error and why.", "ErrorPath": "$.settle.error", "CausePath": "$.settle.cause" }),
        ),
        announce_unrecorded(Some(op), "NotRecorded"),
        (
            "NotRecorded".into(),
            json!({
                "Type": "Fail",
                "Comment": "Refused before the customer was taken, or recording the end failed (the record still names this execution): the error that ended it.",
                "ErrorPath": "$.error.Error",
                "CausePath": "$.error.Cause"
            }),
        ),
    ]
}

/// The health gate: the check step, then either `next` (stable) or a wait of the plan's
/// interval and the check again. `plan` and `target_groups` are where the check's input is
/// in the state; a permanent failure is caught to `on_failure`.
fn health_gate(plan: &str, target_groups: &str, on_failure: Value, next: &str) -> Vec<(String, Value)> {
    vec![
        (
            CHECK.state(),
            then(
                task(&CHECK, json!({ "plan.$": plan, "target_groups.$": target_groups, "attempts.$": "$.check.attempts" })),
                json!({ "Catch": on_failure, "Next": "Healthy?" }),
            ),
        ),
        (
            "Healthy?".into(),
            json!({ "Type": "Choice", "Choices": [{ "Variable": "$.check.stable", "BooleanEquals": true, "Next": next }], "Default": "WaitForHealth" }),
        ),
        ("WaitForHealth".into(), json!({ "Type": "Wait", "SecondsPath": "$.plan.health.interval_seconds", "Next": CHECK.state() })),
    ]
}

/// A lifecycle machine: named after its operation, its comment the operation's own words
/// (`what`, then `input`: what its request takes beyond the customer and key) and what every
/// lifecycle machine shares.
fn lifecycle_machine(op: Operation, what: &str, input: &str, states: Vec<(String, Value)>) -> Machine {
    let (name, file) = match op {
        Operation::Update => ("berth-update", "statemachines/update.asl.json"),
        Operation::Suspend => ("berth-suspend", "statemachines/suspend.asl.json"),
        Operation::Resume => ("berth-resume", "statemachines/resume.asl.json"),
        Operation::Offboard => ("berth-offboard", "statemachines/offboard.asl.json"),
    };
    let input = if input.is_empty() { String::new() } else { format!(" {input}") };
    let (kind, schema) = match op {
        Operation::Update => ("the customer's whole desired spec, an onboarding request", "onboarding-request"),
        _ => ("a lifecycle request", "lifecycle-request"),
    };
    let comment = format!(
        "{what} Input: {kind} (events/schemas/{schema}.schema.json, events/{op}.json){input}, started as \
         {{customer_id}}_{{idempotency_key}}. One lifecycle execution per customer at a time (Berth.Conflict). Generated from the \
         step table (crates/berth-steps/src/pipeline.rs): do not edit."
    );
    Machine { name, file, comment, states }
}

fn caught(next: &str) -> Value {
    json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": next }])
}

/// Update: validate the desired spec, take the customer (nothing at all when the spec is the
/// current one), reconcile its resources to the new plan (new task definition revisions
/// rolled out by the services' deployments, the circuit breaker on), and the health gate as
/// at onboarding. A product added first takes its priorities, the rules re-ordered (the
/// reshape step); a product removed is taken away once the rest is healthy. When the update
/// fails for good, the services go back to the revisions and counts they ran before, what
/// it added is taken away again, and the customer stays ACTIVE with the failure in its
/// history (DEGRADED when going back fails too).
pub fn update() -> Machine {
    let op = Operation::Update;
    let mut states = vec![
        (
            VALIDATE.state(),
            then(
                task(&VALIDATE, json!({ "request.$": "$", "execution_id.$": "$$.Execution.Id" })),
                json!({ "ResultSelector": { "plan.$": "$" }, "ResultPath": "$", "Catch": refused(), "Next": CLAIM.state() }),
            ),
        ),
        (
            CLAIM.state(),
            then(
                task(&CLAIM, json!({ "operation": op.name(), "plan.$": "$.plan", "execution_id.$": "$$.Execution.Id" })),
                json!({
                    "ResultSelector": update_claimed(),
                    "ResultPath": "$",
                    "Catch": refused(),
                    "Next": "Changed?"
                }),
            ),
        ),
        (
            "Changed?".into(),
            json!({
                "Type": "Choice",
                "Choices": [
                    { "Variable": "$.unchanged", "BooleanEquals": true, "Next": "Unchanged" },
                    { "Variable": "$.reshape.grow", "BooleanEquals": true, "Next": "AddProducts" }
                ],
                "Default": RESOURCES.state()
            }),
        ),
        (
            "Unchanged".into(),
            json!({
                "Type": "Pass",
                "Comment": "The desired spec is the current one: nothing was taken or written.",
                "Parameters": {
                    "customer_id.$": "$.plan.customer_id", "operation": op.name(), "state.$": "$.from", "succeeded": true, "changed": false,
                    "url.$": "States.Format('https://{}', $.plan.host)", "outputs": null
                },
                "ResultPath": SETTLE.result_path(),
                "Next": "Announce"
            }),
        ),
        (
            "AddProducts".into(),
            then(
                task(&RESHAPE, json!({ "plan.$": "$.reshape.plan", "phase": "grow" })),
                json!({
                    "Comment": "The added services' priorities taken, the customer's rules re-ordered, a new own domain's hostname claimed and its certificate counted: the placement of every rule for the resources step.",
                    "ResultSelector": { "alb.$": "$.placement.alb", "listener_arn.$": "$.placement.listener_arn", "priorities.$": "$.placement.priorities" },
                    "ResultPath": "$.placement",
                    "Catch": caught("PutBack"),
                    "Next": RESOURCES.state()
                }),
            ),
        ),
        (
            RESOURCES.state(),
            then(
                task(&RESOURCES, json!({ "plan.$": "$.plan", "placement.$": "$.placement" })),
                json!({ "Catch": caught("PutBack"), "Next": CHECK.state() }),
            ),
        ),
    ];
    states.extend(health_gate("$.plan", "$.resources.services", caught("PutBack"), "NewHosts?"));
    states.push((
        "NewHosts?".into(),
        json!({ "Type": "Choice", "Choices": [{ "Variable": "$.reshape.grow", "BooleanEquals": true, "Next": DNS.state() }], "Default": "Removed?" }),
    ));
    states.push((
        DNS.state(),
        then(
            task(&DNS, json!({ "plan.$": "$.plan", "alb.$": "$.placement.alb", "healthy.$": "$.check.stable" })),
            json!({
                "Comment": "Products added on hosts of their own, and a new own domain in a zone of the account, get their records once they are healthy (a host already served is left as it is).",
                "Catch": caught("PutBack"),
                "Next": "Removed?"
            }),
        ),
    ));
    states.push((
        "Removed?".into(),
        json!({ "Type": "Choice", "Choices": [{ "Variable": "$.reshape.prune", "BooleanEquals": true, "Next": "RemoveProducts" }], "Default": SETTLE.state() }),
    ));
    states.push((
        "RemoveProducts".into(),
        then(
            task(&RESHAPE, json!({ "plan.$": "$.reshape.plan", "remove.$": "$.reshape.removed", "phase": "prune" })),
            json!({
                "Comment": "The rest is healthy: the removed services' resources removed, their priorities given back; a replaced own domain's certificate, records and claim taken away.",
                "ResultPath": "$.pruned",
                "Catch": caught("SettleFailure"),
                "Next": SETTLE.state()
            }),
        ),
    ));
    states.extend(settled(op, "$.resources"));
    states.push((
        "PutBack".into(),
        then(
            task(&SCALE, json!({ "plan.$": "$.plan", "to": "before", "before.$": "$.before" })),
            json!({ "ResultPath": "$.undo", "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.undo", "Next": "SettleFailure" }], "Next": "Added?" }),
        ),
    ));
    states.push((
        "Added?".into(),
        json!({ "Type": "Choice", "Choices": [{ "Variable": "$.reshape.grow", "BooleanEquals": true, "Next": "TakeBackProducts" }], "Default": "SettleFailure" }),
    ));
    states.push((
        "TakeBackProducts".into(),
        then(
            task(&RESHAPE, json!({ "plan.$": "$.reshape.plan", "remove.$": "$.reshape.added", "phase": "take_back" })),
            json!({
                "Comment": "What the failed update added is taken away again, its priorities given back; a replaced own domain is put back on the rules and the new one taken away.",
                "ResultPath": "$.taken_back",
                "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.undo", "Next": "SettleFailure" }],
                "Next": "SettleFailure"
            }),
        ),
    ));
    states.extend(settle_failure(op, Some("$.undo")));
    lifecycle_machine(
        op,
        "berth: update one customer (ACTIVE or DEGRADED, through UPDATING, to ACTIVE): its services reconciled to a new desired spec (image tags, desired counts, cpu/memory, environment, secret references, products added or removed, the own domain added, changed or taken away), new task definition revisions rolled out (rolling deployment, circuit breaker) and gated on health; a product added takes its priorities before the catch-all rule, a product removed or an own domain replaced is taken away once the rest is healthy; on failure the services go back to their previous revisions and counts and what was added is taken away (a replaced own domain back on the rules), the failure in the history. A request identical to the current spec takes and writes nothing.",
        "",
        states,
    )
}

/// What an update keeps of its claim: the state from there on, the health checks counted
/// from 0.
fn update_claimed() -> Value {
    json!({
        "plan.$": "$.plan", "request.$": "$.request", "from.$": "$.from", "target_groups.$": "$.target_groups",
        "unchanged.$": "$.unchanged", "placement.$": "$.placement", "before.$": "$.before", "reshape.$": "$.reshape",
        "check": { "attempts": 0, "stable": false }
    })
}

/// A fleet rollout: the waves, then for each wave a Map of the customers' updates (the
/// update machine's steps, at most `max_concurrency` at once), then the gate, which stops
/// the rollout when the wave's failures pass the threshold. The output is the tally: each
/// customer updated, rolled back, failed, skipped or not reached, with the reason.
pub fn rollout() -> Machine {
    let op = Operation::Update;
    // One customer's update, as the update machine runs it, ending with one result: how it
    // went (never a failed iteration: a failure is counted by the gate).
    let result = |outcome: &str, customer: &str| json!({ "customer_id.$": customer, "outcome": outcome, "succeeded.$": "$.succeeded", "state.$": "$.state", "error.$": "$.error", "cause.$": "$.cause" });
    let mut iteration: Vec<(String, Value)> = vec![
        (
            CLAIM.state(),
            then(
                task(
                    &CLAIM,
                    json!({
                        "operation": op.name(),
                        "request": { "customer_id.$": "$.customer_id", "idempotency_key.$": "$.rollout_id" },
                        "retag": { "product.$": "$.product", "image_tag.$": "$.image_tag" },
                        "execution_id.$": "$$.Execution.Id"
                    }),
                ),
                json!({
                    "ResultSelector": update_claimed(),
                    "ResultPath": "$",
                    "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refused" }],
                    "Next": "Changed?"
                }),
            ),
        ),
        (
            "Refused".into(),
            json!({
                "Type": "Pass",
                "Comment": "The customer could not be taken (another execution holds it, say): counted as a failure.",
                "Parameters": { "customer_id.$": "$.customer_id", "outcome": "refused", "error.$": "$.error.Error", "cause.$": "$.error.Cause" },
                "End": true
            }),
        ),
        (
            "Changed?".into(),
            json!({ "Type": "Choice", "Choices": [{ "Variable": "$.unchanged", "BooleanEquals": true, "Next": "Unchanged" }], "Default": RESOURCES.state() }),
        ),
        (
            "Unchanged".into(),
            json!({ "Type": "Pass", "Parameters": { "customer_id.$": "$.plan.customer_id", "outcome": "unchanged" }, "End": true }),
        ),
        (
            RESOURCES.state(),
            then(
                task(&RESOURCES, json!({ "plan.$": "$.plan", "placement.$": "$.placement" })),
                json!({ "Catch": caught("PutBack"), "Next": CHECK.state() }),
            ),
        ),
    ];
    iteration.extend(health_gate("$.plan", "$.resources.services", caught("PutBack"), &SETTLE.state()));
    let settle_params = |extra: Value| {
        let mut p = json!({ "plan.$": "$.plan", "operation": op.name(), "request.$": "$.request", "before.$": "$.before" });
        if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
            p.extend(extra);
        }
        p
    };
    let not_recorded = json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": SETTLE.result_path(), "Next": "NotRecorded" }]);
    iteration.extend([
        (
            SETTLE.state(),
            then(
                task(&SETTLE, settle_params(json!({ "done.$": "$.resources" }))),
                json!({ "ResultSelector": result("settled", "$.customer_id"), "ResultPath": "$", "Catch": not_recorded, "End": true }),
            ),
        ),
        (
            "PutBack".into(),
            then(
                task(&SCALE, json!({ "plan.$": "$.plan", "to": "before", "before.$": "$.before" })),
                json!({ "ResultPath": "$.undo", "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.undo", "Next": "SettleFailure" }], "Next": "SettleFailure" }),
            ),
        ),
        (
            "SettleFailure".into(),
            then(
                task(&SETTLE, settle_params(json!({ "error.$": "$.error", "undo.$": "$.undo" }))),
                json!({ "ResultSelector": result("settled", "$.customer_id"), "ResultPath": "$", "Catch": not_recorded, "End": true }),
            ),
        ),
        (
            "NotRecorded".into(),
            json!({
                "Type": "Pass",
                "Comment": "Recording the end failed: the record still names this execution.",
                "Parameters": { "customer_id.$": "$.plan.customer_id", "outcome": "unrecorded", "error.$": "$.settle.Error", "cause.$": "$.settle.Cause" },
                "End": true
            }),
        ),
    ]);
    let iteration_states: Map<String, Value> = iteration.into_iter().collect();
    let states = vec![
        (
            WAVES.state(),
            then(
                task(&WAVES, json!({ "request.$": "$", "execution_id.$": "$$.Execution.Id" })),
                json!({ "ResultPath": "$", "Next": "More?" }),
            ),
        ),
        (
            "More?".into(),
            json!({ "Type": "Choice", "Choices": [{ "Variable": "$.gate.done", "BooleanEquals": true, "Next": "Summary" }], "Default": "Wave" }),
        ),
        (
            "Wave".into(),
            json!({
                "Type": "Map",
                "Comment": "The wave's customers, each updated as the update machine does it, at most max_concurrency at once.",
                "ItemsPath": "$.gate.current",
                "ItemSelector": {
                    "customer_id.$": "$$.Map.Item.Value", "rollout_id.$": "$.request.rollout_id", "product.$": "$.request.product",
                    "image_tag.$": "$.request.image_tag"
                },
                "MaxConcurrencyPath": "$.request.max_concurrency",
                "ItemProcessor": { "ProcessorConfig": { "Mode": "INLINE" }, "StartAt": CLAIM.state(), "States": iteration_states },
                "ResultPath": "$.results",
                "Next": GATE.state()
            }),
        ),
        (
            GATE.state(),
            then(
                task(&GATE, json!({ "request.$": "$.request", "waves.$": "$.waves", "gate.$": "$.gate", "results.$": "$.results" })),
                json!({ "Next": "More?" }),
            ),
        ),
        (
            "Summary".into(),
            json!({
                "Type": "Pass",
                "Parameters": { "rollout_id.$": "$.request.rollout_id", "image_tag.$": "$.request.image_tag", "halted.$": "$.gate.halted", "tally.$": "$.gate.tally" },
                "End": true
            }),
        ),
    ];
    Machine {
        name: "berth-rollout",
        file: "statemachines/rollout.asl.json",
        comment: "berth: move every ACTIVE customer of a product (or a listed set) to a new image tag, in waves: the canary first, then waves of wave_size, each customer's update the update machine's steps (at most max_concurrency at once), stopping before the next wave when a wave's failures pass max_failures (or max_failure_rate). Customers whose update failed are back on their previous revisions; those not reached are untouched. Output: each customer updated, rolled back, failed, skipped or not reached, with the reason. Input: events/rollout.json. A second run with the same rollout_id continues where the first stopped. Generated from the step table (crates/berth-steps/src/pipeline.rs): do not edit.".into(),
        states,
    }
}

/// Suspend: every service to 0 tasks, counts remembered; DNS, rules and target groups stay.
/// When scaling fails for good, the services go back to their counts and the customer stays
/// ACTIVE with the failure in its history.
pub fn suspend() -> Machine {
    let op = Operation::Suspend;
    let mut states = vec![
        claim(op, &SCALE.state()),
        (
            SCALE.state(),
            then(task(&SCALE, json!({ "plan.$": "$.plan", "to": "zero" })), json!({ "Catch": caught("PutBack"), "Next": SETTLE.state() })),
        ),
    ];
    states.extend(settled(op, "$.scale"));
    states.push((
        "PutBack".into(),
        then(
            task(&SCALE, json!({ "plan.$": "$.plan", "to": "remembered" })),
            json!({ "ResultPath": "$.undo", "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.undo", "Next": "SettleFailure" }], "Next": "SettleFailure" }),
        ),
    ));
    states.extend(settle_failure(op, Some("$.undo")));
    lifecycle_machine(op, "berth: suspend one customer (ACTIVE to SUSPENDED): every service to 0 tasks, each one's count remembered; DNS, rules and target groups stay, so a resume is fast.", "with an optional reason (unpaid, idle, on_request)", states)
}

/// Resume: the remembered counts back, then the health gate as at onboarding.
pub fn resume() -> Machine {
    let op = Operation::Resume;
    let mut states = vec![
        claim(op, &SCALE.state()),
        (
            SCALE.state(),
            then(
                task(&SCALE, json!({ "plan.$": "$.plan", "to": "remembered" })),
                json!({ "Catch": caught("SettleFailure"), "Next": CHECK.state() }),
            ),
        ),
    ];
    states.extend(health_gate("$.scale.plan", "$.target_groups", caught("SettleFailure"), &SETTLE.state()));
    states.extend(settled(op, "$.scale"));
    states.extend(settle_failure(op, None));
    lifecycle_machine(
        op,
        "berth: resume one customer (SUSPENDED or DEGRADED to ACTIVE): the remembered counts back, then the health gate as at onboarding.",
        "",
        states,
    )
}

/// Offboarding: the rollback's teardown of everything berth made for the customer (DNS
/// first, log groups last or kept), its priorities and host given back; a DELETED tombstone
/// keeps the history.
pub fn offboard() -> Machine {
    let op = Operation::Offboard;
    let mut states = vec![
        claim(op, "Teardown"),
        (
            "Teardown".into(),
            then(
                task(&ROLLBACK, json!({ "plan.$": "$.plan", "keep_log_groups.$": "$.request.keep_log_groups" })),
                json!({ "ResultPath": "$.teardown", "Catch": caught("SettleFailure"), "Next": SETTLE.state() }),
            ),
        ),
    ];
    states.extend(settled(op, "$.teardown"));
    states.extend(settle_failure(op, None));
    lifecycle_machine(op, "berth: offboard one customer (ACTIVE, SUSPENDED, FAILED, ROLLBACK_FAILED or DEGRADED to DELETED): DNS records, services, task definitions, rules and target groups, log groups (or kept: keep_log_groups), then its priorities and host given back; the DELETED tombstone keeps the history, and the id may be onboarded again; running it again is harmless.", "", states)
}

/// A Task's input, as Step Functions builds it from `Parameters`: each `key.$` takes the
/// value at a path of the state (`$`, `$.a.b`) or of the context (`$$.Execution.Id`).
/// `None` names the first path that is missing, where Step Functions fails the state.
pub fn parameters(template: &Value, state: &Value, execution_id: &str) -> Result<Value, String> {
    match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.strip_suffix(".$"), v.as_str()) {
                    (Some(key), Some(path)) => {
                        let found = match path {
                            "$$.Execution.Id" => Some(json!(execution_id)),
                            EXECUTION_START => Some(json!(EXAMPLE_START)),
                            _ => at(state, path),
                        };
                        out.insert(key.to_string(), found.ok_or_else(|| format!("{path} is not in the state"))?);
                    }
                    _ => {
                        out.insert(k.clone(), parameters(v, state, execution_id)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// When the example executions started (`$$.Execution.StartTime` in [`parameters`]).
pub const EXAMPLE_START: &str = "2026-11-23T18:00:00.000Z";

/// The value at a reference path (`$`, `$.a.b`).
pub fn at(state: &Value, path: &str) -> Option<Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.').filter(|k| !k.is_empty()).try_fold(state, |v, k| v.get(k)).cloned()
}

/// Puts `value` at a reference path of `state` (`$` replaces it).
pub fn put(state: &mut Value, path: &str, value: Value) {
    let keys: Vec<&str> = path.trim_start_matches('$').split('.').filter(|k| !k.is_empty()).collect();
    let mut target = state;
    for k in keys {
        if !target.is_object() {
            *target = json!({});
        }
        target = &mut target[k];
    }
    *target = value;
}

/// What a Task state does with its Lambda's answer: `ResultSelector`, then `ResultPath`.
pub fn apply_result(task: &Value, state: &mut Value, answer: Value, execution_id: &str) -> Result<(), String> {
    let result = match task.get("ResultSelector") {
        Some(selector) => parameters(selector, &answer, execution_id)?,
        None => answer,
    };
    put(state, task.get("ResultPath").and_then(Value::as_str).unwrap_or("$"), result);
    Ok(())
}

const KEY_ORDER: [&str; 30] = [
    "Type",
    "Comment",
    "StartAt",
    "States",
    "Resource",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Choices",
    "Variable",
    "BooleanEquals",
    "Default",
    "SecondsPath",
    "ErrorPath",
    "CausePath",
    "Retry",
    "Catch",
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Next",
    "End",
    "plan.$",
    "request.$",
    "execution_id.$",
    "check",
];
const WIDTH: usize = 160;

fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let parts: Vec<String> =
                ordered(m, &[]).iter().map(|(k, v)| format!("{}: {}", Value::String(k.to_string()), compact(v))).collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn ordered<'a>(m: &'a Map<String, Value>, states: &[&str]) -> Vec<(&'a str, &'a Value)> {
    let rank = |k: &str| {
        states
            .iter()
            .position(|s| *s == k)
            .or_else(|| KEY_ORDER.iter().position(|o| *o == k).map(|p| p + states.len()))
            .unwrap_or(usize::MAX)
    };
    let mut entries: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    entries
}

fn render(v: &Value, indent: usize, states: &[&str], out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    match v {
        Value::Object(m) if !m.is_empty() && indent * 2 + compact(v).len() > WIDTH || m.contains_key("States") => {
            out.push_str("{\n");
            let entries = ordered(m, states);
            for (i, (k, child)) in entries.iter().enumerate() {
                out.push_str(&pad);
                out.push_str(&Value::String(k.to_string()).to_string());
                out.push_str(": ");
                let inner: &[&str] = if *k == "States" { states } else { &[] };
                render(child, indent + 1, inner, out);
                out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        Value::Array(a) if !a.is_empty() && indent * 2 + compact(v).len() > WIDTH => {
            out.push_str("[\n");
            for (i, child) in a.iter().enumerate() {
                out.push_str(&pad);
                render(child, indent + 1, &[], out);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        other => out.push_str(&compact(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_step_name() {
        assert_eq!(CHECK.binary(), "berth-check");
        assert_eq!(CHECK.state(), "Check");
        assert_eq!(CHECK.substitution(), "CheckFunctionArn");
        assert_eq!(CHECK.result_path(), "$.check");
        assert_eq!(VALIDATE.result_path(), "$.plan");
        assert_eq!(step("fail").map(|s| s.function_id()), Some("FailFunction".into()));
    }

    #[test]
    fn the_rendering_is_the_definition() {
        for m in machines() {
            let parsed: Value = serde_json::from_str(&m.render()).unwrap();
            assert_eq!(parsed, m.definition(), "{}", m.name);
        }
    }

    #[test]
    fn parameters_take_state_and_context_paths() {
        let state = json!({ "plan": { "customer_id": "acme" }, "check": { "attempts": 2 } });
        let p = parameters(&json!({ "plan.$": "$.plan", "n.$": "$.check.attempts", "x": { "e.$": "$$.Execution.Id" } }), &state, "arn:e")
            .unwrap();
        assert_eq!(p, json!({ "plan": { "customer_id": "acme" }, "n": 2, "x": { "e": "arn:e" } }));
        assert_eq!(parameters(&json!({ "a.$": "$.missing" }), &state, "e").unwrap_err(), "$.missing is not in the state");
        let mut s = json!({});
        put(&mut s, "$.a.b", json!(1));
        assert_eq!(s, json!({ "a": { "b": 1 } }));
        put(&mut s, "$", json!(2));
        assert_eq!(s, json!(2));
    }
}
