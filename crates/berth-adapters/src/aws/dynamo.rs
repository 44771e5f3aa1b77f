//! The registry in DynamoDB: one table, items keyed by `pk`/`sk`.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | customer | `CUSTOMER#{id}` | `PROFILE` | state, execution_id, host, display_name, products, plan_json, listener_arn, priorities, resources, outputs, error_name, error_cause, leftovers, created_at, updated_at |
//! | ledger entry | `CUSTOMER#{id}` | `RESOURCE#{kind}#{id}` | kind, resource_id, scope, execution_id, recorded_at |
//! | host claim | `HOST#{host}` | `CLAIM` | customer_id |
//! | listener counter | `LISTENER#{arn}` | `LEDGER` | minted (the highest number ever handed out) |
//! | released number | `LISTENER#{arn}` | `FREE#{nnnnn}` | priority |
//! | priority claim | `LISTENER#{arn}` | `PRIORITY#{nnnnn}` | customer_id (`#foreign` for a rule berth does not own, with rule_arn), priority |
//! | pool ALB | `POOL` | `ALB#{name}` | ARNs, DNS name, zone, alb_state, quotas and use of rules, target groups, certificates; customers |
//!
//! Registration and allocation end in single transactions whose conditions make a
//! customer, a host and a (listener, priority) belong to one owner at a time. Fresh
//! priorities come from an atomic counter, so concurrent allocations never wait for each
//! other; released ones are reused first, lowest first.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use berth_domain::allocation;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::pool::{self, Alb, AlbState, Capacity, Need};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::classify::{built, classify};
use crate::model::{AlbRef, CustomerRecord, Failure, Placement, Registration};
use crate::ports::{Customers, Ledger, Placements, Pool, Result};

const SERVICE: &str = "dynamodb";
/// Optimistic-lock retries inside one allocation before reporting `Berth.Transient`.
const ALLOCATION_ATTEMPTS: u32 = 12;

pub fn customer_pk(id: &str) -> String {
    format!("CUSTOMER#{id}")
}
pub const CUSTOMER_SK: &str = "PROFILE";
pub fn host_pk(host: &str) -> String {
    format!("HOST#{host}")
}
pub const HOST_SK: &str = "CLAIM";
pub fn listener_pk(arn: &str) -> String {
    format!("LISTENER#{arn}")
}
pub const LEDGER_SK: &str = "LEDGER";
pub fn priority_sk(p: u32) -> String {
    format!("PRIORITY#{p:05}")
}
pub const FREE_PREFIX: &str = "FREE#";
pub const POOL_PK: &str = "POOL";
/// The owner recorded on a priority claim held by a rule berth does not own.
pub const FOREIGN_OWNER: &str = "#foreign";
pub const RESOURCE_PREFIX: &str = "RESOURCE#";
pub fn resource_sk(kind: ResourceKind, id: &str) -> String {
    format!("{RESOURCE_PREFIX}{kind}#{id}")
}
pub fn alb_sk(name: &str) -> String {
    format!("ALB#{name}")
}
pub fn free_sk(p: u32) -> String {
    format!("{FREE_PREFIX}{p:05}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}
fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    secs.to_string()
}

#[derive(Debug, Clone)]
pub struct DynamoRegistry {
    client: Client,
    table: String,
}

impl DynamoRegistry {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRegistry { client, table: table.into() }
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "GetItem", e))?;
        Ok(out.item)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> std::result::Result<(), TransactOutcome> {
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Err(TransactOutcome::Cancelled(c.cancellation_reasons().to_vec()))
                }
                _ => Err(TransactOutcome::Failed(classify(SERVICE, "TransactWriteItems", e))),
            },
        }
    }
}

enum TransactOutcome {
    Cancelled(Vec<CancellationReason>),
    Failed(BerthError),
}

fn reason_code(reasons: &[CancellationReason], i: usize) -> Option<&str> {
    reasons.get(i).and_then(|r| r.code()).filter(|c| *c != "None")
}

