//! The HTTP API Lambda: the portal's requests over an API Gateway HTTP API (or a function
//! URL), answered with API Gateway v2 responses.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::API, berth_steps::api::run).await
}
