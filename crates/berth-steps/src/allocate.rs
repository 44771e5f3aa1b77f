//! Step 3: place the customer on an ALB of the pool with room for all of its rules and
//! target groups, and take its listener-rule priorities there, atomically; numbers that a
//! rule berth does not own holds on the live listener are skipped and recorded. A rule
//! berth does not own that already routes the customer's host on that listener is a
//! conflict: berth would compete with it for the host's traffic.

use berth_adapters::config::TableConfig;
use berth_adapters::model::same_dns_name;
use berth_adapters::ports::{ListenerRules, Placements, Ports, Roles};
use berth_domain::plan::Plan;
use berth_domain::pool::Need;
use berth_domain::BerthError;

use crate::io::{checked, AllocationOutput, PlanInput, RulePriority};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: PlanInput) -> Result<AllocationOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let (placements, rules) = (cx.ports.placements(), cx.ports.rules());
    let need = Need {
        rules: plan.rules.len() as u32,
        target_groups: plan.services.iter().filter(|s| s.target_group.is_some()).count() as u32,
        certificates: plan.certificate_count(),
    };
    check_role_quota(cx.ports.roles(), plan).await?;
    let mut placement = placements.place(&plan.customer_id, &plan.execution_id, &need).await?;
    // The ledger against the live listener: a number held there by a rule berth does not
    // own (made by hand, say) is set aside and replaced. One DescribeRules page holds the
    // whole listener (at most its rule quota).
    let hosts = plan.rule_hosts();
    let ours = |rule_hosts: &[String]| rule_hosts.iter().any(|h| hosts.iter().any(|p| same_dns_name(h, p)));
    if !placement.priorities.is_empty() {
        for _ in 0..3 {
            let live = rules.list(&placement.alb.listener_arn).await?;
            let for_host: Vec<String> = live.iter().filter(|r| ours(&r.hosts)).map(|r| r.arn.clone()).collect();
            if !for_host.is_empty() {
                // Ours only from an earlier attempt of this customer's, as its tags say.
                let tags = rules.tags(&for_host).await?;
                let foreign: Vec<String> = live
                    .iter()
                    .filter(|r| for_host.contains(&r.arn))
                    .filter(|r| !tags.get(&r.arn).is_some_and(|t| crate::resource::owned_by(t, plan)))
                    .map(|r| format!("{} (priority {})", r.arn, r.priority.map(|p| p.to_string()).unwrap_or_else(|| "default".into())))
                    .collect();
                if !foreign.is_empty() {
                    return Err(BerthError::Conflict(format!(
                        "listener {} already routes host {} with rules berth does not own: {}; berth changes nothing there",
                        placement.alb.listener_arn,
                        hosts.join(", "),
                        foreign.join(", ")
                    )));
                }
            }
            let held: Vec<(u32, String)> = placement
                .priorities
                .iter()
                .filter_map(|p| live.iter().find(|r| r.priority == Some(*p) && !ours(&r.hosts)))
                .map(|r| (r.priority.unwrap_or_default(), r.arn.clone()))
                .collect();
            if held.is_empty() {
                break;
            }
            tracing::warn!(customer = %plan.customer_id, listener = %placement.alb.listener_arn, held = ?held, "priorities held by rules berth does not own");
            placement.priorities = placements.set_aside(&plan.customer_id, &plan.execution_id, &held).await?;
        }
    }
    let mut numbers = placement.priorities;
    if numbers.len() != plan.rules.len() {
        return Err(BerthError::Conflict(format!(
            "customer '{}' holds {} priorities but the plan has {} rules",
            plan.customer_id,
            numbers.len(),
            plan.rules.len()
        )));
    }
    // Lowest number to the most specific rule: the plan lists rules most specific first.
    numbers.sort_unstable();
    let out = AllocationOutput {
        listener_arn: placement.alb.listener_arn.clone(),
        alb: placement.alb,
        priorities: plan.rules.iter().zip(numbers).map(|(r, p)| RulePriority { service: r.service.clone(), priority: p }).collect(),
    };
    tracing::info!(customer = %plan.customer_id, alb = %out.alb.name, listener = %out.listener_arn, priorities = ?out.priorities, "placed");
    Ok(out)
}

/// The customer's own IAM role counts against the account's roles (1,000 by default, 5,000
/// at most): a customer whose role is not there yet is refused here, before anything is
/// made, when the account has no room left for it.
pub(crate) async fn check_role_quota<R: Roles>(roles: &R, plan: &Plan) -> Result<(), BerthError> {
    if plan.role.is_empty() || roles.find(&plan.role).await?.is_some() {
        return Ok(());
    }
    let q = roles.account().await?;
    if q.used >= q.quota {
        return Err(BerthError::QuotaExceeded(format!(
            "the account holds {} of its {} IAM roles and customer '{}' needs one of its own: raise IAM's roles-per-account quota (at most 5,000) or offboard a customer",
            q.used, q.quota, plan.customer_id
        )));
    }
    tracing::info!(customer = %plan.customer_id, roles = q.used, quota = q.quota, "room for the customer's role");
    Ok(())
}
