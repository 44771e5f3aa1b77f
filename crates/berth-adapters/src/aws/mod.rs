//! The AWS SDK implementations of the ports.

pub mod acm;
pub mod dynamo;
pub mod ec2;
pub mod ecs;
pub mod elb;
pub mod events;
pub mod iam;
pub mod logs;
pub mod route53;
pub mod scaling;
pub mod sfn;

pub use acm::AcmApi;
pub use dynamo::DynamoRegistry;
pub use ec2::Ec2Api;
pub use ecs::EcsApi;
pub use elb::ElbApi;
pub use events::EventsApi;
pub use iam::IamApi;
pub use logs::LogsApi;
pub use route53::Route53Api;
pub use scaling::ScalingApi;
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

/// Every port over the SDK, built once per Lambda from one SDK configuration. Building a
/// client makes no call; a function uses only the clients its step needs.
#[derive(Debug, Clone)]
pub struct Aws {
    pub registry: DynamoRegistry,
    pub elb: ElbApi,
    pub ecs: EcsApi,
    pub logs: LogsApi,
    pub route53: Route53Api,
    pub sfn: SfnApi,
    pub events: EventsApi,
    pub scaling: ScalingApi,
    pub acm: AcmApi,
    pub iam: IamApi,
    pub ec2: Ec2Api,
}

impl Aws {
    /// `table` is the registry's table; a function whose configuration names none never
    /// calls DynamoDB.
    pub fn new(sdk: &aws_config::SdkConfig, table: Option<&str>) -> Self {
        Aws {
            registry: DynamoRegistry::new(aws_sdk_dynamodb::Client::new(sdk), table.unwrap_or_default()),
            elb: ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(sdk)),
            ecs: EcsApi::new(aws_sdk_ecs::Client::new(sdk)),
            logs: LogsApi::new(aws_sdk_cloudwatchlogs::Client::new(sdk)),
            route53: Route53Api::new(aws_sdk_route53::Client::new(sdk)),
            sfn: SfnApi::new(aws_sdk_sfn::Client::new(sdk)),
            events: EventsApi::new(aws_sdk_eventbridge::Client::new(sdk)),
            scaling: ScalingApi::new(aws_sdk_applicationautoscaling::Client::new(sdk)),
            acm: AcmApi::new(aws_sdk_acm::Client::new(sdk)),
            iam: IamApi::new(aws_sdk_iam::Client::new(sdk)),
            ec2: Ec2Api::new(aws_sdk_ec2::Client::new(sdk)),
        }
    }
}

impl crate::ports::Ports for Aws {
    type Customers = DynamoRegistry;
    type Ledger = DynamoRegistry;
    type Placements = DynamoRegistry;
    type Pool = DynamoRegistry;
    type Executions = SfnApi;
    type LogGroups = LogsApi;
    type TargetGroups = ElbApi;
    type ListenerRules = ElbApi;
    type TaskDefinitions = EcsApi;
    type Services = EcsApi;
    type Dns = Route53Api;
    type Events = EventsApi;
    type Scaling = ScalingApi;
    type Certificates = AcmApi;
    type Roles = IamApi;
    type SecurityGroups = Ec2Api;

    fn customers(&self) -> &DynamoRegistry {
        &self.registry
    }
    fn ledger(&self) -> &DynamoRegistry {
        &self.registry
    }
    fn placements(&self) -> &DynamoRegistry {
        &self.registry
    }
    fn pool(&self) -> &DynamoRegistry {
        &self.registry
    }
    fn executions(&self) -> &SfnApi {
        &self.sfn
    }
    fn logs(&self) -> &LogsApi {
        &self.logs
    }
    fn target_groups(&self) -> &ElbApi {
        &self.elb
    }
    fn rules(&self) -> &ElbApi {
        &self.elb
    }
    fn task_definitions(&self) -> &EcsApi {
        &self.ecs
    }
    fn services(&self) -> &EcsApi {
        &self.ecs
    }
    fn dns(&self) -> &Route53Api {
        &self.route53
    }
    fn events(&self) -> &EventsApi {
        &self.events
    }
    fn scaling(&self) -> &ScalingApi {
        &self.scaling
    }
    fn certificates(&self) -> &AcmApi {
        &self.acm
    }
    fn roles(&self) -> &IamApi {
        &self.iam
    }
    fn security_groups(&self) -> &Ec2Api {
        &self.ec2
    }
}
