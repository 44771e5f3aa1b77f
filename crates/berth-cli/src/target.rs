//! Where `berth` acts: a deployment on AWS, read with the usual AWS configuration (profile,
//! region, `AWS_ENDPOINT_URL`) and the deployment's variables from the environment, or the
//! local stack, read from its `stack.json`.

use std::collections::BTreeMap;
use std::path::Path;

use berth_adapters::config::{Env, FromEnv, IntakeConfig};

use crate::CliError;

/// The access key id `berth` calls the local stack with (the local stack's router counts
/// calls by it).
pub const LOCAL_ACCESS_KEY: &str = "berth-cli";

/// An SDK configuration and the deployment's variables.
pub struct Target {
    pub sdk: aws_config::SdkConfig,
    /// The deployment's variables: the local stack's, or this process's environment.
    pub env: Env,
    /// `--table`, over `BERTH_TABLE`.
    pub table: Option<String>,
}

/// What `berth` reads of a local stack's `stack.json`.
#[derive(Debug, serde::Deserialize)]
struct LocalStack {
    endpoint: String,
    region: String,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

impl Target {
    /// A deployment on AWS (or wherever `AWS_ENDPOINT_URL` points).
    pub async fn aws(table: Option<String>) -> Target {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Target { sdk, env: Env::process(), table }
    }

    /// The local stack whose `stack.json` is in `dir` (`make local-up`: `.local`).
    pub async fn local(dir: &Path, table: Option<String>) -> Result<Target, CliError> {
        let path = dir.join("stack.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Config(format!("{}: {e} (is the local stack up? `make local-up`)", path.display())))?;
        let stack: LocalStack =
            serde_json::from_str(&text).map_err(|e| CliError::Config(format!("{}: not a local stack's file: {e}", path.display())))?;
        if stack.environment.is_empty() {
            return Err(CliError::Config(format!("{}: names no deployment variables (start the stack again)", path.display())));
        }
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(stack.region))
            .endpoint_url(stack.endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                LOCAL_ACCESS_KEY,
                "berth-local-secret",
                None,
                None,
                "berth-cli",
            ))
            .load()
            .await;
        Ok(Target { sdk, env: Env::from_map(stack.environment), table })
    }

    /// The registry table: `--table`, else `BERTH_TABLE`.
    pub fn table(&self) -> Result<String, CliError> {
        if let Some(t) = &self.table {
            return Ok(t.clone());
        }
        self.env.var("BERTH_TABLE").map_err(|_| {
            CliError::Config("the registry table: give --table or set BERTH_TABLE (the stack's TableName output), or use --local".into())
        })
    }

    /// The customer machines the deployment names (onboard, update, suspend, resume,
    /// offboard), those it knows.
    pub fn machines(&self) -> Vec<String> {
        ["ONBOARD", "UPDATE", "SUSPEND", "RESUME", "OFFBOARD"]
            .iter()
            .map(|m| self.env.var_or(&format!("BERTH_{m}_STATE_MACHINE_ARN"), ""))
            .filter(|arn| !arn.is_empty())
            .collect()
    }

    /// What the intake runs with, read from the deployment's variables (the intake function's
    /// own environment on AWS: see the README).
    pub fn intake(&self) -> Result<IntakeConfig, CliError> {
        let mut config = IntakeConfig::read(&self.env).map_err(|e| {
            CliError::Config(format!(
                "{e}: starting a request needs the intake function's variables ({}), or --local",
                IntakeConfig::VARS.join(", ")
            ))
        })?;
        if let Some(t) = &self.table {
            config.table = t.clone();
        }
        Ok(config)
    }
}
