//! The pool of shared ALBs and where a new customer goes.
//!
//! Each ALB has an HTTPS listener and capacity counters: listener rules per ALB (an
//! adjustable AWS quota, 100 by default), target groups per ALB (100, not adjustable) and
//! certificates per listener (25). All of a customer's rules and target groups sit on one
//! ALB. A draining ALB takes no new customers.

use serde::{Deserialize, Serialize};

pub const DEFAULT_RULE_QUOTA: u32 = 100;
pub const DEFAULT_TARGET_GROUP_QUOTA: u32 = 100;
pub const DEFAULT_CERTIFICATE_QUOTA: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlbState {
    /// Takes new customers.
    Active,
    /// Keeps its customers, takes no new ones.
    Draining,
}

impl AlbState {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlbState::Active => "ACTIVE",
            AlbState::Draining => "DRAINING",
        }
    }
    pub fn parse(s: &str) -> Option<AlbState> {
        [AlbState::Active, AlbState::Draining].into_iter().find(|a| a.as_str() == s)
    }
}

/// Capacity: quota and use of one kind of thing on one ALB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    pub quota: u32,
    pub used: u32,
}

impl Capacity {
    pub fn new(quota: u32) -> Capacity {
        Capacity { quota, used: 0 }
    }
    pub fn free(&self) -> u32 {
        self.quota.saturating_sub(self.used)
    }
    pub fn fits(&self, n: u32) -> bool {
        n <= self.free()
    }
}

/// One ALB of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alb {
    /// The operator's name for it (unique in the pool).
    pub name: String,
    pub load_balancer_arn: String,
    pub listener_arn: String,
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
    pub state: AlbState,
    pub rules: Capacity,
    pub target_groups: Capacity,
    pub certificates: Capacity,
    pub customers: u32,
}

/// What one customer needs on its ALB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    pub rules: u32,
    pub target_groups: u32,
    pub certificates: u32,
}

impl Alb {
    /// Why this ALB cannot take `need`, or `None` when it can.
    pub fn refusal(&self, need: &Need) -> Option<String> {
        if self.state != AlbState::Active {
            return Some(format!("{}: draining", self.name));
        }
        let mut full = Vec::new();
        for (what, cap, n) in [
            ("listener rules", self.rules, need.rules),
            ("target groups", self.target_groups, need.target_groups),
            ("certificates", self.certificates, need.certificates),
        ] {
            if !cap.fits(n) {
                full.push(format!("{what} {}/{} used, {n} needed", cap.used, cap.quota));
            }
        }
        (!full.is_empty()).then(|| format!("{}: {}", self.name, full.join(", ")))
    }
}

/// How placement chooses among the ALBs that have room for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// berth's: the ALB the customer leaves tightest, over all three quotas (the shares of
    /// rules, target groups and certificates free after it, summed), so that the emptier
    /// ALBs stay whole for large customers, and a customer that needs no certificate goes
    /// where the certificates ran out rather than where they are left.
    Pack,
    /// The first ALB, in pool order, with room.
    FirstFit,
    /// The ALB with the fewest free listener rules that has room.
    BestFit,
    /// The ALB with the most free listener rules (spreading customers).
    Spread,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [Strategy::Pack, Strategy::FirstFit, Strategy::BestFit, Strategy::Spread];

    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Pack => "berth (pack)",
            Strategy::FirstFit => "first-fit",
            Strategy::BestFit => "best-fit (rules)",
            Strategy::Spread => "spread (most free rules)",
        }
    }
}

/// The share of an ALB's three quotas left free once it takes `need`: berth's measure of how
/// loosely a customer would fit there (0 is a perfect fit).
pub fn slack(a: &Alb, need: &Need) -> f64 {
    [(a.rules, need.rules), (a.target_groups, need.target_groups), (a.certificates, need.certificates)]
        .iter()
        .map(|(cap, n)| if cap.quota == 0 { 0.0 } else { f64::from(cap.free().saturating_sub(*n)) / f64::from(cap.quota) })
        .sum()
}

