//! `events/`: the onboarding request (`onboard.json`: the intake Lambda's event and the
//! state machine's input), the lifecycle requests (`suspend.json`, `resume.json`,
//! `offboard.json`) and one input per step, for `cargo lambda invoke`, the console and the
//! tests. The step events are what the onboarding machine's `Parameters` build from
//! `onboard.json` (and the suspend machine's from `suspend.json`: claim, scale, settle), the
//! real validate step's plan and sample results of the steps before; this test fails when
//! they drift, and checks each parses as its step's input.
//! Regenerate with `BERTH_WRITE_EVENTS=1 cargo test -p berth-steps --test events`.

use std::path::PathBuf;

use berth_adapters::model::ServiceObserved;
use berth_domain::catalog::Catalog;
use berth_domain::plan::HealthPolicy;
use berth_domain::validate::Settings;
use berth_steps::pipeline::{self, Machine};
use berth_steps::*;
use serde_json::{json, Value};

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_signup-7f3c2a91";
const SUSPEND_EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:berth-suspend:acme_suspend-2026-11-23";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/berth-shared-1/0123456789abcdef/0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn settings() -> Settings {
    Settings {
        domain: "saas.example.com".into(),
        image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        log_retention_days: 30,
        health: HealthPolicy { interval_seconds: 1, max_attempts: 20 },
        name_prefix: "berth".into(),
        product_host_form: Default::default(),
    }
}

