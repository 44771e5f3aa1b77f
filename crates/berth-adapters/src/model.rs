//! What the adapters observe and record: plain data, no AWS types.

use std::collections::BTreeMap;

use berth_domain::ledger::LedgerEntry;
use berth_domain::lifecycle::Operation;
use berth_domain::state::CustomerState;
use serde::{Deserialize, Serialize};

/// The customer record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub customer_id: String,
    pub state: CustomerState,
    pub execution_id: String,
    pub host: String,
    pub display_name: String,
    /// The ALB of the pool the customer was placed on, its listener and priorities.
    pub alb_name: Option<String>,
    pub listener_arn: Option<String>,
    pub priorities: Vec<u32>,
    /// Target groups reserved on that ALB.
    pub target_groups_held: u32,
    /// Certificates reserved on that ALB's listener.
    #[serde(default)]
    pub certificates_held: u32,
    /// What the resources step created or found (JSON as recorded).
    pub resources: Option<serde_json::Value>,
    pub outputs: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// After a cleanup that could not finish: what is left.
    #[serde(default)]
    pub leftovers: Vec<String>,
    /// The plan of the customer's last onboarding (what its resources are named).
    #[serde(default)]
    pub plan: Option<serde_json::Value>,
    /// The lifecycle operation of the execution that holds it (none for an onboarding).
    #[serde(default)]
    pub operation: Option<Operation>,
    /// The state a lifecycle execution took the customer from.
    #[serde(default)]
    pub previous_state: Option<CustomerState>,
    /// While suspended: each service's desired count before it was scaled to 0.
    #[serde(default)]
    pub suspended_counts: BTreeMap<String, u32>,
    /// While suspended: why.
    #[serde(default)]
    pub suspend_reason: Option<String>,
}

/// Why `Customers::begin` was refused, from the record as it is now: `Ok` when this
/// execution took the customer already.
pub fn begin_refused(
    customer_id: &str,
    execution_id: &str,
    op: Operation,
    existing: Option<CustomerRecord>,
) -> Result<CustomerRecord, berth_domain::BerthError> {
    match existing {
        None => Err(berth_domain::BerthError::NotFound(format!("customer '{customer_id}' is not registered: there is nothing to {op}"))),
        // This execution took it already (a retried step).
        Some(c) if c.execution_id == execution_id && c.state == op.during() => Ok(c),
        Some(c) if c.state.in_progress() => Err(berth_domain::BerthError::Conflict(format!(
            "customer '{customer_id}' is {} by execution {}: one lifecycle execution at a time; this {op} changes nothing",
            c.state, c.execution_id
        ))),
        Some(c) => Err(berth_domain::BerthError::Conflict(format!(
            "customer '{customer_id}' is {}: a {op} starts from {}; nothing changed",
            c.state,
            op.allowed_from().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// How a lifecycle execution ends for its customer: the state it leaves it in, what is
/// wrong when it failed, and its entry in the customer's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub state: CustomerState,
    /// The error name and cause, when the execution failed.
    pub error: Option<(String, String)>,
    /// What is not as it should be (DEGRADED).
    pub leftovers: Vec<String>,
    /// SUSPENDED: why.
    pub suspend_reason: Option<String>,
    /// Update: the desired plan (JSON), recorded whether or not the update succeeded.
    #[serde(default)]
    pub desired_plan: Option<String>,
    /// Update that succeeded: the plan (JSON) that is now the last good one, and the
    /// customer's outputs with its new revisions.
    #[serde(default)]
    pub good_plan: Option<String>,
    #[serde(default)]
    pub outputs: Option<serde_json::Value>,
    pub history: HistoryEntry,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One lifecycle execution in a customer's history: who, when, what, how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub execution_id: String,
    pub operation: Operation,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// Seconds since the epoch, as the registry recorded it (empty until recorded).
    #[serde(default)]
    pub at: String,
    /// Milliseconds since the epoch, as the registry recorded it: orders the entries recorded
    /// within one second (0 until recorded, and in entries recorded before it was kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What the execution did: removed resources, counts, leftovers.
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl HistoryEntry {
    /// When it was recorded, in milliseconds (from `at` for an entry without `at_ms`).
    pub fn recorded_ms(&self) -> u64 {
        if self.at_ms > 0 {
            self.at_ms
        } else {
            self.at.parse::<u64>().map_or(0, |s| s * 1000)
        }
    }
}

/// How a failed execution ends for its customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// FAILED when cleanup finished, ROLLBACK_FAILED when something is left.
    pub state: CustomerState,
    pub error: String,
    pub cause: String,
    pub leftovers: Vec<String>,
}

/// What register asks the store to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub customer_id: String,
    pub execution_id: String,
    pub host: String,
    /// Further names claimed with `host`: the hosts of the customer's products on hosts
    /// of their own, and its own domain.
    pub product_hosts: Vec<String>,
    pub display_name: String,
    pub products: Vec<String>,
    /// The plan, as JSON, so operators can see what was asked.
    pub plan_json: String,
    /// Ledger entries written in the same transaction: what the customer will hold under a
    /// name known now (its DNS records, under the host it claims).
    pub ledger: Vec<LedgerEntry>,
}

/// A log group as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroupObserved {
    pub name: String,
    pub arn: String,
    pub retention_days: Option<i32>,
}

/// A target group to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    pub name: String,
    pub port: u16,
    pub vpc_id: String,
    pub health_check_path: String,
    pub tags: BTreeMap<String, String>,
}

/// A target group as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupObserved {
    pub name: String,
    pub arn: String,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    pub health_check_path: Option<String>,
    pub target_type: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A listener rule to create: host (and path) conditions forwarding to a target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub listener_arn: String,
    pub priority: u32,
    pub host: String,
    /// Further hosts the rule matches (the customer's own domain).
    pub also: Vec<String>,
    pub path_patterns: Vec<String>,
    pub target_group_arn: String,
    pub tags: BTreeMap<String, String>,
}

