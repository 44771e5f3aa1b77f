//! The resources Lambda: log groups, target groups, listener rules, task definitions and
//! services for one customer, each reconciled.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::RESOURCES, berth_steps::resources::run).await
}
