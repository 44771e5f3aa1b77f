//! The steps over in-memory fakes: the reconcilers' decisions, re-runs, drift and conflicts.

use berth_adapters::config::DnsConfig;
use berth_adapters::memory::Memory;
use berth_adapters::model::{RuleObserved, TargetGroupObserved};
use berth_adapters::ports::{Customers, Ledger};
use berth_domain::catalog::Catalog;
use berth_domain::ledger::ResourceKind;
use berth_domain::naming::HostForm;
use berth_domain::pool::Capacity;
use berth_domain::state::CustomerState;
use berth_domain::{BerthError, ErrorKind};
use berth_steps::{
    activate, allocate, check, dns, fail, intake, register, resources, rollback, sbt, validate, CaughtError, IntakeInput, PlanInput,
    SbtInput, ValidateInput,
};
use lambda_runtime::Diagnostic;
use serde_json::json;

mod common;
use common::*;

/// Runs register and allocate; returns the state after them.
async fn placed(m: &Memory, customer: &str, execution: &str) -> State {
    place(m, planned(customer, execution)).await
}

/// Runs register and allocate on a planned state.
async fn place(m: &Memory, mut state: State) -> State {
    state.register = Some(register::run(&cx(m, register_config()), state.plan_input()).await.unwrap());
    state.allocation = Some(allocate::run(&cx(m, table()), state.plan_input()).await.unwrap());
    state
}

/// Runs register, allocate and resources; returns the state after them.
async fn provision(m: &Memory, customer: &str, execution: &str) -> State {
    let mut state = placed(m, customer, execution).await;
    state.resources = Some(resources::run(&cx(m, infra()), state.resources_input()).await.unwrap());
    state
}

#[tokio::test]
async fn the_whole_pipeline_over_fakes() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    state.health = Some(check::run(&cx(&m, cluster()), state.check_input()).await.unwrap());
    assert!(state.health.as_ref().unwrap().stable);
    let cfg = DnsConfig { hosted_zone_id: "Z1".into() };
    state.dns = Some(dns::run(&cx(&m, cfg.clone()), state.dns_input()).await.unwrap());
    let out = activate::run(&cx(&m, table()), state.activate_input()).await.unwrap();
    assert_eq!(out.url, "https://acme.saas.example.com");
    assert_eq!(out.priorities["api"], 1);
    assert_eq!(out.priorities["frontend"], 2);
    m.with(|w| {
        assert_eq!(w.target_groups.len(), 2);
        assert_eq!(w.services.len(), 3);
        assert_eq!(w.log_groups.len(), 1, "one log group per customer");
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
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let e = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap_err();
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
    // The log group, the customer's role and security group, 2 target groups, 2 rules, 3 task
    // definitions, 3 services.
    assert_eq!(first.created.len(), 1 + 1 + 1 + 2 + 2 + 3 + 3, "{:?}", first.created);
    let writes = m.with(|w| w.total_writes());

    assert_eq!(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap().state, CustomerState::Provisioning);
    let again = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap();
    assert_eq!(Some(&again), state.allocation.as_ref());
    state.resources = Some(resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap());
    let second = state.resources.clone().unwrap();
    assert!(second.created.is_empty() && second.fixed.is_empty(), "{second:?}");
    assert_eq!(second.services, first.services, "a re-run observes the same resources");
    // The re-run register wrote its (same) record again, and resources told the ledger
    // again what it already held; nothing else was written.
    let ledger = m.with(|w| w.resources["acme"].clone());
    assert_eq!(m.with(|w| w.total_writes()), writes + 2);
    assert_eq!(m.with(|w| w.resources["acme"].clone()), ledger);
}

#[tokio::test]
async fn drift_is_fixed_and_reported() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    m.with(|w| {
        w.log_groups.get_mut("/berth/acme").unwrap().0 = Some(7);
        w.target_groups.get_mut("berth-acme-api").unwrap().health_check_path = Some("/old".into());
        w.services.get_mut("berth-acme-worker").unwrap().desired_count = 5;
        // A rule of ours whose forward target was changed by hand: found through the
        // PriorityInUse its create meets.
        w.rules.get_mut(LISTENER).unwrap().iter_mut().find(|r| r.priority == Some(1)).unwrap().target_group_arns =
            vec!["arn:tg/by-hand".into()];
        // And one whose host and paths were changed by hand.
        let frontend = w.rules.get_mut(LISTENER).unwrap().iter_mut().find(|r| r.priority == Some(2)).unwrap();
        frontend.hosts = vec!["elsewhere.example.org".into()];
        frontend.path_patterns = vec!["/x/*".into()];
    });
    let out = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert!(out.created.is_empty());
    assert_eq!(out.fixed.len(), 5, "{:?}", out.fixed);
    m.with(|w| {
        let frontend = w.rules[LISTENER].iter().find(|r| r.priority == Some(2)).unwrap();
        assert_eq!((frontend.hosts.clone(), frontend.path_patterns.clone()), (vec!["acme.saas.example.com".to_string()], vec![]));
    });
    m.with(|w| {
        let api_tg = w.target_groups["berth-acme-api"].arn.clone();
        assert_eq!(w.rules[LISTENER].iter().find(|r| r.priority == Some(1)).unwrap().target_group_arns, vec![api_tg]);
        assert_eq!(w.log_groups["/berth/acme"].0, Some(30));
        assert_eq!(w.target_groups["berth-acme-api"].health_check_path.as_deref(), Some("/health"));
        assert_eq!(w.services["berth-acme-worker"].desired_count, 1);
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
    let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
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
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let a = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap();
    let ps: Vec<u32> = a.priorities.iter().map(|p| p.priority).collect();
    assert!(!ps.contains(&1), "{ps:?}");
    assert!(ps[0] < ps[1], "the more specific rule still gets the lower number: {ps:?}");
    assert_eq!(m.foreign(LISTENER), vec![1]);
    state.allocation = Some(a);
    // And the resources step then builds next to the rule made by hand.
    resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    m.with(|w| assert_eq!(w.rules[LISTENER].len(), 3));
}

#[tokio::test]
async fn a_target_group_of_the_same_name_that_is_not_ours_is_a_conflict() {
    let m = memory();
    let state = placed(&m, "acme", "exec-1").await;
    m.with(|w| {
        w.target_groups.insert(
            "berth-acme-api".into(),
            TargetGroupObserved {
                name: "berth-acme-api".into(),
                arn: "arn:tg/someone-elses".into(),
                port: Some(3001),
                vpc_id: Some("vpc-1".into()),
                health_check_path: Some("/health".into()),
                target_type: Some("ip".into()),
                tags: Default::default(),
            },
        )
    });
    let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("not berth's"), "{e}");
}

#[tokio::test]
async fn unstable_services_time_out_after_the_planned_attempts() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    m.with(|w| w.services.get_mut("berth-acme-api").unwrap().running_count = 0);
    for attempt in 1..3 {
        let h = check::run(&cx(&m, cluster()), state.check_input()).await.unwrap();
        assert_eq!((h.attempts, h.stable), (attempt, false));
        state.health = Some(h);
    }
    let e = check::run(&cx(&m, cluster()), state.check_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.to_string().contains("acme-api (running 0/1"), "{e}");
    // And DNS is not written for services that are not stable.
    let cfg = DnsConfig { hosted_zone_id: "Z1".into() };
    assert_eq!(dns::run(&cx(&m, cfg.clone()), state.dns_input()).await.unwrap_err().kind(), ErrorKind::Conflict);
    m.with(|w| assert!(w.records.is_empty()));
}