impl RuleSpec {
    /// Every host the rule matches.
    pub fn hosts(&self) -> Vec<String> {
        std::iter::once(self.host.clone()).chain(self.also.iter().cloned()).collect()
    }
}

/// A listener rule as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleObserved {
    pub arn: String,
    /// `None` for the listener's default rule.
    pub priority: Option<u32>,
    pub hosts: Vec<String>,
    pub path_patterns: Vec<String>,
    pub target_group_arns: Vec<String>,
}

impl RuleObserved {
    /// True when the rule matches exactly the host and paths given.
    pub fn matches(&self, host: &str, paths: &[String]) -> bool {
        self.matches_hosts(&[host.to_string()], paths)
    }

    /// True when the rule matches exactly the hosts (in any order and case) and paths given.
    pub fn matches_hosts(&self, hosts: &[String], paths: &[String]) -> bool {
        let sorted = |v: &[String], lower: bool| {
            let mut v: Vec<String> = v.iter().map(|s| if lower { s.to_ascii_lowercase() } else { s.clone() }).collect();
            v.sort();
            v
        };
        sorted(&self.hosts, true) == sorted(hosts, true) && sorted(&self.path_patterns, false) == sorted(paths, false)
    }
}

/// A task definition to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionSpec {
    pub family: String,
    pub container_name: String,
    pub image: String,
    pub cpu: u32,
    pub memory: u32,
    pub port: Option<u16>,
    pub environment: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub log_group: String,
    pub log_region: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub tags: BTreeMap<String, String>,
}

/// A task definition as observed: its ARN and the spec hash berth tagged it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinitionObserved {
    pub arn: String,
    pub revision: i32,
    pub active: bool,
    pub tags: BTreeMap<String, String>,
}

/// An ECS service to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub cluster: String,
    pub name: String,
    pub task_definition_arn: String,
    pub desired_count: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Target group, container name and port, for services behind the ALB.
    pub load_balancer: Option<(String, String, u16)>,
    pub client_token: String,
    pub tags: BTreeMap<String, String>,
}

/// An ECS service as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceObserved {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub deployments: usize,
    pub rollout_state: Option<String>,
    /// The security groups its tasks use.
    #[serde(default, skip_serializing)]
    pub security_groups: Vec<String>,
    /// The service's tags: who owns it. Read for ownership, never carried in a step's output.
    #[serde(default, skip_serializing)]
    pub tags: BTreeMap<String, String>,
}

impl ServiceObserved {
    /// ECS's definition of a steady service: one deployment, completed, with as many tasks
    /// running as desired.
    pub fn is_stable(&self) -> bool {
        self.status == "ACTIVE"
            && self.deployments == 1
            && self.running_count == self.desired_count
            && self.rollout_state.as_deref().is_none_or(|s| s == "COMPLETED")
    }
}

/// An alias record to upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasSpec {
    pub hosted_zone_id: String,
    pub name: String,
    pub target_dns_name: String,
    pub target_hosted_zone_id: String,
}

