//! Task definitions and services on the shared ECS cluster.

use std::collections::BTreeMap;

use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
use aws_sdk_ecs::operation::RequestId;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration,
    KeyValuePair, LaunchType, LoadBalancer, LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, PortMapping, PropagateTags,
    Secret, Service, ServiceField, Tag, TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};
use aws_sdk_ecs::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use berth_domain::BerthError;

use crate::classify::{built, classify};
use crate::model::{ServiceObserved, ServiceSpec, TaskDefinitionObserved, TaskDefinitionSpec};
use crate::ports::{Result, Services, TaskDefinitions};

const SERVICE: &str = "ecs";

#[derive(Debug, Clone)]
pub struct EcsApi {
    client: Client,
}

impl EcsApi {
    pub fn new(client: Client) -> Self {
        EcsApi { client }
    }
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect()
}

fn observe_service(s: &Service) -> ServiceObserved {
    ServiceObserved {
        name: s.service_name().unwrap_or_default().to_string(),
        arn: s.service_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        task_definition: s.task_definition().unwrap_or_default().to_string(),
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        deployments: s.deployments().len(),
        rollout_state: s
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.rollout_state())
            .map(|r| r.as_str().to_string()),
        security_groups: s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|a| a.security_groups().to_vec())
            .unwrap_or_default(),
        tags: tag_map(s.tags()),
    }
}

impl TaskDefinitions for EcsApi {
    async fn latest(&self, family: &str) -> Result<Option<TaskDefinitionObserved>> {
        match self.client.describe_task_definition().task_definition(family).include(TaskDefinitionField::Tags).send().await {
            Ok(out) => {
                let Some(td) = out.task_definition() else { return Ok(None) };
                Ok(Some(TaskDefinitionObserved {
                    arn: td.task_definition_arn().unwrap_or_default().to_string(),
                    revision: td.revision(),
                    active: td.status() == Some(&TaskDefinitionStatus::Active),
                    tags: tag_map(out.tags()),
                }))
            }
            // ECS answers a family it has never seen with this ClientException.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeTaskDefinitionError::ClientException(ce))
                        if ce.message().is_some_and(|m| m.starts_with("Unable to describe task definition"))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(SERVICE, "DescribeTaskDefinition", e)),
        }
    }

    async fn register(&self, spec: &TaskDefinitionSpec) -> Result<TaskDefinitionObserved> {
        let env: Vec<KeyValuePair> = spec.environment.iter().map(|(k, v)| KeyValuePair::builder().name(k).value(v).build()).collect();
        let mut secrets = Vec::new();
        for (k, arn) in &spec.secrets {
            secrets.push(built(Secret::builder().name(k).value_from(arn).build())?);
        }
        let logs = built(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", &spec.log_group)
                .options("awslogs-region", &spec.log_region)
                .options("awslogs-stream-prefix", &spec.container_name)
                .build(),
        )?;
        let mut container = ContainerDefinition::builder()
            .name(&spec.container_name)
            .image(&spec.image)
            .essential(true)
            .set_environment(Some(env))
            .set_secrets(if secrets.is_empty() { None } else { Some(secrets) })
            .log_configuration(logs);
        if let Some(port) = spec.port {
            container =
                container.port_mappings(PortMapping::builder().container_port(i32::from(port)).protocol(TransportProtocol::Tcp).build());
        }
        let out = self
            .client
            .register_task_definition()
            .family(&spec.family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .execution_role_arn(&spec.execution_role_arn)
            .task_role_arn(&spec.task_role_arn)
            .container_definitions(container.build())
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RegisterTaskDefinition", e))?;
        let td = out
            .task_definition()
            .ok_or_else(|| BerthError::Internal(format!("RegisterTaskDefinition {} returned nothing", spec.family)))?;
        Ok(TaskDefinitionObserved {
            arn: td.task_definition_arn().unwrap_or_default().to_string(),
            revision: td.revision(),
            active: true,
            tags: spec.tags.clone(),
        })
    }

    async fn families(&self, prefix: &str) -> Result<Vec<String>> {
        let mut families = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_task_definition_families()
                .family_prefix(prefix)
                .status(TaskDefinitionFamilyStatus::Active)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListTaskDefinitionFamilies", e))?;
            families.extend(out.families().iter().filter(|f| f.starts_with(prefix)).cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(families)
    }

    async fn revisions(&self, family: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListTaskDefinitions", e))?;
            // `familyPrefix` is the whole family name on AWS; keep exactly that family anyway.
            arns.extend(out.task_definition_arns().iter().filter(|a| family_of(a) == Some(family)).cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(arns)
    }

    async fn retire(&self, arn: &str) -> Result<bool> {
        match self.client.deregister_task_definition().task_definition(arn).send().await {
            Ok(_) => {}
            Err(e) if is_missing(e.message()) => return Ok(false),
            Err(e) => return Err(classify(SERVICE, "DeregisterTaskDefinition", e)),
        }
        let out = self
            .client
            .delete_task_definitions()
            .task_definitions(arn)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteTaskDefinitions", e))?;
        match out.failures().first() {
            Some(f) if !is_missing(f.reason()) => Err(BerthError::Aws {
                kind: berth_domain::ErrorKind::Internal,
                service: SERVICE,
                operation: "DeleteTaskDefinitions",
                code: f.reason().map(str::to_string),
                message: f.detail().map(str::to_string),
                source: format!("DeleteTaskDefinitions failure for {arn} (request {:?})", out.request_id()).into(),
            }),
            _ => Ok(true),
        }
    }
}

/// The family of a task definition ARN (`...:task-definition/{family}:{revision}`).
pub fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit('/').next()?.rsplit_once(':').map(|(f, _)| f)
}

/// ECS reports a task definition it does not know with a ClientException whose message
/// says so.
fn is_missing(message: Option<&str>) -> bool {
    message.is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("does not exist") || m.contains("not found") || m.contains("unable to describe")
    })
}

