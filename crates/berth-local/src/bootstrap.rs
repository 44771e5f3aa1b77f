//! The shared infrastructure berth builds on, created in the emulator: VPC, subnets,
//! security groups, an ALB with an HTTPS listener and its certificate, the ECS cluster, the
//! hosted zone, the table, berth's event bus (with a rule that hands berth's outcome events
//! to a queue, as a portal would take them), and the state machines from the same ASL files
//! and substitutions the SAM template uses.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
};
use berth_adapters::aws::DynamoRegistry;
use berth_adapters::ports::Pool;
use berth_domain::events;
use berth_domain::pool::{self, Alb, AlbState, Capacity};
use berth_steps::pipeline::{machines, EVENT_BUS_SUBSTITUTION, EVENT_SOURCE_SUBSTITUTION, STEPS};
use serde::{Deserialize, Serialize};

use crate::http::{json, query, xml_value};
use crate::{Result, ACCOUNT, REGION};

/// The domain local customers live under.
pub const DOMAIN: &str = "saas.example.com";
pub const TABLE: &str = "berth-local";
pub const CLUSTER: &str = "berth-shared";
/// berth's bus (the template's RequestBus): request events in, outcome events out.
pub const BUS: &str = "berth-bus";
/// The queue a portal would read berth's events from, fed by a rule on the bus.
pub const PORTAL_QUEUE: &str = "berth-portal";
/// SBT's bus (the template's `SbtEventBusName`), and the queue SBT's control plane would
/// hear the application plane's answers on, fed by a rule on the answers' source.
pub const SBT_BUS: &str = "sbt-bus";
pub const SBT_QUEUE: &str = "sbt-control-plane";

/// The local pool: how many ALBs and their quotas (small ones let tests fill it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolOptions {
    pub albs: u32,
    pub rule_quota: u32,
    pub target_group_quota: u32,
    /// Certificates each local ALB may take beside its default one.
    pub certificate_quota: u32,
    /// The deployment's host form for products on hosts of their own.
    pub product_host_form: berth_domain::naming::HostForm,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            albs: 1,
            rule_quota: pool::DEFAULT_RULE_QUOTA,
            target_group_quota: pool::DEFAULT_TARGET_GROUP_QUOTA,
            certificate_quota: pool::DEFAULT_CERTIFICATE_QUOTA,
            product_host_form: Default::default(),
        }
    }
}

/// One ALB the bootstrap made and put in the pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LocalAlb {
    pub name: String,
    pub arn: String,
    pub listener_arn: String,
    pub dns_name: String,
    pub hosted_zone_id: String,
}

/// What the bootstrap made: everything a Lambda's configuration or a test needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Infra {
    pub vpc_id: String,
    pub subnets: Vec<String>,
    pub alb_security_group: String,
    pub service_security_group: String,
    pub certificate_arn: String,
    /// The pool, in creation order; the first ALB's details are repeated below.
    pub albs: Vec<LocalAlb>,
    pub alb_arn: String,
    pub alb_dns_name: String,
    pub alb_hosted_zone_id: String,
    pub listener_arn: String,
    pub cluster: String,
    pub hosted_zone_id: String,
    pub domain: String,
    pub table: String,
    /// The permissions boundary of the customers' roles (`BERTH_ROLE_BOUNDARY_ARN`).
    pub role_boundary_arn: String,
    pub image_registry: String,
    /// The prefix of berth's names (`BERTH_NAME_PREFIX`).
    pub name_prefix: String,
    /// How products on hosts of their own are named (`BERTH_PRODUCT_HOST_FORM`).
    #[serde(default)]
    pub product_host_form: berth_domain::naming::HostForm,
    /// State machine name to ARN.
    pub state_machines: BTreeMap<String, String>,
    /// berth's event bus, and the source of the events berth puts there.
    #[serde(default)]
    pub bus: String,
    #[serde(default)]
    pub event_source: String,
    /// The portal's queue: every event berth puts on the bus, in the envelope EventBridge
    /// delivers.
    #[serde(default)]
    pub portal_queue_url: String,
    /// SBT's bus, and the queue of the answers berth puts there.
    #[serde(default)]
    pub sbt_bus: String,
    #[serde(default)]
    pub sbt_queue_url: String,
}

