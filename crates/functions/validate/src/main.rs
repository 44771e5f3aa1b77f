//! The validate Lambda: request in, plan out. Calls no AWS API.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::lambda::serve_pure(&berth_steps::pipeline::VALIDATE, berth_steps::validate::run).await
}