fn events() -> Vec<(&'static str, Value)> {
    let request: Value = serde_json::from_str(&std::fs::read_to_string(root().join("events/onboard.json")).unwrap()).unwrap();
    let request_onboard = request.clone();
    let settings = settings();
    let machine = pipeline::onboard();
    let mut run = Run { machine: &machine, state: request.clone(), events: Vec::new() };
    let plan =
        validate::plan(ValidateInput { request: request.clone(), execution_id: EXECUTION.into() }, &Catalog::builtin(), &settings).unwrap();
    run.step("Validate", json!(plan));
    run.step(
        "Register",
        json!(RegisterOutput {
            customer_id: plan.customer_id.clone(),
            state: berth_domain::state::CustomerState::Provisioning,
            host: plan.host.clone(),
            records: vec![],
        }),
    );
    let allocation = AllocationOutput {
        alb: berth_adapters::model::AlbRef {
            name: "berth-shared-1".into(),
            listener_arn: LISTENER.into(),
            dns_name: "berth-shared-1-123456789.us-east-1.elb.amazonaws.com".into(),
            canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        },
        listener_arn: LISTENER.into(),
        priorities: plan
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| RulePriority { service: r.service.clone(), priority: i as u32 + 1 })
            .collect(),
    };
    run.step("Allocate", json!(allocation));
    let arn = |kind: &str, name: &str| format!("arn:aws:{kind}:us-east-1:123456789012:{name}");
    let resources = ResourcesOutput {
        services: plan
            .services
            .iter()
            .map(|s| ServiceResources {
                service: s.name.clone(),
                log_group: s.log_group.clone(),
                target_group_arn: s
                    .target_group
                    .as_ref()
                    .map(|t| arn("elasticloadbalancing", &format!("targetgroup/{}/0123456789abcdef", t.name))),
                rule_arn: allocation.priorities.iter().find(|p| p.service == s.name).map(|p| format!("{LISTENER}/rule-{}", p.priority)),
                priority: allocation.priorities.iter().find(|p| p.service == s.name).map(|p| p.priority),
                task_definition_arn: arn("ecs", &format!("task-definition/{}:1", s.task_family)),
                service_arn: arn("ecs", &format!("service/berth-shared/{}", s.ecs_service)),
            })
            .collect(),
        created: vec![],
        fixed: vec![],
    };
    run.step("Resources", json!(resources));
    let health = HealthOutput {
        attempts: 1,
        stable: true,
        services: plan
            .services
            .iter()
            .map(|s| ServiceObserved {
                name: s.ecs_service.clone(),
                arn: arn("ecs", &format!("service/berth-shared/{}", s.ecs_service)),
                status: "ACTIVE".into(),
                task_definition: arn("ecs", &format!("task-definition/{}:1", s.task_family)),
                desired_count: s.desired_count as i32,
                running_count: s.desired_count as i32,
                deployments: 1,
                rollout_state: Some("COMPLETED".into()),
                security_groups: Vec::new(),
                tags: Default::default(),
            })
            .collect(),
        targets: resources
            .services
            .iter()
            .filter_map(|s| {
                Some(TargetGroupHealth { service: s.service.clone(), target_group_arn: s.target_group_arn.clone()?, healthy: 1, wanted: 1 })
            })
            .collect(),
    };
    run.step("Check", json!(health));
    run.step(
        "Dns",
        json!(DnsOutput {
            host: plan.host.clone(),
            hosts: plan.hosts(),
            alias_target: "dualstack.berth-shared-1-123456789.us-east-1.elb.amazonaws.com".into(),
            records: vec!["A".into(), "AAAA".into()],
            change_id: "/change/C0123456789".into(),
            own_domain: None,
        }),
    );
    run.event("Activate");
    // A failure after the resources step: the health gate timed out.
    run.state["error"] = json!(CaughtError {
        error: "Berth.Timeout".into(),
        // A literal: how a map prints depends on serde_json's features in the build.
        cause: r#"{"errorType":"Berth.Timeout","errorMessage":"not healthy after 20 checks 1s apart: acme-api (running 0/1, 1 deployments, rollout IN_PROGRESS)"}"#.into(),
    });
    let held = resources.clone();
    let mut removed = Vec::new();
    removed.extend(held.services.iter().map(|s| format!("service {}", s.service_arn)));
    removed.extend(held.services.iter().map(|s| format!("task_definition {}", s.task_definition_arn)));
    removed.extend(held.services.iter().filter_map(|s| s.rule_arn.as_ref().map(|r| format!("listener_rule {r}"))));
    removed.extend(held.services.iter().filter_map(|s| s.target_group_arn.as_ref().map(|r| format!("target_group {r}"))));
    removed.extend(held.services.iter().map(|s| format!("log_group {}", s.log_group)));
    run.step(
        "Rollback",
        json!(RollbackOutput {
            customer_id: plan.customer_id.clone(),
            owned: true,
            removed,
            leftovers: vec![],
            released_priorities: allocation.priorities.iter().map(|p| p.priority).collect(),
            host_released: true,
            kept: vec![],
            not_ours: vec![],
        }),
    );
    run.event("Fail");
    let mut events = run.events;

    // A suspend of the same customer: claim, scale, settle.
    let suspend = pipeline::suspend();
    let request: Value = serde_json::from_str(&std::fs::read_to_string(root().join("events/suspend.json")).unwrap()).unwrap();
    let mut run = Run { machine: &suspend, state: request.clone(), events: Vec::new() };
    let mut taken = plan.clone();
    taken.execution_id = SUSPEND_EXECUTION.into();
    run.step(
        "Claim",
        json!(Claimed {
            plan: taken.clone(),
            request: berth_domain::lifecycle::LifecycleRequest::parse(berth_domain::lifecycle::Operation::Suspend, &request).unwrap(),
            from: berth_domain::state::CustomerState::Active,
            target_groups: resources
                .services
                .iter()
                .map(|s| TargetGroupRef { service: s.service.clone(), target_group_arn: s.target_group_arn.clone() })
                .collect(),
            unchanged: false,
            placement: None,
            before: vec![],
            reshape: Default::default(),
        }),
    );
    let mut zero = taken.clone();
    zero.services.iter_mut().for_each(|s| s.desired_count = 0);
    run.step(
        "Scale",
        json!(ScaleOutput {
            customer_id: taken.customer_id.clone(),
            services: taken
                .services
                .iter()
                .map(|s| Scaled { service: s.name.clone(), ecs_service: s.ecs_service.clone(), from: s.desired_count, to: 0 })
                .collect(),
            plan: zero,
        }),
    );
    run.event("Settle");
    events.extend(run.events);

    // An update that adds a product: validate, claim, then the reshape step takes the
    // numbers of the product's rule.
    let update = pipeline::update();
    let mut request = request_onboard.clone();
    request["products"] = json!(["webapp", "reports"]);
    request["services"]["reports"] = json!({ "image_tag": "2.0.0" });
    let mut run = Run { machine: &update, state: request.clone(), events: Vec::new() };
    let desired =
        validate::plan(ValidateInput { request: request.clone(), execution_id: EXECUTION.into() }, &Catalog::builtin(), &settings).unwrap();
    run.result("Validate", json!(desired));
    let union = desired.union(&plan);
    run.result(
        "Claim",
        json!(Claimed {
            plan: desired.clone(),
            request: berth_domain::lifecycle::LifecycleRequest {
                customer_id: desired.customer_id.clone(),
                idempotency_key: desired.idempotency_key.clone(),
                reason: None,
                keep_log_groups: false,
                requested_by: None,
                note: None,
            },
            from: berth_domain::state::CustomerState::Active,
            target_groups: vec![],
            unchanged: false,
            placement: None,
            before: vec![],
            reshape: Reshape { plan: Some(union), added: desired.services_not_in(&plan), removed: vec![], grow: true, prune: false },
        }),
    );
    run.event("AddProducts");
    events.extend(run.events);

    // A rollout: its waves, then the gate after its first wave.
    let rollout = pipeline::rollout();
    let request: Value = serde_json::from_str(&std::fs::read_to_string(root().join("events/rollout.json")).unwrap()).unwrap();
    let mut run = Run { machine: &rollout, state: request.clone(), events: Vec::new() };
    let parsed = berth_domain::rollout::RolloutRequest::parse(&request).unwrap();
    let customers: Vec<String> = ["acme", "globex", "initech", "umbrella", "hooli", "stark"].iter().map(|c| c.to_string()).collect();
    let waves = berth_domain::rollout::waves(&customers, parsed.canary, parsed.wave_size);
    run.step(
        "Waves",
        json!(Rollout {
            request: parsed,
            waves: waves.clone(),
            gate: Gate { wave: 0, current: waves[0].clone(), done: false, halted: false, tally: Tally::default() },
        }),
    );
    run.state["results"] = json!([WaveResult {
        customer_id: "acme".into(),
        outcome: "settled".into(),
        succeeded: Some(true),
        state: Some(berth_domain::state::CustomerState::Active),
        error: None,
        cause: None,
    }]);
    run.event("Gate");
    events.extend(run.events);
    events
}

