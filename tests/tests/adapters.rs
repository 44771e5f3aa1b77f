//! The adapters against the emulator: DynamoDB registry and allocation, ELBv2, ECS, Logs,
//! Route 53, each through its SDK implementation. The tests share the ALB pool, so this
//! suite runs one test at a time (make test passes --test-threads=1).

use std::collections::BTreeSet;

use berth_adapters::aws::{DynamoRegistry, EcsApi, ElbApi, LogsApi, Route53Api};
use berth_adapters::model::{AliasSpec, Failure, Registration, RuleSpec, ServiceSpec, TargetGroupSpec, TaskDefinitionSpec};
use berth_adapters::ports::{
    Customers, Dns, Ledger, ListenerRules, LogGroups, Placements, Pool, Scaling, Services, TargetGroups, TaskDefinitions,
};
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::pool::{Alb, AlbState, Capacity, Need};
use berth_domain::state::CustomerState;
use berth_domain::ErrorKind;
use berth_tests::Harness;

fn registration(customer: &str, execution: &str) -> Registration {
    Registration {
        customer_id: customer.into(),
        execution_id: execution.into(),
        host: format!("{customer}.saas.example.com"),
        product_hosts: Vec::new(),
        display_name: customer.into(),
        products: vec!["webapp".into()],
        plan_json: "{}".into(),
        ledger: Vec::new(),
    }
}

async fn registry(h: &Harness) -> DynamoRegistry {
    DynamoRegistry::new(h.dynamodb.clone(), h.stack.infra.table.clone())
}

#[tokio::test]
async fn registration_is_conditional_on_customer_and_host() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    let mut first = registration("ad-reg", "exec-1");
    first.ledger = vec![LedgerEntry::new(ResourceKind::DnsRecord, "ad-reg.saas.example.com", Some("Z1".into()), "exec-1")];
    r.register(&first).await.unwrap();
    let got = r.get("ad-reg").await.unwrap().unwrap();
    assert_eq!((got.state, got.execution_id.as_str()), (CustomerState::Provisioning, "exec-1"));
    // The registration's ledger entries are written with it.
    assert_eq!(r.entries("ad-reg").await.unwrap(), first.ledger);
    // The same execution again: idempotent.
    r.register(&first).await.unwrap();
    assert_eq!(r.get("ad-reg").await.unwrap().unwrap().execution_id, "exec-1");
    assert_eq!(r.entries("ad-reg").await.unwrap().len(), 1);
    // Another execution while PROVISIONING: conflict.
    let e = r.register(&registration("ad-reg", "exec-2")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.to_string().contains("PROVISIONING"), "{e}");
    // Another customer claiming the same host: conflict, and nothing of it is written.
    let mut other = registration("ad-other", "exec-3");
    other.host = "ad-reg.saas.example.com".into();
    other.ledger = vec![LedgerEntry::new(ResourceKind::DnsRecord, "ad-reg.saas.example.com", Some("Z1".into()), "exec-3")];
    let e = r.register(&other).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("host"), "{e}");
    assert!(r.get("ad-other").await.unwrap().is_none());
    assert!(r.entries("ad-other").await.unwrap().is_empty());
    // Only the owning execution may finish it.
    let failure = |state, leftovers: &[&str]| Failure {
        state,
        error: "Berth.Internal".into(),
        cause: "boom".into(),
        leftovers: leftovers.iter().map(|s| s.to_string()).collect(),
    };
    assert!(r.mark_failed("ad-reg", "exec-2", &failure(CustomerState::Failed, &[])).await.unwrap().is_none());
    assert_eq!(r.get("ad-reg").await.unwrap().unwrap().state, CustomerState::Provisioning);
    let failed = r.mark_failed("ad-reg", "exec-1", &failure(CustomerState::Failed, &[])).await.unwrap().unwrap();
    assert_eq!(failed.state, CustomerState::Failed);
    assert_eq!((failed.error.as_deref(), failed.cause.as_deref()), (Some("Berth.Internal"), Some("boom")));
    // A FAILED customer may be onboarded again by a new execution.
    r.register(&registration("ad-reg", "exec-4")).await.unwrap();
    assert_eq!(r.get("ad-reg").await.unwrap().unwrap().execution_id, "exec-4");
    // ROLLBACK_FAILED keeps the list of what is left; a new execution may take over.
    let left = r
        .mark_failed("ad-reg", "exec-4", &failure(CustomerState::RollbackFailed, &["log_group /berth/ad-reg/api"]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.state, CustomerState::RollbackFailed);
    assert_eq!(left.leftovers, vec!["log_group /berth/ad-reg/api".to_string()]);
    r.register(&registration("ad-reg", "exec-5")).await.unwrap();
    let again = r.get("ad-reg").await.unwrap().unwrap();
    assert_eq!((again.state, again.leftovers.len()), (CustomerState::Provisioning, 0));
    // The host goes back only from its holder.
    assert!(!r.release_host("ad-other", "ad-reg.saas.example.com").await.unwrap());
    assert!(r.release_host("ad-reg", "ad-reg.saas.example.com").await.unwrap());
    assert!(!r.release_host("ad-reg", "ad-reg.saas.example.com").await.unwrap());
    let mut other = registration("ad-other", "exec-6");
    other.host = "ad-reg.saas.example.com".into();
    assert!(r.register(&other).await.is_ok(), "a released host can be claimed");
}

