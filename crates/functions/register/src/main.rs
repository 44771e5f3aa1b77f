//! The register Lambda: the customer record (PROVISIONING), its host claim and the ledger
//! entry of its DNS record.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry};
use berth_adapters::config::{DnsConfig, TableConfig};
use berth_steps::lambda::handle;
use berth_steps::{register, State};
use lambda_runtime::{run, service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let dns = DnsConfig::from_env()?;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk_config("berth-register").await), table.table);
    let (registry, dns) = (&registry, &dns);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle("register", event, |state: State| async move { register::run(registry, dns, &state).await }).await
    }))
    .await
}
