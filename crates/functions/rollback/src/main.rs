//! The rollback Lambda: after a permanent failure, undoes what the customer's execution
//! created, in reverse order, and gives back its priorities and host.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::ROLLBACK, berth_steps::rollback::run).await
}
