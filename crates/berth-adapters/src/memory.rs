//! In-memory implementations of every port, for the steps' unit tests. They keep AWS's
//! rules where the steps depend on them (a priority is held by one rule, names are unique,
//! conditional registry writes) and count calls so tests can check re-runs change nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use berth_domain::allocation::{self, Ledger as PriorityLedger};
use berth_domain::ledger::LedgerEntry;
use berth_domain::lifecycle::Operation;
use berth_domain::pool::{self, Alb, AlbState, Need};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::model::*;
use crate::ports::*;

/// Everything the fake AWS holds.
#[derive(Debug, Default)]
pub struct World {
    pub customers: BTreeMap<String, CustomerRecord>,
    pub hosts: BTreeMap<String, String>,
    /// The customers serving their own domain with a certificate, by (listener, certificate).
    pub certificate_users: BTreeMap<(String, String), std::collections::BTreeSet<String>>,
    pub ledgers: BTreeMap<String, PriorityLedger>,
    /// Lifecycle history, per customer, by execution.
    pub history: BTreeMap<String, BTreeMap<String, HistoryEntry>>,
    /// The resource ledger, per customer.
    pub resources: BTreeMap<String, BTreeSet<LedgerEntry>>,
    /// Registered targets per target group ARN, as ECS registers them for running tasks.
    pub targets: BTreeMap<String, Vec<TargetHealthObserved>>,
    /// Target groups (by ARN) whose targets never pass their health check.
    pub unhealthy: BTreeSet<String>,
    /// Operations that fail, with the error kind they fail with.
    pub failing: BTreeMap<&'static str, berth_domain::ErrorKind>,
    pub executions: BTreeMap<String, ExecutionObserved>,
    /// Events put on a bus, in order: (bus, source, detail-type, detail).
    pub events: Vec<(String, String, String, serde_json::Value)>,
    pub log_groups: BTreeMap<String, (Option<i32>, BTreeMap<String, String>)>,
    pub target_groups: BTreeMap<String, TargetGroupObserved>,
    pub rules: BTreeMap<String, Vec<RuleObserved>>,
    pub task_definitions: BTreeMap<String, Vec<TaskDefinitionObserved>>,
    pub services: BTreeMap<String, ServiceObserved>,
    pub records: BTreeMap<String, AliasSpec>,
    /// Record sets made outside berth, by name (no trailing dot).
    pub other_records: BTreeMap<String, Vec<RecordObserved>>,
    /// Listener rules' tags, by rule ARN.
    pub rule_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Each listener's certificates beside its default one.
    pub listener_certificates: BTreeMap<String, Vec<String>>,
    /// Hosted zones of the account by domain (without the trailing dot): their ids.
    pub zones: BTreeMap<String, String>,
    /// CNAMEs by (zone, name without the trailing dot): their values.
    pub cnames: BTreeMap<(String, String), String>,
    /// ACM certificates by ARN: the certificate and its tags. A certificate is issued once
    /// its validation record is in a zone.
    pub acm: BTreeMap<String, (CertificateObserved, BTreeMap<String, String>)>,
    pub pool: Vec<Alb>,
    pub foreign: BTreeMap<String, Vec<u32>>,
    /// The target group and port of each service behind the load balancer.
    pub balanced: BTreeMap<String, (String, u16)>,
    /// Scalable targets by resource id, with their policies (name to CPU target).
    pub scaling: BTreeMap<String, (ScalableTargetObserved, BTreeMap<String, u32>)>,
    /// IAM roles by name, with their inline policies.
    pub roles: BTreeMap<String, (RoleObserved, BTreeMap<String, serde_json::Value>)>,
    /// The account's role quota (IAM's default, 1,000, when unset).
    pub role_quota: Option<u32>,
    /// Roles of the account that are not berth's (counted in its summary only).
    pub other_roles: u32,
    /// Security groups by id.
    pub security_groups: BTreeMap<String, SecurityGroupObserved>,
    /// Mutating calls made, by operation name.
    pub writes: BTreeMap<&'static str, usize>,
    next_id: u64,
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    fn wrote(&mut self, op: &'static str) {
        *self.writes.entry(op).or_default() += 1;
    }
    /// ECS registers one target per running task of a service behind the load balancer.
    fn register_targets(&mut self, service: &str, count: u32) {
        if let Some((tg, port)) = self.balanced.get(service).cloned() {
            let targets =
                (0..count).map(|i| TargetHealthObserved { id: format!("10.0.0.{}:{port}", i + 1), state: "healthy".into() }).collect();
            self.targets.insert(tg, targets);
        }
    }
    /// An issued certificate for `names` in ACM that berth did not request (one a customer's
    /// own domain names).
    pub fn import_certificate(&mut self, arn: &str, names: &[&str]) {
        let c = CertificateObserved {
            arn: arn.to_string(),
            domain: names.first().map(|n| n.to_string()).unwrap_or_default(),
            names: names.iter().map(|n| n.to_string()).collect(),
            status: "ISSUED".into(),
            validation: None,
        };
        self.acm.insert(arn.to_string(), (c, BTreeMap::new()));
    }
    pub fn total_writes(&self) -> usize {
        self.writes.values().sum()
    }
    /// Fails the call when a test made `op` fail.
    fn check(&self, op: &'static str) -> Result<()> {
        match self.failing.get(op) {
            Some(kind) => Err(BerthError::Aws {
                kind: *kind,
                service: "memory",
                operation: op,
                code: Some("Injected".into()),
                message: Some(format!("{op} fails")),
                source: "injected".into(),
            }),
            None => Ok(()),
        }
    }
    /// Everything that exists and is tagged (or named) for the customer.
    pub fn remains(&self, customer_id: &str) -> Vec<String> {
        let mut left = Vec::new();
        let tagged =
            |tags: &BTreeMap<String, String>| tags.get(berth_domain::naming::TAG_CUSTOMER).map(String::as_str) == Some(customer_id);
        left.extend(self.log_groups.iter().filter(|(_, (_, t))| tagged(t)).map(|(n, _)| format!("log group {n}")));
        left.extend(self.target_groups.values().filter(|tg| tagged(&tg.tags)).map(|tg| format!("target group {}", tg.name)));
        let host_prefix = format!("{customer_id}.");
        left.extend(
            self.rules
                .values()
                .flatten()
                .filter(|r| r.hosts.iter().any(|h| h.starts_with(&host_prefix)))
                .map(|r| format!("rule {}", r.arn)),
        );
        left.extend(
            self.task_definitions
                .values()
                .flatten()
                .filter(|td| td.active && tagged(&td.tags))
                .map(|td| format!("task definition {}", td.arn)),
        );
        left.extend(self.services.values().filter(|s| s.status == "ACTIVE" && tagged(&s.tags)).map(|s| format!("service {}", s.name)));
        left.extend(self.records.values().filter(|r| r.name.starts_with(&host_prefix)).map(|r| format!("record {}", r.name)));
        left.extend(self.roles.values().filter(|(r, _)| tagged(&r.tags)).map(|(r, _)| format!("role {}", r.name)));
        left.extend(self.security_groups.values().filter(|g| tagged(&g.tags)).map(|g| format!("security group {}", g.id)));
        left
    }
}

