//! The fail Lambda: after a permanent failure and its rollback, the customer becomes
//! FAILED with the error, or ROLLBACK_FAILED with what is left.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::FAIL, berth_steps::fail::run).await
}
