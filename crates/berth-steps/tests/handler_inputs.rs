//! No input can break a berth Lambda. Every Lambda's handler, wired as its binary wires it
//! (`lambda::handle` and the step) over the in-memory fakes, is driven with generated JSON:
//! arbitrary values with unicode, control characters, huge strings and deep nesting; its
//! own example event (`events/`) with one part replaced by such a value or a wrong type.
//! Every answer is a result or an error whose name is in the vocabulary; a panic fails.
//! Then a table of known-bad inputs: each is refused with `Berth.InvalidRequest` and writes
//! nothing. The same table runs through the real Lambdas on the local stack in the
//! integration suite `inputs`.
//!
//! The budget is fixed: [`CASES`] generated inputs of each of six kinds per Lambda.

mod common;
#[path = "common/known_bad.rs"]
mod known_bad;

use berth_adapters::memory::Memory;
use berth_domain::ErrorKind;
use berth_steps::lambda::{self, handle, StepError};
use berth_steps::{
    activate, allocate, api, check, claim, dns, fail, gate, intake, register, reshape, resources, rollback, sbt, scale, settle, validate,
    waves,
};
use common::*;
use known_bad::{example, field_path, known_bad, replace, FUNCTIONS};
use lambda_runtime::Diagnostic;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Generated inputs per Lambda and kind in `make test`; `BERTH_INPUT_CASES` sets another
/// budget for a deeper search.
pub const CASES: u32 = 50;

fn cases() -> u32 {
    std::env::var("BERTH_INPUT_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES)
}

/// Invokes one Lambda's handler in process, as its binary does (`lambda::handle` with the
/// step its `main` serves), over the fakes: the payload is raw JSON text.
async fn invoke(m: &Memory, function: &str, payload: &str) -> Result<Value, Diagnostic> {
    let event = lambda::event(payload).map_err(|e| Diagnostic::from(StepError(e)))?;
    let out = match function {
        "validate" => handle("validate", &cx(m, settings()), event, validate::run).await.map(|o| json!(o)),
        "intake" => handle("intake", &cx(m, intake_config()), event, intake::run).await.map(|o| json!(o)),
        "register" => handle("register", &cx(m, register_config()), event, register::run).await.map(|o| json!(o)),
        "allocate" => handle("allocate", &cx(m, table()), event, allocate::run).await.map(|o| json!(o)),
        "resources" => handle("resources", &cx(m, infra()), event, resources::run).await.map(|o| json!(o)),
        "check" => handle("check", &cx(m, cluster()), event, check::run).await.map(|o| json!(o)),
        "dns" => handle("dns", &cx(m, zone()), event, dns::run).await.map(|o| json!(o)),
        "activate" => handle("activate", &cx(m, table()), event, activate::run).await.map(|o| json!(o)),
        "fail" => handle("fail", &cx(m, table()), event, fail::run).await.map(|o| json!(o)),
        "rollback" => handle("rollback", &cx(m, teardown()), event, rollback::run).await.map(|o| json!(o)),
        "claim" => handle("claim", &cx(m, scale_config()), event, claim::run).await.map(|o| json!(o)),
        "scale" => handle("scale", &cx(m, scale_config()), event, scale::run).await.map(|o| json!(o)),
        "reshape" => handle("reshape", &cx(m, teardown()), event, reshape::run).await.map(|o| json!(o)),
        "settle" => handle("settle", &cx(m, table()), event, settle::run).await.map(|o| json!(o)),
        "waves" => handle("waves", &cx(m, table()), event, waves::run).await.map(|o| json!(o)),
        "gate" => handle("gate", &cx(m, berth_adapters::config::NoConfig), event, gate::run).await.map(|o| json!(o)),
        "sbt" => {
            let config = berth_adapters::config::SbtConfig { bus: "sbt-bus".into(), source: "applicationPlaneEventSource".into() };
            handle("sbt", &cx(m, config), event, sbt::run).await.map(|o| json!(o))
        }
        "api" => handle("api", &cx(m, intake_config()), event, api::run).await.map(|o| json!(o)),
        other => panic!("no Lambda named {other}"),
    };
    out.map_err(Diagnostic::from)
}

/// A JSON string of unicode, control characters or a lot of it.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        2 => "[\\x00-\\x1f\u{7f}\u{200b}\u{202e}\u{fffd}]{0,8}",
        1 => "[üé漢字🦀]{1,60}",
        1 => (1usize..5).prop_map(|n| "ü".repeat(n * 40_000)),
        1 => Just("a".repeat(300_000)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        text().prop_map(Value::String),
    ]
}

