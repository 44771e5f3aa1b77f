//! End to end: the real state machine, executed by the emulator, invoking the real Lambdas
//! through the router and `cargo lambda watch`. Every assertion is on what exists in the
//! emulator afterwards.

use std::collections::BTreeSet;

use berth_tests::Harness;
use serde_json::{json, Value};

fn out_priority(outputs: &Value, service: &str) -> u32 {
    outputs["priorities"][service].as_u64().unwrap_or_else(|| panic!("no priority for {service} in {outputs}")) as u32
}

#[tokio::test]
async fn onboarding_creates_every_resource_of_the_plan() {
    let h = Harness::new().await;
    let customer = "e2e-full";
    let report = h.onboard(&Harness::request(customer)).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?} {:?}", report.error, report.cause);
    let outputs = report.output.clone().expect("outputs");
    let host = h.host(customer);
    assert_eq!(outputs["url"], json!(format!("https://{host}")));
    // The portal hears of it once, with the URL and the same outputs.
    let event = h.outcome(&report).await;
    assert_eq!(event["detail-type"], "Customer Onboarding Succeeded");
    assert_eq!(event["detail"]["customer_id"], customer);
    assert_eq!(event["detail"]["state"], "ACTIVE");
    assert_eq!(event["detail"]["url"], json!(format!("https://{host}")));
    assert_eq!(event["detail"]["outputs"], outputs);
    // And step by step before that: each step after validate, succeeded, the time since the
    // start growing.
    let progress = h.progress_of(&report.execution_arn).await;
    let steps: Vec<&str> = progress.iter().filter_map(|e| e["detail"]["step"].as_str()).collect();
    assert_eq!(steps, ["register", "allocate", "resources", "check", "dns", "activate"], "{progress:#?}");
    assert!(progress.iter().all(|e| e["detail"]["status"] == "succeeded" && e["detail"]["customer_id"] == customer), "{progress:#?}");
    assert!(progress.iter().all(|e| e["detail"]["elapsed_ms"].as_i64().is_some_and(|ms| ms >= 0)), "{progress:#?}");
    let inv = h.inventory(customer).await;

    // Target groups: ports and health checks from the catalog, ip targets, berth's tags.
    assert_eq!(inv.target_groups.len(), 2, "{:?}", inv.target_groups);
    let tg = |name: &str| {
        inv.target_groups.iter().find(|t| t.target_group_name() == Some(name)).unwrap_or_else(|| panic!("no target group {name}"))
    };
    let api_tg = tg("berth-e2e-full-api");
    assert_eq!(api_tg.port(), Some(3001));
    assert_eq!(api_tg.health_check_path(), Some("/health"));
    assert_eq!(api_tg.target_type().map(|t| t.as_str()), Some("ip"));
    assert_eq!(api_tg.vpc_id(), Some(h.stack.infra.vpc_id.as_str()));
    let front_tg = tg("berth-e2e-full-frontend");
    assert_eq!(front_tg.port(), Some(3000));
    assert_eq!(front_tg.health_check_path(), Some("/"));
    let tags = h.elb.describe_tags().resource_arns(api_tg.target_group_arn().unwrap()).send().await.unwrap();
    let tags: Vec<(String, String)> =
        tags.tag_descriptions()[0].tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect();
    assert!(tags.contains(&("managed-by".into(), "berth".into())), "{tags:?}");
    assert!(tags.contains(&("berth:customer".into(), customer.into())), "{tags:?}");

    // Listener rules: the allocated priorities, host (+ /api/*) conditions, right targets.
    assert_eq!(inv.rules.len(), 2);
    let api_p = out_priority(&outputs, "api");
    let front_p = out_priority(&outputs, "frontend");
    assert!(api_p < front_p, "the /api/* rule must be evaluated first");
    for r in &inv.rules {
        let p: u32 = r.priority().unwrap().parse().unwrap();
        let paths: Vec<String> = r
            .conditions()
            .iter()
            .filter(|c| c.field() == Some("path-pattern"))
            .flat_map(|c| c.path_pattern_config().map(|x| x.values().to_vec()).unwrap_or_else(|| c.values().to_vec()))
            .collect();
        let target = r.actions()[0].target_group_arn().map(str::to_string).or_else(|| {
            r.actions()[0].forward_config().and_then(|f| f.target_groups().first()).and_then(|t| t.target_group_arn()).map(str::to_string)
        });
        if p == api_p {
            assert_eq!(paths, vec!["/api/*"]);
            assert_eq!(target.as_deref(), api_tg.target_group_arn());
        } else {
            assert_eq!(p, front_p);
            assert!(paths.is_empty(), "{paths:?}");
            assert_eq!(target.as_deref(), front_tg.target_group_arn());
        }
    }

    // Task definitions: Fargate, awsvpc, the pinned image, awslogs to the customer's group,
    // secrets by reference.
    assert_eq!(inv.task_definitions.len(), 3, "{:?}", inv.task_definitions);
    let td = h.ecs.describe_task_definition().task_definition("berth-e2e-full-api").send().await.unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    assert!(td.requires_compatibilities().iter().any(|c| c.as_str() == "FARGATE"));
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));
    let c = &td.container_definitions()[0];
    assert!(c.image().unwrap().ends_with("/webapp/backend-api:1.4.2"), "{:?}", c.image());
    assert_eq!(c.port_mappings()[0].container_port(), Some(3001));
    let logs = c.log_configuration().unwrap();
    assert_eq!(logs.log_driver().as_str(), "awslogs");
    assert_eq!(logs.options().unwrap().get("awslogs-group").map(String::as_str), Some("/berth/e2e-full"));
    let prefix = logs.options().unwrap().get("awslogs-stream-prefix").map(String::as_str);
    assert_eq!(prefix, Some("api"), "each service writes its own streams in the customer's group");
    let secret = c.secrets().iter().find(|s| s.name() == "DATABASE_URL").expect("DATABASE_URL secret");
    assert!(secret.value_from().starts_with("arn:aws:secretsmanager:"));
    assert!(c.environment().iter().any(|e| e.name() == Some("BERTH_HOST") && e.value() == Some(host.as_str())));

    // Services: on the shared cluster, Fargate, behind their target groups.
    let active: Vec<_> = inv.services.iter().filter(|s| s.status() == Some("ACTIVE")).collect();
    assert_eq!(active.len(), 3);
    let api = active.iter().find(|s| s.service_name() == Some("berth-e2e-full-api")).unwrap();
    assert_eq!(api.launch_type().map(|l| l.as_str()), Some("FARGATE"));
    assert_eq!(api.load_balancers()[0].target_group_arn(), api_tg.target_group_arn());
    assert_eq!(api.load_balancers()[0].container_port(), Some(3001));
    // The emulator does not keep deploymentConfiguration: the circuit breaker is checked on
    // the request itself in berth-adapters' SDK tests.
    let worker = active.iter().find(|s| s.service_name() == Some("berth-e2e-full-worker")).unwrap();
    assert!(worker.load_balancers().is_empty());

    // One log group for the customer, with retention.
    assert_eq!(inv.log_groups.len(), 1);
    assert!(inv.log_groups.iter().all(|g| g.retention_in_days() == Some(30)));

    // DNS: A and AAAA aliases to the ALB.
    let mut types: Vec<&str> = inv.records.iter().map(|r| r.r#type().as_str()).collect();
    types.sort();
    assert_eq!(types, vec!["A", "AAAA"]);
    for r in &inv.records {
        let alias = r.alias_target().expect("alias");
        assert_eq!(alias.dns_name().trim_end_matches('.'), format!("dualstack.{}", h.stack.infra.alb_dns_name));
        assert_eq!(alias.hosted_zone_id(), h.stack.infra.alb_hosted_zone_id);
    }

    // The registry: ACTIVE, outputs recorded, host and priorities held by this customer.
    assert_eq!(inv.attr("state").as_deref(), Some("ACTIVE"));
    let recorded: Value = serde_json::from_str(&inv.attr("outputs").expect("outputs recorded")).unwrap();
    assert_eq!(recorded, outputs);
    assert!(inv.host_claim.is_some());
    let mut claims = inv.priority_claims.clone();
    claims.sort();
    assert_eq!(claims, vec![api_p, front_p]);
}