/// The fake AWS: implements every port.
#[derive(Debug, Default)]
pub struct Memory {
    pub world: Mutex<World>,
}

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut w)
    }
}

impl Customers for Memory {
    async fn register(&self, r: &Registration) -> Result<()> {
        self.with(|w| {
            if let Some(c) = w.customers.get(&r.customer_id) {
                if c.execution_id != r.execution_id && !c.state.onboardable() {
                    return Err(BerthError::Conflict(format!(
                        "customer '{}' is already {} by execution {}",
                        r.customer_id, c.state, c.execution_id
                    )));
                }
            }
            for h in std::iter::once(&r.host).chain(&r.product_hosts) {
                if let Some(owner) = w.hosts.get(h) {
                    if owner != &r.customer_id {
                        return Err(BerthError::Conflict(format!("host '{h}' is already claimed by another customer")));
                    }
                }
            }
            w.wrote("Register");
            for h in std::iter::once(&r.host).chain(&r.product_hosts) {
                w.hosts.insert(h.clone(), r.customer_id.clone());
            }
            let rec = w.customers.entry(r.customer_id.clone()).or_insert_with(|| CustomerRecord {
                customer_id: r.customer_id.clone(),
                state: CustomerState::Provisioning,
                execution_id: r.execution_id.clone(),
                host: r.host.clone(),
                display_name: r.display_name.clone(),
                alb_name: None,
                listener_arn: None,
                priorities: Vec::new(),
                target_groups_held: 0,
                certificates_held: 0,
                resources: None,
                outputs: None,
                error: None,
                cause: None,
                leftovers: Vec::new(),
                plan: None,
                operation: None,
                previous_state: None,
                suspended_counts: BTreeMap::new(),
                suspend_reason: None,
            });
            rec.state = CustomerState::Provisioning;
            rec.plan = serde_json::from_str(&r.plan_json).ok();
            rec.operation = None;
            rec.previous_state = None;
            rec.suspended_counts.clear();
            rec.suspend_reason = None;
            rec.execution_id = r.execution_id.clone();
            rec.error = None;
            rec.cause = None;
            rec.leftovers.clear();
            let ledger = w.resources.entry(r.customer_id.clone()).or_default();
            for e in &r.ledger {
                ledger.retain(|x| (x.kind, &x.id) != (e.kind, &e.id));
                ledger.insert(e.clone());
            }
            Ok(())
        })
    }

    async fn get(&self, customer_id: &str) -> Result<Option<CustomerRecord>> {
        Ok(self.with(|w| w.customers.get(customer_id).cloned()))
    }

    async fn record_resources(&self, customer_id: &str, execution_id: &str, resources: &serde_json::Value) -> Result<()> {
        self.with(|w| {
            let c = owned(w, customer_id, execution_id)?;
            c.resources = Some(resources.clone());
            Ok(())
        })
    }

    async fn activate(&self, customer_id: &str, execution_id: &str, outputs: &serde_json::Value) -> Result<CustomerRecord> {
        self.with(|w| {
            let c = owned(w, customer_id, execution_id)?;
            c.state = CustomerState::Active;
            c.outputs = Some(outputs.clone());
            Ok(c.clone())
        })
    }

    async fn mark_failed(&self, customer_id: &str, execution_id: &str, failure: &Failure) -> Result<Option<CustomerRecord>> {
        self.with(|w| {
            w.check("MarkFailed")?;
            match owned(w, customer_id, execution_id) {
                Ok(c) => {
                    c.state = failure.state;
                    c.error = Some(failure.error.clone());
                    c.cause = Some(failure.cause.clone());
                    c.leftovers = failure.leftovers.clone();
                    Ok(Some(c.clone()))
                }
                Err(_) => Ok(None),
            }
        })
    }

    async fn claim_host(&self, customer_id: &str, host: &str) -> Result<()> {
        self.with(|w| {
            w.check("ClaimHost")?;
            match w.hosts.get(host) {
                Some(owner) if owner != customer_id => {
                    Err(BerthError::Conflict(format!("host '{host}' is already claimed by another customer")))
                }
                Some(_) => Ok(()),
                None => {
                    w.wrote("ClaimHost");
                    w.hosts.insert(host.to_string(), customer_id.to_string());
                    Ok(())
                }
            }
        })
    }

    async fn release_host(&self, customer_id: &str, host: &str) -> Result<bool> {
        self.with(|w| {
            w.check("ReleaseHost")?;
            if w.hosts.get(host).map(String::as_str) == Some(customer_id) {
                w.hosts.remove(host);
                w.wrote("ReleaseHost");
                return Ok(true);
            }
            Ok(false)
        })
    }
    async fn share_certificate(&self, customer_id: &str, listener: &str, certificate: &str) -> Result<()> {
        self.with(|w| {
            w.check("ShareCertificate")?;
            w.certificate_users.entry((listener.to_string(), certificate.to_string())).or_default().insert(customer_id.to_string());
            Ok(())
        })
    }
    async fn unshare_certificate(&self, customer_id: &str, listener: &str, certificate: &str) -> Result<Vec<String>> {
        self.with(|w| {
            w.check("UnshareCertificate")?;
            let key = (listener.to_string(), certificate.to_string());
            let Some(users) = w.certificate_users.get_mut(&key) else { return Ok(Vec::new()) };
            users.remove(customer_id);
            let left: Vec<String> = users.iter().cloned().collect();
            if left.is_empty() {
                w.certificate_users.remove(&key);
            }
            Ok(left)
        })
    }

    async fn begin(&self, customer_id: &str, execution_id: &str, op: Operation) -> Result<CustomerRecord> {
        self.with(|w| {
            w.check("Begin")?;
            let existing = w.customers.get(customer_id).cloned();
            let Some(c) = w.customers.get_mut(customer_id).filter(|c| op.allowed_from().contains(&c.state)) else {
                return crate::model::begin_refused(customer_id, execution_id, op, existing);
            };
            c.previous_state = Some(c.state);
            c.state = op.during();
            c.execution_id = execution_id.to_string();
            c.operation = Some(op);
            c.error = None;
            c.cause = None;
            c.leftovers.clear();
            let c = c.clone();
            w.wrote("Begin");
            Ok(c)
        })
    }

    async fn remember_counts(
        &self,
        customer_id: &str,
        execution_id: &str,
        counts: &BTreeMap<String, u32>,
    ) -> Result<BTreeMap<String, u32>> {
        self.with(|w| {
            w.check("RememberCounts")?;
            let c = owned(w, customer_id, execution_id)?;
            if c.suspended_counts.is_empty() {
                c.suspended_counts = counts.clone();
            }
            let kept = c.suspended_counts.clone();
            w.wrote("RememberCounts");
            Ok(kept)
        })
    }