fn str_attr(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}
fn num(item: &HashMap<String, AttributeValue>, k: &str) -> Option<u64> {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}
fn json_attr(item: &HashMap<String, AttributeValue>, k: &str) -> Option<serde_json::Value> {
    str_attr(item, k).and_then(|v| serde_json::from_str(&v).ok())
}

fn to_record(item: &HashMap<String, AttributeValue>) -> Result<CustomerRecord> {
    let state_raw = str_attr(item, "state").unwrap_or_default();
    let state =
        CustomerState::parse(&state_raw).ok_or_else(|| BerthError::Internal(format!("customer item has unknown state '{state_raw}'")))?;
    let priorities = match item.get("priorities") {
        Some(AttributeValue::L(v)) => v.iter().filter_map(|x| x.as_n().ok()?.parse().ok()).collect(),
        _ => Vec::new(),
    };
    Ok(CustomerRecord {
        customer_id: str_attr(item, "customer_id").unwrap_or_default(),
        state,
        execution_id: str_attr(item, "execution_id").unwrap_or_default(),
        host: str_attr(item, "host").unwrap_or_default(),
        display_name: str_attr(item, "display_name").unwrap_or_default(),
        alb_name: str_attr(item, "alb_name"),
        listener_arn: str_attr(item, "listener_arn"),
        priorities,
        target_groups_held: num(item, "target_groups_held").unwrap_or(0) as u32,
        resources: json_attr(item, "resources"),
        outputs: json_attr(item, "outputs"),
        error: str_attr(item, "error_name"),
        cause: str_attr(item, "error_cause"),
        leftovers: match item.get("leftovers") {
            Some(AttributeValue::L(v)) => v.iter().filter_map(|x| x.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        },
    })
}

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

impl DynamoRegistry {
    /// Up to `limit` released numbers of the listener, lowest first (one Query).
    async fn free_numbers(&self, listener: &str, limit: usize) -> Result<Vec<u32>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :free)")
            .expression_attribute_values(":pk", s(listener_pk(listener)))
            .expression_attribute_values(":free", s(FREE_PREFIX))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "Query", e))?;
        Ok(out.items().iter().filter_map(|i| str_attr(i, "sk")?.strip_prefix(FREE_PREFIX)?.parse().ok()).collect())
    }

    /// Mints `n` never-used numbers with one atomic ADD on the listener's counter: no two
    /// callers ever get the same number, and no caller waits for another.
    async fn mint(&self, listener: &str, n: usize) -> Result<Vec<u32>> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(listener_pk(listener), LEDGER_SK)))
            .update_expression("ADD minted :n")
            .expression_attribute_values(":n", self::n(n))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        let hi = out
            .attributes()
            .and_then(|a| num(a, "minted"))
            .ok_or_else(|| BerthError::Internal("counter update returned no value".into()))?;
        let lo = hi + 1 - n as u64;
        Ok((lo..=hi).filter(|p| *p <= u64::from(allocation::PRIORITY_MAX)).map(|p| p as u32).collect())
    }

    /// `wanted` numbers on the listener for the next attempt: released ones first (lowest
    /// first; after a race, spread over the candidates so callers stop colliding on the same
    /// few), then minted ones, added to `minted` (ours alone, kept across attempts). Returns
    /// the released numbers taken; `Berth.QuotaExceeded` when the range is exhausted.
    async fn take_numbers(&self, listener: &str, wanted: usize, attempt: u32, minted: &mut Vec<u32>) -> Result<Vec<u32>> {
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let free = self.free_numbers(listener, (wanted * 4).clamp(1, 100)).await?;
        let offset = if attempt == 0 || free.len() <= wanted { 0 } else { jitter(free.len() as u64) as usize };
        let mut reused: Vec<u32> = free.iter().cycle().skip(offset).take(wanted.min(free.len())).copied().collect();
        reused.sort_unstable();
        let missing = wanted - reused.len();
        if missing > 0 {
            let fresh = self.mint(listener, missing).await?;
            let short = fresh.len() < missing;
            minted.extend(fresh);
            if short {
                self.give_back(listener, minted).await?;
                minted.clear();
                return Err(BerthError::QuotaExceeded(format!(
                    "listener {listener} has no free priority left in {}-{}: {wanted} needed",
                    allocation::PRIORITY_MIN,
                    allocation::PRIORITY_MAX
                )));
            }
        }
        Ok(reused)
    }

    /// Transaction items that take `reused` off the listener's free list and claim
    /// `numbers` for the customer, each only if nobody else did first.
    fn claim_items(&self, listener: &str, customer_id: &str, reused: &[u32], numbers: &[u32]) -> Result<Vec<TransactWriteItem>> {
        let mut items = Vec::with_capacity(reused.len() + numbers.len());
        for p in reused {
            items.push(
                TransactWriteItem::builder()
                    .delete(built(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(listener_pk(listener), &free_sk(*p))))
                            .condition_expression("attribute_exists(pk)")
                            .build(),
                    )?)
                    .build(),
            );
        }
        for p in numbers {
            let mut item = key(listener_pk(listener), &priority_sk(*p));
            item.insert("customer_id".into(), s(customer_id));
            item.insert("priority".into(), n(p));
            items.push(
                TransactWriteItem::builder()
                    .put(built(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(item))
                            .condition_expression("attribute_not_exists(pk)")
                            .build(),
                    )?)
                    .build(),
            );
        }
        Ok(items)
    }

    /// Puts numbers back on the listener's free list.
    async fn give_back(&self, listener: &str, numbers: &[u32]) -> Result<()> {
        for chunk in numbers.chunks(25) {
            let mut items = Vec::with_capacity(chunk.len());
            for p in chunk {
                let mut item = key(listener_pk(listener), &free_sk(*p));
                item.insert("priority".into(), n(p));
                items.push(
                    TransactWriteItem::builder().put(built(Put::builder().table_name(&self.table).set_item(Some(item)).build())?).build(),
                );
            }
            match self.transact(items).await {
                Ok(()) => {}
                Err(TransactOutcome::Failed(e)) => return Err(e),
                Err(TransactOutcome::Cancelled(_)) => return Err(BerthError::Transient("returning priorities raced, retry".into())),
            }
        }
        Ok(())
    }
}