#[tokio::test]
async fn a_bad_request_fails_with_invalid_request_and_creates_nothing() {
    let h = Harness::new().await;
    for (customer, patch) in [
        ("www", json!({})),
        ("e2e-badproduct", json!({"products": ["webapp", "payroll"]})),
        ("e2e-badsecret", json!({"environment": {"DB_PASSWORD": "hunter2"}})),
        ("e2e-badurl", json!({"environment": {"DATABASE_URL": "postgres://app:hunter2@db.internal/app"}})),
    ] {
        let mut req = Harness::request(customer);
        for (k, v) in patch.as_object().unwrap() {
            req[k] = v.clone();
        }
        let report = h.onboard(&req).await;
        assert_eq!(report.status, "FAILED");
        assert_eq!(report.error.as_deref(), Some("Berth.InvalidRequest"), "{customer}: {:?}", report.cause);
        assert!(!report.cause.clone().unwrap_or_default().contains("hunter2"), "a secret value leaked into the cause");
        let inv = h.inventory(customer).await;
        assert!(inv.is_empty(), "{customer}: {inv:?}");
    }
}

#[tokio::test]
async fn two_customers_get_disjoint_priorities_and_distinct_names() {
    let h = Harness::new().await;
    let (ra, rb) = (Harness::request("e2e-alpha"), Harness::request("e2e-bravo"));
    let (a, b) = tokio::join!(h.onboard(&ra), h.onboard(&rb));
    assert_eq!(a.status, "SUCCEEDED", "{:?}", a.cause);
    assert_eq!(b.status, "SUCCEEDED", "{:?}", b.cause);
    let (ia, ib) = (h.inventory("e2e-alpha").await, h.inventory("e2e-bravo").await);
    let pa: BTreeSet<u32> = ia.priority_claims.iter().copied().collect();
    let pb: BTreeSet<u32> = ib.priority_claims.iter().copied().collect();
    assert_eq!((pa.len(), pb.len()), (2, 2));
    assert!(pa.is_disjoint(&pb), "{pa:?} {pb:?}");
    // And on the live listener, no priority is held twice.
    let rules = h.elb.describe_rules().listener_arn(&h.stack.infra.listener_arn).send().await.unwrap();
    let prios: Vec<&str> = rules.rules().iter().filter_map(|r| r.priority()).filter(|p| *p != "default").collect();
    let unique: BTreeSet<&str> = prios.iter().copied().collect();
    assert_eq!(unique.len(), prios.len(), "{prios:?}");
    let names = |i: &berth_tests::Inventory| -> BTreeSet<String> {
        let tgs = i.target_groups.iter().map(|t| format!("target group {}", t.target_group_name().unwrap()));
        let services = i.services.iter().map(|s| format!("service {}", s.service_name().unwrap()));
        let families = i.task_definitions.iter().map(|t| format!("task definition {}", t.rsplit('/').next().unwrap()));
        let logs = i.log_groups.iter().map(|g| format!("log group {}", g.log_group_name().unwrap()));
        tgs.chain(services).chain(families).chain(logs).collect()
    };
    assert!(names(&ia).is_disjoint(&names(&ib)));
    assert_eq!(names(&ia).len(), 2 + 3 + 3 + 1, "target groups, services, task definitions, the log group");
}

