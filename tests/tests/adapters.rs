//! The adapters against the emulator: DynamoDB registry and allocation, ELBv2, ECS, Logs,
//! Route 53, each through its SDK implementation.

use std::collections::BTreeSet;

use berth_adapters::aws::{DynamoRegistry, EcsApi, ElbApi, LogsApi};
use berth_adapters::model::{Registration, RuleSpec, TargetGroupSpec};
use berth_adapters::ports::{Customers, ListenerRules, LogGroups, Priorities, TargetGroups, TaskDefinitions};
use berth_domain::state::CustomerState;
use berth_domain::ErrorKind;
use berth_tests::Harness;

fn registration(customer: &str, execution: &str) -> Registration {
    Registration {
        customer_id: customer.into(),
        execution_id: execution.into(),
        host: format!("{customer}.saas.example.com"),
        display_name: customer.into(),
        products: vec!["webapp".into()],
        plan_json: "{}".into(),
    }
}

async fn registry(h: &Harness) -> DynamoRegistry {
    DynamoRegistry::new(h.dynamodb.clone(), h.stack.infra.table.clone())
}

#[tokio::test]
async fn registration_is_conditional_on_customer_and_host() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    let first = r.register(&registration("ad-reg", "exec-1")).await.unwrap();
    assert_eq!(first.state, CustomerState::Provisioning);
    // The same execution again: idempotent.
    assert_eq!(r.register(&registration("ad-reg", "exec-1")).await.unwrap().execution_id, "exec-1");
    // Another execution while PROVISIONING: conflict.
    let e = r.register(&registration("ad-reg", "exec-2")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.to_string().contains("PROVISIONING"), "{e}");
    // Another customer claiming the same host: conflict, and nothing of it is written.
    let mut other = registration("ad-other", "exec-3");
    other.host = "ad-reg.saas.example.com".into();
    let e = r.register(&other).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("host"), "{e}");
    assert!(r.get("ad-other").await.unwrap().is_none());
    // Only the owning execution may finish it.
    assert!(r.mark_failed("ad-reg", "exec-2", "Berth.Internal", "x").await.unwrap().is_none());
    assert_eq!(r.get("ad-reg").await.unwrap().unwrap().state, CustomerState::Provisioning);
    let failed = r.mark_failed("ad-reg", "exec-1", "Berth.Internal", "boom").await.unwrap().unwrap();
    assert_eq!(failed.state, CustomerState::Failed);
    // A FAILED customer may be onboarded again by a new execution.
    assert_eq!(r.register(&registration("ad-reg", "exec-4")).await.unwrap().execution_id, "exec-4");
}

#[tokio::test]
async fn concurrent_allocations_never_share_a_priority() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/ad-alloc/1/1";
    let n = 50;
    for i in 0..n {
        r.register(&registration(&format!("ad-alloc-{i}"), &format!("x-{i}"))).await.unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..n {
        let r = r.clone();
        tasks.push(tokio::spawn(async move { r.allocate(listener, &format!("ad-alloc-{i}"), &format!("x-{i}"), 2).await }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let ps = t.await.unwrap().expect("allocation");
        assert_eq!(ps.len(), 2);
        assert!(ps[0] < ps[1]);
        all.extend(ps);
    }
    let unique: BTreeSet<u32> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "duplicates among {all:?}");
    assert_eq!(unique, (1..=2 * n as u32).collect::<BTreeSet<u32>>(), "numbers are dense from 1");
    // Allocating again returns what the customer holds.
    assert_eq!(r.allocate(listener, "ad-alloc-0", "x-0", 2).await.unwrap(), r.get("ad-alloc-0").await.unwrap().unwrap().priorities);
    // Released numbers are reused first, lowest first.
    let freed = r.release("ad-alloc-3").await.unwrap();
    r.register(&registration("ad-alloc-new", "x-new")).await.unwrap();
    let again = r.allocate(listener, "ad-alloc-new", "x-new", 3).await.unwrap();
    assert_eq!(&again[..2], &freed[..]);
    assert_eq!(again[2], 2 * n as u32 + 1);
    // The live claims agree with the customers.
    let claims = h.priority_claims().await;
    let mine: BTreeSet<u32> = claims.iter().filter(|(_, c)| c == "ad-alloc-new").map(|(p, _)| *p).collect();
    assert_eq!(mine, again.iter().copied().collect());
}

#[tokio::test]
async fn target_groups_and_rules_round_trip() {
    let h = Harness::new().await;
    let elb = ElbApi::new(h.elb.clone());
    assert!(TargetGroups::find(&elb, "ad-missing-tg").await.unwrap().is_none());
    let tags = [("managed-by".to_string(), "berth".to_string())].into();
    let tg = TargetGroups::create(
        &elb,
        &TargetGroupSpec { name: "ad-tg".into(), port: 8080, vpc_id: h.stack.infra.vpc_id.clone(), health_check_path: "/hc".into(), tags },
    )
    .await
    .unwrap();
    let found = TargetGroups::find(&elb, "ad-tg").await.unwrap().unwrap();
    assert_eq!(found.arn, tg.arn);
    assert_eq!(found.port, Some(8080));
    assert_eq!(found.health_check_path.as_deref(), Some("/hc"));
    assert_eq!(found.tags.get("managed-by").map(String::as_str), Some("berth"));

    let spec = RuleSpec {
        listener_arn: h.stack.infra.listener_arn.clone(),
        priority: 40_000,
        host: "ad.saas.example.com".into(),
        path_patterns: vec!["/x/*".into()],
        target_group_arn: tg.arn.clone(),
        tags: Default::default(),
    };
    let rule = ListenerRules::create(&elb, &spec).await.unwrap();
    assert_eq!(rule.priority, Some(40_000));
    assert!(rule.matches("ad.saas.example.com", &["/x/*".to_string()]));
    let listed = ListenerRules::list(&elb, &h.stack.infra.listener_arn).await.unwrap();
    assert!(listed.iter().any(|r| r.arn == rule.arn && r.target_group_arns == vec![tg.arn.clone()]));
    let e = ListenerRules::create(&elb, &spec).await.unwrap_err();
    assert_eq!(e.aws_code(), Some("PriorityInUse"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn missing_things_are_none_not_errors() {
    let h = Harness::new().await;
    let ecs = EcsApi::new(h.ecs.clone());
    assert!(ecs.latest("berth-nobody-api").await.unwrap().is_none());
    let logs = LogsApi::new(h.logs.clone());
    assert!(logs.list("/berth/nobody/").await.unwrap().is_empty());
    logs.create("/berth/ad-logs/api", &Default::default()).await.unwrap();
    // Creating it again is not an error: it is what we wanted.
    logs.create("/berth/ad-logs/api", &Default::default()).await.unwrap();
    logs.set_retention("/berth/ad-logs/api", 14).await.unwrap();
    let listed = logs.list("/berth/ad-logs/").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].retention_days, Some(14));
}