#[tokio::test]
async fn the_more_specific_rule_gets_the_lower_priority() {
    let m = memory();
    let mut req = request("acme");
    req["products"] = json!(["webapp", "reports"]);
    req["services"]["reports"] = json!({"image_tag": "2.0.0"});
    let plan = validate::plan(ValidateInput { request: req, execution_id: "e".into() }, &Catalog::builtin(), &settings()).unwrap();
    let mut state = State { plan: Some(plan), ..Default::default() };
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let a = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap();
    let by: std::collections::BTreeMap<_, _> = a.priorities.iter().map(|p| (p.service.as_str(), p.priority)).collect();
    assert!(by["frontend"] > by["api"] && by["frontend"] > by["reports"], "{by:?}");
}

#[tokio::test]
async fn only_the_owning_execution_marks_a_customer_failed() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    let mut other = planned("acme", "exec-2");
    other.rollback = Some(rollback::run(&cx(&m, teardown()), other.teardown_input()).await.unwrap());
    assert!(!other.rollback.as_ref().unwrap().owned);
    other.error = Some(CaughtError {
        error: "Berth.Conflict".into(),
        cause: json!({"errorType": "Berth.Conflict", "errorMessage": "taken"}).to_string(),
    });
    let out = fail::run(&cx(&m, table()), other.fail_input()).await.unwrap();
    assert!(!out.marked);
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Provisioning);

    let mut mine = state.clone();
    mine.rollback = Some(berth_steps::RollbackOutput { customer_id: "acme".into(), owned: true, ..Default::default() });
    mine.error = Some(CaughtError {
        error: "Berth.Internal".into(),
        cause: json!({"errorType": "Berth.Internal", "errorMessage": "boom"}).to_string(),
    });
    let out = fail::run(&cx(&m, table()), mine.fail_input()).await.unwrap();
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
    let e = berth_steps::lambda::parse::<PlanInput>(&json!({"plan": 7})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.to_string().contains("plan"), "{e}");
    let e = berth_steps::lambda::parse::<PlanInput>(&json!({})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.to_string().contains("plan"), "{e}");
}

/// The whole pipeline up to DNS, as a failing activate step would leave it.
async fn up_to_dns(m: &Memory, customer: &str, execution: &str) -> State {
    let mut state = provision(m, customer, execution).await;
    state.health = Some(check::run(&cx(m, cluster()), state.check_input()).await.unwrap());
    state.dns = Some(dns::run(&cx(m, zone()), state.dns_input()).await.unwrap());
    state.error = Some(CaughtError { error: "Berth.Internal".into(), cause: "boom".into() });
    state
}

#[tokio::test]
async fn every_resource_is_in_the_ledger_before_its_step_returns() {
    let m = memory();
    let state = up_to_dns(&m, "acme", "exec-1").await;
    let entries = m.entries("acme").await.unwrap();
    let count = |k: ResourceKind| entries.iter().filter(|e| e.kind == k).count();
    assert_eq!(
        [
            ResourceKind::LogGroup,
            ResourceKind::TargetGroup,
            ResourceKind::ListenerRule,
            ResourceKind::TaskDefinition,
            ResourceKind::Service,
            ResourceKind::DnsRecord
        ]
        .map(count),
        [1, 2, 2, 3, 3, 1]
    );
    assert!(entries.iter().all(|e| e.execution_id == "exec-1"));
    let rules: Vec<&str> = state.resources.as_ref().unwrap().services.iter().filter_map(|s| s.rule_arn.as_deref()).collect();
    assert!(entries
        .iter()
        .filter(|e| e.kind == ResourceKind::ListenerRule)
        .all(|e| rules.contains(&e.id.as_str()) && e.scope.as_deref() == Some(LISTENER)));
}

#[tokio::test]
async fn a_step_that_fails_half_way_records_what_it_made() {
    let m = memory();
    let state = placed(&m, "acme", "exec-1").await;
    m.with(|w| w.failing.insert("CreateService", ErrorKind::InvalidRequest));
    let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let entries = m.entries("acme").await.unwrap();
    let kinds: std::collections::BTreeSet<ResourceKind> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        entries.len(),
        1 + 1 + 1 + 1 + 2 + 2 + 3,
        "the DNS record (from registration), the log group, the role, the security group, target groups, rules, task definitions: {entries:?}"
    );
    assert!(!kinds.contains(&ResourceKind::Service));
}

#[tokio::test]
async fn the_rollback_undoes_everything_in_reverse_order_and_frees_priorities_and_host() {
    let m = memory();
    let state = up_to_dns(&m, "acme", "exec-1").await;
    let priorities = m.get("acme").await.unwrap().unwrap().priorities;
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert!(out.owned && out.leftovers.is_empty() && out.host_released, "{out:?}");
    assert_eq!(out.released_priorities, priorities);
    let kinds: Vec<&str> = out.removed.iter().map(|r| r.split(' ').next().unwrap()).collect();
    let mut sorted = kinds.clone();
    sorted.sort_by_key(|k| ResourceKind::parse(k).unwrap());
    assert_eq!(kinds, sorted, "DNS, services, task definitions, rules, target groups, log groups");
    assert_eq!(kinds.first(), Some(&"dns_record"));
    assert_eq!(kinds.last(), Some(&"log_group"));
    assert_eq!(out.removed.len(), 1 + 3 + 3 + 2 + 2 + 1 + 1 + 1);
    assert!(out.removed.iter().any(|r| r == "role berth-acme") && out.removed.iter().any(|r| r.starts_with("security_group sg-")));
    m.with(|w| {
        assert!(w.remains("acme").is_empty(), "{:?}", w.remains("acme"));
        assert!(w.hosts.is_empty());
        assert_eq!((w.pool[0].rules.used, w.pool[0].target_groups.used, w.pool[0].customers), (0, 0, 0));
        assert!(w.resources["acme"].is_empty(), "the ledger forgot what is gone");
    });
    // Run again (a retried rollback): nothing left to do, nothing breaks.
    let writes = m.with(|w| w.total_writes());
    let again = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert!(again.removed.is_empty() && again.leftovers.is_empty(), "{again:?}");
    assert_eq!(m.with(|w| w.total_writes()), writes);
    // And the customer ends FAILED with the error.
    let mut ended = state.clone();
    ended.rollback = Some(out);
    let f = fail::run(&cx(&m, table()), ended.fail_input()).await.unwrap();
    assert_eq!((f.marked, f.state), (true, CustomerState::Failed));
    // What its outcome event lists as undone is what the rollback removed.
    assert_eq!(Some(&f.rolled_back), ended.rollback.as_ref().map(|r| &r.removed));
    assert!(!f.rolled_back.is_empty());
    // Its priorities are handed out again.
    let next = placed(&m, "globex", "exec-2").await;
    let reused: Vec<u32> = next.allocation.unwrap().priorities.iter().map(|p| p.priority).collect();
    assert_eq!(reused, priorities);
}

