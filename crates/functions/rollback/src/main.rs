//! The rollback Lambda: after a permanent failure, undoes what the customer's execution
//! created, in reverse order, and gives back its priorities and host.
#![recursion_limit = "256"]

use berth_adapters::aws::{sdk_config, DynamoRegistry, EcsApi, ElbApi, LogsApi, Route53Api};
use berth_adapters::config::{ClusterConfig, DnsConfig, TableConfig};
use berth_steps::lambda::{handle, Event};
use berth_steps::rollback::{self, Ports, Site};
use berth_steps::State;
use lambda_runtime::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth_adapters::telemetry::init();
    let table = TableConfig::from_env()?;
    let cluster = ClusterConfig::from_env()?;
    let dns = DnsConfig::from_env()?;
    let sdk = sdk_config("berth-rollback").await;
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), table.table);
    let elb = ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
    let ecs = EcsApi::new(aws_sdk_ecs::Client::new(&sdk));
    let logs = LogsApi::new(aws_sdk_cloudwatchlogs::Client::new(&sdk));
    let route53 = Route53Api::new(aws_sdk_route53::Client::new(&sdk));
    let ports = Ports {
        customers: &registry,
        ledger: &registry,
        placements: &registry,
        logs: &logs,
        target_groups: &elb,
        rules: &elb,
        task_definitions: &ecs,
        services: &ecs,
        dns: &route53,
    };
    let site = Site { cluster: &cluster.cluster, hosted_zone_id: &dns.hosted_zone_id };
    let (ports, site) = (&ports, &site);
    run(service_fn(move |event: Event| async move {
        handle("rollback", event, |state: State| async move { rollback::run(ports, site, &state).await }).await
    }))
    .await
}
