//! After each wave of a rollout: tally how each customer's update ended, and decide. The
//! rollout stops before the next wave when this wave's failures pass the request's
//! threshold (a count, or a share of the wave); the customers of the waves not reached are
//! listed, untouched. Decides from its input alone: no AWS call.

use berth_adapters::config::NoConfig;
use berth_domain::state::CustomerState;
use berth_domain::BerthError;

use crate::io::{Gate, GateInput, Reached, WaveResult};
use crate::Context;

pub async fn run<P: Send + Sync>(_cx: &Context<NoConfig, P>, input: GateInput) -> Result<Gate, BerthError> {
    let broken = input.request.check();
    if !broken.is_empty() {
        return Err(BerthError::InvalidRequest(broken));
    }
    let mut tally = input.gate.tally.clone();
    let (mut failed, mut ran) = (0u32, 0u32);
    for r in &input.results {
        let reached = |reason: String| Reached { customer_id: r.customer_id.clone(), reason };
        match (r.outcome.as_str(), r.succeeded, r.state) {
            ("unchanged", _, _) => tally.skipped.push(reached(format!("already on {}", input.request.image_tag))),
            ("settled", Some(true), _) => {
                ran += 1;
                tally.updated.push(reached(format!("on {}", input.request.image_tag)));
            }
            ("settled", _, Some(CustomerState::Active)) => {
                ran += 1;
                failed += 1;
                tally.rolled_back.push(reached(why(r, "back on its previous revisions")));
            }
            _ => {
                ran += 1;
                failed += 1;
                tally.failed.push(reached(why(r, r.state.map_or("not updated".into(), |s| format!("left {s}")).as_str())));
            }
        }
    }
    let next = input.gate.wave as usize + 1;
    let halted = input.request.halts(failed, ran);
    if halted {
        for id in input.waves.iter().skip(next).flatten() {
            tally.not_reached.push(Reached {
                customer_id: id.clone(),
                reason: format!("the rollout stopped after wave {}: {failed} of {ran} updates failed", input.gate.wave + 1),
            });
        }
    }
    let current = if halted { Vec::new() } else { input.waves.get(next).cloned().unwrap_or_default() };
    let done = halted || next >= input.waves.len();
    tracing::info!(rollout = %input.request.rollout_id, wave = input.gate.wave + 1, ran, failed, halted, done, "wave tallied");
    Ok(Gate { wave: next as u32, current, done, halted, tally })
}

fn why(r: &WaveResult, what: &str) -> String {
    match (&r.error, &r.cause) {
        (Some(e), Some(c)) => format!("{what}: {e}: {c}"),
        (Some(e), None) => format!("{what}: {e}"),
        _ => what.to_string(),
    }
}
