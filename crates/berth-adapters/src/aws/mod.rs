//! The AWS SDK implementations of the ports.

pub mod dynamo;
pub mod ecs;
pub mod elb;
pub mod logs;
pub mod route53;
pub mod sfn;

pub use dynamo::DynamoRegistry;
pub use ecs::EcsApi;
pub use elb::ElbApi;
pub use logs::LogsApi;
pub use route53::Route53Api;
pub use sfn::SfnApi;

/// Loads the shared SDK configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` when set). `app` names the caller in every request's User-Agent
/// (`app/{app}`), so CloudTrail (and the local router) can tell the functions apart.
pub async fn sdk_config(app: &str) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match aws_config::AppName::new(app.to_string()) {
        Ok(name) => loader.app_name(name).load().await,
        Err(_) => loader.load().await,
    }
}
