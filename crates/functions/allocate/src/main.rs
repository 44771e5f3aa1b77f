//! The allocate Lambda: places the customer on an ALB of the pool and takes its listener-rule
//! priorities there, atomically in DynamoDB.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry, ElbApi};
use berth_adapters::config::TableConfig;
use berth_steps::lambda::{handle, Event};
use berth_steps::{allocate, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let sdk = sdk_config("berth-allocate").await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let elb = ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
    let registry = &registry;
    let elb = &elb;
    run(service_fn(move |event: Event| async move {
        handle("allocate", event, |state: State| async move { allocate::run(registry, elb, &state).await }).await
    }))
    .await
}
