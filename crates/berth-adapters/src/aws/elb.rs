//! Target groups and listener rules on the shared ALB (Elastic Load Balancing v2).

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::operation::delete_rule::DeleteRuleError;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsError;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, HostHeaderConditionConfig, Matcher, PathPatternConditionConfig, ProtocolEnum, Rule, RuleCondition,
    RulePriorityPair, Tag, TargetGroup, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use berth_domain::BerthError;

use crate::classify::classify;
use crate::model::{RuleObserved, RuleSpec, TargetGroupObserved, TargetGroupSpec, TargetHealthObserved};
use crate::ports::{ListenerRules, Result, TargetGroups};

const SERVICE: &str = "elasticloadbalancing";
/// DescribeRules' largest page.
const RULES_PAGE: i32 = 400;

#[derive(Debug, Clone)]
pub struct ElbApi {
    client: Client,
}

impl ElbApi {
    pub fn new(client: Client) -> Self {
        ElbApi { client }
    }

    /// The tags of each resource (by ARN); DescribeTags takes at most 20 ARNs per call.
    async fn tags_by_arn(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut found = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let out = self
                .client
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeTags", e))?;
            for d in out.tag_descriptions() {
                let tags = d.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()));
                found.insert(d.resource_arn().unwrap_or_default().to_string(), tags.collect());
            }
        }
        Ok(found)
    }
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn observe_tg(tg: &TargetGroup, tags: BTreeMap<String, String>) -> TargetGroupObserved {
    TargetGroupObserved {
        name: tg.target_group_name().unwrap_or_default().to_string(),
        arn: tg.target_group_arn().unwrap_or_default().to_string(),
        port: tg.port().and_then(|p| u16::try_from(p).ok()),
        vpc_id: tg.vpc_id().map(str::to_string),
        health_check_path: tg.health_check_path().map(str::to_string),
        target_type: tg.target_type().map(|t| t.as_str().to_string()),
        tags,
    }
}

/// Reads a rule's host and path conditions and forward targets, whichever shape AWS used
/// (`Values` or the typed `*Config`).
pub fn observe_rule(r: &Rule) -> RuleObserved {
    let mut hosts = Vec::new();
    let mut paths = Vec::new();
    for c in r.conditions() {
        match c.field() {
            Some("host-header") => match c.host_header_config() {
                Some(cfg) if !cfg.values().is_empty() => hosts.extend(cfg.values().iter().cloned()),
                _ => hosts.extend(c.values().iter().cloned()),
            },
            Some("path-pattern") => match c.path_pattern_config() {
                Some(cfg) if !cfg.values().is_empty() => paths.extend(cfg.values().iter().cloned()),
                _ => paths.extend(c.values().iter().cloned()),
            },
            _ => {}
        }
    }
    let mut targets = Vec::new();
    for a in r.actions() {
        if let Some(tg) = a.target_group_arn() {
            targets.push(tg.to_string());
        } else if let Some(fc) = a.forward_config() {
            targets.extend(fc.target_groups().iter().filter_map(|t| t.target_group_arn()).map(str::to_string));
        }
    }
    targets.sort();
    targets.dedup();
    RuleObserved {
        arn: r.rule_arn().unwrap_or_default().to_string(),
        priority: r.priority().and_then(|p| p.parse().ok()),
        hosts,
        path_patterns: paths,
        target_group_arns: targets,
    }
}

impl TargetGroups for ElbApi {
    async fn find(&self, name: &str) -> Result<Option<TargetGroupObserved>> {
        let out = match self.client.describe_target_groups().names(name).send().await {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(DescribeTargetGroupsError::TargetGroupNotFoundException(_))) => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "DescribeTargetGroups", e)),
        };
        match out.target_groups().first() {
            Some(tg) => {
                let arn = tg.target_group_arn().unwrap_or_default().to_string();
                let tags = self.tags_by_arn(std::slice::from_ref(&arn)).await?.remove(&arn).unwrap_or_default();
                Ok(Some(observe_tg(tg, tags)))
            }
            None => Ok(None),
        }
    }

    async fn create(&self, spec: &TargetGroupSpec) -> Result<TargetGroupObserved> {
        let out = self
            .client
            .create_target_group()
            .name(&spec.name)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(spec.port))
            .vpc_id(&spec.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&spec.health_check_path)
            .health_check_interval_seconds(15)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(Matcher::builder().http_code("200-399").build())
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateTargetGroup", e))?;
        let tg = out
            .target_groups()
            .first()
            .ok_or_else(|| BerthError::Internal(format!("CreateTargetGroup {} returned no target group", spec.name)))?;
        Ok(observe_tg(tg, spec.tags.clone()))
    }

    async fn set_health_check_path(&self, arn: &str, path: &str) -> Result<()> {
        self.client
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_path(path)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ModifyTargetGroup", e))?;
        Ok(())
    }

    async fn health(&self, arn: &str) -> Result<Vec<TargetHealthObserved>> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| TargetHealthObserved {
                id: d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                state: d.target_health().and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default(),
            })
            .collect())
    }

    async fn delete(&self, arn: &str) -> Result<bool> {
        match self.client.delete_target_group().target_group_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("TargetGroupNotFound") => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteTargetGroup", e)),
        }
    }
}

