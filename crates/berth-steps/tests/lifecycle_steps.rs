//! Suspend, resume and offboarding over in-memory fakes: each machine's steps in order, as
//! its state machine chains them (claim, then its work, then settle), and what the world
//! holds afterwards.

use berth_adapters::config::DnsConfig;
use berth_adapters::memory::Memory;
use berth_adapters::model::TargetGroupSpec;
use berth_adapters::ports::{Customers, Ledger, TargetGroups};
use berth_domain::ledger::ResourceKind;
use berth_domain::lifecycle::Operation;
use berth_domain::pool::Capacity;
use berth_domain::state::CustomerState;
use berth_domain::BerthError;
use berth_steps::{
    activate, allocate, check, claim, dns, register, resources, rollback, scale, settle, CaughtError, CheckInput, ClaimInput, Claimed,
    ScaleInput, ScaleTo, SettleInput, TeardownInput,
};
use serde_json::{json, Value};

use berth_domain::access;

mod common;
use common::*;

/// A customer onboarded to ACTIVE by `execution`.
async fn active(m: &Memory, customer: &str, execution: &str) -> State {
    onboarded(m, planned(customer, execution).plan().clone()).await
}

/// The plan onboarded through the fakes: ACTIVE.
async fn onboarded(m: &Memory, plan: berth_domain::plan::Plan) -> State {
    let mut state = State { plan: Some(plan), ..Default::default() };
    state.register = Some(register::run(&cx(m, register_config()), state.plan_input()).await.unwrap());
    state.allocation = Some(allocate::run(&cx(m, table()), state.plan_input()).await.unwrap());
    state.resources = Some(resources::run(&cx(m, infra()), state.resources_input()).await.unwrap());
    state.health = Some(check::run(&cx(m, cluster()), state.check_input()).await.unwrap());
    state.dns = Some(dns::run(&cx(m, DnsConfig { hosted_zone_id: "Z1".into() }), state.dns_input()).await.unwrap());
    activate::run(&cx(m, table()), state.activate_input()).await.unwrap();
    state
}

fn request(customer: &str, key: &str, extra: Value) -> Value {
    let mut r = json!({ "customer_id": customer, "idempotency_key": key });
    if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
        r.extend(extra);
    }
    r
}

async fn take(m: &Memory, op: Operation, request: Value, execution: &str) -> Result<Claimed, BerthError> {
    claim::run(&cx(m, scale_config()), ClaimInput { operation: op, request, plan: None, retag: None, execution_id: execution.into() }).await
}

async fn settled(
    m: &Memory,
    op: Operation,
    c: &Claimed,
    done: Option<Value>,
    error: Option<CaughtError>,
    undo: Option<Value>,
) -> berth_steps::SettleOutput {
    settle::run(
        &cx(m, table()),
        SettleInput { plan: c.plan.clone(), operation: op, request: c.request.clone(), done, error, undo, before: c.before.clone() },
    )
    .await
    .unwrap()
}

fn desired(m: &Memory) -> Vec<(String, i32)> {
    m.with(|w| w.services.values().map(|s| (s.name.clone(), s.desired_count)).collect())
}

#[tokio::test]
async fn offboarding_removes_everything_frees_priorities_and_host_and_keeps_a_tombstone() {
    let m = memory();
    active(&m, "acme", "exec-1").await;
    let priorities = m.get("acme").await.unwrap().unwrap().priorities;
    let c = take(&m, Operation::Offboard, request("acme", "off-1", json!({ "requested_by": "ops", "note": "contract ended" })), "exec-off")
        .await
        .unwrap();
    assert_eq!((c.from, c.plan.execution_id.as_str()), (CustomerState::Active, "exec-off"));
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Deprovisioning);
    let torn = rollback::run(&cx(&m, teardown()), TeardownInput { plan: c.plan.clone(), keep_log_groups: false }).await.unwrap();
    assert!(torn.owned && torn.leftovers.is_empty() && torn.host_released, "{torn:?}");
    assert_eq!(torn.released_priorities, priorities);
    let out = settled(&m, Operation::Offboard, &c, Some(json!(torn)), None, None).await;
    assert!(out.succeeded && out.recorded, "{out:?}");
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!(record.state, CustomerState::Deleted);
    assert!(record.outputs.is_none() && record.priorities.is_empty());
    m.with(|w| {
        assert!(w.remains("acme").is_empty(), "{:?}", w.remains("acme"));
        assert!(w.hosts.is_empty() && w.resources["acme"].is_empty());
        assert_eq!((w.pool[0].rules.used, w.pool[0].target_groups.used, w.pool[0].customers), (0, 0, 0));
    });
    let history = m.history("acme").await.unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert_eq!((h.operation, h.outcome.as_str(), h.execution_id.as_str()), (Operation::Offboard, "succeeded", "exec-off"));
    assert_eq!((h.requested_by.as_deref(), h.note.as_deref()), (Some("ops"), Some("contract ended")));
    assert_eq!(h.detail["removed"].as_array().map(Vec::len), Some(torn.removed.len()));

    // Offboarding again is harmless: nothing to remove, DELETED again, one more entry.
    let again = take(&m, Operation::Offboard, request("acme", "off-2", json!({})), "exec-off-2").await.unwrap();
    let torn = rollback::run(&cx(&m, teardown()), TeardownInput { plan: again.plan.clone(), keep_log_groups: false }).await.unwrap();
    assert!(torn.removed.is_empty() && torn.leftovers.is_empty(), "{torn:?}");
    assert!(settled(&m, Operation::Offboard, &again, Some(json!(torn)), None, None).await.succeeded);
    assert_eq!(m.history("acme").await.unwrap().len(), 2);

    // The same id onboards again, on the freed priorities.
    let back = active(&m, "acme", "exec-2").await;
    let reused: Vec<u32> = back.allocation.unwrap().priorities.iter().map(|p| p.priority).collect();
    assert_eq!(reused, priorities);
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Active);
}

#[tokio::test]
async fn offboarding_keeps_log_groups_when_asked_and_never_touches_what_is_not_ours() {
    let m = memory();
    let state = active(&m, "acme", "exec-1").await;
    // A target group of a name berth would give the customer, made by hand (no tags): a
    // stranger. (The customer's own frontend target group is renamed out of its way.)
    let plan = state.plan();
    let tg_name = plan.services.iter().find_map(|s| s.target_group.as_ref()).unwrap().name.clone();
    m.with(|w| w.target_groups.remove(&tg_name)).expect("the customer's target group");
    let stranger = TargetGroups::create(
        &m,
        &TargetGroupSpec {
            name: tg_name.clone(),
            port: 80,
            vpc_id: "vpc-1".into(),
            health_check_path: "/".into(),
            tags: Default::default(),
        },
    )
    .await
    .unwrap();
    let c = take(&m, Operation::Offboard, request("acme", "off-1", json!({ "keep_log_groups": true })), "exec-off").await.unwrap();
    assert!(c.request.keep_log_groups);
    let torn = rollback::run(&cx(&m, teardown()), TeardownInput { plan: c.plan.clone(), keep_log_groups: true }).await.unwrap();
    assert_eq!(torn.not_ours, vec![format!("target group {}", stranger.arn)], "{torn:?}");
    assert_eq!(torn.kept.len(), 1, "{torn:?}");
    assert!(!torn.removed.iter().any(|r| r.starts_with("log_group")), "{torn:?}");
    m.with(|w| {
        assert_eq!(w.target_groups.get(&tg_name).map(|t| t.arn.as_str()), Some(stranger.arn.as_str()), "the stranger survives");
        assert_eq!(w.log_groups.len(), 1, "kept, with its retention");
        assert!(w.log_groups.values().all(|(r, _)| *r == Some(30)));
        assert!(w.resources["acme"].is_empty(), "a kept log group is no longer berth's to manage");
    });
}

