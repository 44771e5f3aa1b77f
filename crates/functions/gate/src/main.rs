//! The gate Lambda: after each wave of a rollout, the tally and the decision to go on or
//! stop. It calls no AWS API.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::lambda::serve_pure(&berth_steps::pipeline::GATE, berth_steps::gate::run).await
}
