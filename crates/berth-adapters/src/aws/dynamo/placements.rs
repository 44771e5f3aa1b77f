//! Placement on the pool and listener-rule priorities: released numbers first, fresh ones
//! from an atomic counter, one transaction per placement; and the audit of a listener's
//! claims.

use super::*;

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

    /// Transaction items that delete the customer's claims on `numbers` (if they are still
    /// its) and put the numbers on the listener's free list.
    fn free_items(&self, listener: &str, customer_id: &str, numbers: &[u32]) -> Result<Vec<TransactWriteItem>> {
        let mut items = Vec::with_capacity(2 * numbers.len());
        for p in numbers {
            items.push(
                TransactWriteItem::builder()
                    .delete(built(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(listener_pk(listener), &priority_sk(*p))))
                            .condition_expression("attribute_not_exists(pk) OR customer_id = :c")
                            .expression_attribute_values(":c", s(customer_id))
                            .build(),
                    )?)
                    .build(),
            );
            let mut free = key(listener_pk(listener), &free_sk(*p));
            free.insert("priority".into(), n(p));
            items.push(
                TransactWriteItem::builder().put(built(Put::builder().table_name(&self.table).set_item(Some(free)).build())?).build(),
            );
        }
        Ok(items)
    }

    /// The transaction item that gives the customer `new` numbers (and `target_groups`), only
    /// if this execution holds it and its numbers are still `old`.
    fn renumber_item(
        &self,
        customer_id: &str,
        execution_id: &str,
        old: &[u32],
        new: &[u32],
        held: Option<(u32, u32)>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(customer_pk(customer_id), CUSTOMER_SK)))
            .condition_expression("execution_id = :exec AND priorities = :old")
            .expression_attribute_values(":ps", AttributeValue::L(new.iter().map(n).collect()))
            .expression_attribute_values(":old", AttributeValue::L(old.iter().map(n).collect()))
            .expression_attribute_values(":exec", s(execution_id))
            .expression_attribute_values(":now", s(now()));
        let update = match held {
            Some((t, c)) => update
                .update_expression("SET priorities = :ps, target_groups_held = :t, certificates_held = :c, updated_at = :now")
                .expression_attribute_values(":t", n(t))
                .expression_attribute_values(":c", n(c)),
            None => update.update_expression("SET priorities = :ps, updated_at = :now"),
        };
        Ok(TransactWriteItem::builder().update(built(update.build())?).build())
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
impl DynamoRegistry {
    /// Every priority claim on a listener: (priority, owner, rule ARN when foreign).
    pub async fn claims(&self, listener_arn: &str) -> Result<Vec<(u32, String, Option<String>)>> {
        let items = self.query_all(listener_pk(listener_arn), Some("PRIORITY#")).await?;
        Ok(items
            .iter()
            .map(|item| {
                (num(item, "priority").unwrap_or(0) as u32, str_attr(item, "customer_id").unwrap_or_default(), str_attr(item, "rule_arn"))
            })
            .collect())
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
            let candidates = match alb_pool::candidates(&albs, need) {
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
                                "SET priorities = :ps, listener_arn = :l, alb_name = :alb, target_groups_held = :t, certificates_held = :c, updated_at = :now",
                            )
                            .condition_expression("execution_id = :exec AND attribute_not_exists(alb_name)")
                            .expression_attribute_values(":ps", AttributeValue::L(priorities.iter().map(n).collect()))
                            .expression_attribute_values(":l", s(listener_arn))
                            .expression_attribute_values(":alb", s(&alb.name))
                            .expression_attribute_values(":t", n(need.target_groups))
                            .expression_attribute_values(":c", n(need.certificates))
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
            items.push(self.renumber_item(customer_id, execution_id, &customer.priorities, &priorities, None)?);
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

    /// One read of the customer and of its ALB, then one transaction: the released numbers'
    /// claims deleted and put on the free list, the new ones claimed (released numbers of the
    /// listener first, then minted), the ALB's counts moved (within its quotas when they
    /// grow) and the customer's numbers replaced, only if they are still the ones read.
    async fn resize(
        &self,
        customer_id: &str,
        execution_id: &str,
        release: &[u32],
        wanted: usize,
        target_groups: u32,
        certificates: u32,
    ) -> Result<Vec<u32>> {
        if wanted > 49 {
            return Err(BerthError::QuotaExceeded(format!("{wanted} rules for one customer: at most 49 fit one allocation")));
        }
        let customer =
            self.get(customer_id).await?.ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is not registered")))?;
        if customer.execution_id != execution_id {
            return Err(BerthError::Conflict(format!("customer '{customer_id}' is owned by execution {}", customer.execution_id)));
        }
        let (Some(listener), Some(alb_name)) = (customer.listener_arn.clone(), customer.alb_name.clone()) else {
            return Err(BerthError::Conflict(format!("customer '{customer_id}' is not placed")));
        };
        let mut held = customer.priorities.clone();
        held.sort_unstable();
        let gone: Vec<u32> = held.iter().filter(|p| release.contains(p)).copied().collect();
        let kept: Vec<u32> = held.iter().filter(|p| !gone.contains(p)).copied().collect();
        if kept.len() > wanted {
            return Err(BerthError::Conflict(format!(
                "customer '{customer_id}' keeps {} priorities {kept:?}, more than the {wanted} its rules take",
                kept.len()
            )));
        }
        if gone.is_empty()
            && kept.len() == wanted
            && customer.target_groups_held == target_groups
            && customer.certificates_held == certificates
        {
            return Ok(held);
        }
        let alb = self
            .get_item(POOL_PK.to_string(), &alb_sk(&alb_name))
            .await?
            .ok_or_else(|| BerthError::NotFound(format!("customer '{customer_id}' is placed on '{alb_name}', which left the pool")))
            .and_then(|item| to_alb(&item))?;
        let rules_delta = wanted as i64 - held.len() as i64;
        let tg_delta = i64::from(target_groups) - i64::from(customer.target_groups_held);
        let cert_delta = i64::from(certificates) - i64::from(customer.certificates_held);
        let missing = wanted - kept.len();
        let mut minted = Vec::new();
        for attempt in 0..ALLOCATION_ATTEMPTS {
            let reused = self.take_numbers(&listener, missing - minted.len(), attempt, &mut minted).await?;
            let taken: Vec<u32> = minted.iter().chain(&reused).copied().collect();
            let mut priorities: Vec<u32> = kept.iter().chain(&taken).copied().collect();
            priorities.sort_unstable();

            let mut items = self.free_items(&listener, customer_id, &gone)?;
            items.extend(self.claim_items(&listener, customer_id, &reused, &taken)?);
            let pool_index = items.len();
            // Counts that grow stay within the ALB's quotas.
            let room = |quota: u32, delta: i64| (i64::from(quota) - delta.max(0)).max(0);
            items.push(
                TransactWriteItem::builder()
                    .update(built(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(POOL_PK.to_string(), &alb_sk(&alb_name))))
                            .update_expression("ADD rules_used :r, target_groups_used :t, certificates_used :c")
                            .condition_expression(
                                "rules_used <= :rmax AND target_groups_used <= :tmax AND (attribute_not_exists(certificates_used) OR certificates_used <= :cmax)",
                            )
                            .expression_attribute_values(":r", n(rules_delta))
                            .expression_attribute_values(":t", n(tg_delta))
                            .expression_attribute_values(":c", n(cert_delta))
                            .expression_attribute_values(":rmax", n(room(alb.rules.quota, rules_delta)))
                            .expression_attribute_values(":tmax", n(room(alb.target_groups.quota, tg_delta)))
                            .expression_attribute_values(":cmax", n(room(alb.certificates.quota, cert_delta)))
                            .build(),
                    )?)
                    .build(),
            );
            items.push(self.renumber_item(
                customer_id,
                execution_id,
                &customer.priorities,
                &priorities,
                Some((target_groups, certificates)),
            )?);
            let customer_index = items.len() - 1;
            match self.transact(items).await {
                Ok(()) => {
                    tracing::info!(customer = customer_id, listener = %listener, released = ?gone, taken = ?taken, priorities = ?priorities, "priorities resized");
                    return Ok(priorities);
                }
                Err(TransactOutcome::Failed(e)) => {
                    tracing::warn!(customer = customer_id, listener = %listener, minted = ?minted, error = %e, "resize transaction failed with an unknown outcome; minted numbers kept out of the free list");
                    return Err(e);
                }
                Err(TransactOutcome::Cancelled(reasons)) => {
                    let full = reason_code(&reasons, pool_index) == Some("ConditionalCheckFailed");
                    let changed = reason_code(&reasons, customer_index) == Some("ConditionalCheckFailed");
                    if full || changed {
                        self.give_back(&listener, &minted).await?;
                        return Err(if full {
                            BerthError::QuotaExceeded(format!(
                                "ALB {alb_name} has no room for {rules_delta} more rules, {tg_delta} more target groups and {cert_delta} more certificates of customer '{customer_id}'"
                            ))
                        } else {
                            BerthError::Transient(format!("customer '{customer_id}' changed while its priorities were resized"))
                        });
                    }
                    let backoff = 5u64 * (1 << attempt.min(7));
                    tokio::time::sleep(Duration::from_millis(backoff / 2 + jitter(backoff))).await;
                }
            }
        }
        self.give_back(&listener, &minted).await?;
        Err(BerthError::Transient(format!("resizing the priorities of '{customer_id}': still contended")))
    }

    async fn release(&self, customer_id: &str) -> Result<Vec<u32>> {
        let Some(customer) = self.get(customer_id).await? else {
            return Ok(Vec::new());
        };
        let (Some(listener), Some(alb_name)) = (customer.listener_arn.clone(), customer.alb_name.clone()) else {
            return Ok(Vec::new());
        };
        let mut items = self.free_items(&listener, customer_id, &customer.priorities)?;
        items.push(
            TransactWriteItem::builder()
                .update(built(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(POOL_PK.to_string(), &alb_sk(&alb_name))))
                        .update_expression("ADD rules_used :r, target_groups_used :t, certificates_used :c, customers :one")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":r", n(-(customer.priorities.len() as i64)))
                        .expression_attribute_values(":t", n(-i64::from(customer.target_groups_held)))
                        .expression_attribute_values(":c", n(-i64::from(customer.certificates_held)))
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
                        .update_expression("REMOVE priorities, listener_arn, alb_name, target_groups_held, certificates_held")
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
