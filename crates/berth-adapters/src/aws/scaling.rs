//! Application Auto Scaling of the customers' services: each one's task count
//! (`ecs:service:DesiredCount` of `service/{cluster}/{service}`), tracking its average CPU.

use aws_sdk_applicationautoscaling::operation::delete_scaling_policy::DeleteScalingPolicyError;
use aws_sdk_applicationautoscaling::operation::deregister_scalable_target::DeregisterScalableTargetError;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_applicationautoscaling::Client;

use crate::classify::{built, classify};
use crate::model::{ScalableTargetObserved, ScalingPolicyObserved};
use crate::ports::{Result, Scaling};

const SERVICE: &str = "application-autoscaling";

/// Seconds between two scaling activities of a target-tracking policy.
pub const SCALE_OUT_COOLDOWN: i32 = 60;
pub const SCALE_IN_COOLDOWN: i32 = 300;

#[derive(Debug, Clone)]
pub struct ScalingApi {
    client: Client,
}

impl ScalingApi {
    pub fn new(client: Client) -> Self {
        ScalingApi { client }
    }
}

/// The resource id of a service's task count.
pub fn resource_id(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("service/{cluster}/{service}")
}

fn suspended_state(suspended: bool) -> SuspendedState {
    SuspendedState::builder()
        .dynamic_scaling_in_suspended(suspended)
        .dynamic_scaling_out_suspended(suspended)
        .scheduled_scaling_suspended(suspended)
        .build()
}

/// DescribeScalableTargets takes at most this many resource ids.
const IDS_PER_CALL: usize = 50;

impl Scaling for ScalingApi {
    async fn target(&self, cluster: &str, service: &str) -> Result<Option<ScalableTargetObserved>> {
        Ok(self.targets(cluster, &[service.to_string()]).await?.into_iter().next())
    }

    async fn targets(&self, cluster: &str, services: &[String]) -> Result<Vec<ScalableTargetObserved>> {
        let ids: Vec<String> = services.iter().map(|s| resource_id(cluster, s)).collect();
        let mut found = Vec::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let out = self
                .client
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_resource_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeScalableTargets", e))?;
            found.extend(out.scalable_targets().iter().filter(|t| chunk.iter().any(|id| id == t.resource_id())).map(|t| {
                let s = t.suspended_state();
                ScalableTargetObserved {
                    resource_id: t.resource_id().to_string(),
                    min: t.min_capacity().max(0) as u32,
                    max: t.max_capacity().max(0) as u32,
                    suspended: s.is_some_and(|s| {
                        s.dynamic_scaling_in_suspended() == Some(true)
                            && s.dynamic_scaling_out_suspended() == Some(true)
                            && s.scheduled_scaling_suspended() == Some(true)
                    }),
                }
            }));
        }
        Ok(found)
    }

    async fn register(&self, cluster: &str, service: &str, min: u32, max: u32, suspended: bool) -> Result<()> {
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id(cluster, service))
            .min_capacity(min as i32)
            .max_capacity(max as i32)
            .suspended_state(suspended_state(suspended))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RegisterScalableTarget", e))?;
        Ok(())
    }

    async fn policies(&self, cluster: &str, service: &str) -> Result<Vec<ScalingPolicyObserved>> {
        let out = self
            .client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id(cluster, service))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DescribeScalingPolicies", e))?;
        let id = resource_id(cluster, service);
        Ok(out
            .scaling_policies()
            .iter()
            .filter(|p| p.resource_id() == id)
            .map(|p| ScalingPolicyObserved {
                name: p.policy_name().to_string(),
                arn: p.policy_arn().to_string(),
                cpu_target: p.target_tracking_scaling_policy_configuration().map(|c| c.target_value()),
            })
            .collect())
    }

    async fn put_cpu_policy(&self, cluster: &str, service: &str, name: &str, cpu_target: u32) -> Result<()> {
        let metric =
            built(PredefinedMetricSpecification::builder().predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization).build())?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(f64::from(cpu_target))
            .predefined_metric_specification(metric)
            .scale_out_cooldown(SCALE_OUT_COOLDOWN)
            .scale_in_cooldown(SCALE_IN_COOLDOWN)
            .build();
        let config = built(config)?;
        self.client
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id(cluster, service))
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutScalingPolicy", e))?;
        Ok(())
    }

    /// Its policies are deleted first (deregistering deletes them too; deleting them first
    /// leaves none behind whatever happens after), then the target.
    async fn deregister(&self, cluster: &str, service: &str) -> Result<bool> {
        if self.target(cluster, service).await?.is_none() {
            return Ok(false);
        }
        for p in self.policies(cluster, service).await? {
            match self
                .client
                .delete_scaling_policy()
                .policy_name(&p.name)
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id(cluster, service))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if matches!(e.as_service_error(), Some(DeleteScalingPolicyError::ObjectNotFoundException(_))) => {}
                Err(e) => return Err(classify(SERVICE, "DeleteScalingPolicy", e)),
            }
        }
        match self
            .client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id(cluster, service))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(DeregisterScalableTargetError::ObjectNotFoundException(_))) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeregisterScalableTarget", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_services_resource_id_names_its_cluster_and_service() {
        assert_eq!(resource_id("berth-shared", "berth-acme-api"), "service/berth-shared/berth-acme-api");
        assert_eq!(resource_id("arn:aws:ecs:us-east-1:1:cluster/shared", "s"), "service/shared/s");
    }
}
