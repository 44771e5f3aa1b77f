//! The packing figure: customers of a realistic mix of products, tiers and own domains,
//! arriving and leaving, placed on a pool of ALBs at the default quotas by berth's placement
//! (the real code, over the in-memory registry) and, on the same arrivals, by first-fit,
//! best-fit and spreading. No emulator: placement is pure, and the in-memory registry is the
//! one the unit tests use.

use berth_adapters::memory::Memory;
use berth_adapters::model::Registration;
use berth_adapters::ports::{Customers, Placements, Pool};
use berth_domain::pool::{self, Alb, AlbState, Capacity, Need, Strategy};

use crate::Result;

pub use berth_domain::naming::HostForm;

/// The catalog as placement sees it: the web app on the customer's host (its `/api/*` rule
/// and its catch-all: 2 rules, 2 target groups), and eleven products on hosts of their own,
/// each with its web services (a rule and a target group each).
pub const PRODUCTS: [(&str, u32, bool); 12] = [
    ("webapp", 2, false),
    ("pos", 2, true),
    ("erp", 3, true),
    ("crm", 2, true),
    ("inventory", 1, true),
    ("billing", 1, true),
    ("hr", 2, true),
    ("helpdesk", 1, true),
    ("analytics", 3, true),
    ("booking", 1, true),
    ("marketing", 1, true),
    ("accounting", 2, true),
];

/// The tiers: (name, share of customers in per mille, products, share with their own domain
/// in per mille).
pub const TIERS: [(&str, u64, usize, u64); 3] = [("basic", 500, 1, 0), ("standard", 350, 2, 100), ("enterprise", 150, 3, 400)];

/// A customer's chance to be the web app's first (per mille); the other products share the
/// rest evenly.
const WEBAPP_FIRST: u64 = 600;

/// One event of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Arrive {
        customer: u32,
        need: Need,
    },
    /// The live customer at this index (of those placed and not gone, oldest first) leaves.
    Leave {
        pick: u64,
    },
}

/// SplitMix64: the same stream for the same seed, everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What one customer of the mix needs on its ALB.
fn customer(rng: &mut Rng, form: HostForm) -> Need {
    let roll = rng.below(1000);
    let mut acc = 0;
    let (_, _, products, own_domain) = TIERS
        .iter()
        .copied()
        .find(|(_, share, _, _)| {
            acc += share;
            roll < acc
        })
        .unwrap_or(TIERS[0]);
    // The web app first for most; the others drawn evenly, each at most once.
    let mut others: Vec<usize> = (1..PRODUCTS.len()).collect();
    let mut need = Need { rules: 0, target_groups: 0, certificates: 0 };
    let mut own_host = false;
    for i in 0..products {
        let product = if i == 0 && rng.below(1000) < WEBAPP_FIRST { 0 } else { others.remove(rng.below(others.len() as u64) as usize) };
        let (_, services, own) = PRODUCTS[product];
        need.rules += services;
        need.target_groups += services;
        own_host |= own;
    }
    if rng.below(1000) < own_domain {
        need.certificates += 1;
    }
    if form == HostForm::Dotted && own_host {
        need.certificates += 1;
    }
    need
}

/// `arrivals` customers of the mix, each arrival followed, with `leave_per_mille` chance, by
/// a live customer leaving.
pub fn stream(seed: u64, arrivals: u32, leave_per_mille: u64, form: HostForm) -> Vec<Event> {
    let mut rng = Rng(seed);
    let mut events = Vec::new();
    for c in 0..arrivals {
        events.push(Event::Arrive { customer: c, need: customer(&mut rng, form) });
        if rng.below(1000) < leave_per_mille {
            events.push(Event::Leave { pick: rng.next() });
        }
    }
    events
}

/// The pool's use at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Use {
    /// Arrivals so far, and customers on the pool.
    pub arrivals: u32,
    pub customers: u32,
    pub rules: f64,
    pub target_groups: f64,
    pub certificates: f64,
    /// The most listener rules free on any one ALB.
    pub largest_gap: u32,
}

fn use_of(pool: &[Alb], arrivals: u32) -> Use {
    let share = |f: fn(&Alb) -> Capacity| {
        let (used, quota) = pool.iter().map(f).fold((0u64, 0u64), |(u, q), c| (u + u64::from(c.used), q + u64::from(c.quota)));
        if quota == 0 {
            0.0
        } else {
            used as f64 / quota as f64
        }
    };
    Use {
        arrivals,
        customers: pool.iter().map(|a| a.customers).sum(),
        rules: share(|a| a.rules),
        target_groups: share(|a| a.target_groups),
        certificates: share(|a| a.certificates),
        largest_gap: pool.iter().map(|a| a.rules.free()).max().unwrap_or(0),
    }
}

