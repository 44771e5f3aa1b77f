//! Typed configuration read once from the environment at Lambda start.

use berth_domain::naming;
use berth_domain::plan::HealthPolicy;
use berth_domain::validate::Settings;
use berth_domain::BerthError;

/// Reads one variable; a missing or empty one names itself in the error.
pub fn var(name: &str) -> Result<String, BerthError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(BerthError::NotFound(format!("configuration: environment variable {name} is not set"))),
    }
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string())
}

fn parse<T: std::str::FromStr>(name: &str, default: &str) -> Result<T, BerthError> {
    let raw = var_or(name, default);
    raw.parse().map_err(|_| BerthError::Internal(format!("configuration: {name}={raw} is not a valid number")))
}

/// The validate step's settings.
pub fn settings_from_env() -> Result<Settings, BerthError> {
    let s = Settings {
        domain: var("BERTH_DOMAIN")?.to_ascii_lowercase(),
        image_registry: var("BERTH_IMAGE_REGISTRY")?,
        log_retention_days: parse("BERTH_LOG_RETENTION_DAYS", "30")?,
        health: HealthPolicy {
            interval_seconds: parse("BERTH_HEALTH_INTERVAL_SECONDS", "15")?,
            max_attempts: parse("BERTH_HEALTH_MAX_ATTEMPTS", "40")?,
        },
        name_prefix: var_or("BERTH_NAME_PREFIX", naming::DEFAULT_NAME_PREFIX),
    };
    let v = s.check();
    if v.is_empty() {
        Ok(s)
    } else {
        Err(BerthError::Internal(format!("configuration: {v}")))
    }
}

/// The DynamoDB table.
#[derive(Debug, Clone)]
pub struct TableConfig {
    pub table: String,
}

impl TableConfig {
    pub fn from_env() -> Result<Self, BerthError> {
        Ok(TableConfig { table: var("BERTH_TABLE")? })
    }
}

/// The shared infrastructure the resources step builds on.
#[derive(Debug, Clone)]
pub struct InfraConfig {
    pub cluster: String,
    pub vpc_id: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub region: String,
}

impl InfraConfig {
    pub fn from_env() -> Result<Self, BerthError> {
        let list = |name: &str| -> Result<Vec<String>, BerthError> {
            let v: Vec<String> = var(name)?.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            if v.is_empty() {
                return Err(BerthError::NotFound(format!("configuration: {name} lists nothing")));
            }
            Ok(v)
        };
        Ok(InfraConfig {
            cluster: var("BERTH_CLUSTER")?,
            vpc_id: var("BERTH_VPC_ID")?,
            subnets: list("BERTH_SUBNETS")?,
            security_groups: list("BERTH_SECURITY_GROUPS")?,
            execution_role_arn: var("BERTH_EXECUTION_ROLE_ARN")?,
            task_role_arn: var("BERTH_TASK_ROLE_ARN")?,
            region: var("AWS_REGION").or_else(|_| var("AWS_DEFAULT_REGION"))?,
        })
    }
}

/// Where customers' DNS records go (they point at the ALB each customer was placed on).
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub hosted_zone_id: String,
}

impl DnsConfig {
    pub fn from_env() -> Result<Self, BerthError> {
        Ok(DnsConfig { hosted_zone_id: var("BERTH_HOSTED_ZONE_ID")? })
    }
}

/// The ECS cluster (for the health check).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub cluster: String,
}

impl ClusterConfig {
    pub fn from_env() -> Result<Self, BerthError> {
        Ok(ClusterConfig { cluster: var("BERTH_CLUSTER")? })
    }
}
