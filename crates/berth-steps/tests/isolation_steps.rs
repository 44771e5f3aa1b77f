//! The customer's own role and security group over the in-memory fakes: made once, put back
//! when they drift, never taken over from someone else, refused at the account's role quota
//! before anything is made, and gone after a rollback.

use berth_adapters::memory::Memory;
use berth_adapters::model::{RoleObserved, SecurityGroupObserved};
use berth_domain::access::{self, Permission, ROLE_POLICY_NAME};
use berth_domain::ErrorKind;
use berth_steps::{allocate, register, resources, rollback};
use serde_json::json;

mod common;
use common::*;

async fn provision(m: &Memory, customer: &str, execution: &str) -> State {
    let mut state = planned(customer, execution);
    state.register = Some(register::run(&cx(m, register_config()), state.plan_input()).await.unwrap());
    state.allocation = Some(allocate::run(&cx(m, table()), state.plan_input()).await.unwrap());
    state.resources = Some(resources::run(&cx(m, infra()), state.resources_input()).await.unwrap());
    state
}

fn role(m: &Memory, name: &str) -> (RoleObserved, serde_json::Value) {
    m.with(|w| {
        let (r, policies) = w.roles.get(name).cloned().unwrap_or_else(|| panic!("no role {name}"));
        (r, policies.get(ROLE_POLICY_NAME).cloned().unwrap_or_default())
    })
}

fn group(m: &Memory, name: &str) -> SecurityGroupObserved {
    m.with(|w| w.security_groups.values().find(|g| g.name == name).cloned()).unwrap_or_else(|| panic!("no group {name}"))
}

#[tokio::test]
async fn the_customers_tasks_get_its_role_and_group_and_nothing_else() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    let plan = state.plan();
    let (r, policy) = role(&m, "berth-acme");
    assert_eq!(r.path, "/berth/");
    assert_eq!(r.boundary_arn.as_deref(), Some(ROLE_BOUNDARY));
    assert_eq!(r.trust, Some(access::trust_policy(&infra().account)));
    assert_eq!(policy, access::role_policy(&plan, &infra().account));
    let g = group(&m, "berth-acme");
    assert_eq!(g.vpc_id, "vpc-1");
    assert_eq!(g.ingress, [Permission::tcp(3000, ALB_SECURITY_GROUP), Permission::tcp(3001, ALB_SECURITY_GROUP)].into_iter().collect());
    assert_eq!(g.egress, access::Egress::All.rules());
    m.with(|w| {
        for s in w.services.values() {
            assert_eq!(s.security_groups, std::slice::from_ref(&g.id), "{}", s.name);
        }
    });
}

#[tokio::test]
async fn a_role_or_group_that_drifted_is_put_back() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    let gid = group(&m, "berth-acme").id;
    m.with(|w| {
        let (r, policies) = w.roles.get_mut("berth-acme").unwrap();
        r.trust = Some(json!({"Version": "2012-10-17", "Statement": []}));
        policies.insert(
            ROLE_POLICY_NAME.into(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        );
        let g = w.security_groups.get_mut(&gid).unwrap();
        g.ingress.insert(Permission::tcp(22, "0.0.0.0/0"));
        g.ingress.remove(&Permission::tcp(3000, ALB_SECURITY_GROUP));
        w.services.get_mut("berth-acme-worker").unwrap().security_groups = vec!["sg-shared".into()];
    });
    let out = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert!(out.created.is_empty(), "{:?}", out.created);
    assert_eq!(out.fixed.len(), 5, "{:?}", out.fixed);
    let (r, policy) = role(&m, "berth-acme");
    assert_eq!(r.trust, Some(access::trust_policy(&infra().account)));
    assert_eq!(policy, access::role_policy(&state.plan(), &infra().account));
    let g = group(&m, "berth-acme");
    assert_eq!(g.ingress, [Permission::tcp(3000, ALB_SECURITY_GROUP), Permission::tcp(3001, ALB_SECURITY_GROUP)].into_iter().collect());
    m.with(|w| assert_eq!(w.services["berth-acme-worker"].security_groups, std::slice::from_ref(&gid)));
    // And again: nothing to do.
    let again = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap();
    assert!(again.created.is_empty() && again.fixed.is_empty(), "{again:?}");
}

#[tokio::test]
async fn a_role_of_the_name_that_is_not_berths_or_lacks_the_boundary_is_a_conflict() {
    for boundary in [None, Some("arn:aws:iam::123456789012:policy/other")] {
        let m = memory();
        let mut state = planned("acme", "exec-1");
        state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
        state.allocation = Some(allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap());
        let tags = match boundary {
            None => [("team".to_string(), "payments".to_string())].into_iter().collect(),
            Some(_) => state.plan().tags.clone(),
        };
        let foreign = RoleObserved {
            name: "berth-acme".into(),
            arn: "arn:aws:iam::123456789012:role/berth/berth-acme".into(),
            path: "/berth/".into(),
            boundary_arn: boundary.map(str::to_string),
            trust: None,
            tags,
        };
        m.with(|w| w.roles.insert("berth-acme".into(), (foreign.clone(), Default::default())));
        let e = resources::run(&cx(&m, infra()), state.resources_input()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains("berth-acme"), "{e}");
        // Untouched: no policy put on it, no trust changed, nothing run with it.
        m.with(|w| {
            assert_eq!(w.roles["berth-acme"], (foreign.clone(), Default::default()));
            assert!(w.task_definitions.is_empty() && w.services.is_empty());
        });
    }
}

#[tokio::test]
async fn the_accounts_role_quota_refuses_an_onboarding_before_anything_is_made() {
    let m = memory();
    m.with(|w| {
        w.role_quota = Some(10);
        w.other_roles = 10;
    });
    let mut state = planned("acme", "exec-1");
    state.register = Some(register::run(&cx(&m, register_config()), state.plan_input()).await.unwrap());
    let e = allocate::run(&cx(&m, table()), state.plan_input()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    assert!(e.to_string().contains("10 of its 10 IAM roles"), "{e}");
    m.with(|w| {
        assert!(w.customers["acme"].priorities.is_empty(), "no priority taken");
        assert!(w.roles.is_empty() && w.security_groups.is_empty());
    });
    // With room for one more, it is placed; a re-run with its role made is placed again
    // though the account is full now.
    m.with(|w| w.other_roles = 9);
    let state = provision(&m, "acme", "exec-1").await;
    assert!(allocate::run(&cx(&m, table()), state.plan_input()).await.is_ok());
}

#[tokio::test]
async fn the_rollback_takes_the_role_and_group_away() {
    let m = memory();
    let state = provision(&m, "acme", "exec-1").await;
    let out = rollback::run(&cx(&m, teardown()), state.teardown_input()).await.unwrap();
    assert!(out.leftovers.is_empty(), "{out:?}");
    // After the services, before the log group.
    let at = |prefix: &str| out.removed.iter().position(|r| r.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {out:?}"));
    assert!(at("service ") < at("security_group ") && at("security_group ") < at("role ") && at("role ") < at("log_group "));
    m.with(|w| assert!(w.roles.is_empty() && w.security_groups.is_empty(), "{:?}", w.remains("acme")));
}
