//! Customer records and host claims: registration, activation, failure, release of the host.

use super::*;

impl Customers for DynamoRegistry {
    async fn register(&self, r: &Registration) -> Result<()> {
        let customer = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(customer_pk(&r.customer_id), CUSTOMER_SK)))
                .update_expression(
                    "SET #state = :provisioning, execution_id = :exec, customer_id = :cust, host = :host, \
                     display_name = :dn, products = :products, plan_json = :plan, updated_at = :now, \
                     created_at = if_not_exists(created_at, :now) REMOVE error_name, error_cause, outputs, leftovers",
                )
                .condition_expression("attribute_not_exists(pk) OR execution_id = :exec OR #state IN (:failed, :rollback_failed)")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":provisioning", s(CustomerState::Provisioning.as_str()))
                .expression_attribute_values(":failed", s(CustomerState::Failed.as_str()))
                .expression_attribute_values(":rollback_failed", s(CustomerState::RollbackFailed.as_str()))
                .expression_attribute_values(":exec", s(&r.execution_id))
                .expression_attribute_values(":cust", s(&r.customer_id))
                .expression_attribute_values(":host", s(&r.host))
                .expression_attribute_values(":dn", s(&r.display_name))
                .expression_attribute_values(":products", AttributeValue::L(r.products.iter().map(s).collect()))
                .expression_attribute_values(":plan", s(&r.plan_json))
                .expression_attribute_values(":now", s(now()))
                .build(),
        )?;
        let mut claim = key(host_pk(&r.host), HOST_SK);
        claim.insert("customer_id".into(), s(&r.customer_id));
        let host = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(claim))
                .condition_expression("attribute_not_exists(pk) OR customer_id = :cust")
                .expression_attribute_values(":cust", s(&r.customer_id))
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().update(customer).build(), TransactWriteItem::builder().put(host).build()];
        for e in &r.ledger {
            let put = built(Put::builder().table_name(&self.table).set_item(Some(ledger_item(&r.customer_id, e))).build())?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactOutcome::Failed(e)) => Err(e),
            Err(TransactOutcome::Cancelled(reasons)) => {
                if let Some(code) = reason_code(&reasons, 0) {
                    if code != "ConditionalCheckFailed" {
                        return Err(BerthError::Transient(format!("registering {}: transaction cancelled ({code})", r.customer_id)));
                    }
                    let existing = self.get(&r.customer_id).await?;
                    return Err(match existing {
                        Some(c) if c.state == CustomerState::Active => BerthError::Conflict(format!(
                            "customer '{}' is already ACTIVE: changes go through an update, not a new onboarding",
                            r.customer_id
                        )),
                        Some(c) => BerthError::Conflict(format!(
                            "customer '{}' is already {} by execution {}",
                            r.customer_id, c.state, c.execution_id
                        )),
                        None => BerthError::Transient(format!("customer '{}' changed during registration", r.customer_id)),
                    });
                }
                if let Some(code) = reason_code(&reasons, 1) {
                    if code == "ConditionalCheckFailed" {
                        return Err(BerthError::Conflict(format!("host '{}' is already claimed by another customer", r.host)));
                    }
                    return Err(BerthError::Transient(format!("registering {}: transaction cancelled ({code})", r.customer_id)));
                }
                Err(BerthError::Transient(format!("registering {}: transaction cancelled", r.customer_id)))
            }
        }
    }

    async fn get(&self, customer_id: &str) -> Result<Option<CustomerRecord>> {
        match self.get_item(customer_pk(customer_id), CUSTOMER_SK).await? {
            Some(item) => Ok(Some(to_record(&item)?)),
            None => Ok(None),
        }
    }

    async fn record_resources(&self, customer_id: &str, execution_id: &str, resources: &serde_json::Value) -> Result<()> {
        self.owned_update(
            customer_id,
            execution_id,
            "UpdateItem",
            "SET resources = :r, updated_at = :now",
            vec![(":r", s(resources.to_string()))],
        )
        .await
        .map(|_| ())
    }

    async fn activate(&self, customer_id: &str, execution_id: &str, outputs: &serde_json::Value) -> Result<CustomerRecord> {
        self.owned_update(
            customer_id,
            execution_id,
            "UpdateItem",
            "SET #state = :active, outputs = :o, updated_at = :now",
            vec![(":o", s(outputs.to_string())), (":active", s(CustomerState::Active.as_str()))],
        )
        .await
    }

    async fn mark_failed(&self, customer_id: &str, execution_id: &str, failure: &Failure) -> Result<Option<CustomerRecord>> {
        if !matches!(failure.state, CustomerState::Failed | CustomerState::RollbackFailed) {
            return Err(BerthError::Internal(format!("mark_failed with state {}", failure.state)));
        }
        match self
            .owned_update(
                customer_id,
                execution_id,
                "UpdateItem",
                "SET #state = :failed, error_name = :e, error_cause = :c, leftovers = :l, updated_at = :now",
                vec![
                    (":e", s(&failure.error)),
                    (":c", s(&failure.cause)),
                    (":l", AttributeValue::L(failure.leftovers.iter().map(s).collect())),
                    (":failed", s(failure.state.as_str())),
                ],
            )
            .await
        {
            Ok(r) => Ok(Some(r)),
            // Not ours (another execution owns the customer) or never registered: nothing to mark.
            Err(BerthError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn release_host(&self, customer_id: &str, host: &str) -> Result<bool> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(host_pk(host), HOST_SK)))
            .condition_expression("customer_id = :c")
            .expression_attribute_values(":c", s(customer_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // Not claimed, or claimed by another customer: nothing of ours to give back.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(SERVICE, "DeleteItem", e)),
        }
    }
}

impl DynamoRegistry {
    /// An update of the customer item that only the owning execution may make.
    async fn owned_update(
        &self,
        customer_id: &str,
        execution_id: &str,
        op: &'static str,
        expr: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<CustomerRecord> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
            .update_expression(expr)
            .condition_expression("execution_id = :exec")
            .expression_attribute_values(":exec", s(execution_id))
            .expression_attribute_values(":now", s(now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if expr.contains("#state") {
            req = req.expression_attribute_names("#state", "state");
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(out) => to_record(&out.attributes.unwrap_or_default()),
            Err(e) => {
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
                ) {
                    return Err(BerthError::Conflict(format!("customer '{customer_id}' is not owned by execution {execution_id}")));
                }
                Err(classify(SERVICE, op, e))
            }
        }
    }
}