fn to_alb(item: &HashMap<String, AttributeValue>) -> Result<Alb> {
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
        let mut albs = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(POOL_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Query", e))?;
            for item in out.items() {
                albs.push(to_alb(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(albs)
    }

    async fn add(&self, alb: &Alb) -> Result<()> {
        if !pool::is_alb_name(&alb.name) {
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

impl DynamoRegistry {
    /// Every priority claim on a listener: (priority, owner, rule ARN when foreign).
    pub async fn claims(&self, listener_arn: &str) -> Result<Vec<(u32, String, Option<String>)>> {
        let mut claims = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(listener_pk(listener_arn)))
                .expression_attribute_values(":p", s("PRIORITY#"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Query", e))?;
            for item in out.items() {
                let p = num(item, "priority").unwrap_or(0) as u32;
                claims.push((p, str_attr(item, "customer_id").unwrap_or_default(), str_attr(item, "rule_arn")));
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(claims)
    }
}

impl DynamoRegistry {
    /// What the customer record says when a new placement cannot be made for it: the
    /// placement it holds already, or None when it is this execution's and not placed;
    /// `NotFound` or `Conflict` otherwise.
    async fn placed(&self, customer_id: &str, execution_id: &str, count: usize) -> Result<Option<Placement>> {
        let customer =
            self.get(customer_id).await?.ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
        if let Some(alb_name) = &customer.alb_name {
            if customer.priorities.len() != count {
                return Err(BerthError::Conflict(format!(
                    "customer '{customer_id}' already holds priorities {:?} on {alb_name}, for another plan",
                    customer.priorities
                )));
            }
            return self.existing_placement(&customer).await.map(Some);
        }
        if customer.execution_id != execution_id {
            return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", customer.execution_id)));
        }
        Ok(None)
    }

    /// The placement a customer record holds, with its ALB as the pool describes it.
    async fn existing_placement(&self, customer: &CustomerRecord) -> Result<Placement> {
        let alb_name = customer.alb_name.as_deref().unwrap_or_default();
        let item = self.get_item(POOL_PK.to_string(), &alb_sk(alb_name)).await?.ok_or_else(|| {
            BerthError::NotFound(format!("customer '{}' is placed on '{alb_name}', which left the pool", customer.customer_id))
        })?;
        Ok(Placement { alb: AlbRef::from(&to_alb(&item)?), priorities: customer.priorities.clone() })
    }
}

impl Placements for DynamoRegistry {
    /// Chooses the ALB (one Query of the pool), takes released numbers on its listener
    /// first (one Query), mints the rest with one atomic ADD, then one transaction reserves
    /// the ALB's capacity (only if it is ACTIVE and has room), takes the free entries, writes
    /// a claim per number and records the placement on the customer. The number of requests
    /// does not grow with the number of customers.
    ///
    /// The customer record is not read first: the transaction places the customer only if
    /// this execution owns it and it is not placed yet. The record is read when that
    /// condition fails (a re-run after the placement, say) or the pool has no room.
    async fn place(&self, customer_id: &str, execution_id: &str, need: &Need) -> Result<Placement> {
        let count = need.rules as usize;
        if count > 49 {
            return Err(BerthError::QuotaExceeded(format!("{count} rules for one customer: at most 49 fit one allocation")));
        }

        // Minted numbers are ours alone; kept across attempts while the listener stays.
        let mut minted: Vec<u32> = Vec::new();
        let mut minted_on = String::new();
        for attempt in 0..ALLOCATION_ATTEMPTS {
            let albs = self.albs().await?;
            let candidates = match pool::candidates(&albs, need) {
                Ok(c) => c,
                // A full pool is no reason to fail a customer placed already.
                Err(e) => {
                    self.give_back(&minted_on, &minted).await?;
                    return self.placed(customer_id, execution_id, count).await?.ok_or(BerthError::QuotaExceeded(e));
                }
            };
            let alb = match candidates.iter().find(|a| a.listener_arn == minted_on) {
                Some(a) => *a,
                None => candidates[0],
            };
            let listener_arn = alb.listener_arn.as_str();
            if minted_on != listener_arn {
                if !minted.is_empty() {
                    self.give_back(&minted_on, &minted).await?;
                    minted.clear();
                }
                minted_on = listener_arn.to_string();
            }

            let reused = match self.take_numbers(listener_arn, count - minted.len(), attempt, &mut minted).await {
                Ok(r) => r,
                Err(e) if e.kind() == berth_domain::ErrorKind::QuotaExceeded => {
                    return self.placed(customer_id, execution_id, count).await?.ok_or(e);
                }
                Err(e) => return Err(e),
            };
            let mut priorities: Vec<u32> = minted.iter().chain(&reused).copied().collect();
            priorities.sort_unstable();

            let mut items = Vec::with_capacity(2 * count + 2);
            items.push(
                TransactWriteItem::builder()
                    .update(built(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(POOL_PK.to_string(), &alb_sk(&alb.name))))
                            .update_expression("ADD rules_used :r, target_groups_used :t, certificates_used :c, customers :one")
                            .condition_expression(
                                "alb_state = :active AND rules_used <= :rmax AND target_groups_used <= :tmax AND certificates_used <= :cmax",
                            )
                            .expression_attribute_values(":r", n(need.rules))
                            .expression_attribute_values(":t", n(need.target_groups))
                            .expression_attribute_values(":c", n(need.certificates))
                            .expression_attribute_values(":one", n(1))
                            .expression_attribute_values(":active", s(AlbState::Active.as_str()))
                            .expression_attribute_values(":rmax", n(alb.rules.quota.saturating_sub(need.rules)))
                            .expression_attribute_values(":tmax", n(alb.target_groups.quota.saturating_sub(need.target_groups)))
                            .expression_attribute_values(":cmax", n(alb.certificates.quota.saturating_sub(need.certificates)))
                            .build(),
                    )?)
                    .build(),
            );
            items.extend(self.claim_items(listener_arn, customer_id, &reused, &priorities)?);
            items.push(
                TransactWriteItem::builder()
                    .update(built(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
                            .update_expression(
                                "SET priorities = :ps, listener_arn = :l, alb_name = :alb, target_groups_held = :t, updated_at = :now",
                            )
                            .condition_expression("execution_id = :exec AND attribute_not_exists(alb_name)")
                            .expression_attribute_values(":ps", AttributeValue::L(priorities.iter().map(n).collect()))
                            .expression_attribute_values(":l", s(listener_arn))
                            .expression_attribute_values(":alb", s(&alb.name))
                            .expression_attribute_values(":t", n(need.target_groups))
                            .expression_attribute_values(":exec", s(execution_id))
                            .expression_attribute_values(":now", s(now()))
                            .build(),
                    )?)
                    .build(),
            );
            let customer_index = items.len() - 1;
            match self.transact(items).await {
                Ok(()) => {
                    tracing::info!(customer = customer_id, alb = %alb.name, listener = listener_arn, priorities = ?priorities, attempt, "placed");
                    return Ok(Placement { alb: AlbRef::from(alb), priorities });
                }
                // The outcome is unknown (the answer may have been lost after the commit):
                // giving the minted numbers back could free numbers that are claimed. They
                // stay minted; a re-run finds the placement if it was made.
                Err(TransactOutcome::Failed(e)) => {
                    tracing::warn!(customer = customer_id, listener = listener_arn, minted = ?minted, error = %e, "placement transaction failed with an unknown outcome; minted numbers kept out of the free list");
                    return Err(e);
                }
                Err(TransactOutcome::Cancelled(reasons)) => {
                    if reason_code(&reasons, customer_index) == Some("ConditionalCheckFailed") {
                        // This customer was placed meanwhile (a retry of this very
                        // execution, say): that placement wins, our numbers go back.
                        self.give_back(listener_arn, &minted).await?;
                        return self
                            .placed(customer_id, execution_id, count)
                            .await?
                            .ok_or_else(|| BerthError::Transient(format!("customer '{customer_id}' changed during placement")));
                    }
                    // The ALB filled up or was drained meanwhile (re-read the pool), or
                    // another caller took one of the free numbers first (choose again).
                    let backoff = 5u64 * (1 << attempt.min(7));
                    tracing::debug!(customer = customer_id, attempt, "placement raced, retrying");
                    tokio::time::sleep(Duration::from_millis(backoff / 2 + jitter(backoff))).await;
                }
            }
        }
        if !minted.is_empty() {
            self.give_back(&minted_on, &minted).await?;
        }
        Err(BerthError::Transient(format!("placing '{customer_id}': still contended after {ALLOCATION_ATTEMPTS} attempts")))
    }

    async fn set_aside(&self, customer_id: &str, execution_id: &str, held: &[(u32, String)]) -> Result<Vec<u32>> {
        let customer =
            self.get(customer_id).await?.ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
        if customer.execution_id != execution_id {
            return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", customer.execution_id)));
        }
        let (Some(listener), Some(alb_name)) = (customer.listener_arn.clone(), customer.alb_name.clone()) else {
            return Err(BerthError::Conflict(format!("customer '{customer_id}' is not placed")));
        };
        let held: Vec<&(u32, String)> = held.iter().filter(|(p, _)| customer.priorities.contains(p)).collect();
        if held.is_empty() {
            return Ok(customer.priorities);
        }
        let mut minted = Vec::new();
        for attempt in 0..ALLOCATION_ATTEMPTS {
            let reused = self.take_numbers(&listener, held.len() - minted.len(), attempt, &mut minted).await?;
            let replacements: Vec<u32> = minted.iter().chain(&reused).copied().collect();
            let mut priorities: Vec<u32> = customer
                .priorities
                .iter()
                .filter(|p| !held.iter().any(|(h, _)| h == *p))
                .copied()
                .chain(replacements.iter().copied())
                .collect();
            priorities.sort_unstable();

            let mut items = Vec::new();
            for (p, rule) in &held {
                items.push(
                    TransactWriteItem::builder()
                        .update(built(
                            Update::builder()
                                .table_name(&self.table)
                                .set_key(Some(key(listener_pk(&listener), &priority_sk(*p))))
                                .update_expression("SET customer_id = :foreign, rule_arn = :rule")
                                .condition_expression("customer_id = :me")
                                .expression_attribute_values(":foreign", s(FOREIGN_OWNER))
                                .expression_attribute_values(":rule", s(rule))
                                .expression_attribute_values(":me", s(customer_id))
                                .build(),
                        )?)
                        .build(),
                );
            }
            items.extend(self.claim_items(&listener, customer_id, &reused, &replacements)?);
            // Rules berth does not own still take the ALB's quota.
            items.push(
                TransactWriteItem::builder()
                    .update(built(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(POOL_PK.to_string(), &alb_sk(&alb_name))))
                            .update_expression("ADD rules_used :n, foreign_rules :n")
                            .expression_attribute_values(":n", n(held.len()))
                            .build(),
                    )?)
                    .build(),
            );
            items.push(
                TransactWriteItem::builder()
                    .update(built(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
                            .update_expression("SET priorities = :ps, updated_at = :now")
                            .condition_expression("execution_id = :exec AND priorities = :old")
                            .expression_attribute_values(":ps", AttributeValue::L(priorities.iter().map(n).collect()))
                            .expression_attribute_values(":old", AttributeValue::L(customer.priorities.iter().map(n).collect()))
                            .expression_attribute_values(":exec", s(execution_id))
                            .expression_attribute_values(":now", s(now()))
                            .build(),
                    )?)
                    .build(),
            );
            match self.transact(items).await {
                Ok(()) => {
                    tracing::warn!(customer = customer_id, listener = %listener, set_aside = ?held, priorities = ?priorities, "priorities held by rules berth does not own were set aside");
                    return Ok(priorities);
                }
                Err(TransactOutcome::Failed(e)) => {
                    tracing::warn!(customer = customer_id, listener = %listener, minted = ?minted, error = %e, "set-aside transaction failed with an unknown outcome; minted numbers kept out of the free list");
                    return Err(e);
                }
                Err(TransactOutcome::Cancelled(_)) => {
                    let backoff = 5u64 * (1 << attempt.min(7));
                    tokio::time::sleep(Duration::from_millis(backoff / 2 + jitter(backoff))).await;
                }
            }
        }
        self.give_back(&listener, &minted).await?;
        Err(BerthError::Transient(format!("setting aside priorities of '{customer_id}': still contended")))
    }

    async fn release(&self, customer_id: &str) -> Result<Vec<u32>> {
        let Some(customer) = self.get(customer_id).await? else {
            return Ok(Vec::new());
        };
        let (Some(listener), Some(alb_name)) = (customer.listener_arn.clone(), customer.alb_name.clone()) else {
            return Ok(Vec::new());
        };
        let mut items = Vec::new();
        for p in &customer.priorities {
            items.push(
                TransactWriteItem::builder()
                    .delete(built(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(listener_pk(&listener), &priority_sk(*p))))
                            .condition_expression("attribute_not_exists(pk) OR customer_id = :c")
                            .expression_attribute_values(":c", s(customer_id))
                            .build(),
                    )?)
                    .build(),
            );
            let mut free = key(listener_pk(&listener), &free_sk(*p));
            free.insert("priority".into(), n(p));
            items.push(
                TransactWriteItem::builder().put(built(Put::builder().table_name(&self.table).set_item(Some(free)).build())?).build(),
            );
        }
        items.push(
            TransactWriteItem::builder()
                .update(built(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(POOL_PK.to_string(), &alb_sk(&alb_name))))
                        .update_expression("ADD rules_used :r, target_groups_used :t, customers :one")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":r", n(-(customer.priorities.len() as i64)))
                        .expression_attribute_values(":t", n(-i64::from(customer.target_groups_held)))
                        .expression_attribute_values(":one", n(-1))
                        .build(),
                )?)
                .build(),
        );
        items.push(
            TransactWriteItem::builder()
                .update(built(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
                        .update_expression("REMOVE priorities, listener_arn, alb_name, target_groups_held")
                        .condition_expression("alb_name = :alb")
                        .expression_attribute_values(":alb", s(&alb_name))
                        .build(),
                )?)
                .build(),
        );
        match self.transact(items).await {
            Ok(()) => Ok(customer.priorities),
            Err(TransactOutcome::Failed(e)) => Err(e),
            Err(TransactOutcome::Cancelled(_)) => Err(BerthError::Transient(format!("releasing '{customer_id}': raced, retry"))),
        }
    }
}

