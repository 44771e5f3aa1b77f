//! Failure without debris, against the emulator with faults injected at the router: a
//! permanent failure at every step leaves nothing; throttling everywhere still ends ACTIVE;
//! a request delivered many times builds one environment; a Lambda that dies mid-step is
//! re-run and converges; targets that never get healthy end FAILED with nothing left.
//!
//! The faults are global to the router, so this suite runs one test at a time.

use std::collections::BTreeSet;

use berth_tests::{Harness, Inventory};
use serde_json::{json, Value};

fn request(customer: &str) -> Value {
    let mut r = Harness::request(customer);
    r["idempotency_key"] = json!(format!("key-{customer}"));
    r
}

/// A customer with everything of a successful onboarding, once.
fn assert_one_environment(inv: &Inventory, what: &str) {
    assert_eq!(inv.attr("state").as_deref(), Some("ACTIVE"), "{what}");
    let active_services = inv.services.iter().filter(|s| s.status() == Some("ACTIVE")).count();
    assert_eq!(
        (inv.target_groups.len(), inv.rules.len(), inv.task_definitions.len(), active_services, inv.log_groups.len(), inv.records.len()),
        (2, 2, 3, 3, 1, 2),
        "{what}: target groups, rules, task definitions, services, log groups, records"
    );
    assert_eq!(inv.priority_claims.len(), 2, "{what}");
    // Target groups, rules, task definitions, services, the log group, the record, the
    // customer's role and its security group.
    assert_eq!(inv.ledger.len(), 2 + 2 + 3 + 3 + 1 + 1 + 1 + 1, "{what}: {:?}", inv.ledger);
    assert!(inv.role.is_some() && inv.security_groups.len() == 1, "{what}: role {:?}, groups {:?}", inv.role, inv.security_groups);
    assert_eq!(inv.tagged.len(), 2 + 2 + 3 + 3 + 1, "{what}: {:?}", inv.tagged);
}

/// The activate step fails for good: the whole environment exists when the rollback starts.
fn activate_denied() -> Value {
    json!({"operation": "UpdateItem", "function": "berth-activate", "times": 0, "error": {"kind": "code", "code": "AccessDeniedException"}})
}

fn assert_nothing_left(inv: &Inventory, what: &str) {
    assert_eq!(inv.leftovers(), Vec::<String>::new(), "{what}");
}

#[tokio::test]
async fn a_permanent_failure_at_each_step_leaves_nothing() {
    let h = Harness::new().await;
    // (step, function, operation, nth call, error code, expected error name). A request AWS
    // rejects as invalid is berth's own fault: Berth.Internal.
    let matrix = [
        ("register", "berth-register", "TransactWriteItems", 1, "AccessDeniedException", "Berth.Internal"),
        ("allocate", "berth-allocate", "TransactWriteItems", 1, "ValidationException", "Berth.Internal"),
        ("allocate", "berth-allocate", "DescribeRules", 1, "AccessDenied", "Berth.Internal"),
        ("resources", "berth-resources", "CreateTargetGroup", 1, "InvalidConfigurationRequest", "Berth.Internal"),
        ("resources", "berth-resources", "CreateRule", 2, "TooManyRules", "Berth.QuotaExceeded"),
        ("resources", "berth-resources", "RegisterTaskDefinition", 2, "ClientException", "Berth.Internal"),
        ("resources", "berth-resources", "CreateService", 3, "InvalidParameterException", "Berth.Internal"),
        ("check", "berth-check", "DescribeTargetHealth", 1, "AccessDenied", "Berth.Internal"),
        ("dns", "berth-dns", "ChangeResourceRecordSets", 1, "InvalidChangeBatch", "Berth.Conflict"),
        ("activate", "berth-activate", "UpdateItem", 1, "AccessDeniedException", "Berth.Internal"),
    ];
    let mut table = vec!["| step | fault | final state | error | leftovers |".to_string(), "|---|---|---|---|---|".to_string()];
    for (i, (step, function, operation, nth, code, _)) in matrix.iter().enumerate() {
        let customer = format!("flt-{step}-{i}");
        h.set_faults(json!({"faults": [{"operation": operation, "function": function, "nth": nth, "times": 0,
            "error": {"kind": "code", "code": code}}]}))
            .await;
        let report = h.onboard(&request(&customer)).await;
        let injected = h.fault_counts().await.injected;
        h.clear_faults().await;
        let inv = h.inventory(&customer).await;
        let state = inv.attr("state").unwrap_or_else(|| "(none)".into());
        table.push(format!(
            "| {step} | {operation} #{nth}: {code} | execution {}, customer {state} | {} | {} |",
            report.status,
            report.error.as_deref().unwrap_or("-"),
            inv.leftovers().len()
        ));
        assert_eq!(injected, vec![1], "{customer}: the fault fired once");
        assert_eq!(report.status, "FAILED", "{customer}");
        assert_nothing_left(&inv, &customer);
        // Registration itself failed: there is no customer record to mark.
        if *step != "register" {
            assert_eq!(state, "FAILED", "{customer}: {:?}", report.cause);
            assert!(inv.attr("error_name").is_some_and(|e| e.starts_with("Berth.")), "{customer}");
        }
    }
    for (i, (_, _, _, _, _, expected)) in matrix.iter().enumerate() {
        assert!(table[i + 2].contains(expected), "{}", table[i + 2]);
    }
    eprintln!("{}", table.join("\n"));
}

