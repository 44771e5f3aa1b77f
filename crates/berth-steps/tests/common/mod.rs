//! The fakes and fixtures the step tests share.
#![allow(dead_code)]

use berth_adapters::config::{
    ClusterConfig, DnsConfig, InfraConfig, IntakeConfig, RegisterConfig, ScaleConfig, TableConfig, TeardownConfig,
};
use berth_adapters::memory::Memory;
use berth_domain::catalog::Catalog;
use berth_domain::naming::HostForm;
use berth_domain::plan::{HealthPolicy, Plan};
use berth_domain::pool::{Alb, AlbState, Capacity};
use berth_domain::validate::Settings;
use berth_steps::*;
use serde_json::{json, Value};

pub const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/1";
pub const STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:berth-onboard";

pub fn settings() -> Settings {
    Settings {
        domain: "saas.example.com".into(),
        image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
        log_retention_days: 30,
        health: HealthPolicy { interval_seconds: 0, max_attempts: 3 },
        name_prefix: "berth".into(),
        product_host_form: Default::default(),
    }
}

/// A step's context over the fakes.
pub fn cx<C>(m: &Memory, config: C) -> Context<C, &Memory> {
    Context::new(config, m)
}

pub fn table() -> TableConfig {
    TableConfig { table: "berth".into() }
}

pub fn register_config() -> RegisterConfig {
    RegisterConfig { table: "berth".into(), hosted_zone_id: "Z1".into() }
}

/// The ALBs' security group of the fakes.
pub const ALB_SECURITY_GROUP: &str = "sg-0a1b";
/// The permissions boundary of the customers' roles.
pub const ROLE_BOUNDARY: &str = "arn:aws:iam::123456789012:policy/berth-customer-boundary";

pub fn infra() -> InfraConfig {
    InfraConfig {
        table: "berth".into(),
        hosted_zone_id: "Z1".into(),
        cluster: "shared".into(),
        vpc_id: "vpc-1".into(),
        subnets: vec!["subnet-a".into()],
        alb_security_group: ALB_SECURITY_GROUP.into(),
        egress: berth_domain::access::Egress::All,
        role_boundary_arn: ROLE_BOUNDARY.into(),
        account: berth_domain::access::Account { partition: "aws".into(), id: "123456789012".into(), region: "us-east-1".into() },
        region: "us-east-1".into(),
    }
}

pub fn cluster() -> ClusterConfig {
    ClusterConfig { cluster: "shared".into() }
}

/// The hosted zone of the fakes.
pub fn zone() -> DnsConfig {
    DnsConfig { hosted_zone_id: "Z1".into() }
}

pub fn teardown() -> TeardownConfig {
    TeardownConfig {
        table: "berth".into(),
        cluster: "shared".into(),
        hosted_zone_id: "Z1".into(),
        vpc_id: "vpc-1".into(),
        region: "us-east-1".into(),
    }
}

pub fn scale_config() -> ScaleConfig {
    ScaleConfig { table: "berth".into(), cluster: "shared".into() }
}

pub fn intake_config() -> IntakeConfig {
    let machine = |name: &str| STATE_MACHINE.replace("berth-onboard", name);
    IntakeConfig {
        table: "berth".into(),
        state_machine_arn: STATE_MACHINE.into(),
        update_state_machine_arn: machine("berth-update"),
        suspend_state_machine_arn: machine("berth-suspend"),
        resume_state_machine_arn: machine("berth-resume"),
        offboard_state_machine_arn: machine("berth-offboard"),
        bus: "berth-bus".into(),
        event_source: "berth".into(),
        sbt_control_plane_source: berth_domain::sbt::DEFAULT_CONTROL_PLANE_SOURCE.into(),
        settings: settings(),
    }
}

pub fn request(customer: &str) -> Value {
    // The sample's secret references are acme's: the customer's own, by their names.
    let text = include_str!("../../../../events/onboard.json").replace(":secret:acme/", &format!(":secret:{customer}/"));
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["customer_id"] = json!(customer);
    v
}

/// An onboarding execution's state as the onboarding machine keeps it (each step's result
/// at its path), and each step's input as the machine's `Parameters` build it.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub plan: Option<Plan>,
    pub register: Option<RegisterOutput>,
    pub allocation: Option<AllocationOutput>,
    pub resources: Option<ResourcesOutput>,
    pub health: Option<HealthOutput>,
    pub dns: Option<DnsOutput>,
    pub error: Option<CaughtError>,
    pub rollback: Option<RollbackOutput>,
    pub rollback_error: Option<CaughtError>,
}

impl State {
    pub fn plan(&self) -> Plan {
        self.plan.clone().expect("a plan")
    }
    pub fn plan_input(&self) -> PlanInput {
        PlanInput { plan: self.plan() }
    }
    pub fn teardown_input(&self) -> TeardownInput {
        TeardownInput { plan: self.plan(), keep_log_groups: false }
    }
    pub fn resources_input(&self) -> ResourcesInput {
        ResourcesInput { plan: self.plan(), placement: self.allocation.clone().expect("placed") }
    }
    pub fn check_input(&self) -> CheckInput {
        let services = self.resources.as_ref().map(|r| r.services.clone()).unwrap_or_default();
        CheckInput {
            plan: self.plan(),
            target_groups: services
                .into_iter()
                .map(|s| TargetGroupRef { service: s.service, target_group_arn: s.target_group_arn })
                .collect(),
            attempts: self.health.as_ref().map_or(0, |h| h.attempts),
        }
    }
    pub fn dns_input(&self) -> DnsInput {
        DnsInput {
            plan: self.plan(),
            alb: self.allocation.clone().expect("placed").alb,
            healthy: self.health.as_ref().is_some_and(|h| h.stable),
            adopted: self.register.as_ref().map(|r| r.records.clone()).unwrap_or_default(),
        }
    }
    pub fn activate_input(&self) -> ActivateInput {
        ActivateInput {
            plan: self.plan(),
            placement: self.allocation.clone().expect("placed"),
            resources: self.resources.clone().expect("resources"),
            dns: self.dns.clone().expect("dns"),
        }
    }
    pub fn fail_input(&self) -> FailInput {
        let rollback = match (&self.rollback, &self.rollback_error) {
            (_, Some(e)) => RollbackOutcome::Failed(e.clone()),
            (Some(r), None) => RollbackOutcome::Done(r.clone()),
            (None, None) => panic!("the fail step runs after the rollback"),
        };
        FailInput { plan: self.plan(), error: self.error.clone().expect("an error"), rollback }
    }
}

/// The plan of `products` (each service at tag 1.0.0) in the given host form, with the
/// customer's own domain when given.
pub fn product_plan(customer: &str, execution: &str, products: &[&str], form: HostForm, domain: Option<Value>) -> Plan {
    let mut r = request(customer);
    r["products"] = json!(products);
    let catalog = Catalog::builtin();
    let services: serde_json::Map<String, Value> =
        products.iter().flat_map(|p| catalog.products[*p].services.keys().map(|s| (s.clone(), json!({"image_tag": "1.0.0"})))).collect();
    r["services"] = Value::Object(services);
    if let Some(d) = domain {
        r["domain"] = d;
    }
    let s = Settings { product_host_form: form, ..settings() };
    validate::plan(ValidateInput { request: r, execution_id: execution.into() }, &catalog, &s).unwrap()
}

pub fn planned(customer: &str, execution: &str) -> State {
    let plan =
        validate::plan(ValidateInput { request: request(customer), execution_id: execution.into() }, &Catalog::builtin(), &settings())
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
