//! End to end: suspend, resume and offboarding, each its own state machine executed by the
//! emulator over the real Lambdas, after a real onboarding. Every assertion is on what
//! exists in the emulator afterwards.

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
async fn lifecycle_executions_while_another_runs_are_refused_and_change_nothing() {
    let h = Harness::new().await;
    let customer = "lc-busy";
    let started = h.intake(&Harness::request(customer)).await;
    let arn = started["execution_arn"].as_str().expect("execution arn").to_string();
    // While the onboarding holds the customer: an offboarding and an update, at once.
    h.wait_for_state(customer, "PROVISIONING").await;
    let (off_request, off_name) = (Harness::lifecycle_request(customer, "off-1", json!({})), format!("{customer}_off-1"));
    let (up_request, up_name) = (update_request(customer, "up-1", "1.5.0"), format!("{customer}_up-1"));
    let (off, update) = tokio::join!(h.run("berth-offboard", &off_request, &off_name), h.run("berth-update", &up_request, &up_name));
    for r in [&off, &update] {
        assert_eq!((r.status.as_str(), r.error.as_deref()), ("FAILED", Some("Berth.Conflict")), "{:?}", r.cause);
        assert!(r.cause.as_deref().is_some_and(|c| c.contains(&arn)), "the refusal names the execution that holds it: {:?}", r.cause);
    }
    let onboarded = h.follow(&arn).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    assert_eq!((inv.rules.len(), inv.target_groups.len(), inv.records.len()), (2, 2, 2));
    assert!(h.history(customer).await.is_empty(), "a refused execution records nothing");

    // An offboarding while an update runs: refused, and the update ends as it would.
    let started = tokio::spawn({
        let request = update_request(customer, "up-2", "1.5.0");
        let name = format!("{customer}_up-2");
        async move { Harness::new().await.run("berth-update", &request, &name).await }
    });
    h.wait_for_state(customer, "UPDATING").await;
    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "off-2", json!({})), &format!("{customer}_off-2")).await;
    assert_eq!((off.status.as_str(), off.error.as_deref()), ("FAILED", Some("Berth.Conflict")), "{:?}", off.cause);
    assert!(off.cause.as_deref().is_some_and(|c| c.contains("UPDATING")), "{:?}", off.cause);
    let updated = started.await.expect("update ran");
    assert_eq!(updated.status, "SUCCEEDED", "{:?} {:?}", updated.error, updated.cause);
    assert_eq!(state(&h.inventory(customer).await), "ACTIVE");
    assert_eq!(h.history(customer).await.len(), 1, "the update, and nothing of the refused offboarding");

    // A customer never onboarded: not found.
    let none = h.run("berth-suspend", &Harness::lifecycle_request("lc-nobody", "s-1", json!({})), "lc-nobody_s-1").await;
    assert_eq!((none.status.as_str(), none.error.as_deref()), ("FAILED", Some("Berth.NotFound")), "{:?}", none.cause);
}

/// The update request: the onboarding request with new image tags (and `change`).
fn update_request(customer: &str, key: &str, tag: &str) -> Value {
    let mut r = Harness::request(customer);
    r["idempotency_key"] = json!(key);
    for s in ["api", "worker", "frontend"] {
        r["services"][s]["image_tag"] = json!(tag);
    }
    r
}

/// Each of the customer's services' task definition revision, by service name.
async fn revisions(h: &Harness, customer: &str) -> std::collections::BTreeMap<String, String> {
    h.inventory(customer)
        .await
        .services
        .iter()
        .map(|s| (s.service_name().unwrap_or_default().to_string(), s.task_definition().unwrap_or_default().to_string()))
        .collect()
}