#[tokio::test]
async fn the_host_and_priorities_of_a_failed_onboarding_are_taken_again() {
    let h = Harness::new().await;
    let customer = "flt-again";
    h.set_faults(json!({"faults": [{"operation": "ChangeResourceRecordSets", "function": "berth-dns", "times": 0,
        "error": {"kind": "code", "code": "InvalidChangeBatch"}}]}))
        .await;
    let failed = h.onboard(&request(customer)).await;
    h.clear_faults().await;
    assert_eq!(failed.status, "FAILED");
    // The same customer, a new request: the released host and priorities serve it.
    let mut again = request(customer);
    again["idempotency_key"] = json!("second-try");
    let report = h.onboard(&again).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?}", report.cause);
    assert_one_environment(&h.inventory(customer).await, customer);
}

#[tokio::test]
async fn throttling_on_the_first_call_of_every_operation_still_ends_active() {
    let h = Harness::new().await;
    let customer = "flt-throttled";
    h.set_faults(json!({"faults": [{"operation": "*", "nth": 1, "times": 1, "error": {"kind": "throttle"}}]})).await;
    let report = h.onboard(&request(customer)).await;
    let counts = h.fault_counts().await;
    h.clear_faults().await;
    assert_eq!(report.status, "SUCCEEDED", "{:?}", report.cause);
    let operations: BTreeSet<&String> = counts.seen[0].keys().collect();
    assert_eq!(counts.injected[0] as usize, operations.len(), "one throttle per operation: {operations:?}");
    assert!(operations.len() >= 15, "{operations:?}");
    assert_one_environment(&h.inventory(customer).await, customer);
    eprintln!("throttled {} operations once each: {operations:?}", operations.len());
}