#[tokio::test]
async fn the_rollback_finds_what_a_crash_kept_out_of_the_ledger() {
    let m = memory();
    let state = up_to_dns(&m, "acme", "exec-1").await;
    // A Lambda that died between its creates and its ledger write.
    m.with(|w| w.resources.clear());
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert_eq!(out.removed.len(), 1 + 3 + 3 + 2 + 2 + 1 + 1 + 1, "{out:?}");
    m.with(|w| assert!(w.remains("acme").is_empty(), "{:?}", w.remains("acme")));
}

#[tokio::test]
async fn the_rollback_touches_nothing_of_a_customer_another_execution_owns() {
    let m = memory();
    up_to_dns(&m, "acme", "exec-1").await;
    let mut other = planned("acme", "exec-2");
    other.rollback = Some(rollback::run(&cx(&m, teardown()), other.teardown_input()).await.unwrap());
    assert!(!other.rollback.as_ref().unwrap().owned);
    other.error = Some(CaughtError { error: "Berth.Conflict".into(), cause: "taken".into() });
    let writes = m.with(|w| w.total_writes());
    let out = rollback::run(&cx(&m, teardown()), other.teardown_input()).await.unwrap();
    assert!(!out.owned && out.removed.is_empty());
    assert_eq!(m.with(|w| w.total_writes()), writes);
    m.with(|w| assert_eq!(w.remains("acme").len(), 14));
}

#[tokio::test]
async fn a_transient_failure_makes_the_rollback_retry_and_converge() {
    let m = memory();
    let state = up_to_dns(&m, "acme", "exec-1").await;
    m.with(|w| w.failing.insert("DeleteTargetGroup", ErrorKind::Transient));
    let e = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    // Nothing was given back while something is still to undo.
    m.with(|w| {
        assert_eq!(w.hosts.len(), 1);
        assert_eq!(w.target_groups.len(), 2);
        w.failing.clear();
    });
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert_eq!(out.removed.len(), 2, "only the target groups were left: {out:?}");
    m.with(|w| assert!(w.remains("acme").is_empty() && w.hosts.is_empty()));
}

#[tokio::test]
async fn a_cleanup_that_cannot_finish_is_rollback_failed_with_what_is_left() {
    let m = memory();
    let state = up_to_dns(&m, "acme", "exec-1").await;
    m.with(|w| w.failing.insert("DeleteRule", ErrorKind::Internal));
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    let left: Vec<&str> = out.leftovers.iter().map(|l| l.resource.as_str()).collect();
    assert_eq!(left.iter().filter(|l| l.starts_with("listener_rule ")).count(), 2, "{left:?}");
    // The target groups are still in use by those rules.
    assert_eq!(left.iter().filter(|l| l.starts_with("target_group ")).count(), 2, "{left:?}");
    assert!(left.iter().any(|l| l.starts_with("priorities")), "priorities stay held by the rules left: {left:?}");
    assert!(out.released_priorities.is_empty() && out.host_released);
    let mut ended = state.clone();
    ended.rollback = Some(out);
    let f = fail::run(&cx(&m, table()), ended.fail_input()).await.unwrap();
    assert_eq!(f.state, CustomerState::RollbackFailed);
    let rec = m.get("acme").await.unwrap().unwrap();
    assert_eq!(rec.state, CustomerState::RollbackFailed);
    assert_eq!(rec.leftovers.len(), 5, "{:?}", rec.leftovers);
    assert!(rec.leftovers.iter().all(|l| l.contains(':')), "each with its reason: {:?}", rec.leftovers);
}

#[tokio::test]
async fn a_rollback_that_fails_for_good_leaves_the_ledger_as_the_list() {
    let m = memory();
    let mut state = up_to_dns(&m, "acme", "exec-1").await;
    state.rollback_error = Some(CaughtError { error: "Berth.Transient".into(), cause: "still throttled".into() });
    let f = fail::run(&cx(&m, table()), state.fail_input()).await.unwrap();
    assert_eq!(f.state, CustomerState::RollbackFailed);
    assert_eq!(f.leftovers.len(), 14 + 2, "{:?}", f.leftovers);
    assert!(f.leftovers.iter().any(|l| l.contains("still throttled")));
}

#[tokio::test]
async fn targets_that_never_get_healthy_time_out_and_dns_is_never_written() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    let tg = state.resources.as_ref().unwrap().services.iter().find(|s| s.service == "api").unwrap().target_group_arn.clone().unwrap();
    m.with(|w| w.unhealthy.insert(tg));
    for attempt in 1..3 {
        let h = check::run(&cx(&m, cluster()), state.check_input()).await.unwrap();
        assert_eq!((h.attempts, h.stable), (attempt, false), "stable services, unhealthy targets: not ready");
        state.health = Some(h);
    }
    let e = check::run(&cx(&m, cluster()), state.check_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.to_string().contains("berth-acme-api") || e.to_string().contains("api (0/1 targets healthy"), "{e}");
    assert_eq!(dns::run(&cx(&m, zone()), state.dns_input()).await.unwrap_err().kind(), ErrorKind::Conflict);
    m.with(|w| assert!(w.records.is_empty()));
}