impl Infra {
    pub fn state_machine(&self, name: &str) -> &str {
        self.state_machines.get(name).map(String::as_str).unwrap_or_default()
    }

    /// The Lambdas' environment, as the SAM template sets it from its parameters.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        let health_interval = std::env::var("BERTH_HEALTH_INTERVAL_SECONDS").unwrap_or_else(|_| "1".into());
        let health_attempts = std::env::var("BERTH_HEALTH_MAX_ATTEMPTS").unwrap_or_else(|_| "20".into());
        [
            ("BERTH_TABLE", self.table.clone()),
            ("BERTH_DOMAIN", self.domain.clone()),
            ("BERTH_IMAGE_REGISTRY", self.image_registry.clone()),
            ("BERTH_NAME_PREFIX", self.name_prefix.clone()),
            ("BERTH_PRODUCT_HOST_FORM", self.product_host_form.as_str().to_string()),
            ("BERTH_LOG_RETENTION_DAYS", "30".into()),
            ("BERTH_HEALTH_INTERVAL_SECONDS", health_interval),
            ("BERTH_HEALTH_MAX_ATTEMPTS", health_attempts),
            ("BERTH_CLUSTER", self.cluster.clone()),
            ("BERTH_VPC_ID", self.vpc_id.clone()),
            ("BERTH_SUBNETS", self.subnets.join(",")),
            ("BERTH_ALB_SECURITY_GROUP", self.alb_security_group.clone()),
            ("BERTH_SERVICE_EGRESS", "all".into()),
            ("BERTH_ROLE_BOUNDARY_ARN", self.role_boundary_arn.clone()),
            ("BERTH_ACCOUNT_ID", ACCOUNT.into()),
            ("BERTH_PARTITION", "aws".into()),
            ("BERTH_HOSTED_ZONE_ID", self.hosted_zone_id.clone()),
            ("BERTH_ONBOARD_STATE_MACHINE_ARN", self.state_machine("berth-onboard").to_string()),
            ("BERTH_UPDATE_STATE_MACHINE_ARN", self.state_machine("berth-update").to_string()),
            ("BERTH_SUSPEND_STATE_MACHINE_ARN", self.state_machine("berth-suspend").to_string()),
            ("BERTH_RESUME_STATE_MACHINE_ARN", self.state_machine("berth-resume").to_string()),
            ("BERTH_OFFBOARD_STATE_MACHINE_ARN", self.state_machine("berth-offboard").to_string()),
            ("BERTH_EVENT_BUS_NAME", self.bus.clone()),
            ("BERTH_EVENT_SOURCE", self.event_source.clone()),
            ("BERTH_SBT_EVENT_BUS_NAME", self.sbt_bus.clone()),
            ("BERTH_SBT_CONTROL_PLANE_SOURCE", berth_domain::sbt::DEFAULT_CONTROL_PLANE_SOURCE.into()),
            ("BERTH_SBT_APPLICATION_PLANE_SOURCE", berth_domain::sbt::DEFAULT_APPLICATION_PLANE_SOURCE.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// The registry's table, as the template declares it (`pk`/`sk`, on demand).
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<()> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build()?)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("sk").attribute_type(ScalarAttributeType::S).build()?)
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build()?)
        .key_schema(KeySchemaElement::builder().attribute_name("sk").key_type(KeyType::Range).build()?)
        .send()
        .await?;
    Ok(())
}

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// The `DefinitionSubstitutions` the local state machines get (on AWS, SAM fills them).
pub fn substitutions() -> BTreeMap<String, String> {
    let mut subs: BTreeMap<String, String> = STEPS.iter().map(|s| (s.substitution(), function_arn(&s.binary()))).collect();
    subs.insert(EVENT_BUS_SUBSTITUTION.into(), BUS.into());
    subs.insert(EVENT_SOURCE_SUBSTITUTION.into(), events::DEFAULT_SOURCE.into());
    subs
}