/// How one strategy did on the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub strategy: Strategy,
    /// When the first customer was refused (None: none was).
    pub first_refusal: Option<(Use, Need)>,
    /// After the whole stream.
    pub end: Use,
    pub refused: u32,
    /// The ALB each arrival went to (None: refused), in arrival order.
    pub placements: Vec<Option<String>>,
}

/// A pool of `albs` ALBs at the default quotas.
pub fn default_pool(albs: u32) -> Vec<Alb> {
    (0..albs)
        .map(|i| Alb {
            name: format!("shared-{i:03}"),
            load_balancer_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared-{i:03}/0"),
            listener_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared-{i:03}/0/0"),
            dns_name: format!("shared-{i:03}.elb.amazonaws.com"),
            canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            state: AlbState::Active,
            rules: Capacity::new(pool::DEFAULT_RULE_QUOTA),
            target_groups: Capacity::new(pool::DEFAULT_TARGET_GROUP_QUOTA),
            certificates: Capacity::new(pool::DEFAULT_CERTIFICATE_QUOTA),
            customers: 0,
        })
        .collect()
}

/// The stream placed by `strategy` on a copy of `pool`, in memory.
pub fn simulate(mut pool: Vec<Alb>, events: &[Event], strategy: Strategy) -> Packed {
    let mut live: Vec<(String, Need)> = Vec::new();
    let (mut arrivals, mut refused, mut first_refusal, mut placements) = (0u32, 0u32, None, Vec::new());
    for e in events {
        match *e {
            Event::Arrive { need, .. } => {
                arrivals += 1;
                let chosen = pool::candidates_by(&pool, &need, strategy).ok().map(|c| c[0].name.clone());
                match &chosen {
                    Some(name) => {
                        if let Some(a) = pool.iter_mut().find(|a| &a.name == name) {
                            a.rules.used += need.rules;
                            a.target_groups.used += need.target_groups;
                            a.certificates.used += need.certificates;
                            a.customers += 1;
                        }
                        live.push((name.clone(), need));
                    }
                    None => {
                        refused += 1;
                        if first_refusal.is_none() {
                            first_refusal = Some((use_of(&pool, arrivals), need));
                        }
                    }
                }
                placements.push(chosen);
            }
            Event::Leave { pick } => {
                if live.is_empty() {
                    continue;
                }
                let (name, need) = live.remove((pick % live.len() as u64) as usize);
                if let Some(a) = pool.iter_mut().find(|a| a.name == name) {
                    a.rules.used -= need.rules;
                    a.target_groups.used -= need.target_groups;
                    a.certificates.used -= need.certificates;
                    a.customers -= 1;
                }
            }
        }
    }
    Packed { strategy, first_refusal, end: use_of(&pool, arrivals), refused, placements }
}

