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

/// The ALBs that can take `need`, best first: the most free listener rules (spreading
/// customers), then the most free target groups, then by name for a stable order. When none
/// can, the error says what is full on each.
pub fn candidates<'a>(pool: &'a [Alb], need: &Need) -> Result<Vec<&'a Alb>, String> {
    if pool.is_empty() {
        return Err("the ALB pool is empty: add an ALB with `berth pool add`".into());
    }
    let mut fit: Vec<&Alb> = pool.iter().filter(|a| a.refusal(need).is_none()).collect();
    if fit.is_empty() {
        let reasons: Vec<String> = pool.iter().filter_map(|a| a.refusal(need)).collect();
        return Err(format!(
            "no ALB in the pool has room for {} rules and {} target groups: {}",
            need.rules,
            need.target_groups,
            reasons.join("; ")
        ));
    }
    fit.sort_by(|a, b| {
        b.rules.free().cmp(&a.rules.free()).then(b.target_groups.free().cmp(&a.target_groups.free())).then(a.name.cmp(&b.name))
    });
    Ok(fit)
}

/// True for an operator's ALB name: 1-32 characters of letters, digits and hyphens.
pub fn is_alb_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn the_emptiest_active_alb_comes_first() {
        let pool = vec![alb("a", 6, 6, AlbState::Active), alb("b", 2, 2, AlbState::Active), alb("c", 0, 0, AlbState::Draining)];
        let c = candidates(&pool, &NEED).unwrap();
        let names: Vec<&str> = c.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, vec!["b", "a"]);
    }

    #[test]
    fn a_full_pool_says_what_is_full() {
        let pool = vec![alb("a", 9, 0, AlbState::Active), alb("b", 0, 9, AlbState::Active), alb("c", 0, 0, AlbState::Draining)];
        let e = candidates(&pool, &NEED).unwrap_err();
        assert!(e.contains("a: listener rules 9/10 used, 2 needed"), "{e}");
        assert!(e.contains("b: target groups 9/10 used, 2 needed"), "{e}");
        assert!(e.contains("c: draining"), "{e}");
        assert!(candidates(&[], &NEED).unwrap_err().contains("empty"));
    }

    #[test]
    fn exactly_full_still_fits() {
        let pool = vec![alb("a", 8, 8, AlbState::Active)];
        assert_eq!(candidates(&pool, &NEED).unwrap().len(), 1);
    }

    proptest! {
        /// Placing customers one after another never puts an ALB over a quota, and only
        /// fails when no ALB has room.
        #[test]
        fn placement_never_exceeds_quotas(needs in proptest::collection::vec((0u32..4, 0u32..4), 1..80), quotas in proptest::collection::vec(1u32..12, 1..4)) {
            let mut pool: Vec<Alb> = quotas.iter().enumerate().map(|(i, q)| {
                let mut a = alb(&format!("alb-{i}"), 0, 0, AlbState::Active);
                a.rules = Capacity::new(*q);
                a.target_groups = Capacity::new(*q);
                a
            }).collect();
            for (rules, tgs) in needs {
                let need = Need { rules, target_groups: tgs, certificates: 0 };
                match candidates(&pool, &need) {
                    Ok(c) => {
                        let name = c[0].name.clone();
                        let a = pool.iter_mut().find(|a| a.name == name).unwrap();
                        a.rules.used += rules;
                        a.target_groups.used += tgs;
                        a.customers += 1;
                    }
                    Err(_) => prop_assert!(pool.iter().all(|a| !a.rules.fits(rules) || !a.target_groups.fits(tgs))),
                }
                prop_assert!(pool.iter().all(|a| a.rules.used <= a.rules.quota && a.target_groups.used <= a.target_groups.quota));
            }
        }
    }
}
