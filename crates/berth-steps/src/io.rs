//! What the steps take and return. Each step takes its own small input, which a state
//! machine builds with `Parameters` from what earlier steps returned (the onboarding
//! machine keeps each result at `$.<step>`, see [`crate::pipeline`]), and which a later
//! machine can build from the customer's record. Every input carries the plan, and so the
//! customer and the execution its log lines name.

use std::collections::BTreeMap;

use berth_adapters::model::{AlbRef, RecordObserved, ServiceObserved};
use berth_domain::lifecycle::{LifecycleRequest, Operation};
use berth_domain::plan::Plan;
use berth_domain::rollout::RolloutRequest;
use berth_domain::state::CustomerState;
use berth_domain::BerthError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A step's input: it names the customer and execution its log span carries.
pub trait StepInput: DeserializeOwned + Send {
    fn customer(&self) -> &str;
    fn execution(&self) -> &str;
}

/// The plan, checked: a step refuses a plan that breaks a rule before it touches anything.
pub fn checked(plan: &Plan) -> Result<&Plan, BerthError> {
    let broken = plan.check();
    if broken.is_empty() {
        Ok(plan)
    } else {
        Err(BerthError::InvalidRequest(broken))
    }
}

macro_rules! planned_input {
    ($($t:ty),* $(,)?) => {$(
        impl StepInput for $t {
            fn customer(&self) -> &str {
                &self.plan.customer_id
            }
            fn execution(&self) -> &str {
                &self.plan.execution_id
            }
        }
    )*};
}

/// The validate step's input: the request as posted and the execution that runs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateInput {
    pub request: serde_json::Value,
    pub execution_id: String,
}

impl StepInput for ValidateInput {
    fn customer(&self) -> &str {
        self.request.get("customer_id").and_then(serde_json::Value::as_str).unwrap_or_default()
    }
    fn execution(&self) -> &str {
        &self.execution_id
    }
}

/// The intake Lambda's input: the onboarding request as the portal posts it, or a request
/// event for any machine as EventBridge delivers it (the request is its `detail`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntakeInput(pub serde_json::Value);

impl StepInput for IntakeInput {
    fn customer(&self) -> &str {
        let request = self.0.get("detail").filter(|_| self.0.get("detail-type").is_some()).unwrap_or(&self.0);
        request.get("customer_id").and_then(serde_json::Value::as_str).unwrap_or_default()
    }
    fn execution(&self) -> &str {
        ""
    }
}

/// The HTTP API's input: an API Gateway HTTP API (v2) or function URL event, read by the
/// handler (anything else is the caller's error).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiInput(pub serde_json::Value);

impl StepInput for ApiInput {
    /// The customer in the path (`/customers/{id}...`), for the logs.
    fn customer(&self) -> &str {
        let path = self.0.get("rawPath").and_then(serde_json::Value::as_str).unwrap_or_default();
        path.strip_prefix("/customers/").map(|rest| rest.split('/').next().unwrap_or_default()).unwrap_or_default()
    }
    /// None: an HTTP request is not a step of an execution (it puts no progress).
    fn execution(&self) -> &str {
        ""
    }
}

/// The SBT answers' input: one of berth's events as EventBridge delivers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SbtInput(pub serde_json::Value);

impl StepInput for SbtInput {
    fn customer(&self) -> &str {
        self.0.get("detail").and_then(|d| d.get("customer_id")).and_then(serde_json::Value::as_str).unwrap_or_default()
    }
    /// None: an answer is not a step of the execution it answers (it puts no progress).
    fn execution(&self) -> &str {
        ""
    }
}

/// What the SBT answers did with an event: the detail-type put on SBT's bus (None: the event
/// concerns no SBT tenant's request) and the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbtOutput {
    pub answered: Option<String>,
    pub tenant_id: Option<String>,
}

/// The input of a step that needs only the plan: register, allocate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub plan: Plan,
}

/// The rollback's input: the plan, and for an offboarding, whether the log groups stay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeardownInput {
    pub plan: Plan,
    #[serde(default)]
    pub keep_log_groups: bool,
}

/// The claim step's input: the lifecycle operation, the request as posted (an update's is
/// its desired plan, built by validate) and the execution that runs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimInput {
    pub operation: Operation,
    #[serde(default)]
    pub request: serde_json::Value,
    /// Update: the desired plan.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// A rollout's update: the customer's recorded plan, its product's services on a new tag.
    #[serde(default)]
    pub retag: Option<Retag>,
    pub execution_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retag {
    /// Only this product's services (all of the customer's when none).
    #[serde(default)]
    pub product: Option<String>,
    pub image_tag: String,
}