/// BatchWriteItem takes at most 25 requests.
const BATCH_MAX: usize = 25;

impl DynamoRegistry {
    /// Writes the requests in batches, sending unprocessed ones again.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<()> {
        for chunk in requests.chunks(BATCH_MAX) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8u32 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| classify(SERVICE, "BatchWriteItem", e))?;
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 7 {
                    return Err(BerthError::Transient(format!("{} ledger writes still unprocessed", pending.len())));
                }
                let backoff = 20u64 << attempt.min(5);
                tokio::time::sleep(Duration::from_millis(backoff / 2 + jitter(backoff))).await;
            }
        }
        Ok(())
    }
}

/// The ledger item of one entry: `CUSTOMER#{id}` / `RESOURCE#{kind}#{resource id}`.
fn ledger_item(customer_id: &str, e: &LedgerEntry) -> HashMap<String, AttributeValue> {
    let mut item = key(customer_pk(customer_id), &resource_sk(e.kind, &e.id));
    item.insert("kind".into(), s(e.kind.as_str()));
    item.insert("resource_id".into(), s(&e.id));
    item.insert("execution_id".into(), s(&e.execution_id));
    item.insert("recorded_at".into(), s(now()));
    if let Some(scope) = &e.scope {
        item.insert("scope".into(), s(scope));
    }
    item
}

