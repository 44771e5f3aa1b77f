//! The narrow capabilities the steps depend on. Each step asks for exactly the traits it uses.

use std::collections::BTreeMap;
use std::future::Future;

use berth_domain::access::Permission;
use berth_domain::ledger::LedgerEntry;
use berth_domain::lifecycle::Operation;
use berth_domain::pool::{Alb, AlbState, Need};
use berth_domain::BerthError;

use crate::model::*;

pub type Result<T> = std::result::Result<T, BerthError>;

/// Customer records in the registry.
pub trait Customers: Send + Sync {
    /// Records the customer as PROVISIONING for this execution, claims its host and writes
    /// the registration's ledger entries, all or nothing. Idempotent for the same execution;
    /// `Berth.Conflict` when another execution holds the customer or another customer holds
    /// the host.
    fn register(&self, r: &Registration) -> impl Future<Output = Result<()>> + Send;
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
    /// FAILED or ROLLBACK_FAILED with the error name, cause and leftovers; only the owning
    /// execution may do it (`None` when another one owns the customer).
    fn mark_failed(
        &self,
        customer_id: &str,
        execution_id: &str,
        failure: &Failure,
    ) -> impl Future<Output = Result<Option<CustomerRecord>>> + Send;
    /// Claims a host for the customer (an update adding a product on a host of its own);
    /// again for the same customer, nothing. `Berth.Conflict` when another customer holds it.
    fn claim_host(&self, customer_id: &str, host: &str) -> impl Future<Output = Result<()>> + Send;
    /// Gives the host back, if this customer holds it. True when a claim was removed.
    fn release_host(&self, customer_id: &str, host: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Counts the customer among those that serve their own domain with `certificate` on
    /// `listener` (customers may share one: a certificate for several names); again, nothing.
    fn share_certificate(&self, customer_id: &str, listener: &str, certificate: &str) -> impl Future<Output = Result<()>> + Send;
    /// Takes the customer off the certificate's users on the listener; returns the customers
    /// that still use it there (none: it may come off the listener).
    fn unshare_certificate(&self, customer_id: &str, listener: &str, certificate: &str)
        -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Takes the customer for a lifecycle execution: from one of `op`'s starting states to
    /// its in-progress state, owned by `execution_id`, in one conditional write (again, for
    /// the same execution, returns the record as it is). `Berth.NotFound` for a customer
    /// never registered; `Berth.Conflict` naming the execution that holds it, or the state
    /// it is in when `op` cannot start there.
    fn begin(&self, customer_id: &str, execution_id: &str, op: Operation) -> impl Future<Output = Result<CustomerRecord>> + Send;
    /// Remembers each service's desired count before a suspend scales it to 0, unless this
    /// suspend remembered them already; returns the counts remembered.
    fn remember_counts(
        &self,
        customer_id: &str,
        execution_id: &str,
        counts: &BTreeMap<String, u32>,
    ) -> impl Future<Output = Result<BTreeMap<String, u32>>> + Send;
    /// Ends a lifecycle execution: the customer's state and the history entry, together;
    /// only the owning execution may do it (`None` when another one owns the customer).
    fn settle(&self, customer_id: &str, execution_id: &str, s: &Settlement) -> impl Future<Output = Result<Option<CustomerRecord>>> + Send;
    /// Every customer record (a rollout chooses among them).
    fn list(&self) -> impl Future<Output = Result<Vec<CustomerRecord>>> + Send;
    /// The customer's history, oldest first.
    fn history(&self, customer_id: &str) -> impl Future<Output = Result<Vec<HistoryEntry>>> + Send;
}

/// The resource ledger: what berth created for each customer.
pub trait Ledger: Send + Sync {
    /// Records the entries (again: recording one twice keeps one).
    fn record(&self, customer_id: &str, entries: &[LedgerEntry]) -> impl Future<Output = Result<()>> + Send;
    fn entries(&self, customer_id: &str) -> impl Future<Output = Result<Vec<LedgerEntry>>> + Send;
    /// Removes the entries of resources that are gone.
    fn forget(&self, customer_id: &str, entries: &[LedgerEntry]) -> impl Future<Output = Result<()>> + Send;
}

/// Step Functions executions, for intake.
pub trait Executions: Send + Sync {
    /// Starts an execution with this name; `started` is false when the name was taken
    /// (Step Functions keeps names unique per state machine).
    fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> impl Future<Output = Result<ExecutionStart>> + Send;
    fn find(&self, execution_arn: &str) -> impl Future<Output = Result<Option<ExecutionObserved>>> + Send;
}

/// berth's event bus: the events berth puts there for the portal.
pub trait Events: Send + Sync {
    /// Puts one event (its detail a JSON object) on `bus` from `source`; an entry the bus
    /// refuses is an error.
    fn put(&self, bus: &str, source: &str, detail_type: &str, detail: &serde_json::Value) -> impl Future<Output = Result<()>> + Send;
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
    /// For an update that adds or removes products, on the customer this execution holds:
    /// gives back `release` (numbers of its rules that are gone), then takes numbers on its
    /// listener until it holds `wanted`, and records `target_groups` and `certificates` as the
    /// target groups and listener certificates it holds, the ALB's counts moved by the
    /// difference (never past a quota: `Berth.QuotaExceeded`). Holding `wanted` numbers, none
    /// of them in `release`, and those counts, it changes nothing. Returns its priorities,
    /// ascending.
    fn resize(
        &self,
        customer_id: &str,
        execution_id: &str,
        release: &[u32],
        wanted: usize,
        target_groups: u32,
        certificates: u32,
    ) -> impl Future<Output = Result<Vec<u32>>> + Send;
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
    /// Creates the group with its tags; false when a group of that name existed already.
    fn create(&self, name: &str, tags: &std::collections::BTreeMap<String, String>) -> impl Future<Output = Result<bool>> + Send;
    /// The group's tags (by its ARN, as `list` observes it).
    fn tags(&self, arn: &str) -> impl Future<Output = Result<std::collections::BTreeMap<String, String>>> + Send;
    fn set_retention(&self, name: &str, days: i32) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the group; false when it was not there.
    fn delete(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait TargetGroups: Send + Sync {
    fn find(&self, name: &str) -> impl Future<Output = Result<Option<TargetGroupObserved>>> + Send;
    fn create(&self, spec: &TargetGroupSpec) -> impl Future<Output = Result<TargetGroupObserved>> + Send;
    fn set_health_check_path(&self, arn: &str, path: &str) -> impl Future<Output = Result<()>> + Send;
    /// The registered targets and their health.
    fn health(&self, arn: &str) -> impl Future<Output = Result<Vec<TargetHealthObserved>>> + Send;
    /// Deletes the target group; false when it was not there.
    fn delete(&self, arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait ListenerRules: Send + Sync {
    fn list(&self, listener_arn: &str) -> impl Future<Output = Result<Vec<RuleObserved>>> + Send;
    /// Creates the rule; `Berth.Conflict` (code `PriorityInUse`) when the priority is taken.
    fn create(&self, spec: &RuleSpec) -> impl Future<Output = Result<RuleObserved>> + Send;
    fn set_target(&self, rule_arn: &str, target_group_arn: &str) -> impl Future<Output = Result<()>> + Send;
    /// Replaces the rule's conditions: these hosts, and these paths (none: every path).
    fn set_conditions(&self, rule_arn: &str, hosts: &[String], paths: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Moves rules to new priorities (rule ARN, priority), in one request.
    fn set_priorities(&self, moves: &[(String, u32)]) -> impl Future<Output = Result<()>> + Send;
    /// The tags of each rule (by ARN).
    fn tags(
        &self,
        rule_arns: &[String],
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>>> + Send;
    /// Deletes the rule; false when it was not there.
    fn delete(&self, rule_arn: &str) -> impl Future<Output = Result<bool>> + Send;
    /// The listener's certificates beside its default one (for SNI), by ARN.
    fn certificates(&self, listener_arn: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Adds a certificate to the listener (for SNI); `Berth.QuotaExceeded` when the listener
    /// holds its 25.
    fn add_certificate(&self, listener_arn: &str, certificate_arn: &str) -> impl Future<Output = Result<()>> + Send;
    /// Takes a certificate off the listener; false when it was not on it.
    fn remove_certificate(&self, listener_arn: &str, certificate_arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait TaskDefinitions: Send + Sync {
    /// The latest revision of the family, with its tags.
    fn latest(&self, family: &str) -> impl Future<Output = Result<Option<TaskDefinitionObserved>>> + Send;
    fn register(&self, spec: &TaskDefinitionSpec) -> impl Future<Output = Result<TaskDefinitionObserved>> + Send;
    /// The families whose names start with `prefix` and that have an ACTIVE revision.
    fn families(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The ARNs of the family's ACTIVE revisions.
    fn revisions(&self, family: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Deregisters the revision and deletes it; false when it was not there.
    fn retire(&self, arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait Services: Send + Sync {
    /// The named services on the cluster, with their tags (missing ones are left out).
    fn describe(&self, cluster: &str, names: &[String]) -> impl Future<Output = Result<Vec<ServiceObserved>>> + Send;
    fn create(&self, spec: &ServiceSpec) -> impl Future<Output = Result<ServiceObserved>> + Send;
    /// Moves the service to the task definition and count; with `network` (subnets,
    /// security groups), its tasks also to those.
    fn update(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
        network: Option<(&[String], &[String])>,
    ) -> impl Future<Output = Result<ServiceObserved>> + Send;
    /// Scales the service to 0, then deletes it; false when it was not there (or already
    /// deleted).
    fn remove(&self, cluster: &str, name: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Application Auto Scaling of a service's task count (`ecs:service:DesiredCount`).
/// The certificates berth requests for customers (ACM).
pub trait Certificates: Send + Sync {
    /// The certificate for exactly `domain` that berth requested for the customer (by its
    /// tags), pending validation or issued.
    fn find(&self, domain: &str, customer: &str) -> impl Future<Output = Result<Option<CertificateObserved>>> + Send;
    /// Requests a DNS-validated certificate; the same `token` within the hour gives the same one.
    fn request(
        &self,
        domain: &str,
        token: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String>> + Send;
    fn describe(&self, arn: &str) -> impl Future<Output = Result<Option<CertificateObserved>>> + Send;
    /// Deletes the certificate; false when it was not there.
    fn delete(&self, arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// The customers' own IAM roles.
pub trait Roles: Send + Sync {
    /// The account's roles and its quota of them (IAM's account summary).
    fn account(&self) -> impl Future<Output = Result<RoleQuota>> + Send;
    /// The role of that name, if there is one.
    fn find(&self, name: &str) -> impl Future<Output = Result<Option<RoleObserved>>> + Send;
    /// Creates the role under its path, with its trust policy, permissions boundary and tags.
    fn create(&self, spec: &RoleSpec) -> impl Future<Output = Result<RoleObserved>> + Send;
    /// Sets who may take the role.
    fn set_trust(&self, name: &str, document: &serde_json::Value) -> impl Future<Output = Result<()>> + Send;
    /// The inline policy of that name, its document.
    fn policy(&self, name: &str, policy: &str) -> impl Future<Output = Result<Option<serde_json::Value>>> + Send;
    /// Puts (or replaces) the inline policy of that name.
    fn put_policy(&self, name: &str, policy: &str, document: &serde_json::Value) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the role's inline policies, then the role; false when it was not there.
    fn delete(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// The customers' own security groups.
pub trait SecurityGroups: Send + Sync {
    /// The group of that name in the VPC, if there is one.
    fn find(&self, vpc_id: &str, name: &str) -> impl Future<Output = Result<Option<SecurityGroupObserved>>> + Send;
    /// Creates the group (with AWS's default outbound rule) and tags it.
    fn create(&self, spec: &SecurityGroupSpec) -> impl Future<Output = Result<SecurityGroupObserved>> + Send;
    /// Adds inbound (or, with `egress`, outbound) rules.
    fn authorize(&self, group_id: &str, egress: bool, rules: &[Permission]) -> impl Future<Output = Result<()>> + Send;
    /// Removes inbound (or outbound) rules.
    fn revoke(&self, group_id: &str, egress: bool, rules: &[Permission]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the group; false when it was not there. `Berth.Transient` while a network
    /// interface (a stopping task's) still uses it.
    fn delete(&self, group_id: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait Scaling: Send + Sync {
    /// The service's scalable target, if it is registered.
    fn target(&self, cluster: &str, service: &str) -> impl Future<Output = Result<Option<ScalableTargetObserved>>> + Send;
    /// The scalable targets of those services that have one (one call for up to 50).
    fn targets(&self, cluster: &str, services: &[String]) -> impl Future<Output = Result<Vec<ScalableTargetObserved>>> + Send;
    /// Registers the target, or changes its bounds and whether its scaling is suspended.
    fn register(&self, cluster: &str, service: &str, min: u32, max: u32, suspended: bool) -> impl Future<Output = Result<()>> + Send;
    /// The service's scaling policies.
    fn policies(&self, cluster: &str, service: &str) -> impl Future<Output = Result<Vec<ScalingPolicyObserved>>> + Send;
    /// Puts (or changes) the policy `name` that tracks the service's average CPU at `cpu_target`%.
    fn put_cpu_policy(&self, cluster: &str, service: &str, name: &str, cpu_target: u32) -> impl Future<Output = Result<()>> + Send;
    /// Deregisters the target, and with it its policies; false when none was registered.
    fn deregister(&self, cluster: &str, service: &str) -> impl Future<Output = Result<bool>> + Send;
}

pub trait Dns: Send + Sync {
    /// UPSERTs A and AAAA alias records; returns the change id.
    fn upsert_alias(&self, spec: &AliasSpec) -> impl Future<Output = Result<String>> + Send;
    /// Every record set at exactly this name, of any type.
    fn records(&self, hosted_zone_id: &str, name: &str) -> impl Future<Output = Result<Vec<RecordObserved>>> + Send;
    /// The A and AAAA alias records of exactly this name.
    fn aliases(&self, hosted_zone_id: &str, name: &str) -> impl Future<Output = Result<Vec<AliasObserved>>> + Send;
    /// Deletes exactly these records (as found); false when there was nothing to delete.
    fn delete_aliases(&self, hosted_zone_id: &str, records: &[AliasObserved]) -> impl Future<Output = Result<bool>> + Send;
    /// The public hosted zone of the account that holds `name` (the one of the longest
    /// matching domain), if any.
    fn zone_of(&self, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// The CNAME at exactly `name`, its value.
    fn cname(&self, hosted_zone_id: &str, name: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// UPSERTs a CNAME (a certificate's validation record).
    fn upsert_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the CNAME at `name` if it has that value; false when there was none.
    fn delete_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Every port, in one bundle: a step asks for the bundle and uses the ports it needs, so
/// neither steps nor tests spell out a type parameter per port. The SDK bundle is
/// [`crate::aws::Aws`]; the in-memory one is [`crate::memory::Memory`].
pub trait Ports: Send + Sync {
    type Customers: Customers;
    type Ledger: Ledger;
    type Placements: Placements;
    type Pool: Pool;
    type Executions: Executions;
    type LogGroups: LogGroups;
    type TargetGroups: TargetGroups;
    type ListenerRules: ListenerRules;
    type TaskDefinitions: TaskDefinitions;
    type Services: Services;
    type Dns: Dns;
    type Events: Events;
    type Scaling: Scaling;
    type Certificates: Certificates;
    type Roles: Roles;
    type SecurityGroups: SecurityGroups;

    fn customers(&self) -> &Self::Customers;
    fn ledger(&self) -> &Self::Ledger;
    fn placements(&self) -> &Self::Placements;
    fn pool(&self) -> &Self::Pool;
    fn executions(&self) -> &Self::Executions;
    fn logs(&self) -> &Self::LogGroups;
    fn target_groups(&self) -> &Self::TargetGroups;
    fn rules(&self) -> &Self::ListenerRules;
    fn task_definitions(&self) -> &Self::TaskDefinitions;
    fn services(&self) -> &Self::Services;
    fn dns(&self) -> &Self::Dns;
    fn events(&self) -> &Self::Events;
    fn scaling(&self) -> &Self::Scaling;
    fn certificates(&self) -> &Self::Certificates;
    fn roles(&self) -> &Self::Roles;
    fn security_groups(&self) -> &Self::SecurityGroups;
}

impl<T: Ports> Ports for &T {
    type Customers = T::Customers;
    type Ledger = T::Ledger;
    type Placements = T::Placements;
    type Pool = T::Pool;
    type Executions = T::Executions;
    type LogGroups = T::LogGroups;
    type TargetGroups = T::TargetGroups;
    type ListenerRules = T::ListenerRules;
    type TaskDefinitions = T::TaskDefinitions;
    type Services = T::Services;
    type Dns = T::Dns;
    type Events = T::Events;
    type Scaling = T::Scaling;
    type Certificates = T::Certificates;
    type Roles = T::Roles;
    type SecurityGroups = T::SecurityGroups;

    fn customers(&self) -> &Self::Customers {
        (**self).customers()
    }
    fn ledger(&self) -> &Self::Ledger {
        (**self).ledger()
    }
    fn placements(&self) -> &Self::Placements {
        (**self).placements()
    }
    fn pool(&self) -> &Self::Pool {
        (**self).pool()
    }
    fn executions(&self) -> &Self::Executions {
        (**self).executions()
    }
    fn logs(&self) -> &Self::LogGroups {
        (**self).logs()
    }
    fn target_groups(&self) -> &Self::TargetGroups {
        (**self).target_groups()
    }
    fn rules(&self) -> &Self::ListenerRules {
        (**self).rules()
    }
    fn task_definitions(&self) -> &Self::TaskDefinitions {
        (**self).task_definitions()
    }
    fn services(&self) -> &Self::Services {
        (**self).services()
    }
    fn dns(&self) -> &Self::Dns {
        (**self).dns()
    }
    fn events(&self) -> &Self::Events {
        (**self).events()
    }
    fn scaling(&self) -> &Self::Scaling {
        (**self).scaling()
    }
    fn certificates(&self) -> &Self::Certificates {
        (**self).certificates()
    }
    fn roles(&self) -> &Self::Roles {
        (**self).roles()
    }
    fn security_groups(&self) -> &Self::SecurityGroups {
        (**self).security_groups()
    }
}
