//! The intake Lambda: the portal's entry point. Validates an onboarding request and starts
//! the execution named after the customer and the request's idempotency key, once.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry, SfnApi};
use berth_adapters::config::{self, TableConfig};
use berth_domain::catalog::Catalog;
use berth_steps::intake;
use berth_steps::lambda::{handle, Event};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let settings = config::settings_from_env()?;
    let table = TableConfig::from_env()?;
    let state_machine_arn = config::var("BERTH_ONBOARD_STATE_MACHINE_ARN")?;
    let catalog = Catalog::builtin();
    let sdk = sdk_config("berth-intake").await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let sfn = SfnApi::new(aws_sdk_sfn::Client::new(&sdk));
    let (registry, sfn, catalog, settings, state_machine_arn) = (&registry, &sfn, &catalog, &settings, &state_machine_arn);
    run(service_fn(move |event: Event| async move {
        handle("intake", event, |request: serde_json::Value| async move {
            intake::run(registry, sfn, catalog, settings, state_machine_arn, request).await
        })
        .await
    }))
    .await
}
