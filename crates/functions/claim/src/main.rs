//! The claim Lambda: checks a suspend, resume or offboarding request and takes the customer
//! for the execution (one lifecycle execution per customer at a time).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::CLAIM, berth_steps::claim::run).await
}