#[tokio::test]
async fn one_lifecycle_execution_at_a_time_and_only_from_the_right_states() {
    let m = memory();
    // Never onboarded: not found, nothing written.
    let e = take(&m, Operation::Suspend, request("acme", "s-1", json!({})), "exec-s").await.unwrap_err();
    assert!(matches!(e, BerthError::NotFound(_)), "{e}");
    // While an onboarding runs: refused, naming it.
    let mut state = planned("acme", "exec-1");
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let writes = m.with(|w| w.total_writes());
    for op in [Operation::Suspend, Operation::Resume, Operation::Offboard] {
        let e = take(&m, op, request("acme", "x", json!({})), "exec-other").await.unwrap_err();
        assert!(matches!(&e, BerthError::Conflict(t) if t.contains("PROVISIONING by execution exec-1")), "{op}: {e}");
    }
    assert_eq!(m.with(|w| w.total_writes()), writes, "a refusal writes nothing");
    let m = memory();
    active(&m, "acme", "exec-1").await;
    // Resume of an ACTIVE customer: not from there.
    let e = take(&m, Operation::Resume, request("acme", "r-1", json!({})), "exec-r").await.unwrap_err();
    assert!(matches!(&e, BerthError::Conflict(t) if t.contains("is ACTIVE") && t.contains("SUSPENDED")), "{e}");
    // A suspend holds it: an offboarding is refused, the suspend's own retry is not.
    take(&m, Operation::Suspend, request("acme", "s-1", json!({})), "exec-s").await.unwrap();
    let e = take(&m, Operation::Offboard, request("acme", "o-1", json!({})), "exec-o").await.unwrap_err();
    assert!(matches!(&e, BerthError::Conflict(t) if t.contains("SUSPENDING by execution exec-s")), "{e}");
    let retried = take(&m, Operation::Suspend, request("acme", "s-1", json!({})), "exec-s").await.unwrap();
    assert_eq!(retried.from, CustomerState::Active);
    // And a new onboarding of the id is refused too.
    let e = register::run(&cx(&m, register_config()), planned("acme", "exec-new").plan_input()).await.unwrap_err();
    assert!(matches!(e, BerthError::Conflict(_)), "{e}");
    // A bad request is refused before anything is looked at.
    let e = take(&m, Operation::Suspend, request("acme", "s-2", json!({ "keep_log_groups": true })), "exec-s2").await.unwrap_err();
    assert!(matches!(&e, BerthError::InvalidRequest(v) if v.fields() == ["keep_log_groups"]), "{e}");
}

#[tokio::test]
async fn suspend_remembers_the_counts_and_resume_gives_them_back() {
    let m = memory();
    let state = active(&m, "acme", "exec-1").await;
    let before = desired(&m);
    assert!(before.iter().all(|(_, n)| *n > 0), "{before:?}");
    let tgs = m.with(|w| w.target_groups.len());
    let c = take(&m, Operation::Suspend, request("acme", "s-1", json!({ "reason": "unpaid" })), "exec-s").await.unwrap();
    let zero = scale::run(&cx(&m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Zero, before: vec![] }).await.unwrap();
    assert!(desired(&m).iter().all(|(_, n)| *n == 0), "{:?}", desired(&m));
    assert!(zero.services.iter().all(|s| s.to == 0 && s.from > 0), "{zero:?}");
    // A retried scale-down remembers the first counts, not its own zeros.
    scale::run(&cx(&m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Zero, before: vec![] }).await.unwrap();
    let out = settled(&m, Operation::Suspend, &c, Some(json!(zero)), None, None).await;
    assert!(out.succeeded, "{out:?}");
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!((record.state, record.suspend_reason.as_deref()), (CustomerState::Suspended, Some("unpaid")));
    let remembered: Vec<(String, i32)> = before.iter().map(|(n, c)| (n.clone(), *c)).collect();
    assert_eq!(record.suspended_counts.len(), remembered.len());
    m.with(|w| {
        assert_eq!(w.target_groups.len(), tgs, "target groups stay");
        assert_eq!(w.rules[LISTENER].len(), 2, "rules stay");
        assert!(w.records.contains_key("acme.saas.example.com"), "DNS stays");
    });

    let r = take(&m, Operation::Resume, request("acme", "r-1", json!({})), "exec-r").await.unwrap();
    assert_eq!(r.from, CustomerState::Suspended);
    assert_eq!(r.target_groups.iter().filter(|t| t.target_group_arn.is_some()).count(), 2, "{:?}", r.target_groups);
    let back =
        scale::run(&cx(&m, scale_config()), ScaleInput { plan: r.plan.clone(), to: ScaleTo::Remembered, before: vec![] }).await.unwrap();
    assert_eq!(desired(&m), before);
    let health =
        check::run(&cx(&m, cluster()), CheckInput { plan: back.plan.clone(), target_groups: r.target_groups.clone(), attempts: 0 })
            .await
            .unwrap();
    assert!(health.stable, "{health:?}");
    assert!(settled(&m, Operation::Resume, &r, Some(json!(back)), None, None).await.succeeded);
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!(record.state, CustomerState::Active);
    assert!(record.suspended_counts.is_empty() && record.suspend_reason.is_none());
    let ops: Vec<(Operation, String)> = m.history("acme").await.unwrap().into_iter().map(|h| (h.operation, h.outcome)).collect();
    assert_eq!(ops.len(), 2);
    let _ = state;
}

