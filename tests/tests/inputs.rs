//! No input can break a berth Lambda, through the real Lambdas on the local stack: every
//! known-bad input (unicode, control characters, a 1 MB string, 3,000-deep nesting, wrong
//! types) sent to every function as a caller would is refused with `Berth.InvalidRequest`,
//! and nothing is started or created anywhere.

#[path = "../../crates/berth-steps/tests/common/known_bad.rs"]
mod known_bad;

use berth_tests::Harness;

/// How much exists in the emulator: table items, executions, target groups, rules, services,
/// log groups and records.
async fn counts(h: &Harness) -> Vec<(&'static str, usize)> {
    let infra = &h.stack.infra;
    let items = h.dynamodb.scan().table_name(&infra.table).send().await.expect("scan").items().len();
    let executions =
        h.sfn.list_executions().state_machine_arn(&h.stack.state_machine_arn).send().await.expect("executions").executions().len();
    let tgs = h.elb.describe_target_groups().send().await.expect("target groups").target_groups().len();
    let rules = h.elb.describe_rules().listener_arn(&infra.listener_arn).send().await.expect("rules").rules().len();
    let services = h.ecs.list_services().cluster(&infra.cluster).send().await.expect("services").service_arns().len();
    let groups = h.logs.describe_log_groups().send().await.expect("log groups").log_groups().len();
    let records = h
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&infra.hosted_zone_id)
        .send()
        .await
        .expect("records")
        .resource_record_sets()
        .len();
    vec![
        ("table items", items),
        ("executions", executions),
        ("target groups", tgs),
        ("rules", rules),
        ("services", services),
        ("log groups", groups),
        ("records", records),
    ]
}

#[tokio::test]
async fn known_bad_inputs_are_refused_by_every_real_lambda_and_start_nothing() {
    let h = Harness::new().await;
    let before = counts(&h).await;
    let mut tried = 0;
    for function in known_bad::FUNCTIONS {
        for (what, payload) in known_bad::known_bad(function) {
            let (failed, answer) = h.invoke_raw(&format!("berth-{function}"), payload).await;
            assert!(failed, "berth-{function}: {what} was accepted: {answer}");
            assert_eq!(answer["errorType"], "Berth.InvalidRequest", "berth-{function}: {what}: {answer}");
            let message = answer["errorMessage"].as_str().unwrap_or_default();
            assert!(message.len() < 2_000, "berth-{function}: {what}: the error repeats the input ({} bytes)", message.len());
            tried += 1;
        }
    }
    assert_eq!(counts(&h).await, before, "nothing was started or created");
    eprintln!("{tried} known-bad inputs refused by 10 Lambdas");
}
