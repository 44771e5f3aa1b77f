//! The execution state the steps read and the observations they return. The state machine
//! keeps each step's result at `$.<step>`: `$.plan`, `$.register`, `$.allocation`,
//! `$.resources`, `$.health`, `$.dns`; after a failure `$.error`, then `$.rollback` (or
//! `$.rollback_error` when the rollback itself failed for good).

use std::collections::BTreeMap;

use berth_adapters::model::{AlbRef, RecordObserved, ServiceObserved};
use berth_domain::plan::Plan;
use berth_domain::state::CustomerState;
use serde::{Deserialize, Serialize};

/// The validate step's input: the request as posted and the execution that runs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidateInput {
    pub request: serde_json::Value,
    pub execution_id: String,
}

/// Every later step's input: the state so far. Steps read what they need.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub plan: Option<Plan>,
    #[serde(default)]
    pub register: Option<RegisterOutput>,
    #[serde(default)]
    pub allocation: Option<AllocationOutput>,
    #[serde(default)]
    pub resources: Option<ResourcesOutput>,
    #[serde(default)]
    pub health: Option<HealthOutput>,
    #[serde(default)]
    pub dns: Option<DnsOutput>,
    #[serde(default)]
    pub error: Option<CaughtError>,
    #[serde(default)]
    pub rollback: Option<RollbackOutput>,
    #[serde(default)]
    pub rollback_error: Option<CaughtError>,
}

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    pub alias_target: String,
    pub records: Vec<String>,
    pub change_id: String,
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
}

impl State {
    /// The plan, checked: a step refuses a plan that breaks a rule before it touches
    /// anything.
    pub fn plan(&self) -> Result<&Plan, berth_domain::BerthError> {
        let plan = self.plan.as_ref().ok_or_else(|| berth_domain::BerthError::invalid("plan", "missing from the execution state"))?;
        let broken = plan.check();
        if broken.is_empty() {
            Ok(plan)
        } else {
            Err(berth_domain::BerthError::InvalidRequest(broken))
        }
    }
    pub fn allocation(&self) -> Result<&AllocationOutput, berth_domain::BerthError> {
        self.allocation.as_ref().ok_or_else(|| berth_domain::BerthError::invalid("allocation", "missing from the execution state"))
    }
    pub fn resources(&self) -> Result<&ResourcesOutput, berth_domain::BerthError> {
        self.resources.as_ref().ok_or_else(|| berth_domain::BerthError::invalid("resources", "missing from the execution state"))
    }
    pub fn dns(&self) -> Result<&DnsOutput, berth_domain::BerthError> {
        self.dns.as_ref().ok_or_else(|| berth_domain::BerthError::invalid("dns", "missing from the execution state"))
    }
}
