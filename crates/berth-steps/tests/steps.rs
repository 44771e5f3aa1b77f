//! The steps over in-memory fakes: the reconcilers' decisions, re-runs, drift and conflicts.

use berth_adapters::config::{DnsConfig, InfraConfig};
use berth_adapters::memory::Memory;
use berth_adapters::model::{RuleObserved, TargetGroupObserved};
use berth_adapters::ports::Customers;
use berth_domain::catalog::Catalog;
use berth_domain::plan::HealthPolicy;
use berth_domain::pool::{Alb, AlbState, Capacity};
use berth_domain::state::CustomerState;
use berth_domain::validate::Settings;
use berth_domain::{BerthError, ErrorKind};
use berth_steps::resources::Ports;
use berth_steps::{activate, allocate, check, dns, fail, register, resources, validate, CaughtError, State, ValidateInput};
use lambda_runtime::Diagnostic;
use serde_json::{json, Value};

const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/1";

fn settings() -> Settings {
    Settings {
        domain: "saas.example.com".into(),
        image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        log_retention_days: 30,
        health: HealthPolicy { interval_seconds: 0, max_attempts: 3 },
    }
}

fn infra() -> InfraConfig {
    InfraConfig {
        cluster: "shared".into(),
        vpc_id: "vpc-1".into(),
        subnets: vec!["subnet-a".into()],
        security_groups: vec!["sg-1".into()],
        execution_role_arn: "arn:aws:iam::123456789012:role/exec".into(),
        task_role_arn: "arn:aws:iam::123456789012:role/task".into(),
        region: "us-east-1".into(),
    }
}

fn request(customer: &str) -> Value {
    let mut v: Value = serde_json::from_str(include_str!("../../../events/onboard.json")).unwrap();
    v["customer_id"] = json!(customer);
    v
}

fn planned(customer: &str, execution: &str) -> State {
    let plan =
        validate::run(ValidateInput { request: request(customer), execution_id: execution.into() }, &Catalog::builtin(), &settings())
            .unwrap();
    State { plan: Some(plan), ..Default::default() }
}

/// The fakes, with a pool of one ALB whose listener is LISTENER.
fn memory() -> Memory {
    let m = Memory::new();
    m.with(|w| {
        w.pool.push(Alb {
            name: "shared-1".into(),
            load_balancer_arn: "arn:lb/shared-1".into(),
            listener_arn: LISTENER.into(),
            dns_name: "alb-1.elb.amazonaws.com".into(),
            canonical_hosted_zone_id: "ZALB".into(),
            state: AlbState::Active,
            rules: Capacity::new(100),
            target_groups: Capacity::new(100),
            certificates: Capacity::new(25),
            customers: 0,
        })
    });
    m
}

fn ports(m: &Memory) -> Ports<'_, Memory, Memory, Memory, Memory, Memory, Memory> {
    Ports { logs: m, target_groups: m, rules: m, task_definitions: m, services: m, customers: m }
}

/// Runs register and allocate; returns the state after them.
async fn placed(m: &Memory, customer: &str, execution: &str) -> State {
    let mut state = planned(customer, execution);
    state.register = Some(register::run(m, &state).await.unwrap());
    state.allocation = Some(allocate::run(m, m, &state).await.unwrap());
    state
}

/// Runs register, allocate and resources; returns the state after them.
async fn provision(m: &Memory, customer: &str, execution: &str) -> State {
    let mut state = placed(m, customer, execution).await;
    state.resources = Some(resources::run(&ports(m), &infra(), &state).await.unwrap());
    state
}

#[tokio::test]
async fn the_whole_pipeline_over_fakes() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    state.health = Some(check::run(&m, "shared", &state).await.unwrap());
    assert!(state.health.as_ref().unwrap().stable);
    let cfg = DnsConfig { hosted_zone_id: "Z1".into() };
    state.dns = Some(dns::run(&m, &cfg, &state).await.unwrap());
    let out = activate::run(&m, &state).await.unwrap();
    assert_eq!(out.url, "https://acme.saas.example.com");
    assert_eq!(out.priorities["api"], 1);
    assert_eq!(out.priorities["frontend"], 2);
    m.with(|w| {
        assert_eq!(w.target_groups.len(), 2);
        assert_eq!(w.services.len(), 3);
        assert_eq!(w.log_groups.len(), 3);
        assert!(w.log_groups.values().all(|(r, _)| *r == Some(30)));
        assert_eq!(w.rules[LISTENER].len(), 2);
        assert_eq!(w.records["acme.saas.example.com"].target_dns_name, "dualstack.alb-1.elb.amazonaws.com");
        assert_eq!(w.customers["acme"].state, CustomerState::Active);
        assert_eq!((w.pool[0].rules.used, w.pool[0].target_groups.used, w.pool[0].customers), (2, 2, 1));
    });
}

