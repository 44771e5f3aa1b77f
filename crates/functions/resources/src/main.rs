//! The resources Lambda: log groups, target groups, listener rules, task definitions and
#![recursion_limit = "256"]
//! services for one customer, each reconciled.

use berth_adapters::aws::{sdk_config, DynamoRegistry, EcsApi, ElbApi, LogsApi};
use berth_adapters::config::{InfraConfig, TableConfig};
use berth_steps::lambda::{handle, Event};
use berth_steps::resources::{self, Ports};
use berth_steps::State;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let infra = InfraConfig::from_env()?;
    let sdk = sdk_config("berth-resources").await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let elb = ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
    let ecs = EcsApi::new(aws_sdk_ecs::Client::new(&sdk));
    let logs = LogsApi::new(aws_sdk_cloudwatchlogs::Client::new(&sdk));
    let ports = Ports { logs: &logs, target_groups: &elb, rules: &elb, task_definitions: &ecs, services: &ecs, ledger: &registry };
    let ports = &ports;
    let infra = &infra;
    run(service_fn(move |event: Event| async move {
        handle("resources", event, |state: State| async move { resources::run(ports, infra, &state).await }).await
    }))
    .await
}
