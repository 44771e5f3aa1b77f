//! The resource ledger: what berth created for each customer.

use super::*;

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
pub(super) fn ledger_item(customer_id: &str, e: &LedgerEntry) -> HashMap<String, AttributeValue> {
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
        Ok(self.query_all(customer_pk(customer_id), Some(RESOURCE_PREFIX)).await?.iter().filter_map(to_entry).collect())
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
