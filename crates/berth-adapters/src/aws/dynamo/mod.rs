//! The registry in DynamoDB: one table, items keyed by `pk`/`sk`.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | customer | `CUSTOMER#{id}` | `PROFILE` | state, execution_id, host, display_name, products, plan_json, listener_arn, priorities, resources, outputs, error_name, error_cause, leftovers, operation, previous_state, suspended_counts, suspend_reason, created_at, updated_at |
//! | ledger entry | `CUSTOMER#{id}` | `RESOURCE#{kind}#{id}` | kind, resource_id, scope, execution_id, recorded_at |
//! | history entry | `CUSTOMER#{id}` | `HISTORY#{execution}` | entry (JSON: operation, outcome, who, why, what was done), at |
//! | host claim | `HOST#{host}` | `CLAIM` | customer_id |
//! | listener counter | `LISTENER#{arn}` | `LEDGER` | minted (the highest number ever handed out) |
//! | released number | `LISTENER#{arn}` | `FREE#{nnnnn}` | priority |
//! | priority claim | `LISTENER#{arn}` | `PRIORITY#{nnnnn}` | customer_id (`#foreign` for a rule berth does not own, with rule_arn), priority |
//! | certificate users | `LISTENER#{arn}` | `CERTIFICATE#{certificate arn}` | customers (a string set: those serving their own domain with it there) |
//! | pool ALB | `POOL` | `ALB#{name}` | ARNs, DNS name, zone, alb_state, quotas and use of rules, target groups, certificates; customers |
//!
//! Registration and allocation end in single transactions whose conditions make a
//! customer, a host and a (listener, priority) belong to one owner at a time. Fresh
//! priorities come from an atomic counter, so concurrent allocations never wait for each
//! other; released ones are reused first, lowest first.
//!
//! One file per port: [`customers`], [`placements`] (with the listener audit), [`pool`],
//! [`ledger`]; the shared keys, attribute helpers and transaction helpers are here.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use berth_domain::allocation;
use berth_domain::ledger::{LedgerEntry, ResourceKind};
use berth_domain::pool::{self as alb_pool, Alb, AlbState, Capacity, Need};
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::classify::{built, classify};
use crate::model::{AlbRef, CustomerRecord, Failure, HistoryEntry, Placement, Registration, Settlement};
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
pub const HISTORY_PREFIX: &str = "HISTORY#";
pub fn history_sk(execution_id: &str) -> String {
    format!("{HISTORY_PREFIX}{execution_id}")
}
pub fn resource_sk(kind: ResourceKind, id: &str) -> String {
    format!("{RESOURCE_PREFIX}{kind}#{id}")
}
/// The users of a customer's own certificate on a listener (under the listener's `pk`).
pub fn certificate_sk(arn: &str) -> String {
    format!("CERTIFICATE#{arn}")
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

mod customers;
mod ledger;
mod placements;
mod pool;

use ledger::ledger_item;
use pool::to_alb;

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

    /// Every item of a partition (whose sort key starts with `sk_prefix`, when given), one
    /// consistent Query page after another.
    async fn query_all(&self, pk: String, sk_prefix: Option<&str>) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self.client.query().table_name(&self.table).expression_attribute_values(":pk", s(pk.clone()));
            q = match sk_prefix {
                Some(p) => q.key_condition_expression("pk = :pk AND begins_with(sk, :p)").expression_attribute_values(":p", s(p)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out =
                q.consistent_read(true).set_exclusive_start_key(start.take()).send().await.map_err(|e| classify(SERVICE, "Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
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
        certificates_held: num(item, "certificates_held").unwrap_or(0) as u32,
        resources: json_attr(item, "resources"),
        outputs: json_attr(item, "outputs"),
        error: str_attr(item, "error_name"),
        cause: str_attr(item, "error_cause"),
        leftovers: match item.get("leftovers") {
            Some(AttributeValue::L(v)) => v.iter().filter_map(|x| x.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        },
        plan: json_attr(item, "plan_json"),
        operation: str_attr(item, "operation").and_then(|o| serde_json::from_value(serde_json::Value::String(o)).ok()),
        previous_state: str_attr(item, "previous_state").and_then(|s| CustomerState::parse(&s)),
        suspended_counts: json_attr(item, "suspended_counts").and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default(),
        suspend_reason: str_attr(item, "suspend_reason"),
    })
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