impl Services for EcsApi {
    async fn describe(&self, cluster: &str, names: &[String]) -> Result<Vec<ServiceObserved>> {
        let mut found = Vec::new();
        // DescribeServices takes at most 10 names per call.
        for chunk in names.chunks(10) {
            let out = self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeServices", e))?;
            found.extend(out.services().iter().map(observe_service));
        }
        Ok(found)
    }

    async fn create(&self, spec: &ServiceSpec) -> Result<ServiceObserved> {
        let vpc = built(
            AwsVpcConfiguration::builder()
                .set_subnets(Some(spec.subnets.clone()))
                .set_security_groups(Some(spec.security_groups.clone()))
                .assign_public_ip(AssignPublicIp::Disabled)
                .build(),
        )?;
        let mut req = self
            .client
            .create_service()
            .cluster(&spec.cluster)
            .service_name(&spec.name)
            .task_definition(&spec.task_definition_arn)
            .desired_count(i32::try_from(spec.desired_count).unwrap_or(i32::MAX))
            .launch_type(LaunchType::Fargate)
            .network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
                    .maximum_percent(200)
                    .minimum_healthy_percent(100)
                    .build(),
            )
            .client_token(&spec.client_token)
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_tags(Some(tags(&spec.tags)));
        if let Some((tg, container, port)) = &spec.load_balancer {
            req = req
                .load_balancers(
                    LoadBalancer::builder().target_group_arn(tg).container_name(container).container_port(i32::from(*port)).build(),
                )
                .health_check_grace_period_seconds(60);
        }
        let out = req.send().await.map_err(|e| classify(SERVICE, "CreateService", e))?;
        let s = out.service().ok_or_else(|| BerthError::Internal(format!("CreateService {} returned nothing", spec.name)))?;
        Ok(observe_service(s))
    }

    async fn update(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
        network: Option<(&[String], &[String])>,
    ) -> Result<ServiceObserved> {
        let mut req = self
            .client
            .update_service()
            .cluster(cluster)
            .service(name)
            .task_definition(task_definition_arn)
            .desired_count(i32::try_from(desired_count).unwrap_or(i32::MAX));
        if let Some((subnets, groups)) = network {
            let vpc = built(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(subnets.to_vec()))
                    .set_security_groups(Some(groups.to_vec()))
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build(),
            )?;
            req = req.network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build());
        }
        let out = req.send().await.map_err(|e| classify(SERVICE, "UpdateService", e))?;
        let s = out.service().ok_or_else(|| BerthError::Internal(format!("UpdateService {name} returned nothing")))?;
        Ok(observe_service(s))
    }

    async fn remove(&self, cluster: &str, name: &str) -> Result<bool> {
        let gone = |code: Option<&str>| matches!(code, Some("ServiceNotFoundException" | "ServiceNotActiveException"));
        match self.client.update_service().cluster(cluster).service(name).desired_count(0).send().await {
            Ok(_) => {}
            Err(e) if gone(e.code()) => return Ok(false),
            Err(e) => return Err(classify(SERVICE, "UpdateService", e)),
        }
        match self.client.delete_service().cluster(cluster).service(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if gone(e.code()) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteService", e)),
        }
    }
}
