//! The check Lambda: are the customer's services stable and their targets healthy yet?
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::CHECK, berth_steps::check::run).await
}
