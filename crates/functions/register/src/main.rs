//! The register Lambda: checks the host is free of DNS records berth does not own, then the
//! customer record (PROVISIONING), its host claim and the ledger entry of its DNS record.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_steps::serve(&berth_steps::pipeline::REGISTER, berth_steps::register::run).await
}