#[tokio::test]
async fn intake_starts_one_execution_per_idempotency_key() {
    let m = memory();
    let req = request("acme");
    let first = intake::run(&cx(&m, intake_config()), IntakeInput(req.clone())).await.unwrap();
    assert!(first.started);
    assert_eq!(first.execution_name, "acme_signup-7f3c2a91");
    assert_eq!(first.execution_arn, "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_signup-7f3c2a91");
    for _ in 0..9 {
        let again = intake::run(&cx(&m, intake_config()), IntakeInput(req.clone())).await.unwrap();
        assert!(!again.started);
        assert_eq!(again.execution_arn, first.execution_arn);
    }
    m.with(|w| assert_eq!(w.executions.len(), 1));
    // The same key for another request: refused.
    let mut changed = req.clone();
    changed["display_name"] = json!("Acme Two");
    let e = intake::run(&cx(&m, intake_config()), IntakeInput(changed)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("idempotency_key"), "{e}");
    // A bad request: refused, naming the field, nothing started.
    let mut bad = request("acme");
    bad["idempotency_key"] = json!("no spaces please");
    let e = intake::run(&cx(&m, intake_config()), IntakeInput(bad)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.to_string().contains("idempotency_key"), "{e}");
    m.with(|w| assert_eq!(w.executions.len(), 1));
}

#[tokio::test]
async fn intake_refuses_a_new_onboarding_of_an_active_or_provisioning_customer() {
    let m = memory();
    // acme is being provisioned by some execution.
    provision(&m, "acme", "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_other").await;
    let e = intake::run(&cx(&m, intake_config()), IntakeInput(request("acme"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("PROVISIONING"), "{e}");
    m.with(|w| {
        w.customers.get_mut("acme").unwrap().state = CustomerState::Active;
        assert!(w.executions.is_empty());
    });
    let e = intake::run(&cx(&m, intake_config()), IntakeInput(request("acme"))).await.unwrap_err();
    assert!(e.to_string().contains("ACTIVE") && e.to_string().contains("DELETED"), "{e}");
    // A FAILED customer may be onboarded again.
    m.with(|w| w.customers.get_mut("acme").unwrap().state = CustomerState::Failed);
    assert!(intake::run(&cx(&m, intake_config()), IntakeInput(request("acme"))).await.unwrap().started);
}

/// The repository's example of a file under events/.
fn event_file(path: &str) -> serde_json::Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("the repository").join("events").join(path);
    serde_json::from_str(&std::fs::read_to_string(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()))).expect("JSON")
}

#[tokio::test]
async fn intake_takes_each_request_event_as_eventbridge_delivers_it_and_starts_its_machine() {
    let m = memory();
    let cases = [
        ("onboarding-requested", "onboard", "berth-onboard"),
        ("update-requested", "update", "berth-update"),
        ("suspend-requested", "suspend", "berth-suspend"),
        ("resume-requested", "resume", "berth-resume"),
        ("offboarding-requested", "offboard", "berth-offboard"),
    ];
    for (file, direct, machine) in cases {
        let event = event_file(&format!("bus/{file}.json"));
        // The envelope carries the same request as the direct example.
        assert_eq!(event["detail"], event_file(&format!("{direct}.json")), "{file}");
        let out = intake::run(&cx(&m, intake_config()), IntakeInput(event.clone())).await.unwrap();
        assert!(out.started, "{file}: {out:?}");
        let key = event["detail"]["idempotency_key"].as_str().unwrap();
        assert_eq!(out.execution_arn, format!("arn:aws:states:us-east-1:123456789012:execution:{machine}:acme_{key}"));
        let input = m.with(|w| w.executions[&out.execution_arn].input.clone()).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&input).unwrap(),
            event["detail"],
            "{file}: the execution's input is the request"
        );
        // Delivered again (EventBridge delivers at least once): nothing new.
        let again = intake::run(&cx(&m, intake_config()), IntakeInput(event)).await.unwrap();
        assert!(!again.started && again.execution_arn == out.execution_arn, "{file}: {again:?}");
    }
    m.with(|w| assert_eq!(w.executions.len(), 5));

    // Rejected, nothing started, not retried: an unknown detail-type, a request its machine
    // does not take, a detail that is not a request, a request with two broken rules, a key
    // reused for another request. Each is answered with one rejection event on the bus
    // naming every field.
    let mut unknown = event_file("bus/suspend-requested.json");
    unknown["detail-type"] = json!("Customer Deleted");
    let mut wrong = event_file("bus/resume-requested.json");
    wrong["detail"]["reason"] = json!("unpaid");
    let mut empty = event_file("bus/offboarding-requested.json");
    empty["detail"] = json!("acme");
    let mut two = event_file("bus/onboarding-requested.json");
    two["detail"]["customer_id"] = json!("www");
    two["detail"]["products"] = json!(["payroll"]);
    let mut reused = event_file("bus/suspend-requested.json");
    reused["detail"]["note"] = json!("another request under the same key");
    let cases = [
        (unknown, "Berth.InvalidRequest", vec!["detail-type"]),
        (wrong, "Berth.InvalidRequest", vec!["reason"]),
        (empty, "Berth.InvalidRequest", vec!["detail"]),
        (two, "Berth.InvalidRequest", vec!["customer_id", "products[0]", "services.api", "services.frontend", "services.worker"]),
        (reused, "Berth.Conflict", vec!["idempotency_key"]),
    ];
    for (bad, error, fields) in cases {
        let before = m.with(|w| w.events.len());
        let out = intake::run(&cx(&m, intake_config()), IntakeInput(bad.clone())).await.unwrap();
        assert_eq!((out.started, out.status.as_str(), out.execution_arn.as_str()), (false, "REJECTED", ""), "{fields:?}: {out:?}");
        let put: Vec<_> = m.with(|w| w.events[before..].to_vec());
        assert_eq!(put.len(), 1, "{fields:?}: {put:?}");
        let (bus, source, detail_type, detail) = &put[0];
        assert_eq!((bus.as_str(), source.as_str(), detail_type.as_str()), ("berth-bus", "berth", "Customer Request Rejected"));
        assert_eq!(detail["error"], error);
        assert_eq!(detail["request_id"], bad["id"]);
        assert_eq!(detail["request_detail_type"], bad["detail-type"]);
        let named: Vec<&str> = detail["reasons"].as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
        assert_eq!(named, fields, "{detail}");
        // Called directly, the same request is the caller's error.
        if bad["detail"].is_object() && bad["detail-type"] == "Customer Onboarding Requested" {
            let e = intake::run(&cx(&m, intake_config()), IntakeInput(bad["detail"].clone())).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
        }
    }
    m.with(|w| assert_eq!(w.executions.len(), 5));

    // A bus that cannot take the rejection: an error, so that EventBridge delivers the
    // request event again (and dead-letters it in the end); nothing started either.
    m.with(|w| w.failing.insert("PutEvents", ErrorKind::Transient));
    let mut bad = event_file("bus/suspend-requested.json");
    bad["detail-type"] = json!("Customer Deleted");
    let e = intake::run(&cx(&m, intake_config()), IntakeInput(bad)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    m.with(|w| assert_eq!(w.executions.len(), 5));
}