#[tokio::test]
async fn a_full_pool_is_quota_exceeded_and_creates_nothing() {
    let m = memory();
    m.with(|w| w.pool[0].rules = Capacity { quota: 3, used: 2 });
    let mut state = planned("acme", "exec-1");
    state.register = Some(register::run(&m, &state).await.unwrap());
    let e = allocate::run(&m, &m, &state).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    assert!(e.to_string().contains("shared-1: listener rules 2/3 used, 2 needed"), "{e}");
    m.with(|w| {
        assert!(w.customers["acme"].priorities.is_empty());
        assert_eq!(w.pool[0].rules.used, 2);
    });
}

#[tokio::test]
async fn every_step_run_twice_changes_nothing() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    let first = state.resources.clone().unwrap();
    assert_eq!(first.created.len(), 3 + 2 + 2 + 3 + 3, "{:?}", first.created);
    let writes = m.with(|w| w.total_writes());

    assert_eq!(register::run(&m, &state).await.unwrap().state, CustomerState::Provisioning);
    let again = allocate::run(&m, &m, &state).await.unwrap();
    assert_eq!(Some(&again), state.allocation.as_ref());
    state.resources = Some(resources::run(&ports(&m), &infra(), &state).await.unwrap());
    let second = state.resources.clone().unwrap();
    assert!(second.created.is_empty() && second.fixed.is_empty(), "{second:?}");
    assert_eq!(second.services, first.services, "a re-run observes the same resources");
    // The re-run register wrote its (same) record again; nothing else was written.
    assert_eq!(m.with(|w| w.total_writes()), writes + 1);
}

#[tokio::test]
async fn drift_is_fixed_and_reported() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    m.with(|w| {
        w.log_groups.get_mut("/berth/acme/api").unwrap().0 = Some(7);
        w.target_groups.get_mut("acme-api").unwrap().health_check_path = Some("/old".into());
        w.services.get_mut("acme-worker").unwrap().desired_count = 5;
    });
    let out = resources::run(&ports(&m), &infra(), &state).await.unwrap();
    assert!(out.created.is_empty());
    assert_eq!(out.fixed.len(), 3, "{:?}", out.fixed);
    m.with(|w| {
        assert_eq!(w.log_groups["/berth/acme/api"].0, Some(30));
        assert_eq!(w.target_groups["acme-api"].health_check_path.as_deref(), Some("/health"));
        assert_eq!(w.services["acme-worker"].desired_count, 1);
    });
}

#[tokio::test]
async fn a_rule_berth_does_not_own_at_our_priority_is_a_conflict() {
    let m = memory();
    let state = placed(&m, "acme", "exec-1").await;
    m.with(|w| {
        w.rules.entry(LISTENER.into()).or_default().push(RuleObserved {
            arn: "arn:rule/by-hand".into(),
            priority: Some(1),
            hosts: vec!["legacy.saas.example.com".into()],
            path_patterns: vec![],
            target_group_arns: vec!["arn:tg/legacy".into()],
        })
    });
    let e = resources::run(&ports(&m), &infra(), &state).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("arn:rule/by-hand"), "{e}");
    m.with(|w| assert_eq!(w.rules[LISTENER].len(), 1, "nothing was put on the listener"));
}

#[tokio::test]
async fn priorities_held_by_rules_berth_does_not_own_are_skipped_and_recorded() {
    let m = memory();
    m.with(|w| {
        w.rules.entry(LISTENER.into()).or_default().push(RuleObserved {
            arn: "arn:rule/by-hand".into(),
            priority: Some(1),
            hosts: vec!["legacy.saas.example.com".into()],
            path_patterns: vec![],
            target_group_arns: vec!["arn:tg/legacy".into()],
        })
    });
    let mut state = planned("acme", "exec-1");
    state.register = Some(register::run(&m, &state).await.unwrap());
    let a = allocate::run(&m, &m, &state).await.unwrap();
    let ps: Vec<u32> = a.priorities.iter().map(|p| p.priority).collect();
    assert!(!ps.contains(&1), "{ps:?}");
    assert!(ps[0] < ps[1], "the more specific rule still gets the lower number: {ps:?}");
    assert_eq!(m.foreign(LISTENER), vec![1]);
    state.allocation = Some(a);
    // And the resources step then builds next to the rule made by hand.
    resources::run(&ports(&m), &infra(), &state).await.unwrap();
    m.with(|w| assert_eq!(w.rules[LISTENER].len(), 3));
}

