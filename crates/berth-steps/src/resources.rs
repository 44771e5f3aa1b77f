//! Step 4: log groups, target groups, listener rules, task definitions and services, each
//! reconciled: found by name (or priority) and checked, created only when missing, fixed
//! when it drifted. A resource of the name berth wants that its tags do not give to this
//! customer is never changed: the step stops with `Berth.Conflict` naming it. Everything it holds is recorded in the customer's resource ledger
//! before it returns, also when it fails half-way.

use std::collections::{BTreeMap, BTreeSet};

use berth_adapters::config::InfraConfig;
use berth_adapters::model::{
    RuleObserved, RuleSpec, ServiceObserved, ServiceSpec, TargetGroupObserved, TargetGroupSpec, TaskDefinitionSpec,
};
use berth_adapters::ports::{Ledger, ListenerRules, LogGroups, Services, TargetGroups, TaskDefinitions};
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::naming::{self, TAG_CUSTOMER, TAG_MANAGED_BY, TAG_SERVICE};
use berth_domain::plan::{Plan, ServicePlan};
use berth_domain::BerthError;

use crate::io::{ResourcesOutput, ServiceResources, State};

/// Tag on task definitions: a hash of everything berth put in them, so a re-run can tell
/// whether the latest revision is already the one it wants.
pub const TAG_SPEC_HASH: &str = "berth:spec-hash";

/// The ports the resources step drives.
pub struct Ports<'a, L, T, R, D, S, C> {
    pub logs: &'a L,
    pub target_groups: &'a T,
    pub rules: &'a R,
    pub task_definitions: &'a D,
    pub services: &'a S,
    pub ledger: &'a C,
}

struct Journal {
    execution_id: String,
    created: Vec<String>,
    fixed: Vec<String>,
    /// Every resource the step holds (created or found), for the ledger.
    held: Vec<LedgerEntry>,
}

impl Journal {
    fn hold(&mut self, kind: ResourceKind, id: &str, scope: Option<&str>) {
        self.held.push(LedgerEntry::new(kind, id, scope.map(str::to_string), self.execution_id.clone()));
    }
}

pub async fn run<L, T, R, D, S, C>(
    ports: &Ports<'_, L, T, R, D, S, C>,
    infra: &InfraConfig,
    state: &State,
) -> Result<ResourcesOutput, BerthError>
where
    L: LogGroups,
    T: TargetGroups,
    R: ListenerRules,
    D: TaskDefinitions,
    S: Services,
    C: Ledger,
{
    let plan = state.plan()?;
    let mut j = Journal { execution_id: plan.execution_id.clone(), created: Vec::new(), fixed: Vec::new(), held: Vec::new() };
    let built = build(ports, infra, plan, state, &mut j).await;
    // The ledger learns what the step holds before the step returns, whatever happened.
    let recorded = if j.held.is_empty() { Ok(()) } else { ports.ledger.record(&plan.customer_id, &j.held).await };
    match (built, recorded) {
        (Ok(out), Ok(())) => {
            tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, created = out.created.len(), fixed = out.fixed.len(), held = j.held.len(), "resources reconciled");
            Ok(out)
        }
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(ledger)) => {
            tracing::error!(customer = %plan.customer_id, error = %ledger, held = ?j.held, "the ledger could not record what a failed step holds");
            Err(e)
        }
    }
}

