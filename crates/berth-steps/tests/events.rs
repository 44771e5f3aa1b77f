//! `events/`: the onboarding request (`onboard.json`: the intake Lambda's event and the
//! state machine's input) and one input per step, for
//! `cargo lambda invoke`, the console and the tests. The step events are derived from
//! `onboard.json` by the real validate step; this test fails when they drift.
//! Regenerate with `BERTH_WRITE_EVENTS=1 cargo test -p berth-steps --test events`.

use std::path::PathBuf;

use berth_adapters::model::ServiceObserved;
use berth_domain::catalog::Catalog;
use berth_domain::plan::HealthPolicy;
use berth_domain::validate::Settings;
use berth_steps::*;
use serde_json::{json, Value};

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_signup-7f3c2a91";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/berth-shared-1/0123456789abcdef/0123456789abcdef";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn events() -> Vec<(&'static str, Value)> {
    let request: Value = serde_json::from_str(&std::fs::read_to_string(root().join("events/onboard.json")).unwrap()).unwrap();
    let settings = Settings {
        domain: "saas.example.com".into(),
        image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        log_retention_days: 30,
        health: HealthPolicy { interval_seconds: 1, max_attempts: 20 },
        name_prefix: "berth".into(),
    };
    let validate_input = ValidateInput { request: request.clone(), execution_id: EXECUTION.into() };
    let plan = validate::run(validate_input.clone(), &Catalog::builtin(), &settings).unwrap();
    let mut state = State { plan: Some(plan.clone()), ..Default::default() };
    let register = json!(state);
    state.register = Some(RegisterOutput {
        customer_id: plan.customer_id.clone(),
        state: berth_domain::state::CustomerState::Provisioning,
        host: plan.host.clone(),
        records: vec![],
    });
    let allocate = json!(state);
    state.allocation = Some(AllocationOutput {
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
    });
    let resources = json!(state);
    let arn = |kind: &str, name: &str| format!("arn:aws:{kind}:us-east-1:123456789012:{name}");
    state.resources = Some(ResourcesOutput {
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
                rule_arn: state
                    .allocation
                    .as_ref()
                    .unwrap()
                    .priorities
                    .iter()
                    .find(|p| p.service == s.name)
                    .map(|p| format!("{LISTENER}/rule-{}", p.priority)),
                priority: state.allocation.as_ref().unwrap().priorities.iter().find(|p| p.service == s.name).map(|p| p.priority),
                task_definition_arn: arn("ecs", &format!("task-definition/{}:1", s.task_family)),
                service_arn: arn("ecs", &format!("service/berth-shared/{}", s.ecs_service)),
            })
            .collect(),
        created: vec![],
        fixed: vec![],
    });
    let check = json!(state);
    state.health = Some(HealthOutput {
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
                tags: Default::default(),
            })
            .collect(),
        targets: state
            .resources
            .as_ref()
            .unwrap()
            .services
            .iter()
            .filter_map(|s| {
                Some(TargetGroupHealth { service: s.service.clone(), target_group_arn: s.target_group_arn.clone()?, healthy: 1, wanted: 1 })
            })
            .collect(),
    });
    let dns = json!(state);
    state.dns = Some(DnsOutput {
        host: plan.host.clone(),
        alias_target: "dualstack.berth-shared-1-123456789.us-east-1.elb.amazonaws.com".into(),
        records: vec!["A".into(), "AAAA".into()],
        change_id: "/change/C0123456789".into(),
    });
    let activate = json!(state);
    // A failure after the resources step: the health gate timed out.
    let mut failed = state.clone();
    failed.health = None;
    failed.dns = None;
    failed.error = Some(CaughtError {
        error: "Berth.Timeout".into(),
        // A literal: how a map prints depends on serde_json's features in the build.
        cause: r#"{"errorType":"Berth.Timeout","errorMessage":"not healthy after 20 checks 1s apart: acme-api (running 0/1, 1 deployments, rollout IN_PROGRESS)"}"#.into(),
    });
    let rollback = json!(failed);
    let held = failed.resources.clone().unwrap();
    let mut removed = Vec::new();
    removed.extend(held.services.iter().map(|s| format!("service {}", s.service_arn)));
    removed.extend(held.services.iter().map(|s| format!("task_definition {}", s.task_definition_arn)));
    removed.extend(held.services.iter().filter_map(|s| s.rule_arn.as_ref().map(|r| format!("listener_rule {r}"))));
    removed.extend(held.services.iter().filter_map(|s| s.target_group_arn.as_ref().map(|r| format!("target_group {r}"))));
    removed.extend(held.services.iter().map(|s| format!("log_group {}", s.log_group)));
    failed.rollback = Some(RollbackOutput {
        customer_id: plan.customer_id.clone(),
        owned: true,
        removed,
        leftovers: vec![],
        released_priorities: state.allocation.as_ref().unwrap().priorities.iter().map(|p| p.priority).collect(),
        host_released: true,
    });
    vec![
        ("validate", json!(validate_input)),
        ("register", register),
        ("allocate", allocate),
        ("resources", resources),
        ("check", check),
        ("dns", dns),
        ("activate", activate),
        ("rollback", rollback),
        ("fail", json!(failed)),
    ]
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
        if step != "validate" {
            let state: State = berth_steps::lambda::parse(&committed).unwrap();
            assert!(state.plan().is_ok());
        }
    }
}
