//! End to end: a fleet rollout over 12 customers (canary 1, waves of 4), executed by the
//! emulator's own Map state over the real Lambdas, with one customer's update forced to
//! fail (the resources step's first UpdateService of the second wave is refused). Every
//! assertion is on the summary and on what the emulator holds afterwards.

use std::collections::BTreeMap;

use berth_tests::Harness;
use futures_util::future::join_all;
use serde_json::{json, Value};

fn ids(tally: &Value, outcome: &str) -> Vec<String> {
    let mut v: Vec<String> = tally[outcome]
        .as_array()
        .unwrap_or_else(|| panic!("no {outcome} in {tally}"))
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

/// Each customer's services' image tags (from their task definitions), by customer.
async fn tags(h: &Harness, customers: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for c in customers {
        let mut t = Vec::new();
        for (_, td) in h.running(c).await {
            let image = td.container_definitions().first().and_then(|d| d.image()).unwrap_or_default().to_string();
            t.push(image.rsplit(':').next().unwrap_or_default().to_string());
        }
        out.insert(c.clone(), t);
    }
    out
}

fn rollout(id: &str, customers: &[String], tag: &str, max_failures: u32) -> Value {
    json!({ "rollout_id": id, "customers": customers, "image_tag": tag, "canary": 1, "wave_size": 4, "max_concurrency": 4, "max_failures": max_failures })
}

async fn refuse_one_update(h: &Harness) {
    // The canary's update makes 3 UpdateService calls; the 4th is the second wave's first.
    h.set_faults(json!({"faults": [{"operation": "UpdateService", "function": "berth-resources", "nth": 4, "times": 1,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
}

#[tokio::test]
async fn a_rollout_stops_after_a_failing_wave_continues_under_the_same_key_and_goes_on_with_a_threshold_of_one() {
    let h = Harness::new().await;
    let customers: Vec<String> = (0..12).map(|i| format!("roll-{i:02}")).collect();
    let onboarded = join_all(customers.iter().map(|c| {
        let request = Harness::request(c);
        let h = &h;
        async move { h.onboard(&request).await }
    }))
    .await;
    assert!(onboarded.iter().all(|r| r.status == "SUCCEEDED"), "{:?}", onboarded.iter().map(|r| (&r.error, &r.cause)).collect::<Vec<_>>());

    // Threshold 0: the failing second wave stops the rollout.
    refuse_one_update(&h).await;
    let first = h.run("berth-rollout", &rollout("r-150", &customers, "1.5.0", 0), "r-150").await;
    let injected = h.fault_counts().await.injected;
    h.clear_faults().await;
    assert_eq!(first.status, "SUCCEEDED", "{:?} {:?}", first.error, first.cause);
    assert_eq!(injected, vec![1]);
    let out = first.output.expect("summary");
    let tally = &out["tally"];
    assert_eq!(out["halted"], json!(true), "{out}");
    let (updated, rolled_back, not_reached) = (ids(tally, "updated"), ids(tally, "rolled_back"), ids(tally, "not_reached"));
    assert_eq!((updated.len(), rolled_back.len(), not_reached.len()), (4, 1, 7), "{tally}");
    assert!(ids(tally, "failed").is_empty() && ids(tally, "skipped").is_empty(), "{tally}");
    assert_eq!(updated[0], "roll-00", "the canary goes first");
    let now = tags(&h, &customers).await;
    for c in &updated {
        assert_eq!(now[c], ["1.5.0"; 3], "{c}");
    }
    for c in rolled_back.iter().chain(&not_reached) {
        assert_eq!(now[c], ["1.4.2"; 3], "{c}: back on, or still on, its previous revisions");
    }
    assert_eq!(h.customer_state(&rolled_back[0]).await, "ACTIVE");
    for c in &not_reached {
        assert!(h.history(c).await.is_empty(), "{c} was not touched");
    }

    // The same key again: it continues where it stopped.
    let again = h.run("berth-rollout", &rollout("r-150", &customers, "1.5.0", 0), "r-150-again").await;
    assert_eq!(again.status, "SUCCEEDED", "{:?} {:?}", again.error, again.cause);
    let tally = &again.output.expect("summary")["tally"];
    assert_eq!(ids(tally, "skipped"), updated, "{tally}");
    assert_eq!(ids(tally, "updated").len(), 8, "{tally}");
    assert!(tags(&h, &customers).await.values().all(|t| t == &["1.5.0"; 3]));

    // Threshold 1: the same failure, and the rollout goes on to the end.
    refuse_one_update(&h).await;
    let third = h.run("berth-rollout", &rollout("r-160", &customers, "1.6.0", 1), "r-160").await;
    h.clear_faults().await;
    assert_eq!(third.status, "SUCCEEDED", "{:?} {:?}", third.error, third.cause);
    let out = third.output.expect("summary");
    let tally = &out["tally"];
    assert_eq!(out["halted"], json!(false), "{out}");
    assert_eq!((ids(tally, "updated").len(), ids(tally, "rolled_back").len(), ids(tally, "not_reached").len()), (11, 1, 0), "{tally}");
    let now = tags(&h, &customers).await;
    assert_eq!(now[&ids(tally, "rolled_back")[0]], ["1.5.0"; 3]);
    assert_eq!(now.values().filter(|t| *t == &["1.6.0"; 3]).count(), 11);
}