    async fn settle(&self, customer_id: &str, execution_id: &str, s: &Settlement) -> Result<Option<CustomerRecord>> {
        self.with(|w| {
            w.check("Settle")?;
            let c = match owned(w, customer_id, execution_id) {
                Ok(c) => c,
                Err(_) => return Ok(None),
            };
            c.state = s.state;
            c.leftovers = s.leftovers.clone();
            c.error = s.error.as_ref().map(|e| e.0.clone());
            c.cause = s.error.as_ref().map(|e| e.1.clone());
            c.operation = None;
            c.previous_state = None;
            if let Some(good) = &s.good_plan {
                c.plan = serde_json::from_str(good).ok();
            }
            if let Some(o) = &s.outputs {
                c.outputs = Some(o.clone());
            }
            match s.state {
                CustomerState::Suspended => c.suspend_reason = s.suspend_reason.clone(),
                CustomerState::Active => {
                    c.suspended_counts.clear();
                    c.suspend_reason = None;
                }
                CustomerState::Deleted => {
                    c.suspended_counts.clear();
                    c.suspend_reason = None;
                    c.outputs = None;
                    c.resources = None;
                }
                _ => {}
            }
            let c = c.clone();
            w.wrote("Settle");
            w.history.entry(customer_id.to_string()).or_default().insert(execution_id.to_string(), s.history.clone());
            Ok(Some(c))
        })
    }

    async fn list(&self) -> Result<Vec<CustomerRecord>> {
        Ok(self.with(|w| w.customers.values().cloned().collect()))
    }

    async fn history(&self, customer_id: &str) -> Result<Vec<HistoryEntry>> {
        Ok(self.with(|w| w.history.get(customer_id).map(|h| h.values().cloned().collect()).unwrap_or_default()))
    }
}

impl crate::ports::Ledger for Memory {
    async fn record(&self, customer_id: &str, entries: &[LedgerEntry]) -> Result<()> {
        self.with(|w| {
            w.check("RecordLedger")?;
            w.wrote("RecordLedger");
            w.resources.entry(customer_id.to_string()).or_default().extend(entries.iter().cloned());
            Ok(())
        })
    }
    async fn entries(&self, customer_id: &str) -> Result<Vec<LedgerEntry>> {
        Ok(self.with(|w| w.resources.get(customer_id).map(|s| s.iter().cloned().collect()).unwrap_or_default()))
    }
    async fn forget(&self, customer_id: &str, entries: &[LedgerEntry]) -> Result<()> {
        self.with(|w| {
            w.wrote("ForgetLedger");
            if let Some(set) = w.resources.get_mut(customer_id) {
                for e in entries {
                    set.remove(e);
                }
            }
            Ok(())
        })
    }
}

impl Executions for Memory {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<ExecutionStart> {
        self.with(|w| {
            w.check("StartExecution")?;
            let arn = format!("{}:{name}", state_machine_arn.replace(":stateMachine:", ":execution:"));
            if w.executions.contains_key(&arn) {
                return Ok(ExecutionStart { arn, started: false });
            }
            w.wrote("StartExecution");
            w.executions.insert(
                arn.clone(),
                ExecutionObserved { arn: arn.clone(), name: name.to_string(), status: "RUNNING".into(), input: Some(input.to_string()) },
            );
            Ok(ExecutionStart { arn, started: true })
        })
    }
    async fn find(&self, execution_arn: &str) -> Result<Option<ExecutionObserved>> {
        Ok(self.with(|w| w.executions.get(execution_arn).cloned()))
    }
}

impl Events for Memory {
    async fn put(&self, bus: &str, source: &str, detail_type: &str, detail: &serde_json::Value) -> Result<()> {
        self.with(|w| {
            w.check("PutEvents")?;
            w.wrote("PutEvents");
            w.events.push((bus.to_string(), source.to_string(), detail_type.to_string(), detail.clone()));
            Ok(())
        })
    }
}

fn owned<'a>(w: &'a mut World, customer_id: &str, execution_id: &str) -> Result<&'a mut CustomerRecord> {
    match w.customers.get_mut(customer_id) {
        Some(c) if c.execution_id == execution_id => Ok(c),
        _ => Err(BerthError::Conflict(format!("customer '{customer_id}' is not owned by execution {execution_id}"))),
    }
}

impl Placements for Memory {
    async fn place(&self, customer_id: &str, execution_id: &str, need: &Need) -> Result<Placement> {
        self.with(|w| {
            let c =
                w.customers.get(customer_id).ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
            if let Some(name) = &c.alb_name {
                let alb = w.pool.iter().find(|a| &a.name == name).ok_or_else(|| BerthError::NotFound(format!("{name} left the pool")))?;
                return Ok(Placement { alb: AlbRef::from(alb), priorities: c.priorities.clone() });
            }
            if c.execution_id != execution_id {
                return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", c.execution_id)));
            }
            let name = pool::candidates(&w.pool, need).map_err(BerthError::QuotaExceeded)?[0].name.clone();
            let alb = w.pool.iter_mut().find(|a| a.name == name).expect("candidate from the pool");
            alb.rules.used += need.rules;
            alb.target_groups.used += need.target_groups;
            alb.certificates.used += need.certificates;
            alb.customers += 1;
            let alb_ref = AlbRef::from(&*alb);
            let ledger = w.ledgers.entry(alb_ref.listener_arn.clone()).or_insert_with(PriorityLedger::new);
            let choice =
                allocation::choose(ledger, need.rules as usize, &BTreeSet::new()).map_err(|e| BerthError::QuotaExceeded(e.to_string()))?;
            allocation::apply(ledger, &choice);
            w.wrote("Place");
            let c = w.customers.get_mut(customer_id).expect("checked above");
            c.priorities = choice.priorities.clone();
            c.listener_arn = Some(alb_ref.listener_arn.clone());
            c.alb_name = Some(alb_ref.name.clone());
            c.target_groups_held = need.target_groups;
            c.certificates_held = need.certificates;
            Ok(Placement { alb: alb_ref, priorities: choice.priorities })
        })
    }

    async fn set_aside(&self, customer_id: &str, execution_id: &str, held: &[(u32, String)]) -> Result<Vec<u32>> {
        self.with(|w| {
            let c =
                w.customers.get(customer_id).ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
            if c.execution_id != execution_id {
                return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", c.execution_id)));
            }
            let listener = c.listener_arn.clone().ok_or_else(|| BerthError::Conflict("not placed".into()))?;
            let bad: Vec<u32> = held.iter().map(|(p, _)| *p).filter(|p| c.priorities.contains(p)).collect();
            let ledger = w.ledgers.entry(listener.clone()).or_insert_with(PriorityLedger::new);
            let choice = allocation::choose(ledger, bad.len(), &BTreeSet::new()).map_err(|e| BerthError::QuotaExceeded(e.to_string()))?;
            allocation::apply(ledger, &choice);
            w.foreign.entry(listener).or_default().extend(&bad);
            let c = w.customers.get_mut(customer_id).expect("checked above");
            c.priorities.retain(|p| !bad.contains(p));
            c.priorities.extend(choice.priorities);
            c.priorities.sort_unstable();
            Ok(c.priorities.clone())
        })
    }