/// A failed step's state as its Catch leaves it, rolled back: what is left of the customer
/// afterwards, and the rollback's own report.
async fn rolled_back(m: &Memory, mut state: State, error: &BerthError) -> (Vec<String>, berth_steps::RollbackOutput) {
    state.error = Some(CaughtError { error: error.kind().name().into(), cause: error.to_string() });
    let out = rollback::run(&cx(m, teardown()), state.teardown_input()).await.unwrap();
    (m.with(|w| w.remains("acme")), out)
}

fn untagged() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([("owner".to_string(), "docs-team".to_string())])
}

#[tokio::test]
async fn a_dns_record_berth_does_not_own_at_the_host_refuses_registration_and_changes_nothing() {
    for (record_type, alias) in [("CNAME", None), ("A", Some("docs-site.example.net")), ("TXT", None)] {
        let m = memory();
        let theirs = berth_adapters::model::RecordObserved {
            name: "acme.saas.example.com.".into(),
            record_type: record_type.into(),
            alias_target: alias.map(str::to_string),
        };
        m.with(|w| w.other_records.insert("acme.saas.example.com".into(), vec![theirs.clone()]));
        let state = planned("acme", "exec-1");
        let e = register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{record_type}");
        assert!(e.to_string().contains(&format!("acme.saas.example.com {record_type}")), "{e}");
        m.with(|w| {
            assert!(w.customers.is_empty() && w.hosts.is_empty() && w.resources.is_empty(), "nothing was written");
            assert_eq!(w.other_records["acme.saas.example.com"], vec![theirs.clone()], "their record is as it was");
            assert_eq!(w.total_writes(), 0);
        });
        // The rollback of the refused execution touches nothing either.
        let (left, out) = rolled_back(&m, state, &e).await;
        assert!(!out.owned && left.is_empty() && out.removed.is_empty(), "{out:?}");
        m.with(|w| assert_eq!(w.other_records["acme.saas.example.com"], vec![theirs]));
    }
}

#[tokio::test]
async fn records_an_earlier_execution_of_the_customer_left_are_adopted_not_refused() {
    let m = memory();
    // An earlier execution's rollback could not finish: its record and ledger entry remain.
    let earlier = up_to_dns(&m, "acme", "exec-1").await;
    m.with(|w| {
        let customer = w.customers.get_mut("acme").unwrap();
        customer.state = CustomerState::RollbackFailed;
        w.pool[0].load_balancer_arn = "arn:lb/shared-1".into();
    });
    drop(earlier);
    m.with(|w| w.customers.get_mut("acme").unwrap().execution_id = "exec-0".into());
    let state = planned("acme", "exec-2");
    let out = register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap();
    assert_eq!(out.records.len(), 2, "{:?}", out.records);
}

#[tokio::test]
async fn a_record_made_by_hand_after_registration_is_refused_at_dns_and_survives_the_rollback() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    state.health = Some(check::run(&cx(&m, cluster()), state.check_input()).await.unwrap());
    let theirs = berth_adapters::model::RecordObserved {
        name: "acme.saas.example.com.".into(),
        record_type: "A".into(),
        alias_target: Some("somewhere-else.example.net.".into()),
    };
    m.with(|w| w.other_records.insert("acme.saas.example.com".into(), vec![theirs.clone()]));
    let e = dns::run(&cx(&m, zone()), state.dns_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("somewhere-else.example.net"), "{e}");
    let (left, out) = rolled_back(&m, state, &e).await;
    assert!(out.owned && out.leftovers.is_empty() && left.is_empty(), "{out:?} {left:?}");
    m.with(|w| assert_eq!(w.other_records["acme.saas.example.com"], vec![theirs], "their record is as it was"));
}

#[tokio::test]
async fn a_dns_step_run_again_writes_nothing() {
    let m = memory();
    let mut state = provision(&m, "acme", "exec-1").await;
    state.health = Some(check::run(&cx(&m, cluster()), state.check_input()).await.unwrap());
    dns::run(&cx(&m, zone()), state.dns_input()).await.unwrap();
    let writes = m.with(|w| w.total_writes());
    let again = dns::run(&cx(&m, zone()), state.dns_input()).await.unwrap();
    assert_eq!(again.alias_target, "dualstack.alb-1.elb.amazonaws.com");
    assert_eq!(m.with(|w| w.total_writes()), writes);
}

#[tokio::test]
async fn resources_named_like_berths_but_not_berths_are_refused_and_survive_the_rollback() {
    // Each kind made by hand first under the name berth wants: the resources step stops
    // with Berth.Conflict naming it, and the rollback removes what berth made and leaves it.
    for kind in ["log group", "task definition family", "ECS service"] {
        let m = memory();
        let state = placed(&m, "acme", "exec-1").await;
        let plan = state.plan.clone().unwrap();
        let api = plan.service("api").unwrap().clone();
        m.with(|w| match kind {
            "log group" => {
                w.log_groups.insert(api.log_group.clone(), (Some(7), untagged()));
            }
            "task definition family" => {
                w.task_definitions.insert(
                    api.task_family.clone(),
                    vec![berth_adapters::model::TaskDefinitionObserved {
                        arn: format!("arn:aws:ecs:::task-definition/{}:1", api.task_family),
                        revision: 1,
                        active: true,
                        tags: untagged(),
                    }],
                );
            }
            _ => {
                w.services.insert(
                    api.ecs_service.clone(),
                    berth_adapters::model::ServiceObserved {
                        name: api.ecs_service.clone(),
                        arn: format!("arn:aws:ecs:::service/shared/{}", api.ecs_service),
                        status: "ACTIVE".into(),
                        task_definition: "arn:td/docs:3".into(),
                        desired_count: 2,
                        running_count: 2,
                        deployments: 1,
                        rollout_state: Some("COMPLETED".into()),
                        security_groups: Vec::new(),
                        tags: untagged(),
                    },
                );
            }
        });
        let before = m.with(|w| format!("{:?} {:?} {:?}", w.log_groups, w.task_definitions, w.services));
        let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{kind}: {e}");
        assert!(e.to_string().contains(&format!("{kind} ")) && e.to_string().contains("not berth's"), "{kind}: {e}");
        let (left, out) = rolled_back(&m, state, &e).await;
        assert!(out.owned && out.leftovers.is_empty() && left.is_empty(), "{kind}: {out:?} {left:?}");
        let after = m.with(|w| format!("{:?} {:?} {:?}", w.log_groups, w.task_definitions, w.services));
        assert_eq!(after, before, "{kind}: what was made by hand is exactly as it was, and nothing of berth's is left");
    }
}