/// Where a customer was placed: its ALB and its priorities on that ALB's listener
/// (ascending; the lowest goes to the most specific rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub alb: AlbRef,
    pub priorities: Vec<u32>,
}

/// What the later steps need to know of the customer's ALB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbRef {
    pub name: String,
    pub listener_arn: String,
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
}

impl From<&berth_domain::pool::Alb> for AlbRef {
    fn from(a: &berth_domain::pool::Alb) -> AlbRef {
        AlbRef {
            name: a.name.clone(),
            listener_arn: a.listener_arn.clone(),
            dns_name: a.dns_name.clone(),
            canonical_hosted_zone_id: a.canonical_hosted_zone_id.clone(),
        }
    }
}

/// One target of a target group and its health as the ALB reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealthObserved {
    pub id: String,
    /// `healthy`, `initial`, `unhealthy`, `draining`, `unused`, `unavailable`.
    pub state: String,
}

/// Any record set found at a name in the hosted zone: its type, and the alias target when it
/// is an alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordObserved {
    pub name: String,
    pub record_type: String,
    /// The alias target's DNS name, for an alias record.
    pub alias_target: Option<String>,
}

impl RecordObserved {
    /// True for an A or AAAA alias to `target` (DNS names compare without case or a
    /// trailing dot).
    pub fn is_alias_to(&self, target: &str) -> bool {
        matches!(self.record_type.as_str(), "A" | "AAAA") && self.alias_target.as_deref().is_some_and(|t| same_dns_name(t, target))
    }

    /// `A alias dualstack.alb…` or `CNAME`: what an error says of it.
    pub fn label(&self) -> String {
        match &self.alias_target {
            Some(t) => format!("{} {} alias to {}", self.name.trim_end_matches('.'), self.record_type, t.trim_end_matches('.')),
            None => format!("{} {}", self.name.trim_end_matches('.'), self.record_type),
        }
    }
}

/// DNS names are case-insensitive and may carry a trailing dot.
pub fn same_dns_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// An alias record set as found in the hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasObserved {
    pub name: String,
    /// `A` or `AAAA`.
    pub record_type: String,
    pub target_dns_name: String,
    pub target_hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

/// The scalable target of a service's task count, as Application Auto Scaling has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTargetObserved {
    /// `service/{cluster}/{service}`.
    pub resource_id: String,
    pub min: u32,
    pub max: u32,
    /// Dynamic scaling in and out and scheduled scaling all suspended.
    pub suspended: bool,
}

/// A target-tracking policy on a service's average CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicyObserved {
    pub name: String,
    pub arn: String,
    /// The CPU percentage it tracks (None: a policy of another kind).
    pub cpu_target: Option<f64>,
}

/// A state machine execution as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionObserved {
    pub arn: String,
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE.
    pub status: String,
    pub input: Option<String>,
}

/// What starting a named execution found: a new one, or the one that already had the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionStart {
    pub arn: String,
    /// False when an execution of that name existed already.
    pub started: bool,
}

/// A certificate in ACM, as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateObserved {
    pub arn: String,
    pub domain: String,
    /// The names it serves: its domain name and its subject alternative names.
    pub names: Vec<String>,
    /// `PENDING_VALIDATION`, `ISSUED`, ...
    pub status: String,
    /// The CNAME that proves the domain is ours, once ACM gives it.
    pub validation: Option<ValidationRecord>,
}

impl CertificateObserved {
    pub fn issued(&self) -> bool {
        self.status == "ISSUED"
    }
}

/// A DNS validation record: a CNAME from `name` to `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRecord {
    pub name: String,
    pub value: String,
}

/// The account's IAM roles and its quota of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleQuota {
    pub used: u32,
    pub quota: u32,
}

/// A customer's role, as berth creates it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    pub path: String,
    pub trust: serde_json::Value,
    pub boundary_arn: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// A role as IAM reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleObserved {
    pub name: String,
    pub arn: String,
    pub path: String,
    /// Its permissions boundary's ARN.
    pub boundary_arn: Option<String>,
    /// Who may take it (the trust policy, decoded).
    pub trust: Option<serde_json::Value>,
    pub tags: BTreeMap<String, String>,
}

/// A customer's security group, as berth creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupSpec {
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
}

/// A security group as EC2 reports it, its rules one peer each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupObserved {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub ingress: std::collections::BTreeSet<berth_domain::access::Permission>,
    pub egress: std::collections::BTreeSet<berth_domain::access::Permission>,
    pub tags: BTreeMap<String, String>,
}
