//! The rollback Lambda: removes, in reverse order, what berth made for a customer (after a
//! failed onboarding, or when it is offboarded), and gives back its priorities and host.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::ROLLBACK, berth_steps::rollback::run).await
}
