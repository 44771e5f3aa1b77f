//! The validate Lambda: request in, plan out. Calls no AWS API.
#![recursion_limit = "256"]

use berth_adapters::config;
use berth_domain::catalog::Catalog;
use berth_steps::lambda::{handle, Event};
use berth_steps::{validate, ValidateInput};
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let settings = config::settings_from_env()?;
    let catalog = Catalog::builtin();
    let catalog = &catalog;
    let settings = &settings;
    run(service_fn(move |event: Event| async move {
        handle("validate", event, |input: ValidateInput| async move { validate::run(input, catalog, settings) }).await
    }))
    .await
}
