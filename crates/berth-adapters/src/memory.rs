//! In-memory implementations of every port, for the steps' unit tests. They keep AWS's
//! rules where the steps depend on them (a priority is held by one rule, names are unique,
//! conditional registry writes) and count calls so tests can check re-runs change nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use berth_domain::allocation::{self, Ledger};
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
    pub ledgers: BTreeMap<String, Ledger>,
    pub log_groups: BTreeMap<String, (Option<i32>, BTreeMap<String, String>)>,
    pub target_groups: BTreeMap<String, TargetGroupObserved>,
    pub rules: BTreeMap<String, Vec<RuleObserved>>,
    pub task_definitions: BTreeMap<String, Vec<TaskDefinitionObserved>>,
    pub services: BTreeMap<String, ServiceObserved>,
    pub records: BTreeMap<String, AliasSpec>,
    pub pool: Vec<Alb>,
    pub foreign: BTreeMap<String, Vec<u32>>,
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
    pub fn total_writes(&self) -> usize {
        self.writes.values().sum()
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
    async fn register(&self, r: &Registration) -> Result<CustomerRecord> {
        self.with(|w| {
            if let Some(c) = w.customers.get(&r.customer_id) {
                if c.execution_id != r.execution_id && c.state != CustomerState::Failed {
                    return Err(BerthError::Conflict(format!(
                        "customer '{}' is already {} by execution {}",
                        r.customer_id, c.state, c.execution_id
                    )));
                }
            }
            if let Some(owner) = w.hosts.get(&r.host) {
                if owner != &r.customer_id {
                    return Err(BerthError::Conflict(format!("host '{}' is already claimed by another customer", r.host)));
                }
            }
            w.wrote("Register");
            w.hosts.insert(r.host.clone(), r.customer_id.clone());
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
                resources: None,
                outputs: None,
                error: None,
                cause: None,
            });
            rec.state = CustomerState::Provisioning;
            rec.execution_id = r.execution_id.clone();
            rec.error = None;
            rec.cause = None;
            Ok(rec.clone())
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

    async fn mark_failed(&self, customer_id: &str, execution_id: &str, error: &str, cause: &str) -> Result<Option<CustomerRecord>> {
        self.with(|w| match owned(w, customer_id, execution_id) {
            Ok(c) => {
                c.state = CustomerState::Failed;
                c.error = Some(error.to_string());
                c.cause = Some(cause.to_string());
                Ok(Some(c.clone()))
            }
            Err(_) => Ok(None),
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
            let ledger = w.ledgers.entry(alb_ref.listener_arn.clone()).or_insert_with(Ledger::new);
            let choice =
                allocation::choose(ledger, need.rules as usize, &BTreeSet::new()).map_err(|e| BerthError::QuotaExceeded(e.to_string()))?;
            allocation::apply(ledger, &choice);
            w.wrote("Place");
            let c = w.customers.get_mut(customer_id).expect("checked above");
            c.priorities = choice.priorities.clone();
            c.listener_arn = Some(alb_ref.listener_arn.clone());
            c.alb_name = Some(alb_ref.name.clone());
            c.target_groups_held = need.target_groups;
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
            let ledger = w.ledgers.entry(listener.clone()).or_insert_with(Ledger::new);
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

    async fn release(&self, customer_id: &str) -> Result<Vec<u32>> {
        self.with(|w| {
            let Some(c) = w.customers.get_mut(customer_id) else { return Ok(Vec::new()) };
            let ps = std::mem::take(&mut c.priorities);
            let tgs = std::mem::take(&mut c.target_groups_held);
            let alb_name = c.alb_name.take();
            if let Some(l) = c.listener_arn.take() {
                if let Some(ledger) = w.ledgers.get_mut(&l) {
                    allocation::release(ledger, &ps);
                }
            }
            if let Some(a) = alb_name.and_then(|n| w.pool.iter_mut().find(|a| a.name == n)) {
                a.rules.used -= ps.len() as u32;
                a.target_groups.used -= tgs;
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
    async fn create(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.with(|w| {
            w.wrote("CreateLogGroup");
            w.log_groups.entry(name.to_string()).or_insert((None, tags.clone()));
        });
        Ok(())
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
}

impl ListenerRules for Memory {
    async fn list(&self, listener_arn: &str) -> Result<Vec<RuleObserved>> {
        Ok(self.with(|w| w.rules.get(listener_arn).cloned().unwrap_or_default()))
    }
    async fn create(&self, spec: &RuleSpec) -> Result<RuleObserved> {
        self.with(|w| {
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
                hosts: vec![spec.host.clone()],
                path_patterns: spec.path_patterns.clone(),
                target_group_arns: vec![spec.target_group_arn.clone()],
            };
            rules.push(r.clone());
            w.wrote("CreateRule");
            Ok(r)
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
}

impl Services for Memory {
    async fn describe(&self, _cluster: &str, names: &[String]) -> Result<Vec<ServiceObserved>> {
        Ok(self.with(|w| names.iter().filter_map(|n| w.services.get(n).cloned()).collect()))
    }
    async fn create(&self, spec: &ServiceSpec) -> Result<ServiceObserved> {
        self.with(|w| {
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
            };
            w.services.insert(spec.name.clone(), s.clone());
            Ok(s)
        })
    }
    async fn update(&self, _cluster: &str, name: &str, task_definition_arn: &str, desired_count: u32) -> Result<ServiceObserved> {
        self.with(|w| {
            w.wrote("UpdateService");
            let s = w.services.get_mut(name).ok_or_else(|| BerthError::NotFound(format!("service {name}")))?;
            s.task_definition = task_definition_arn.to_string();
            s.desired_count = desired_count as i32;
            s.running_count = desired_count as i32;
            Ok(s.clone())
        })
    }
}

impl Dns for Memory {
    async fn upsert_alias(&self, spec: &AliasSpec) -> Result<String> {
        Ok(self.with(|w| {
            w.wrote("ChangeResourceRecordSets");
            w.records.insert(spec.name.clone(), spec.clone());
            format!("/change/{}", w.id())
        }))
    }
}
