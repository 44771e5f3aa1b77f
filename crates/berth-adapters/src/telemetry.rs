//! Structured JSON logs for the Lambdas.

use tracing_subscriber::EnvFilter;

/// Starts JSON logging. The level comes from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default
/// `info`). Events carry their fields (customer, execution, ARNs) as JSON fields.
pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|l| l.to_ascii_lowercase())
        .map(EnvFilter::new)
        .unwrap_or_else(|| EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .try_init();
}
