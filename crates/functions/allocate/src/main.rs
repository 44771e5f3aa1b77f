//! The allocate Lambda: this customer's listener-rule priorities, atomically in DynamoDB.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry};
use berth_adapters::config::{ListenerConfig, TableConfig};
use berth_steps::lambda::handle;
use berth_steps::{allocate, State};
use lambda_runtime::{run, service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let listener = ListenerConfig::from_env()?;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk_config().await), table.table);
    let registry = &registry;
    let listener = &listener;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle("allocate", event, |state: State| async move { allocate::run(registry, &listener.listener_arn, &state).await }).await
    }))
    .await
}