#[tokio::test]
async fn one_customer_cannot_be_provisioned_twice() {
    let h = Harness::new().await;
    let req = Harness::request("e2e-twin");
    let (a, b) = tokio::join!(h.onboard_named(&req, "e2e-twin-a"), h.onboard_named(&req, "e2e-twin-b"));
    let statuses: BTreeSet<&str> = [a.status.as_str(), b.status.as_str()].into();
    assert_eq!(statuses, BTreeSet::from(["SUCCEEDED", "FAILED"]), "{:?} / {:?}", a.cause, b.cause);
    let loser = if a.status == "FAILED" { &a } else { &b };
    assert_eq!(loser.error.as_deref(), Some("Berth.Conflict"), "{:?}", loser.cause);
    let inv = h.inventory("e2e-twin").await;
    assert_eq!(inv.attr("state").as_deref(), Some("ACTIVE"), "the loser must not mark the winner's customer");
    assert_eq!((inv.target_groups.len(), inv.rules.len(), inv.task_definitions.len(), inv.services.len()), (2, 2, 3, 3));
    assert_eq!(inv.priority_claims.len(), 2);

    // An ACTIVE customer is not onboarded again: Conflict, and nothing changes.
    let again = h.onboard(&req).await;
    assert_eq!(again.error.as_deref(), Some("Berth.Conflict"), "{:?}", again.cause);
    let after = h.inventory("e2e-twin").await;
    assert_eq!(after.attr("state").as_deref(), Some("ACTIVE"));
    assert_eq!(after.task_definitions.len(), 3);
    assert_eq!(after.priority_claims, inv.priority_claims);
}

