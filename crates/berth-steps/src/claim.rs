//! The first step of every lifecycle machine (update, suspend, resume, offboarding): check
//! the request, then take the customer for this execution, from one of the states the
//! operation may start from to its in-progress state, in one conditional write. A second
//! lifecycle execution for the same customer is refused with `Berth.Conflict` naming the
//! execution that holds it, and changes nothing. Returns the plan the execution works to,
//! now carrying this execution: the customer's recorded plan (the names of what berth made
//! for it), or an update's desired plan with where the customer is placed and what its
//! services run now, and the services it adds or removes (see [`crate::reshape`]). An
//! update whose desired plan is the recorded one, for an ACTIVE customer, takes nothing and
//! writes nothing: `unchanged`.

use berth_adapters::config::ScaleConfig;
use berth_adapters::model::{AlbRef, CustomerRecord};
use berth_adapters::ports::{Customers, Pool, Ports, Services};
use berth_domain::lifecycle::{LifecycleRequest, Operation};
use berth_domain::plan::Plan;
use berth_domain::rollout;
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{checked, AllocationOutput, ClaimInput, Claimed, Outputs, Reshape, RulePriority, ServiceState, TargetGroupRef};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<ScaleConfig, P>, input: ClaimInput) -> Result<Claimed, BerthError> {
    let op = input.operation;
    if input.execution_id.is_empty() || input.execution_id.len() > berth_domain::plan::EXECUTION_ID_MAX {
        return Err(BerthError::invalid("execution_id", "must be the execution's ARN"));
    }
    let customers = cx.ports.customers();
    // An update's desired plan, and the record when reading it was needed to build it.
    let (request, desired, read) = match (op, &input.plan, &input.retag) {
        (Operation::Update, Some(plan), _) => {
            checked(plan)?;
            let request = LifecycleRequest {
                customer_id: plan.customer_id.clone(),
                idempotency_key: plan.idempotency_key.clone(),
                reason: None,
                keep_log_groups: false,
                requested_by: None,
                note: None,
            };
            (request, Some(plan.clone()), None)
        }
        // A rollout's update: the customer's recorded plan with the product's services on
        // the new tag.
        (Operation::Update, None, Some(retag)) => {
            let request = LifecycleRequest::parse(op, &input.request)?;
            if !berth_domain::naming::is_image_reference(&retag.image_tag) || retag.image_tag == "latest" {
                return Err(BerthError::invalid("retag.image_tag", "must be a pinned image tag or a sha256: digest"));
            }
            let current = customers.get(&request.customer_id).await?.ok_or_else(|| not_registered(&request.customer_id))?;
            let recorded = recorded_plan(&current)?;
            let mut desired = rollout::retagged(&recorded, retag.product.as_deref(), &retag.image_tag).unwrap_or(recorded);
            desired.idempotency_key = request.idempotency_key.clone();
            (request, Some(desired), Some(current))
        }
        (Operation::Update, None, None) => {
            return Err(BerthError::invalid("plan", "an update takes the desired plan (from validate) or a rollout's new tag"))
        }
        (_, _, _) => (LifecycleRequest::parse(op, &input.request)?, None, None),
    };
    let desired = desired.as_ref();

    if let Some(desired) = desired {
        let current = match read {
            Some(current) => current,
            None => customers.get(&request.customer_id).await?.ok_or_else(|| not_registered(&request.customer_id))?,
        };
        let recorded = recorded_plan(&current)?;
        if current.state == CustomerState::Active && same_spec(&recorded, desired) {
            tracing::info!(customer = %request.customer_id, execution = %input.execution_id, "the desired spec is the current one: nothing to do");
            return Ok(Claimed {
                plan: with_execution(desired, &input.execution_id),
                request,
                from: current.state,
                target_groups: target_groups(desired, &current),
                unchanged: true,
                placement: None,
                before: Vec::new(),
                reshape: Reshape::default(),
            });
        }
        // Refused before anything is taken: numbers that do not match the customer's rules
        // (of a customer an update may take at all; begin refuses the others).
        let union = desired.union(&recorded);
        if op.allowed_from().contains(&current.state)
            && current.priorities.len() != union.rules.len()
            && desired.services_not_in(&recorded).is_empty()
        {
            return Err(BerthError::Conflict(format!(
                "customer '{}' holds {} priorities and its rules take {}",
                current.customer_id,
                current.priorities.len(),
                union.rules.len()
            )));
        }
    }

    let record = customers.begin(&request.customer_id, &input.execution_id, op).await?;
    let from = record.previous_state.unwrap_or(record.state);
    let recorded = with_execution(&recorded_plan(&record)?, &input.execution_id);
    checked(&recorded)?;
    let Some(desired) = desired else {
        tracing::info!(customer = %request.customer_id, execution = %input.execution_id, operation = %op, from = %from, "customer taken");
        let target_groups = target_groups(&recorded, &record);
        return Ok(Claimed {
            plan: recorded,
            request,
            from,
            target_groups,
            unchanged: false,
            placement: None,
            before: Vec::new(),
            reshape: Reshape::default(),
        });
    };

    // An update: what it adds and removes, where the customer is, what its services run now.
    let desired = with_execution(desired, &input.execution_id);
    let (added, removed) = (desired.services_not_in(&recorded), recorded.services_not_in(&desired));
    let union = desired.union(&recorded);
    // A changed own domain is added like a product (its hostname claimed and its certificate
    // counted before the resources step, taken away again on failure) and the one it replaces
    // is taken away like a removed product, once the update is healthy.
    let domain_changed = union.domain_change.is_some();
    let reshape = if added.is_empty() && removed.is_empty() && !domain_changed {
        Reshape::default()
    } else {
        Reshape {
            plan: Some(union.clone()),
            grow: !added.is_empty() || domain_changed,
            prune: !removed.is_empty() || domain_changed,
            added,
            removed,
        }
    };
    // Until the reshape step took the numbers of added rules, the placement is its to give.
    let placement = if record.priorities.len() == union.rules.len() { Some(placement(cx, &union, &record).await?) } else { None };
    let names: Vec<String> = recorded.services.iter().map(|s| s.ecs_service.clone()).collect();
    let observed = cx.ports.services().describe(&cx.config.cluster, &names).await?;
    let before = recorded
        .services
        .iter()
        .filter_map(|s| {
            let o = observed.iter().find(|o| o.name == s.ecs_service && o.status == "ACTIVE")?;
            Some(ServiceState {
                service: s.name.clone(),
                ecs_service: s.ecs_service.clone(),
                task_definition: o.task_definition.clone(),
                desired_count: o.desired_count.max(0) as u32,
                autoscaling: s.autoscaling.clone(),
            })
        })
        .collect();
    tracing::info!(customer = %request.customer_id, execution = %input.execution_id, operation = %op, from = %from, added = ?reshape.added, removed = ?reshape.removed, "customer taken for an update");
    let target_groups = target_groups(&desired, &record);
    Ok(Claimed { plan: desired, request, from, target_groups, unchanged: false, placement, before, reshape })
}

