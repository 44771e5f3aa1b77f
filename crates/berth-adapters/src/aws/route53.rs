//! The customer's alias records in Route 53.

use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use aws_sdk_route53::Client;

use crate::classify::{built, classify};
use crate::model::{AliasObserved, AliasSpec, RecordObserved};
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

impl Route53Api {
    async fn change_cname(&self, hosted_zone_id: &str, action: ChangeAction, name: &str, value: &str) -> Result<()> {
        let set = built(
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(built(ResourceRecord::builder().value(value).build())?)
                .build(),
        )?;
        let change = built(Change::builder().action(action).resource_record_set(set).build())?;
        self.change(hosted_zone_id, format!("berth: validation of {name}"), vec![change]).await.map(|_| ())
    }

    /// One change batch to the zone; returns its change id.
    async fn change(&self, hosted_zone_id: &str, comment: String, changes: Vec<Change>) -> Result<String> {
        let batch = built(ChangeBatch::builder().comment(comment).set_changes(Some(changes)).build())?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(hosted_zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ChangeResourceRecordSets", e))?;
        Ok(out.change_info().map(|c| c.id().to_string()).unwrap_or_default())
    }

    /// Every record set at exactly `name`. Route 53 lists a zone in name order, each name's
    /// sets together, so the listing starts at the name and stops at the first other name.
    async fn at(&self, hosted_zone_id: &str, name: &str) -> Result<Vec<ResourceRecordSet>> {
        let want = normalize(name);
        let mut found = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        loop {
            let (start_name, start_type, start_id) = match start.take() {
                Some((n, t, id)) => (n, Some(t), id),
                None => (want.clone(), None, None),
            };
            let out = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(hosted_zone_id)
                .start_record_name(start_name)
                .set_start_record_type(start_type)
                .set_start_record_identifier(start_id)
                .max_items(10)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListResourceRecordSets", e))?;
            let sets = out.resource_record_sets();
            let other = sets.iter().any(|r| normalize(r.name()) != want);
            found.extend(sets.iter().filter(|r| normalize(r.name()) == want).cloned());
            match (out.is_truncated(), other, out.next_record_name(), out.next_record_type()) {
                (true, false, Some(n), Some(t)) if normalize(n) == want => {
                    start = Some((n.to_string(), t.clone(), out.next_record_identifier().map(str::to_string)));
                }
                _ => break,
            }
        }
        Ok(found)
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
        self.change(&spec.hosted_zone_id, format!("berth: alias for {}", spec.name), changes).await
    }

    async fn records(&self, hosted_zone_id: &str, name: &str) -> Result<Vec<RecordObserved>> {
        Ok(self
            .at(hosted_zone_id, name)
            .await?
            .iter()
            .map(|r| RecordObserved {
                name: r.name().to_string(),
                record_type: r.r#type().as_str().to_string(),
                alias_target: r.alias_target().map(|a| a.dns_name().to_string()),
            })
            .collect())
    }

    async fn aliases(&self, hosted_zone_id: &str, name: &str) -> Result<Vec<AliasObserved>> {
        Ok(self
            .at(hosted_zone_id, name)
            .await?
            .iter()
            .filter(|r| matches!(r.r#type(), RrType::A | RrType::Aaaa))
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
        self.change(hosted_zone_id, "berth: cleanup".into(), changes).await?;
        Ok(true)
    }

    async fn cname(&self, hosted_zone_id: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .at(hosted_zone_id, name)
            .await?
            .iter()
            .find(|r| *r.r#type() == RrType::Cname)
            .and_then(|r| r.resource_records().first().map(|v| v.value().to_string())))
    }

    async fn upsert_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> Result<()> {
        self.change_cname(hosted_zone_id, ChangeAction::Upsert, name, value).await
    }

    async fn delete_cname(&self, hosted_zone_id: &str, name: &str, value: &str) -> Result<bool> {
        match self.cname(hosted_zone_id, name).await? {
            Some(v) if normalize(&v) == normalize(value) => {
                self.change_cname(hosted_zone_id, ChangeAction::Delete, name, &v).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn zone_of(&self, name: &str) -> Result<Option<String>> {
        // The zones of the name's domains, longest first: one ListHostedZonesByName each,
        // starting at the domain (the list is in name order).
        let name = normalize(name);
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        for i in 0..labels.len().saturating_sub(1) {
            let domain = format!("{}.", labels[i..].join("."));
            let out = self
                .client
                .list_hosted_zones_by_name()
                .dns_name(&domain)
                .max_items(1)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListHostedZonesByName", e))?;
            if let Some(z) =
                out.hosted_zones().iter().find(|z| normalize(z.name()) == domain && !z.config().is_some_and(|c| c.private_zone()))
            {
                return Ok(Some(z.id().trim_start_matches("/hostedzone/").to_string()));
            }
        }
        Ok(None)
    }
}

/// Route 53 names are absolute and case-insensitive: compare them with one trailing dot,
/// lower case.
fn normalize(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}