    async fn resize(
        &self,
        customer_id: &str,
        execution_id: &str,
        release: &[u32],
        wanted: usize,
        target_groups: u32,
        certificates: u32,
    ) -> Result<Vec<u32>> {
        self.with(|w| {
            w.check("Resize")?;
            let c =
                w.customers.get(customer_id).ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
            if c.execution_id != execution_id {
                return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", c.execution_id)));
            }
            let (Some(listener), Some(alb_name)) = (c.listener_arn.clone(), c.alb_name.clone()) else {
                return Err(BerthError::Conflict(format!("customer '{customer_id}' is not placed")));
            };
            let mut held = c.priorities.clone();
            held.sort_unstable();
            let gone: Vec<u32> = held.iter().filter(|p| release.contains(p)).copied().collect();
            let kept: Vec<u32> = held.iter().filter(|p| !gone.contains(p)).copied().collect();
            if kept.len() > wanted {
                return Err(BerthError::Conflict(format!("customer '{customer_id}' keeps {} priorities, {wanted} wanted", kept.len())));
            }
            if gone.is_empty() && kept.len() == wanted && c.target_groups_held == target_groups && c.certificates_held == certificates {
                return Ok(held);
            }
            let (rules_delta, tg_delta) = (wanted as i64 - held.len() as i64, i64::from(target_groups) - i64::from(c.target_groups_held));
            let cert_delta = i64::from(certificates) - i64::from(c.certificates_held);
            let alb =
                w.pool.iter_mut().find(|a| a.name == alb_name).ok_or_else(|| BerthError::NotFound(format!("{alb_name} left the pool")))?;
            let (rules_used, tgs_used) = (i64::from(alb.rules.used) + rules_delta, i64::from(alb.target_groups.used) + tg_delta);
            let certs_used = i64::from(alb.certificates.used) + cert_delta;
            if (rules_delta > 0 && rules_used > i64::from(alb.rules.quota))
                || (tg_delta > 0 && tgs_used > i64::from(alb.target_groups.quota))
                || (cert_delta > 0 && certs_used > i64::from(alb.certificates.quota))
            {
                return Err(BerthError::QuotaExceeded(format!(
                    "ALB {alb_name} has no room for the customer's new rules and target groups"
                )));
            }
            alb.rules.used = rules_used.max(0) as u32;
            alb.target_groups.used = tgs_used.max(0) as u32;
            alb.certificates.used = certs_used.max(0) as u32;
            let ledger = w.ledgers.entry(listener).or_insert_with(PriorityLedger::new);
            allocation::release(ledger, &gone);
            let choice =
                allocation::choose(ledger, wanted - kept.len(), &BTreeSet::new()).map_err(|e| BerthError::QuotaExceeded(e.to_string()))?;
            allocation::apply(ledger, &choice);
            w.wrote("Resize");
            let c = w.customers.get_mut(customer_id).expect("checked above");
            c.priorities = kept.into_iter().chain(choice.priorities).collect();
            c.priorities.sort_unstable();
            c.target_groups_held = target_groups;
            c.certificates_held = certificates;
            Ok(c.priorities.clone())
        })
    }

    async fn release(&self, customer_id: &str) -> Result<Vec<u32>> {
        self.with(|w| {
            let Some(c) = w.customers.get_mut(customer_id) else { return Ok(Vec::new()) };
            let ps = std::mem::take(&mut c.priorities);
            let tgs = std::mem::take(&mut c.target_groups_held);
            let certs = std::mem::take(&mut c.certificates_held);
            let alb_name = c.alb_name.take();
            if let Some(l) = c.listener_arn.take() {
                if let Some(ledger) = w.ledgers.get_mut(&l) {
                    allocation::release(ledger, &ps);
                }
            }
            if let Some(a) = alb_name.and_then(|n| w.pool.iter_mut().find(|a| a.name == n)) {
                a.rules.used -= ps.len() as u32;
                a.target_groups.used -= tgs;
                a.certificates.used -= certs;
                a.customers -= 1;
            }
            Ok(ps)
        })
    }
}

impl Memory {
    /// Priorities recorded as held by rules berth does not own, per listener.
    pub fn foreign(&self, listener: &str) -> Vec<u32> {
        self.with(|w| w.foreign.get(listener).cloned().unwrap_or_default())
    }
}

impl Pool for Memory {
    async fn albs(&self) -> Result<Vec<Alb>> {
        Ok(self.with(|w| w.pool.clone()))
    }
    async fn add(&self, alb: &Alb) -> Result<()> {
        self.with(|w| {
            if w.pool.iter().any(|a| a.name == alb.name) {
                return Err(BerthError::Conflict(format!("the pool already has an ALB named '{}'", alb.name)));
            }
            w.pool.push(alb.clone());
            Ok(())
        })
    }
    async fn set_state(&self, name: &str, state: AlbState) -> Result<Alb> {
        self.with(|w| {
            let a = w
                .pool
                .iter_mut()
                .find(|a| a.name == name)
                .ok_or_else(|| BerthError::NotFound(format!("no ALB named '{name}' in the pool")))?;
            a.state = state;
            Ok(a.clone())
        })
    }
}

impl LogGroups for Memory {
    async fn list(&self, prefix: &str) -> Result<Vec<LogGroupObserved>> {
        Ok(self.with(|w| {
            w.log_groups
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, (r, _))| LogGroupObserved { name: n.clone(), arn: format!("arn:aws:logs:::log-group:{n}"), retention_days: *r })
                .collect()
        }))
    }
    async fn create(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<bool> {
        Ok(self.with(|w| {
            if w.log_groups.contains_key(name) {
                return false;
            }
            w.wrote("CreateLogGroup");
            w.log_groups.insert(name.to_string(), (None, tags.clone()));
            true
        }))
    }
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        self.with(|w| {
            let name = arn.strip_prefix("arn:aws:logs:::log-group:").unwrap_or(arn);
            w.log_groups.get(name).map(|(_, t)| t.clone()).ok_or_else(|| BerthError::NotFound(format!("log group {name}")))
        })
    }
    async fn set_retention(&self, name: &str, days: i32) -> Result<()> {
        self.with(|w| {
            w.wrote("PutRetentionPolicy");
            match w.log_groups.get_mut(name) {
                Some(g) => {
                    g.0 = Some(days);
                    Ok(())
                }
                None => Err(BerthError::NotFound(format!("log group {name}"))),
            }
        })
    }
    async fn delete(&self, name: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteLogGroup")?;
            w.wrote("DeleteLogGroup");
            Ok(w.log_groups.remove(name).is_some())
        })
    }
}