/// Arbitrary JSON, its keys drawn from berth's own field names and from noise.
fn arbitrary() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "plan",
            "request",
            "customer_id",
            "execution_id",
            "services",
            "register",
            "allocation",
            "resources",
            "health",
            "dns",
            "error",
            "rollback",
            "Cause",
            "Error",
            "idempotency_key",
            "products",
            "priorities",
        ])
        .prop_map(str::to_string),
        "\\PC{0,12}",
    ];
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Nesting from just past berth's limit to far beyond what a recursive parser survives.
fn deep() -> impl Strategy<Value = String> {
    (33usize..4000, any::<bool>()).prop_map(|(depth, arrays)| {
        if arrays {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        } else {
            format!("{}1{}", "{\"plan\":".repeat(depth), "}".repeat(depth))
        }
    })
}

/// Every path to a value in `v`, the root first.
fn paths(v: &Value, here: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| paths(c, [here.clone(), vec![k.clone()]].concat(), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| paths(c, [here.clone(), vec![i.to_string()]].concat(), out)),
        _ => {}
    }
}

/// The example event with one part (chosen by `pick`) replaced by `with`.
fn mutated(function: &str, pick: prop::sample::Index, with: Value) -> Value {
    let mut v = example(function);
    let mut all = Vec::new();
    paths(&v, Vec::new(), &mut all);
    let path = pick.get(&all).clone();
    replace(&mut v, &path, with);
    v
}

/// The answer is a result, or an error named from the vocabulary that is not a caught panic.
fn well_behaved(function: &str, answer: &Result<Value, Diagnostic>) -> Result<(), TestCaseError> {
    if let Err(d) = answer {
        prop_assert!(ErrorKind::from_name(&d.error_type).is_some(), "{function}: error type {} is not in the vocabulary", d.error_type);
        prop_assert!(!d.error_message.contains("panicked"), "{function} panicked: {}", d.error_message);
        prop_assert!(
            d.error_message.chars().count() < 20_000,
            "{function}: an error repeats a long input ({} characters)",
            d.error_message.len()
        );
    }
    Ok(())
}

fn drive(function: &'static str, strategy: impl Strategy<Value = String>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner
        .run(&strategy, |payload| {
            let m = memory();
            let answer = rt.block_on(invoke(&m, function, &payload));
            well_behaved(function, &answer)
        })
        .unwrap_or_else(|e| panic!("{function}: {e}"));
}

#[test]
fn generated_inputs_never_break_a_lambda() {
    for function in FUNCTIONS {
        drive(function, arbitrary().prop_map(|v| v.to_string()));
        drive(
            function,
            (any::<prop::sample::Index>(), prop_oneof![3 => leaf(), 1 => arbitrary()])
                .prop_map(move |(i, with)| mutated(function, i, with).to_string()),
        );
        drive(function, deep());
        // The fields every name and log line is derived from, with generated text.
        for field in ["customer_id", "display_name", "execution_id"] {
            let path = field_path(function, field);
            drive(
                function,
                text().prop_map(move |t| {
                    let mut v = example(function);
                    replace(&mut v, &path, Value::String(t));
                    v.to_string()
                }),
            );
        }
    }
}

#[test]
fn known_bad_inputs_are_invalid_requests_and_write_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for function in FUNCTIONS {
        for (what, payload) in known_bad(function) {
            let m = memory();
            let answer = rt.block_on(invoke(&m, function, &payload));
            let d = answer.err().unwrap_or_else(|| panic!("{function}: {what} was accepted"));
            assert_eq!(d.error_type, "Berth.InvalidRequest", "{function}: {what}: {}", d.error_message);
            assert!(d.error_message.len() < 2_000, "{function}: {what}: the error repeats the input");
            assert_eq!(m.with(|w| w.total_writes()), 0, "{function}: {what} wrote something");
            m.with(|w| assert!(w.customers.is_empty() && w.executions.is_empty(), "{function}: {what} started something"));
        }
    }
}

/// The ways in and out that take whole events (the SBT answers, the HTTP API): generated
/// JSON, their example with one part replaced, and deep nesting never break them either
/// (an HTTP request that breaks a rule is an HTTP answer, anything else a named error).
#[test]
fn generated_inputs_never_break_the_sbt_and_http_functions() {
    for function in ["sbt", "api"] {
        drive(function, arbitrary().prop_map(|v| v.to_string()));
        drive(
            function,
            (any::<prop::sample::Index>(), prop_oneof![3 => leaf(), 1 => arbitrary()])
                .prop_map(move |(i, with)| mutated(function, i, with).to_string()),
        );
        drive(function, deep());
    }
    // And an HTTP body of any text or depth is a 400 problem (or, past the payload limit
    // berth takes, a named invalid request), never a break.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner
        .run(&prop_oneof![text(), deep()], |body| {
            let m = memory();
            let mut event = example("api");
            event["body"] = Value::String(body);
            let answer = rt.block_on(invoke(&m, "api", &event.to_string()));
            match &answer {
                Ok(r) => prop_assert_eq!(r["statusCode"].as_i64(), Some(400)),
                Err(d) => prop_assert_eq!(d.error_type.as_str(), "Berth.InvalidRequest"),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("api bodies: {e}"));
}
