//! The SBT answers: each of berth's outcome and rejection events that concerns an SBT
//! tenant's request is answered on SBT's bus with SBT's detail-type (`provisionSuccess`,
//! `deactivateFailure`...) from the application plane's source, with what SBT's tenant
//! registration reads ([`berth_domain::sbt::answer`]). A rule on berth's bus hands this
//! function the events as EventBridge delivers them; any other event is let go with nothing
//! put. A failure to put is an error: EventBridge retries it, then it is dead-lettered.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use berth_adapters::config::SbtConfig;
use berth_adapters::ports::{Events, Ports};
use berth_domain::{sbt, BerthError};
use serde_json::Value;

use crate::io::{SbtInput, SbtOutput};
use crate::Context;

pub async fn run<P: Ports>(cx: &Context<SbtConfig, P>, input: SbtInput) -> Result<SbtOutput, BerthError> {
    let SbtInput(delivered) = input;
    if delivered.get("detail-type").is_none() {
        return Err(BerthError::invalid("detail-type", "required: one of berth's events, as EventBridge delivers it"));
    }
    let event: EventBridgeEvent<Value> = serde_json::from_value(delivered)
        .map_err(|e| BerthError::invalid("detail", format!("not an EventBridge event with an object as its detail: {e}")))?;
    let Some((detail_type, detail)) = sbt::answer(&event.detail_type, &event.detail) else {
        tracing::info!(detail_type = %event.detail_type, "not an SBT tenant's outcome: nothing to answer");
        return Ok(SbtOutput { answered: None, tenant_id: None });
    };
    let tenant = detail.get("tenantId").and_then(Value::as_str).map(str::to_string);
    cx.ports.events().put(&cx.config.bus, &cx.config.source, detail_type, &detail).await?;
    tracing::info!(detail_type, tenant = tenant.as_deref().unwrap_or_default(), answers = %event.detail_type, "SBT answered");
    Ok(SbtOutput { answered: Some(detail_type.to_string()), tenant_id: tenant })
}