#[tokio::test]
async fn a_rule_berth_does_not_own_for_the_host_is_refused_at_allocation_and_survives_the_rollback() {
    let m = memory();
    let hand_made = RuleObserved {
        arn: "arn:rule/by-hand".into(),
        priority: Some(40),
        hosts: vec!["ACME.saas.example.com".into()],
        path_patterns: vec![],
        target_group_arns: vec!["arn:tg/legacy".into()],
    };
    m.with(|w| w.rules.entry(LISTENER.into()).or_default().push(hand_made.clone()));
    let mut state = planned("acme", "exec-1");
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let e = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("arn:rule/by-hand (priority 40)"), "{e}");
    let (left, out) = rolled_back(&m, state, &e).await;
    assert!(out.owned && left.is_empty(), "{out:?} {left:?}");
    m.with(|w| {
        assert_eq!(w.rules[LISTENER], vec![hand_made], "the rule is as it was");
        assert!(w.customers["acme"].priorities.is_empty(), "the priorities were given back");
        assert_eq!(w.pool[0].rules.used, 0);
    });
}

#[tokio::test]
async fn a_rule_for_our_host_at_our_priority_that_berth_did_not_tag_is_not_adopted() {
    let m = memory();
    let state = placed(&m, "acme", "exec-1").await;
    let priority = state.allocation.as_ref().unwrap().priorities[1].priority;
    let hand_made = RuleObserved {
        arn: "arn:rule/by-hand".into(),
        priority: Some(priority),
        hosts: vec!["acme.saas.example.com".into()],
        path_patterns: vec![],
        target_group_arns: vec!["arn:tg/legacy".into()],
    };
    m.with(|w| w.rules.entry(LISTENER.into()).or_default().push(hand_made.clone()));
    let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("arn:rule/by-hand"), "{e}");
    let (left, out) = rolled_back(&m, state, &e).await;
    assert!(left.iter().all(|l| l.contains("by-hand")), "{out:?} {left:?}");
    m.with(|w| assert!(w.rules[LISTENER].contains(&hand_made), "its target was not changed"));
}