impl StepInput for ClaimInput {
    fn customer(&self) -> &str {
        match &self.plan {
            Some(p) => &p.customer_id,
            None => self.request.get("customer_id").and_then(serde_json::Value::as_str).unwrap_or_default(),
        }
    }
    fn execution(&self) -> &str {
        &self.execution_id
    }
}

/// What the claim step returns: the plan the execution works to (the customer's recorded
/// plan, or an update's desired one), now carrying this execution; the request, checked;
/// where the customer was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    pub plan: Plan,
    pub request: LifecycleRequest,
    /// The state the execution took the customer from.
    pub from: CustomerState,
    /// Each service's target group, as the customer's outputs recorded them (for the health
    /// gate).
    pub target_groups: Vec<TargetGroupRef>,
    /// Update: the desired plan is the recorded one, the customer ACTIVE: nothing was
    /// taken or written, and nothing is to be done.
    #[serde(default)]
    pub unchanged: bool,
    /// Update: where the customer is placed (its ALB, listener and priorities, in the
    /// plan's rule order), for the resources step.
    #[serde(default)]
    pub placement: Option<AllocationOutput>,
    /// Update: each service's task definition and desired count before the update, to go
    /// back to.
    #[serde(default)]
    pub before: Vec<ServiceState>,
    /// Update: the products (services) the update adds and removes.
    #[serde(default)]
    pub reshape: Reshape,
}

/// An update that adds or removes services (a product, or a catalog change), or changes
/// the customer's own domain: the plan of everything the customer's listener holds
/// meanwhile (the desired plan with the services it drops and the own domain it replaces),
/// what is added and what is removed. `grow`: services or a new own domain are added (their
/// priorities, hostname and certificate are taken and the rules re-ordered before the
/// resources step, and taken away again when the update fails); `prune`: services or the
/// replaced own domain are taken away (after the health gate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reshape {
    #[serde(default)]
    pub plan: Option<Plan>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
    #[serde(default)]
    pub grow: bool,
    #[serde(default)]
    pub prune: bool,
}

/// The reshape step's input: the plan of every service the customer's listener holds
/// rules for, or is to (an update's union of the recorded and the desired plan), the
/// services of it to take away, and which part of an update this is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReshapeInput {
    pub plan: Plan,
    /// Services of the plan whose resources are removed and whose priorities are given
    /// back; empty: the customer takes the priorities the plan's rules need.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Unnamed: `grow` when nothing is to be removed, `prune` otherwise.
    #[serde(default)]
    pub phase: Option<Phase>,
}

/// The part of an update a reshape is: before the resources step (`grow`: the added
/// services' priorities, a new own domain's hostname and certificate taken), once the update
/// is healthy (`prune`: the removed services and the replaced own domain taken away), or
/// after it failed (`take_back`: the added services and the new own domain taken away, the
/// replaced own domain put back on the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Grow,
    Prune,
    TakeBack,
}

/// What the reshape step did: the placement of the rules the customer keeps (for the
/// resources step), the rules it moved, what it removed and the numbers it gave back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReshapeOutput {
    pub placement: Option<AllocationOutput>,
    /// `rule-arn: old -> new`; after a failed own-domain change, a rule whose hosts were put
    /// back: `rule-arn: hosts [...]`.
    pub moved: Vec<String>,
    pub removed: Vec<String>,
    pub released: Vec<u32>,
    /// Of a removed service's names, but not berth's for the customer by its tags: left.
    pub not_ours: Vec<String>,
}

/// A service's task definition revision and desired count, as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    pub service: String,
    pub ecs_service: String,
    pub task_definition: String,
    pub desired_count: u32,
    /// Its scaler as the recorded plan had it (none: a fixed count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<berth_domain::plan::ScalingPlan>,
}

/// Which way the scale step moves the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleTo {
    /// Every service to 0 tasks, remembering each one's count first (suspend).
    Zero,
    /// Back to the remembered counts, or the plan's when none were remembered (resume, or
    /// putting back a suspend that failed).
    Remembered,
    /// Back to the task definitions and counts in `before` (putting back an update that
    /// failed).
    Before,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleInput {
    pub plan: Plan,
    pub to: ScaleTo,
    /// `before`: what each service goes back to.
    #[serde(default)]
    pub before: Vec<ServiceState>,
}

/// What the scale step did: each service's count before and after, and the plan with the
/// counts it set (what the health gate then waits for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOutput {
    pub customer_id: String,
    pub services: Vec<Scaled>,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scaled {
    pub service: String,
    pub ecs_service: String,
    pub from: u32,
    pub to: u32,
}