/// Replaces every `${Key}`; a placeholder left over is an error.
pub fn substitute(definition: &str, subs: &BTreeMap<String, String>) -> Result<String> {
    let mut out = definition.to_string();
    for (k, v) in subs {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    if let Some((_, rest)) = out.split_once("${") {
        let key = rest.split('}').next().unwrap_or_default();
        return Err(format!("definition has no substitution for ${{{key}}}").into());
    }
    Ok(out)
}

/// Creates `bus`, and `queue` behind a rule on it that takes every event from `source`;
/// returns the queue's URL.
async fn bus_to_queue(
    bridge: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    source: &str,
    queue: &str,
    rule: &str,
) -> Result<String> {
    bridge.create_event_bus().name(bus).send().await?;
    let url = sqs.create_queue().queue_name(queue).send().await?.queue_url().unwrap_or_default().to_string();
    bridge.put_rule().name(rule).event_bus_name(bus).event_pattern(serde_json::json!({ "source": [source] }).to_string()).send().await?;
    let target =
        aws_sdk_eventbridge::types::Target::builder().id("queue").arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")).build()?;
    bridge.put_targets().rule(rule).event_bus_name(bus).targets(target).send().await?;
    Ok(url)
}

/// Creates the shared infrastructure and the state machines through `endpoint`.
pub async fn bootstrap(endpoint: &str, root: &Path, pool_options: &PoolOptions) -> Result<Infra> {
    let sdk = crate::observer_config(endpoint).await;

    let vpc_xml = query(endpoint, "ec2", &[("Action", "CreateVpc"), ("Version", "2016-11-15"), ("CidrBlock", "10.40.0.0/16")]).await?;
    let vpc_id = xml_value(&vpc_xml, "vpcId").ok_or("CreateVpc returned no vpcId")?;
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.40.1.0/24", "us-east-1a"), ("10.40.2.0/24", "us-east-1b")] {
        let x = query(
            endpoint,
            "ec2",
            &[("Action", "CreateSubnet"), ("Version", "2016-11-15"), ("VpcId", &vpc_id), ("CidrBlock", cidr), ("AvailabilityZone", az)],
        )
        .await?;
        subnets.push(xml_value(&x, "subnetId").ok_or("CreateSubnet returned no subnetId")?);
    }
    let mut groups = Vec::new();
    for (name, desc) in [("berth-alb", "shared ALB"), ("berth-services", "customer services")] {
        let x = query(
            endpoint,
            "ec2",
            &[
                ("Action", "CreateSecurityGroup"),
                ("Version", "2016-11-15"),
                ("GroupName", name),
                ("GroupDescription", desc),
                ("VpcId", &vpc_id),
            ],
        )
        .await?;
        groups.push(xml_value(&x, "groupId").ok_or("CreateSecurityGroup returned no groupId")?);
    }

    // The customers' roles' permissions boundary, as the template's CustomerRoleBoundary.
    let boundary = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Tasks",
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                "logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue", "ssm:GetParameters",
                "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
                "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"
            ],
            "Resource": "*"
        }]
    })
    .to_string();
    let policy_xml = query(
        endpoint,
        "iam",
        &[("Action", "CreatePolicy"), ("Version", "2010-05-08"), ("PolicyName", "berth-customer-boundary"), ("PolicyDocument", &boundary)],
    )
    .await?;
    let role_boundary_arn = xml_value(&policy_xml, "Arn").ok_or("CreatePolicy returned no Arn")?;

    let cert = json(
        endpoint,
        "acm",
        "CertificateManager.RequestCertificate",
        serde_json::json!({"DomainName": format!("*.{DOMAIN}"), "ValidationMethod": "DNS"}),
    )
    .await?;
    let certificate_arn = cert["CertificateArn"].as_str().ok_or("RequestCertificate returned no ARN")?.to_string();

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let mut albs = Vec::new();
    for i in 1..=pool_options.albs.max(1) {
        let name = format!("berth-shared-{i}");
        let lb = elb
            .create_load_balancer()
            .name(&name)
            .set_subnets(Some(subnets.clone()))
            .security_groups(&groups[0])
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .r#type(LoadBalancerTypeEnum::Application)
            .send()
            .await?;
        let lb = lb.load_balancers().first().ok_or("CreateLoadBalancer returned nothing")?;
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let listener = elb
            .create_listener()
            .load_balancer_arn(&arn)
            .protocol(ProtocolEnum::Https)
            .port(443)
            .certificates(Certificate::builder().certificate_arn(&certificate_arn).build())
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        FixedResponseActionConfig::builder()
                            .status_code("404")
                            .content_type("text/plain")
                            .message_body("no such customer")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await?;
        let listener_arn =
            listener.listeners().first().and_then(|l| l.listener_arn()).ok_or("CreateListener returned nothing")?.to_string();
        albs.push(LocalAlb {
            name,
            arn,
            listener_arn,
            dns_name: lb.dns_name().unwrap_or_default().to_string(),
            hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
        });
    }

    aws_sdk_ecs::Client::new(&sdk).create_cluster().cluster_name(CLUSTER).send().await?;

    let zone = aws_sdk_route53::Client::new(&sdk)
        .create_hosted_zone()
        .name(DOMAIN)
        .caller_reference(format!("berth-local-{}", std::process::id()))
        .send()
        .await?;
    let hosted_zone_id =
        zone.hosted_zone().map(|z| z.id().trim_start_matches("/hostedzone/").to_string()).ok_or("CreateHostedZone returned nothing")?;

    create_table(&aws_sdk_dynamodb::Client::new(&sdk), TABLE).await?;

    // The pool, through the same code the operator's `berth pool add` uses.
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), TABLE);
    for a in &albs {
        registry
            .add(&Alb {
                name: a.name.clone(),
                load_balancer_arn: a.arn.clone(),
                listener_arn: a.listener_arn.clone(),
                dns_name: a.dns_name.clone(),
                canonical_hosted_zone_id: a.hosted_zone_id.clone(),
                state: AlbState::Active,
                rules: Capacity::new(pool_options.rule_quota),
                target_groups: Capacity::new(pool_options.target_group_quota),
                certificates: Capacity::new(pool_options.certificate_quota),
                customers: 0,
            })
            .await
            .map_err(|e| format!("adding {} to the pool: {e}", a.name))?;
    }

    // berth's bus, and the portal's queue behind a rule on berth's source, as a portal
    // would subscribe; SBT's bus, and a queue for what its control plane hears from the
    // application plane.
    let bridge = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let portal_queue_url = bus_to_queue(&bridge, &sqs, BUS, events::DEFAULT_SOURCE, PORTAL_QUEUE, "berth-outcomes-to-portal").await?;
    let sbt_queue_url = bus_to_queue(
        &bridge,
        &sqs,
        SBT_BUS,
        berth_domain::sbt::DEFAULT_APPLICATION_PLANE_SOURCE,
        SBT_QUEUE,
        "sbt-application-plane-to-control-plane",
    )
    .await?;

    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let subs = substitutions();
    let mut state_machines = BTreeMap::new();
    for m in machines() {
        let (name, file) = (m.name, m.file);
        let definition = substitute(&std::fs::read_to_string(root.join(file))?, &subs)?;
        let out = sfn
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/berth-state-machine"))
            .send()
            .await?;
        state_machines.insert(name.to_string(), out.state_machine_arn().to_string());
    }

    Ok(Infra {
        vpc_id,
        subnets,
        alb_security_group: groups[0].clone(),
        service_security_group: groups[1].clone(),
        certificate_arn,
        alb_dns_name: albs[0].dns_name.clone(),
        alb_hosted_zone_id: albs[0].hosted_zone_id.clone(),
        alb_arn: albs[0].arn.clone(),
        listener_arn: albs[0].listener_arn.clone(),
        albs,
        cluster: CLUSTER.to_string(),
        hosted_zone_id,
        domain: DOMAIN.to_string(),
        table: TABLE.to_string(),
        role_boundary_arn,
        image_registry: format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"),
        name_prefix: berth_domain::naming::DEFAULT_NAME_PREFIX.to_string(),
        product_host_form: pool_options.product_host_form,
        state_machines,
        bus: BUS.to_string(),
        event_source: events::DEFAULT_SOURCE.to_string(),
        portal_queue_url,
        sbt_bus: SBT_BUS.to_string(),
        sbt_queue_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_substituted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for m in machines() {
            let text = std::fs::read_to_string(root.join(m.file)).expect("state machine file");
            let out = substitute(&text, &substitutions()).expect("all substituted");
            for (_, step) in m.tasks() {
                assert!(out.contains(&function_arn(&step.binary())), "{}: {}", m.file, step.name);
            }
            assert!(!out.contains("${"), "{}", m.file);
        }
        assert!(substitute("${Nope}", &substitutions()).is_err());
    }
}
