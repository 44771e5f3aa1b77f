//! The check Lambda: are the customer's services stable yet?
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, EcsApi};
use berth_adapters::config::ClusterConfig;
use berth_steps::lambda::handle;
use berth_steps::{check, State};
use lambda_runtime::{run, service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let cluster = ClusterConfig::from_env()?;
    let ecs = EcsApi::new(aws_sdk_ecs::Client::new(&sdk_config().await));
    let ecs = &ecs;
    let cluster = &cluster;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle("check", event, |state: State| async move { check::run(ecs, &cluster.cluster, &state).await }).await
    }))
    .await
}
