//! End to end: suspend, resume and offboarding, each its own state machine executed by the
//! emulator over the real Lambdas, after a real onboarding. Every assertion is on what
//! exists in the emulator afterwards.

use std::time::Duration;

use berth_tests::Harness;
use serde_json::{json, Value};

fn state(inv: &berth_tests::Inventory) -> String {
    inv.attr("state").unwrap_or_default()
}

fn priorities(outputs: &Value) -> Vec<u32> {
    let mut p: Vec<u32> =
        outputs["priorities"].as_object().expect("priorities").values().filter_map(Value::as_u64).map(|n| n as u32).collect();
    p.sort();
    p
}

#[tokio::test]
async fn offboarding_leaves_nothing_but_a_tombstone_and_the_id_onboards_again() {
    let h = Harness::new().await;
    let customer = "lc-off";
    let onboarded = h.onboard(&Harness::request(customer)).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let held = priorities(onboarded.output.as_ref().expect("outputs"));
    // A target group made by hand with a berth-like name, without berth's tags.
    let by_hand = format!("{}-{customer}-legacy", h.stack.infra.name_prefix);
    h.rule_by_hand(&by_hand, &h.stack.infra.albs[0].listener_arn, 49_000, "legacy.example.org").await;

    let request = Harness::lifecycle_request(customer, "off-1", json!({ "requested_by": "ops", "note": "contract ended" }));
    let off = h.run("berth-offboard", &request, &format!("{customer}_off-1")).await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    let out = off.output.expect("output");
    assert_eq!((out["state"].as_str(), out["succeeded"].as_bool()), (Some("DELETED"), Some(true)), "{out}");
    let inv = h.inventory(customer).await;
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
    assert!(inv.tagged.is_empty(), "{:?}", inv.tagged);
    assert_eq!(state(&inv), "DELETED");
    let history = h.history(customer).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0]["operation"].as_str(), history[0]["outcome"].as_str()), (Some("offboard"), Some("succeeded")));
    assert!(history[0]["execution_id"].as_str().is_some_and(|e| e.ends_with(&format!("{customer}_off-1"))));
    assert!(!history[0]["detail"]["removed"].as_array().expect("removed").is_empty());
    let found = h.elb.describe_target_groups().names(&by_hand).send().await.expect("the hand-made target group survives");
    assert_eq!(found.target_groups().len(), 1);

    // Again, under another key: harmless.
    let again = h.run("berth-offboard", &Harness::lifecycle_request(customer, "off-2", json!({})), &format!("{customer}_off-2")).await;
    assert_eq!(again.status, "SUCCEEDED", "{:?} {:?}", again.error, again.cause);
    assert_eq!(again.output.expect("output")["detail"]["removed"], json!([]));
    assert_eq!(h.history(customer).await.len(), 2);

    // The same id onboards again, and gets the priorities it gave back.
    let back = h.onboard(&Harness::request(customer)).await;
    assert_eq!(back.status, "SUCCEEDED", "{:?} {:?}", back.error, back.cause);
    assert_eq!(priorities(back.output.as_ref().expect("outputs")), held);
    assert_eq!(state(&h.inventory(customer).await), "ACTIVE");
}

#[tokio::test]
async fn suspend_then_resume_gives_back_the_same_counts_and_keeps_rules_target_groups_and_records() {
    let h = Harness::new().await;
    let customer = "lc-pause";
    let onboarded = h.onboard(&Harness::request(customer)).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let before = h.desired_counts(customer).await;
    assert!(before.len() == 3 && before.values().all(|n| *n > 0), "{before:?}");
    let inv = h.inventory(customer).await;
    let shape = |inv: &berth_tests::Inventory| (inv.rules.len(), inv.target_groups.len(), inv.records.len());
    let kept = shape(&inv);
    assert_eq!(kept, (2, 2, 2));

    let suspend = Harness::lifecycle_request(customer, "s-1", json!({ "reason": "unpaid" }));
    let s = h.run("berth-suspend", &suspend, &format!("{customer}_s-1")).await;
    assert_eq!(s.status, "SUCCEEDED", "{:?} {:?}", s.error, s.cause);
    let paused = h.desired_counts(customer).await;
    assert!(paused.values().all(|n| *n == 0), "{paused:?}");
    let inv = h.inventory(customer).await;
    assert_eq!((state(&inv), inv.attr("suspend_reason")), ("SUSPENDED".into(), Some("unpaid".into())));
    assert_eq!(shape(&inv), kept, "rules, target groups and records stay");

    // Suspending a SUSPENDED customer is refused and changes nothing.
    let twice = h.run("berth-suspend", &Harness::lifecycle_request(customer, "s-2", json!({})), &format!("{customer}_s-2")).await;
    assert_eq!((twice.status.as_str(), twice.error.as_deref()), ("FAILED", Some("Berth.Conflict")), "{:?}", twice.cause);
    assert_eq!(state(&h.inventory(customer).await), "SUSPENDED");

    let r = h.run("berth-resume", &Harness::lifecycle_request(customer, "r-1", json!({})), &format!("{customer}_r-1")).await;
    assert_eq!(r.status, "SUCCEEDED", "{:?} {:?}", r.error, r.cause);
    assert_eq!(h.desired_counts(customer).await, before);
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    assert_eq!(inv.attr("suspend_reason"), None);
    assert_eq!(shape(&inv), kept);
    let ops: Vec<String> = h
        .history(customer)
        .await
        .iter()
        .map(|e| format!("{} {}", e["operation"].as_str().unwrap_or(""), e["outcome"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(ops, ["suspend succeeded", "resume succeeded"]);
}

#[tokio::test]
async fn an_offboarding_while_an_onboarding_runs_is_refused_and_changes_nothing() {
    let h = Harness::new().await;
    let customer = "lc-busy";
    let started = h.intake(&Harness::request(customer)).await;
    let arn = started["execution_arn"].as_str().expect("execution arn").to_string();
    // Wait until the onboarding holds the customer.
    let mut waited = 0;
    while state(&h.inventory(customer).await) != "PROVISIONING" {
        assert!(waited < 300, "the onboarding never registered the customer");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "off-1", json!({})), &format!("{customer}_off-1")).await;
    assert_eq!((off.status.as_str(), off.error.as_deref()), ("FAILED", Some("Berth.Conflict")), "{:?}", off.cause);
    assert!(off.cause.as_deref().is_some_and(|c| c.contains(&arn)), "the refusal names the execution that holds it: {:?}", off.cause);
    let onboarded = h.follow(&arn).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    assert_eq!((inv.rules.len(), inv.target_groups.len(), inv.records.len()), (2, 2, 2));
    assert!(h.history(customer).await.is_empty(), "a refused execution records nothing");

    // A customer never onboarded: not found.
    let none = h.run("berth-suspend", &Harness::lifecycle_request("lc-nobody", "s-1", json!({})), "lc-nobody_s-1").await;
    assert_eq!((none.status.as_str(), none.error.as_deref()), ("FAILED", Some("Berth.NotFound")), "{:?}", none.cause);
}
