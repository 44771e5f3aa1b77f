//! The dns Lambda: alias records for the customer's host, recorded in the ledger first.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry, Route53Api};
use berth_adapters::config::{DnsConfig, TableConfig};
use berth_steps::lambda::handle;
use berth_steps::{dns, State};
use lambda_runtime::{run, service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let cfg = DnsConfig::from_env()?;
    let table = TableConfig::from_env()?;
    let sdk = sdk_config("berth-dns").await;
    let route53 = Route53Api::new(aws_sdk_route53::Client::new(&sdk));
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let (route53, registry, cfg) = (&route53, &registry, &cfg);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle("dns", event, |state: State| async move { dns::run(route53, registry, cfg, &state).await }).await
    }))
    .await
}
