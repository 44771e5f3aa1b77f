//! The waves Lambda: a fleet rollout's customers, chosen and cut into waves.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::WAVES, berth_steps::waves::run).await
}
