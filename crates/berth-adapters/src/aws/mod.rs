//! The AWS SDK implementations of the ports.

pub mod dynamo;
pub mod ecs;
pub mod elb;
pub mod logs;
pub mod route53;

pub use dynamo::DynamoRegistry;
pub use ecs::EcsApi;
pub use elb::ElbApi;
pub use logs::LogsApi;
pub use route53::Route53Api;

/// Loads the shared SDK configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` when set).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