#[tokio::test]
async fn the_resources_step_run_again_changes_nothing() {
    let h = Harness::new().await;
    let customer = "e2e-rerun";
    let report = h.onboard(&Harness::request(customer)).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?}", report.cause);
    let before = h.inventory(customer).await;

    // Rebuild the input the resources step had, from the same execution.
    let (err, plan) =
        h.invoke("berth-validate", &json!({"request": Harness::request(customer), "execution_id": report.execution_arn})).await;
    assert!(!err, "{plan}");
    let outputs = report.output.unwrap();
    let priorities: Vec<Value> = plan["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"service": r["service"], "priority": outputs["priorities"][r["service"].as_str().unwrap()]}))
        .collect();
    let input =
        json!({"plan": plan, "placement": {"alb": outputs["alb"], "listener_arn": outputs["listener_arn"], "priorities": priorities}});
    let (err, out) = h.invoke("berth-resources", &input).await;
    assert!(!err, "{out}");
    assert_eq!(out["created"], json!([]), "a re-run created {}", out["created"]);
    assert_eq!(out["fixed"], json!([]), "a re-run changed {}", out["fixed"]);

    let after = h.inventory(customer).await;
    assert_eq!(after.task_definitions, before.task_definitions);
    assert_eq!(after.target_groups.len(), before.target_groups.len());
    assert_eq!(after.rules.len(), before.rules.len());
    assert_eq!(after.log_groups.len(), before.log_groups.len());
    assert_eq!(after.services.len(), before.services.len());
}

#[tokio::test]
async fn services_that_never_stabilize_end_in_timeout_and_failed() {
    let h = Harness::new().await;
    let customer = "e2e-slow";
    let mut req = Harness::request(customer);
    // The emulator runs one task per service: asking for two never becomes stable.
    req["services"]["api"]["desired_count"] = json!(2);
    req["options"] = json!({"health_interval_seconds": 0, "health_max_attempts": 3});
    let report = h.onboard(&req).await;
    assert_eq!(report.status, "FAILED");
    assert_eq!(report.error.as_deref(), Some("Berth.Timeout"), "{:?}", report.cause);
    assert!(report.cause.as_deref().unwrap_or_default().contains("e2e-slow-api (running 1/2"), "{:?}", report.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("FAILED"));
    assert_eq!(inv.attr("error_name").as_deref(), Some("Berth.Timeout"));
    assert!(inv.records.is_empty(), "DNS must not be written for unhealthy services");
    // And the rollback left nothing: no resource, no priority, no host claim.
    assert_eq!(inv.leftovers(), Vec::<String>::new());
    // One failure event: the timeout, what was undone, nothing left.
    let event = h.outcome(&report).await;
    let d = &event["detail"];
    assert_eq!(
        (d["error"].as_str(), d["state"].as_str(), d["recorded"].as_bool()),
        (Some("Berth.Timeout"), Some("FAILED"), Some(true)),
        "{event}"
    );
    let undone: Vec<&str> = d["rolled_back"].as_array().expect("rolled_back").iter().filter_map(|v| v.as_str()).collect();
    assert!(undone.iter().any(|r| r.starts_with("service ")) && undone.iter().any(|r| r.starts_with("target_group ")), "{undone:?}");
    assert_eq!(d["left"], json!([]));
}
