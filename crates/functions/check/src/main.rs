//! The check Lambda: are the customer's services stable and their targets healthy yet?
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, EcsApi, ElbApi};
use berth_adapters::config::ClusterConfig;
use berth_steps::lambda::{handle, Event};
use berth_steps::{check, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let cluster = ClusterConfig::from_env()?;
    let sdk = sdk_config("berth-check").await;
    let ecs = EcsApi::new(aws_sdk_ecs::Client::new(&sdk));
    let elb = ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
    let (ecs, elb, cluster) = (&ecs, &elb, &cluster);
    run(service_fn(move |event: Event| async move {
        handle("check", event, |state: State| async move { check::run(ecs, elb, &cluster.cluster, &state).await }).await
    }))
    .await
}
