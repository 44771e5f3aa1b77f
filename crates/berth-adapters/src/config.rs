//! Typed configuration, read once from the environment when a Lambda starts. Each function
//! has one configuration type, which declares every variable it reads ([`FromEnv::VARS`]);
//! a test holds each function in `template.yaml` to that list, both ways, and the local
//! stack gives each function exactly those variables.

use std::cell::RefCell;
use std::collections::BTreeMap;

use berth_domain::access::{Account, Egress};
use berth_domain::naming;
use berth_domain::plan::HealthPolicy;
use berth_domain::validate::Settings;
use berth_domain::BerthError;

/// Where configuration is read from: the process environment, or a map (the tests' copy of
/// what the template gives a function). It remembers every name asked for.
#[derive(Debug, Default)]
pub struct Env {
    map: Option<BTreeMap<String, String>>,
    asked: RefCell<Vec<String>>,
}

impl Env {
    pub fn process() -> Self {
        Env::default()
    }

    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Env { map: Some(map), asked: RefCell::default() }
    }

    /// Every name asked for so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.borrow().clone()
    }

    fn get(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().push(name.to_string());
        let v = match &self.map {
            Some(m) => m.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// A required variable; a missing or empty one names itself in the error.
    pub fn var(&self, name: &str) -> Result<String, BerthError> {
        self.get(name).ok_or_else(|| BerthError::NotFound(format!("configuration: environment variable {name} is not set")))
    }

    pub fn var_or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_string())
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, default: &str) -> Result<T, BerthError> {
        let raw = self.var_or(name, default);
        raw.parse().map_err(|_| BerthError::Internal(format!("configuration: {name}={raw} is not a valid number")))
    }

    /// A comma-separated list of at least one item.
    pub fn list(&self, name: &str) -> Result<Vec<String>, BerthError> {
        let v: Vec<String> = self.var(name)?.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if v.is_empty() {
            return Err(BerthError::NotFound(format!("configuration: {name} lists nothing")));
        }
        Ok(v)
    }
}

/// A function's configuration.
pub trait FromEnv: Sized + Send + Sync + 'static {
    /// The deployment's variables this configuration reads (the template sets exactly
    /// these). `AWS_REGION` is the Lambda runtime's own and not listed.
    const VARS: &'static [&'static str];

    fn read(env: &Env) -> Result<Self, BerthError>;

    fn from_env() -> Result<Self, BerthError> {
        Self::read(&Env::process())
    }

    /// The registry's table, for functions that use it.
    fn table(&self) -> Option<&str> {
        None
    }
}

const SETTINGS_VARS: [&str; 7] = [
    "BERTH_DOMAIN",
    "BERTH_IMAGE_REGISTRY",
    "BERTH_LOG_RETENTION_DAYS",
    "BERTH_HEALTH_INTERVAL_SECONDS",
    "BERTH_HEALTH_MAX_ATTEMPTS",
    "BERTH_NAME_PREFIX",
    "BERTH_PRODUCT_HOST_FORM",
];

/// The validate step's settings: what every plan is built with.
impl FromEnv for Settings {
    const VARS: &'static [&'static str] = &SETTINGS_VARS;

    fn read(env: &Env) -> Result<Self, BerthError> {
        let s = Settings {
            domain: env.var("BERTH_DOMAIN")?.to_ascii_lowercase(),
            image_registry: env.var("BERTH_IMAGE_REGISTRY")?,
            log_retention_days: env.number("BERTH_LOG_RETENTION_DAYS", "30")?,
            health: HealthPolicy {
                interval_seconds: env.number("BERTH_HEALTH_INTERVAL_SECONDS", "15")?,
                max_attempts: env.number("BERTH_HEALTH_MAX_ATTEMPTS", "40")?,
            },
            name_prefix: env.var_or("BERTH_NAME_PREFIX", naming::DEFAULT_NAME_PREFIX),
            product_host_form: {
                let form = env.var_or("BERTH_PRODUCT_HOST_FORM", naming::HostForm::default().as_str());
                naming::HostForm::parse(&form).ok_or_else(|| {
                    BerthError::Internal(format!("configuration: BERTH_PRODUCT_HOST_FORM must be dashed or dotted, not '{form}'"))
                })?
            },
        };
        let v = s.check();
        if v.is_empty() {
            Ok(s)
        } else {
            Err(BerthError::Internal(format!("configuration: {v}")))
        }
    }
}

