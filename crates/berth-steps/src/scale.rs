//! Suspend and resume, and putting back an update: every service of the customer to 0 tasks
//! (its scaler, if the tier scales it, suspended first with its minimum at 0), each one's count
//! remembered on the record first (a retried suspend keeps the first counts it remembered,
//! never the zeros it set); or back to the remembered counts (then the scalers go on with
//! their plan's bounds); or back to the revisions and
//! counts the services ran before an update. DNS, rules and target groups
//! stay, so a resume only waits for the tasks. Only services berth made for the customer
//! (by their tags) are touched.

use std::collections::BTreeMap;

use berth_adapters::config::ScaleConfig;
use berth_adapters::ports::{Customers, Ports, Services};
use berth_domain::BerthError;

use crate::io::{checked, ScaleInput, ScaleOutput, ScaleTo, Scaled};
use crate::resource::owned_by;
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<ScaleConfig, P>, input: ScaleInput) -> Result<ScaleOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let (services, customers, cluster) = (cx.ports.services(), cx.ports.customers(), cx.config.cluster.as_str());
    // Putting an update back touches the services that ran before it; one it added is
    // taken away by the reshape step.
    let wanted: Vec<&berth_domain::plan::ServicePlan> = match input.to {
        ScaleTo::Before => plan.services.iter().filter(|s| input.before.iter().any(|b| b.service == s.name)).collect(),
        _ => plan.services.iter().collect(),
    };
    let names: Vec<String> = wanted.iter().map(|s| s.ecs_service.clone()).collect();
    let observed = services.describe(cluster, &names).await?;
    let mut found = Vec::new();
    for s in wanted {
        let o = observed.iter().find(|o| o.name == s.ecs_service && o.status == "ACTIVE").ok_or_else(|| {
            BerthError::NotFound(format!("service {} of customer '{}' is not on cluster {cluster}", s.ecs_service, plan.customer_id))
        })?;
        if !owned_by(&o.tags, plan) {
            return Err(crate::resource::not_ours("service", &s.ecs_service, plan));
        }
        found.push((s, o));
    }
    let targets: BTreeMap<String, u32> = match input.to {
        ScaleTo::Zero => {
            let now: BTreeMap<String, u32> = found.iter().map(|(s, o)| (s.name.clone(), o.desired_count.max(0) as u32)).collect();
            let remembered = customers.remember_counts(&plan.customer_id, &plan.execution_id, &now).await?;
            tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, counts = ?remembered, "counts remembered");
            found.iter().map(|(s, _)| (s.name.clone(), 0)).collect()
        }
        ScaleTo::Remembered => {
            let record = customers.get(&plan.customer_id).await?;
            let remembered = record.map(|r| r.suspended_counts).unwrap_or_default();
            found.iter().map(|(s, _)| (s.name.clone(), remembered.get(&s.name).copied().unwrap_or(s.desired_count))).collect()
        }
        ScaleTo::Before => found
            .iter()
            .map(|(s, _)| (s.name.clone(), input.before.iter().find(|b| b.service == s.name).map_or(s.desired_count, |b| b.desired_count)))
            .collect(),
    };
    let mut out = ScaleOutput { customer_id: plan.customer_id.clone(), services: Vec::new(), plan: plan.clone() };
    // A suspended customer's scalers stop first, so that none adds tasks back.
    if input.to == ScaleTo::Zero {
        for (s, _) in &found {
            if crate::resource::scaling::suspend(cx.ports.scaling(), cluster, s, true).await? {
                tracing::info!(customer = %plan.customer_id, service = %s.ecs_service, "scaler suspended");
            }
        }
    }
    for (s, o) in &found {
        let to = targets.get(&s.name).copied().unwrap_or(0);
        let from = o.desired_count.max(0) as u32;
        // Putting an update back also puts back the revision each service ran before.
        let revision = match input.to {
            ScaleTo::Before => {
                input.before.iter().find(|b| b.service == s.name).map_or(o.task_definition.as_str(), |b| b.task_definition.as_str())
            }
            _ => o.task_definition.as_str(),
        };
        if from != to || revision != o.task_definition {
            services.update(cluster, &s.ecs_service, revision, to, None).await?;
            tracing::info!(customer = %plan.customer_id, service = %s.ecs_service, from, to, task_definition = %revision, "scaled");
        }
        out.services.push(Scaled { service: s.name.clone(), ecs_service: s.ecs_service.clone(), from, to });
    }
    // Putting an update back puts back the scalers the services had before it.
    if input.to == ScaleTo::Before {
        for (s, _) in &found {
            let before = input.before.iter().find(|b| b.service == s.name).and_then(|b| b.autoscaling.as_ref());
            let done = crate::resource::scaling::set(cx.ports.scaling(), cluster, &s.ecs_service, before).await?;
            if done != crate::resource::scaling::Set::Unchanged {
                tracing::info!(customer = %plan.customer_id, service = %s.ecs_service, scaler = ?before, "scaler put back");
            }
        }
    }
    // A resumed customer's scalers start again with their plan's bounds.
    if input.to == ScaleTo::Remembered {
        for (s, _) in &found {
            if crate::resource::scaling::suspend(cx.ports.scaling(), cluster, s, false).await? {
                tracing::info!(customer = %plan.customer_id, service = %s.ecs_service, "scaler resumed");
            }
        }
    }
    for s in &mut out.plan.services {
        s.desired_count = targets.get(&s.name).copied().unwrap_or(s.desired_count);
    }
    Ok(out)
}