#[tokio::test]
async fn an_update_rolls_out_new_revisions_and_keeps_the_old_ones_and_the_same_spec_again_writes_nothing() {
    let h = Harness::new().await;
    let customer = "lc-upd";
    let onboarded = h.onboard(&Harness::request(customer)).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let old = revisions(&h, customer).await;

    let mut request = update_request(customer, "release-1-5-0", "1.5.0");
    request["services"]["api"]["desired_count"] = json!(2);
    let u = h.run("berth-update", &request, &format!("{customer}_release-1-5-0")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let new = revisions(&h, customer).await;
    for (service, before) in &old {
        let after = &new[service];
        assert_ne!(after, before, "{service} runs a new revision");
        // The old revision is kept, ACTIVE, to go back to.
        let td = h.ecs.describe_task_definition().task_definition(before).send().await.expect("old revision");
        assert_eq!(td.task_definition().and_then(|t| t.status()).map(|s| s.as_str()), Some("ACTIVE"), "{before}");
        let td = h.ecs.describe_task_definition().task_definition(after).send().await.expect("new revision");
        let image = td.task_definition().map(|t| t.container_definitions()[0].image().unwrap_or_default().to_string()).unwrap_or_default();
        assert!(image.ends_with(":1.5.0"), "{service}: {image}");
    }
    let counts = h.desired_counts(customer).await;
    assert_eq!(counts.get(&format!("{}-{customer}-api", h.stack.infra.name_prefix)), Some(&2), "{counts:?}");
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    let history = h.history(customer).await;
    assert_eq!((history[0]["operation"].as_str(), history[0]["outcome"].as_str()), (Some("update"), Some("succeeded")));
    assert_eq!(history[0]["detail"]["before"].as_array().map(Vec::len), Some(3));

    // The same spec again, under another key: nothing taken, no write call at all.
    let same = update_request(customer, "release-1-5-0-again", "1.5.0");
    let mut same = same;
    same["services"]["api"]["desired_count"] = json!(2);
    let again = h.run("berth-update", &same, &format!("{customer}_release-1-5-0-again")).await;
    assert_eq!(again.status, "SUCCEEDED", "{:?} {:?}", again.error, again.cause);
    assert_eq!(again.output.as_ref().and_then(|o| o["changed"].as_bool()), Some(false), "{:?}", again.output);
    // (Its steps' progress events are no change to the customer.)
    let writes: Vec<&String> = again
        .api_calls
        .keys()
        .filter(|k| !k.starts_with("events:"))
        .filter(|k| !["GetItem", "Query", "Describe", "List"].iter().any(|r| k.split(':').nth(1).unwrap_or(k).starts_with(r)))
        .collect();
    assert!(writes.is_empty(), "an unchanged update wrote: {writes:?} (calls: {:?})", again.api_calls);
    assert_eq!(revisions(&h, customer).await, new);
    assert_eq!(h.history(customer).await.len(), 1);
}

#[tokio::test]
async fn a_refused_update_puts_the_services_back_on_their_previous_revisions_and_stays_active() {
    let h = Harness::new().await;
    let customer = "lc-upd-fail";
    let onboarded = h.onboard(&Harness::request(customer)).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let old = revisions(&h, customer).await;
    let counts = h.desired_counts(customer).await;

    // The resources step's first UpdateService goes through, every later one is refused.
    h.set_faults(json!({"faults": [{"operation": "UpdateService", "function": "berth-resources", "nth": 2, "times": 0,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
    let u = h.run("berth-update", &update_request(customer, "release-2", "2.0.0"), &format!("{customer}_release-2")).await;
    let injected = h.fault_counts().await.injected;
    h.clear_faults().await;
    assert_eq!(u.status, "FAILED", "{:?}", u.output);
    assert!(injected.iter().sum::<u64>() >= 1, "the refusal happened: {injected:?}");
    assert_eq!(revisions(&h, customer).await, old, "back on the previous revisions");
    assert_eq!(h.desired_counts(customer).await, counts, "and counts");
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    let history = h.history(customer).await;
    assert_eq!((history[0]["operation"].as_str(), history[0]["outcome"].as_str()), (Some("update"), Some("failed")));
    assert!(history[0]["error"].as_str().is_some_and(|e| e.starts_with("Berth.")), "{:?}", history[0]);
    // The last good spec is still the onboarding's.
    let plan: Value = serde_json::from_str(&inv.attr("plan_json").unwrap_or_default()).unwrap_or_default();
    assert!(plan["services"].as_array().is_some_and(|s| s.iter().all(|s| s["image"].as_str().is_some_and(|i| i.ends_with(":1.4.2")))));
}

/// The customer's rules on the listener, by priority: (priority, path patterns).
fn rule_order(inv: &berth_tests::Inventory) -> Vec<(u32, Vec<String>)> {
    let mut rules: Vec<(u32, Vec<String>)> = inv
        .rules
        .iter()
        .map(|r| {
            let paths = r
                .conditions()
                .iter()
                .filter(|c| c.field() == Some("path-pattern"))
                .flat_map(|c| c.path_pattern_config().map(|p| p.values().to_vec()).unwrap_or_else(|| c.values().to_vec()))
                .collect();
            (r.priority().and_then(|p| p.parse().ok()).unwrap_or(0), paths)
        })
        .collect();
    rules.sort();
    rules
}

fn with_reports(customer: &str, key: &str) -> Value {
    let mut r = Harness::request(customer);
    r["idempotency_key"] = json!(key);
    r["products"] = json!(["webapp", "reports"]);
    r["services"]["reports"] = json!({ "image_tag": "1.0.0" });
    r
}

#[tokio::test]
async fn a_product_added_gets_its_rule_before_the_catch_all_and_removed_frees_its_priorities() {
    let h = Harness::new().await;
    let customer = "lc-prod";
    for c in [customer, "lc-prod-next"] {
        let onboarded = h.onboard(&Harness::request(c)).await;
        assert_eq!(onboarded.status, "SUCCEEDED", "{c}: {:?} {:?}", onboarded.error, onboarded.cause);
    }
    let before = h.inventory(customer).await;
    let held_before = before.priority_claims.clone();
    assert_eq!(held_before.len(), 2);
    let neighbour = rule_order(&h.inventory("lc-prod-next").await);

    // Added: the reports product's services, target group and rule; its rule's number sits
    // between the API's and the catch-all's, which moved to a number the customer took.
    let u = h.run("berth-update", &with_reports(customer, "add-reports"), &format!("{customer}_add-reports")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    let order = rule_order(&inv);
    let paths: Vec<Vec<String>> = order.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(paths, [vec!["/api/*".to_string()], vec!["/reports".into(), "/reports/*".into()], vec![]], "{order:?}");
    assert_eq!(inv.target_groups.len(), 3);
    let active = |inv: &berth_tests::Inventory| inv.services.iter().filter(|s| s.status() == Some("ACTIVE")).count();
    assert_eq!(active(&inv), 4);
    assert!(inv.task_definitions.iter().any(|t| t.contains("-reports:")), "{:?}", inv.task_definitions);
    let mut claims = inv.priority_claims.clone();
    claims.sort();
    assert_eq!(claims, order.iter().map(|(p, _)| *p).collect::<Vec<_>>(), "the ledger holds exactly the listener's numbers");
    assert_eq!(rule_order(&h.inventory("lc-prod-next").await), neighbour, "the other customer's rules did not move");

    // Removed: all of it goes, its number is given back, the rest keeps its order.
    let mut back = Harness::request(customer);
    back["idempotency_key"] = json!("drop-reports");
    let u = h.run("berth-update", &back, &format!("{customer}_drop-reports")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE");
    let after = rule_order(&inv);
    assert_eq!(after.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(), [vec!["/api/*".to_string()], vec![]], "{after:?}");
    assert_eq!(inv.target_groups.len(), 2);
    assert_eq!(active(&inv), 3);
    assert_eq!(inv.log_groups.len(), 1, "the log group the other services write to stays");
    assert!(!inv.task_definitions.iter().any(|t| t.contains("-reports:")), "{:?}", inv.task_definitions);
    let mut claims = inv.priority_claims.clone();
    claims.sort();
    assert_eq!(claims, after.iter().map(|(p, _)| *p).collect::<Vec<_>>());
    let freed: Vec<u32> = order.iter().map(|(p, _)| *p).filter(|p| !claims.contains(p)).collect();
    assert_eq!(freed.len(), 1, "{order:?} -> {after:?}");
    assert!(inv.ledger.iter().all(|r| !r.contains("reports")), "{:?}", inv.ledger);
    let ops: Vec<String> = h.history(customer).await.iter().map(|e| e["outcome"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(ops, ["succeeded", "succeeded"]);

    // The freed number is handed out again.
    let next = h.onboard(&Harness::request("lc-prod-third")).await;
    assert_eq!(next.status, "SUCCEEDED", "{:?} {:?}", next.error, next.cause);
    assert!(priorities(next.output.as_ref().expect("outputs")).contains(&freed[0]), "{freed:?}");

    // Added by an update that fails (ECS refuses the new service): the product is taken
    // away again, its numbers given back, the customer ACTIVE on what it had.
    h.set_faults(json!({"faults": [{"operation": "CreateService", "function": "berth-resources", "times": 0,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
    let u = h.run("berth-update", &with_reports(customer, "add-reports-2"), &format!("{customer}_add-reports-2")).await;
    let injected = h.fault_counts().await.injected;
    h.clear_faults().await;
    assert_eq!(u.status, "FAILED", "{:?}", u.output);
    assert!(injected.iter().sum::<u64>() >= 1, "the refusal happened: {injected:?}");
    let inv = h.inventory(customer).await;
    assert_eq!(state(&inv), "ACTIVE", "{:?} {:?} {:?}", u.error, u.cause, h.history(customer).await.last());
    let now = rule_order(&inv);
    assert_eq!(now.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(), [vec!["/api/*".to_string()], vec![]], "{now:?}");
    assert_eq!((inv.target_groups.len(), active(&inv)), (2, 3));
    let mut claims = inv.priority_claims.clone();
    claims.sort();
    assert_eq!(claims, now.iter().map(|(p, _)| *p).collect::<Vec<_>>());
    let history = h.history(customer).await;
    assert_eq!(history.last().and_then(|e| e["outcome"].as_str()), Some("failed"), "{history:?}");
}

/// A request event as EventBridge delivers it (`events/bus/{file}.json`), for `customer`.
fn bus_event(file: &str, customer: &str) -> Value {
    let path = berth_tests::root().join(format!("events/bus/{file}.json"));
    // The example's secret references are acme's: this customer's own, by their names.
    let text = std::fs::read_to_string(&path).expect("example event").replace(":secret:acme/", &format!(":secret:{customer}/"));
    let mut v: Value = serde_json::from_str(&text).expect("JSON");
    v["detail"]["customer_id"] = json!(customer);
    v
}

#[tokio::test]
async fn request_events_as_eventbridge_delivers_them_start_their_machines_once() {
    let h = Harness::new().await;
    let customer = "lc-bus";
    let onboard = bus_event("onboarding-requested", customer);
    let started = h.intake(&onboard).await;
    assert_eq!(started["started"], json!(true), "{started}");
    let arn = started["execution_arn"].as_str().expect("execution arn").to_string();
    assert!(arn.contains(":execution:berth-onboard:"), "{arn}");
    let done = h.follow(&arn).await;
    assert_eq!(done.status, "SUCCEEDED", "{:?} {:?}", done.error, done.cause);

    let suspend = bus_event("suspend-requested", customer);
    let started = h.intake(&suspend).await;
    let arn = started["execution_arn"].as_str().expect("execution arn").to_string();
    assert!(arn.contains(":execution:berth-suspend:"), "{arn}");
    // Delivered again, as EventBridge may: the same execution, nothing new.
    let again = h.intake(&suspend).await;
    assert_eq!((again["started"].as_bool(), again["execution_arn"].as_str()), (Some(false), Some(arn.as_str())), "{again}");
    let done = h.follow(&arn).await;
    assert_eq!(done.status, "SUCCEEDED", "{:?} {:?}", done.error, done.cause);
    let inv = h.inventory(customer).await;
    assert_eq!((state(&inv), inv.attr("suspend_reason")), ("SUSPENDED".into(), Some("unpaid".into())));

    // Request events the intake can never take: nothing starts, and each is answered with
    // one rejection on the bus (which reaches the portal's queue) naming every field.
    let executions = |h: &Harness| {
        let sfn = h.sfn.clone();
        let machines: Vec<String> = h.stack.infra.state_machines.values().cloned().collect();
        async move {
            let mut n = 0;
            for m in machines {
                n += sfn.list_executions().state_machine_arn(m).send().await.expect("executions").executions().len();
            }
            n
        }
    };
    let before = executions(&h).await;
    let mut unknown = bus_event("resume-requested", customer);
    unknown["detail-type"] = json!("Customer Deleted");
    unknown["id"] = json!("e2e-unknown-detail-type");
    let mut invalid = bus_event("onboarding-requested", "www");
    invalid["detail"]["products"] = json!(["payroll"]);
    invalid["id"] = json!("e2e-invalid-onboarding");
    for (event, fields) in [
        (unknown, vec!["detail-type"]),
        (invalid, vec!["customer_id", "products[0]", "services.api", "services.frontend", "services.worker"]),
    ] {
        let out = h.intake(&event).await;
        assert_eq!((out["started"].as_bool(), out["status"].as_str()), (Some(false), Some("REJECTED")), "{out}");
        let rejections: Vec<serde_json::Value> =
            h.emitted().await.into_iter().filter(|e| e["detail"]["request_id"] == event["id"]).collect();
        assert_eq!(rejections.len(), 1, "{rejections:?}");
        let r = &rejections[0];
        assert_eq!((r["detail-type"].as_str(), r["source"].as_str()), (Some("Customer Request Rejected"), Some("berth")), "{r}");
        assert_eq!(r["detail"]["request_detail_type"], event["detail-type"]);
        let named: Vec<&str> = r["detail"]["reasons"].as_array().expect("reasons").iter().filter_map(|x| x["field"].as_str()).collect();
        assert_eq!(named, fields, "{r}");
    }
    assert_eq!(executions(&h).await, before, "nothing started");
    assert_eq!(state(&h.inventory(customer).await), "SUSPENDED");
}

/// An SBT request event as SBT's control plane puts it (`events/sbt/{file}.json`), for
/// another tenant and with its own event id.
fn sbt_event(file: &str, tenant: &str, id: &str) -> Value {
    let path = berth_tests::root().join(format!("events/sbt/{file}.json"));
    // The example's secret references are its tenant's: this tenant's own, by their names.
    let text = std::fs::read_to_string(&path)
        .expect("example event")
        .replace("t-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b/", &format!("{}/", berth_domain::sbt::customer_id(tenant)));
    let mut v: Value = serde_json::from_str(&text).expect("JSON");
    v["detail"]["tenantId"] = json!(tenant);
    v["id"] = json!(id);
    v
}

/// What the SBT answers function does with berth's outcome event of an execution, as the rule
/// on berth's bus hands it over.
async fn sbt_answer(h: &Harness, execution: &str) -> Value {
    let events: Vec<Value> =
        h.events_of(execution).await.into_iter().filter(|e| e["detail-type"] != berth_domain::events::PROGRESS).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let (err, out) = h.invoke("berth-sbt", &events[0]).await;
    assert!(!err, "{out}");
    out
}

#[tokio::test]
async fn sbt_requests_run_their_machines_and_each_outcome_is_answered_on_sbts_bus() {
    let h = Harness::new().await;
    let tenant = "5d6e7f80-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
    let customer = berth_domain::sbt::customer_id(tenant);
    for (file, id, machine, want) in [
        ("onboarding-request", "e2e-sbt-onboard", "berth-onboard", "provisionSuccess"),
        ("deactivate-request", "e2e-sbt-deactivate", "berth-suspend", "deactivateSuccess"),
        ("activate-request", "e2e-sbt-activate", "berth-resume", "activateSuccess"),
        ("offboarding-request", "e2e-sbt-offboard", "berth-offboard", "deprovisionSuccess"),
    ] {
        let event = sbt_event(file, tenant, id);
        let started = h.intake(&event).await;
        assert_eq!(started["started"], json!(true), "{file}: {started}");
        let arn = started["execution_arn"].as_str().expect("execution arn").to_string();
        assert!(arn.contains(&format!(":execution:{machine}:{customer}_")), "{arn}");
        let again = h.intake(&event).await;
        assert_eq!(again["started"], json!(false), "{file}: delivered again, nothing new: {again}");
        let done = h.follow(&arn).await;
        assert_eq!(done.status, "SUCCEEDED", "{file}: {:?} {:?}", done.error, done.cause);
        let out = sbt_answer(&h, &arn).await;
        assert_eq!(out["answered"], want, "{out}");
        let heard: Vec<Value> = h.sbt_answers().await.into_iter().filter(|e| e["detail"]["berthExecution"] == arn.as_str()).collect();
        assert_eq!(heard.len(), 1, "{heard:?}");
        let a = &heard[0];
        assert_eq!((a["detail-type"].as_str(), a["source"].as_str()), (Some(want), Some("applicationPlaneEventSource")), "{a}");
        assert_eq!(a["detail"]["tenantId"], tenant);
        if matches!(file, "onboarding-request" | "offboarding-request") {
            assert_eq!(a["detail"]["tenantRegistrationId"], event["detail"]["tenantRegistrationId"], "{a}");
        }
        if file == "onboarding-request" {
            assert_eq!(a["detail"]["jobOutput"]["tenantData"]["url"], format!("https://{customer}.{}", h.stack.infra.domain), "{a}");
            assert_eq!(state(&h.inventory(&customer).await), "ACTIVE");
        }
    }
    assert_eq!(state(&h.inventory(&customer).await), "DELETED");

    // An onboarding berth cannot take: nothing starts; the rejection is answered with
    // provisionFailure naming SBT's fields.
    let mut bad = sbt_event("onboarding-request", "6e7f8091-2b3c-4d4e-9f50-6b7c8d9e0f1a", "e2e-sbt-bad");
    bad["detail"]["products"] = json!(["payroll"]);
    let out = h.intake(&bad).await;
    assert_eq!((out["started"].as_bool(), out["status"].as_str()), (Some(false), Some("REJECTED")), "{out}");
    let rejection: Vec<Value> = h.emitted().await.into_iter().filter(|e| e["detail"]["request_id"] == "e2e-sbt-bad").collect();
    assert_eq!(rejection.len(), 1, "{rejection:?}");
    let (err, out) = h.invoke("berth-sbt", &rejection[0]).await;
    assert!(!err && out["answered"] == "provisionFailure", "{out}");
    let heard: Vec<Value> =
        h.sbt_answers().await.into_iter().filter(|e| e["detail"]["tenantId"] == "6e7f8091-2b3c-4d4e-9f50-6b7c8d9e0f1a").collect();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0]["detail"]["error"], "Berth.InvalidRequest");
    assert!(heard[0]["detail"]["cause"].as_str().unwrap_or_default().contains("products[0]"), "{}", heard[0]);
}

/// Each of the customer's ACTIVE services: (cpu, memory, desired count) of what it runs, as
/// ECS has it.
async fn sizes(h: &Harness, customer: &str) -> std::collections::BTreeMap<String, (String, String, i32)> {
    h.running(customer)
        .await
        .into_iter()
        .filter(|(s, _)| s.status() == Some("ACTIVE"))
        .map(|(s, td)| {
            let service = s.service_name().unwrap_or_default().rsplit('-').next().unwrap_or_default().to_string();
            (service, (td.cpu().unwrap_or_default().to_string(), td.memory().unwrap_or_default().to_string(), s.desired_count()))
        })
        .collect()
}

#[tokio::test]
async fn a_tier_sizes_the_services_bounds_the_request_and_changes_by_an_update() {
    let h = Harness::new().await;
    let customer = "lc-tiered";
    // Basic, with the api at the tier's cpu and memory bounds exactly: accepted, and run at
    // that size. (The emulator runs one task a service, so every count here is 1; the count
    // bound is held below, and by the unit tests at 2.)
    let mut request = Harness::request(customer);
    request["tier"] = json!("basic");
    request["services"]["api"]["cpu"] = json!(512);
    request["services"]["api"]["memory"] = json!(1024);
    request["services"]["api"]["desired_count"] = json!(1);
    request["services"]["frontend"] = json!({"image_tag": "1.4.2"});
    let r = h.onboard(&request).await;
    assert_eq!(r.status, "SUCCEEDED", "{:?} {:?}", r.error, r.cause);
    let s = sizes(&h, customer).await;
    assert_eq!(s["api"], ("512".into(), "1024".into(), 1));
    assert_eq!(s["frontend"], ("256".into(), "512".into(), 1), "the basic tier's count");

    // Past a bound: the intake refuses it, naming the field and the bound; nothing starts.
    let mut past = request.clone();
    past["idempotency_key"] = json!("too-big");
    past["services"]["api"]["desired_count"] = json!(3);
    let (err, out) = h.invoke("berth-intake", &past).await;
    assert!(err, "{out}");
    assert_eq!(out["errorType"], "Berth.InvalidRequest");
    let message = out["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("services.api.desired_count: at most 2: the basic tier's bound"), "{message}");
    let executions = h.sfn.list_executions().state_machine_arn(&h.stack.state_machine_arn).send().await.expect("executions");
    assert!(!executions.executions().iter().any(|e| e.name() == format!("{customer}_too-big")));

    // A tier change is an update: enterprise's sizes and counts, new revisions.
    let mut enterprise = Harness::request(customer);
    enterprise["idempotency_key"] = json!("to-enterprise");
    enterprise["tier"] = json!("enterprise");
    for service in ["api", "worker", "frontend"] {
        enterprise["services"][service] = json!({"image_tag": "1.4.2", "desired_count": 1});
    }
    // Enterprise scales the API from 2 tasks; this customer's from 1.
    enterprise["services"]["api"]["autoscaling"] = json!({"min": 1, "max": 4});
    let u = h.run("berth-update", &enterprise, &format!("{customer}_to-enterprise")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let s = sizes(&h, customer).await;
    assert_eq!(s["api"], ("1024".into(), "2048".into(), 1));
    assert_eq!(s["frontend"], ("512".into(), "1024".into(), 1));
    assert_eq!(s["worker"], ("512".into(), "1024".into(), 1));
    assert_eq!(h.customer_state(customer).await, "ACTIVE");
}

/// The scaler of one of the customer's services: (min, max, suspended) and its policies'
/// (name, CPU target), as Application Auto Scaling has them.
async fn scaler(h: &Harness, customer: &str, service: &str) -> Option<((u32, u32, bool), Vec<(String, Option<f64>)>)> {
    use berth_adapters::ports::Scaling;
    let sdk = berth_local::observer_config(&h.stack.endpoint).await;
    let scaling = berth_adapters::aws::Aws::new(&sdk, None).scaling;
    let name = berth_domain::naming::ecs_service_name(&h.stack.infra.name_prefix, customer, service);
    let cluster = h.stack.infra.cluster.as_str();
    let t = scaling.target(cluster, &name).await.expect("scalable targets")?;
    let policies = scaling.policies(cluster, &name).await.expect("policies").into_iter().map(|p| (p.name, p.cpu_target)).collect();
    Some(((t.min, t.max, t.suspended), policies))
}

#[tokio::test]
async fn a_scaled_service_gets_its_scaler_which_follows_updates_and_suspend_and_goes_with_the_customer() {
    let h = Harness::new().await;
    let customer = "lc-scaled";
    let policy = (format!("{}-cpu", berth_domain::naming::ecs_service_name(&h.stack.infra.name_prefix, customer, "api")), Some(70.0));
    // Enterprise scales the API (2 to 10 at 70%); this request narrows it to 1-4 (the
    // emulator runs one task a service).
    let mut request = Harness::request(customer);
    request["tier"] = json!("enterprise");
    request["services"]["api"] = json!({"image_tag": "1.4.2", "desired_count": 1, "autoscaling": {"min": 1, "max": 4}});
    let r = h.onboard(&request).await;
    assert_eq!(r.status, "SUCCEEDED", "{:?} {:?}", r.error, r.cause);
    assert_eq!(scaler(&h, customer, "api").await, Some(((1, 4, false), vec![policy.clone()])));
    assert_eq!(scaler(&h, customer, "worker").await, None, "the tier scales the API alone");
    let ledger = h.inventory(customer).await.ledger;
    assert!(ledger.iter().any(|e| e.contains("#scalable_target#service/")), "{ledger:?}");

    // An update changes its bounds in place.
    let mut wider = request.clone();
    wider["idempotency_key"] = json!("scale-6");
    wider["services"]["api"]["autoscaling"] = json!({"min": 1, "max": 6});
    let u = h.run("berth-update", &wider, &format!("{customer}_scale-6")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    assert_eq!(scaler(&h, customer, "api").await, Some(((1, 6, false), vec![policy.clone()])));

    // An update that fails after it changed the bounds (ECS refuses the product it adds)
    // puts the scaler back as it was.
    let mut failing = wider.clone();
    failing["idempotency_key"] = json!("scale-8");
    failing["services"]["api"]["autoscaling"] = json!({"min": 1, "max": 8});
    failing["products"] = json!(["webapp", "reports"]);
    failing["services"]["reports"] = json!({"image_tag": "2.0.0", "desired_count": 1});
    h.set_faults(json!({"faults": [{"operation": "CreateService", "function": "berth-resources", "times": 0,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
    let f = h.run("berth-update", &failing, &format!("{customer}_scale-8")).await;
    h.clear_faults().await;
    assert_eq!(f.status, "FAILED", "{:?}", f.output);
    assert_eq!(scaler(&h, customer, "api").await, Some(((1, 6, false), vec![policy.clone()])), "put back");
    assert_eq!(h.customer_state(customer).await, "ACTIVE");

    // Suspended: the scaler stops and may go to 0, so it cannot undo the suspend; resumed:
    // its bounds again.
    let s =
        h.run("berth-suspend", &Harness::lifecycle_request(customer, "s1", json!({"reason": "unpaid"})), &format!("{customer}_s1")).await;
    assert_eq!(s.status, "SUCCEEDED", "{:?} {:?}", s.error, s.cause);
    assert_eq!(scaler(&h, customer, "api").await.map(|(t, _)| t), Some((0, 6, true)));
    assert!(h.desired_counts(customer).await.values().all(|n| *n == 0));
    let r = h.run("berth-resume", &Harness::lifecycle_request(customer, "r1", json!({})), &format!("{customer}_r1")).await;
    assert_eq!(r.status, "SUCCEEDED", "{:?} {:?}", r.error, r.cause);
    assert_eq!(scaler(&h, customer, "api").await, Some(((1, 6, false), vec![policy.clone()])));

    // Offboarded: the scaler and its policy are gone with the service.
    let o = h.run("berth-offboard", &Harness::lifecycle_request(customer, "o1", json!({})), &format!("{customer}_o1")).await;
    assert_eq!(o.status, "SUCCEEDED", "{:?} {:?}", o.error, o.cause);
    assert_eq!(scaler(&h, customer, "api").await, None);
}

#[tokio::test]
async fn a_rolled_back_onboarding_leaves_no_scaler() {
    let h = Harness::new().await;
    let customer = "lc-scaled-fails";
    let mut request = Harness::request(customer);
    request["tier"] = json!("enterprise");
    request["services"]["api"] = json!({"image_tag": "1.4.2", "desired_count": 1, "autoscaling": {"min": 1, "max": 4}});
    // DNS refuses the records: after the resources, so the scaler exists when it fails.
    h.set_faults(json!({"faults": [{"operation": "ChangeResourceRecordSets", "function": "berth-dns", "times": 0,
        "error": {"kind": "code", "code": "InvalidInput", "message": "refused"}}]}))
        .await;
    let r = h.onboard(&request).await;
    h.clear_faults().await;
    assert_eq!(r.status, "FAILED", "{:?}", r.output);
    assert!(r.steps.iter().any(|s| s.state == "Resources"), "it got past the resources");
    assert_eq!(scaler(&h, customer, "api").await, None, "rolled back");
    assert!(h.inventory(customer).await.leftovers().is_empty());
}