/// The settle step's input: how a lifecycle execution ended. `done` is the result of its
/// last step when it succeeded; `error` what failed it, and `undo` what putting things back
/// returned (or the error it failed with).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettleInput {
    pub plan: Plan,
    pub operation: Operation,
    pub request: LifecycleRequest,
    #[serde(default)]
    pub done: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<CaughtError>,
    #[serde(default)]
    pub undo: Option<serde_json::Value>,
    /// Update: each service's task definition and count before it (for the history).
    #[serde(default)]
    pub before: Vec<ServiceState>,
}

/// How the customer's lifecycle execution ended, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleOutput {
    pub customer_id: String,
    pub operation: Operation,
    /// The state the customer is left in.
    pub state: CustomerState,
    /// True when the operation did what it was asked (the customer is in its end state).
    pub succeeded: bool,
    /// False when another execution owns the customer: nothing was recorded.
    pub recorded: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    pub leftovers: Vec<String>,
    /// After a failure: what was put back or taken away (`service api: 2 tasks again`).
    #[serde(default)]
    pub rolled_back: Vec<String>,
    /// The customer's URL, while it has one (not after an offboarding).
    #[serde(default)]
    pub url: Option<String>,
    /// The customer's outputs as recorded now (none after an offboarding).
    #[serde(default)]
    pub outputs: Option<serde_json::Value>,
    /// What the execution did (its last step's result).
    pub detail: serde_json::Value,
}

/// The resources step's input: the plan and where it was placed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourcesInput {
    pub plan: Plan,
    pub placement: AllocationOutput,
}

/// The health check's input: the plan, each service's target group, and how many checks
/// came before this one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckInput {
    pub plan: Plan,
    pub target_groups: Vec<TargetGroupRef>,
    #[serde(default)]
    pub attempts: u32,
}

/// A service's target group, as the resources step reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupRef {
    pub service: String,
    pub target_group_arn: Option<String>,
}

/// The dns step's input: the plan, the ALB the host goes to, whether the health gate passed,
/// and the records registration found to be the customer's (which may be replaced).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DnsInput {
    pub plan: Plan,
    pub alb: AlbRef,
    pub healthy: bool,
    #[serde(default)]
    pub adopted: Vec<RecordObserved>,
}

/// The activate step's input: everything the customer's outputs name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivateInput {
    pub plan: Plan,
    pub placement: AllocationOutput,
    pub resources: ResourcesOutput,
    pub dns: DnsOutput,
}

/// The fail step's input: the plan, the error that ended the execution and how the
/// rollback ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailInput {
    pub plan: Plan,
    pub error: CaughtError,
    pub rollback: RollbackOutcome,
}

/// How the rollback ended: what it did, or the error it failed with for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RollbackOutcome {
    Done(RollbackOutput),
    Failed(CaughtError),
}

planned_input!(
    PlanInput,
    TeardownInput,
    ReshapeInput,
    ScaleInput,
    SettleInput,
    ResourcesInput,
    CheckInput,
    DnsInput,
    ActivateInput,
    FailInput
);

/// What the rollback undid and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackOutput {
    pub customer_id: String,
    /// False when another execution owns the customer (or it was never registered by this
    /// one): this execution created nothing, so nothing is touched.
    pub owned: bool,
    /// What was removed, in the order it was removed (`kind id`).
    pub removed: Vec<String>,
    /// What is left, with why.
    pub leftovers: Vec<Leftover>,
    /// Priorities given back to the listener.
    pub released_priorities: Vec<u32>,
    pub host_released: bool,
    /// Kept by request (an offboarding's log groups), no longer berth's to manage.
    #[serde(default)]
    pub kept: Vec<String>,
    /// Of the customer's names but not berth's for it by their tags: never touched.
    #[serde(default)]
    pub not_ours: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    pub resource: String,
    pub reason: String,
}

