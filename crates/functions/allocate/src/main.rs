//! The allocate Lambda: places the customer on an ALB of the pool and takes its listener-rule
//! priorities there, atomically in DynamoDB.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::ALLOCATE, berth_steps::allocate::run).await
}
