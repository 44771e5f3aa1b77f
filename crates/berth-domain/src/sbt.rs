//! berth as an application plane of the SaaS Builder Toolkit (SBT-AWS): SBT's control plane
//! asks through EventBridge (`onboardingRequest`, `offboardingRequest`, `activateRequest`,
//! `deactivateRequest`, from the control plane's source) and hears the answers
//! (`provisionSuccess`, `provisionFailure`, ... from the application plane's source). This
//! module maps both ways; the intake takes SBT's requests and the `sbt` function answers.
//!
//! **Which customer.** SBT names a tenant by its `tenantId` (a UUID), and `deactivateRequest`
//! carries nothing else, so the customer is derived from it alone: `t-` followed by the
//! tenant id in lower case (38 characters for a UUID, within berth's 40; the customer's host
//! is `t-<tenantId>.<domain>`). Every request and answer of one tenant names the same
//! customer, without a lookup.
//!
//! **Which request.** Each SBT request becomes one berth execution, named as berth names any:
//! `{customer_id}_{idempotency_key}`. An onboarding or offboarding is keyed by the tenant's
//! `tenantRegistrationId` (SBT's tenant registration sends it) or else its `tenantId`: one
//! of each per tenant. An activation or deactivation, which a tenant may ask for many times,
//! is keyed by the EventBridge event's `id`: a redelivery of one event starts nothing new.
//!
//! **The onboarding's spec.** SBT passes the tenant's data through as the request's detail;
//! berth reads its request from it: `tenantName` is the display name, SBT's `tier` is the
//! catalog's tier, and `products`, `services`, `environment` and `secrets` are berth's own
//! fields, as the portal would send them (put them in the tenant registration's
//! `tenantData`). A broken rule names SBT's
//! field (`tenantId`, `tenantName`, `tenantRegistrationId`), or berth's for berth's fields.

use serde_json::{json, Map, Value};

use crate::events;
use crate::lifecycle::Operation;
use crate::{BerthError, Violation};

/// SBT's defaults for the two sources (its `EventManager`).
pub const DEFAULT_CONTROL_PLANE_SOURCE: &str = "controlPlaneEventSource";
pub const DEFAULT_APPLICATION_PLANE_SOURCE: &str = "applicationPlaneEventSource";

/// The prefix of an SBT tenant's customer id.
pub const CUSTOMER_PREFIX: &str = "t-";

/// Who asked, as the lifecycle history records it.
pub const REQUESTED_BY: &str = "sbt-control-plane";

/// SBT's request detail-types, and the operation each asks berth for (None: an onboarding).
pub const REQUESTS: [(&str, Option<Operation>); 4] = [
    ("onboardingRequest", None),
    ("offboardingRequest", Some(Operation::Offboard)),
    ("activateRequest", Some(Operation::Resume)),
    ("deactivateRequest", Some(Operation::Suspend)),
];

/// The operation an SBT request detail-type asks for: None when it is not one of SBT's
/// requests; Some(None) for an onboarding.
pub fn operation_of(detail_type: &str) -> Option<Option<Operation>> {
    REQUESTS.iter().find(|(t, _)| *t == detail_type).map(|(_, op)| *op)
}

/// SBT's answers to an operation, (success, failure); None for an update, which SBT does not
/// ask for.
pub const fn answers(op: Option<Operation>) -> Option<(&'static str, &'static str)> {
    match op {
        None => Some(("provisionSuccess", "provisionFailure")),
        Some(Operation::Offboard) => Some(("deprovisionSuccess", "deprovisionFailure")),
        Some(Operation::Resume) => Some(("activateSuccess", "activateFailure")),
        Some(Operation::Suspend) => Some(("deactivateSuccess", "deactivateFailure")),
        Some(Operation::Update) => None,
    }
}

/// The customer id of an SBT tenant.
pub fn customer_id(tenant_id: &str) -> String {
    format!("{CUSTOMER_PREFIX}{}", tenant_id.to_ascii_lowercase())
}

/// The tenant id of a customer berth onboarded for SBT (None: not an SBT tenant's).
pub fn tenant_id(customer_id: &str) -> Option<&str> {
    customer_id.strip_prefix(CUSTOMER_PREFIX).filter(|t| !t.is_empty())
}

/// SBT's name for a field of berth's request (a violation names what the sender sent).
pub fn field(op: Option<Operation>, berth_field: &str) -> String {
    match berth_field {
        "customer_id" => "tenantId".into(),
        "display_name" => "tenantName".into(),
        "idempotency_key" if matches!(op, None | Some(Operation::Offboard)) => "tenantRegistrationId".into(),
        "idempotency_key" => "id".into(),
        other => other.to_string(),
    }
}

