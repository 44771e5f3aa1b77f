//! The SBT answers Lambda: answers SBT's control plane on its bus for each outcome of an SBT
//! tenant's request.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::SBT, berth_steps::sbt::run).await
}