#[tokio::test]
async fn the_same_request_ten_times_in_a_row_and_five_at_once_builds_one_environment() {
    let h = Harness::new().await;
    let req = request("flt-redelivered");
    let first = h.intake(&req).await;
    assert_eq!(first["started"], json!(true), "{first}");
    let arn = first["execution_arn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(":flt-redelivered_key-flt-redelivered"), "{arn}");
    for _ in 0..9 {
        let again = h.intake(&req).await;
        assert_eq!((again["started"].clone(), again["execution_arn"].as_str()), (json!(false), Some(arn.as_str())), "{again}");
    }
    let report = h.follow(&arn).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?}", report.cause);
    // Delivered again after it ended: still that execution, nothing new.
    let late = h.intake(&req).await;
    assert_eq!((late["started"].clone(), late["status"].clone()), (json!(false), json!("SUCCEEDED")), "{late}");
    assert_one_environment(&h.inventory("flt-redelivered").await, "ten in a row");

    let req = request("flt-concurrent");
    // Five deliveries at once.
    let (a, b, c, d, e) = tokio::join!(h.intake(&req), h.intake(&req), h.intake(&req), h.intake(&req), h.intake(&req));
    let answers = [a, b, c, d, e];
    let arns: BTreeSet<&str> = answers.iter().filter_map(|a| a["execution_arn"].as_str()).collect();
    assert_eq!(arns.len(), 1, "{answers:?}");
    let arn = arns.into_iter().next().unwrap().to_string();
    let executions = h.sfn.list_executions().state_machine_arn(&h.stack.state_machine_arn).send().await.unwrap();
    let named = executions.executions().iter().filter(|e| e.name() == "flt-concurrent_key-flt-concurrent").count();
    assert_eq!(named, 1);
    let report = h.follow(&arn).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?}", report.cause);
    assert_one_environment(&h.inventory("flt-concurrent").await, "five at once");

    // The same key for a different request is refused, and changes nothing.
    let mut other = req.clone();
    other["display_name"] = json!("Someone Else");
    let (err, out) = h.invoke("berth-intake", &other).await;
    assert!(err && out["errorType"] == "Berth.Conflict", "{out}");
    // A new key for an ACTIVE customer: refused too (changes go through updates).
    let mut new_key = req.clone();
    new_key["idempotency_key"] = json!("another-key");
    let (err, out) = h.invoke("berth-intake", &new_key).await;
    assert!(err && out["errorType"] == "Berth.Conflict" && out["errorMessage"].as_str().unwrap().contains("ACTIVE"), "{out}");
    assert_one_environment(&h.inventory("flt-concurrent").await, "after refusals");
}

#[tokio::test]
async fn every_step_converges_after_a_crash_mid_step() {
    let h = Harness::new().await;
    // (function, operation, nth): the call whose answer is lost; the function's next two
    // calls fail too, so its SDK gives up and the step fails as if the Lambda had died
    // there. The state machine runs the step again.
    let crashes = [
        ("berth-register", "TransactWriteItems", 1),
        ("berth-allocate", "UpdateItem", 1),
        ("berth-allocate", "TransactWriteItems", 1),
        ("berth-resources", "CreateLogGroup", 1),
        ("berth-resources", "CreateTargetGroup", 2),
        ("berth-resources", "CreateRule", 1),
        ("berth-resources", "RegisterTaskDefinition", 2),
        ("berth-resources", "CreateService", 2),
        ("berth-resources", "BatchWriteItem", 1),
        ("berth-check", "DescribeTargetHealth", 1),
        ("berth-dns", "ChangeResourceRecordSets", 1),
        ("berth-activate", "UpdateItem", 1),
    ];
    for (i, (function, operation, nth)) in crashes.iter().enumerate() {
        let customer = format!("crash-{i}");
        h.set_faults(
            json!({"faults": [{"operation": operation, "function": function, "nth": nth, "times": 3, "error": {"kind": "crash"}}]}),
        )
        .await;
        let report = h.onboard(&request(&customer)).await;
        let injected = h.fault_counts().await.injected;
        h.clear_faults().await;
        let what = format!("crash in {function} at {operation} #{nth}");
        assert_eq!(injected, vec![1], "{what}: the crash happened");
        assert_eq!(report.status, "SUCCEEDED", "{what}: {:?}", report.cause);
        assert_one_environment(&h.inventory(&customer).await, &what);
    }
}