/// The same error with each violation's field named as SBT's detail names it.
pub fn rename_fields(op: Option<Operation>, e: BerthError) -> BerthError {
    match e {
        BerthError::InvalidRequest(mut v) => {
            for violation in &mut v.0 {
                if violation.field == "customer_id" {
                    violation.rule = format!("as berth's customer id ('{CUSTOMER_PREFIX}' and the tenant id): {}", violation.rule);
                }
                violation.field = field(op, &violation.field);
            }
            BerthError::InvalidRequest(v)
        }
        other => other,
    }
}

fn text<'a>(detail: &'a Value, field: &str) -> Option<&'a str> {
    detail.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// berth's request for an SBT request event's detail: the onboarding request, or the
/// lifecycle request of `op`. `event_id` is the EventBridge event's id.
pub fn request(op: Option<Operation>, event_id: &str, detail: &Value) -> Result<Value, BerthError> {
    if !detail.is_object() {
        return Err(BerthError::invalid("detail", "must be SBT's tenant detail, an object"));
    }
    let Some(tenant) = text(detail, "tenantId") else {
        return Err(BerthError::invalid("tenantId", "required: the tenant's id (text)"));
    };
    let customer_id = customer_id(tenant);
    let registration_key = text(detail, "tenantRegistrationId").unwrap_or(tenant);
    match op {
        None => {
            let mut request = Map::new();
            request.insert("customer_id".into(), json!(customer_id));
            request.insert("idempotency_key".into(), json!(registration_key));
            request.insert("display_name".into(), json!(text(detail, "tenantName").unwrap_or(tenant)));
            for f in ["tier", "products", "services", "environment", "secrets"] {
                if let Some(v) = detail.get(f) {
                    request.insert(f.into(), v.clone());
                }
            }
            Ok(Value::Object(request))
        }
        Some(Operation::Offboard) => Ok(json!({
            "customer_id": customer_id,
            "idempotency_key": registration_key,
            "requested_by": REQUESTED_BY,
        })),
        Some(Operation::Suspend) => Ok(json!({
            "customer_id": customer_id,
            "idempotency_key": event_id,
            "reason": "on_request",
            "requested_by": REQUESTED_BY,
        })),
        Some(Operation::Resume) => Ok(json!({
            "customer_id": customer_id,
            "idempotency_key": event_id,
            "requested_by": REQUESTED_BY,
        })),
        Some(Operation::Update) => Err(BerthError::invalid("detail-type", "SBT asks for no update")),
    }
}

