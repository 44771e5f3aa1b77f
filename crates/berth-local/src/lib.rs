//! berth's local loop against the moto emulator: no AWS account, no Docker.
//!
//! - [`router`]: sits on moto's `MOTO_PORT`; sends Lambda invocations to `cargo lambda
//!   watch` (turning its HTTP 500 into `X-Amz-Function-Error: Unhandled`, as Lambda does)
//!   and everything else to moto; counts API calls per caller, service and operation.
//! - [`bootstrap`]: the shared infrastructure and the state machine, in the emulator.
//! - [`stack`]: starts and stops moto, the router and `cargo lambda watch`, by PID.
//! - [`runner`]: starts an execution and follows it step by step.

pub mod bench;
pub mod bootstrap;
pub mod faults;
pub mod figures;
pub mod http;
pub mod router;
pub mod runner;
pub mod stack;

/// The account and region the emulator runs as.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// Access key ids tell the router who is calling: the Lambdas, or an observer (the runner,
/// the tests) whose calls are not part of an onboarding.
pub const LAMBDA_ACCESS_KEY: &str = "BERTHLAMBDA";
pub const OBSERVER_ACCESS_KEY: &str = "BERTHOBSERVER";

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// An SDK configuration pointed at the local endpoint with observer credentials.
pub async fn observer_config(endpoint: &str) -> aws_config::SdkConfig {
    let creds = aws_config::Region::new(REGION);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(creds)
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(OBSERVER_ACCESS_KEY, "observer-secret", None, None, "berth-local"))
        .load()
        .await
}