async fn build<L, T, R, D, S, C>(
    ports: &Ports<'_, L, T, R, D, S, C>,
    infra: &InfraConfig,
    plan: &Plan,
    state: &State,
    j: &mut Journal,
) -> Result<ResourcesOutput, BerthError>
where
    L: LogGroups,
    T: TargetGroups,
    R: ListenerRules,
    D: TaskDefinitions,
    S: Services,
{
    let allocation = state.allocation()?;
    let listener_arn = allocation.listener_arn.as_str();

    reconcile_log_groups(ports.logs, plan, j).await?;

    let mut target_groups: BTreeMap<String, TargetGroupObserved> = BTreeMap::new();
    for s in &plan.services {
        if s.target_group.is_some() {
            let tg = reconcile_target_group(ports.target_groups, plan, s, infra, j).await?;
            target_groups.insert(s.name.clone(), tg);
        }
    }

    let mut rules: BTreeMap<String, (u32, RuleObserved)> = BTreeMap::new();
    if !plan.rules.is_empty() {
        // Created first, looked up only when the listener says the priority is taken: the
        // listener holds each priority once, so a rule of ours from an earlier attempt
        // surfaces as PriorityInUse.
        let mut existing: Option<Vec<RuleObserved>> = None;
        for (rule, held) in plan.rules.iter().zip(&allocation.priorities) {
            if rule.service != held.service {
                return Err(BerthError::Internal(format!("allocation order {} does not match rule {}", held.service, rule.service)));
            }
            let tg = &target_groups[&rule.service];
            let spec = RuleSpec {
                listener_arn: listener_arn.to_string(),
                priority: held.priority,
                host: rule.host.clone(),
                path_patterns: rule.path_patterns.clone(),
                target_group_arn: tg.arn.clone(),
                tags: tags(plan, &rule.service),
            };
            let observed = reconcile_rule(ports.rules, plan, &spec, &mut existing, j).await?;
            rules.insert(rule.service.clone(), (held.priority, observed));
        }
    }

    // One listing tells which families exist at all: a family that does not is registered
    // without being described first.
    let families: Vec<&str> = plan.services.iter().map(|s| s.task_family.as_str()).collect();
    let known_families: BTreeSet<String> = match common_prefix(&families) {
        Some(prefix) => ports.task_definitions.families(prefix).await?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let mut task_definitions = BTreeMap::new();
    for s in &plan.services {
        let arn = reconcile_task_definition(ports.task_definitions, plan, s, known_families.contains(&s.task_family), infra, j).await?;
        task_definitions.insert(s.name.clone(), arn);
    }

    let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
    let found: BTreeMap<String, ServiceObserved> =
        ports.services.describe(&infra.cluster, &names).await?.into_iter().map(|s| (s.name.clone(), s)).collect();
    let mut services = BTreeMap::new();
    for s in &plan.services {
        let td = &task_definitions[&s.name];
        let lb = target_groups.get(&s.name).zip(s.port).map(|(tg, port)| (tg.arn.clone(), s.name.clone(), port));
        let observed = reconcile_service(ports.services, plan, s, td, lb, found.get(&s.ecs_service), infra, j).await?;
        services.insert(s.name.clone(), observed.arn);
    }

    Ok(ResourcesOutput {
        services: plan
            .services
            .iter()
            .map(|s| ServiceResources {
                service: s.name.clone(),
                log_group: s.log_group.clone(),
                target_group_arn: target_groups.get(&s.name).map(|t| t.arn.clone()),
                rule_arn: rules.get(&s.name).map(|(_, r)| r.arn.clone()),
                priority: rules.get(&s.name).map(|(p, _)| *p),
                task_definition_arn: task_definitions[&s.name].clone(),
                service_arn: services[&s.name].clone(),
            })
            .collect(),
        created: j.created.clone(),
        fixed: j.fixed.clone(),
    })
}

fn tags(plan: &Plan, service: &str) -> BTreeMap<String, String> {
    let mut t = plan.tags.clone();
    t.insert(TAG_SERVICE.to_string(), service.to_string());
    t
}

/// True when the tags say berth made it for this plan's customer.
pub(crate) fn owned_by(tags: &BTreeMap<String, String>, plan: &Plan) -> bool {
    tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(naming::MANAGED_BY_VALUE) && tags.get(TAG_CUSTOMER) == Some(&plan.customer_id)
}

async fn reconcile_log_groups<L: LogGroups>(logs: &L, plan: &Plan, j: &mut Journal) -> Result<(), BerthError> {
    // One group per customer in practice; every service names the group it writes to, and
    // the group keeps the longest retention any of them asks for.
    let mut wanted: BTreeMap<&str, i32> = BTreeMap::new();
    for s in &plan.services {
        let days = wanted.entry(&s.log_group).or_insert(s.log_retention_days);
        *days = (*days).max(s.log_retention_days);
    }
    for (group, days) in wanted {
        // Created first: a group that exists already is looked at only then.
        if logs.create(group, &plan.tags).await? {
            j.created.push(group.to_string());
            j.hold(ResourceKind::LogGroup, group, None);
            logs.set_retention(group, days).await?;
            tracing::info!(customer = %plan.customer_id, log_group = %group, "log group created");
            continue;
        }
        // The name is the prefix: DescribeLogGroups also lists longer names, which are not it.
        let existing = logs
            .list(group)
            .await?
            .into_iter()
            .find(|g| g.name == group)
            .ok_or_else(|| BerthError::Transient(format!("log group {group} reported to exist but not listed yet")))?;
        if !owned_by(&logs.tags(&existing.arn).await?, plan) {
            return Err(not_ours("log group", group, plan));
        }
        j.hold(ResourceKind::LogGroup, group, None);
        if existing.retention_days != Some(days) {
            logs.set_retention(group, days).await?;
            j.fixed.push(format!("{group}: retention {days} days"));
        }
    }
    Ok(())
}

/// `Berth.Conflict`: a resource of that name exists and is not berth's for the customer.
fn not_ours(kind: &str, name: &str, plan: &Plan) -> BerthError {
    BerthError::Conflict(format!(
        "{kind} {name} exists and is not berth's for customer '{}' (its tags say otherwise): berth changes nothing of it",
        plan.customer_id
    ))
}

async fn reconcile_target_group<T: TargetGroups>(
    tgs: &T,
    plan: &Plan,
    s: &ServicePlan,
    infra: &InfraConfig,
    j: &mut Journal,
) -> Result<TargetGroupObserved, BerthError> {
    let want = s.target_group.as_ref().ok_or_else(|| BerthError::Internal(format!("service {} has no target group", s.name)))?;
    match tgs.find(&want.name).await? {
        Some(tg) => {
            if !owned_by(&tg.tags, plan) {
                return Err(not_ours("target group", &want.name, plan));
            }
            if tg.port != Some(want.port) || tg.vpc_id.as_deref() != Some(infra.vpc_id.as_str()) {
                return Err(BerthError::Conflict(format!(
                    "target group {} exists with port {:?} in {:?}; the plan wants port {} in {}",
                    want.name, tg.port, tg.vpc_id, want.port, infra.vpc_id
                )));
            }
            j.hold(ResourceKind::TargetGroup, &tg.arn, None);
            if tg.health_check_path.as_deref() != Some(want.health_check_path.as_str()) {
                tgs.set_health_check_path(&tg.arn, &want.health_check_path).await?;
                j.fixed.push(format!("{}: health check {}", tg.arn, want.health_check_path));
            }
            Ok(tg)
        }
        None => {
            let tg = tgs
                .create(&TargetGroupSpec {
                    name: want.name.clone(),
                    port: want.port,
                    vpc_id: infra.vpc_id.clone(),
                    health_check_path: want.health_check_path.clone(),
                    tags: tags(plan, &s.name),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, target_group = %tg.arn, "target group created");
            j.created.push(tg.arn.clone());
            j.hold(ResourceKind::TargetGroup, &tg.arn, None);
            Ok(tg)
        }
    }
}

async fn reconcile_rule<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    spec: &RuleSpec,
    existing: &mut Option<Vec<RuleObserved>>,
    j: &mut Journal,
) -> Result<RuleObserved, BerthError> {
    // Known from an earlier look at the listener in this run: adopt it.
    let known = existing.as_ref().and_then(|rs| rs.iter().find(|r| r.priority == Some(spec.priority)).cloned());
    if let Some(r) = known {
        return adopt_rule(rules, plan, spec, r, j).await;
    }
    match rules.create(spec).await {
        Ok(r) => {
            tracing::info!(rule = %r.arn, priority = spec.priority, host = %spec.host, "listener rule created");
            j.created.push(r.arn.clone());
            j.hold(ResourceKind::ListenerRule, &r.arn, Some(&spec.listener_arn));
            Ok(r)
        }
        Err(e) if e.aws_code() == Some("PriorityInUse") => {
            let listed = rules.list(&spec.listener_arn).await?;
            let found = listed.iter().find(|r| r.priority == Some(spec.priority)).cloned();
            *existing = Some(listed);
            match found {
                Some(r) => adopt_rule(rules, plan, spec, r, j).await,
                None => Err(BerthError::Transient(format!("priority {} reported in use but no rule holds it yet", spec.priority))),
            }
        }
        Err(e) => Err(e),
    }
}

/// The rule at the customer's priority: ours when it matches the host and paths and its tags
/// say so (then its target is fixed if it drifted), a conflict otherwise.
async fn adopt_rule<R: ListenerRules>(
    rules: &R,
    plan: &Plan,
    spec: &RuleSpec,
    r: RuleObserved,
    j: &mut Journal,
) -> Result<RuleObserved, BerthError> {
    let tags = rules.tags(std::slice::from_ref(&r.arn)).await?.remove(&r.arn).unwrap_or_default();
    if !r.matches(&spec.host, &spec.path_patterns) || !owned_by(&tags, plan) {
        return Err(BerthError::Conflict(format!(
            "priority {} on the listener is held by rule {} (hosts {:?}, paths {:?}), which is not berth's for customer '{}'",
            spec.priority, r.arn, r.hosts, r.path_patterns, plan.customer_id
        )));
    }
    j.hold(ResourceKind::ListenerRule, &r.arn, Some(&spec.listener_arn));
    if r.target_group_arns != [spec.target_group_arn.clone()] {
        rules.set_target(&r.arn, &spec.target_group_arn).await?;
        j.fixed.push(format!("{}: forward to {}", r.arn, spec.target_group_arn));
    }
    Ok(r)
}

fn task_definition_spec(plan: &Plan, s: &ServicePlan, infra: &InfraConfig) -> TaskDefinitionSpec {
    let mut spec = TaskDefinitionSpec {
        family: s.task_family.clone(),
        container_name: s.name.clone(),
        image: s.image.clone(),
        cpu: s.cpu,
        memory: s.memory,
        port: s.port,
        environment: s.environment.clone(),
        secrets: s.secrets.clone(),
        log_group: s.log_group.clone(),
        log_region: infra.region.clone(),
        execution_role_arn: infra.execution_role_arn.clone(),
        task_role_arn: infra.task_role_arn.clone(),
        tags: tags(plan, &s.name),
    };
    let fingerprint = format!("{spec:?}");
    spec.tags.insert(TAG_SPEC_HASH.to_string(), naming::short_hash(&[&fingerprint], 32));
    spec
}

/// The longest prefix all the names share; None for no names.
fn common_prefix<'n>(names: &[&'n str]) -> Option<&'n str> {
    let first = *names.first()?;
    let mut len = names.iter().fold(first.len(), |len, n| first.bytes().zip(n.bytes()).take(len).take_while(|(a, b)| a == b).count());
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first.get(..len)
}

