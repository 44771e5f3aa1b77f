//! The last step of every lifecycle machine: the customer's state and its history entry,
//! written together. A succeeded update leaves the customer ACTIVE with the new spec as its
//! last good one (the revisions before and after in its history); a succeeded suspend leaves
//! it SUSPENDED (with its reason), a resume ACTIVE, an offboarding DELETED: a tombstone whose
//! history says when, by which execution and what was removed. When the execution failed:
//! an update or a suspend whose services were put back leaves the customer ACTIVE with the
//! failure in its history; anything else leaves it DEGRADED with what is not as it should
//! be listed. Only the owning execution writes.

use berth_adapters::config::TableConfig;
use berth_adapters::model::{AlbRef, HistoryEntry, Settlement};
use berth_adapters::ports::{Customers, Ledger, Ports};
use berth_domain::lifecycle::Operation;
use berth_domain::state::CustomerState;
use berth_domain::{BerthError, ErrorKind};

use crate::fail::readable_cause;
use crate::io::{checked, ResourcesOutput, RollbackOutput, ScaleOutput, SettleInput, SettleOutput};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<TableConfig, P>, input: SettleInput) -> Result<SettleOutput, BerthError> {
    let plan = checked(&input.plan)?;
    let op = input.operation;
    let detail = input.done.clone().or_else(|| input.undo.clone()).unwrap_or(serde_json::Value::Null);
    // After a failure: what putting the services back did (none when it failed too).
    let put_back_by: Option<ScaleOutput> = input.error.as_ref().and(input.undo.clone()).and_then(|u| serde_json::from_value(u).ok());
    let (state, error, leftovers) = match &input.error {
        None => {
            // A teardown that removed all it could reports what it could not.
            let teardown: Option<RollbackOutput> = serde_json::from_value(detail.clone()).ok();
            let left: Vec<String> =
                teardown.map(|t| t.leftovers.iter().map(|l| format!("{}: {}", l.resource, l.reason)).collect()).unwrap_or_default();
            match left.first() {
                None => (op.done(), None, left),
                Some(first) => {
                    let name = first.split(": ").nth(1).filter(|n| n.starts_with("Berth.")).unwrap_or(ErrorKind::Internal.name());
                    let cause = format!("{} left: {}", left.len(), left.join("; "));
                    (CustomerState::Degraded, Some((name.to_string(), readable_cause(&cause))), left)
                }
            }
        }
        Some(caught) => {
            let put_back = matches!(op, Operation::Suspend | Operation::Update) && put_back_by.is_some();
            let state = op.failed(put_back);
            let left = match (state, op) {
                (CustomerState::Degraded, Operation::Offboard) => {
                    cx.ports.ledger().entries(&plan.customer_id).await?.iter().map(|e| e.label()).collect()
                }
                (CustomerState::Degraded, _) => plan
                    .services
                    .iter()
                    .map(|s| format!("service {}: count and health not as the customer's state says", s.ecs_service))
                    .collect(),
                _ => Vec::new(),
            };
            (state, Some((caught.error.clone(), readable_cause(&caught.cause))), left)
        }
    };
    let reason = input.request.reason.and_then(|r| serde_json::to_value(r).ok()).and_then(|v| v.as_str().map(str::to_string));
    // An update records the spec it was asked for, and when it succeeded, that spec as the
    // last good one with the outputs naming the new revisions.
    // Done: no error, and the customer in the operation's end state (a failed update that was
    // put back is ACTIVE too, but not done).
    let succeeded = error.is_none() && state == op.done();
    let (mut desired_plan, mut good_plan, mut outputs) = (None, None, None);
    let detail = if op == Operation::Update {
        let plan_json = serde_json::to_string(plan).map_err(|e| BerthError::Internal(format!("plan not serializable: {e}")))?;
        desired_plan = Some(plan_json.clone());
        if succeeded {
            good_plan = Some(plan_json);
            outputs = updated_outputs(cx, plan, &detail).await?;
        }
        serde_json::json!({ "before": input.before, "after": detail })
    } else {
        detail
    };
    let settlement = Settlement {
        state,
        error: error.clone(),
        leftovers: leftovers.clone(),
        suspend_reason: reason.clone(),
        desired_plan,
        good_plan,
        outputs,
        history: HistoryEntry {
            execution_id: plan.execution_id.clone(),
            operation: op,
            outcome: if succeeded { "succeeded" } else { "failed" }.into(),
            at: String::new(),
            at_ms: 0,
            requested_by: input.request.requested_by.clone(),
            reason,
            note: input.request.note.clone(),
            error: error.as_ref().map(|e| e.0.clone()),
            cause: error.as_ref().map(|e| e.1.clone()),
            detail: detail.clone(),
        },
    };
    let rolled_back: Vec<String> = put_back_by
        .map(|u| u.services.iter().map(|s| format!("service {}: put back, {} tasks", s.ecs_service, s.to)).collect())
        .unwrap_or_default();
    let record = cx.ports.customers().settle(&plan.customer_id, &plan.execution_id, &settlement).await?;
    let recorded = record.is_some();
    let outputs = record.and_then(|r| r.outputs).filter(|_| state != CustomerState::Deleted);
    let url = (state != CustomerState::Deleted).then(|| plan.url());
    if succeeded {
        tracing::info!(customer = %plan.customer_id, execution = %plan.execution_id, operation = %op, state = %state, recorded, "lifecycle execution done");
    } else {
        tracing::warn!(customer = %plan.customer_id, execution = %plan.execution_id, operation = %op, state = %state, recorded, error = ?error.as_ref().map(|e| &e.0), leftovers = ?leftovers, "lifecycle execution failed");
    }
    Ok(SettleOutput {
        customer_id: plan.customer_id.clone(),
        operation: op,
        state,
        succeeded,
        recorded,
        error: error.as_ref().map(|e| e.0.clone()),
        cause: error.map(|e| e.1),
        leftovers,
        rolled_back,
        url,
        outputs,
        detail,
    })
}