/// SBT's answer to one of berth's events: its detail-type and detail, or None when SBT has
/// nothing to hear of it (progress, an update, a customer that is not an SBT tenant's, a
/// rejection of a request that was not SBT's).
///
/// The detail carries what SBT's tenant registration reads: `tenantRegistrationId` (the
/// registration it updates, when the request named one) and `jobOutput` (the body it applies:
/// `tenantRegistrationData` and `tenantData`), with `tenantId`, and on failure the error
/// and its cause.
pub fn answer(detail_type: &str, detail: &Value) -> Option<(&'static str, Value)> {
    let customer = detail.get("customer_id").and_then(Value::as_str)?;
    let tenant = tenant_id(customer)?;
    let (op, succeeded, key) = if detail_type == events::REQUEST_REJECTED {
        let op = operation_of(detail.get("request_detail_type").and_then(Value::as_str)?)?;
        (op, false, detail.get("idempotency_key").and_then(Value::as_str).map(str::to_string))
    } else {
        let op = events::operations().find(|op| detail.get("operation").and_then(Value::as_str) == Some(events::operation(*op)))?;
        let succeeded = match detail_type {
            t if t == events::outcome(op, true) => true,
            t if t == events::outcome(op, false) => false,
            _ => return None,
        };
        let execution = detail.get("execution").and_then(Value::as_str).unwrap_or_default();
        let key = execution.rsplit(':').next().and_then(|name| name.split_once('_')).map(|(_, key)| key.to_string());
        (op, succeeded, key)
    };
    let (success, failure) = answers(op)?;
    // The registration's id is the key of an onboarding or offboarding that had one (the
    // tenant id otherwise).
    let registration = key.filter(|k| matches!(op, None | Some(Operation::Offboard)) && !k.eq_ignore_ascii_case(tenant));

    let execution = detail.get("execution").cloned().unwrap_or(Value::Null);
    let mut tenant_data = Map::new();
    if let Some(state) = detail.get("state").filter(|s| s.is_string()) {
        tenant_data.insert("berthState".into(), state.clone());
    }
    if let Some(url) = detail.get("url").filter(|u| u.is_string()) {
        tenant_data.insert("url".into(), url.clone());
    }
    tenant_data.insert("berthCustomerId".into(), json!(customer));
    let mut job_output = Map::new();
    job_output.insert("tenantData".into(), Value::Object(tenant_data));
    if registration.is_some() {
        job_output.insert(
            "tenantRegistrationData".into(),
            json!({ "berthStatus": if succeeded { "succeeded" } else { "failed" }, "berthExecution": execution }),
        );
    }
    let mut out = Map::new();
    out.insert("tenantId".into(), json!(tenant));
    if let Some(r) = registration {
        out.insert("tenantRegistrationId".into(), json!(r));
    }
    out.insert("berthOperation".into(), json!(events::operation(op)));
    out.insert("berthExecution".into(), execution);
    if !succeeded {
        out.insert("error".into(), detail.get("error").cloned().unwrap_or(Value::Null));
        let cause = detail.get("cause").cloned().or_else(|| {
            detail.get("reasons").and_then(Value::as_array).map(|reasons| {
                let said: Vec<String> = reasons
                    .iter()
                    .filter_map(|r| serde_json::from_value::<Violation>(r.clone()).ok())
                    .map(|v| format!("{}: {}", v.field, v.rule))
                    .collect();
                json!(said.join("; "))
            })
        });
        out.insert("cause".into(), cause.unwrap_or(Value::Null));
    }
    out.insert("jobOutput".into(), Value::Object(job_output));
    Some((if succeeded { success } else { failure }, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "3F2A9C1E-7B4D-4E8F-9A0B-1C2D3E4F5A6B";
    const REGISTRATION: &str = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e";

    #[test]
    fn a_tenant_is_one_customer_every_way_and_a_uuid_is_a_valid_customer_id() {
        let id = customer_id(TENANT);
        assert_eq!(id, "t-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b");
        assert_eq!(tenant_id(&id), Some("3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b"));
        assert_eq!(tenant_id("acme"), None);
        assert_eq!(tenant_id("t-"), None);
        let mut v = crate::Violations::default();
        crate::validate::check_customer_id(&id, &mut v);
        assert!(v.0.is_empty(), "{v:?}");
    }

    #[test]
    fn each_request_maps_to_its_operation_and_its_key() {
        let detail = json!({"tenantId": TENANT, "tenantRegistrationId": REGISTRATION, "tenantName": "Acme", "email": "a@acme.example", "tier": "basic",
            "products": ["webapp"], "services": {"api": {"image_tag": "1.4.2"}}});
        let onboard = request(None, "ev-1", &detail).unwrap();
        assert_eq!(onboard["customer_id"], customer_id(TENANT));
        assert_eq!(onboard["idempotency_key"], REGISTRATION);
        assert_eq!(onboard["display_name"], "Acme");
        assert_eq!(onboard["products"], json!(["webapp"]));
        assert_eq!(onboard["tier"], "basic", "SBT's tier is the catalog's");
        assert!(onboard.get("email").is_none(), "SBT's own fields stay SBT's");
        let without_registration = request(None, "ev-1", &json!({"tenantId": TENANT})).unwrap();
        assert_eq!(without_registration["idempotency_key"], TENANT);
        assert_eq!(without_registration["display_name"], TENANT);

        assert_eq!(request(Some(Operation::Offboard), "ev-2", &detail).unwrap()["idempotency_key"], REGISTRATION);
        let deactivate = request(Some(Operation::Suspend), "ev-3", &json!({"tenantId": TENANT})).unwrap();
        assert_eq!(deactivate["idempotency_key"], "ev-3");
        assert_eq!(deactivate["reason"], "on_request");
        crate::lifecycle::LifecycleRequest::parse(Operation::Suspend, &deactivate).unwrap();
        let activate = request(Some(Operation::Resume), "ev-4", &detail).unwrap();
        crate::lifecycle::LifecycleRequest::parse(Operation::Resume, &activate).unwrap();
        assert_eq!(operation_of("activateRequest"), Some(Some(Operation::Resume)));
        assert_eq!(operation_of("onboardingRequest"), Some(None));
        assert_eq!(operation_of("Customer Onboarding Requested"), None);
    }

    #[test]
    fn a_request_without_a_tenant_id_names_the_field_and_violations_use_sbts_names() {
        for detail in [json!({"tenantName": "Acme"}), json!({"tenantId": 7}), json!({"tenantId": ""}), json!("text")] {
            let e = request(None, "ev", &detail).unwrap_err();
            let BerthError::InvalidRequest(v) = e else { panic!("not invalid: {e:?}") };
            assert!(v.0[0].field == "tenantId" || v.0[0].field == "detail", "{v:?}");
        }
        let e = BerthError::InvalidRequest(crate::Violations(vec![
            Violation::new("customer_id", "too long"),
            Violation::new("idempotency_key", "bad"),
            Violation::new("services.api.image_tag", "missing"),
        ]));
        let BerthError::InvalidRequest(v) = rename_fields(None, e) else { panic!() };
        let fields: Vec<&str> = v.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["tenantId", "tenantRegistrationId", "services.api.image_tag"]);
        assert_eq!(field(Some(Operation::Suspend), "idempotency_key"), "id");
    }

    fn outcome(detail_type: &str, operation: &str, key: &str, extra: Value) -> (String, Value) {
        let customer = customer_id(TENANT);
        let mut d = json!({"version": "1", "operation": operation, "customer_id": customer,
            "execution": format!("arn:aws:states:us-east-1:123456789012:execution:berth-{operation}:{customer}_{key}")});
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        (detail_type.to_string(), d)
    }

    #[test]
    fn each_outcome_of_an_sbt_tenant_gets_sbts_answer_with_what_its_registration_reads() {
        let (t, d) = outcome(
            "Customer Onboarding Succeeded",
            "onboard",
            REGISTRATION,
            json!({"outcome": "succeeded", "state": "ACTIVE", "url": "https://x.example.com"}),
        );
        let (answer_type, a) = answer(&t, &d).unwrap();
        assert_eq!(answer_type, "provisionSuccess");
        assert_eq!(a["tenantId"], "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b");
        assert_eq!(a["tenantRegistrationId"], REGISTRATION);
        assert_eq!(a["jobOutput"]["tenantData"]["url"], "https://x.example.com");
        assert_eq!(a["jobOutput"]["tenantData"]["berthState"], "ACTIVE");
        assert_eq!(a["jobOutput"]["tenantRegistrationData"]["berthStatus"], "succeeded");
        assert!(a.get("error").is_none());

        let (t, d) = outcome(
            "Customer Onboarding Failed",
            "onboard",
            REGISTRATION,
            json!({"outcome": "failed", "error": "Berth.Timeout", "cause": "not healthy"}),
        );
        let (answer_type, a) = answer(&t, &d).unwrap();
        assert_eq!(
            (answer_type, a["error"].as_str(), a["cause"].as_str()),
            ("provisionFailure", Some("Berth.Timeout"), Some("not healthy"))
        );
        assert_eq!(a["jobOutput"]["tenantRegistrationData"]["berthStatus"], "failed");

        // Keyed by the tenant id (no registration): no registration to update.
        let (t, d) =
            outcome("Customer Offboarding Succeeded", "offboard", "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b", json!({"outcome": "succeeded"}));
        let (answer_type, a) = answer(&t, &d).unwrap();
        assert_eq!(answer_type, "deprovisionSuccess");
        assert!(a.get("tenantRegistrationId").is_none() && a["jobOutput"].get("tenantRegistrationData").is_none(), "{a}");

        for (t, op, want) in [
            ("Customer Suspend Succeeded", "suspend", "deactivateSuccess"),
            ("Customer Suspend Failed", "suspend", "deactivateFailure"),
            ("Customer Resume Succeeded", "resume", "activateSuccess"),
            ("Customer Resume Failed", "resume", "activateFailure"),
            ("Customer Offboarding Failed", "offboard", "deprovisionFailure"),
        ] {
            let (t, d) = outcome(t, op, "6a7e1d2c-0b5f-4c3e-9a1d-000000000001", json!({}));
            let (answer_type, a) = answer(&t, &d).unwrap();
            assert_eq!(answer_type, want);
            if op != "offboard" {
                assert!(a.get("tenantRegistrationId").is_none(), "an activation is keyed by its event, not a registration");
            }
        }
    }

    #[test]
    fn updates_progress_other_customers_and_foreign_rejections_get_no_answer() {
        let (t, d) = outcome("Customer Update Succeeded", "update", "k", json!({}));
        assert!(answer(&t, &d).is_none());
        let (_, d) = outcome("", "onboard", "k", json!({}));
        assert!(answer(events::PROGRESS, &d).is_none());
        assert!(answer("Customer Onboarding Succeeded", &json!({"operation": "onboard", "customer_id": "acme", "execution": "x:acme_k"}))
            .is_none());
        let rejected = |request_type: &str| {
            json!({"customer_id": customer_id(TENANT), "request_detail_type": request_type, "idempotency_key": REGISTRATION,
                "error": "Berth.InvalidRequest", "reasons": [{"field": "products", "rule": "required"}, {"field": "tenantName", "rule": "too long"}]})
        };
        assert!(answer(events::REQUEST_REJECTED, &rejected("Customer Onboarding Requested")).is_none());
        let (answer_type, a) = answer(events::REQUEST_REJECTED, &rejected("onboardingRequest")).unwrap();
        assert_eq!(answer_type, "provisionFailure");
        assert_eq!(a["cause"], "products: required; tenantName: too long");
        assert_eq!(a["tenantRegistrationId"], REGISTRATION);
    }
}
