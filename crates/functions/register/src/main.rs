//! The register Lambda: checks the host is free of DNS records berth does not own, then the
//! customer record (PROVISIONING), its host claim and the ledger entry of its DNS record.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry, Route53Api};
use berth_adapters::config::{DnsConfig, TableConfig};
use berth_steps::lambda::{handle, Event};
use berth_steps::{register, State};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let dns = DnsConfig::from_env()?;
    let sdk = sdk_config("berth-register").await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let route53 = Route53Api::new(aws_sdk_route53::Client::new(&sdk));
    let (registry, route53, dns) = (&registry, &route53, &dns);
    run(service_fn(move |event: Event| async move {
        handle("register", event, |state: State| async move { register::run(registry, registry, route53, dns, &state).await }).await
    }))
    .await
}
