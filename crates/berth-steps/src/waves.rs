//! The first step of a fleet rollout: check the request, choose the customers (every
//! ACTIVE customer of the product, or the listed ones), and cut them into waves, the canary
//! first. A customer already on the tag, or not in a state an update starts from, is
//! skipped with the reason, so a second run of a rollout continues where the first
//! stopped. Only customer ids travel in the execution's state: each customer's update
//! builds its plan from the customer's record.

use berth_adapters::config::TableConfig;
use berth_adapters::ports::{Customers, Ports};
use berth_domain::lifecycle::Operation;
use berth_domain::plan::Plan;
use berth_domain::rollout::{self, RolloutRequest};
use berth_domain::BerthError;

use crate::io::{Gate, Reached, Rollout, Tally, WavesInput};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: WavesInput) -> Result<Rollout, BerthError> {
    let request = RolloutRequest::parse(&input.request)?;
    if let Some(p) = &request.product {
        if !cx.catalog.products.contains_key(p) {
            return Err(BerthError::invalid("product", format!("'{p}' is not a product of the catalog")));
        }
    }
    let records = cx.ports.customers().list().await?;
    let wanted: Vec<String> =
        if request.customers.is_empty() { records.iter().map(|r| r.customer_id.clone()).collect() } else { request.customers.clone() };
    let (mut chosen, mut skipped) = (Vec::new(), Vec::new());
    let skip = |id: &str, reason: String| Reached { customer_id: id.to_string(), reason };
    for id in &wanted {
        let Some(record) = records.iter().find(|r| &r.customer_id == id) else {
            skipped.push(skip(id, "not registered".into()));
            continue;
        };
        let plan: Option<Plan> = record.plan.clone().and_then(|p| serde_json::from_value(p).ok());
        let Some(plan) = plan else {
            skipped.push(skip(id, "no recorded plan".into()));
            continue;
        };
        if let Some(p) = &request.product {
            if !plan.products.contains(p) {
                // Listed by product: only that product's customers are the rollout's.
                if !request.customers.is_empty() {
                    skipped.push(skip(id, format!("does not have the product '{p}'")));
                }
                continue;
            }
        }
        if !Operation::Update.allowed_from().contains(&record.state) {
            skipped.push(skip(id, format!("is {}", record.state)));
            continue;
        }
        if rollout::retagged(&plan, request.product.as_deref(), &request.image_tag).is_none() {
            skipped.push(skip(id, format!("already on {}", request.image_tag)));
            continue;
        }
        chosen.push(id.clone());
    }
    let waves = rollout::waves(&chosen, request.canary, request.wave_size);
    tracing::info!(execution = %input.execution_id, rollout = %request.rollout_id, customers = chosen.len(), waves = waves.len(), skipped = skipped.len(), "rollout planned");
    let gate = Gate {
        wave: 0,
        current: waves.first().cloned().unwrap_or_default(),
        done: waves.is_empty(),
        halted: false,
        tally: Tally { skipped, ..Tally::default() },
    };
    Ok(Rollout { request, waves, gate })
}
