//! Secrets stay references, end to end on the local stack. A canary value planted in
//! requests that try to carry it as a plain variable named like a secret, as a secret
//! "ARN" that is really a value, and as a password in a URL, through every door (the intake
//! invoked directly, a request event, an SBT request, the HTTP API) is refused each time, and
//! afterwards is nowhere: not in a log line of the local stack, a DynamoDB item, an
//! execution's history, an event berth put on a bus, or an answer to the caller. And plain
//! environment values with quotes, `$`, newlines, `=` and unicode arrive in the registered
//! task definition byte for byte.

use berth_local::http::send;
use berth_tests::{root, Harness};
use hyper::Method;
use serde_json::{json, Value};

/// A value nobody else writes, unique to this run.
fn canary() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("cnry{nanos:x}Zq")
}

/// Every request that tries to carry the canary: (what, the request).
fn carriers(canary: &str) -> Vec<(&'static str, Value)> {
    let mut plain = Harness::request("sec-plain");
    plain["idempotency_key"] = json!("sec-1");
    plain["environment"] = json!({ "DB_PASSWORD": canary });
    let mut in_service = Harness::request("sec-service");
    in_service["idempotency_key"] = json!("sec-2");
    in_service["services"]["api"]["environment"] = json!({ "STRIPE_API_KEY": canary });
    let mut fake_arn = Harness::request("sec-arn");
    fake_arn["idempotency_key"] = json!("sec-3");
    fake_arn["secrets"] = json!({ "DATABASE_URL": canary });
    let mut url = Harness::request("sec-url");
    url["idempotency_key"] = json!("sec-4");
    url["environment"] = json!({ "DATABASE_URL": format!("postgres://app:{canary}@db.internal/app") });
    vec![
        ("a plain variable named like a secret", plain),
        ("a service's variable named like a secret", in_service),
        ("a secret ARN that is a value", fake_arn),
        ("a password in a URL", url),
    ]
}

/// Every place the canary must not be, by name: the local stack's logs, the registry's
/// items, every execution's history (input, output, errors) of every machine, and every
/// event put on berth's and SBT's buses.
async fn places(h: &Harness) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(h.dir.join("logs")).expect("the stack's logs").flatten() {
        let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()).into_owned();
        found.push((format!("log {}", entry.file_name().to_string_lossy()), text));
    }
    let mut start = None;
    loop {
        let page = h.dynamodb.scan().table_name(&h.stack.infra.table).set_exclusive_start_key(start.take()).send().await.expect("scan");
        for item in page.items() {
            found.push(("registry item".into(), format!("{item:?}")));
        }
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    for machine in h.stack.infra.state_machines.values() {
        let executions = h.sfn.list_executions().state_machine_arn(machine).send().await.expect("executions");
        for e in executions.executions() {
            let history = berth_local::runner::history(&h.sfn, e.execution_arn()).await.expect("history");
            found.push((format!("execution {}", e.name()), format!("{history:?}")));
        }
    }
    for e in h.emitted().await.into_iter().chain(h.sbt_answers().await) {
        found.push(("event".into(), e.to_string()));
    }
    found
}

#[tokio::test]
async fn a_secret_value_is_refused_at_every_door_and_is_nowhere_afterwards() {
    let h = Harness::new().await;
    let canary = canary();
    let mut answers = Vec::new();
    for (what, request) in carriers(&canary) {
        // The intake, invoked directly as the portal does.
        let (failed, out) = h.invoke("berth-intake", &request).await;
        assert!(failed && out["errorType"] == "Berth.InvalidRequest", "{what}: {out}");
        answers.push(out.to_string());
        // The same request as a request event on the bus.
        let text = std::fs::read_to_string(root().join("events/bus/onboarding-requested.json")).expect("the bus example");
        let mut event: Value = serde_json::from_str(&text).expect("JSON");
        event["id"] = json!(format!("sec-event-{}", request["customer_id"].as_str().unwrap_or_default()));
        event["detail"] = request.clone();
        let (failed, out) = h.invoke("berth-intake", &event).await;
        assert!(!failed && out["status"] == "REJECTED", "{what}: {out}");
        answers.push(out.to_string());
        // The HTTP API.
        let url = format!("{}/lambda-url/berth-api/customers", h.stack.runtime_api);
        let r = send(Method::POST, &url, &[("content-type", "application/json".into())], request.to_string()).await.expect("the API");
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        answers.push(r.body.clone());
    }
    // SBT's onboarding request, with the canary in the tenant's data.
    let text = std::fs::read_to_string(root().join("events/sbt/onboarding-request.json")).expect("the SBT example");
    let mut sbt: Value = serde_json::from_str(&text).expect("JSON");
    sbt["detail"]["environment"] = json!({ "ADMIN_TOKEN": canary });
    let (failed, out) = h.invoke("berth-intake", &sbt).await;
    assert!(!failed && out["status"] == "REJECTED", "{out}");
    answers.push(out.to_string());

    for a in &answers {
        assert!(!a.contains(&canary), "an answer repeats the value: {a}");
    }
    // Nothing was started for any of them.
    for (_, request) in carriers(&canary) {
        let customer = request["customer_id"].as_str().unwrap_or_default();
        assert!(h.inventory(customer).await.customer_item.is_none(), "{customer} was registered");
    }
    // Give the bus's rules a moment to deliver the rejections, then look everywhere.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let places = places(&h).await;
    let rejections = places.iter().filter(|(p, text)| p == "event" && text.contains("Customer Request Rejected")).count();
    assert!(rejections >= 4, "the rejections were put on the bus ({rejections}), and were searched");
    assert!(places.iter().any(|(p, _)| p.starts_with("log berth-intake")), "the intake's log was searched");
    let hits: Vec<&String> = places.iter().filter(|(_, text)| text.contains(&canary)).map(|(p, _)| p).collect();
    assert!(hits.is_empty(), "the value is in: {hits:?}");
}

#[tokio::test]
async fn plain_values_arrive_in_the_task_definition_byte_for_byte() {
    let h = Harness::new().await;
    let customer = "sec-bytes";
    let values = [
        ("QUOTED", r#"he said "hi" and 'bye'"#),
        ("DOLLARS", "$HOME ${PATH} $(id) `id` $$"),
        ("LINES", "first line\nsecond line\r\nthird\ttabbed"),
        ("EQUALS", "a=b=c; d==e"),
        ("UNICODE", "ünïcödé ✓ 日本語 🚢"),
        ("BACKSLASHES", r"C:\path\to\x \\ \n"),
        ("SPACES", "  leading and trailing  "),
        ("JSONISH", r#"{"k": [1, "two"], "n": null}"#),
    ];
    let mut request = Harness::request(customer);
    request["services"]["api"]["environment"] = Value::Object(values.iter().map(|(k, v)| (k.to_string(), json!(v))).collect());
    let r = h.onboard(&request).await;
    assert_eq!(r.status, "SUCCEEDED", "{:?} {:?}", r.error, r.cause);
    let family = berth_domain::naming::task_family(&h.stack.infra.name_prefix, customer, "api");
    let td = h.ecs.describe_task_definition().task_definition(&family).send().await.expect("the task definition");
    let container = td.task_definition().and_then(|t| t.container_definitions().first()).expect("a container");
    for (name, value) in values {
        let got = container.environment().iter().find(|kv| kv.name() == Some(name)).and_then(|kv| kv.value());
        assert_eq!(got, Some(value), "{name}");
    }
}
