//! Customer records and host claims: registration, activation, failure, release of the host.

use std::collections::BTreeMap;

use berth_domain::lifecycle::Operation;

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
                     created_at = if_not_exists(created_at, :now) \
                     REMOVE error_name, error_cause, outputs, leftovers, operation, previous_state, suspended_counts, suspend_reason",
                )
                .condition_expression("attribute_not_exists(pk) OR execution_id = :exec OR #state IN (:failed, :rollback_failed, :deleted)")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":provisioning", s(CustomerState::Provisioning.as_str()))
                .expression_attribute_values(":failed", s(CustomerState::Failed.as_str()))
                .expression_attribute_values(":rollback_failed", s(CustomerState::RollbackFailed.as_str()))
                .expression_attribute_values(":deleted", s(CustomerState::Deleted.as_str()))
                .expression_attribute_values(":exec", s(&r.execution_id))
                .expression_attribute_values(":cust", s(&r.customer_id))
                .expression_attribute_values(":host", s(&r.host))
                .expression_attribute_values(":dn", s(&r.display_name))
                .expression_attribute_values(":products", AttributeValue::L(r.products.iter().map(s).collect()))
                .expression_attribute_values(":plan", s(&r.plan_json))
                .expression_attribute_values(":now", s(now()))
                .build(),
        )?;
        let hosts: Vec<&String> = std::iter::once(&r.host).chain(r.product_hosts.iter().filter(|h| **h != r.host)).collect();
        let mut items = vec![TransactWriteItem::builder().update(customer).build()];
        for h in &hosts {
            items.push(TransactWriteItem::builder().put(self.host_claim(&r.customer_id, h)?).build());
        }
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
                for (i, h) in hosts.iter().enumerate() {
                    if let Some(code) = reason_code(&reasons, i + 1) {
                        if code == "ConditionalCheckFailed" {
                            return Err(BerthError::Conflict(format!("host '{h}' is already claimed by another customer")));
                        }
                        return Err(BerthError::Transient(format!("registering {}: transaction cancelled ({code})", r.customer_id)));
                    }
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

    async fn claim_host(&self, customer_id: &str, host: &str) -> Result<()> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(claim_item(customer_id, host)))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_values(":cust", s(customer_id))
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
                Err(BerthError::Conflict(format!("host '{host}' is already claimed by another customer")))
            }
            Err(e) => Err(classify(SERVICE, "PutItem", e)),
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

    async fn share_certificate(&self, customer_id: &str, listener: &str, certificate: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(listener_pk(listener), &certificate_sk(certificate))))
            .update_expression("ADD customers :c")
            .expression_attribute_values(":c", AttributeValue::Ss(vec![customer_id.to_string()]))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        Ok(())
    }

    async fn unshare_certificate(&self, customer_id: &str, listener: &str, certificate: &str) -> Result<Vec<String>> {
        let k = key(listener_pk(listener), &certificate_sk(certificate));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k.clone()))
            .update_expression("DELETE customers :c")
            .expression_attribute_values(":c", AttributeValue::Ss(vec![customer_id.to_string()]))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        let left: Vec<String> = match out.attributes().and_then(|a| a.get("customers")) {
            Some(AttributeValue::Ss(users)) => users.clone(),
            _ => Vec::new(),
        };
        if left.is_empty() {
            // DynamoDB drops an empty set: the item holds its keys alone, unless a customer
            // took the certificate again meanwhile.
            match self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(k.clone()))
                .condition_expression("attribute_not_exists(customers)")
                .send()
                .await
            {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    // Taken again meanwhile: those who hold it now.
                    let item = self
                        .client
                        .get_item()
                        .table_name(&self.table)
                        .set_key(Some(k))
                        .consistent_read(true)
                        .send()
                        .await
                        .map_err(|e| classify(SERVICE, "GetItem", e))?;
                    if let Some(AttributeValue::Ss(users)) = item.item().and_then(|i| i.get("customers")) {
                        return Ok(users.clone());
                    }
                }
                Err(e) => return Err(classify(SERVICE, "DeleteItem", e)),
            }
        }
        Ok(left)
    }

    async fn begin(&self, customer_id: &str, execution_id: &str, op: Operation) -> Result<CustomerRecord> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
            .update_expression(
                "SET previous_state = #state, #state = :during, execution_id = :exec, operation = :op, updated_at = :now \
                 REMOVE error_name, error_cause, leftovers",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":during", s(op.during().as_str()))
            .expression_attribute_values(":exec", s(execution_id))
            .expression_attribute_values(":op", s(op.name()))
            .expression_attribute_values(":now", s(now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let mut from = Vec::new();
        for (i, st) in op.allowed_from().iter().enumerate() {
            from.push(format!(":from{i}"));
            req = req.expression_attribute_values(format!(":from{i}"), s(st.as_str()));
        }
        req = req.condition_expression(format!("attribute_exists(pk) AND #state IN ({})", from.join(", ")));
        match req.send().await {
            Ok(out) => to_record(&out.attributes.unwrap_or_default()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                let existing = self.get(customer_id).await?;
                crate::model::begin_refused(customer_id, execution_id, op, existing)
            }
            Err(e) => Err(classify(SERVICE, "UpdateItem", e)),
        }
    }

    async fn remember_counts(
        &self,
        customer_id: &str,
        execution_id: &str,
        counts: &BTreeMap<String, u32>,
    ) -> Result<BTreeMap<String, u32>> {
        let counts = serde_json::to_string(counts).map_err(|e| BerthError::Internal(format!("counts not serializable: {e}")))?;
        let r = self
            .owned_update(
                customer_id,
                execution_id,
                "UpdateItem",
                "SET suspended_counts = if_not_exists(suspended_counts, :c), updated_at = :now",
                vec![(":c", s(counts))],
            )
            .await?;
        Ok(r.suspended_counts)
    }

    async fn settle(&self, customer_id: &str, execution_id: &str, st: &Settlement) -> Result<Option<CustomerRecord>> {
        let mut set = vec!["#state = :state", "updated_at = :now", "leftovers = :l"];
        let mut remove = vec!["previous_state", "operation"];
        let mut values = vec![(":state", s(st.state.as_str())), (":l", AttributeValue::L(st.leftovers.iter().map(s).collect()))];
        match &st.error {
            Some((name, cause)) => {
                set.extend(["error_name = :e", "error_cause = :c"]);
                values.extend([(":e", s(name)), (":c", s(cause))]);
            }
            None => remove.extend(["error_name", "error_cause"]),
        }
        for (attr, key, value) in [("desired_plan_json", ":desired", &st.desired_plan), ("plan_json", ":good", &st.good_plan)] {
            if let Some(v) = value {
                set.push(if attr == "plan_json" { "plan_json = :good" } else { "desired_plan_json = :desired" });
                values.push((key, s(v)));
            }
        }
        if let Some(o) = &st.outputs {
            set.push("outputs = :outputs");
            values.push((":outputs", s(o.to_string())));
        }
        match st.state {
            CustomerState::Suspended => match &st.suspend_reason {
                Some(r) => {
                    set.push("suspend_reason = :r");
                    values.push((":r", s(r)));
                }
                None => remove.push("suspend_reason"),
            },
            CustomerState::Active => remove.extend(["suspended_counts", "suspend_reason"]),
            CustomerState::Deleted => {
                set.push("deleted_at = :now");
                remove.extend(["suspended_counts", "suspend_reason", "outputs", "resources"]);
            }
            _ => {}
        }
        let mut entry = st.history.clone();
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        entry.at = at.as_secs().to_string();
        entry.at_ms = at.as_millis() as u64;
        let entry_json = serde_json::to_string(&entry).map_err(|e| BerthError::Internal(format!("history not serializable: {e}")))?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
            .update_expression(format!("SET {} REMOVE {}", set.join(", "), remove.join(", ")))
            .condition_expression("execution_id = :exec")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":exec", s(execution_id))
            .expression_attribute_values(":now", s(entry.at.clone()));
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        let mut item = key(customer_pk(customer_id), &history_sk(execution_id));
        item.insert("entry".into(), s(entry_json));
        item.insert("at".into(), s(entry.at.clone()));
        let put = built(Put::builder().table_name(&self.table).set_item(Some(item)).build())?;
        match self
            .transact(vec![
                TransactWriteItem::builder().update(built(update.build())?).build(),
                TransactWriteItem::builder().put(put).build(),
            ])
            .await
        {
            Ok(()) => self.get(customer_id).await,
            Err(TransactOutcome::Failed(e)) => Err(e),
            Err(TransactOutcome::Cancelled(reasons)) => match reason_code(&reasons, 0) {
                // Another execution owns the customer: this one records nothing.
                Some("ConditionalCheckFailed") => Ok(None),
                code => Err(BerthError::Transient(format!("settling {customer_id}: transaction cancelled ({code:?})"))),
            },
        }
    }

    async fn list(&self) -> Result<Vec<CustomerRecord>> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :profile")
                .expression_attribute_values(":profile", s(CUSTOMER_SK))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Scan", e))?;
            for item in out.items.unwrap_or_default() {
                records.push(to_record(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        records.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        Ok(records)
    }

    async fn history(&self, customer_id: &str) -> Result<Vec<HistoryEntry>> {
        let mut entries: Vec<HistoryEntry> = self
            .query_all(customer_pk(customer_id), Some(HISTORY_PREFIX))
            .await?
            .iter()
            .filter_map(|item| str_attr(item, "entry").and_then(|e| serde_json::from_str(&e).ok()))
            .collect();
        entries.sort_by(|a, b| a.recorded_ms().cmp(&b.recorded_ms()).then_with(|| a.execution_id.cmp(&b.execution_id)));
        Ok(entries)
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

/// A host is claimed when no one holds it, and again by the customer that does (a no-op).
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR customer_id = :cust";

/// The claim of `host` for the customer.
fn claim_item(customer_id: &str, host: &str) -> std::collections::HashMap<String, AttributeValue> {
    let mut claim = key(host_pk(host), HOST_SK);
    claim.insert("customer_id".into(), s(customer_id));
    claim
}

impl DynamoRegistry {
    /// The conditional write that claims `host` for the customer, in a transaction.
    fn host_claim(&self, customer_id: &str, host: &str) -> Result<Put> {
        built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(claim_item(customer_id, host)))
                .condition_expression(CLAIM_CONDITION)
                .expression_attribute_values(":cust", s(customer_id))
                .build(),
        )
    }
}
