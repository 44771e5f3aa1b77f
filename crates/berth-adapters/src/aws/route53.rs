//! The customer's alias records in Route 53.

use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
use aws_sdk_route53::Client;

use crate::classify::{built, classify};
use crate::model::{AliasObserved, AliasSpec};
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

    async fn aliases(&self, hosted_zone_id: &str, name: &str) -> Result<Vec<AliasObserved>> {
        let want = normalize(name);
        let out = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .start_record_name(&want)
            .start_record_type(RrType::A)
            .max_items(4)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ListResourceRecordSets", e))?;
        Ok(out
            .resource_record_sets()
            .iter()
            .filter(|r| normalize(r.name()) == want && matches!(r.r#type(), RrType::A | RrType::Aaaa))
            .filter_map(|r| {
                let a = r.alias_target()?;
                Some(AliasObserved {
                    name: r.name().to_string(),
                    record_type: r.r#type().as_str().to_string(),
                    target_dns_name: a.dns_name().to_string(),
                    target_hosted_zone_id: a.hosted_zone_id().to_string(),
                    evaluate_target_health: a.evaluate_target_health(),
                })
            })
            .collect())
    }

    async fn delete_aliases(&self, hosted_zone_id: &str, records: &[AliasObserved]) -> Result<bool> {
        if records.is_empty() {
            return Ok(false);
        }
        let mut changes = Vec::new();
        for r in records {
            let target = built(
                AliasTarget::builder()
                    .hosted_zone_id(&r.target_hosted_zone_id)
                    .dns_name(&r.target_dns_name)
                    .evaluate_target_health(r.evaluate_target_health)
                    .build(),
            )?;
            let set = built(
                ResourceRecordSet::builder().name(&r.name).r#type(RrType::from(r.record_type.as_str())).alias_target(target).build(),
            )?;
            changes.push(built(Change::builder().action(ChangeAction::Delete).resource_record_set(set).build())?);
        }
        let batch = built(ChangeBatch::builder().comment("berth: cleanup").set_changes(Some(changes)).build())?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ChangeResourceRecordSets", e))?;
        Ok(true)
    }
}

/// Route 53 names are absolute and case-insensitive: compare them with one trailing dot,
/// lower case.
fn normalize(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}
