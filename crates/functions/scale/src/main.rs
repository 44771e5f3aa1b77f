//! The scale Lambda: a customer's services to 0 tasks (counts remembered), or back to the
//! remembered counts.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::SCALE, berth_steps::scale::run).await
}
