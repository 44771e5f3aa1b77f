//! The fail Lambda: after a permanent failure and its rollback, the customer becomes
//! FAILED with the error, or ROLLBACK_FAILED with what is left.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry};
use berth_adapters::config::TableConfig;
use berth_steps::lambda::{handle, Event};
use berth_steps::{fail, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk_config("berth-fail").await), table.table);
    let registry = &registry;
    run(service_fn(move |event: Event| async move {
        handle("fail", event, |state: State| async move { fail::run(registry, registry, &state).await }).await
    }))
    .await
}