/// The stream placed by berth's own placement in the in-memory registry: each arrival
/// registered and placed (`Placements::place`), each leaver released, as the pipeline does.
pub async fn through_registry(pool: &[Alb], events: &[Event]) -> Result<Packed> {
    let registry = Memory::new();
    for a in pool {
        registry.add(a).await?;
    }
    let mut live: Vec<String> = Vec::new();
    let (mut arrivals, mut refused, mut first_refusal, mut placements) = (0u32, 0u32, None, Vec::new());
    for e in events {
        match *e {
            Event::Arrive { customer, need } => {
                arrivals += 1;
                let id = format!("c{customer:05}");
                let execution = format!("arn:aws:states:us-east-1:123456789012:execution:berth-onboard:{id}_k");
                registry
                    .register(&Registration {
                        customer_id: id.clone(),
                        execution_id: execution.clone(),
                        host: format!("{id}.saas.example.com"),
                        product_hosts: Vec::new(),
                        display_name: id.clone(),
                        products: Vec::new(),
                        plan_json: String::new(),
                        ledger: Vec::new(),
                    })
                    .await?;
                match registry.place(&id, &execution, &need).await {
                    Ok(p) => {
                        placements.push(Some(p.alb.name));
                        live.push(id);
                    }
                    Err(e) if e.kind() == berth_domain::ErrorKind::QuotaExceeded => {
                        refused += 1;
                        if first_refusal.is_none() {
                            first_refusal = Some((use_of(&registry.albs().await?, arrivals), need));
                        }
                        placements.push(None);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Event::Leave { pick } => {
                if live.is_empty() {
                    continue;
                }
                let id = live.remove((pick % live.len() as u64) as usize);
                registry.release(&id).await?;
            }
        }
    }
    Ok(Packed { strategy: Strategy::Pack, first_refusal, end: use_of(&registry.albs().await?, arrivals), refused, placements })
}

/// The packing figures for one host form: berth's (through the registry, checked against
/// the simulation of the same code) and each other strategy's.
pub struct Packing {
    pub form: HostForm,
    pub albs: u32,
    pub arrivals: u32,
    pub left: u32,
    pub runs: Vec<Packed>,
}

/// Runs every strategy on one stream.
pub async fn packing(albs: u32, arrivals: u32, leave_per_mille: u64, form: HostForm, seed: u64) -> Result<Packing> {
    let events = stream(seed, arrivals, leave_per_mille, form);
    let pool = default_pool(albs);
    let berth = through_registry(&pool, &events).await?;
    let simulated = simulate(pool.clone(), &events, Strategy::Pack);
    if simulated.placements != berth.placements {
        let at = simulated.placements.iter().zip(&berth.placements).position(|(a, b)| a != b);
        return Err(format!("the registry placed arrival {at:?} elsewhere than berth's placement code chose").into());
    }
    let mut runs = vec![berth];
    runs.extend(Strategy::ALL.iter().filter(|s| **s != Strategy::Pack).map(|s| simulate(pool.clone(), &events, *s)));
    let left = events.iter().filter(|e| matches!(e, Event::Leave { .. })).count() as u32;
    Ok(Packing { form, albs, arrivals, left, runs })
}

impl Packing {
    /// berth's share of rule capacity in use at its first refusal (1.0 when none).
    pub fn berth_rules_at_refusal(&self) -> f64 {
        self.runs.first().map_or(0.0, |r| r.first_refusal.map_or(1.0, |(u, _)| u.rules))
    }

    pub fn markdown(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let mut o = format!(
            "\n### Hosts of their own named {}\n\n{} arrivals, {} customers leaving along the way, on {} ALBs at the default quotas \
             ({} rules, {} target groups, {} certificates each).\n\n\
             | placement | first refused: arrival | customers on the pool | rules in use | target groups | certificates | largest gap (rules) | its need (rules/TGs/certs) | refused of all arrivals | rules in use at the end |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
            self.form.describe(),
            self.arrivals,
            self.left,
            self.albs,
            pool::DEFAULT_RULE_QUOTA,
            pool::DEFAULT_TARGET_GROUP_QUOTA,
            pool::DEFAULT_CERTIFICATE_QUOTA,
        );
        for r in &self.runs {
            let first = match r.first_refusal {
                Some((u, need)) => format!(
                    "{} | {} | {} | {} | {} | {} | {}/{}/{}",
                    u.arrivals,
                    u.customers,
                    pct(u.rules),
                    pct(u.target_groups),
                    pct(u.certificates),
                    u.largest_gap,
                    need.rules,
                    need.target_groups,
                    need.certificates
                ),
                None => "none | | | | | | ".into(),
            };
            o.push_str(&format!("| {} | {first} | {} | {} |\n", r.strategy.name(), r.refused, pct(r.end.rules)));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_needs_1_to_8_rules_and_is_the_same_for_a_seed() {
        let a = stream(7, 2000, 200, HostForm::Dashed);
        assert_eq!(a, stream(7, 2000, 200, HostForm::Dashed));
        let needs: Vec<Need> = a.iter().filter_map(|e| if let Event::Arrive { need, .. } = e { Some(*need) } else { None }).collect();
        assert_eq!(needs.len(), 2000);
        assert!(needs.iter().all(|n| (1..=8).contains(&n.rules) && n.rules == n.target_groups && n.certificates <= 1));
        assert!(needs.iter().any(|n| n.rules == 1) && needs.iter().any(|n| n.rules >= 7), "a mix, not one size");
        let leaves = a.len() - 2000;
        assert!((300..500).contains(&leaves), "about 20% leave: {leaves}");
        let dotted = stream(7, 2000, 200, HostForm::Dotted);
        let certs = |s: &[Event]| s.iter().map(|e| if let Event::Arrive { need, .. } = e { need.certificates } else { 0 }).sum::<u32>();
        assert!(certs(&dotted) > certs(&a), "the dotted form costs certificates");
    }

    #[test]
    fn no_strategy_puts_an_alb_over_a_quota_and_refusals_are_real() {
        let events = stream(3, 3000, 200, HostForm::Dotted);
        for s in Strategy::ALL {
            let p = simulate(default_pool(10), &events, s);
            assert!(p.end.rules <= 1.0 && p.end.target_groups <= 1.0 && p.end.certificates <= 1.0);
            assert!(p.refused > 0, "{s:?}: 3,000 arrivals overfill 10 ALBs");
        }
    }

    #[tokio::test]
    async fn the_registry_places_as_the_placement_code_chooses() {
        let p = packing(5, 600, 200, HostForm::Dashed, 11).await.expect("packed");
        assert_eq!(p.runs.len(), Strategy::ALL.len());
        assert!(p.runs[0].first_refusal.is_some());
    }
}
