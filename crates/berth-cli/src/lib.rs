//! The operators' commands, as functions over the adapters (the binary only parses
//! arguments and prints).

use aws_sdk_elasticloadbalancingv2::Client as Elb;
use berth_adapters::ports::Pool;
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