#[tokio::test]
async fn a_target_group_of_the_same_name_that_is_not_ours_is_a_conflict() {
    let m = memory();
    let state = placed(&m, "acme", "exec-1").await;
    m.with(|w| {
        w.target_groups.insert(
            "acme-api".into(),
            TargetGroupObserved {
                name: "acme-api".into(),
                arn: "arn:tg/someone-elses".into(),
                port: Some(3001),
                vpc_id: Some("vpc-1".into()),
                health_check_path: Some("/health".into()),
                target_type: Some("ip".into()),
                tags: Default::default(),
            },
        )
    });
    let e = resources::run(&ports(&m), &infra(), &state).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("not berth's"), "{e}");
}

#[tokio::test]
async fn unstable_services_time_out_after_the_planned_attempts() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    m.with(|w| w.services.get_mut("acme-api").unwrap().running_count = 0);
    for attempt in 1..3 {
        let h = check::run(&m, "shared", &state).await.unwrap();
        assert_eq!((h.attempts, h.stable), (attempt, false));
        state.health = Some(h);
    }
    let e = check::run(&m, "shared", &state).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.to_string().contains("acme-api (running 0/1"), "{e}");
    // And DNS is not written for services that are not stable.
    let cfg = DnsConfig { hosted_zone_id: "Z1".into() };
    assert_eq!(dns::run(&m, &cfg, &state).await.unwrap_err().kind(), ErrorKind::Conflict);
    m.with(|w| assert!(w.records.is_empty()));
}

#[tokio::test]
async fn the_more_specific_rule_gets_the_lower_priority() {
    let m = memory();
    let mut req = request("acme");
    req["products"] = json!(["webapp", "reports"]);
    req["services"]["reports"] = json!({"image_tag": "2.0.0"});
    let plan = validate::run(ValidateInput { request: req, execution_id: "e".into() }, &Catalog::builtin(), &settings()).unwrap();
    let mut state = State { plan: Some(plan), ..Default::default() };
    state.register = Some(register::run(&m, &state).await.unwrap());
    let a = allocate::run(&m, &m, &state).await.unwrap();
    let by: std::collections::BTreeMap<_, _> = a.priorities.iter().map(|p| (p.service.as_str(), p.priority)).collect();
    assert!(by["frontend"] > by["api"] && by["frontend"] > by["reports"], "{by:?}");
}

#[tokio::test]
async fn only_the_owning_execution_marks_a_customer_failed() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    let mut other = planned("acme", "exec-2");
    other.error = Some(CaughtError {
        error: "Berth.Conflict".into(),
        cause: json!({"errorType": "Berth.Conflict", "errorMessage": "taken"}).to_string(),
    });
    let out = fail::run(&m, &other).await.unwrap();
    assert!(!out.marked);
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Provisioning);

    let mut mine = state.clone();
    mine.error = Some(CaughtError {
        error: "Berth.Internal".into(),
        cause: json!({"errorType": "Berth.Internal", "errorMessage": "boom"}).to_string(),
    });
    let out = fail::run(&m, &mine).await.unwrap();
    assert!(out.marked);
    assert_eq!(out.cause, "boom", "the Lambda error's message, not its JSON");
    let rec = m.get("acme").await.unwrap().unwrap();
    assert_eq!((rec.state, rec.error.as_deref()), (CustomerState::Failed, Some("Berth.Internal")));
}

#[test]
fn long_causes_are_cut() {
    let cause = "x".repeat(5000);
    assert!(fail::readable_cause(&cause).chars().count() <= fail::CAUSE_MAX + 1);
}

#[test]
fn errors_become_diagnostics_with_vocabulary_names() {
    for (e, name) in [
        (BerthError::invalid("customer_id", "bad"), "Berth.InvalidRequest"),
        (BerthError::Conflict("c".into()), "Berth.Conflict"),
        (BerthError::Transient("t".into()), "Berth.Transient"),
        (BerthError::Timeout("t".into()), "Berth.Timeout"),
        (BerthError::QuotaExceeded("q".into()), "Berth.QuotaExceeded"),
    ] {
        let d: Diagnostic = berth_steps::lambda::StepError(e).into();
        assert_eq!(d.error_type, name);
        assert!(!d.error_message.is_empty());
    }
}

#[tokio::test]
async fn a_malformed_step_input_is_an_invalid_request() {
    let e = berth_steps::lambda::parse::<State>(json!({"plan": 7})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let empty: State = berth_steps::lambda::parse(json!({})).unwrap();
    assert_eq!(empty.plan().unwrap_err().kind(), ErrorKind::InvalidRequest);
}
