//! The execution state the steps read and the observations they return. The state machine
//! keeps each step's result at `$.<step>`: `$.plan`, `$.register`, `$.allocation`,
//! `$.resources`, `$.health`, `$.dns`, and `$.error` after a failure.

use std::collections::BTreeMap;

use berth_adapters::model::{AlbRef, ServiceObserved};
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterOutput {
    pub customer_id: String,
    pub state: CustomerState,
    pub host: String,
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
    pub stable: bool,
    pub services: Vec<ServiceObserved>,
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
    /// FAILED when this execution owned the customer; otherwise the record was left alone.
    pub marked: bool,
    pub error: String,
    pub cause: String,
}

impl State {
    pub fn plan(&self) -> Result<&Plan, berth_domain::BerthError> {
        self.plan.as_ref().ok_or_else(|| berth_domain::BerthError::invalid("plan", "missing from the execution state"))
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
