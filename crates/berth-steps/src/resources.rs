//! Step 4: log groups, target groups, the customer's own certificates on the listener,
//! listener rules, task definitions, services and their
//! scalers, each
//! reconciled (see [`crate::resource`]): found by name (or priority) and checked, created
//! only when missing, fixed when it drifted. A resource of the name berth wants that its
//! tags do not give to this customer is never changed: the step stops with
//! `Berth.Conflict` naming it. Everything it holds is recorded in the customer's resource
//! ledger before it returns, also when it fails half-way.

use std::collections::{BTreeMap, BTreeSet};

use berth_adapters::config::InfraConfig;
use berth_adapters::model::{RuleObserved, RuleSpec, ServiceObserved, TargetGroupObserved};
use berth_adapters::ports::{Ledger, Ports, Scaling, Services, TaskDefinitions};
use berth_domain::plan::Plan;
use berth_domain::BerthError;

use crate::io::{checked, AllocationOutput, ResourcesInput, ResourcesOutput, ServiceResources};
use crate::resource::{certificate, log_group, role, rule, scaling, security_group, service, tags, target_group, task_definition, Journal};
use crate::Context;

pub use crate::resource::TAG_SPEC_HASH;

pub async fn run<P: Ports>(cx: &Context<InfraConfig, P>, input: ResourcesInput) -> Result<ResourcesOutput, BerthError> {
    let (ports, infra) = (&cx.ports, &cx.config);
    let plan = checked(&input.plan)?;
    let mut j = Journal { execution_id: plan.execution_id.clone(), created: Vec::new(), fixed: Vec::new(), held: Vec::new() };
    let built = build(ports, infra, plan, &input.placement, &mut j).await;
    // The ledger learns what the step holds before the step returns, whatever happened.
    let recorded = if j.held.is_empty() { Ok(()) } else { ports.ledger().record(&plan.customer_id, &j.held).await };
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

async fn build<P: Ports>(
    ports: &P,
    infra: &InfraConfig,
    plan: &Plan,
    allocation: &AllocationOutput,
    j: &mut Journal,
) -> Result<ResourcesOutput, BerthError> {
    let listener_arn = allocation.listener_arn.as_str();

    log_group::reconcile(ports.logs(), plan, j).await?;
    // The customer's own role and group, before anything runs with them.
    let role_arn = role::reconcile(ports.roles(), plan, infra, j).await?;
    let security_group = security_group::reconcile(ports.security_groups(), plan, infra, j).await?;

    let mut target_groups: BTreeMap<String, TargetGroupObserved> = BTreeMap::new();
    for s in &plan.services {
        if s.target_group.is_some() {
            let tg = target_group::reconcile(ports.target_groups(), plan, s, infra, j).await?;
            target_groups.insert(s.name.clone(), tg);
        }
    }

    // The customer's own certificates on the listener before a rule routes their names.
    certificate::reconcile(ports, plan, listener_arn, j).await?;
    certificate::reconcile_requested(ports, plan, listener_arn, &infra.hosted_zone_id, j).await?;

    let mut rules: BTreeMap<String, (u32, RuleObserved)> = BTreeMap::new();
    if !plan.rules.is_empty() {
        // Created first, looked up only when the listener says the priority is taken: the
        // listener holds each priority once, so a rule of ours from an earlier attempt
        // surfaces as PriorityInUse.
        let mut existing: Option<Vec<RuleObserved>> = None;
        for rule in &plan.rules {
            let held = allocation.priorities.iter().find(|p| p.service == rule.service).ok_or_else(|| {
                BerthError::invalid("placement.priorities", format!("no priority for the rule of service '{}'", rule.service))
            })?;
            let tg = &target_groups[&rule.service];
            let spec = RuleSpec {
                listener_arn: listener_arn.to_string(),
                priority: held.priority,
                host: rule.host.clone(),
                also: rule.also.clone(),
                path_patterns: rule.path_patterns.clone(),
                target_group_arn: tg.arn.clone(),
                tags: tags(plan, &rule.service),
            };
            let observed = rule::reconcile(ports.rules(), plan, &spec, &mut existing, j).await?;
            rules.insert(rule.service.clone(), (held.priority, observed));
        }
    }

    // One listing tells which families exist at all: a family that does not is registered
    // without being described first.
    let families: Vec<&str> = plan.services.iter().map(|s| s.task_family.as_str()).collect();
    let known_families: BTreeSet<String> = match task_definition::common_prefix(&families) {
        Some(prefix) => ports.task_definitions().families(prefix).await?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let mut task_definitions = BTreeMap::new();
    for s in &plan.services {
        let arn =
            task_definition::reconcile(ports.task_definitions(), plan, s, known_families.contains(&s.task_family), infra, &role_arn, j)
                .await?;
        task_definitions.insert(s.name.clone(), arn);
    }

    let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
    let found: BTreeMap<String, ServiceObserved> =
        ports.services().describe(&infra.cluster, &names).await?.into_iter().map(|s| (s.name.clone(), s)).collect();
    // The scalers of the services that were there already, in one lookup (a service made
    // now has none).
    let existing: Vec<String> = plan
        .services
        .iter()
        .filter(|s| found.get(&s.ecs_service).is_some_and(|o| o.status == "ACTIVE"))
        .map(|s| s.ecs_service.clone())
        .collect();
    let scalers = if existing.is_empty() { Vec::new() } else { ports.scaling().targets(&infra.cluster, &existing).await? };
    let mut services = BTreeMap::new();
    for s in &plan.services {
        let td = &task_definitions[&s.name];
        let lb = target_groups.get(&s.name).zip(s.port).map(|(tg, port)| (tg.arn.clone(), s.name.clone(), port));
        let observed = service::reconcile(ports.services(), plan, s, td, lb, found.get(&s.ecs_service), infra, &security_group, j).await?;
        services.insert(s.name.clone(), observed.arn);
        let scaler = scalers.iter().find(|t| t.resource_id == scaling::id(&infra.cluster, &s.ecs_service)).cloned();
        scaling::reconcile(ports.scaling(), plan, s, &infra.cluster, scaler, j).await?;
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
