//! berth's local loop against the moto emulator: no AWS account, no Docker.
//!
//! - [`router`]: sits on moto's `MOTO_PORT`; sends Lambda invocations to `cargo lambda
//!   watch`, the runtime API the functions poll (turning its HTTP 500 into `X-Amz-Function-Error: Unhandled`, as Lambda does)
//!   and everything else to moto; counts API calls per caller, service and operation.
//! - [`bootstrap`]: the shared infrastructure and the state machine, in the emulator.
//! - [`stack`]: starts and stops moto, the router, `cargo lambda watch` and the functions'
//!   instances, by PID.
//! - [`runner`]: starts an execution and follows it step by step.

pub mod bench;
pub mod bootstrap;
pub mod faults;
pub mod figures;
pub mod http;
pub mod limits;
pub mod packing;
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
    local_config(endpoint, OBSERVER_ACCESS_KEY).await
}

/// An SDK configuration pointed at the local endpoint, calling with this access key id (the
/// router counts calls by it).
pub async fn local_config(endpoint: &str, access_key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(access_key, "local-secret", None, None, "berth-local"))
        .load()
        .await
}
