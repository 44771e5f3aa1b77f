//! The onboarding request: the state machine's input and what the portal sends.
//! Its JSON Schema is `events/schemas/onboarding-request.schema.json`; `events/onboard.json` is an
//! example. Secrets are references (ARNs), never values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the portal posts to onboard one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingRequest {
    /// DNS-safe slug; the customer's host is `{customer_id}.{domain}`.
    pub customer_id: String,
    /// Chosen by the caller, the same for every delivery of one request: the execution is
    /// named after the customer and this key, so a request delivered twice runs once.
    pub idempotency_key: String,
    /// Human-readable name, shown to operators and passed to the containers.
    pub display_name: String,
    /// Products from the catalog; together they decide which services run.
    pub products: Vec<String>,
    /// The catalog's tier: which products the customer may have, each service's size and
    /// count, and how far `services` may go past them (none: the catalog's default tier).
    #[serde(default)]
    pub tier: Option<String>,
    /// Per-service settings, keyed by service name. Every service of the chosen products
    /// needs an entry with its image tag.
    pub services: BTreeMap<String, ServiceRequest>,
    /// Environment variables given to every service (a service's own win).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secret references given to every service: variable name to the ARN of a Secrets
    /// Manager secret or an SSM parameter.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// The customer's own domain, served beside its host: the hostname and the ACM
    /// certificate for it.
    #[serde(default)]
    pub domain: Option<DomainRequest>,
    /// Operator options; the portal leaves them out.
    #[serde(default)]
    pub options: Option<RequestOptions>,
}

/// A customer's own hostname (`shop.acme-corp.com`) and the ARN of the ACM certificate that
/// covers it, in the deployment's region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRequest {
    pub hostname: String,
    pub certificate_arn: String,
}

/// Settings for one service of the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    /// The image tag (or `sha256:` digest) to run.
    pub image_tag: String,
    /// Overrides the catalog's default desired count.
    #[serde(default)]
    pub desired_count: Option<u32>,
    /// Overrides the catalog's task cpu units (must form a valid Fargate pair with memory).
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Overrides the catalog's task memory in MiB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Narrows the task count its tier scales the service within.
    #[serde(default)]
    pub autoscaling: Option<AutoscalingRequest>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// The bounds a request narrows a tier's autoscaling of a service to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingRequest {
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub max: Option<u32>,
}

/// Options an operator may set on an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOptions {
    /// Seconds between two health checks while waiting for the services (0..=300).
    #[serde(default)]
    pub health_interval_seconds: Option<u32>,
    /// Health checks before giving up with `Berth.Timeout` (1..=1000).
    #[serde(default)]
    pub health_max_attempts: Option<u32>,
}

impl OnboardingRequest {
    /// Parses a request, turning a JSON shape error into a violation that names the field.
    pub fn from_json(value: serde_json::Value) -> Result<Self, crate::BerthError> {
        crate::input::parse(&value, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed JSON Schema describes exactly this type's fields.
    #[test]
    fn the_schema_has_the_same_fields() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/schemas/onboarding-request.schema.json")).unwrap();
        let props = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v["properties"].as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let full = OnboardingRequest {
            customer_id: "a".into(),
            idempotency_key: "k".into(),
            display_name: "a".into(),
            products: vec![],
            tier: Some("basic".into()),
            services: BTreeMap::new(),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domain: Some(DomainRequest { hostname: "shop.example.org".into(), certificate_arn: "arn".into() }),
            options: None,
        };
        let mut mine: Vec<String> = serde_json::to_value(&full).unwrap().as_object().unwrap().keys().cloned().collect();
        mine.sort();
        assert_eq!(props(&schema), mine);
        let service = ServiceRequest {
            image_tag: "1".into(),
            desired_count: None,
            cpu: None,
            memory: None,
            autoscaling: Some(AutoscalingRequest { min: Some(1), max: Some(2) }),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
        };
        let mut mine: Vec<String> = serde_json::to_value(&service).unwrap().as_object().unwrap().keys().cloned().collect();
        mine.sort();
        assert_eq!(props(&schema["$defs"]["service"]), mine);
        let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(required, vec!["customer_id", "idempotency_key", "display_name", "products", "services"]);
    }

    #[test]
    fn malformed_json_names_the_field() {
        let e = OnboardingRequest::from_json(serde_json::json!({"customer_id": "acme"})).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("idempotency_key"), "{text}");
        let e = OnboardingRequest::from_json(serde_json::json!({"customer_id": "acme", "idempotency_key": "k"})).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("display_name"), "{text}");
        let e = OnboardingRequest::from_json(serde_json::json!({
            "customer_id": "acme", "idempotency_key": "k", "display_name": "A", "products": [], "services": {}, "colour": 1
        }))
        .unwrap_err();
        assert!(e.to_string().starts_with("invalid request: colour:"), "{e}");
    }
}
