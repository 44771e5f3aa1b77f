//! The narrow capabilities the steps depend on. Each step asks for exactly the traits it uses.

use std::future::Future;

use berth_domain::pool::{Alb, AlbState, Need};
use berth_domain::BerthError;

use crate::model::*;

pub type Result<T> = std::result::Result<T, BerthError>;

/// Customer records in the registry.
pub trait Customers: Send + Sync {
    /// Records the customer as PROVISIONING for this execution and claims its host, both or
    /// neither. Idempotent for the same execution; `Berth.Conflict` when another execution
    /// holds the customer or another customer holds the host.
    fn register(&self, r: &Registration) -> impl Future<Output = Result<CustomerRecord>> + Send;
    fn get(&self, customer_id: &str) -> impl Future<Output = Result<Option<CustomerRecord>>> + Send;
    /// Records what the resources step created or found.
    fn record_resources(
        &self,
        customer_id: &str,
        execution_id: &str,
        resources: &serde_json::Value,
    ) -> impl Future<Output = Result<()>> + Send;
    /// ACTIVE with its outputs; only the owning execution may do it.
    fn activate(
        &self,
        customer_id: &str,
        execution_id: &str,
        outputs: &serde_json::Value,
    ) -> impl Future<Output = Result<CustomerRecord>> + Send;
    /// FAILED with the error name and cause; only the owning execution may do it.
    fn mark_failed(
        &self,
        customer_id: &str,
        execution_id: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<Option<CustomerRecord>>> + Send;
}

/// Placement on the ALB pool and listener-rule priorities, atomically.
pub trait Placements: Send + Sync {
    /// Places the customer on an ALB with room for `need` and gives it `need.rules`
    /// priorities on that ALB's listener, reserving the capacity; or returns the placement
    /// it already has. Never gives one number to two customers, never fills an ALB past a
    /// quota; `Berth.QuotaExceeded` naming what is full when no ALB has room.
    fn place(&self, customer_id: &str, execution_id: &str, need: &Need) -> impl Future<Output = Result<Placement>> + Send;
    /// Returns the customer's priorities to its listener's free list and its capacity to
    /// its ALB.
    fn release(&self, customer_id: &str) -> impl Future<Output = Result<Vec<u32>>> + Send;
    /// Some of the customer's priorities turned out to be held on the live listener by
    /// rules berth does not own: records them as such (never handed out again, counted
    /// against the ALB) and gives the customer others. Returns its priorities, ascending.
    fn set_aside(&self, customer_id: &str, execution_id: &str, held: &[(u32, String)]) -> impl Future<Output = Result<Vec<u32>>> + Send;
}

/// The pool of shared ALBs.
pub trait Pool: Send + Sync {
    fn albs(&self) -> impl Future<Output = Result<Vec<Alb>>> + Send;
    /// Adds an ALB; `Berth.Conflict` if the name is taken.
    fn add(&self, alb: &Alb) -> impl Future<Output = Result<()>> + Send;
    fn set_state(&self, name: &str, state: AlbState) -> impl Future<Output = Result<Alb>> + Send;
}

pub trait LogGroups: Send + Sync {
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<LogGroupObserved>>> + Send;
    fn create(&self, name: &str, tags: &std::collections::BTreeMap<String, String>) -> impl Future<Output = Result<()>> + Send;
    fn set_retention(&self, name: &str, days: i32) -> impl Future<Output = Result<()>> + Send;
}

pub trait TargetGroups: Send + Sync {
    fn find(&self, name: &str) -> impl Future<Output = Result<Option<TargetGroupObserved>>> + Send;
    fn create(&self, spec: &TargetGroupSpec) -> impl Future<Output = Result<TargetGroupObserved>> + Send;
    fn set_health_check_path(&self, arn: &str, path: &str) -> impl Future<Output = Result<()>> + Send;
}

pub trait ListenerRules: Send + Sync {
    fn list(&self, listener_arn: &str) -> impl Future<Output = Result<Vec<RuleObserved>>> + Send;
    /// Creates the rule; `Berth.Conflict` (code `PriorityInUse`) when the priority is taken.
    fn create(&self, spec: &RuleSpec) -> impl Future<Output = Result<RuleObserved>> + Send;
    fn set_target(&self, rule_arn: &str, target_group_arn: &str) -> impl Future<Output = Result<()>> + Send;
}

pub trait TaskDefinitions: Send + Sync {
    /// The latest revision of the family, with its tags.
    fn latest(&self, family: &str) -> impl Future<Output = Result<Option<TaskDefinitionObserved>>> + Send;
    fn register(&self, spec: &TaskDefinitionSpec) -> impl Future<Output = Result<TaskDefinitionObserved>> + Send;
}

pub trait Services: Send + Sync {
    /// The named services on the cluster (missing ones are left out).
    fn describe(&self, cluster: &str, names: &[String]) -> impl Future<Output = Result<Vec<ServiceObserved>>> + Send;
    fn create(&self, spec: &ServiceSpec) -> impl Future<Output = Result<ServiceObserved>> + Send;
    fn update(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
    ) -> impl Future<Output = Result<ServiceObserved>> + Send;
}

pub trait Dns: Send + Sync {
    /// UPSERTs A and AAAA alias records; returns the change id.
    fn upsert_alias(&self, spec: &AliasSpec) -> impl Future<Output = Result<String>> + Send;
}
