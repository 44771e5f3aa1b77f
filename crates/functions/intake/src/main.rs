//! The intake Lambda: the portal's entry point. Validates an onboarding request and starts
//! the execution named after the customer and the request's idempotency key, once.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::INTAKE, berth_steps::intake::run).await
}