/// No deployment variable at all (a step that decides from its input alone: a rollout's gate).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConfig;

impl FromEnv for NoConfig {
    const VARS: &'static [&'static str] = &[];
    fn read(_env: &Env) -> Result<Self, BerthError> {
        Ok(NoConfig)
    }
}

/// The registry alone (allocate, activate, fail).
#[derive(Debug, Clone)]
pub struct TableConfig {
    pub table: String,
}

impl FromEnv for TableConfig {
    const VARS: &'static [&'static str] = &["BERTH_TABLE"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(TableConfig { table: env.var("BERTH_TABLE")? })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

/// Registration: the registry and the hosted zone whose records it checks.
#[derive(Debug, Clone)]
pub struct RegisterConfig {
    pub table: String,
    pub hosted_zone_id: String,
}

impl FromEnv for RegisterConfig {
    const VARS: &'static [&'static str] = &["BERTH_TABLE", "BERTH_HOSTED_ZONE_ID"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(RegisterConfig { table: env.var("BERTH_TABLE")?, hosted_zone_id: env.var("BERTH_HOSTED_ZONE_ID")? })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

/// The shared infrastructure the resources step builds on, and where the customers' own
/// roles and security groups go.
#[derive(Debug, Clone)]
pub struct InfraConfig {
    pub table: String,
    /// berth's zone: where certificates berth requests are validated.
    pub hosted_zone_id: String,
    pub cluster: String,
    pub vpc_id: String,
    pub subnets: Vec<String>,
    /// The ALBs' security group: the one source the customers' groups let in.
    pub alb_security_group: String,
    /// What the customers' tasks may connect to (`BERTH_SERVICE_EGRESS`: all, https, none).
    pub egress: Egress,
    /// The permissions boundary every customer role carries.
    pub role_boundary_arn: String,
    /// The partition, account and region the customers' role policies name.
    pub account: Account,
    pub region: String,
}

impl FromEnv for InfraConfig {
    const VARS: &'static [&'static str] = &[
        "BERTH_TABLE",
        "BERTH_CLUSTER",
        "BERTH_VPC_ID",
        "BERTH_SUBNETS",
        "BERTH_ALB_SECURITY_GROUP",
        "BERTH_SERVICE_EGRESS",
        "BERTH_ROLE_BOUNDARY_ARN",
        "BERTH_ACCOUNT_ID",
        "BERTH_PARTITION",
        "BERTH_HOSTED_ZONE_ID",
    ];
    fn read(env: &Env) -> Result<Self, BerthError> {
        let region = env.var("AWS_REGION").or_else(|_| env.var("AWS_DEFAULT_REGION"))?;
        let egress_raw = env.var_or("BERTH_SERVICE_EGRESS", Egress::default().as_str());
        let egress = Egress::parse(&egress_raw).ok_or_else(|| {
            BerthError::Internal(format!("configuration: BERTH_SERVICE_EGRESS={egress_raw} is not one of all, https, none"))
        })?;
        let boundary = env.var("BERTH_ROLE_BOUNDARY_ARN")?;
        if !boundary.starts_with("arn:") || !boundary.contains(":iam::") || !boundary.contains(":policy/") {
            return Err(BerthError::Internal(format!("configuration: BERTH_ROLE_BOUNDARY_ARN={boundary} is not an IAM policy ARN")));
        }
        Ok(InfraConfig {
            hosted_zone_id: env.var("BERTH_HOSTED_ZONE_ID")?,
            table: env.var("BERTH_TABLE")?,
            cluster: env.var("BERTH_CLUSTER")?,
            vpc_id: env.var("BERTH_VPC_ID")?,
            subnets: env.list("BERTH_SUBNETS")?,
            alb_security_group: env.var("BERTH_ALB_SECURITY_GROUP")?,
            egress,
            role_boundary_arn: boundary,
            account: Account { partition: env.var_or("BERTH_PARTITION", "aws"), id: env.var("BERTH_ACCOUNT_ID")?, region: region.clone() },
            region,
        })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

/// Where customers' DNS records go (they point at the ALB each customer was placed on).
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub hosted_zone_id: String,
}

impl FromEnv for DnsConfig {
    const VARS: &'static [&'static str] = &["BERTH_HOSTED_ZONE_ID"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(DnsConfig { hosted_zone_id: env.var("BERTH_HOSTED_ZONE_ID")? })
    }
}

/// The ECS cluster (for the health check).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub cluster: String,
}

