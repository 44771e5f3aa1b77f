//! The settle Lambda: how a lifecycle execution ends for its customer, with its history entry.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::SETTLE, berth_steps::settle::run).await
}