impl TargetGroups for Memory {
    async fn find(&self, name: &str) -> Result<Option<TargetGroupObserved>> {
        Ok(self.with(|w| w.target_groups.get(name).cloned()))
    }
    async fn create(&self, spec: &TargetGroupSpec) -> Result<TargetGroupObserved> {
        self.with(|w| {
            if w.target_groups.contains_key(&spec.name) {
                return Err(BerthError::Conflict(format!("DuplicateTargetGroupName {}", spec.name)));
            }
            w.wrote("CreateTargetGroup");
            let id = w.id();
            let tg = TargetGroupObserved {
                name: spec.name.clone(),
                arn: format!("arn:aws:elasticloadbalancing:::targetgroup/{}/{id}", spec.name),
                port: Some(spec.port),
                vpc_id: Some(spec.vpc_id.clone()),
                health_check_path: Some(spec.health_check_path.clone()),
                target_type: Some("ip".into()),
                tags: spec.tags.clone(),
            };
            w.target_groups.insert(spec.name.clone(), tg.clone());
            Ok(tg)
        })
    }
    async fn set_health_check_path(&self, arn: &str, path: &str) -> Result<()> {
        self.with(|w| {
            w.wrote("ModifyTargetGroup");
            for tg in w.target_groups.values_mut() {
                if tg.arn == arn {
                    tg.health_check_path = Some(path.to_string());
                }
            }
        });
        Ok(())
    }
    async fn health(&self, arn: &str) -> Result<Vec<TargetHealthObserved>> {
        self.with(|w| {
            w.check("DescribeTargetHealth")?;
            let healthy = !w.unhealthy.contains(arn);
            Ok(w.targets
                .get(arn)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut t| {
                    if !healthy {
                        t.state = "unhealthy".into();
                    }
                    t
                })
                .collect())
        })
    }
    async fn delete(&self, arn: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteTargetGroup")?;
            if w.rules.values().flatten().any(|r| r.target_group_arns.iter().any(|t| t == arn)) {
                return Err(BerthError::Conflict(format!("ResourceInUse: target group {arn} is used by a listener rule")));
            }
            w.wrote("DeleteTargetGroup");
            let before = w.target_groups.len();
            w.target_groups.retain(|_, tg| tg.arn != arn);
            w.targets.remove(arn);
            Ok(w.target_groups.len() < before)
        })
    }
}

impl ListenerRules for Memory {
    async fn list(&self, listener_arn: &str) -> Result<Vec<RuleObserved>> {
        Ok(self.with(|w| w.rules.get(listener_arn).cloned().unwrap_or_default()))
    }
    async fn certificates(&self, listener_arn: &str) -> Result<Vec<String>> {
        self.with(|w| {
            w.check("DescribeListenerCertificates")?;
            Ok(w.listener_certificates.get(listener_arn).cloned().unwrap_or_default())
        })
    }
    async fn add_certificate(&self, listener_arn: &str, certificate_arn: &str) -> Result<()> {
        self.with(|w| {
            w.check("AddListenerCertificates")?;
            let certs = w.listener_certificates.entry(listener_arn.to_string()).or_default();
            if !certs.iter().any(|c| c == certificate_arn) {
                // 25 beside the default one.
                if certs.len() >= berth_domain::pool::DEFAULT_CERTIFICATE_QUOTA as usize {
                    return Err(BerthError::Aws {
                        kind: berth_domain::ErrorKind::QuotaExceeded,
                        service: "elasticloadbalancing",
                        operation: "AddListenerCertificates",
                        code: Some("TooManyCertificates".into()),
                        message: Some("You've reached the limit on the number of certificates per load balancer".into()),
                        source: "TooManyCertificates".into(),
                    });
                }
                certs.push(certificate_arn.to_string());
                w.wrote("AddListenerCertificates");
            }
            Ok(())
        })
    }
    async fn remove_certificate(&self, listener_arn: &str, certificate_arn: &str) -> Result<bool> {
        self.with(|w| {
            w.check("RemoveListenerCertificates")?;
            let certs = w.listener_certificates.entry(listener_arn.to_string()).or_default();
            let before = certs.len();
            certs.retain(|c| c != certificate_arn);
            let removed = certs.len() < before;
            if removed {
                w.wrote("RemoveListenerCertificates");
            }
            Ok(removed)
        })
    }
    async fn create(&self, spec: &RuleSpec) -> Result<RuleObserved> {
        self.with(|w| {
            w.check("CreateRule")?;
            let id = w.id();
            let rules = w.rules.entry(spec.listener_arn.clone()).or_default();
            if rules.iter().any(|r| r.priority == Some(spec.priority)) {
                return Err(BerthError::Aws {
                    kind: berth_domain::ErrorKind::Conflict,
                    service: "elasticloadbalancing",
                    operation: "CreateRule",
                    code: Some("PriorityInUse".into()),
                    message: Some(format!("Priority '{}' is currently in use", spec.priority)),
                    source: "PriorityInUse".into(),
                });
            }
            let r = RuleObserved {
                arn: format!("{}/rule/{id}", spec.listener_arn),
                priority: Some(spec.priority),
                hosts: spec.hosts(),
                path_patterns: spec.path_patterns.clone(),
                target_group_arns: vec![spec.target_group_arn.clone()],
            };
            rules.push(r.clone());
            w.rule_tags.insert(r.arn.clone(), spec.tags.clone());
            w.wrote("CreateRule");
            Ok(r)
        })
    }
    async fn set_conditions(&self, rule_arn: &str, hosts: &[String], paths: &[String]) -> Result<()> {
        self.with(|w| {
            w.check("ModifyRule")?;
            w.wrote("ModifyRule");
            for r in w.rules.values_mut().flatten().filter(|r| r.arn == rule_arn) {
                r.hosts = hosts.to_vec();
                r.path_patterns = paths.to_vec();
            }
            Ok(())
        })
    }
    async fn set_target(&self, rule_arn: &str, target_group_arn: &str) -> Result<()> {
        self.with(|w| {
            w.wrote("ModifyRule");
            for r in w.rules.values_mut().flatten() {
                if r.arn == rule_arn {
                    r.target_group_arns = vec![target_group_arn.to_string()];
                }
            }
        });
        Ok(())
    }
    /// As AWS does: the rules may trade numbers among themselves in one request, but no two
    /// rules of the listener may hold one number afterwards.
    async fn set_priorities(&self, moves: &[(String, u32)]) -> Result<()> {
        self.with(|w| {
            w.check("SetRulePriorities")?;
            for rules in w.rules.values_mut() {
                let mut after: Vec<Option<u32>> = rules
                    .iter()
                    .map(|r| moves.iter().find(|(arn, _)| *arn == r.arn).map(|(_, p)| Some(*p)).unwrap_or(r.priority))
                    .collect();
                let n = after.iter().flatten().count();
                after.sort_unstable();
                after.dedup();
                if after.iter().flatten().count() != n {
                    return Err(BerthError::Aws {
                        kind: berth_domain::ErrorKind::Conflict,
                        service: "elasticloadbalancing",
                        operation: "SetRulePriorities",
                        code: Some("PriorityInUse".into()),
                        message: Some("a priority is in use".into()),
                        source: "PriorityInUse".into(),
                    });
                }
            }
            for r in w.rules.values_mut().flatten() {
                if let Some((_, p)) = moves.iter().find(|(arn, _)| *arn == r.arn) {
                    r.priority = Some(*p);
                }
            }
            w.wrote("SetRulePriorities");
            Ok(())
        })
    }
    async fn tags(&self, rule_arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        Ok(self.with(|w| rule_arns.iter().map(|a| (a.clone(), w.rule_tags.get(a).cloned().unwrap_or_default())).collect()))
    }
    async fn delete(&self, rule_arn: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteRule")?;
            w.wrote("DeleteRule");
            let mut removed = false;
            for rules in w.rules.values_mut() {
                let before = rules.len();
                rules.retain(|r| r.arn != rule_arn);
                removed |= rules.len() < before;
            }
            Ok(removed)
        })
    }
}