#[tokio::test]
async fn a_suspend_that_fails_is_put_back_and_stays_active_with_the_failure_recorded() {
    let m = memory();
    active(&m, "acme", "exec-1").await;
    let before = desired(&m);
    let c = take(&m, Operation::Suspend, request("acme", "s-1", json!({})), "exec-s").await.unwrap();
    scale::run(&cx(&m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Zero, before: vec![] }).await.unwrap();
    // Say the scale-down failed for good after scaling: put back, then settle the failure.
    let undo =
        scale::run(&cx(&m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Remembered, before: vec![] }).await.unwrap();
    assert_eq!(desired(&m), before);
    let error = CaughtError {
        error: "Berth.Internal".into(),
        cause: json!({"errorType": "Berth.Internal", "errorMessage": "UpdateService refused"}).to_string(),
    };
    let out = settled(&m, Operation::Suspend, &c, None, Some(error.clone()), Some(json!(undo))).await;
    assert_eq!((out.succeeded, out.state), (false, CustomerState::Active), "{out:?}");
    assert_eq!(out.cause.as_deref(), Some("UpdateService refused"));
    // Its outcome event says what was put back, and where the customer is.
    assert_eq!(out.rolled_back.len(), 3, "{out:?}");
    assert!(out.rolled_back.iter().all(|r| r.starts_with("service berth-acme-") && r.contains("put back")), "{:?}", out.rolled_back);
    assert_eq!(out.url.as_deref(), Some("https://acme.saas.example.com"));
    let h = m.history("acme").await.unwrap();
    assert_eq!((h[0].outcome.as_str(), h[0].error.as_deref()), ("failed", Some("Berth.Internal")));
    // When putting back failed too: DEGRADED, with the services listed.
    let c = take(&m, Operation::Suspend, request("acme", "s-2", json!({})), "exec-s2").await.unwrap();
    let undo_failed = json!({ "Error": "Berth.Transient", "Cause": "throttled" });
    let out = settled(&m, Operation::Suspend, &c, None, Some(error), Some(undo_failed)).await;
    assert_eq!(out.state, CustomerState::Degraded);
    assert_eq!(out.leftovers.len(), 3, "{out:?}");
    assert!(out.rolled_back.is_empty(), "nothing was put back: {out:?}");
    // From DEGRADED, an offboarding may start.
    take(&m, Operation::Offboard, request("acme", "o-1", json!({})), "exec-o").await.unwrap();
}

/// The desired plan of an update: the onboarding request with `change` applied, planned by
/// the validate step for `execution`.
fn desired_plan(customer: &str, execution: &str, change: impl FnOnce(&mut Value)) -> berth_domain::plan::Plan {
    let mut r = common::request(customer);
    change(&mut r);
    berth_steps::validate::plan(
        berth_steps::ValidateInput { request: r, execution_id: execution.into() },
        &berth_domain::catalog::Catalog::builtin(),
        &settings(),
    )
    .unwrap()
}

async fn take_for_update(m: &Memory, plan: &berth_domain::plan::Plan) -> Result<Claimed, BerthError> {
    claim::run(
        &cx(m, scale_config()),
        ClaimInput {
            operation: Operation::Update,
            request: Value::Null,
            plan: Some(plan.clone()),
            retag: None,
            execution_id: plan.execution_id.clone(),
        },
    )
    .await
}

fn revisions(m: &Memory) -> Vec<(String, String)> {
    m.with(|w| w.services.values().map(|s| (s.name.clone(), s.task_definition.clone())).collect())
}

#[tokio::test]
async fn an_update_rolls_out_new_revisions_keeps_the_old_and_records_the_new_spec() {
    let m = memory();
    active(&m, "acme", "exec-1").await;
    let old = revisions(&m);
    let plan = desired_plan("acme", "exec-u", |r| {
        r["services"]["api"]["image_tag"] = json!("1.5.0");
        r["services"]["api"]["desired_count"] = json!(3);
    });
    let c = take_for_update(&m, &plan).await.unwrap();
    assert!(!c.unchanged);
    assert_eq!(c.before.len(), 3);
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Updating);
    let placement = c.placement.clone().expect("placement");
    let done = resources::run(&cx(&m, infra()), berth_steps::ResourcesInput { plan: c.plan.clone(), placement }).await.unwrap();
    let tgs: Vec<berth_steps::TargetGroupRef> = done
        .services
        .iter()
        .map(|s| berth_steps::TargetGroupRef { service: s.service.clone(), target_group_arn: s.target_group_arn.clone() })
        .collect();
    assert!(check::run(&cx(&m, cluster()), CheckInput { plan: c.plan.clone(), target_groups: tgs, attempts: 0 }).await.unwrap().stable);
    let out = settled(&m, Operation::Update, &c, Some(json!(done)), None, None).await;
    assert!(out.succeeded, "{out:?}");
    let new = revisions(&m);
    let api = plan.services.iter().find(|s| s.name == "api").unwrap().ecs_service.clone();
    for ((name, before), (_, after)) in old.iter().zip(&new) {
        assert_eq!(before != after, name == &api, "{name}: {before} -> {after}");
    }
    m.with(|w| {
        assert_eq!(w.services[&api].desired_count, 3);
        let family = &plan.services.iter().find(|s| s.name == "api").unwrap().task_family;
        assert_eq!(w.task_definitions[family].iter().filter(|t| t.active).count(), 2, "the old revision is kept");
    });
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!(record.state, CustomerState::Active);
    let recorded: berth_domain::plan::Plan = serde_json::from_value(record.plan.unwrap()).unwrap();
    assert_eq!(recorded.services.iter().find(|s| s.name == "api").unwrap().desired_count, 3);
    let h = m.history("acme").await.unwrap();
    assert_eq!((h[0].operation, h[0].outcome.as_str()), (Operation::Update, "succeeded"));
    assert_eq!(h[0].detail["before"].as_array().map(Vec::len), Some(3));

    // The same spec again: nothing taken, nothing written.
    let writes = m.with(|w| w.total_writes());
    let again = desired_plan("acme", "exec-u2", |r| {
        r["services"]["api"]["image_tag"] = json!("1.5.0");
        r["services"]["api"]["desired_count"] = json!(3);
        r["idempotency_key"] = json!("another-key");
    });
    let c = take_for_update(&m, &again).await.unwrap();
    assert!(c.unchanged);
    assert_eq!(m.with(|w| w.total_writes()), writes);
    assert_eq!(m.get("acme").await.unwrap().unwrap().state, CustomerState::Active);
}

#[tokio::test]
async fn a_failed_update_puts_the_previous_revisions_back_and_stays_active() {
    let m = memory();
    active(&m, "acme", "exec-1").await;
    let old = revisions(&m);
    let counts = desired(&m);
    let plan = desired_plan("acme", "exec-u", |r| r["services"]["frontend"]["image_tag"] = json!("2.0.0"));
    let c = take_for_update(&m, &plan).await.unwrap();
    let placement = c.placement.clone().expect("placement");
    resources::run(&cx(&m, infra()), berth_steps::ResourcesInput { plan: c.plan.clone(), placement }).await.unwrap();
    assert_ne!(revisions(&m), old);
    // Say the health gate never passed: put back, then record the failure.
    let undo = scale::run(&cx(&m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Before, before: c.before.clone() })
        .await
        .unwrap();
    assert_eq!(revisions(&m), old, "the previous revisions");
    assert_eq!(desired(&m), counts, "and counts");
    let error = CaughtError { error: "Berth.Timeout".into(), cause: "not healthy after 20 checks".into() };
    let out = settled(&m, Operation::Update, &c, None, Some(error), Some(json!(undo))).await;
    assert_eq!((out.succeeded, out.state), (false, CustomerState::Active), "{out:?}");
    let record = m.get("acme").await.unwrap().unwrap();
    let recorded: berth_domain::plan::Plan = serde_json::from_value(record.plan.unwrap()).unwrap();
    assert!(recorded.services.iter().all(|s| !s.image.ends_with(":2.0.0")), "the last good spec stays");
    let h = m.history("acme").await.unwrap();
    assert_eq!((h[0].outcome.as_str(), h[0].error.as_deref()), ("failed", Some("Berth.Timeout")));
}