#[tokio::test]
async fn the_ledger_records_lists_and_forgets_entries() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    r.register(&registration("ad-ledger", "exec-1")).await.unwrap();
    // 30 entries: more than one BatchWriteItem.
    let entries: Vec<LedgerEntry> = (0..30)
        .map(|i| LedgerEntry::new(ResourceKind::TaskDefinition, format!("arn:aws:ecs:us-east-1:1:task-definition/x:{i}"), None, "exec-1"))
        .chain([LedgerEntry::new(ResourceKind::ListenerRule, "arn:rule/1", Some("arn:listener/1".into()), "exec-1")])
        .collect();
    r.record("ad-ledger", &entries).await.unwrap();
    r.record("ad-ledger", &entries[..3]).await.unwrap();
    let mut listed = r.entries("ad-ledger").await.unwrap();
    listed.sort();
    let mut want = entries.clone();
    want.sort();
    assert_eq!(listed, want, "recorded twice, listed once; the scope kept");
    // The customer item is not an entry.
    assert!(r.get("ad-ledger").await.unwrap().is_some());
    r.forget("ad-ledger", &entries[..29]).await.unwrap();
    let left = r.entries("ad-ledger").await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(r.entries("ad-nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn two_hundred_concurrent_placements_never_share_a_priority_or_overfill_an_alb() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    // A second, bigger ALB next to the bootstrap's: placements spread over both.
    r.add(&Alb {
        name: "ad-big".into(),
        load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/ad-big/1".into(),
        listener_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/ad-big/1/1".into(),
        dns_name: "ad-big.elb.amazonaws.com".into(),
        canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        state: AlbState::Active,
        rules: Capacity::new(500),
        target_groups: Capacity::new(500),
        certificates: Capacity::new(25),
        customers: 0,
    })
    .await
    .unwrap();
    let n = 200;
    let need = Need { rules: 2, target_groups: 2, certificates: 0 };
    for i in 0..n {
        r.register(&registration(&format!("ad-alloc-{i}"), &format!("x-{i}"))).await.unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..n {
        let r = r.clone();
        tasks.push(tokio::spawn(async move { r.place(&format!("ad-alloc-{i}"), &format!("x-{i}"), &need).await }));
    }
    let mut held: Vec<(String, u32)> = Vec::new();
    for t in tasks {
        let p = t.await.unwrap().expect("placement");
        assert_eq!(p.priorities.len(), 2);
        assert!(p.priorities[0] < p.priorities[1]);
        held.extend(p.priorities.iter().map(|x| (p.alb.listener_arn.clone(), *x)));
    }
    let unique: BTreeSet<(String, u32)> = held.iter().cloned().collect();
    assert_eq!(unique.len(), held.len(), "a (listener, priority) has two owners");
    assert!(held.iter().all(|(_, p)| (1..=50_000).contains(p)));

    // The pool's counters equal what the ledger says is owned, and no ALB is over a quota.
    let albs = r.albs().await.unwrap();
    for a in &albs {
        let claims = r.claims(&a.listener_arn).await.unwrap();
        let owners: BTreeSet<&str> = claims.iter().map(|(_, c, _)| c.as_str()).collect();
        assert_eq!(a.rules.used as usize, claims.len(), "{}", a.name);
        assert_eq!(a.target_groups.used as usize, claims.len(), "{}: every customer here has as many target groups as rules", a.name);
        assert_eq!(a.customers as usize, owners.len(), "{}", a.name);
        assert!(a.rules.used <= a.rules.quota && a.target_groups.used <= a.target_groups.quota, "{a:?}");
        let mine = held.iter().filter(|(l, _)| l == &a.listener_arn).count();
        assert!(mine <= claims.len());
    }
    let placed_here: u32 = albs.iter().map(|a| a.customers).sum();
    assert!(placed_here >= n, "{placed_here} customers in the pool, {n} placed by this test");

    // Placing again returns what the customer holds.
    let again = r.place("ad-alloc-0", "x-0", &need).await.unwrap();
    assert_eq!(again.priorities, r.get("ad-alloc-0").await.unwrap().unwrap().priorities);

    // Released numbers and capacity come back, and are reused first.
    let c3 = r.get("ad-alloc-3").await.unwrap().unwrap();
    let freed = r.release("ad-alloc-3").await.unwrap();
    let alb3 = r.albs().await.unwrap().into_iter().find(|a| Some(&a.name) == c3.alb_name.as_ref()).unwrap();
    r.set_state(if alb3.name == "ad-big" { "berth-shared-1" } else { "ad-big" }, AlbState::Draining).await.unwrap();
    r.register(&registration("ad-alloc-new", "x-new")).await.unwrap();
    let p = r.place("ad-alloc-new", "x-new", &need).await.unwrap();
    assert_eq!(p.alb.name, alb3.name, "the other ALB is draining");
    assert_eq!(p.priorities, freed);
    let claims = h.priority_claims().await;
    let mine: BTreeSet<u32> = claims.iter().filter(|(_, c)| c == "ad-alloc-new").map(|(p, _)| *p).collect();
    assert_eq!(mine, freed.iter().copied().collect());

    // A customer's certificate is reserved on its ALB's listener, held on its record, and
    // given back when it is released.
    let certs_on = |albs: &[Alb], name: &str| albs.iter().find(|a| a.name == name).map(|a| a.certificates.used);
    for name in ["berth-shared-1", "ad-big"] {
        r.set_state(name, AlbState::Active).await.unwrap();
    }
    let before = r.albs().await.unwrap();
    r.register(&registration("ad-cert", "x-cert")).await.unwrap();
    let p = r.place("ad-cert", "x-cert", &Need { rules: 1, target_groups: 1, certificates: 1 }).await.unwrap();
    let during = r.albs().await.unwrap();
    assert_eq!(certs_on(&during, &p.alb.name), certs_on(&before, &p.alb.name).map(|c| c + 1));
    assert_eq!(r.get("ad-cert").await.unwrap().unwrap().certificates_held, 1);
    r.release("ad-cert").await.unwrap();
    assert_eq!(certs_on(&r.albs().await.unwrap(), &p.alb.name), certs_on(&before, &p.alb.name));
    assert_eq!(r.get("ad-cert").await.unwrap().unwrap().certificates_held, 0);
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
        also: Vec::new(),
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

#[tokio::test]
async fn the_operator_adds_drains_and_lists_pool_albs() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    // A new ALB with an HTTPS listener, made the way an operator's stack would.
    let lb = h
        .elb
        .create_load_balancer()
        .name("ad-extra")
        .set_subnets(Some(h.stack.infra.subnets.clone()))
        .security_groups(&h.stack.infra.alb_security_group)
        .send()
        .await
        .unwrap();
    let lb = &lb.load_balancers()[0];
    let listener = h
        .elb
        .create_listener()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
        .port(443)
        .certificates(aws_sdk_elasticloadbalancingv2::types::Certificate::builder().certificate_arn(&h.stack.infra.certificate_arn).build())
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder().status_code("404").build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listener_arn = listener.listeners()[0].listener_arn().unwrap().to_string();
    let quotas = berth_cli::Quotas { rules: 40, ..Default::default() };
    let added = berth_cli::pool_add(&r, &h.elb, &listener_arn, None, quotas).await.unwrap();
    assert_eq!(added.name, "ad-extra");
    assert_eq!(added.dns_name, lb.dns_name().unwrap());
    assert_eq!(added.canonical_hosted_zone_id, lb.canonical_hosted_zone_id().unwrap());
    assert_eq!(added.rules.quota, 40);
    // The same listener twice, or a taken name: conflicts.
    assert_eq!(berth_cli::pool_add(&r, &h.elb, &listener_arn, Some("other"), quotas).await.unwrap_err().kind(), ErrorKind::Conflict);
    let drained = r.set_state("ad-extra", AlbState::Draining).await.unwrap();
    assert_eq!(drained.state, AlbState::Draining);
    let table = berth_cli::pool_table(&r.albs().await.unwrap());
    assert!(table.lines().any(|l| l.starts_with("ad-extra") && l.contains("DRAINING") && l.contains("0/40")), "{table}");
    assert_eq!(r.set_state("nope", AlbState::Active).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn the_audit_finds_a_rule_made_by_hand_and_claims_with_no_rule() {
    let h = Harness::new().await;
    let r = registry(&h).await;
    let elb = ElbApi::new(h.elb.clone());
    let listener = h.stack.infra.listener_arn.clone();
    // A rule made by hand, outside berth.
    let by_hand = h.rule_by_hand("ad-handmade", &listener, 31_000, "legacy.saas.example.com").await;
    // A customer placed but whose rules were never made.
    r.register(&registration("ad-audit", "x-audit")).await.unwrap();
    let placed = r.place("ad-audit", "x-audit", &Need { rules: 2, target_groups: 2, certificates: 0 }).await.unwrap();

    let report = berth_cli::audit(&r, &elb).await.unwrap();
    let alb = report.iter().find(|a| a.listener_arn == listener).expect("the bootstrap ALB");
    let f = alb.foreign_rules.iter().find(|f| f.rule_arn == by_hand).expect("the rule made by hand is reported");
    assert_eq!((f.priority, f.recorded), (31_000, false));
    assert_eq!(f.hosts, vec!["legacy.saas.example.com".to_string()]);
    assert_eq!(alb.rules_free, alb.rules.quota - alb.rules.used);
    let home = report.iter().find(|a| a.listener_arn == placed.alb.listener_arn).expect("the customer's ALB");
    let unbacked: Vec<u32> = home.claims_without_rule.iter().filter(|c| c.customer_id == "ad-audit").map(|c| c.priority).collect();
    assert_eq!(unbacked, placed.priorities);
    let text = berth_cli::audit_text(&report);
    assert!(text.contains("rule not owned by berth: priority 31000"), "{text}");
}

#[tokio::test]
async fn cleanup_operations_remove_and_tolerate_what_is_gone() {
    let h = Harness::new().await;
    let infra = &h.stack.infra;
    let elb = ElbApi::new(h.elb.clone());
    let ecs = EcsApi::new(h.ecs.clone());
    let logs = LogsApi::new(h.logs.clone());
    let dns = Route53Api::new(h.route53.clone());

    logs.create("/berth/ad-clean/api", &Default::default()).await.unwrap();
    assert!(LogGroups::delete(&logs, "/berth/ad-clean/api").await.unwrap());
    assert!(!LogGroups::delete(&logs, "/berth/ad-clean/api").await.unwrap());
    assert!(logs.list("/berth/ad-clean/").await.unwrap().is_empty());

    let tg = TargetGroups::create(
        &elb,
        &TargetGroupSpec {
            name: "ad-clean".into(),
            port: 8080,
            vpc_id: infra.vpc_id.clone(),
            health_check_path: "/hc".into(),
            tags: Default::default(),
        },
    )
    .await
    .unwrap();
    // No target registered: no health to report.
    assert!(TargetGroups::health(&elb, &tg.arn).await.unwrap().is_empty());
    h.elb
        .register_targets()
        .target_group_arn(&tg.arn)
        .targets(aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id("10.0.1.7").port(8080).build())
        .send()
        .await
        .unwrap();
    let health = TargetGroups::health(&elb, &tg.arn).await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!((health[0].id.as_str(), health[0].state.as_str()), ("10.0.1.7", "healthy"));
    let rule = ListenerRules::create(
        &elb,
        &RuleSpec {
            listener_arn: infra.listener_arn.clone(),
            priority: 41_000,
            host: "ad-clean.saas.example.com".into(),
            also: Vec::new(),
            path_patterns: vec![],
            target_group_arn: tg.arn.clone(),
            tags: Default::default(),
        },
    )
    .await
    .unwrap();
    assert!(ListenerRules::delete(&elb, &rule.arn).await.unwrap());
    // Again: AWS answers RuleNotFound (false); moto answers success. Neither is an error.
    ListenerRules::delete(&elb, &rule.arn).await.unwrap();
    assert!(!ListenerRules::list(&elb, &infra.listener_arn).await.unwrap().iter().any(|r| r.arn == rule.arn));
    assert!(TargetGroups::delete(&elb, &tg.arn).await.unwrap());
    assert!(TargetGroups::find(&elb, "ad-clean").await.unwrap().is_none());

    let spec = TaskDefinitionSpec {
        family: "berth-ad-clean-api".into(),
        container_name: "api".into(),
        image: "example/api:1".into(),
        cpu: 256,
        memory: 512,
        port: Some(8080),
        environment: Default::default(),
        secrets: Default::default(),
        log_group: "/berth/ad-clean/api".into(),
        log_region: "us-east-1".into(),
        execution_role_arn: "arn:aws:iam::123456789012:role/berth/berth-ad-clean".into(),
        task_role_arn: "arn:aws:iam::123456789012:role/berth/berth-ad-clean".into(),
        tags: Default::default(),
    };
    let before = ecs.revisions("berth-ad-clean-api").await.unwrap();
    let td1 = ecs.register(&spec).await.unwrap();
    let td2 = ecs.register(&spec).await.unwrap();
    let revs: BTreeSet<String> = ecs.revisions("berth-ad-clean-api").await.unwrap().into_iter().collect();
    let mut want: BTreeSet<String> = before.iter().cloned().collect();
    want.extend([td1.arn.clone(), td2.arn.clone()]);
    assert_eq!(revs, want);
    assert!(ecs.retire(&td1.arn).await.unwrap());
    want.remove(&td1.arn);
    assert_eq!(ecs.revisions("berth-ad-clean-api").await.unwrap().into_iter().collect::<BTreeSet<_>>(), want);

    let svc = Services::create(
        &ecs,
        &ServiceSpec {
            cluster: infra.cluster.clone(),
            name: "ad-clean-api".into(),
            task_definition_arn: td2.arn.clone(),
            desired_count: 1,
            subnets: infra.subnets.clone(),
            security_groups: vec![infra.service_security_group.clone()],
            load_balancer: None,
            client_token: "ad-clean-1".into(),
            tags: Default::default(),
        },
    )
    .await
    .unwrap();
    // Its task count scaled: registered with its bounds, tracking CPU, suspended and back,
    // changed in place, then gone with its policy.
    let sdk = berth_local::observer_config(&h.stack.endpoint).await;
    let scaling = berth_adapters::aws::Aws::new(&sdk, None).scaling;
    let (cluster, name) = (infra.cluster.as_str(), svc.name.as_str());
    assert!(scaling.target(cluster, name).await.unwrap().is_none());
    assert!(!scaling.deregister(cluster, name).await.unwrap(), "nothing to deregister");
    scaling.register(cluster, name, 1, 4, false).await.unwrap();
    scaling.put_cpu_policy(cluster, name, "ad-clean-api-cpu", 70).await.unwrap();
    let t = scaling.target(cluster, name).await.unwrap().expect("registered");
    assert_eq!((t.resource_id.as_str(), t.min, t.max, t.suspended), (format!("service/{cluster}/{name}").as_str(), 1, 4, false));
    let both = scaling.targets(cluster, &[name.to_string(), "ad-clean-none".to_string()]).await.unwrap();
    assert_eq!(both, vec![t.clone()], "one lookup finds those that have one");
    let p = scaling.policies(cluster, name).await.unwrap();
    assert_eq!(p.iter().map(|p| (p.name.as_str(), p.cpu_target)).collect::<Vec<_>>(), [("ad-clean-api-cpu", Some(70.0))]);
    scaling.register(cluster, name, 0, 4, true).await.unwrap();
    let t = scaling.target(cluster, name).await.unwrap().expect("registered");
    assert_eq!((t.min, t.max, t.suspended), (0, 4, true));
    scaling.register(cluster, name, 2, 6, false).await.unwrap();
    scaling.put_cpu_policy(cluster, name, "ad-clean-api-cpu", 60).await.unwrap();
    let t = scaling.target(cluster, name).await.unwrap().expect("registered");
    assert_eq!((t.min, t.max, t.suspended), (2, 6, false));
    let p = scaling.policies(cluster, name).await.unwrap();
    assert_eq!(p.iter().map(|p| (p.name.as_str(), p.cpu_target)).collect::<Vec<_>>(), [("ad-clean-api-cpu", Some(60.0))]);
    assert!(scaling.deregister(cluster, name).await.unwrap());
    assert!(scaling.target(cluster, name).await.unwrap().is_none());
    assert!(scaling.policies(cluster, name).await.unwrap().is_empty(), "its policy went with it");
    assert!(!scaling.deregister(cluster, name).await.unwrap());

    assert!(ecs.remove(&infra.cluster, &svc.name).await.unwrap());
    let after = ecs.describe(&infra.cluster, std::slice::from_ref(&svc.name)).await.unwrap();
    assert!(after.iter().all(|s| s.status != "ACTIVE"), "{after:?}");
    // Again, and a service that never was: not errors (AWS answers ServiceNotActive or
    // ServiceNotFound, read as false; moto accepts the repeat).
    ecs.remove(&infra.cluster, &svc.name).await.unwrap();
    ecs.remove(&infra.cluster, "ad-never-was").await.unwrap();

    let zone = &infra.hosted_zone_id;
    assert!(dns.aliases(zone, "ad-clean.saas.example.com").await.unwrap().is_empty());
    dns.upsert_alias(&AliasSpec {
        hosted_zone_id: zone.clone(),
        name: "ad-clean.saas.example.com".into(),
        target_dns_name: "dualstack.lb.example.com".into(),
        target_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
    })
    .await
    .unwrap();
    // A neighbour whose name starts the same is not ours.
    dns.upsert_alias(&AliasSpec {
        hosted_zone_id: zone.clone(),
        name: "ad-clean2.saas.example.com".into(),
        target_dns_name: "dualstack.lb.example.com".into(),
        target_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
    })
    .await
    .unwrap();
    let found = dns.aliases(zone, "ad-clean.saas.example.com").await.unwrap();
    let mut types: Vec<&str> = found.iter().map(|r| r.record_type.as_str()).collect();
    types.sort();
    assert_eq!(types, ["A", "AAAA"]);
    assert!(dns.delete_aliases(zone, &found).await.unwrap());
    assert!(dns.aliases(zone, "ad-clean.saas.example.com").await.unwrap().is_empty());
    assert_eq!(dns.aliases(zone, "ad-clean2.saas.example.com").await.unwrap().len(), 2);
    assert!(!dns.delete_aliases(zone, &[]).await.unwrap());
}