impl TaskDefinitions for Memory {
    async fn latest(&self, family: &str) -> Result<Option<TaskDefinitionObserved>> {
        Ok(self.with(|w| w.task_definitions.get(family).and_then(|v| v.last().cloned())))
    }
    async fn register(&self, spec: &TaskDefinitionSpec) -> Result<TaskDefinitionObserved> {
        Ok(self.with(|w| {
            w.wrote("RegisterTaskDefinition");
            let revs = w.task_definitions.entry(spec.family.clone()).or_default();
            let revision = revs.len() as i32 + 1;
            let td = TaskDefinitionObserved {
                arn: format!("arn:aws:ecs:::task-definition/{}:{revision}", spec.family),
                revision,
                active: true,
                tags: spec.tags.clone(),
            };
            revs.push(td.clone());
            td
        }))
    }
    async fn families(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.with(|w| {
            w.task_definitions
                .iter()
                .filter(|(f, revs)| f.starts_with(prefix) && revs.iter().any(|t| t.active))
                .map(|(f, _)| f.clone())
                .collect()
        }))
    }
    async fn revisions(&self, family: &str) -> Result<Vec<String>> {
        Ok(self.with(|w| {
            w.task_definitions.get(family).map(|v| v.iter().filter(|t| t.active).map(|t| t.arn.clone()).collect()).unwrap_or_default()
        }))
    }
    async fn retire(&self, arn: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeregisterTaskDefinition")?;
            w.wrote("DeregisterTaskDefinition");
            let mut found = false;
            for revs in w.task_definitions.values_mut() {
                let before = revs.len();
                revs.retain(|t| t.arn != arn);
                found |= revs.len() < before;
            }
            // A family whose every revision is deleted is gone.
            w.task_definitions.retain(|_, revs| !revs.is_empty());
            Ok(found)
        })
    }
}

impl Services for Memory {
    async fn describe(&self, _cluster: &str, names: &[String]) -> Result<Vec<ServiceObserved>> {
        Ok(self.with(|w| names.iter().filter_map(|n| w.services.get(n).cloned()).collect()))
    }
    async fn create(&self, spec: &ServiceSpec) -> Result<ServiceObserved> {
        self.with(|w| {
            w.check("CreateService")?;
            if w.services.get(&spec.name).is_some_and(|s| s.status == "ACTIVE") {
                return Err(BerthError::Conflict(format!("service {} exists", spec.name)));
            }
            w.wrote("CreateService");
            let s = ServiceObserved {
                name: spec.name.clone(),
                arn: format!("arn:aws:ecs:::service/{}/{}", spec.cluster, spec.name),
                status: "ACTIVE".into(),
                task_definition: spec.task_definition_arn.clone(),
                desired_count: spec.desired_count as i32,
                running_count: spec.desired_count as i32,
                deployments: 1,
                rollout_state: Some("COMPLETED".into()),
                security_groups: spec.security_groups.clone(),
                tags: spec.tags.clone(),
            };
            w.services.insert(spec.name.clone(), s.clone());
            // ECS registers one target per running task.
            if let Some((tg, _, port)) = &spec.load_balancer {
                w.balanced.insert(spec.name.clone(), (tg.clone(), *port));
                w.register_targets(&spec.name, spec.desired_count);
            }
            Ok(s)
        })
    }
    async fn update(
        &self,
        _cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
        network: Option<(&[String], &[String])>,
    ) -> Result<ServiceObserved> {
        self.with(|w| {
            w.check("UpdateService")?;
            w.wrote("UpdateService");
            let s = w.services.get_mut(name).ok_or_else(|| BerthError::NotFound(format!("service {name}")))?;
            if let Some((_, groups)) = network {
                s.security_groups = groups.to_vec();
            }
            s.task_definition = task_definition_arn.to_string();
            s.desired_count = desired_count as i32;
            s.running_count = desired_count as i32;
            let s = s.clone();
            w.register_targets(name, desired_count);
            Ok(s)
        })
    }
    async fn remove(&self, _cluster: &str, name: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteService")?;
            match w.services.get_mut(name) {
                Some(s) if s.status == "ACTIVE" => {
                    s.desired_count = 0;
                    s.running_count = 0;
                    s.status = "INACTIVE".into();
                    w.wrote("UpdateService");
                    w.wrote("DeleteService");
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }
}

impl Memory {
    /// A certificate as ACM would show it now: issued once its validation record is there.
    fn certificate_now(w: &World, arn: &str) -> Option<CertificateObserved> {
        let (mut c, _) = w.acm.get(arn)?.clone();
        if let Some(v) = &c.validation {
            if w.cnames.iter().any(|((_, n), value)| *n == v.name.trim_end_matches('.') && *value == v.value) {
                c.status = "ISSUED".into();
            }
        }
        Some(c)
    }
}

impl Certificates for Memory {
    async fn find(&self, domain: &str, customer: &str) -> Result<Option<CertificateObserved>> {
        self.with(|w| {
            w.check("ListCertificates")?;
            Ok(w.acm
                .iter()
                .find(|(_, (c, tags))| {
                    c.domain == domain && tags.get(berth_domain::naming::TAG_CUSTOMER).map(String::as_str) == Some(customer)
                })
                .and_then(|(arn, _)| Memory::certificate_now(w, arn)))
        })
    }
    async fn request(&self, domain: &str, token: &str, tags: &BTreeMap<String, String>) -> Result<String> {
        self.with(|w| {
            w.check("RequestCertificate")?;
            let arn = format!("arn:aws:acm:us-east-1:123456789012:certificate/{token}");
            if !w.acm.contains_key(&arn) {
                w.wrote("RequestCertificate");
                let validation = ValidationRecord {
                    name: format!("_{}.{}.", berth_domain::naming::truncate(token, 8), domain.trim_start_matches("*.")),
                    value: format!("_{token}.acm-validations.aws."),
                };
                let c = CertificateObserved {
                    arn: arn.clone(),
                    domain: domain.to_string(),
                    names: vec![domain.to_string()],
                    status: "PENDING_VALIDATION".into(),
                    validation: Some(validation),
                };
                w.acm.insert(arn.clone(), (c, tags.clone()));
            }
            Ok(arn)
        })
    }
    async fn describe(&self, arn: &str) -> Result<Option<CertificateObserved>> {
        self.with(|w| {
            w.check("DescribeCertificate")?;
            Ok(Memory::certificate_now(w, arn))
        })
    }
    async fn delete(&self, arn: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteCertificate")?;
            if w.listener_certificates.values().any(|certs| certs.iter().any(|c| c == arn)) {
                return Err(BerthError::Aws {
                    kind: berth_domain::ErrorKind::Conflict,
                    service: "acm",
                    operation: "DeleteCertificate",
                    code: Some("ResourceInUseException".into()),
                    message: Some(format!("Certificate {arn} is in use")),
                    source: "ResourceInUseException".into(),
                });
            }
            let removed = w.acm.remove(arn).is_some();
            if removed {
                w.wrote("DeleteCertificate");
            }
            Ok(removed)
        })
    }
}