/// The customer's rules on its listener: (service, priority), by priority.
fn rules_of(m: &Memory, customer: &str) -> Vec<(String, u32)> {
    m.with(|w| {
        let mut v: Vec<(String, u32)> = w
            .rules
            .values()
            .flatten()
            .filter(|r| w.rule_tags.get(&r.arn).and_then(|t| t.get("berth:customer")).map(String::as_str) == Some(customer))
            .map(|r| (w.rule_tags[&r.arn]["berth:service"].clone(), r.priority.unwrap_or_default()))
            .collect();
        v.sort_by_key(|(_, p)| *p);
        v
    })
}

fn alb_counts(m: &Memory) -> (u32, u32) {
    m.with(|w| (w.pool[0].rules.used, w.pool[0].target_groups.used))
}

/// One update through the update machine's steps, as it chains them: claim, reshape (when
/// products or an own domain are added), resources, the health gate, the dns step and
/// reshape (when products or an own domain are added, then removed), settle; or, when
/// `fail` says so, the put-back and what was added taken away.
async fn update_through(m: &Memory, plan: &berth_domain::plan::Plan, fail: bool) -> berth_steps::SettleOutput {
    use berth_steps::{reshape, Phase, ReshapeInput};
    let c = take_for_update(m, plan).await.unwrap();
    let union = c.reshape.plan.clone();
    let placement = if c.reshape.grow {
        reshape::run(&cx(m, teardown()), ReshapeInput { plan: union.clone().unwrap(), remove: vec![], phase: Some(Phase::Grow) })
            .await
            .unwrap()
            .placement
            .unwrap()
    } else {
        c.placement.clone().unwrap()
    };
    let alb = placement.alb.clone();
    let done = resources::run(&cx(m, infra()), berth_steps::ResourcesInput { plan: c.plan.clone(), placement }).await.unwrap();
    if fail {
        let undo = scale::run(&cx(m, scale_config()), ScaleInput { plan: c.plan.clone(), to: ScaleTo::Before, before: c.before.clone() })
            .await
            .unwrap();
        if c.reshape.grow {
            let back = ReshapeInput { plan: union.unwrap(), remove: c.reshape.added.clone(), phase: Some(Phase::TakeBack) };
            reshape::run(&cx(m, teardown()), back).await.unwrap();
        }
        let error = CaughtError { error: "Berth.Timeout".into(), cause: "not healthy".into() };
        return settled(m, Operation::Update, &c, None, Some(error), Some(json!(undo))).await;
    }
    let tgs = done
        .services
        .iter()
        .map(|s| berth_steps::TargetGroupRef { service: s.service.clone(), target_group_arn: s.target_group_arn.clone() })
        .collect();
    assert!(check::run(&cx(m, cluster()), CheckInput { plan: c.plan.clone(), target_groups: tgs, attempts: 0 }).await.unwrap().stable);
    if c.reshape.grow {
        dns::run(&cx(m, zone()), berth_steps::DnsInput { plan: c.plan.clone(), alb, healthy: true, adopted: Vec::new() }).await.unwrap();
    }
    if c.reshape.prune {
        let prune = ReshapeInput { plan: union.unwrap(), remove: c.reshape.removed.clone(), phase: Some(Phase::Prune) };
        let pruned = reshape::run(&cx(m, teardown()), prune).await.unwrap();
        assert!(pruned.not_ours.is_empty(), "{pruned:?}");
    }
    settled(m, Operation::Update, &c, Some(json!(done)), None, None).await
}

#[tokio::test]
async fn a_product_added_takes_priorities_before_the_catch_all_and_removed_gives_them_back() {
    let m = memory();
    active(&m, "acme", "exec-1").await;
    active(&m, "bbb", "exec-b").await;
    assert_eq!(rules_of(&m, "acme"), [("api".to_string(), 1), ("frontend".to_string(), 2)]);
    let (rules_before, tgs_before) = alb_counts(&m);
    let bbb = rules_of(&m, "bbb");

    // Added: its number comes after the other customer's, so the catch-all moves up to it and
    // the new path rule takes the catch-all's old number.
    let with_reports = desired_plan("acme", "exec-add", |r| {
        r["products"] = json!(["webapp", "reports"]);
        r["services"]["reports"] = json!({ "image_tag": "1.0.0" });
    });
    let out = update_through(&m, &with_reports, false).await;
    assert!(out.succeeded, "{out:?}");
    let rules = rules_of(&m, "acme");
    assert_eq!(rules.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["api", "reports", "frontend"]);
    assert_eq!(rules.iter().map(|(_, p)| *p).collect::<Vec<_>>(), [1, 2, 5]);
    assert_eq!(rules_of(&m, "bbb"), bbb, "the other customer's rules do not move");
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!((record.priorities.clone(), record.target_groups_held), (vec![1, 2, 5], 3));
    assert_eq!(alb_counts(&m), (rules_before + 1, tgs_before + 1));
    m.with(|w| {
        assert!(w.services.contains_key("berth-acme-reports"));
        assert!(w.target_groups.values().any(|t| t.name == "berth-acme-reports"));
    });
    // The customer's role may reach the product's images and data, its group lets the ALBs
    // reach the product's port.
    let (policy, ingress) = isolation(&m, "acme");
    assert_eq!(policy, access::role_policy(&with_reports, &infra().account));
    assert!(policy.to_string().contains("berth-reports/acme/*"), "{policy}");
    assert_eq!(ingress, ports_of(&with_reports));
    let outputs = record.outputs.unwrap();
    assert_eq!(outputs["priorities"]["reports"], 2);
    assert!(outputs["target_groups"]["reports"].is_string());

    // Removed again: its resources go, its number is given back and handed out next.
    let without = desired_plan("acme", "exec-rm", |_| {});
    let out = update_through(&m, &without, false).await;
    assert!(out.succeeded, "{out:?}");
    assert_eq!(rules_of(&m, "acme"), [("api".to_string(), 1), ("frontend".to_string(), 5)]);
    let record = m.get("acme").await.unwrap().unwrap();
    assert_eq!((record.priorities.clone(), record.target_groups_held), (vec![1, 5], 2));
    assert_eq!(alb_counts(&m), (rules_before, tgs_before));
    m.with(|w| {
        assert_eq!(w.services["berth-acme-reports"].status, "INACTIVE");
        assert!(!w.target_groups.values().any(|t| t.name == "berth-acme-reports"));
        assert!(!w.task_definitions.get("berth-acme-reports").is_some_and(|t| t.iter().any(|d| d.active)));
        assert!(w.ledgers.values().any(|l| l.free.contains(&2)), "number 2 is free again");
        assert!(w.log_groups.contains_key("/berth/acme"), "the log group the other services write to stays");
    });
    assert!(m.with(|w| w.resources["acme"].iter().all(|e| !e.id.contains("reports"))), "the ledger forgets them");
    // Nor may the customer's tasks reach them any more.
    let (policy, ingress) = isolation(&m, "acme");
    assert_eq!(policy, access::role_policy(&without, &infra().account));
    assert!(!policy.to_string().contains("reports"), "{policy}");
    assert_eq!(ingress, ports_of(&without));
    assert!(record.outputs.unwrap()["priorities"].get("reports").is_none());
    active(&m, "ccc", "exec-c").await;
    assert!(rules_of(&m, "ccc").iter().any(|(_, p)| *p == 2), "the freed number is handed out again");

    // A failed update that adds a product: the product is taken away again, its numbers
    // given back, the customer ACTIVE on what it had.
    let (rules_before, tgs_before) = alb_counts(&m);
    let again = desired_plan("acme", "exec-add2", |r| {
        r["products"] = json!(["webapp", "reports"]);
        r["services"]["reports"] = json!({ "image_tag": "1.0.0" });
    });
    let out = update_through(&m, &again, true).await;
    assert_eq!((out.succeeded, out.state), (false, CustomerState::Active), "{out:?}");
    let rules = rules_of(&m, "acme");
    assert_eq!(rules.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["api", "frontend"]);
    assert_eq!(m.get("acme").await.unwrap().unwrap().priorities.len(), 2);
    assert_eq!(alb_counts(&m), (rules_before, tgs_before));
    m.with(|w| assert_eq!(w.services["berth-acme-reports"].status, "INACTIVE"));
    let (policy, ingress) = isolation(&m, "acme");
    assert_eq!(policy, access::role_policy(&without, &infra().account), "taken back with the product");
    assert_eq!(ingress, ports_of(&without));
}