/// An onboarding execution walked by hand: each state's input from its `Parameters`, each
/// result placed as its `ResultSelector` and `ResultPath` say.
struct Run<'a> {
    machine: &'a Machine,
    state: Value,
    events: Vec<(&'static str, Value)>,
}

impl Run<'_> {
    fn task(&self, state: &str) -> (Value, &'static str) {
        let (_, step) = self.machine.tasks().into_iter().find(|(n, _)| *n == state).unwrap();
        (self.machine.definition()["States"][state].clone(), step.name)
    }
    fn event(&mut self, state: &str) {
        let (task, step) = self.task(state);
        let input = pipeline::parameters(&task["Parameters"], &self.state, EXECUTION).unwrap_or_else(|e| panic!("{state}: {e}"));
        self.events.push((step, input));
    }
    fn step(&mut self, state: &str, result: Value) {
        self.event(state);
        self.result(state, result);
    }
    /// The state's result, placed without recording its input as an event.
    fn result(&mut self, state: &str, result: Value) {
        let (task, _) = self.task(state);
        pipeline::apply_result(&task, &mut self.state, result, EXECUTION).unwrap();
    }
}

/// The lifecycle machines' inputs are requests their claim accepts.
#[test]
fn lifecycle_examples_are_valid_requests() {
    use berth_domain::lifecycle::{LifecycleRequest, Operation};
    for op in Operation::ALL {
        let path = root().join(format!("events/{op}.json"));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if op == Operation::Update {
            // An update's input is the customer's whole desired spec.
            let plan = validate::plan(ValidateInput { request: v, execution_id: EXECUTION.into() }, &Catalog::builtin(), &settings());
            plan.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        LifecycleRequest::parse(op, &v).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(root().join("events/rollout.json")).unwrap()).unwrap();
    berth_domain::rollout::RolloutRequest::parse(&v).unwrap_or_else(|e| panic!("events/rollout.json: {e}"));
}

#[test]
fn step_events_match_the_onboarding_example() {
    let write = std::env::var("BERTH_WRITE_EVENTS").is_ok();
    for (step, event) in events() {
        let path = root().join(format!("events/{step}.json"));
        if write {
            std::fs::write(&path, serde_json::to_string_pretty(&event).unwrap() + "\n").unwrap();
            continue;
        }
        let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed,
            event,
            "{} is stale: regenerate with BERTH_WRITE_EVENTS=1 cargo test -p berth-steps --test events",
            path.display()
        );
        // And every step event is the shape its step takes.
        let parsed = match step {
            "validate" => berth_steps::lambda::parse::<ValidateInput>(&committed).map(|_| ()),
            "register" | "allocate" => berth_steps::lambda::parse::<PlanInput>(&committed).map(|_| ()),
            "rollback" => berth_steps::lambda::parse::<TeardownInput>(&committed).map(|_| ()),
            "claim" => berth_steps::lambda::parse::<ClaimInput>(&committed).map(|_| ()),
            "scale" => berth_steps::lambda::parse::<ScaleInput>(&committed).map(|_| ()),
            "reshape" => berth_steps::lambda::parse::<ReshapeInput>(&committed).map(|_| ()),
            "settle" => berth_steps::lambda::parse::<SettleInput>(&committed).map(|_| ()),
            "waves" => berth_steps::lambda::parse::<WavesInput>(&committed).map(|_| ()),
            "gate" => berth_steps::lambda::parse::<GateInput>(&committed).map(|_| ()),
            "resources" => berth_steps::lambda::parse::<ResourcesInput>(&committed).map(|_| ()),
            "check" => berth_steps::lambda::parse::<CheckInput>(&committed).map(|_| ()),
            "dns" => berth_steps::lambda::parse::<DnsInput>(&committed).map(|_| ()),
            "activate" => berth_steps::lambda::parse::<ActivateInput>(&committed).map(|_| ()),
            "fail" => berth_steps::lambda::parse::<FailInput>(&committed).map(|_| ()),
            other => panic!("no step {other}"),
        };
        parsed.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

const SBT_TENANT: &str = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";

fn read_json(relative: &str) -> Value {
    let path = root().join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares a generated example with the committed file (or writes it with BERTH_WRITE_EVENTS).
fn check_example(relative: &str, event: &Value) {
    let path = root().join(relative);
    if std::env::var("BERTH_WRITE_EVENTS").is_ok() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(event).unwrap() + "\n").unwrap();
        return;
    }
    assert_eq!(
        &read_json(relative),
        event,
        "{relative} is stale: regenerate with BERTH_WRITE_EVENTS=1 cargo test -p berth-steps --test events"
    );
}

/// `events/sbt.json` (the SBT answers function's example: an SBT tenant's onboarding that
/// succeeded, as EventBridge delivers it) and `events/sbt/answers/`: berth's outcome examples
/// as an SBT tenant's, each keyed as the intake keys the SBT request examples
/// (`events/sbt/*-request.json`), and SBT's answer to each, as the SBT answers function puts
/// it.
#[test]
fn sbt_examples_are_the_mapping_of_the_request_and_outcome_examples() {
    let customer = berth_domain::sbt::customer_id(SBT_TENANT);
    for (outcome, request) in [
        ("onboarding-succeeded", "onboarding-request"),
        ("onboarding-failed", "onboarding-request"),
        ("offboarding-succeeded", "offboarding-request"),
        ("offboarding-failed", "offboarding-request"),
        ("suspend-succeeded", "deactivate-request"),
        ("suspend-failed", "deactivate-request"),
        ("resume-succeeded", "activate-request"),
        ("resume-failed", "activate-request"),
    ] {
        let sbt_request = read_json(&format!("events/sbt/{request}.json"));
        let op = berth_domain::sbt::operation_of(sbt_request["detail-type"].as_str().unwrap()).expect("an SBT request");
        let berth_request = berth_domain::sbt::request(op, sbt_request["id"].as_str().unwrap(), &sbt_request["detail"]).unwrap();
        assert_eq!(berth_request["customer_id"], customer.as_str());
        let key = berth_request["idempotency_key"].as_str().unwrap();

        let mut event = read_json(&format!("events/outcomes/{outcome}.json"));
        let machine = event["resources"][0].as_str().unwrap().to_string();
        let execution = format!("{}:{customer}_{key}", machine.replacen(":stateMachine:", ":execution:", 1));
        event["resources"] = json!([machine, execution]);
        let detail = event["detail"].as_object_mut().unwrap();
        detail.insert("customer_id".into(), json!(customer));
        detail.insert("execution".into(), json!(execution));
        if detail.contains_key("url") {
            detail.insert("url".into(), json!(format!("https://{customer}.saas.example.com")));
        }
        for list in ["rolled_back", "left"] {
            if detail.contains_key(list) {
                detail.insert(list.into(), json!([]));
            }
        }
        if outcome == "onboarding-succeeded" {
            check_example("events/sbt.json", &event);
        }

        let (detail_type, detail) = berth_domain::sbt::answer(event["detail-type"].as_str().unwrap(), &event["detail"]).expect("an answer");
        let answer = json!({
            "version": "0",
            "id": event["id"],
            "detail-type": detail_type,
            "source": berth_domain::sbt::DEFAULT_APPLICATION_PLANE_SOURCE,
            "account": event["account"],
            "time": event["time"],
            "region": event["region"],
            "resources": [],
            "detail": detail,
        });
        check_example(&format!("events/sbt/answers/{detail_type}.json"), &answer);
        berth_steps::lambda::parse::<SbtInput>(&event).unwrap();
    }
}