#[tokio::test]
async fn the_rollback_converges_after_a_crash_mid_rollback() {
    let h = Harness::new().await;
    let customer = "crash-rollback";
    h.set_faults(json!({"faults": [
        activate_denied(),
        {"operation": "DeleteRule", "function": "berth-rollback", "nth": 1, "times": 3, "error": {"kind": "crash"}}
    ]}))
    .await;
    let report = h.onboard(&request(customer)).await;
    let injected = h.fault_counts().await.injected;
    h.clear_faults().await;
    assert_eq!(injected[1], 1, "the rollback crashed once");
    assert_eq!(report.status, "FAILED");
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("FAILED"), "{:?}", inv.attr("leftovers"));
    assert_nothing_left(&inv, customer);
}

#[tokio::test]
async fn a_cleanup_that_cannot_finish_ends_rollback_failed_with_what_is_left() {
    let h = Harness::new().await;
    let customer = "flt-stuck";
    h.set_faults(json!({"faults": [
        activate_denied(),
        {"operation": "DeleteTargetGroup", "function": "berth-rollback", "times": 0, "error": {"kind": "code", "code": "AccessDenied"}}
    ]}))
    .await;
    let report = h.onboard(&request(customer)).await;
    h.clear_faults().await;
    assert_eq!(report.status, "FAILED");
    assert_eq!(report.error.as_deref(), Some("Berth.Internal"), "the execution fails with the step's error");
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("ROLLBACK_FAILED"));
    // Exactly the target groups are left, and the ledger still lists them.
    assert_eq!(inv.target_groups.len(), 2);
    assert_eq!(inv.ledger.len(), 2, "{:?}", inv.ledger);
    assert!(inv.rules.is_empty() && inv.services.iter().all(|s| s.status() != Some("ACTIVE")) && inv.records.is_empty());
    // Nothing else holds the priorities or the host: they are free.
    assert!(inv.priority_claims.is_empty() && inv.host_claim.is_none());
    let item = inv.customer_item.as_ref().unwrap();
    let leftovers: Vec<String> = item
        .get("leftovers")
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|x| x.as_s().ok().cloned()).collect())
        .unwrap_or_default();
    assert_eq!(leftovers.iter().filter(|l| l.starts_with("target_group ")).count(), 2, "{leftovers:?}");
}

#[tokio::test]
async fn targets_that_never_get_healthy_end_failed_with_nothing_left() {
    let h = Harness::new().await;
    let customer = "flt-unhealthy";
    let mut req = request(customer);
    req["options"] = json!({"health_interval_seconds": 0, "health_max_attempts": 3});
    h.set_faults(json!({"never_healthy": [berth_domain::naming::target_group_name(&h.stack.infra.name_prefix, customer, "api")]})).await;
    let report = h.onboard(&req).await;
    h.clear_faults().await;
    assert_eq!(report.status, "FAILED");
    assert_eq!(report.error.as_deref(), Some("Berth.Timeout"), "{:?}", report.cause);
    assert!(report.cause.as_deref().unwrap_or_default().contains("api (0/1 targets healthy"), "{:?}", report.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("FAILED"));
    assert_nothing_left(&inv, customer);
}

#[tokio::test]
async fn the_rollback_of_a_full_environment_costs_a_bounded_number_of_calls() {
    let h = Harness::new().await;
    let customer = "flt-cost";
    h.set_faults(json!({"faults": [activate_denied()]})).await;
    let report = h.onboard(&request(customer)).await;
    h.clear_faults().await;
    assert_eq!(report.status, "FAILED");
    assert_nothing_left(&h.inventory(customer).await, customer);
    let rollback = report.api_calls_by_function.get("berth-rollback").cloned().unwrap_or_default();
    let fail = report.api_calls_by_function.get("berth-fail").cloned().unwrap_or_default();
    let total: u64 = rollback.values().sum::<u64>() + fail.values().sum::<u64>();
    eprintln!("rollback of a full environment: {total} API calls (rollback {rollback:?}, fail {fail:?})");
    assert!(total > 20 && total <= 60, "{total}: {rollback:?} {fail:?}");
}