/// The customer's role policy and the ports its group lets in.
fn isolation(m: &Memory, customer: &str) -> (Value, std::collections::BTreeSet<i32>) {
    m.with(|w| {
        let policy = w.roles[&format!("berth-{customer}")].1[access::ROLE_POLICY_NAME].clone();
        let group = w.security_groups.values().find(|g| g.name == format!("berth-{customer}")).expect("the customer's group");
        (policy, group.ingress.iter().map(|p| p.from_port).collect())
    })
}

/// The ports of a plan's services behind target groups.
fn ports_of(plan: &berth_domain::plan::Plan) -> std::collections::BTreeSet<i32> {
    plan.services.iter().filter(|s| s.target_group.is_some()).filter_map(|s| s.port).map(i32::from).collect()
}

#[tokio::test]
async fn a_rollout_chooses_active_customers_of_the_product_in_waves_and_its_gate_stops_on_failures() {
    use berth_steps::{gate, waves, Gate, GateInput, Retag, WaveResult, WavesInput};
    let m = memory();
    for c in ["aaa", "bbb", "ccc", "ddd", "eee"] {
        active(&m, c, &format!("exec-{c}")).await;
    }
    // One suspended: skipped, with the reason.
    take(&m, Operation::Suspend, request("eee", "s", json!({})), "exec-s").await.unwrap();
    let request = json!({ "rollout_id": "r-1", "product": "webapp", "image_tag": "1.5.0", "canary": 1, "wave_size": 2 });
    let r = waves::run(&cx(&m, table()), WavesInput { request: request.clone(), execution_id: "exec-r".into() }).await.unwrap();
    assert_eq!(r.waves, vec![vec!["aaa".to_string()], vec!["bbb".into(), "ccc".into()], vec!["ddd".into()]]);
    assert_eq!(r.gate.current, ["aaa"]);
    assert_eq!(r.gate.tally.skipped.len(), 1);
    assert_eq!(r.gate.tally.skipped[0].reason, "is SUSPENDING");

    // Each customer's update takes its recorded plan with the new tag.
    let c = claim::run(
        &cx(&m, scale_config()),
        ClaimInput {
            operation: Operation::Update,
            request: json!({ "customer_id": "aaa", "idempotency_key": "r-1" }),
            plan: None,
            retag: Some(Retag { product: Some("webapp".into()), image_tag: "1.5.0".into() }),
            execution_id: "exec-r".into(),
        },
    )
    .await
    .unwrap();
    assert!(!c.unchanged && c.plan.services.iter().all(|s| s.image.ends_with(":1.5.0")), "{:?}", c.plan.services);

    // The gate: a wave with one failure stops a rollout whose threshold is 0.
    let result = |id: &str, ok: bool| WaveResult {
        customer_id: id.into(),
        outcome: "settled".into(),
        succeeded: Some(ok),
        state: Some(CustomerState::Active),
        error: (!ok).then(|| "Berth.Timeout".into()),
        cause: None,
    };
    let at = |wave: u32| Gate { wave, current: r.waves[wave as usize].clone(), ..r.gate.clone() };
    let input = |gate: Gate, results: Vec<WaveResult>, max_failures: u32| GateInput {
        request: berth_domain::rollout::RolloutRequest { max_failures, ..r.request.clone() },
        waves: r.waves.clone(),
        gate,
        results,
    };
    let cx0 = cx(&m, berth_adapters::config::NoConfig);
    let after_canary = gate::run(&cx0, input(at(0), vec![result("aaa", true)], 0)).await.unwrap();
    assert_eq!((after_canary.done, after_canary.current.clone()), (false, vec!["bbb".to_string(), "ccc".into()]));
    let stopped = gate::run(&cx0, input(after_canary.clone(), vec![result("bbb", true), result("ccc", false)], 0)).await.unwrap();
    assert!(stopped.done && stopped.halted);
    let ids = |v: &Vec<berth_steps::Reached>| v.iter().map(|r| r.customer_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&stopped.tally.updated), ["aaa", "bbb"]);
    assert_eq!(ids(&stopped.tally.rolled_back), ["ccc"]);
    assert_eq!(ids(&stopped.tally.not_reached), ["ddd"]);
    // With a threshold of 1 it goes on, to the end.
    let on = gate::run(&cx0, input(after_canary, vec![result("bbb", true), result("ccc", false)], 1)).await.unwrap();
    assert!(!on.done && !on.halted && on.current == ["ddd"]);
    let end = gate::run(&cx0, input(on, vec![result("ddd", true)], 1)).await.unwrap();
    assert!(end.done && !end.halted && end.tally.not_reached.is_empty());
    assert_eq!(ids(&end.tally.updated), ["aaa", "bbb", "ddd"]);
}

