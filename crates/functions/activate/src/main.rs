//! The activate Lambda: the customer becomes ACTIVE with its outputs.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::ACTIVATE, berth_steps::activate::run).await
}
