//! The plan: everything berth will create for one customer, every name computed. The
//! validate step builds it; every later step reads it from the execution state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub customer_id: String,
    pub display_name: String,
    /// `{customer_id}.{domain}`.
    pub host: String,
    /// The Step Functions execution that owns this provisioning run.
    pub execution_id: String,
    /// The request's idempotency key.
    pub idempotency_key: String,
    pub products: Vec<String>,
    /// In catalog order.
    pub services: Vec<ServicePlan>,
    /// Listener rules, most specific first: rule `i` gets the `i`-th lowest priority.
    pub rules: Vec<RulePlan>,
    pub health: HealthPolicy,
    /// Tags on every resource berth creates for the customer.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    /// The catalog's service name (also the container name).
    pub name: String,
    pub product: String,
    pub log_group: String,
    pub log_retention_days: i32,
    pub target_group: Option<TargetGroupPlan>,
    pub task_family: String,
    pub image: String,
    pub cpu: u32,
    pub memory: u32,
    pub port: Option<u16>,
    /// Plain variables (catalog, then request, then berth's own `BERTH_*`).
    pub environment: BTreeMap<String, String>,
    /// Variable name to secret ARN, injected by ECS at start; never a value.
    pub secrets: BTreeMap<String, String>,
    pub ecs_service: String,
    pub desired_count: u32,
    /// CreateService client token for this execution.
    pub client_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupPlan {
    pub name: String,
    pub port: u16,
    pub health_check_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePlan {
    /// The service whose target group the rule forwards to.
    pub service: String,
    pub host: String,
    /// Empty: the rule takes every path on the host.
    pub path_patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthPolicy {
    pub interval_seconds: u32,
    pub max_attempts: u32,
}

impl Plan {
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The tags as (key, value) pairs, for the SDK builders.
    pub fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