async fn reconcile_task_definition<D: TaskDefinitions>(
    tds: &D,
    plan: &Plan,
    s: &ServicePlan,
    family_exists: bool,
    infra: &InfraConfig,
    j: &mut Journal,
) -> Result<String, BerthError> {
    let spec = task_definition_spec(plan, s, infra);
    if family_exists {
        if let Some(latest) = tds.latest(&spec.family).await? {
            if !owned_by(&latest.tags, plan) {
                return Err(not_ours("task definition family", &spec.family, plan));
            }
            if latest.active && latest.tags.get(TAG_SPEC_HASH) == spec.tags.get(TAG_SPEC_HASH) {
                j.hold(ResourceKind::TaskDefinition, &latest.arn, None);
                return Ok(latest.arn);
            }
        }
    }
    let td = tds.register(&spec).await?;
    tracing::info!(customer = %plan.customer_id, task_definition = %td.arn, "task definition registered");
    j.created.push(td.arn.clone());
    j.hold(ResourceKind::TaskDefinition, &td.arn, None);
    Ok(td.arn)
}

#[allow(clippy::too_many_arguments)]
async fn reconcile_service<S: Services>(
    services: &S,
    plan: &Plan,
    s: &ServicePlan,
    task_definition: &str,
    load_balancer: Option<(String, String, u16)>,
    found: Option<&ServiceObserved>,
    infra: &InfraConfig,
    j: &mut Journal,
) -> Result<ServiceObserved, BerthError> {
    match found {
        Some(svc) if svc.status != "INACTIVE" && !owned_by(&svc.tags, plan) => Err(not_ours("ECS service", &svc.name, plan)),
        Some(svc) if svc.status == "ACTIVE" => {
            j.hold(ResourceKind::Service, &svc.arn, Some(&infra.cluster));
            if svc.task_definition != task_definition || svc.desired_count != s.desired_count as i32 {
                let updated = services.update(&infra.cluster, &s.ecs_service, task_definition, s.desired_count).await?;
                j.fixed.push(format!("{}: task definition {task_definition}, desired {}", svc.arn, s.desired_count));
                return Ok(updated);
            }
            Ok(svc.clone())
        }
        Some(svc) if svc.status == "DRAINING" => {
            Err(BerthError::Transient(format!("service {} is still draining from an earlier deletion", svc.name)))
        }
        _ => {
            let created = services
                .create(&ServiceSpec {
                    cluster: infra.cluster.clone(),
                    name: s.ecs_service.clone(),
                    task_definition_arn: task_definition.to_string(),
                    desired_count: s.desired_count,
                    subnets: infra.subnets.clone(),
                    security_groups: infra.security_groups.clone(),
                    load_balancer,
                    client_token: s.client_token.clone(),
                    tags: tags(plan, &s.name),
                })
                .await?;
            tracing::info!(customer = %plan.customer_id, service = %created.arn, "service created");
            j.created.push(created.arn.clone());
            j.hold(ResourceKind::Service, &created.arn, Some(&infra.cluster));
            Ok(created)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn families_share_the_customer_prefix() {
        assert_eq!(common_prefix(&[]), None);
        assert_eq!(common_prefix(&["berth-acme-api"]), Some("berth-acme-api"));
        assert_eq!(common_prefix(&["berth-acme-api", "berth-acme-frontend", "berth-acme-worker"]), Some("berth-acme-"));
        assert_eq!(common_prefix(&["berth-acme-api", "berth-acme-api2"]), Some("berth-acme-api"));
    }
}
