//! berth's event bus (EventBridge): the events berth puts there for the portal.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use berth_domain::BerthError;

use crate::classify::classify;
use crate::ports::{Events, Result};

const SERVICE: &str = "events";

#[derive(Debug, Clone)]
pub struct EventsApi {
    client: Client,
}

impl EventsApi {
    pub fn new(client: Client) -> Self {
        EventsApi { client }
    }
}

impl Events for EventsApi {
    async fn put(&self, bus: &str, source: &str, detail_type: &str, detail: &serde_json::Value) -> Result<()> {
        let entry =
            PutEventsRequestEntry::builder().event_bus_name(bus).source(source).detail_type(detail_type).detail(detail.to_string()).build();
        let out = self.client.put_events().entries(entry).send().await.map_err(|e| classify(SERVICE, "PutEvents", e))?;
        // PutEvents answers 200 with the entries it could not take: each has its own error.
        if out.failed_entry_count() > 0 {
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            let code = failed.and_then(|e| e.error_code()).unwrap_or("unknown");
            let message = failed.and_then(|e| e.error_message()).unwrap_or_default();
            return Err(match code {
                // Throttling and EventBridge's own failures pass; anything else is a
                // malformed event or a missing bus, which a retry does not mend.
                "ThrottlingException" | "InternalFailure" | "InternalException" => {
                    BerthError::Transient(format!("events.PutEvents: the bus refused the {detail_type} event ({code}): {message}"))
                }
                _ => BerthError::Internal(format!("events.PutEvents: the bus refused the {detail_type} event ({code}): {message}")),
            });
        }
        Ok(())
    }
}