impl FromEnv for ClusterConfig {
    const VARS: &'static [&'static str] = &["BERTH_CLUSTER"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(ClusterConfig { cluster: env.var("BERTH_CLUSTER")? })
    }
}

/// Suspend and resume: the registry (counts remembered) and the cluster (services scaled).
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    pub table: String,
    pub cluster: String,
}

impl FromEnv for ScaleConfig {
    const VARS: &'static [&'static str] = &["BERTH_TABLE", "BERTH_CLUSTER"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(ScaleConfig { table: env.var("BERTH_TABLE")?, cluster: env.var("BERTH_CLUSTER")? })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

/// Teardown (rollback): the registry and where the shared resources live.
#[derive(Debug, Clone)]
pub struct TeardownConfig {
    pub table: String,
    pub cluster: String,
    pub hosted_zone_id: String,
    /// Where the customers' security groups are.
    pub vpc_id: String,
    /// The region the customers' role policies name (the Lambda runtime's own).
    pub region: String,
}

impl FromEnv for TeardownConfig {
    const VARS: &'static [&'static str] = &["BERTH_TABLE", "BERTH_CLUSTER", "BERTH_HOSTED_ZONE_ID", "BERTH_VPC_ID"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(TeardownConfig {
            table: env.var("BERTH_TABLE")?,
            cluster: env.var("BERTH_CLUSTER")?,
            hosted_zone_id: env.var("BERTH_HOSTED_ZONE_ID")?,
            vpc_id: env.var("BERTH_VPC_ID")?,
            region: env.var("AWS_REGION").or_else(|_| env.var("AWS_DEFAULT_REGION"))?,
        })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

/// Where berth puts its events: its bus and their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTarget {
    pub bus: String,
    pub source: String,
}

/// Every step function's progress events: to berth's bus when the deployment names one
/// (`BERTH_EVENT_BUS_NAME`; none without it), from `BERTH_EVENT_SOURCE` (berth's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressConfig(pub Option<EventTarget>);

pub const PROGRESS_VARS: [&str; 2] = ["BERTH_EVENT_BUS_NAME", "BERTH_EVENT_SOURCE"];

impl FromEnv for ProgressConfig {
    const VARS: &'static [&'static str] = &PROGRESS_VARS;
    fn read(env: &Env) -> Result<Self, BerthError> {
        let bus = env.var_or(PROGRESS_VARS[0], "");
        let source = env.var_or(PROGRESS_VARS[1], berth_domain::events::DEFAULT_SOURCE);
        Ok(ProgressConfig((!bus.is_empty()).then_some(EventTarget { bus, source })))
    }
}

/// The SBT answers: SBT's bus and the application plane's source they are put with.
#[derive(Debug, Clone)]
pub struct SbtConfig {
    pub bus: String,
    pub source: String,
}

impl FromEnv for SbtConfig {
    const VARS: &'static [&'static str] = &["BERTH_SBT_EVENT_BUS_NAME", "BERTH_SBT_APPLICATION_PLANE_SOURCE"];
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(SbtConfig {
            bus: env.var("BERTH_SBT_EVENT_BUS_NAME")?,
            source: env.var_or("BERTH_SBT_APPLICATION_PLANE_SOURCE", berth_domain::sbt::DEFAULT_APPLICATION_PLANE_SOURCE),
        })
    }
}

/// Intake: the registry, the state machines it starts (the onboarding's, and each lifecycle
/// machine's), and the settings it validates with.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    pub table: String,
    pub state_machine_arn: String,
    pub update_state_machine_arn: String,
    pub suspend_state_machine_arn: String,
    pub resume_state_machine_arn: String,
    pub offboard_state_machine_arn: String,
    /// berth's bus, where a rejected request event is answered, and the source it puts.
    pub bus: String,
    pub event_source: String,
    /// The source SBT's control plane puts its requests with.
    pub sbt_control_plane_source: String,
    pub settings: Settings,
}

