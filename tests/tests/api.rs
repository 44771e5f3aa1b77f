//! The HTTP API end to end, over plain HTTP as `curl` would call it: the `berth-api` handler
//! behind `cargo lambda watch`'s function URL (`<runtime API>/lambda-url/berth-api/...`), the
//! execution it starts run by the emulator, and what the API then shows read from the
//! registry.

use berth_local::http::{send, Response};
use berth_tests::Harness;
use hyper::Method;
use serde_json::{json, Value};

async fn call(h: &Harness, method: Method, path: &str, headers: &[(&str, String)], body: Option<&Value>) -> (Response, Value) {
    let url = format!("{}/lambda-url/berth-api{path}", h.stack.runtime_api);
    let mut all = vec![("content-type", "application/json".to_string())];
    all.extend(headers.iter().cloned());
    let r = send(method, &url, &all, body.map(Value::to_string).unwrap_or_default()).await.expect("the function URL answers");
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r, v)
}

#[tokio::test]
async fn the_api_over_the_local_function_url_onboards_shows_and_lists_a_customer() {
    let h = Harness::new().await;
    let customer = "e2e-http";
    let mut request = Harness::request(customer);
    let key = request["idempotency_key"].as_str().expect("key").to_string();
    request.as_object_mut().expect("object").remove("idempotency_key");

    let (r, started) = call(&h, Method::POST, "/customers", &[("idempotency-key", key.clone())], Some(&request)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.headers.get("location").map(String::as_str), Some(format!("/customers/{customer}").as_str()));
    assert_eq!(started["started"], json!(true), "{started}");
    let arn = started["execution_arn"].as_str().expect("execution").to_string();
    assert!(arn.ends_with(&format!(":berth-onboard:{customer}_{key}")), "{arn}");
    // A retry with the same key: 202, the same execution, nothing new.
    let (r, again) = call(&h, Method::POST, "/customers", &[("idempotency-key", key.clone())], Some(&request)).await;
    assert_eq!((r.status, again["started"].as_bool(), again["execution_arn"].as_str()), (202, Some(false), Some(arn.as_str())));
    let done = h.follow(&arn).await;
    assert_eq!(done.status, "SUCCEEDED", "{:?} {:?}", done.error, done.cause);

    let (r, shown) = call(&h, Method::GET, &format!("/customers/{customer}"), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((shown["state"].as_str(), shown["url"].as_str()), (Some("ACTIVE"), Some(format!("https://{}", h.host(customer)).as_str())));
    assert_eq!(shown["execution"], arn.as_str());
    let (r, listed) = call(&h, Method::GET, "/customers?state=ACTIVE&limit=200", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(listed["customers"].as_array().expect("customers").iter().any(|c| c["customer_id"] == customer), "{listed}");

    // Problems: a bad request names its fields, an unknown customer is 404, a second
    // onboarding of an ACTIVE customer under a new key is 409; all problem+json.
    let mut bad = request.clone();
    bad["products"] = json!(["payroll"]);
    let (r, problem) = call(&h, Method::POST, "/customers", &[("idempotency-key", "e2e-http-bad".into())], Some(&bad)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/problem+json"));
    assert!(problem["errors"].as_array().expect("errors").iter().any(|e| e["field"] == "products[0]"), "{problem}");
    let (r, _) = call(&h, Method::GET, "/customers/e2e-nobody", &[], None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let (r, problem) = call(&h, Method::POST, "/customers", &[("idempotency-key", "e2e-http-second".into())], Some(&request)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(problem["status"], 409);
}
