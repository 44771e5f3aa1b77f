//! End to end on a pool of three ALBs with small quotas (16 rules, 14 target groups each),
//! each listener already holding two rules made by hand at priorities 1 and 2: berth skips
//! and records those priorities, customers spread with no ALB over quota, each customer's
//! DNS points at its own ALB, the audit reports the rules made by hand, and a full pool
//! fails with Berth.QuotaExceeded and creates nothing. Run on a stack started with
//! `--albs 3 --rule-quota 16 --target-group-quota 14` (make test does).

use std::collections::BTreeMap;

use berth_tests::Harness;
use std::sync::Arc;

use berth_adapters::aws::{DynamoRegistry, ElbApi};

#[tokio::test]
async fn customers_spread_over_the_pool_and_a_full_pool_creates_nothing() {
    let h = Arc::new(Harness::new().await);
    let albs = &h.stack.infra.albs;
    assert_eq!(albs.len(), 3, "this suite runs on a pool of three ALBs");
    let by_listener: BTreeMap<&str, &berth_local::bootstrap::LocalAlb> = albs.iter().map(|a| (a.listener_arn.as_str(), a)).collect();

    // Rules made by hand, outside berth, at the first two priorities of every listener.
    let mut by_hand = Vec::new();
    for (i, a) in albs.iter().enumerate() {
        for p in [1, 2] {
            by_hand.push(h.rule_by_hand(&format!("legacy-{i}"), &a.listener_arn, p, &format!("legacy-{i}-{p}.saas.example.com")).await);
        }
    }

    // 20 customers, five at a time.
    let customers: Vec<String> = (0..20).map(|i| format!("pool-{i:02}")).collect();
    for batch in customers.chunks(5) {
        let mut runs = tokio::task::JoinSet::new();
        for c in batch {
            let (h, c) = (h.clone(), c.clone());
            runs.spawn(async move { (h.onboard(&Harness::request(&c)).await, c) });
        }
        while let Some(done) = runs.join_next().await {
            let (r, c) = done.expect("onboarding task");
            assert_eq!(r.status, "SUCCEEDED", "{c}: {:?}", r.cause);
        }
    }

    let mut per_alb: BTreeMap<String, usize> = BTreeMap::new();
    for c in &customers {
        let inv = h.inventory(c).await;
        let outputs: serde_json::Value = serde_json::from_str(&inv.attr("outputs").expect("outputs")).unwrap();
        let listener = outputs["listener_arn"].as_str().unwrap();
        let alb = by_listener.get(listener).unwrap_or_else(|| panic!("{c} is on an unknown listener {listener}"));
        *per_alb.entry(alb.name.clone()).or_default() += 1;
        // Its rules are on its ALB's listener, not at a priority a rule made by hand holds,
        // and its DNS points at that ALB.
        assert_eq!(inv.rules.len(), 2, "{c}");
        assert!(inv.priority_claims.iter().all(|p| *p > 2), "{c}: {:?}", inv.priority_claims);
        assert!(
            inv.rules.iter().all(|r| r.rule_arn().unwrap().contains(&alb.listener_arn.replace(":listener/", ":listener-rule/"))),
            "{c}"
        );
        for rec in &inv.records {
            assert_eq!(rec.alias_target().unwrap().dns_name().trim_end_matches('.'), format!("dualstack.{}", alb.dns_name), "{c}");
        }
    }
    // Spread: every ALB took customers, none over its 16 rules (2 by hand + 7 customers).
    assert_eq!(per_alb.len(), 3, "{per_alb:?}");
    for a in albs {
        let live = h.elb.describe_rules().listener_arn(&a.listener_arn).send().await.unwrap();
        let rules = live.rules().iter().filter(|r| r.priority() != Some("default")).count();
        assert!(rules <= 16, "{}: {rules} rules", a.name);
        assert_eq!(rules, 2 + 2 * per_alb.get(&a.name).copied().unwrap_or(0), "{}", a.name);
    }
    // The audit reports the rules made by hand, set aside in the ledger, and nothing else.
    let registry = DynamoRegistry::new(h.dynamodb.clone(), h.stack.infra.table.clone());
    let elb = ElbApi::new(h.elb.clone());
    let report = berth_cli::audit(&registry, &elb).await.unwrap();
    let foreign: Vec<&str> = report.iter().flat_map(|a| a.foreign_rules.iter().map(|f| f.rule_arn.as_str())).collect();
    assert_eq!(foreign.len(), 6, "{report:?}");
    assert!(by_hand.iter().all(|arn| foreign.contains(&arn.as_str())));
    assert!(report.iter().all(|a| a.foreign_rules.iter().all(|f| f.recorded)), "{report:?}");
    assert!(report.iter().all(|a| a.claims_without_rule.is_empty()), "{report:?}");
    for a in &report {
        assert_eq!(a.rules.used as usize, a.live_rules, "{}: the counter and the listener agree", a.name);
    }

    // Room for exactly one more customer (42 rules of capacity, 40 used)...
    let last = h.onboard(&Harness::request("pool-20")).await;
    assert_eq!(last.status, "SUCCEEDED", "{:?}", last.cause);
    // ...and then the pool is full: QuotaExceeded, saying what is full, and nothing created.
    let full = h.onboard(&Harness::request("pool-21")).await;
    assert_eq!(full.status, "FAILED");
    assert_eq!(full.error.as_deref(), Some("Berth.QuotaExceeded"), "{:?}", full.cause);
    let cause = full.cause.unwrap_or_default();
    assert!(cause.contains("listener rules 16/16 used, 2 needed"), "{cause}");
    let inv = h.inventory("pool-21").await;
    assert!(inv.target_groups.is_empty() && inv.rules.is_empty() && inv.task_definitions.is_empty(), "{inv:?}");
    assert!(inv.services.is_empty() && inv.log_groups.is_empty() && inv.records.is_empty(), "{inv:?}");
    assert!(inv.priority_claims.is_empty());
    assert_eq!(inv.attr("state").as_deref(), Some("FAILED"));
    assert_eq!(inv.attr("error_name").as_deref(), Some("Berth.QuotaExceeded"));
}
