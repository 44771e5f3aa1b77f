//! The reshape Lambda: for an update that adds or removes products, the customer's
//! priorities and listener rules to its new services, or the removed services taken away.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::RESHAPE, berth_steps::reshape::run).await
}
