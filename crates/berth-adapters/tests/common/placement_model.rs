//! The placement model, written once over the registry's ports: any interleaving of
//! placements and releases over a pool keeps every (listener, priority) with one owner,
//! every priority in range, released priorities coming back before new ones, no ALB over a
//! quota, and every ALB's counters equal to what its customers hold.
//!
//! It runs over the in-memory registry in the unit tests
//! (`crates/berth-adapters/tests/placement_model.rs`) and over DynamoDB on the emulator in
//! the integration suite `registry` (`tests/tests/registry.rs`), so the fake the step tests
//! rely on is held to the same rules as the real registry.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use berth_adapters::model::{Failure, Registration};
use berth_adapters::ports::{Customers, Placements, Pool};
use berth_domain::pool::{Alb, AlbState, Capacity, Need};
use berth_domain::state::CustomerState;
use berth_domain::ErrorKind;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

#[derive(Debug, Clone)]
pub enum Op {
    /// Customer `c{n}` asks for this many rules (and as many target groups).
    Place(u8, u32),
    Release(u8),
}

/// Up to `max` operations over 16 customers.
pub fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(prop_oneof![(0u8..16, 0u32..4).prop_map(|(c, r)| Op::Place(c, r)), (0u8..16).prop_map(Op::Release)], 1..max)
}

/// Between one and three ALBs, each with a small quota.
pub fn quotas() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(2u32..10, 1..4)
}

pub fn alb(i: usize, quota: u32) -> Alb {
    Alb {
        name: format!("alb-{i}"),
        load_balancer_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/alb-{i}/{i}"),
        listener_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-{i}/{i}/{i}"),
        dns_name: format!("alb-{i}.elb.amazonaws.com"),
        canonical_hosted_zone_id: "Z".into(),
        state: AlbState::Active,
        rules: Capacity::new(quota),
        target_groups: Capacity::new(quota),
        certificates: Capacity::new(25),
        customers: 0,
    }
}

/// Runs `ops` against `registry`, whose pool must be empty: adds an ALB per quota first.
pub async fn check<R: Customers + Placements + Pool>(registry: &R, quotas: &[u32], ops: &[Op]) -> Result<(), TestCaseError> {
    for (i, q) in quotas.iter().enumerate() {
        registry.add(&alb(i, *q)).await.map_err(fail)?;
    }
    let mut owned: BTreeMap<String, (String, Vec<u32>, u32)> = BTreeMap::new();
    let mut released: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for (generation, op) in ops.iter().enumerate() {
        match *op {
            Op::Place(c, rules) => {
                let id = format!("c{c}");
                if owned.contains_key(&id) {
                    continue;
                }
                let exec = format!("e{generation}");
                registry
                    .register(&Registration {
                        customer_id: id.clone(),
                        execution_id: exec.clone(),
                        host: format!("{id}.x"),
                        product_hosts: Vec::new(),
                        display_name: id.clone(),
                        products: vec![],
                        plan_json: "{}".into(),
                        ledger: vec![],
                    })
                    .await
                    .map_err(fail)?;
                let need = Need { rules, target_groups: rules, certificates: 0 };
                match registry.place(&id, &exec, &need).await {
                    Ok(p) => {
                        // Released numbers of that listener are reused before new ones.
                        let freed = released.entry(p.alb.listener_arn.clone()).or_default();
                        let reused = p.priorities.iter().filter(|x| freed.contains(x)).count();
                        prop_assert_eq!(reused, (rules as usize).min(freed.len()), "{}: reused {:?}", id, p.priorities);
                        for x in &p.priorities {
                            freed.remove(x);
                        }
                        owned.insert(id.clone(), (p.alb.listener_arn, p.priorities, rules));
                    }
                    Err(e) => prop_assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{}", e),
                }
                // Ends this execution, so a later one may register the customer again.
                let failure = Failure { state: CustomerState::Failed, error: "x".into(), cause: "y".into(), leftovers: vec![] };
                registry.mark_failed(&id, &exec, &failure).await.map_err(fail)?;
            }
            Op::Release(c) => {
                let id = format!("c{c}");
                if let Some((listener, ps, _)) = owned.remove(&id) {
                    let back = registry.release(&id).await.map_err(fail)?;
                    prop_assert_eq!(&back, &ps);
                    released.entry(listener).or_default().extend(ps);
                }
            }
        }
        // Invariants after every step, as the registry reports them.
        let all: Vec<(String, u32)> = owned.values().flat_map(|(l, ps, _)| ps.iter().map(move |p| (l.clone(), *p))).collect();
        let unique: BTreeSet<&(String, u32)> = all.iter().collect();
        prop_assert_eq!(unique.len(), all.len(), "a priority has two owners");
        prop_assert!(all.iter().all(|(_, p)| (1..=50_000).contains(p)));
        for (id, (_, ps, _)) in &owned {
            let held = registry.get(id).await.map_err(fail)?.map(|c| c.priorities).unwrap_or_default();
            prop_assert_eq!(&held, ps, "{}'s record", id);
        }
        for a in registry.albs().await.map_err(fail)? {
            let mine: Vec<&(String, Vec<u32>, u32)> = owned.values().filter(|(l, _, _)| *l == a.listener_arn).collect();
            prop_assert_eq!(a.rules.used, mine.iter().map(|(_, ps, _)| ps.len() as u32).sum::<u32>(), "{} rules", a.name);
            prop_assert_eq!(a.target_groups.used, mine.iter().map(|(_, _, t)| *t).sum::<u32>(), "{} target groups", a.name);
            prop_assert_eq!(a.customers as usize, mine.len(), "{} customers", a.name);
            prop_assert!(a.rules.used <= a.rules.quota && a.target_groups.used <= a.target_groups.quota);
        }
    }
    Ok(())
}

fn fail(e: berth_domain::BerthError) -> TestCaseError {
    TestCaseError::fail(format!("{}: {e}", e.kind().name()))
}
