//! The dns Lambda: alias records for the customer's host (in the ledger since registration).
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, Route53Api};
use berth_adapters::config::DnsConfig;
use berth_steps::lambda::{handle, Event};
use berth_steps::{dns, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let cfg = DnsConfig::from_env()?;
    let route53 = Route53Api::new(aws_sdk_route53::Client::new(&sdk_config("berth-dns").await));
    let (route53, cfg) = (&route53, &cfg);
    run(service_fn(move |event: Event| async move {
        handle("dns", event, |state: State| async move { dns::run(route53, cfg, &state).await }).await
    }))
    .await
}
