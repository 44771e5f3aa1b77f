//! The fakes and fixtures the step tests share.
#![allow(dead_code)]

use berth_adapters::config::{DnsConfig, InfraConfig};
use berth_adapters::memory::Memory;
use berth_domain::catalog::Catalog;
use berth_domain::plan::HealthPolicy;
use berth_domain::pool::{Alb, AlbState, Capacity};
use berth_domain::validate::Settings;
use berth_steps::resources::Ports;
use berth_steps::{rollback, validate, State, ValidateInput};
use serde_json::{json, Value};

pub const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/1";

pub fn settings() -> Settings {
    Settings {
        domain: "saas.example.com".into(),
        image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        log_retention_days: 30,
        health: HealthPolicy { interval_seconds: 0, max_attempts: 3 },
        name_prefix: "berth".into(),
    }
}

pub fn infra() -> InfraConfig {
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

pub fn request(customer: &str) -> Value {
    let mut v: Value = serde_json::from_str(include_str!("../../../../events/onboard.json")).unwrap();
    v["customer_id"] = json!(customer);
    v
}

pub fn planned(customer: &str, execution: &str) -> State {
    let plan =
        validate::run(ValidateInput { request: request(customer), execution_id: execution.into() }, &Catalog::builtin(), &settings())
            .unwrap();
    State { plan: Some(plan), ..Default::default() }
}

/// The fakes, with a pool of one ALB whose listener is LISTENER.
pub fn memory() -> Memory {
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

pub fn ports(m: &Memory) -> Ports<'_, Memory, Memory, Memory, Memory, Memory, Memory> {
    Ports { logs: m, target_groups: m, rules: m, task_definitions: m, services: m, ledger: m }
}

pub fn rollback_ports(m: &Memory) -> rollback::Ports<'_, Memory, Memory, Memory, Memory, Memory, Memory, Memory, Memory, Memory> {
    rollback::Ports {
        customers: m,
        ledger: m,
        placements: m,
        logs: m,
        target_groups: m,
        rules: m,
        task_definitions: m,
        services: m,
        dns: m,
    }
}

/// The hosted zone of the fakes.
pub fn zone() -> DnsConfig {
    DnsConfig { hosted_zone_id: "Z1".into() }
}

pub const SITE: rollback::Site<'static> = rollback::Site { cluster: "shared", hosted_zone_id: "Z1" };
