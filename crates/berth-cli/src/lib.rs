//! The operators' commands, as functions over the adapters (the binary only parses
//! arguments and prints).

pub mod customers;
pub mod error;
pub mod follow;
pub mod start;
pub mod target;

pub use error::CliError;

use aws_sdk_elasticloadbalancingv2::Client as Elb;
use berth_adapters::aws::{DynamoRegistry, ElbApi};
use berth_adapters::ports::{ListenerRules, Pool};
use berth_domain::pool::{self, Alb, AlbState, Capacity};
use berth_domain::BerthError;

/// Quotas for an ALB added to the pool.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub rules: u32,
    pub target_groups: u32,
    pub certificates: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            rules: pool::DEFAULT_RULE_QUOTA,
            target_groups: pool::DEFAULT_TARGET_GROUP_QUOTA,
            certificates: pool::DEFAULT_CERTIFICATE_QUOTA,
        }
    }
}

/// Adds the ALB behind an HTTPS listener to the pool, reading its load balancer, DNS name
/// and canonical hosted zone from ELB. The name defaults to the load balancer's.
pub async fn pool_add<P: Pool>(pool: &P, elb: &Elb, listener_arn: &str, name: Option<&str>, quotas: Quotas) -> Result<Alb, BerthError> {
    let listener = elb
        .describe_listeners()
        .listener_arns(listener_arn)
        .send()
        .await
        .map_err(|e| berth_adapters::classify("elasticloadbalancing", "DescribeListeners", e))?;
    let l = listener.listeners().first().ok_or_else(|| BerthError::NotFound(format!("no listener {listener_arn}")))?;
    if l.protocol().map(|p| p.as_str()) != Some("HTTPS") {
        return Err(BerthError::invalid("listener-arn", "must be an HTTPS listener"));
    }
    let lb_arn = l.load_balancer_arn().unwrap_or_default().to_string();
    let lbs = elb
        .describe_load_balancers()
        .load_balancer_arns(&lb_arn)
        .send()
        .await
        .map_err(|e| berth_adapters::classify("elasticloadbalancing", "DescribeLoadBalancers", e))?;
    let lb = lbs.load_balancers().first().ok_or_else(|| BerthError::NotFound(format!("no load balancer {lb_arn}")))?;
    let name = name.map(str::to_string).unwrap_or_else(|| lb.load_balancer_name().unwrap_or_default().to_string());
    if let Some(existing) = pool.albs().await?.into_iter().find(|a| a.listener_arn == listener_arn) {
        return Err(BerthError::Conflict(format!("listener {listener_arn} is already in the pool as '{}'", existing.name)));
    }
    let alb = Alb {
        name,
        load_balancer_arn: lb_arn,
        listener_arn: listener_arn.to_string(),
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        canonical_hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
        state: AlbState::Active,
        rules: Capacity::new(quotas.rules),
        target_groups: Capacity::new(quotas.target_groups),
        certificates: Capacity::new(quotas.certificates),
        customers: 0,
    };
    pool.add(&alb).await?;
    Ok(alb)
}

/// The pool as a table: one line per ALB with its use and free capacity.
pub fn pool_table(albs: &[Alb]) -> String {
    let mut out = format!("{:<24} {:<9} {:>9} {:>13} {:>12} {:>9}\n", "ALB", "STATE", "CUSTOMERS", "RULES", "TGS", "CERTS");
    for a in albs {
        out.push_str(&format!(
            "{:<24} {:<9} {:>9} {:>6}/{:<6} {:>5}/{:<6} {:>3}/{:<5}\n",
            a.name,
            a.state.as_str(),
            a.customers,
            a.rules.used,
            a.rules.quota,
            a.target_groups.used,
            a.target_groups.quota,
            a.certificates.used,
            a.certificates.quota
        ));
    }
    out
}

/// A rule on a pool listener that berth does not own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForeignRule {
    pub priority: u32,
    pub rule_arn: String,
    pub hosts: Vec<String>,
    /// Already set aside in the ledger (berth skipped its priority).
    pub recorded: bool,
}

/// A ledger entry whose rule is not on the listener.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnbackedClaim {
    pub priority: u32,
    pub customer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlbAudit {
    pub name: String,
    pub listener_arn: String,
    pub state: AlbState,
    pub customers: u32,
    pub rules: Capacity,
    pub rules_free: u32,
    pub target_groups: Capacity,
    pub target_groups_free: u32,
    /// Rules on the live listener, the default rule left out.
    pub live_rules: usize,
    pub foreign_rules: Vec<ForeignRule>,
    pub claims_without_rule: Vec<UnbackedClaim>,
}

/// Compares every pool listener with the ledger.
pub async fn audit(registry: &DynamoRegistry, elb: &ElbApi) -> Result<Vec<AlbAudit>, BerthError> {
    let mut report = Vec::new();
    for alb in registry.albs().await? {
        let live: Vec<_> = elb.list(&alb.listener_arn).await?.into_iter().filter(|r| r.priority.is_some()).collect();
        let claims = registry.claims(&alb.listener_arn).await?;
        let mut foreign = Vec::new();
        for r in &live {
            let p = r.priority.unwrap_or_default();
            match claims.iter().find(|(c, _, _)| *c == p) {
                Some((_, owner, _)) if owner != berth_adapters::aws::dynamo::FOREIGN_OWNER => {}
                claim => {
                    foreign.push(ForeignRule { priority: p, rule_arn: r.arn.clone(), hosts: r.hosts.clone(), recorded: claim.is_some() })
                }
            }
        }
        let unbacked = claims
            .iter()
            .filter(|(p, owner, _)| owner != berth_adapters::aws::dynamo::FOREIGN_OWNER && !live.iter().any(|r| r.priority == Some(*p)))
            .map(|(p, owner, _)| UnbackedClaim { priority: *p, customer_id: owner.clone() })
            .collect();
        report.push(AlbAudit {
            name: alb.name.clone(),
            listener_arn: alb.listener_arn.clone(),
            state: alb.state,
            customers: alb.customers,
            rules_free: alb.rules.free(),
            rules: alb.rules,
            target_groups_free: alb.target_groups.free(),
            target_groups: alb.target_groups,
            live_rules: live.len(),
            foreign_rules: foreign,
            claims_without_rule: unbacked,
        });
    }
    Ok(report)
}

/// The audit as text.
pub fn audit_text(report: &[AlbAudit]) -> String {
    let mut out = String::new();
    for a in report {
        out.push_str(&format!(
            "{} ({}): {} customers; rules {}/{} used, {} free ({} on the listener); target groups {}/{} used, {} free\n",
            a.name,
            a.state.as_str(),
            a.customers,
            a.rules.used,
            a.rules.quota,
            a.rules_free,
            a.live_rules,
            a.target_groups.used,
            a.target_groups.quota,
            a.target_groups_free
        ));
        for f in &a.foreign_rules {
            out.push_str(&format!(
                "  rule not owned by berth: priority {} {} hosts {:?}{}\n",
                f.priority,
                f.rule_arn,
                f.hosts,
                if f.recorded { " (set aside in the ledger)" } else { " (not in the ledger)" }
            ));
        }
        for c in &a.claims_without_rule {
            out.push_str(&format!("  ledger entry with no rule: priority {} held by customer '{}'\n", c.priority, c.customer_id));
        }
    }
    out
}