/// The intake Lambda's answer to the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeOutput {
    pub customer_id: String,
    pub execution_name: String,
    pub execution_arn: String,
    /// False when this request had been delivered before: the execution it started is
    /// returned, and nothing new runs.
    pub started: bool,
    /// The execution's status when intake looked (RUNNING for a new one).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterOutput {
    pub customer_id: String,
    pub state: CustomerState,
    pub host: String,
    /// Records found at the host that are berth's for this customer (left by an earlier
    /// execution, as its ledger says): the dns step may replace them, and nothing else.
    #[serde(default)]
    pub records: Vec<RecordObserved>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePriority {
    pub service: String,
    pub priority: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationOutput {
    /// The pool ALB the customer was placed on.
    pub alb: AlbRef,
    pub listener_arn: String,
    /// In the plan's rule order: the most specific rule has the lowest priority.
    pub priorities: Vec<RulePriority>,
}

/// What the resources step found or made for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceResources {
    pub service: String,
    pub log_group: String,
    pub target_group_arn: Option<String>,
    pub rule_arn: Option<String>,
    pub priority: Option<u32>,
    pub task_definition_arn: String,
    pub service_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcesOutput {
    pub services: Vec<ServiceResources>,
    /// What this run created (names or ARNs), in creation order: empty on a re-run.
    pub created: Vec<String>,
    /// What this run changed on resources that already existed.
    pub fixed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthOutput {
    pub attempts: u32,
    /// Services stable and every target group with its healthy targets: DNS may go out.
    pub stable: bool,
    pub services: Vec<ServiceObserved>,
    /// Asked once the services are stable.
    #[serde(default)]
    pub targets: Vec<TargetGroupHealth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupHealth {
    pub service: String,
    pub target_group_arn: String,
    pub healthy: u32,
    pub wanted: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsOutput {
    pub host: String,
    /// Every host with the aliases: the customer's, then its products' own.
    #[serde(default)]
    pub hosts: Vec<String>,
    pub alias_target: String,
    pub records: Vec<String>,
    pub change_id: String,
    /// The customer's own domain: its aliases, or what the customer must create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_domain: Option<OwnDomainDns>,
}

/// Where the customer's own domain points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnDomainDns {
    pub hostname: String,
    /// The account's hosted zone berth wrote the aliases in (none: not in the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    /// What the customer must create at its DNS provider when berth could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// What a Catch puts at `$.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The customer's outputs: in DynamoDB and in the execution output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    pub customer_id: String,
    pub state: CustomerState,
    pub url: String,
    pub host: String,
    /// Each product's URL: at its own host, or at the customer's.
    #[serde(default)]
    pub urls: BTreeMap<String, String>,
    /// The customer's own domain: where its records are, or what the customer must create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_domain: Option<OwnDomainDns>,
    /// The pool ALB the customer is on.
    pub alb: AlbRef,
    pub listener_arn: String,
    pub priorities: BTreeMap<String, u32>,
    pub target_groups: BTreeMap<String, String>,
    pub rules: BTreeMap<String, String>,
    pub task_definitions: BTreeMap<String, String>,
    pub services: BTreeMap<String, String>,
    pub log_groups: BTreeMap<String, String>,
    pub dns_change_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailOutput {
    pub customer_id: String,
    /// True when this execution owned the customer and recorded the failure; otherwise the
    /// record was left alone.
    pub marked: bool,
    /// FAILED, or ROLLBACK_FAILED when something is left.
    pub state: CustomerState,
    pub error: String,
    pub cause: String,
    pub leftovers: Vec<String>,
    /// What the rollback removed, in order (`kind id`); empty when it stopped.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

/// The waves step's input: a rollout request and the execution that runs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WavesInput {
    pub request: serde_json::Value,
    pub execution_id: String,
}

impl StepInput for WavesInput {
    fn customer(&self) -> &str {
        ""
    }
    fn execution(&self) -> &str {
        &self.execution_id
    }
}

/// The rollout's plan: its request, checked; its waves of customers; where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub request: RolloutRequest,
    pub waves: Vec<Vec<String>>,
    pub gate: Gate,
}

/// Where a rollout is: the wave to run next (`current`), and what happened so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// The index of the wave in `current`.
    pub wave: u32,
    pub current: Vec<String>,
    /// Nothing left to run: every wave ran, or the rollout stopped.
    pub done: bool,
    /// It stopped because a wave's failures passed the threshold.
    pub halted: bool,
    pub tally: Tally,
}

/// Each customer of a rollout and how it went, with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// On the new tag now.
    pub updated: Vec<Reached>,
    /// The update failed and the services went back to their previous revisions.
    pub rolled_back: Vec<Reached>,
    /// The update failed and going back failed too (DEGRADED), or it could not take the
    /// customer (another execution held it).
    pub failed: Vec<Reached>,
    /// Not updated: already on the tag, or not in a state an update starts from.
    pub skipped: Vec<Reached>,
    /// In a wave the rollout did not reach: untouched.
    pub not_reached: Vec<Reached>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub customer_id: String,
    pub reason: String,
}

/// The gate's input: the rollout and what its last wave returned (one result per customer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateInput {
    pub request: RolloutRequest,
    pub waves: Vec<Vec<String>>,
    pub gate: Gate,
    pub results: Vec<WaveResult>,
}

impl StepInput for GateInput {
    fn customer(&self) -> &str {
        ""
    }
    fn execution(&self) -> &str {
        ""
    }
}

/// One customer's update in a wave, as its iteration ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveResult {
    pub customer_id: String,
    /// `updated`, `unchanged`, `refused` or `settled` (then `succeeded` and `state` say how).
    pub outcome: String,
    #[serde(default)]
    pub succeeded: Option<bool>,
    #[serde(default)]
    pub state: Option<CustomerState>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}
