//! The pool of shared ALBs, as the operator manages it.

use super::*;

pub(super) fn to_alb(item: &HashMap<String, AttributeValue>) -> Result<Alb> {
    let state_raw = str_attr(item, "alb_state").unwrap_or_default();
    let cap = |q: &str, u: &str| Capacity { quota: num(item, q).unwrap_or(0) as u32, used: num(item, u).unwrap_or(0) as u32 };
    Ok(Alb {
        name: str_attr(item, "name").unwrap_or_default(),
        load_balancer_arn: str_attr(item, "load_balancer_arn").unwrap_or_default(),
        listener_arn: str_attr(item, "listener_arn").unwrap_or_default(),
        dns_name: str_attr(item, "dns_name").unwrap_or_default(),
        canonical_hosted_zone_id: str_attr(item, "canonical_hosted_zone_id").unwrap_or_default(),
        state: AlbState::parse(&state_raw).ok_or_else(|| BerthError::Internal(format!("pool item has unknown state '{state_raw}'")))?,
        rules: cap("rule_quota", "rules_used"),
        target_groups: cap("target_group_quota", "target_groups_used"),
        certificates: cap("certificate_quota", "certificates_used"),
        customers: num(item, "customers").unwrap_or(0) as u32,
    })
}

impl Pool for DynamoRegistry {
    async fn albs(&self) -> Result<Vec<Alb>> {
        self.query_all(POOL_PK.to_string(), None).await?.iter().map(to_alb).collect()
    }

    async fn add(&self, alb: &Alb) -> Result<()> {
        if !alb_pool::is_alb_name(&alb.name) {
            return Err(BerthError::invalid("name", "1-32 letters, digits and hyphens"));
        }
        let mut item = key(POOL_PK.to_string(), &alb_sk(&alb.name));
        for (k, v) in [
            ("name", &alb.name),
            ("load_balancer_arn", &alb.load_balancer_arn),
            ("listener_arn", &alb.listener_arn),
            ("dns_name", &alb.dns_name),
            ("canonical_hosted_zone_id", &alb.canonical_hosted_zone_id),
        ] {
            item.insert(k.to_string(), s(v));
        }
        item.insert("alb_state".into(), s(alb.state.as_str()));
        for (k, v) in [
            ("rule_quota", alb.rules.quota),
            ("rules_used", alb.rules.used),
            ("target_group_quota", alb.target_groups.quota),
            ("target_groups_used", alb.target_groups.used),
            ("certificate_quota", alb.certificates.quota),
            ("certificates_used", alb.certificates.used),
            ("customers", alb.customers),
        ] {
            item.insert(k.to_string(), n(v));
        }
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(BerthError::Conflict(format!("the pool already has an ALB named '{}'", alb.name)))
            }
            Err(e) => Err(classify(SERVICE, "PutItem", e)),
        }
    }

    async fn set_state(&self, name: &str, state: AlbState) -> Result<Alb> {
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(POOL_PK.to_string(), &alb_sk(name))))
            .update_expression("SET alb_state = :s")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":s", s(state.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
        {
            Ok(out) => to_alb(&out.attributes.unwrap_or_default()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(BerthError::NotFound(format!("no ALB named '{name}' in the pool")))
            }
            Err(e) => Err(classify(SERVICE, "UpdateItem", e)),
        }
    }
}
