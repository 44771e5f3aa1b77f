//! The activate Lambda: the customer becomes ACTIVE with its outputs.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry};
use berth_adapters::config::TableConfig;
use berth_steps::lambda::{handle, Event};
use berth_steps::{activate, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk_config("berth-activate").await), table.table);
    let registry = &registry;
    run(service_fn(move |event: Event| async move {
        handle("activate", event, |state: State| async move { activate::run(registry, &state).await }).await
    }))
    .await
}