fn to_entry(item: &HashMap<String, AttributeValue>) -> Option<LedgerEntry> {
    Some(LedgerEntry {
        kind: ResourceKind::parse(&str_attr(item, "kind")?)?,
        id: str_attr(item, "resource_id")?,
        scope: str_attr(item, "scope"),
        execution_id: str_attr(item, "execution_id").unwrap_or_default(),
    })
}

impl Ledger for DynamoRegistry {
    /// One BatchWriteItem per 25 entries.
    async fn record(&self, customer_id: &str, entries: &[LedgerEntry]) -> Result<()> {
        let mut requests = Vec::with_capacity(entries.len());
        for e in entries {
            let item = ledger_item(customer_id, e);
            requests.push(WriteRequest::builder().put_request(built(PutRequest::builder().set_item(Some(item)).build())?).build());
        }
        self.batch_write(requests).await
    }

    async fn entries(&self, customer_id: &str) -> Result<Vec<LedgerEntry>> {
        let mut entries = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :res)")
                .expression_attribute_values(":pk", s(customer_pk(customer_id)))
                .expression_attribute_values(":res", s(RESOURCE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Query", e))?;
            entries.extend(out.items().iter().filter_map(to_entry));
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(entries)
    }

    async fn forget(&self, customer_id: &str, entries: &[LedgerEntry]) -> Result<()> {
        let mut requests = Vec::with_capacity(entries.len());
        for e in entries {
            let k = key(customer_pk(customer_id), &resource_sk(e.kind, &e.id));
            requests.push(WriteRequest::builder().delete_request(built(DeleteRequest::builder().set_key(Some(k)).build())?).build());
        }
        self.batch_write(requests).await
    }
}

/// A pseudo-random jitter in `0..max_ms` (no RNG dependency: the clock's nanoseconds).
pub(crate) fn jitter(max_ms: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    if max_ms == 0 {
        0
    } else {
        u64::from(nanos) % max_ms
    }
}
