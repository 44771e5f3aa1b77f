//! The customer's alias records in Route 53.

use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
use aws_sdk_route53::Client;

use crate::classify::{built, classify};
use crate::model::AliasSpec;
use crate::ports::{Dns, Result};

const SERVICE: &str = "route53";

#[derive(Debug, Clone)]
pub struct Route53Api {
    client: Client,
}

impl Route53Api {
    pub fn new(client: Client) -> Self {
        Route53Api { client }
    }
}

impl Dns for Route53Api {
    async fn upsert_alias(&self, spec: &AliasSpec) -> Result<String> {
        let mut changes = Vec::new();
        for rr in [RrType::A, RrType::Aaaa] {
            let target = built(
                AliasTarget::builder()
                    .hosted_zone_id(&spec.target_hosted_zone_id)
                    .dns_name(&spec.target_dns_name)
                    .evaluate_target_health(true)
                    .build(),
            )?;
            let set = built(ResourceRecordSet::builder().name(&spec.name).r#type(rr).alias_target(target).build())?;
            changes.push(built(Change::builder().action(ChangeAction::Upsert).resource_record_set(set).build())?);
        }
        let batch = built(ChangeBatch::builder().comment(format!("berth: alias for {}", spec.name)).set_changes(Some(changes)).build())?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(&spec.hosted_zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ChangeResourceRecordSets", e))?;
        Ok(out.change_info().map(|c| c.id().to_string()).unwrap_or_default())
    }
}