fn dotted(customer: &str, execution: &str, products: &[&str]) -> berth_domain::plan::Plan {
    product_plan(customer, execution, products, berth_domain::naming::HostForm::Dotted, None)
}

#[tokio::test]
async fn the_last_dotted_product_removed_takes_its_certificate_and_the_first_added_requests_one() {
    use berth_adapters::ports::Ledger as _;
    use berth_domain::ledger::ResourceKind;
    let m = memory();
    let mut state = State { plan: Some(dotted("acme", "exec-1", &["webapp", "shop"])), ..Default::default() };
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    state.allocation = Some(allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap());
    state.resources = Some(resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap());
    state.health = Some(check::run(&cx(&m, cluster()), state.check_input()).await.unwrap());
    state.dns = Some(dns::run(&cx(&m, DnsConfig { hosted_zone_id: "Z1".into() }), state.dns_input()).await.unwrap());
    activate::run(&cx(&m, table()), state.activate_input()).await.unwrap();
    m.with(|w| {
        assert_eq!((w.acm.len(), w.listener_certificates[LISTENER].len(), w.pool[0].certificates.used), (1, 1, 1));
    });

    // The shop removed: no product on a host of its own is left, nor its certificate.
    let out = update_through(&m, &dotted("acme", "exec-2", &["webapp"]), false).await;
    assert!(out.succeeded, "{out:?}");
    m.with(|w| {
        assert!(w.acm.is_empty() && w.cnames.is_empty(), "{:?}", w.acm.keys());
        assert!(w.listener_certificates[LISTENER].is_empty());
        assert_eq!(w.pool[0].certificates.used, 0);
        assert_eq!(w.customers["acme"].certificates_held, 0);
    });
    assert!(m
        .entries("acme")
        .await
        .unwrap()
        .iter()
        .all(|e| e.kind != ResourceKind::Certificate && e.kind != ResourceKind::ValidationRecord));

    // Added again: a new certificate is requested and counted.
    let out = update_through(&m, &dotted("acme", "exec-3", &["webapp", "shop"]), false).await;
    assert!(out.succeeded, "{out:?}");
    m.with(|w| {
        assert_eq!(w.acm.len(), 1);
        assert_eq!((w.pool[0].certificates.used, w.customers["acme"].certificates_held), (1, 1));
    });
}

/// Certificates, rules' hosts, claims, records, the ALB's certificate count.
type OwnDomainState = (Vec<String>, Vec<Vec<String>>, Vec<String>, Vec<String>, u32);

/// The customer's own domain in the fakes: the listener's certificates, the hosts of its
/// rules on the customer's host, the claims, the records and the ALB's certificate count.
fn own_domain_state(m: &Memory) -> OwnDomainState {
    m.with(|w| {
        let certs = w.listener_certificates.get(LISTENER).cloned().unwrap_or_default();
        let hosts = w.rules[LISTENER]
            .iter()
            .filter(|r| r.hosts.iter().any(|h| h == "acme.saas.example.com"))
            .map(|r| {
                let mut h = r.hosts.clone();
                h.sort();
                h
            })
            .collect();
        let claims = w.hosts.iter().filter(|(h, c)| *c == "acme" && !h.ends_with("saas.example.com")).map(|(h, _)| h.clone()).collect();
        let records = w.records.keys().filter(|h| !h.ends_with("saas.example.com")).cloned().collect();
        (certs, hosts, claims, records, w.pool[0].certificates.used)
    })
}

#[tokio::test]
async fn an_update_changes_the_own_domain_and_a_failed_one_puts_the_old_one_back() {
    let m = memory();
    m.with(|w| {
        w.zones.insert("acme-new.example".into(), "Z9".into());
    });
    let (cert_a, cert_b, cert_c) = (
        "arn:aws:acm:us-east-1:123456789012:certificate/own-a",
        "arn:aws:acm:us-east-1:123456789012:certificate/own-b",
        "arn:aws:acm:us-east-1:123456789012:certificate/own-c",
    );
    m.with(|w| {
        for (arn, hostname) in [(cert_a, "www.acme-old.example"), (cert_b, "shop.acme-new.example"), (cert_c, "www.acme-other.example")] {
            w.import_certificate(arn, &[hostname]);
        }
    });
    let with_domain = |execution: &str, domain: Option<(&str, &str)>| {
        desired_plan("acme", execution, |r| {
            if let Some((hostname, arn)) = domain {
                r["domain"] = json!({ "hostname": hostname, "certificate_arn": arn });
            }
        })
    };
    // Onboarded with www.acme-old.example (its zone not in the account: no records).
    onboarded(&m, with_domain("exec-1", Some(("www.acme-old.example", cert_a)))).await;
    let old_hosts = vec!["acme.saas.example.com".to_string(), "www.acme-old.example".to_string()];
    assert_eq!(own_domain_state(&m), (vec![cert_a.into()], vec![old_hosts.clone(); 2], vec!["www.acme-old.example".into()], vec![], 1));

    // Changed to shop.acme-new.example, whose zone the account has.
    let out = update_through(&m, &with_domain("exec-u1", Some(("shop.acme-new.example", cert_b))), false).await;
    assert_eq!((out.succeeded, out.state), (true, CustomerState::Active), "{out:?}");
    let new_hosts = vec!["acme.saas.example.com".to_string(), "shop.acme-new.example".to_string()];
    assert_eq!(
        own_domain_state(&m),
        (vec![cert_b.into()], vec![new_hosts.clone(); 2], vec!["shop.acme-new.example".into()], vec!["shop.acme-new.example".into()], 1)
    );
    let ledger = m.entries("acme").await.unwrap();
    assert!(ledger
        .iter()
        .any(|e| e.kind == ResourceKind::DnsRecord && e.id == "shop.acme-new.example" && e.scope.as_deref() == Some("Z9")));
    assert!(!ledger.iter().any(|e| e.id == "www.acme-old.example" || e.id == cert_a), "{ledger:?}");
    let outputs = m.get("acme").await.unwrap().unwrap().outputs.unwrap();
    assert_eq!(outputs["own_domain"]["hostname"], "shop.acme-new.example");
    assert_eq!(outputs["own_domain"]["hosted_zone_id"], "Z9");

    // A failed change to www.acme-other.example: the rules have shop.acme-new.example again,
    // the new certificate and claim are gone, the records and the count as they were.
    let out = update_through(&m, &with_domain("exec-u2", Some(("www.acme-other.example", cert_c))), true).await;
    assert_eq!((out.succeeded, out.state), (false, CustomerState::Active), "{out:?}");
    assert_eq!(
        own_domain_state(&m),
        (vec![cert_b.into()], vec![new_hosts; 2], vec!["shop.acme-new.example".into()], vec!["shop.acme-new.example".into()], 1)
    );

    // Taken away: no certificate, claim or record of it left, the count given back.
    let out = update_through(&m, &with_domain("exec-u3", None), false).await;
    assert_eq!((out.succeeded, out.state), (true, CustomerState::Active), "{out:?}");
    assert_eq!(own_domain_state(&m), (vec![], vec![vec!["acme.saas.example.com".to_string()]; 2], vec![], vec![], 0));
    assert!(!m.entries("acme").await.unwrap().iter().any(|e| e.id == "shop.acme-new.example" || e.id == cert_b));
    assert!(m.get("acme").await.unwrap().unwrap().outputs.unwrap()["own_domain"].is_null());
}

