//! The state machines and the error vocabulary agree: every name in an `ErrorEquals` is
//! berth's or one AWS defines; every Task retries the transient ones; every step after
//! validation has a Catch to the rollback; every placeholder is substituted by SAM.

use std::collections::BTreeSet;
use std::path::PathBuf;

use berth_domain::ErrorKind;
use serde_json::Value;

const AWS_NAMES: &[&str] = &[
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Runtime.ExitError",
    "Sandbox.Timedout",
];
/// What a Lambda that died mid-step reports: every step converges when it runs again.
const LAMBDA_CRASH: &[&str] = &["Runtime.ExitError", "Sandbox.Timedout", "Lambda.Unknown"];
const LAMBDA_TRANSIENT: &[&str] =
    &["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn machines() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("statemachines")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".asl.json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.push((path.display().to_string(), v));
        }
    }
    assert!(!out.is_empty(), "no state machines found");
    out
}

fn error_equals(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "ErrorEquals" {
                    out.extend(v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()));
                } else {
                    error_equals(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| error_equals(v, out)),
        _ => {}
    }
}

#[test]
fn every_error_name_is_in_the_vocabulary() {
    let vocabulary: BTreeSet<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
    for (file, m) in machines() {
        let mut names = Vec::new();
        error_equals(&m, &mut names);
        assert!(names.iter().any(|n| n.starts_with("Berth.")), "{file} matches none of berth's errors");
        for n in names {
            assert!(vocabulary.contains(n.as_str()) || AWS_NAMES.contains(&n.as_str()), "{file}: '{n}' is neither berth's nor AWS's");
        }
    }
}

#[test]
fn every_task_retries_transient_errors_and_steps_after_validation_are_caught() {
    for (file, m) in machines() {
        let states = m["States"].as_object().unwrap();
        for (name, s) in states {
            if s["Type"] != "Task" {
                continue;
            }
            let mut retried = Vec::new();
            error_equals(&s["Retry"], &mut retried);
            assert!(retried.contains(&"Berth.Transient".to_string()), "{file}: {name} does not retry Berth.Transient");
            for l in LAMBDA_TRANSIENT.iter().chain(LAMBDA_CRASH) {
                assert!(retried.iter().any(|r| r == l), "{file}: {name} does not retry {l}");
            }
            for r in s["Retry"].as_array().unwrap() {
                assert!(r["BackoffRate"].as_f64().unwrap_or(1.0) > 1.0, "{file}: {name} retries without backoff");
                assert_eq!(r["JitterStrategy"], "FULL", "{file}: {name} retries without jitter");
            }
            let validation = s["Resource"].as_str().unwrap_or_default().contains("Validate");
            let catch = || s["Catch"].as_array().unwrap_or_else(|| panic!("{file}: {name} has no Catch"));
            match name.as_str() {
                _ if validation => {}
                // The failure path: the rollback, whatever happens to it, ends in MarkFailed,
                // which ends in the Fail state.
                "Rollback" => {
                    assert!(catch().iter().any(|c| c["Next"] == "MarkFailed" && c["ResultPath"] == "$.rollback_error"));
                    assert_eq!(s["Next"], "MarkFailed");
                }
                "MarkFailed" => assert_eq!(s["Next"], "Failed"),
                _ => assert!(
                    catch().iter().any(|c| c["Next"] == "Rollback" && c["ResultPath"] == "$.error"),
                    "{file}: {name} does not lead to Rollback"
                ),
            }
        }
    }
}

#[test]
fn every_placeholder_is_a_sam_substitution() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for (file, m) in machines() {
        let text = m.to_string();
        for placeholder in text.split("${").skip(1) {
            let key = placeholder.split('}').next().unwrap();
            assert!(template.contains(&format!("{key}: !GetAtt")), "{file}: ${{{key}}} is not in the template's DefinitionSubstitutions");
        }
    }
}
