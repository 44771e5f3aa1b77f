//! Step 5: are the customer's services stable? The state machine waits and asks again
//! until they are, or until the plan's attempts run out (`Berth.Timeout`).

use berth_adapters::ports::Services;
use berth_domain::BerthError;

use crate::io::{HealthOutput, State};

pub async fn run<S: Services>(services: &S, cluster: &str, state: &State) -> Result<HealthOutput, BerthError> {
    let plan = state.plan()?;
    let attempts = state.health.as_ref().map_or(0, |h| h.attempts) + 1;
    let names: Vec<String> = plan.services.iter().map(|s| s.ecs_service.clone()).collect();
    let observed = services.describe(cluster, &names).await?;
    let missing: Vec<&str> = names.iter().filter(|n| !observed.iter().any(|o| &o.name == *n)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(BerthError::NotFound(format!("services {missing:?} are not on cluster {cluster}")));
    }
    let stable = observed.iter().all(|s| s.is_stable());
    tracing::info!(customer = %plan.customer_id, attempts, stable, "health checked");
    if !stable && attempts >= plan.health.max_attempts {
        let waiting: Vec<String> = observed
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
        return Err(BerthError::Timeout(format!(
            "services not stable after {attempts} checks {}s apart: {}",
            plan.health.interval_seconds,
            waiting.join(", ")
        )));
    }
    Ok(HealthOutput { attempts, stable, services: observed })
}
