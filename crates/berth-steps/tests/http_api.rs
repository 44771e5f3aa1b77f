//! The HTTP API's handler over the in-memory ports, with API Gateway v2 events as API Gateway
//! sends them (`events/api/*.json`): 202 with the execution and a `Location`, 400 naming
//! each broken rule, 404, 405, 409, 429 and 503, all as problem+json; the `Idempotency-Key`
//! header as the request's key; the customer's record and history; the list, a page at a
//! time.

mod common;

use berth_adapters::memory::Memory;
use berth_adapters::model::Registration;
use berth_adapters::ports::Customers;
use berth_domain::lifecycle::Operation;
use berth_domain::state::CustomerState;
use berth_domain::{BerthError, ErrorKind};
use berth_steps::{api, ApiInput};
use common::*;
use serde_json::{json, Value};

fn example(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../events/api/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The handler's response: status, headers (lower-case names) and the JSON body.
async fn call(m: &Memory, event: Value) -> (i64, serde_json::Map<String, Value>, Value) {
    let r = api::run(&cx(m, intake_config()), ApiInput(event)).await.expect("an HTTP answer");
    let r = serde_json::to_value(&r).unwrap();
    let body: Value = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap();
    (r["statusCode"].as_i64().unwrap(), r["headers"].as_object().cloned().unwrap_or_default(), body)
}

fn with_body(mut event: Value, body: Value) -> Value {
    event["body"] = json!(body.to_string());
    event
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| e.iter().map(|v| v["field"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

async fn registered(m: &Memory, customer: &str, state: CustomerState) {
    m.register(&Registration {
        customer_id: customer.into(),
        execution_id: format!("arn:aws:states:us-east-1:123456789012:execution:berth-onboard:{customer}_k"),
        host: format!("{customer}.saas.example.com"),
        product_hosts: Vec::new(),
        display_name: customer.to_uppercase(),
        products: vec!["webapp".into()],
        plan_json: "{}".into(),
        ledger: vec![],
    })
    .await
    .unwrap();
    m.with(|w| w.customers.get_mut(customer).unwrap().state = state);
}

#[tokio::test]
async fn post_customers_starts_the_onboarding_once_under_the_idempotency_key() {
    let m = memory();
    let (status, headers, body) = call(&m, example("onboard")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(headers["location"], "/customers/acme");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["execution_arn"], "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_signup-7f3c2a91");
    assert_eq!(
        (body["started"].as_bool(), body["status"].as_str(), body["operation"].as_str()),
        (Some(true), Some("RUNNING"), Some("onboard"))
    );
    // The execution's input is the request the portal would have sent to the intake.
    let input = m.with(|w| w.executions.values().next().and_then(|e| e.input.clone())).unwrap();
    let onboard: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/onboard.json")).unwrap()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&input).unwrap(), onboard);
    // Sent again (a retry): the same execution, nothing new.
    let (status, _, again) = call(&m, example("onboard")).await;
    assert_eq!((status, again["started"].as_bool(), &again["execution_arn"]), (202, Some(false), &body["execution_arn"]));
    m.with(|w| assert_eq!(w.executions.len(), 1));
}

#[tokio::test]
async fn bad_requests_are_400_problems_naming_every_field_and_start_nothing() {
    let m = memory();
    let mut broken = example("onboard");
    let mut request: Value = serde_json::from_str(broken["body"].as_str().unwrap()).unwrap();
    request["customer_id"] = json!("www");
    request["products"] = json!(["payroll"]);
    broken = with_body(broken, request.clone());
    let (status, headers, problem) = call(&m, broken).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!((problem["status"].as_i64(), problem["title"].as_str()), (Some(400), Some("invalid request")));
    assert_eq!(fields(&problem), ["customer_id", "products[0]", "services.api", "services.frontend", "services.worker"]);

    let mut no_key = example("onboard");
    no_key["headers"].as_object_mut().unwrap().remove("idempotency-key");
    let (status, _, problem) = call(&m, no_key).await;
    assert_eq!((status, fields(&problem)), (400, vec!["Idempotency-Key".to_string()]), "{problem}");

    let mut two_keys = example("onboard");
    let mut request: Value = serde_json::from_str(two_keys["body"].as_str().unwrap()).unwrap();
    request["idempotency_key"] = json!("another-key");
    two_keys = with_body(two_keys, request);
    let (status, _, problem) = call(&m, two_keys).await;
    assert_eq!((status, fields(&problem)), (400, vec!["idempotency_key".to_string()]), "{problem}");

    for body in ["not json", "[1, 2]", &format!("{}{}", "[".repeat(200), "]".repeat(200))] {
        let mut e = example("onboard");
        e["body"] = json!(body);
        let (status, _, problem) = call(&m, e).await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let mut other = example("update");
    let mut request: Value = serde_json::from_str(other["body"].as_str().unwrap()).unwrap();
    request["customer_id"] = json!("globex");
    other = with_body(other, request);
    let (status, _, problem) = call(&m, other).await;
    assert_eq!((status, fields(&problem)), (400, vec!["customer_id".to_string()]), "{problem}");
    m.with(|w| assert!(w.executions.is_empty()));
}

#[tokio::test]
async fn lifecycle_routes_start_their_machines_and_conflicts_are_409() {
    let m = memory();
    for (name, machine, key) in [
        ("update", "berth-update", "update-2026-11-23"),
        ("suspend", "berth-suspend", "suspend-2026-11-23"),
        ("resume", "berth-resume", "resume-2026-11-24"),
        ("offboard", "berth-offboard", "offboard-2026-12-31"),
    ] {
        let (status, headers, body) = call(&m, example(name)).await;
        assert_eq!(status, 202, "{name}: {body}");
        assert_eq!(headers["location"], "/customers/acme");
        assert_eq!(body["execution_arn"], format!("arn:aws:states:us-east-1:123456789012:execution:{machine}:acme_{key}"));
    }
    let suspend = m.with(|w| w.executions.values().find(|e| e.arn.contains(":berth-suspend:")).and_then(|e| e.input.clone())).unwrap();
    let suspend: Value = serde_json::from_str(&suspend).unwrap();
    assert_eq!((suspend["reason"].as_str(), suspend["customer_id"].as_str()), (Some("unpaid"), Some("acme")));
    berth_domain::lifecycle::LifecycleRequest::parse(Operation::Suspend, &suspend).unwrap();

    // A new onboarding of a customer that is ACTIVE: 409.
    let m = memory();
    registered(&m, "acme", CustomerState::Active).await;
    let (status, headers, problem) = call(&m, example("onboard")).await;
    assert_eq!((status, problem["title"].as_str()), (409, Some("conflict")), "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(problem["detail"].as_str().unwrap().contains("ACTIVE"), "{problem}");
}

#[tokio::test]
async fn get_shows_the_record_and_its_history_and_an_unknown_customer_is_404() {
    let m = memory();
    registered(&m, "acme", CustomerState::Active).await;
    let (status, _, body) = call(&m, example("show")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["customer_id"].as_str(), body["state"].as_str(), body["host"].as_str()),
        (Some("acme"), Some("ACTIVE"), Some("acme.saas.example.com"))
    );
    assert!(body["history"].is_array() && body["last_error"].is_null(), "{body}");

    let mut unknown = example("show");
    unknown["rawPath"] = json!("/customers/nobody");
    unknown["requestContext"]["http"]["path"] = json!("/customers/nobody");
    let (status, headers, problem) = call(&m, unknown).await;
    assert_eq!((status, problem["status"].as_i64()), (404, Some(404)), "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_list_filters_by_state_a_page_at_a_time() {
    let m = memory();
    for (c, s) in [
        ("acme", CustomerState::Active),
        ("globex", CustomerState::Suspended),
        ("initech", CustomerState::Active),
        ("umbrella", CustomerState::Active),
    ] {
        registered(&m, c, s).await;
    }
    let mut page = example("list");
    page["queryStringParameters"] = json!({"state": "ACTIVE", "limit": "2"});
    let (status, _, body) = call(&m, page.clone()).await;
    assert_eq!(status, 200, "{body}");
    let ids =
        |b: &Value| b["customers"].as_array().unwrap().iter().map(|c| c["customer_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!((ids(&body), body["next"].as_str()), (vec!["acme".to_string(), "initech".to_string()], Some("initech")));
    page["queryStringParameters"]["next"] = json!("initech");
    let (_, _, body) = call(&m, page).await;
    assert_eq!((ids(&body), body["next"].clone()), (vec!["umbrella".to_string()], Value::Null));

    let mut bad = example("list");
    bad["queryStringParameters"] = json!({"state": "HAPPY", "limit": "0"});
    let (status, _, problem) = call(&m, bad).await;
    assert_eq!((status, fields(&problem)), (400, vec!["state".to_string(), "limit".to_string()]), "{problem}");
}

#[tokio::test]
async fn unknown_routes_methods_and_events_and_transient_failures() {
    let m = memory();
    let mut nowhere = example("show");
    nowhere["rawPath"] = json!("/tenants");
    let (status, _, _) = call(&m, nowhere).await;
    assert_eq!(status, 404);
    let mut put = example("show");
    put["requestContext"]["http"]["method"] = json!("PUT");
    let (status, headers, _) = call(&m, put).await;
    assert_eq!((status, headers["allow"].as_str()), (405, Some("GET, PATCH, DELETE")));

    // Not an HTTP event: the caller's error, named.
    let e = api::run(&cx(&m, intake_config()), ApiInput(json!({}))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);

    // Step Functions failing for a moment: 503 with Retry-After; throttled: 429.
    m.with(|w| w.failing.insert("StartExecution", ErrorKind::Transient));
    let (status, headers, _) = call(&m, example("onboard")).await;
    assert_eq!((status, headers["retry-after"].as_str()), (503, Some("1")));
    let throttled = BerthError::Aws {
        kind: ErrorKind::Transient,
        service: "states",
        operation: "StartExecution",
        code: Some("ThrottlingException".into()),
        message: None,
        source: "test".into(),
    };
    let a = api::problem_of(&throttled);
    assert_eq!((a.status, a.headers.clone()), (429, vec![("retry-after", "1".to_string())]));
}