#[tokio::test]
async fn a_changed_own_domain_holds_both_certificates_until_done_and_a_full_alb_refuses_the_second() {
    use berth_steps::{reshape, Phase, ReshapeInput};
    let m = memory();
    m.with(|w| {
        w.pool[0].certificates = Capacity { quota: 2, used: 0 };
        w.import_certificate("arn:aws:acm:us-east-1:123456789012:certificate/a", &["www.acme-old.example"]);
        w.import_certificate("arn:aws:acm:us-east-1:123456789012:certificate/b", &["*.acme-new.example"]);
    });
    let domain = |execution: &str, hostname: &str, arn: &str| {
        desired_plan("acme", execution, |r| r["domain"] = json!({ "hostname": hostname, "certificate_arn": arn }))
    };
    onboarded(&m, domain("exec-1", "www.acme-old.example", "arn:aws:acm:us-east-1:123456789012:certificate/a")).await;
    // The grow counts the new certificate beside the old one: 2 of the ALB's 2.
    let c =
        take_for_update(&m, &domain("exec-u1", "www.acme-new.example", "arn:aws:acm:us-east-1:123456789012:certificate/b")).await.unwrap();
    assert!(c.reshape.grow && c.reshape.prune, "{:?}", c.reshape);
    let grow = ReshapeInput { plan: c.reshape.plan.clone().unwrap(), remove: Vec::new(), phase: Some(Phase::Grow) };
    reshape::run(&cx(&m, teardown()), grow).await.unwrap();
    m.with(|w| assert_eq!(w.pool[0].certificates.used, 2));
    assert_eq!(m.with(|w| w.hosts.get("www.acme-new.example").cloned()), Some("acme".to_string()), "claimed");
    // Taken back, the count and the claim are as before.
    let back = ReshapeInput { plan: c.reshape.plan.clone().unwrap(), remove: Vec::new(), phase: Some(Phase::TakeBack) };
    reshape::run(&cx(&m, teardown()), back).await.unwrap();
    m.with(|w| assert_eq!((w.pool[0].certificates.used, w.hosts.get("www.acme-new.example")), (1, None)));
    let undo = json!({ "services": [] });
    settled(&m, Operation::Update, &c, None, Some(CaughtError { error: "Berth.Timeout".into(), cause: "x".into() }), Some(undo)).await;
    // With the ALB full, the grow of the next change is refused and changes nothing.
    m.with(|w| w.pool[0].certificates.quota = 1);
    let c =
        take_for_update(&m, &domain("exec-u2", "www.acme-new.example", "arn:aws:acm:us-east-1:123456789012:certificate/b")).await.unwrap();
    let grow = ReshapeInput { plan: c.reshape.plan.clone().unwrap(), remove: Vec::new(), phase: Some(Phase::Grow) };
    let err = reshape::run(&cx(&m, teardown()), grow).await.unwrap_err();
    assert_eq!(err.kind(), berth_domain::ErrorKind::QuotaExceeded, "{err}");
    m.with(|w| assert_eq!(w.pool[0].certificates.used, 1));
    // The failure path's take-back gives back the name the refused grow had claimed.
    let back = ReshapeInput { plan: c.reshape.plan.clone().unwrap(), remove: Vec::new(), phase: Some(Phase::TakeBack) };
    reshape::run(&cx(&m, teardown()), back).await.unwrap();
    m.with(|w| assert_eq!((w.pool[0].certificates.used, w.hosts.get("www.acme-new.example")), (1, None)));
}

#[tokio::test]
async fn a_domain_another_customer_holds_is_refused_and_the_take_back_leaves_its_records() {
    use berth_steps::{reshape, Phase, ReshapeInput};
    let m = memory();
    m.with(|w| {
        w.zones.insert("shared-corp.example".into(), "Z9".into());
        w.import_certificate("arn:aws:acm:us-east-1:123456789012:certificate/a", &["www.acme-corp.example"]);
        for other in ["b", "c"] {
            w.import_certificate(&format!("arn:aws:acm:us-east-1:123456789012:certificate/{other}"), &["www.shared-corp.example"]);
        }
    });
    let domain = |customer: &str, execution: &str, hostname: &str, arn: &str| {
        desired_plan(customer, execution, |r| r["domain"] = json!({ "hostname": hostname, "certificate_arn": arn }))
    };
    let taken = "www.shared-corp.example";
    onboarded(&m, domain("beta", "exec-b", taken, "arn:aws:acm:us-east-1:123456789012:certificate/b")).await;
    onboarded(&m, domain("acme", "exec-a", "www.acme-corp.example", "arn:aws:acm:us-east-1:123456789012:certificate/a")).await;
    let before = m.with(|w| (w.records.get(taken).cloned(), w.hosts.get(taken).cloned()));
    assert_eq!(before.1.as_deref(), Some("beta"));
    assert!(before.0.is_some(), "beta's records");
    // acme's update to beta's name: refused at the grow, and taking it back leaves beta's
    // records, claim and certificate as they are.
    let c = take_for_update(&m, &domain("acme", "exec-u", taken, "arn:aws:acm:us-east-1:123456789012:certificate/c")).await.unwrap();
    let union = c.reshape.plan.clone().unwrap();
    let grow = ReshapeInput { plan: union.clone(), remove: Vec::new(), phase: Some(Phase::Grow) };
    let err = reshape::run(&cx(&m, teardown()), grow).await.unwrap_err();
    assert_eq!(err.kind(), berth_domain::ErrorKind::Conflict, "{err}");
    let back = ReshapeInput { plan: union, remove: Vec::new(), phase: Some(Phase::TakeBack) };
    reshape::run(&cx(&m, teardown()), back).await.unwrap();
    assert_eq!(m.with(|w| (w.records.get(taken).cloned(), w.hosts.get(taken).cloned())), before);
    m.with(|w| assert!(w.listener_certificates[LISTENER].contains(&"arn:aws:acm:us-east-1:123456789012:certificate/b".to_string())));
}