impl IntakeConfig {
    /// The state machine that runs a lifecycle operation.
    pub fn lifecycle_state_machine(&self, op: berth_domain::lifecycle::Operation) -> &str {
        use berth_domain::lifecycle::Operation;
        match op {
            Operation::Update => &self.update_state_machine_arn,
            Operation::Suspend => &self.suspend_state_machine_arn,
            Operation::Resume => &self.resume_state_machine_arn,
            Operation::Offboard => &self.offboard_state_machine_arn,
        }
    }
}

const INTAKE_VARS: [&str; 16] = [
    "BERTH_TABLE",
    "BERTH_SBT_CONTROL_PLANE_SOURCE",
    "BERTH_EVENT_BUS_NAME",
    "BERTH_EVENT_SOURCE",
    "BERTH_ONBOARD_STATE_MACHINE_ARN",
    "BERTH_UPDATE_STATE_MACHINE_ARN",
    "BERTH_SUSPEND_STATE_MACHINE_ARN",
    "BERTH_RESUME_STATE_MACHINE_ARN",
    "BERTH_OFFBOARD_STATE_MACHINE_ARN",
    SETTINGS_VARS[0],
    SETTINGS_VARS[1],
    SETTINGS_VARS[2],
    SETTINGS_VARS[3],
    SETTINGS_VARS[4],
    SETTINGS_VARS[5],
    SETTINGS_VARS[6],
];

impl FromEnv for IntakeConfig {
    const VARS: &'static [&'static str] = &INTAKE_VARS;
    fn read(env: &Env) -> Result<Self, BerthError> {
        Ok(IntakeConfig {
            table: env.var("BERTH_TABLE")?,
            state_machine_arn: env.var("BERTH_ONBOARD_STATE_MACHINE_ARN")?,
            update_state_machine_arn: env.var("BERTH_UPDATE_STATE_MACHINE_ARN")?,
            suspend_state_machine_arn: env.var("BERTH_SUSPEND_STATE_MACHINE_ARN")?,
            resume_state_machine_arn: env.var("BERTH_RESUME_STATE_MACHINE_ARN")?,
            offboard_state_machine_arn: env.var("BERTH_OFFBOARD_STATE_MACHINE_ARN")?,
            bus: env.var("BERTH_EVENT_BUS_NAME")?,
            event_source: env.var_or("BERTH_EVENT_SOURCE", berth_domain::events::DEFAULT_SOURCE),
            sbt_control_plane_source: env.var_or("BERTH_SBT_CONTROL_PLANE_SOURCE", berth_domain::sbt::DEFAULT_CONTROL_PLANE_SOURCE),
            settings: Settings::read(env)?,
        })
    }
    fn table(&self) -> Option<&str> {
        Some(&self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_missing_variable_names_itself() {
        let e = TeardownConfig::read(&env(&[("BERTH_TABLE", "t"), ("BERTH_CLUSTER", " ")])).unwrap_err();
        assert!(e.to_string().contains("BERTH_CLUSTER is not set"), "{e}");
    }

    #[test]
    fn settings_take_defaults_and_refuse_bad_numbers() {
        let ok = env(&[("BERTH_DOMAIN", "SaaS.Example.com"), ("BERTH_IMAGE_REGISTRY", "r")]);
        let s = Settings::read(&ok).unwrap();
        assert_eq!(
            (s.domain.as_str(), s.log_retention_days, s.health.max_attempts, s.name_prefix.as_str()),
            ("saas.example.com", 30, 40, "berth")
        );
        assert_eq!(ok.asked(), SETTINGS_VARS.to_vec());
        let bad = env(&[("BERTH_DOMAIN", "d.com"), ("BERTH_IMAGE_REGISTRY", "r"), ("BERTH_HEALTH_MAX_ATTEMPTS", "many")]);
        assert!(Settings::read(&bad).unwrap_err().to_string().contains("BERTH_HEALTH_MAX_ATTEMPTS=many"));
    }

    #[test]
    fn lists_split_on_commas_and_must_not_be_empty() {
        assert_eq!(env(&[("L", "a, b,,c")]).list("L").unwrap(), ["a", "b", "c"]);
        assert!(env(&[("L", ",")]).list("L").is_err());
    }
}
