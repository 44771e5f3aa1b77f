//! Step 5: the health gate. The customer's services must be stable, and every target group
//! whose service wants tasks must have as many healthy targets as the service wants
//! (DescribeTargetHealth); a certificate berth requested for the customer must be issued.
//! The state machine waits and asks again until both hold, or
//! until the plan's attempts run out (`Berth.Timeout`, then the rollback).

use berth_adapters::config::ClusterConfig;
use berth_adapters::ports::{Ports, Services, TargetGroups};
use berth_domain::BerthError;

use crate::io::{checked, CheckInput, HealthOutput, TargetGroupHealth};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<ClusterConfig, P>, input: CheckInput) -> Result<HealthOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let (services, target_groups, cluster) = (cx.ports.services(), cx.ports.target_groups(), cx.config.cluster.as_str());
    let attempts = input.attempts.saturating_add(1);
    let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
    let observed = services.describe(cluster, &names).await?;
    let missing: Vec<&str> = names.iter().filter(|n| !observed.iter().any(|o| &o.name == *n)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(BerthError::NotFound(format!("services {missing:?} are not on cluster {cluster}")));
    }
    let mut waiting: Vec<String> = observed
        .iter()
        .filter(|s| !s.is_stable())
        .map(|s| {
            format!(
                "{} (running {}/{}, {} deployments, rollout {})",
                s.name,
                s.running_count,
                s.desired_count,
                s.deployments,
                s.rollout_state.as_deref().unwrap_or("unknown")
            )
        })
        .collect();

    // Targets are asked about only once the services are stable: until then they cannot
    // all be there.
    let mut targets = Vec::new();
    if waiting.is_empty() {
        for s in plan.services.iter().filter(|s| s.desired_count > 0) {
            let Some(arn) = input.target_groups.iter().find(|r| r.service == s.name).and_then(|r| r.target_group_arn.clone()) else {
                continue;
            };
            let health = target_groups.health(&arn).await?;
            let healthy = health.iter().filter(|t| t.state == "healthy").count() as u32;
            if healthy < s.desired_count {
                let states: Vec<String> = health.iter().map(|t| format!("{} {}", t.id, t.state)).collect();
                waiting.push(format!("{} ({healthy}/{} targets healthy: [{}])", s.name, s.desired_count, states.join(", ")));
            }
            targets.push(TargetGroupHealth { service: s.name.clone(), target_group_arn: arn, healthy, wanted: s.desired_count });
        }
    }
    // The certificate berth requested for the customer's dotted hosts must be issued: the
    // dns step puts it on the listener before the hosts get their records.
    if plan.customer_certificate.is_some() {
        match crate::resource::certificate::requested(cx.ports.certificates(), plan).await? {
            Some(c) if c.issued() => {}
            Some(c) => waiting.push(format!("certificate {} ({})", c.arn, c.status)),
            None => return Err(BerthError::NotFound(format!("the certificate for {:?} is not in ACM", plan.customer_certificate))),
        }
    }
    let stable = waiting.is_empty();
    tracing::info!(customer = %plan.customer_id, attempts, stable, waiting = ?waiting, "health checked");
    if !stable && attempts >= plan.health.max_attempts {
        return Err(BerthError::Timeout(format!(
            "not healthy after {attempts} checks {}s apart: {}",
            plan.health.interval_seconds,
            waiting.join(", ")
        )));
    }
    Ok(HealthOutput { attempts, stable, services: observed, targets })
}