#[tokio::test]
async fn a_new_domain_whose_zone_is_elsewhere_is_given_back_by_the_offboarding_when_its_take_back_failed() {
    use berth_steps::{reshape, Phase, ReshapeInput};
    let m = memory();
    let domain = |execution: &str, hostname: &str, arn: &str| {
        desired_plan("acme", execution, |r| r["domain"] = json!({ "hostname": hostname, "certificate_arn": arn }))
    };
    let claim_of = |m: &Memory, host: &str| m.with(|w| w.hosts.get(host).cloned());
    let (old, new) = ("www.acme-old.example", "www.acme-next.example");
    m.with(|w| {
        w.import_certificate("arn:aws:acm:us-east-1:123456789012:certificate/a", &[old]);
        w.import_certificate("arn:aws:acm:us-east-1:123456789012:certificate/b", &["acme-next.example", new]);
    });
    // Neither name's zone is in the account: the ledger holds each one's claim.
    onboarded(&m, domain("exec-1", old, "arn:aws:acm:us-east-1:123456789012:certificate/a")).await;
    let claims = |m: &Memory| {
        m.with(|w| w.resources["acme"].iter().filter(|e| e.kind == ResourceKind::HostClaim).map(|e| e.id.clone()).collect::<Vec<_>>())
    };
    assert_eq!(claims(&m), [old]);

    let c = take_for_update(&m, &domain("exec-u", new, "arn:aws:acm:us-east-1:123456789012:certificate/b")).await.unwrap();
    let union = c.reshape.plan.clone().unwrap();
    let grow = ReshapeInput { plan: union.clone(), remove: Vec::new(), phase: Some(Phase::Grow) };
    let placement = reshape::run(&cx(&m, teardown()), grow).await.unwrap().placement.unwrap();
    resources::run(&cx(&m, infra()), berth_steps::ResourcesInput { plan: c.plan.clone(), placement }).await.unwrap();
    assert_eq!(claim_of(&m, new).as_deref(), Some("acme"));
    let mut held = claims(&m);
    held.sort();
    assert_eq!(held, [new, old]);

    // The take-back fails for good (the old name cannot be put back on the rules): the new
    // name stays claimed for now.
    m.with(|w| w.failing.insert("ModifyRule", berth_domain::ErrorKind::Internal));
    let back = ReshapeInput { plan: union, remove: Vec::new(), phase: Some(Phase::TakeBack) };
    let err = reshape::run(&cx(&m, teardown()), back).await.unwrap_err();
    assert_eq!(err.kind(), berth_domain::ErrorKind::Internal, "{err}");
    assert_eq!(claim_of(&m, new).as_deref(), Some("acme"));
    m.with(|w| w.failing.clear());
    let error = CaughtError { error: "Berth.Internal".into(), cause: err.to_string() };
    settled(&m, Operation::Update, &c, None, Some(error), Some(json!({ "services": [] }))).await;

    // The offboarding (its plan the recorded one, with the old name) gives both names back.
    let off = take(&m, Operation::Offboard, request("acme", "off-1", json!({})), "exec-off").await.unwrap();
    let torn = rollback::run(&cx(&m, teardown()), TeardownInput { plan: off.plan.clone(), keep_log_groups: false }).await.unwrap();
    assert!(torn.leftovers.is_empty(), "{torn:?}");
    assert!(torn.removed.contains(&format!("host_claim {new}")), "{torn:?}");
    assert_eq!((claim_of(&m, old), claim_of(&m, new)), (None, None));
    assert!(claims(&m).is_empty());
}

#[tokio::test]
async fn an_update_to_a_certificate_that_does_not_serve_the_new_name_is_refused_at_the_grow_and_claims_nothing() {
    use berth_steps::{reshape, Phase, ReshapeInput};
    let m = memory();
    let (a, b) = ("arn:aws:acm:us-east-1:123456789012:certificate/a", "arn:aws:acm:us-east-1:123456789012:certificate/b");
    m.with(|w| {
        w.import_certificate(a, &["www.acme-old.example"]);
        w.import_certificate(b, &["www.acme-old.example"]);
    });
    let domain = |execution: &str, hostname: &str, arn: &str| {
        desired_plan("acme", execution, |r| r["domain"] = json!({ "hostname": hostname, "certificate_arn": arn }))
    };
    onboarded(&m, domain("exec-1", "www.acme-old.example", a)).await;
    let before = own_domain_state(&m);
    let c = take_for_update(&m, &domain("exec-u", "www.acme-new.example", b)).await.unwrap();
    let grow = ReshapeInput { plan: c.reshape.plan.clone().unwrap(), remove: Vec::new(), phase: Some(Phase::Grow) };
    let err = reshape::run(&cx(&m, teardown()), grow).await.unwrap_err();
    assert_eq!(err.kind(), berth_domain::ErrorKind::InvalidRequest, "{err}");
    assert!(err.to_string().contains("domain.certificate_arn") && err.to_string().contains("not www.acme-new.example"), "{err}");
    assert_eq!(own_domain_state(&m), before);
    assert_eq!(m.with(|w| w.hosts.get("www.acme-new.example").cloned()), None);
}

#[tokio::test]
async fn a_certificate_two_customers_serve_their_domains_with_stays_on_the_listener_until_the_last_is_done() {
    let m = memory();
    let wildcard = "arn:aws:acm:us-east-1:123456789012:certificate/partner-wildcard";
    m.with(|w| w.import_certificate(wildcard, &["*.partner.example"]));
    let domain = |customer: &str, execution: &str, hostname: Option<&str>| {
        desired_plan(customer, execution, |r| {
            if let Some(h) = hostname {
                r["domain"] = json!({ "hostname": h, "certificate_arn": wildcard });
            }
        })
    };
    let on_listener = |m: &Memory| m.with(|w| w.listener_certificates.get(LISTENER).cloned().unwrap_or_default());
    onboarded(&m, domain("acme", "exec-a", Some("acme.partner.example"))).await;
    onboarded(&m, domain("beta", "exec-b", Some("beta.partner.example"))).await;
    onboarded(&m, domain("gamma", "exec-g", Some("gamma.partner.example"))).await;
    assert_eq!(on_listener(&m), [wildcard]);

    // acme's domain taken away by an update: beta and gamma still serve theirs with it.
    let out = update_through(&m, &domain("acme", "exec-a2", None), false).await;
    assert!(out.succeeded, "{out:?}");
    assert_eq!(on_listener(&m), [wildcard]);
    // beta offboarded: gamma still does.
    let off = take(&m, Operation::Offboard, request("beta", "off-b", json!({})), "exec-off-b").await.unwrap();
    let torn = rollback::run(&cx(&m, teardown()), TeardownInput { plan: off.plan.clone(), keep_log_groups: false }).await.unwrap();
    assert!(torn.leftovers.is_empty(), "{torn:?}");
    assert_eq!(on_listener(&m), [wildcard]);
    // gamma offboarded: the last one, the certificate comes off.
    let off = take(&m, Operation::Offboard, request("gamma", "off-g", json!({})), "exec-off-g").await.unwrap();
    rollback::run(&cx(&m, teardown()), TeardownInput { plan: off.plan.clone(), keep_log_groups: false }).await.unwrap();
    assert!(on_listener(&m).is_empty());
    m.with(|w| assert!(w.certificate_users.is_empty(), "{:?}", w.certificate_users));
}