fn not_registered(customer_id: &str) -> BerthError {
    BerthError::NotFound(format!("customer '{customer_id}' is not registered: there is nothing to update"))
}

fn recorded_plan(record: &CustomerRecord) -> Result<Plan, BerthError> {
    let plan =
        record.plan.clone().ok_or_else(|| BerthError::Internal(format!("customer '{}' has no recorded plan", record.customer_id)))?;
    berth_domain::input::parse(&plan, "plan")
}

fn with_execution(plan: &Plan, execution_id: &str) -> Plan {
    let mut p = plan.clone();
    p.execution_id = execution_id.to_string();
    p
}

/// The same spec: equal but for what names the execution and the request.
fn same_spec(a: &Plan, b: &Plan) -> bool {
    let strip = |p: &Plan| {
        let mut p = with_execution(p, "");
        p.idempotency_key.clear();
        p.services.iter_mut().for_each(|s| s.client_token.clear());
        p
    };
    strip(a) == strip(b)
}

/// The target groups, as the customer's outputs recorded them when it became ACTIVE.
fn target_groups(plan: &Plan, record: &CustomerRecord) -> Vec<TargetGroupRef> {
    let recorded: Option<Outputs> = record.outputs.clone().and_then(|o| serde_json::from_value(o).ok());
    plan.services
        .iter()
        .map(|s| TargetGroupRef {
            service: s.name.clone(),
            target_group_arn: recorded.as_ref().and_then(|o| o.target_groups.get(&s.name).cloned()),
        })
        .collect()
}

/// The customer's placement as allocation gave it: its ALB and listener, its priorities
/// in the plan's rule order (the most specific rule has the lowest); the plan is the union
/// of the recorded and the desired one, so that each has its own rules' numbers.
async fn placement<P: Ports>(cx: &Context<ScaleConfig, P>, plan: &Plan, record: &CustomerRecord) -> Result<AllocationOutput, BerthError> {
    let (Some(alb_name), Some(listener_arn)) = (&record.alb_name, &record.listener_arn) else {
        return Err(BerthError::Conflict(format!("customer '{}' is not placed on an ALB: onboard it again", record.customer_id)));
    };
    let mut priorities = record.priorities.clone();
    priorities.sort_unstable();
    if priorities.len() != plan.rules.len() {
        return Err(BerthError::Conflict(format!(
            "customer '{}' holds {} priorities and the plan has {} rules",
            record.customer_id,
            priorities.len(),
            plan.rules.len()
        )));
    }
    let alb = cx
        .ports
        .pool()
        .albs()
        .await?
        .into_iter()
        .find(|a| &a.name == alb_name)
        .ok_or_else(|| BerthError::NotFound(format!("ALB {alb_name} of customer '{}' is not in the pool", record.customer_id)))?;
    Ok(AllocationOutput {
        alb: AlbRef::from(&alb),
        listener_arn: listener_arn.clone(),
        priorities: plan.rules.iter().zip(priorities).map(|(r, p)| RulePriority { service: r.service.clone(), priority: p }).collect(),
    })
}