/// The customer's recorded outputs with the task definitions and services an update's
/// resources step reports.
async fn updated_outputs<P: Ports>(
    cx: &Context<TableConfig, P>,
    plan: &berth_domain::plan::Plan,
    done: &serde_json::Value,
) -> Result<Option<serde_json::Value>, BerthError> {
    let Ok(resources) = serde_json::from_value::<ResourcesOutput>(done.clone()) else {
        return Ok(None);
    };
    let Some(mut outputs) = cx.ports.customers().get(&plan.customer_id).await?.and_then(|r| r.outputs) else {
        return Ok(None);
    };
    // A product added or removed adds or removes its services' entries.
    for key in ["task_definitions", "services", "target_groups", "rules", "priorities", "log_groups"] {
        if let Some(m) = outputs.get_mut(key).and_then(|m| m.as_object_mut()) {
            m.retain(|service, _| plan.service(service).is_some());
        }
    }
    outputs["urls"] = serde_json::json!(plan.urls());
    // A changed own domain: where its records are now, or what the customer must create.
    let recorded_own = outputs.get("own_domain").and_then(|o| o.get("hostname")).and_then(serde_json::Value::as_str);
    if plan.own_domain.as_ref().map(|d| d.hostname.as_str()) != recorded_own {
        let alb: Option<AlbRef> = outputs.get("alb").cloned().and_then(|a| serde_json::from_value(a).ok());
        outputs["own_domain"] = match (&plan.own_domain, alb) {
            (Some(d), Some(alb)) => serde_json::to_value(crate::dns::own_domain_dns(cx.ports.dns(), d, &alb).await?)
                .map_err(|e| BerthError::Internal(format!("outputs not serializable: {e}")))?,
            _ => serde_json::Value::Null,
        };
    }
    let text = |v: &str| serde_json::Value::String(v.to_string());
    for s in &resources.services {
        outputs["task_definitions"][&s.service] = text(&s.task_definition_arn);
        outputs["services"][&s.service] = text(&s.service_arn);
        outputs["log_groups"][&s.service] = text(&s.log_group);
        if let (Some(tg), Some(rule), Some(priority)) = (&s.target_group_arn, &s.rule_arn, s.priority) {
            outputs["target_groups"][&s.service] = text(tg);
            outputs["rules"][&s.service] = text(rule);
            outputs["priorities"][&s.service] = serde_json::Value::from(priority);
        }
    }
    Ok(Some(outputs))
}