/// The ALBs that can take `need`, best first by berth's placement ([`Strategy::Pack`]).
/// When none can, the error says what is full on each.
pub fn candidates<'a>(pool: &'a [Alb], need: &Need) -> Result<Vec<&'a Alb>, String> {
    candidates_by(pool, need, Strategy::Pack)
}

/// The ALBs that can take `need`, best first by `strategy`, ties by name.
pub fn candidates_by<'a>(pool: &'a [Alb], need: &Need, strategy: Strategy) -> Result<Vec<&'a Alb>, String> {
    if pool.is_empty() {
        return Err("the ALB pool is empty: add an ALB with `berth pool add`".into());
    }
    let mut fit: Vec<&Alb> = pool.iter().filter(|a| a.refusal(need).is_none()).collect();
    if fit.is_empty() {
        let reasons: Vec<String> = pool.iter().filter_map(|a| a.refusal(need)).collect();
        return Err(format!(
            "no ALB in the pool has room for {} rules, {} target groups and {} certificates: {}",
            need.rules,
            need.target_groups,
            need.certificates,
            reasons.join("; ")
        ));
    }
    match strategy {
        Strategy::FirstFit => {}
        Strategy::Pack => fit.sort_by(|a, b| slack(a, need).total_cmp(&slack(b, need)).then(a.name.cmp(&b.name))),
        Strategy::BestFit => fit.sort_by(|a, b| a.rules.free().cmp(&b.rules.free()).then(a.name.cmp(&b.name))),
        Strategy::Spread => fit.sort_by(|a, b| {
            b.rules.free().cmp(&a.rules.free()).then(b.target_groups.free().cmp(&a.target_groups.free())).then(a.name.cmp(&b.name))
        }),
    }
    Ok(fit)
}

