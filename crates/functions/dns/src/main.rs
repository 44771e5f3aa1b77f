//! The dns Lambda: alias records for the customer's host (in the ledger since registration).
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::DNS, berth_steps::dns::run).await
}