impl ListenerRules for ElbApi {
    async fn list(&self, listener_arn: &str) -> Result<Vec<RuleObserved>> {
        let mut rules = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_rules()
                .listener_arn(listener_arn)
                .page_size(RULES_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeRules", e))?;
            rules.extend(out.rules().iter().map(observe_rule));
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(rules)
    }

    async fn set_conditions(&self, rule_arn: &str, hosts: &[String], paths: &[String]) -> Result<()> {
        self.client
            .modify_rule()
            .rule_arn(rule_arn)
            .set_conditions(Some(conditions(hosts, paths)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ModifyRule", e))?;
        Ok(())
    }

    async fn create(&self, spec: &RuleSpec) -> Result<RuleObserved> {
        let conditions = conditions(&spec.hosts(), &spec.path_patterns);
        let priority =
            i32::try_from(spec.priority).map_err(|_| BerthError::Internal(format!("priority {} out of range", spec.priority)))?;
        let out = self
            .client
            .create_rule()
            .listener_arn(&spec.listener_arn)
            .priority(priority)
            .set_conditions(Some(conditions))
            .actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&spec.target_group_arn).build())
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateRule", e))?;
        let rule = out
            .rules()
            .first()
            .ok_or_else(|| BerthError::Internal(format!("CreateRule at priority {} returned no rule", spec.priority)))?;
        Ok(observe_rule(rule))
    }

    async fn set_target(&self, rule_arn: &str, target_group_arn: &str) -> Result<()> {
        self.client
            .modify_rule()
            .rule_arn(rule_arn)
            .actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(target_group_arn).build())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ModifyRule", e))?;
        Ok(())
    }

    async fn set_priorities(&self, moves: &[(String, u32)]) -> Result<()> {
        if moves.is_empty() {
            return Ok(());
        }
        let moves = moves
            .iter()
            .map(|(arn, p)| RulePriorityPair::builder().rule_arn(arn).priority(i32::try_from(*p).unwrap_or(i32::MAX)).build())
            .collect();
        self.client
            .set_rule_priorities()
            .set_rule_priorities(Some(moves))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "SetRulePriorities", e))?;
        Ok(())
    }

    async fn tags(&self, rule_arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        self.tags_by_arn(rule_arns).await
    }

    async fn delete(&self, rule_arn: &str) -> Result<bool> {
        match self.client.delete_rule().rule_arn(rule_arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(DeleteRuleError::RuleNotFoundException(_))) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteRule", e)),
        }
    }

    async fn certificates(&self, listener_arn: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut marker = None;
        loop {
            let out = self
                .client
                .describe_listener_certificates()
                .listener_arn(listener_arn)
                .page_size(RULES_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeListenerCertificates", e))?;
            arns.extend(
                out.certificates().iter().filter(|c| c.is_default() != Some(true)).filter_map(|c| c.certificate_arn().map(str::to_string)),
            );
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(arns)
    }

    async fn add_certificate(&self, listener_arn: &str, certificate_arn: &str) -> Result<()> {
        self.client
            .add_listener_certificates()
            .listener_arn(listener_arn)
            .certificates(Certificate::builder().certificate_arn(certificate_arn).build())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "AddListenerCertificates", e))?;
        Ok(())
    }

    async fn remove_certificate(&self, listener_arn: &str, certificate_arn: &str) -> Result<bool> {
        if !self.certificates(listener_arn).await?.iter().any(|a| a == certificate_arn) {
            return Ok(false);
        }
        self.client
            .remove_listener_certificates()
            .listener_arn(listener_arn)
            .certificates(Certificate::builder().certificate_arn(certificate_arn).build())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RemoveListenerCertificates", e))?;
        Ok(true)
    }
}

/// A rule's conditions: the hosts, and the paths when there are any.
fn conditions(hosts: &[String], paths: &[String]) -> Vec<RuleCondition> {
    let mut conditions = vec![RuleCondition::builder()
        .field("host-header")
        .host_header_config(HostHeaderConditionConfig::builder().set_values(Some(hosts.to_vec())).build())
        .build()];
    if !paths.is_empty() {
        conditions.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().set_values(Some(paths.to_vec())).build())
                .build(),
        );
    }
    conditions
}