impl Roles for Memory {
    async fn account(&self) -> Result<RoleQuota> {
        self.with(|w| {
            w.check("GetAccountSummary")?;
            Ok(RoleQuota { used: w.roles.len() as u32 + w.other_roles, quota: w.role_quota.unwrap_or(1000) })
        })
    }

    async fn find(&self, name: &str) -> Result<Option<RoleObserved>> {
        self.with(|w| {
            w.check("GetRole")?;
            Ok(w.roles.get(name).map(|(r, _)| r.clone()))
        })
    }

    async fn create(&self, spec: &RoleSpec) -> Result<RoleObserved> {
        self.with(|w| {
            w.check("CreateRole")?;
            if w.roles.contains_key(&spec.name) {
                return Err(BerthError::Conflict(format!("role {} exists", spec.name)));
            }
            if w.roles.len() as u32 + w.other_roles >= w.role_quota.unwrap_or(1000) {
                return Err(BerthError::QuotaExceeded(format!("the account's role quota is reached; {} not created", spec.name)));
            }
            w.wrote("CreateRole");
            let role = RoleObserved {
                name: spec.name.clone(),
                arn: format!("arn:aws:iam::123456789012:role{}{}", spec.path, spec.name),
                path: spec.path.clone(),
                boundary_arn: Some(spec.boundary_arn.clone()),
                trust: Some(spec.trust.clone()),
                tags: spec.tags.clone(),
            };
            w.roles.insert(spec.name.clone(), (role.clone(), BTreeMap::new()));
            Ok(role)
        })
    }

    async fn set_trust(&self, name: &str, document: &serde_json::Value) -> Result<()> {
        self.with(|w| {
            w.check("UpdateAssumeRolePolicy")?;
            w.wrote("UpdateAssumeRolePolicy");
            let (role, _) = w.roles.get_mut(name).ok_or_else(|| BerthError::NotFound(format!("role {name}")))?;
            role.trust = Some(document.clone());
            Ok(())
        })
    }

    async fn policy(&self, name: &str, policy: &str) -> Result<Option<serde_json::Value>> {
        self.with(|w| {
            w.check("GetRolePolicy")?;
            Ok(w.roles.get(name).and_then(|(_, p)| p.get(policy).cloned()))
        })
    }

    async fn put_policy(&self, name: &str, policy: &str, document: &serde_json::Value) -> Result<()> {
        self.with(|w| {
            w.check("PutRolePolicy")?;
            w.wrote("PutRolePolicy");
            let (_, policies) = w.roles.get_mut(name).ok_or_else(|| BerthError::NotFound(format!("role {name}")))?;
            policies.insert(policy.to_string(), document.clone());
            Ok(())
        })
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteRole")?;
            w.wrote("DeleteRole");
            Ok(w.roles.remove(name).is_some())
        })
    }
}

impl SecurityGroups for Memory {
    async fn find(&self, vpc_id: &str, name: &str) -> Result<Option<SecurityGroupObserved>> {
        self.with(|w| {
            w.check("DescribeSecurityGroups")?;
            Ok(w.security_groups.values().find(|g| g.vpc_id == vpc_id && g.name == name).cloned())
        })
    }

    async fn create(&self, spec: &SecurityGroupSpec) -> Result<SecurityGroupObserved> {
        self.with(|w| {
            w.check("CreateSecurityGroup")?;
            if w.security_groups.values().any(|g| g.vpc_id == spec.vpc_id && g.name == spec.name) {
                return Err(BerthError::Conflict(format!("security group {} exists", spec.name)));
            }
            w.wrote("CreateSecurityGroup");
            let id = format!("sg-{:017x}", w.id());
            let group = SecurityGroupObserved {
                id: id.clone(),
                name: spec.name.clone(),
                vpc_id: spec.vpc_id.clone(),
                ingress: BTreeSet::new(),
                egress: BTreeSet::from([berth_domain::access::Permission::all_to("0.0.0.0/0")]),
                tags: spec.tags.clone(),
            };
            w.security_groups.insert(id, group.clone());
            Ok(group)
        })
    }

    async fn authorize(&self, group_id: &str, egress: bool, rules: &[berth_domain::access::Permission]) -> Result<()> {
        self.with(|w| {
            w.check("AuthorizeSecurityGroupIngress")?;
            w.wrote(if egress { "AuthorizeSecurityGroupEgress" } else { "AuthorizeSecurityGroupIngress" });
            let g = w.security_groups.get_mut(group_id).ok_or_else(|| BerthError::NotFound(format!("security group {group_id}")))?;
            let set = if egress { &mut g.egress } else { &mut g.ingress };
            set.extend(rules.iter().cloned());
            Ok(())
        })
    }

    async fn revoke(&self, group_id: &str, egress: bool, rules: &[berth_domain::access::Permission]) -> Result<()> {
        self.with(|w| {
            w.wrote(if egress { "RevokeSecurityGroupEgress" } else { "RevokeSecurityGroupIngress" });
            let g = w.security_groups.get_mut(group_id).ok_or_else(|| BerthError::NotFound(format!("security group {group_id}")))?;
            let set = if egress { &mut g.egress } else { &mut g.ingress };
            for r in rules {
                set.remove(r);
            }
            Ok(())
        })
    }

    async fn delete(&self, group_id: &str) -> Result<bool> {
        self.with(|w| {
            w.check("DeleteSecurityGroup")?;
            let used = w.services.values().any(|s| s.status == "ACTIVE" && s.security_groups.iter().any(|g| g == group_id));
            if used {
                return Err(BerthError::Transient(format!("security group {group_id} is still in use by a network interface")));
            }
            w.wrote("DeleteSecurityGroup");
            Ok(w.security_groups.remove(group_id).is_some())
        })
    }
}

impl Dns for Memory {
    async fn cname(&self, hosted_zone_id: &str, name: &str) -> Result<Option<String>> {
        self.with(|w| Ok(w.cnames.get(&(hosted_zone_id.to_string(), name.trim_end_matches('.').to_string())).cloned()))
    }
    async fn upsert_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> Result<()> {
        self.with(|w| {
            w.check("ChangeResourceRecordSets")?;
            w.wrote("ChangeResourceRecordSets");
            w.cnames.insert((hosted_zone_id.to_string(), name.trim_end_matches('.').to_string()), value.to_string());
            Ok(())
        })
    }
    async fn delete_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> Result<bool> {
        self.with(|w| {
            w.check("ChangeResourceRecordSets")?;
            let key = (hosted_zone_id.to_string(), name.trim_end_matches('.').to_string());
            if w.cnames.get(&key).map(String::as_str) == Some(value) {
                w.cnames.remove(&key);
                w.wrote("ChangeResourceRecordSets");
                return Ok(true);
            }
            Ok(false)
        })
    }

    async fn zone_of(&self, name: &str) -> Result<Option<String>> {
        self.with(|w| {
            w.check("ListHostedZonesByName")?;
            let name = name.trim_end_matches('.');
            let labels: Vec<&str> = name.split('.').collect();
            Ok((0..labels.len().saturating_sub(1)).find_map(|i| w.zones.get(&labels[i..].join(".")).cloned()))
        })
    }