/// True for an operator's ALB name: 1-32 characters of letters, digits and hyphens.
pub fn is_alb_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::Strategy;
    use super::*;
    use proptest::prelude::*;

    fn alb(name: &str, rules_used: u32, tgs_used: u32, state: AlbState) -> Alb {
        Alb {
            name: name.into(),
            load_balancer_arn: format!("arn:lb/{name}"),
            listener_arn: format!("arn:listener/{name}"),
            dns_name: format!("{name}.elb.amazonaws.com"),
            canonical_hosted_zone_id: "Z1".into(),
            state,
            rules: Capacity { quota: 10, used: rules_used },
            target_groups: Capacity { quota: 10, used: tgs_used },
            certificates: Capacity::new(25),
            customers: 0,
        }
    }

    const NEED: Need = Need { rules: 2, target_groups: 2, certificates: 0 };

    fn order<'a>(pool: &'a [Alb], need: &Need, strategy: Strategy) -> Vec<&'a str> {
        candidates_by(pool, need, strategy).unwrap().iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn berth_fills_the_tightest_active_alb_first() {
        let pool = vec![alb("a", 6, 6, AlbState::Active), alb("b", 2, 2, AlbState::Active), alb("c", 0, 0, AlbState::Draining)];
        assert_eq!(order(&pool, &NEED, Strategy::Pack), ["a", "b"]);
        assert_eq!(candidates(&pool, &NEED).unwrap()[0].name, "a");
        assert_eq!(order(&pool, &NEED, Strategy::BestFit), ["a", "b"]);
        assert_eq!(order(&pool, &NEED, Strategy::Spread), ["b", "a"]);
    }

    #[test]
    fn first_fit_keeps_the_pool_order() {
        let pool = vec![alb("z", 0, 0, AlbState::Active), alb("a", 9, 9, AlbState::Active), alb("m", 5, 5, AlbState::Active)];
        assert_eq!(order(&pool, &NEED, Strategy::FirstFit), ["z", "m"]);
    }

    #[test]
    fn a_customer_without_certificates_goes_where_they_ran_out() {
        // Same rules and target groups free; "a" has no certificate left, "b" has all 25.
        let mut a = alb("a", 4, 4, AlbState::Active);
        a.certificates.used = 25;
        let b = alb("b", 4, 4, AlbState::Active);
        let pool = vec![b, a];
        assert_eq!(order(&pool, &NEED, Strategy::Pack), ["a", "b"]);
        // One that needs a certificate can only go to "b".
        let with_cert = Need { certificates: 1, ..NEED };
        assert_eq!(order(&pool, &with_cert, Strategy::Pack), ["b"]);
    }

    #[test]
    fn slack_is_the_free_share_left_over_the_three_quotas() {
        let a = alb("a", 6, 4, AlbState::Active);
        // rules 2/10 free after, target groups 4/10, certificates 25/25.
        assert!((slack(&a, &NEED) - (0.2 + 0.4 + 1.0)).abs() < 1e-9);
    }

    #[test]
    fn a_full_pool_says_what_is_full() {
        let pool = vec![alb("a", 9, 0, AlbState::Active), alb("b", 0, 9, AlbState::Active), alb("c", 0, 0, AlbState::Draining)];
        let e = candidates(&pool, &NEED).unwrap_err();
        assert!(e.contains("a: listener rules 9/10 used, 2 needed"), "{e}");
        assert!(e.contains("b: target groups 9/10 used, 2 needed"), "{e}");
        assert!(e.contains("c: draining"), "{e}");
        assert!(e.contains("room for 2 rules, 2 target groups and 0 certificates"), "{e}");
        assert!(candidates(&[], &NEED).unwrap_err().contains("empty"));
    }

    #[test]
    fn exactly_full_still_fits() {
        let pool = vec![alb("a", 8, 8, AlbState::Active)];
        assert_eq!(candidates(&pool, &NEED).unwrap().len(), 1);
    }

    proptest! {
        /// Customers arriving and leaving, placed by any strategy, never put an ALB over any
        /// of its three quotas, and are refused only when no active ALB has room for all
        /// three of their needs.
        #[test]
        fn placement_never_exceeds_any_quota(
            events in proptest::collection::vec((0u32..9, 0u32..9, 0u32..3, proptest::bool::weighted(0.2), any::<prop::sample::Index>()), 1..150),
            quotas in proptest::collection::vec((1u32..40, 1u32..40, 0u32..6, proptest::bool::weighted(0.8)), 1..5),
            strategy in proptest::sample::select(Strategy::ALL.to_vec()),
        ) {
            let mut pool: Vec<Alb> = quotas.iter().enumerate().map(|(i, (r, t, c, active))| {
                let mut a = alb(&format!("alb-{i}"), 0, 0, if *active { AlbState::Active } else { AlbState::Draining });
                a.rules = Capacity::new(*r);
                a.target_groups = Capacity::new(*t);
                a.certificates = Capacity::new(*c);
                a
            }).collect();
            let mut placed: Vec<(String, Need)> = Vec::new();
            for (rules, tgs, certs, leave, which) in events {
                if leave && !placed.is_empty() {
                    let (name, need) = placed.remove(which.index(placed.len()));
                    let a = pool.iter_mut().find(|a| a.name == name).unwrap();
                    a.rules.used -= need.rules;
                    a.target_groups.used -= need.target_groups;
                    a.certificates.used -= need.certificates;
                    a.customers -= 1;
                    continue;
                }
                let need = Need { rules, target_groups: tgs, certificates: certs };
                match candidates_by(&pool, &need, strategy) {
                    Ok(c) => {
                        prop_assert!(c.iter().all(|a| a.refusal(&need).is_none()));
                        let name = c[0].name.clone();
                        let a = pool.iter_mut().find(|a| a.name == name).unwrap();
                        a.rules.used += rules;
                        a.target_groups.used += tgs;
                        a.certificates.used += certs;
                        a.customers += 1;
                        placed.push((name, need));
                    }
                    Err(_) => prop_assert!(pool.iter().all(|a| a.state != AlbState::Active
                        || !a.rules.fits(rules) || !a.target_groups.fits(tgs) || !a.certificates.fits(certs))),
                }
                prop_assert!(pool.iter().all(|a| a.rules.used <= a.rules.quota
                    && a.target_groups.used <= a.target_groups.quota
                    && a.certificates.used <= a.certificates.quota));
            }
        }
    }
}
