//! Any interleaving of placements and releases over a pool: no (listener, priority) has two
//! owners, every priority is in range, released priorities come back before new ones, no
//! ALB goes over a quota, and every ALB's counters equal what its customers hold.

use std::collections::{BTreeMap, BTreeSet};

use berth_adapters::memory::Memory;
use berth_adapters::model::Registration;
use berth_adapters::ports::{Customers, Placements};
use berth_domain::pool::{Alb, AlbState, Capacity, Need};
use berth_domain::ErrorKind;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Place(u8, u32),
    Release(u8),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(prop_oneof![(0u8..16, 0u32..4).prop_map(|(c, r)| Op::Place(c, r)), (0u8..16).prop_map(Op::Release)], 1..120)
}

fn alb(i: usize, quota: u32) -> Alb {
    Alb {
        name: format!("alb-{i}"),
        load_balancer_arn: format!("arn:lb/{i}"),
        listener_arn: format!("arn:listener/{i}"),
        dns_name: format!("alb-{i}.elb.amazonaws.com"),
        canonical_hosted_zone_id: "Z".into(),
        state: AlbState::Active,
        rules: Capacity::new(quota),
        target_groups: Capacity::new(quota),
        certificates: Capacity::new(25),
        customers: 0,
    }
}

proptest! {
    #[test]
    fn placements_and_releases_keep_the_ledger_and_counters_exact(ops in ops(), quotas in proptest::collection::vec(2u32..10, 1..4)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let m = Memory::new();
            m.with(|w| w.pool = quotas.iter().enumerate().map(|(i, q)| alb(i, *q)).collect());
            let mut owned: BTreeMap<String, (String, Vec<u32>, u32)> = BTreeMap::new();
            let mut released: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
            let mut generation = 0u32;
            for op in ops {
                generation += 1;
                match op {
                    Op::Place(c, rules) => {
                        let id = format!("c{c}");
                        if owned.contains_key(&id) { continue; }
                        let exec = format!("e{generation}");
                        m.register(&Registration { customer_id: id.clone(), execution_id: exec.clone(), host: format!("{id}.x"), display_name: id.clone(), products: vec![], plan_json: "{}".into(), ledger: vec![] }).await.unwrap();
                        let need = Need { rules, target_groups: rules, certificates: 0 };
                        match m.place(&id, &exec, &need).await {
                            Ok(p) => {
                                // Released numbers of that listener are reused before new ones.
                                let freed = released.entry(p.alb.listener_arn.clone()).or_default();
                                let reused = p.priorities.iter().filter(|x| freed.contains(x)).count();
                                prop_assert_eq!(reused, (rules as usize).min(freed.len()));
                                for x in &p.priorities { freed.remove(x); }
                                owned.insert(id.clone(), (p.alb.listener_arn, p.priorities, rules));
                            }
                            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::QuotaExceeded),
                        }
                        // Ends this execution, so a later one may register the customer again.
                        m.mark_failed(&id, &exec, &berth_adapters::Failure { state: berth_domain::state::CustomerState::Failed, error: "x".into(), cause: "y".into(), leftovers: vec![] }).await.unwrap();
                    }
                    Op::Release(c) => {
                        let id = format!("c{c}");
                        if let Some((listener, ps, _)) = owned.remove(&id) {
                            let back = m.release(&id).await.unwrap();
                            prop_assert_eq!(&back, &ps);
                            released.entry(listener).or_default().extend(ps);
                        }
                    }
                }
                // Invariants after every step.
                let all: Vec<(String, u32)> = owned.values().flat_map(|(l, ps, _)| ps.iter().map(move |p| (l.clone(), *p))).collect();
                let unique: BTreeSet<&(String, u32)> = all.iter().collect();
                prop_assert_eq!(unique.len(), all.len(), "a priority has two owners");
                prop_assert!(all.iter().all(|(_, p)| (1..=50_000).contains(p)));
                let pool = m.with(|w| w.pool.clone());
                for a in &pool {
                    let mine: Vec<&(String, Vec<u32>, u32)> = owned.values().filter(|(l, _, _)| *l == a.listener_arn).collect();
                    prop_assert_eq!(a.rules.used, mine.iter().map(|(_, ps, _)| ps.len() as u32).sum::<u32>());
                    prop_assert_eq!(a.target_groups.used, mine.iter().map(|(_, _, t)| *t).sum::<u32>());
                    prop_assert_eq!(a.customers as usize, mine.len());
                    prop_assert!(a.rules.used <= a.rules.quota && a.target_groups.used <= a.target_groups.quota);
                }
            }
            Ok(())
        })?;
    }
}