/// Each run of a step puts one progress event on the bus: the step, how it ended, the time
/// since its execution started; a report the bus does not take does not fail the step.
#[tokio::test]
async fn each_step_reports_its_progress_and_a_lost_report_does_not_fail_it() {
    let m = memory();
    let target = berth_adapters::config::EventTarget { bus: "berth-bus".into(), source: "berth".into() };
    let reporting = cx(&m, register_config()).with_progress(Some(target));
    let payload = |customer: &str, execution: &str| {
        let mut v = serde_json::to_value(planned(customer, execution).plan_input()).unwrap();
        v["started_at"] = json!((chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339());
        berth_steps::lambda::event(&v.to_string()).unwrap()
    };
    let out = berth_steps::lambda::handle_reporting("register", &reporting, payload("acme", "exec-1"), register::run).await;
    assert!(out.is_ok());
    // The same host for another customer: refused, and reported as failed, not retried.
    let refused = berth_steps::lambda::handle_reporting("register", &reporting, payload("acme", "exec-2"), register::run).await;
    assert!(refused.is_err());
    let put = m.with(|w| w.events.clone());
    assert_eq!(put.len(), 2, "{put:?}");
    for ((bus, source, detail_type, d), (status, error)) in put.iter().zip([("succeeded", None), ("failed", Some("Berth.Conflict"))]) {
        assert_eq!((bus.as_str(), source.as_str(), detail_type.as_str()), ("berth-bus", "berth", "Customer Progress"));
        assert_eq!((d["step"].as_str(), d["status"].as_str(), d["error"].as_str()), (Some("register"), Some(status), error), "{d}");
        assert_eq!((d["customer_id"].as_str(), d["retryable"].as_bool()), (Some("acme"), Some(false)));
        assert!(d["elapsed_ms"].as_i64().is_some_and(|ms| ms >= 5_000), "{d}");
    }
    // The bus refuses: the step's answer is the same.
    m.with(|w| w.failing.insert("PutEvents", ErrorKind::Transient));
    let again = berth_steps::lambda::handle_reporting("register", &reporting, payload("acme", "exec-1"), register::run).await;
    assert!(again.is_ok());
    // Without a bus, no progress.
    let quiet = cx(&m, register_config());
    m.with(|w| w.failing.clear());
    berth_steps::lambda::handle_reporting("register", &quiet, payload("acme", "exec-1"), register::run).await.map_err(|e| e.0).unwrap();
    assert_eq!(m.with(|w| w.events.len()), 2);
}

#[tokio::test]
async fn sbt_requests_start_the_machine_each_asks_for_once_under_the_tenants_customer() {
    let m = memory();
    let customer = berth_domain::sbt::customer_id("3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b");
    for (file, machine, key) in [
        ("onboarding-request", "berth-onboard", "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"),
        ("deactivate-request", "berth-suspend", "0c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e53"),
        ("activate-request", "berth-resume", "0c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e54"),
        ("offboarding-request", "berth-offboard", "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"),
    ] {
        let event = event_file(&format!("sbt/{file}.json"));
        let out = intake::run(&cx(&m, intake_config()), IntakeInput(event.clone())).await.unwrap();
        assert!(out.started, "{file}: {out:?}");
        assert_eq!(out.customer_id, customer);
        assert_eq!(out.execution_arn, format!("arn:aws:states:us-east-1:123456789012:execution:{machine}:{customer}_{key}"));
        let again = intake::run(&cx(&m, intake_config()), IntakeInput(event)).await.unwrap();
        assert!(!again.started && again.execution_arn == out.execution_arn, "{file}: {again:?}");
    }
    let onboarding = m.with(|w| w.executions.values().find(|e| e.arn.contains(":berth-onboard:")).and_then(|e| e.input.clone())).unwrap();
    let onboarding: serde_json::Value = serde_json::from_str(&onboarding).unwrap();
    assert_eq!(onboarding["display_name"], "Acme Corporation");
    assert_eq!(onboarding["services"], request(&customer)["services"], "the sample's services, with the tenant's own secret references");
    m.with(|w| assert_eq!(w.executions.len(), 4));

    // From another source, or with berth's rules broken: rejected naming SBT's fields,
    // nothing started.
    let mut foreign = event_file("sbt/deactivate-request.json");
    foreign["source"] = json!("someone.else");
    let mut broken = event_file("sbt/onboarding-request.json");
    broken["id"] = json!("another-delivery");
    broken["detail"]["tenantId"] = json!("not a uuid");
    broken["detail"]["tenantRegistrationId"] = json!("has spaces too");
    broken["detail"]["products"] = json!([]);
    let mut unnamed = event_file("sbt/activate-request.json");
    unnamed["detail"] = json!({"tenantName": "Acme"});
    for (bad, fields) in [
        (foreign, vec!["source"]),
        (broken, vec!["tenantId", "tenantRegistrationId", "products", "services.api", "services.frontend", "services.worker"]),
        (unnamed, vec!["tenantId"]),
    ] {
        let before = m.with(|w| w.events.len());
        let out = intake::run(&cx(&m, intake_config()), IntakeInput(bad.clone())).await.unwrap();
        assert_eq!((out.started, out.status.as_str()), (false, "REJECTED"), "{fields:?}");
        let put: Vec<_> = m.with(|w| w.events[before..].to_vec());
        assert_eq!(put.len(), 1);
        let detail = &put[0].3;
        let named: Vec<&str> = detail["reasons"].as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
        let mut sorted = named.clone();
        sorted.dedup();
        assert_eq!(sorted, fields, "{detail}");
        assert_eq!(detail["request_detail_type"], bad["detail-type"]);
    }
    m.with(|w| assert_eq!(w.executions.len(), 4));
}

#[tokio::test]
async fn sbt_answers_put_sbts_event_on_sbts_bus_and_let_other_events_go() {
    let m = memory();
    let config = || berth_adapters::config::SbtConfig { bus: "sbt-bus".into(), source: "applicationPlaneEventSource".into() };
    let event = event_file("sbt.json");
    let out = sbt::run(&cx(&m, config()), SbtInput(event)).await.unwrap();
    assert_eq!(out.answered.as_deref(), Some("provisionSuccess"));
    let put = m.with(|w| w.events.clone());
    assert_eq!(put.len(), 1);
    let (bus, source, detail_type, detail) = &put[0];
    assert_eq!((bus.as_str(), source.as_str(), detail_type.as_str()), ("sbt-bus", "applicationPlaneEventSource", "provisionSuccess"));
    assert_eq!(detail, &event_file("sbt/answers/provisionSuccess.json")["detail"]);

    // berth's own customers, progress and updates: nothing put.
    for file in ["outcomes/onboarding-succeeded.json", "outcomes/progress.json", "outcomes/update-succeeded.json"] {
        let out = sbt::run(&cx(&m, config()), SbtInput(event_file(file))).await.unwrap();
        assert_eq!(out.answered, None, "{file}");
    }
    assert_eq!(m.with(|w| w.events.len()), 1);
    // Not an event: the caller's error. A bus that refuses: an error EventBridge retries.
    let e = sbt::run(&cx(&m, config()), SbtInput(json!({}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    m.with(|w| w.failing.insert("PutEvents", ErrorKind::Transient));
    let e = sbt::run(&cx(&m, config()), SbtInput(event_file("sbt.json"))).await.unwrap_err();
    assert!(e.kind().is_transient(), "{e}");
}

/// The enterprise tier scales the API: its plan, placed.
async fn scaled(m: &Memory, customer: &str, execution: &str) -> State {
    let mut r = request(customer);
    r["tier"] = json!("enterprise");
    r["services"]["api"] = json!({"image_tag": "1.4.2"});
    let plan = validate::plan(ValidateInput { request: r, execution_id: execution.into() }, &Catalog::builtin(), &settings()).unwrap();
    place(m, State { plan: Some(plan), ..Default::default() }).await
}

#[tokio::test]
async fn a_scaler_is_made_once_fixed_when_it_drifted_and_removed_before_its_service() {
    let m = memory();
    let mut state = scaled(&m, "acme", "exec-1").await;
    let first = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert!(first.created.contains(&"service/shared/berth-acme-api".to_string()), "{:?}", first.created);
    let target = |m: &Memory| m.with(|w| w.scaling.get("service/shared/berth-acme-api").cloned());
    let (t, policies) = target(&m).expect("registered");
    assert_eq!((t.min, t.max, t.suspended), (2, 10, false));
    assert_eq!(policies.into_iter().collect::<Vec<_>>(), [("berth-acme-api-cpu".to_string(), 70)]);
    assert_eq!(m.with(|w| w.scaling.len()), 1, "the tier scales the API alone");
    assert!(m.with(|w| w.resources["acme"].iter().any(|e| e.kind == ResourceKind::ScalableTarget)));

    // Run again: nothing written. The scaler moved the count within its bounds: kept.
    m.with(|w| w.services.get_mut("berth-acme-api").unwrap().desired_count = 7);
    let writes = m.with(|w| w.total_writes());
    let again = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert!(again.created.is_empty() && again.fixed.is_empty(), "{again:?}");
    assert_eq!(m.with(|w| w.total_writes()), writes + 1, "only the ledger heard again what it holds");
    assert_eq!(m.with(|w| w.services["berth-acme-api"].desired_count), 7);

    // Changed by hand: put back.
    m.with(|w| {
        let (t, p) = w.scaling.get_mut("service/shared/berth-acme-api").unwrap();
        t.max = 50;
        p.insert("berth-acme-api-cpu".into(), 20);
    });
    let fixed = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert_eq!(fixed.fixed.len(), 1, "{:?}", fixed.fixed);
    let (t, p) = target(&m).expect("registered");
    assert_eq!((t.max, p["berth-acme-api-cpu"]), (10, 70));

    // The rollback removes it, before the service.
    state.resources = Some(fixed);
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    let kinds: Vec<&str> = out.removed.iter().map(|r| r.split(' ').next().unwrap()).collect();
    let scaler = kinds.iter().position(|k| *k == "scalable_target").expect("removed");
    assert!(kinds.iter().position(|k| *k == "service").is_some_and(|s| s > scaler), "{kinds:?}");
    assert!(target(&m).is_none());
}

/// A state planned with the dotted host form for `products`.
fn planned_dotted(customer: &str, execution: &str, products: &[&str], domain: Option<serde_json::Value>) -> State {
    State { plan: Some(product_plan(customer, execution, products, HostForm::Dotted, domain)), ..Default::default() }
}

#[tokio::test]
async fn dotted_product_hosts_get_a_certificate_validated_issued_and_on_the_listener_before_their_records() {
    let m = memory();
    let mut state = place(&m, planned_dotted("acme", "exec-1", &["webapp", "shop"], None)).await;
    assert_eq!(state.plan().customer_certificate.as_deref(), Some("*.acme.saas.example.com"));
    m.with(|w| assert_eq!(w.pool[0].certificates.used, 1, "placement counted the certificate"));
    state.resources = Some(resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap());
    // Requested, its validation record written, and (the fakes issue it once the record is
    // there) on the listener; all in the ledger.
    let (arn, validation) = m.with(|w| {
        let (c, tags) = w.acm.values().next().cloned().expect("requested");
        assert_eq!(tags.get("berth:customer").map(String::as_str), Some("acme"));
        (c.arn, c.validation.expect("validation").name)
    });
    m.with(|w| assert!(w.cnames.keys().any(|(z, n)| z == "Z1" && *n == validation.trim_end_matches('.'))));
    let ledger = m.entries("acme").await.unwrap();
    assert!(ledger.iter().any(|e| e.kind == ResourceKind::Certificate && e.id == arn && e.scope.as_deref() == Some(LISTENER)));
    assert!(ledger.iter().any(|e| e.kind == ResourceKind::ValidationRecord));
    // Again: the same certificate, nothing requested.
    resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    m.with(|w| assert_eq!(w.acm.len(), 1));
    state.health = Some(check::run(&cx(&m, cluster()), state.check_input()).await.unwrap());
    assert!(state.health.as_ref().unwrap().stable);
    state.dns = Some(dns::run(&cx(&m, DnsConfig { hosted_zone_id: "Z1".into() }), state.dns_input()).await.unwrap());
    m.with(|w| {
        assert_eq!(w.listener_certificates[LISTENER], std::slice::from_ref(&arn));
        assert!(w.records.contains_key("shop.acme.saas.example.com"), "{:?}", w.records.keys());
    });
    // Rolled back: off the listener, deleted, its record gone, the ALB's count given back.
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert!(out.leftovers.is_empty(), "{:?}", out.leftovers);
    m.with(|w| {
        assert!(w.acm.is_empty() && w.cnames.is_empty());
        assert!(w.listener_certificates.get(LISTENER).is_none_or(|c| c.is_empty()));
        assert_eq!(w.pool[0].certificates.used, 0);
    });
}

#[tokio::test]
async fn a_pending_certificate_holds_the_gate_and_the_dns_step_writes_nothing_without_it() {
    let m = memory();
    let mut state = place(&m, planned_dotted("acme", "exec-1", &["shop"], None)).await;
    state.resources = Some(resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap());
    // The validation record taken away by hand: ACM (the fakes) no longer issues it.
    m.with(|w| w.cnames.clear());
    let health = check::run(&cx(&m, cluster()), state.check_input()).await.unwrap();
    assert!(!health.stable, "waiting for the certificate");
    state.health = Some(health);
    let err = dns::run(&cx(&m, DnsConfig { hosted_zone_id: "Z1".into() }), state.dns_input()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    m.with(|w| assert!(w.records.is_empty()));
}

#[tokio::test]
async fn an_own_domain_certificate_counts_in_placement_and_a_full_alb_refuses_it() {
    let m = memory();
    m.with(|w| w.pool[0].certificates = Capacity { quota: 1, used: 0 });
    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/own-1";
    let beta = "arn:aws:acm:us-east-1:123456789012:certificate/own-2";
    m.with(|w| {
        w.import_certificate(arn, &["shop.acme-corp.example"]);
        w.import_certificate(beta, &["www.beta.example"]);
    });
    let domain = Some(json!({"hostname": "shop.acme-corp.example", "certificate_arn": arn}));
    let state = place(&m, planned_dotted("acme", "exec-1", &["webapp"], domain.clone())).await;
    let mut state = state;
    state.resources = Some(resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap());
    m.with(|w| {
        assert_eq!(w.listener_certificates[LISTENER], [arn.to_string()]);
        assert!(w.rules[LISTENER].iter().all(|r| r.hosts.contains(&"shop.acme-corp.example".to_string())));
        assert_eq!(w.pool[0].certificates.used, 1);
    });
    // The next customer with a domain finds no ALB with a certificate to spare.
    let next = planned_dotted("beta", "exec-2", &["webapp"], Some(json!({"hostname": "www.beta.example", "certificate_arn": beta})));
    register::run(&cx(&m, register_config()), next.plan_input()).await.unwrap();
    let err = allocate::run(&cx(&m, table()), next.plan_input()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");
}

#[tokio::test]
async fn an_own_domain_whose_certificate_is_missing_unissued_or_for_other_names_is_refused_naming_it_and_nothing_is_written() {
    let m = memory();
    let cert = |name: &str| format!("arn:aws:acm:us-east-1:123456789012:certificate/{name}");
    m.with(|w| {
        w.import_certificate(&cert("other-names"), &["shop.acme-corp.example", "*.shop.acme-corp.example"]);
        w.import_certificate(&cert("expired"), &["www.acme-corp.example"]);
        w.acm.get_mut(&cert("expired")).expect("imported").0.status = "EXPIRED".into();
        w.import_certificate(&cert("wildcard"), &["*.acme-corp.example"]);
    });
    let pending = berth_adapters::ports::Certificates::request(&m, "www.acme-corp.example", "pending", &Default::default()).await.unwrap();
    let with = |arn: &str| {
        planned_dotted("acme", "exec-1", &["webapp"], Some(json!({"hostname": "www.acme-corp.example", "certificate_arn": arn})))
    };
    for (arn, kind, says) in [
        (cert("nowhere"), ErrorKind::InvalidRequest, "no certificate"),
        (
            cert("other-names"),
            ErrorKind::InvalidRequest,
            "serves shop.acme-corp.example, *.shop.acme-corp.example, not www.acme-corp.example",
        ),
        (cert("expired"), ErrorKind::InvalidRequest, "is EXPIRED, not ISSUED"),
        (pending.clone(), ErrorKind::Transient, "pending validation"),
    ] {
        let err = register::run(&cx(&m, register_config()), with(&arn).plan_input()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{arn}: {err}");
        assert!(err.to_string().contains(says), "{err}");
        if kind == ErrorKind::InvalidRequest {
            assert!(err.to_string().contains("domain.certificate_arn"), "{err}");
        }
        m.with(|w| assert!(w.customers.is_empty() && w.hosts.is_empty() && w.resources.is_empty(), "nothing written for {arn}"));
    }
    // A wildcard one label above the hostname serves it.
    register::run(&cx(&m, register_config()), with(&cert("wildcard")).plan_input()).await.unwrap();
    m.with(|w| assert_eq!(w.hosts.get("www.acme-corp.example").map(String::as_str), Some("acme")));
}