    async fn upsert_alias(&self, spec: &AliasSpec) -> Result<String> {
        Ok(self.with(|w| {
            w.wrote("ChangeResourceRecordSets");
            // An UPSERT replaces the A and AAAA sets at the name, whoever made them.
            if let Some(others) = w.other_records.get_mut(spec.name.trim_end_matches('.')) {
                others.retain(|r| !matches!(r.record_type.as_str(), "A" | "AAAA"));
            }
            w.records.insert(spec.name.clone(), spec.clone());
            format!("/change/{}", w.id())
        }))
    }
    async fn records(&self, _hosted_zone_id: &str, name: &str) -> Result<Vec<RecordObserved>> {
        Ok(self.with(|w| {
            let key = name.trim_end_matches('.');
            let mut found: Vec<RecordObserved> = w
                .records
                .get(key)
                .map(|r| {
                    ["A", "AAAA"]
                        .iter()
                        .map(|t| RecordObserved {
                            name: format!("{}.", r.name),
                            record_type: t.to_string(),
                            alias_target: Some(r.target_dns_name.clone()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            found.extend(w.other_records.get(key).cloned().unwrap_or_default());
            found
        }))
    }
    async fn aliases(&self, hosted_zone_id: &str, name: &str) -> Result<Vec<AliasObserved>> {
        let zone = self.with(|w| w.records.get(name.trim_end_matches('.')).map(|r| r.target_hosted_zone_id.clone()));
        Ok(self
            .records(hosted_zone_id, name)
            .await?
            .into_iter()
            .filter(|r| matches!(r.record_type.as_str(), "A" | "AAAA"))
            .filter_map(|r| {
                Some(AliasObserved {
                    target_dns_name: r.alias_target?,
                    name: r.name,
                    record_type: r.record_type,
                    target_hosted_zone_id: zone.clone().unwrap_or_default(),
                    evaluate_target_health: true,
                })
            })
            .collect())
    }
    async fn delete_aliases(&self, _hosted_zone_id: &str, records: &[AliasObserved]) -> Result<bool> {
        self.with(|w| {
            w.check("ChangeResourceRecordSets")?;
            let mut removed = false;
            for r in records {
                let key = r.name.trim_end_matches('.');
                if w.records.get(key).is_some_and(|mine| mine.target_dns_name == r.target_dns_name) {
                    removed |= w.records.remove(key).is_some();
                } else if let Some(others) = w.other_records.get_mut(key) {
                    let before = others.len();
                    others.retain(|o| !(o.record_type == r.record_type && o.alias_target.as_deref() == Some(r.target_dns_name.as_str())));
                    removed |= others.len() < before;
                }
            }
            if removed {
                w.wrote("ChangeResourceRecordSets");
            }
            Ok(removed)
        })
    }
}

impl crate::ports::Ports for Memory {
    type Customers = Memory;
    type Ledger = Memory;
    type Placements = Memory;
    type Pool = Memory;
    type Executions = Memory;
    type LogGroups = Memory;
    type TargetGroups = Memory;
    type ListenerRules = Memory;
    type TaskDefinitions = Memory;
    type Services = Memory;
    type Dns = Memory;
    type Events = Memory;
    type Scaling = Memory;
    type Certificates = Memory;
    type Roles = Memory;
    type SecurityGroups = Memory;

    fn customers(&self) -> &Memory {
        self
    }
    fn ledger(&self) -> &Memory {
        self
    }
    fn placements(&self) -> &Memory {
        self
    }
    fn pool(&self) -> &Memory {
        self
    }
    fn executions(&self) -> &Memory {
        self
    }
    fn logs(&self) -> &Memory {
        self
    }
    fn target_groups(&self) -> &Memory {
        self
    }
    fn rules(&self) -> &Memory {
        self
    }
    fn task_definitions(&self) -> &Memory {
        self
    }
    fn services(&self) -> &Memory {
        self
    }
    fn dns(&self) -> &Memory {
        self
    }
    fn events(&self) -> &Memory {
        self
    }
    fn scaling(&self) -> &Memory {
        self
    }
    fn certificates(&self) -> &Memory {
        self
    }
    fn roles(&self) -> &Memory {
        self
    }
    fn security_groups(&self) -> &Memory {
        self
    }
}

impl Scaling for Memory {
    async fn target(&self, cluster: &str, service: &str) -> Result<Option<ScalableTargetObserved>> {
        let id = crate::aws::scaling::resource_id(cluster, service);
        self.with(|w| Ok(w.scaling.get(&id).map(|(t, _)| t.clone())))
    }
    async fn targets(&self, cluster: &str, services: &[String]) -> Result<Vec<ScalableTargetObserved>> {
        let ids: Vec<String> = services.iter().map(|s| crate::aws::scaling::resource_id(cluster, s)).collect();
        self.with(|w| Ok(ids.iter().filter_map(|id| w.scaling.get(id).map(|(t, _)| t.clone())).collect()))
    }
    async fn register(&self, cluster: &str, service: &str, min: u32, max: u32, suspended: bool) -> Result<()> {
        let id = crate::aws::scaling::resource_id(cluster, service);
        self.with(|w| {
            w.check("RegisterScalableTarget")?;
            w.wrote("RegisterScalableTarget");
            let target = ScalableTargetObserved { resource_id: id.clone(), min, max, suspended };
            w.scaling.entry(id).and_modify(|(t, _)| *t = target.clone()).or_insert((target, BTreeMap::new()));
            Ok(())
        })
    }
    async fn policies(&self, cluster: &str, service: &str) -> Result<Vec<ScalingPolicyObserved>> {
        let id = crate::aws::scaling::resource_id(cluster, service);
        self.with(|w| {
            Ok(w.scaling
                .get(&id)
                .map(|(_, p)| {
                    p.iter()
                        .map(|(name, cpu)| ScalingPolicyObserved {
                            name: name.clone(),
                            arn: format!("arn:aws:autoscaling:policy/{id}/{name}"),
                            cpu_target: Some(f64::from(*cpu)),
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
    }
    async fn put_cpu_policy(&self, cluster: &str, service: &str, name: &str, cpu_target: u32) -> Result<()> {
        let id = crate::aws::scaling::resource_id(cluster, service);
        self.with(|w| {
            w.check("PutScalingPolicy")?;
            let (_, policies) = w
                .scaling
                .get_mut(&id)
                .ok_or_else(|| BerthError::NotFound(format!("no scalable target {id}: register it before its policy")))?;
            policies.insert(name.to_string(), cpu_target);
            w.wrote("PutScalingPolicy");
            Ok(())
        })
    }
    async fn deregister(&self, cluster: &str, service: &str) -> Result<bool> {
        let id = crate::aws::scaling::resource_id(cluster, service);
        self.with(|w| {
            w.check("DeregisterScalableTarget")?;
            let gone = w.scaling.remove(&id).is_some();
            if gone {
                w.wrote("DeregisterScalableTarget");
            }
            Ok(gone)
        })
    }
}
