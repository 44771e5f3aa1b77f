//! The state machines: the committed files are what the step table generates; the error
//! vocabulary and the machines agree (every name in an `ErrorEquals` is berth's or one AWS
//! defines); every Task retries the transient ones; every step after validation (or, in a
//! lifecycle machine, after the claim) has a Catch to the rollback or to the failure's record; each Task's `Parameters` build its step's input; and `template.yaml`
//! has, for every Task, a function, a substitution and an invoke permission, and gives each
//! function exactly the variables its configuration reads.
//!
//! Regenerate the files with `BERTH_WRITE_ASL=1 cargo test -p berth-steps --test asl`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use berth_domain::ErrorKind;
use serde_json::Value;

use berth_adapters::config::Env;
use berth_domain::events;
use berth_steps::pipeline::{self, Step, FAIL, GATE, LAMBDA_CRASH, LAMBDA_TRANSIENT, PUT_EVENTS, ROLLBACK, SETTLE, STEPS};

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
        // A Map's iterations: every Task retries as the machine's own do.
        for (map, s) in states.iter().filter(|(_, s)| s["Type"] == "Map") {
            for (name, inner) in s["ItemProcessor"]["States"].as_object().unwrap().iter().filter(|(_, s)| s["Type"] == "Task") {
                let mut retried = Vec::new();
                error_equals(&inner["Retry"], &mut retried);
                assert!(retried.contains(&"Berth.Transient".to_string()), "{file}: {map}/{name} does not retry Berth.Transient");
                for l in LAMBDA_TRANSIENT.iter().chain(&LAMBDA_CRASH) {
                    assert!(retried.iter().any(|r| r == l), "{file}: {map}/{name} does not retry {l}");
                }
                assert!(inner["Catch"].as_array().is_some_and(|c| !c.is_empty()), "{file}: {map}/{name}: an iteration must not fail");
            }
        }
        for (name, s) in states {
            if s["Type"] != "Task" || s["Resource"] == PUT_EVENTS {
                continue;
            }
            let mut retried = Vec::new();
            error_equals(&s["Retry"], &mut retried);
            assert!(retried.contains(&"Berth.Transient".to_string()), "{file}: {name} does not retry Berth.Transient");
            for l in LAMBDA_TRANSIENT.iter().chain(&LAMBDA_CRASH) {
                assert!(retried.iter().any(|r| r == l), "{file}: {name} does not retry {l}");
            }
            for r in s["Retry"].as_array().unwrap() {
                assert!(r["BackoffRate"].as_f64().unwrap_or(1.0) > 1.0, "{file}: {name} retries without backoff");
                assert_eq!(r["JitterStrategy"], "FULL", "{file}: {name} retries without jitter");
            }
            let first =
                m["StartAt"] == name.as_str() || s["Resource"].as_str().is_some_and(|r| r.contains("Validate") || r.contains("Claim"));
            let catch = || s["Catch"].as_array().unwrap_or_else(|| panic!("{file}: {name} has no Catch"));
            let catches_to = |next: &str, path: &str| {
                catch().iter().any(|c| c["Next"] == next && c["ResultPath"] == path && c["ErrorEquals"][0] == "States.ALL")
            };
            match name.as_str() {
                // A rollout's request refused ends it: nothing was changed yet.
                _ if first && file.ends_with("rollout.asl.json") => {
                    assert!(s.get("Catch").is_none(), "{file}: {name} is caught, but it changed nothing")
                }
                // A customer's request refused: nothing was changed yet, and its outcome
                // event says so.
                _ if first => assert!(catches_to("AnnounceUnrecorded", "$.error"), "{file}: {name}"),
                // The onboarding's failure path: the rollback, whatever happens to it, ends
                // in Fail, which ends in the Fail state.
                n if n == ROLLBACK.state() => {
                    assert!(catches_to(&FAIL.state(), &ROLLBACK.result_path()), "{file}: {name}");
                    assert_eq!(s["Next"], FAIL.state());
                }
                n if n == FAIL.state() => {
                    assert_eq!(s["Next"], "AnnounceFailure");
                    assert!(catches_to("AnnounceUnrecorded", "$.unrecorded"), "{file}: {name}");
                }
                // A rollout's gate decides from its input and changes nothing; every customer
                // of the wave has settled before it runs.
                n if n == GATE.state() => assert!(s.get("Catch").is_none()),
                // The lifecycle machines' ends: recording the end, or its failure, ends the
                // execution however it goes.
                n if n == SETTLE.state() => assert!(catches_to("AnnounceUnrecorded", "$.error"), "{file}: {name}"),
                "SettleFailure" => assert!(catches_to("AnnounceUnrecorded", "$.unrecorded"), "{file}: {name}"),
                // Putting an update or a suspend back ends in recording the failure, whatever
                // happens; an update that added products takes them away first.
                "PutBack" => {
                    assert!(catches_to("SettleFailure", "$.undo"), "{file}: {name}");
                    if s["Next"] == "Added?" {
                        let choice = &m["States"]["Added?"];
                        assert_eq!(choice["Default"], "SettleFailure", "{file}");
                        assert_eq!(choice["Choices"][0]["Next"], "TakeBackProducts", "{file}");
                    } else {
                        assert_eq!(s["Next"], "SettleFailure", "{file}: {name}");
                    }
                }
                "TakeBackProducts" => {
                    assert!(catches_to("SettleFailure", "$.undo"), "{file}: {name}");
                    assert_eq!(s["Next"], "SettleFailure");
                }
                _ if file.ends_with("onboard.asl.json") => {
                    assert!(catches_to("Rollback", "$.error"), "{file}: {name} does not lead to Rollback")
                }
                _ => assert!(
                    catches_to("SettleFailure", "$.error") || catches_to("PutBack", "$.error"),
                    "{file}: {name} does not lead to the failure's record"
                ),
            }
        }
    }
}

/// Where a state goes next, its Catch targets included.
fn successors(s: &Value) -> Vec<String> {
    let mut out: Vec<String> = ["Next", "Default"].iter().filter_map(|k| s[*k].as_str()).map(str::to_string).collect();
    for list in ["Choices", "Catch"] {
        out.extend(s[list].as_array().into_iter().flatten().filter_map(|c| c["Next"].as_str()).map(str::to_string));
    }
    out
}

/// Every way a customer machine can end passes exactly one outcome event: every path from
/// the start to a Succeed, a Fail or an end (the health gate's loop walked once), and every
/// Task that is not itself an event has a Catch (an uncaught failure would end it silently).
/// Each event's detail-type is its machine's, and says how the path ends.
#[test]
fn every_end_of_a_customer_machine_is_announced_exactly_once() {
    fn walk(states: &serde_json::Map<String, Value>, name: &str, seen: &mut Vec<String>, ends: &mut Vec<(Vec<String>, String)>) {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_string());
        let s = &states[name];
        let next = successors(s);
        if next.is_empty() || s["End"] == true {
            ends.push((seen.clone(), name.to_string()));
        }
        for n in next {
            walk(states, &n, seen, ends);
        }
        seen.pop();
    }
    let ops = [(None, "onboard")].into_iter().chain(berth_domain::lifecycle::Operation::ALL.map(|o| (Some(o), o.name())));
    for (op, file) in ops {
        let m = pipeline::machines().into_iter().find(|m| m.file.ends_with(&format!("/{file}.asl.json"))).unwrap();
        let d = m.definition();
        let states = d["States"].as_object().unwrap();
        for (name, s) in states {
            if s["Type"] == "Task" && s["Resource"] != PUT_EVENTS {
                assert!(
                    s["Catch"].as_array().is_some_and(|c| c.iter().any(|c| c["ErrorEquals"][0] == "States.ALL")),
                    "{}: {name} can fail silently",
                    m.file
                );
            }
        }
        let mut ends = Vec::new();
        walk(states, d["StartAt"].as_str().unwrap(), &mut Vec::new(), &mut ends);
        assert!(ends.len() >= 3, "{}: {ends:?}", m.file);
        for (path, end) in ends {
            let announced: Vec<&String> = path.iter().filter(|n| states[n.as_str()]["Resource"] == PUT_EVENTS).collect();
            assert_eq!(announced.len(), 1, "{}: the path {path:?} puts {} events", m.file, announced.len());
            let entry = &states[announced[0].as_str()]["Parameters"]["Entries"][0];
            let succeeded = states[end.as_str()]["Type"] != "Fail";
            assert_eq!(entry["DetailType"], events::outcome(op, succeeded), "{}: {path:?}", m.file);
            assert_eq!(entry["Detail"]["version"], events::VERSION);
            assert_eq!(entry["Detail"]["operation"], events::operation(op));
            assert_eq!(entry["EventBusName"], "${EventBusName}");
            assert_eq!(entry["Source"], "${EventSource}");
        }
    }
}

#[test]
fn every_placeholder_is_a_sam_substitution() {
    let t = template();
    for m in pipeline::machines() {
        let text = m.render();
        let resource = t["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .find(|r| r["Properties"]["DefinitionUri"].as_str() == Some(m.file))
            .unwrap_or_else(|| panic!("no state machine in the template is defined by {}", m.file));
        let substitutions = &resource["Properties"]["DefinitionSubstitutions"];
        for placeholder in text.split("${").skip(1) {
            let key = placeholder.split('}').next().unwrap();
            assert!(!substitutions[key].is_null(), "{}: ${{{key}}} is not in its DefinitionSubstitutions", m.file);
        }
        // The machines that put events may put them on berth's bus.
        if text.contains(PUT_EVENTS) {
            let policies = format!("{:?}", resource["Properties"]["Policies"]);
            assert!(
                policies.contains("EventBridgePutEventsPolicy") && policies.contains("RequestBus"),
                "{}: may not put its events",
                m.file
            );
        }
    }
}

#[test]
fn the_committed_machines_are_the_generated_ones() {
    let write = std::env::var("BERTH_WRITE_ASL").is_ok_and(|v| v == "1");
    for m in pipeline::machines() {
        let path = root().join(m.file);
        let text = m.render();
        if write {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} differs from what the step table generates: run BERTH_WRITE_ASL=1 cargo test -p berth-steps --test asl",
            m.file
        );
    }
}

#[test]
fn every_task_runs_a_step_of_the_table_under_its_own_name() {
    for m in pipeline::machines() {
        let d = m.definition();
        for (name, s) in d["States"].as_object().unwrap() {
            if s["Type"] == "Task" && s["Resource"] != PUT_EVENTS {
                let step = m.tasks().into_iter().find(|(n, _)| n == name).map(|(_, st)| st);
                let step = step.unwrap_or_else(|| panic!("{}: {name} runs no step of the table", m.file));
                if name != &step.state() {
                    // A step in another role (the rollback as an offboarding's teardown,
                    // settle on the failure path) under a name no other step has.
                    assert!(STEPS.iter().all(|st| &st.state() != name), "{}: {name} runs {}", m.file, step.name);
                    continue;
                }
                // The result at its path, or (validate, claim, a machine's first step) the state
                // rebuilt around it.
                let selected = s["ResultPath"] == "$"
                    && (s["ResultSelector"].get(format!("{}.$", step.result_key())) == Some(&Value::from("$"))
                        || s["ResultSelector"].get("plan.$") == Some(&Value::from("$.plan"))
                        || d["StartAt"] == name.as_str());
                assert!(s["ResultPath"] == step.result_path() || selected, "{}: {name} keeps its result elsewhere", m.file);
            }
        }
    }
}

/// The template as YAML (CloudFormation's short tags are kept as tagged values).
fn template() -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

/// A tagged value's inner value (`!Ref X` is X), or the value.
fn untag(v: &serde_yaml_ng::Value) -> &serde_yaml_ng::Value {
    match v {
        serde_yaml_ng::Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn function<'a>(t: &'a serde_yaml_ng::Value, step: &Step) -> &'a serde_yaml_ng::Value {
    let f = &t["Resources"][step.function_id().as_str()];
    assert_eq!(f["Type"].as_str(), Some("AWS::Serverless::Function"), "template.yaml has no function {}", step.function_id());
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some(step.binary().as_str()), "{}", step.function_id());
    f
}

#[test]
fn the_template_has_a_function_substitution_and_permission_for_every_task() {
    let t = template();
    for m in pipeline::machines() {
        let machines: Vec<&serde_yaml_ng::Value> = t["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::StateMachine"))
            .filter(|r| r["Properties"]["DefinitionUri"].as_str() == Some(m.file))
            .collect();
        assert_eq!(machines.len(), 1, "template.yaml deploys {} once", m.file);
        let props = &machines[0]["Properties"];
        let invokable: Vec<&str> = props["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|p| untag(&p["LambdaInvokePolicy"]["FunctionName"]).as_str())
            .collect();
        for (state, step) in m.tasks() {
            function(&t, step);
            let sub = untag(&props["DefinitionSubstitutions"][step.substitution().as_str()]);
            assert_eq!(sub.as_str(), Some(format!("{}.Arn", step.function_id()).as_str()), "{}: {state}'s substitution", m.file);
            assert!(
                invokable.contains(&step.function_id().as_str()),
                "{}: the state machine may not invoke {}",
                m.file,
                step.function_id()
            );
        }
        let subs = props["DefinitionSubstitutions"].as_mapping().unwrap();
        let used: BTreeSet<&str> = m.tasks().iter().map(|(_, st)| st.name).collect();
        // The bus and the source of the outcome events, for a machine that puts them.
        let events = if m.render().contains(PUT_EVENTS) { 2 } else { 0 };
        assert_eq!(subs.len(), used.len() + events, "{}: a substitution no Task uses", m.file);
    }
}

#[test]
fn every_function_in_the_template_is_a_step_of_the_table() {
    let t = template();
    let declared: BTreeSet<String> = STEPS.iter().map(|s| s.function_id()).collect();
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            let id = id.as_str().unwrap_or_default();
            assert!(declared.contains(id), "template.yaml's {id} is not in the step table");
        }
    }
}

#[test]
fn each_function_gets_exactly_the_variables_it_reads() {
    let t = template();
    // Every function gets the Globals' variables (where progress events go) and its own.
    let globals = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    for step in &STEPS {
        let vars = function(&t, step)["Properties"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
        let given: BTreeSet<String> =
            vars.keys().chain(globals.keys()).filter_map(|k| k.as_str()).filter(|k| k.starts_with("BERTH_")).map(str::to_string).collect();
        let declared: BTreeSet<String> = step.env_vars().iter().map(|v| v.to_string()).collect();
        assert_eq!(given, declared, "{}: template.yaml's variables (left) and what its configuration reads (right)", step.function_id());
        // Read from what the template gives (with a value each): nothing missing, and
        // nothing read that is not declared.
        let mut env: BTreeMap<String, String> = given.iter().map(|k| (k.clone(), sample(k))).collect();
        env.insert("AWS_REGION".into(), "us-east-1".into());
        let env = Env::from_map(env);
        (step.read_config)(&env).unwrap_or_else(|e| panic!("{}: {e}", step.binary()));
        <berth_adapters::config::ProgressConfig as berth_adapters::config::FromEnv>::read(&env).unwrap_or_else(|e| panic!("{e}"));
        // A step of a customer's machine may put its progress events on the bus (validate,
        // which loads no AWS client, puts none).
        let customer_step =
            pipeline::machines().iter().filter(|m| m.name != "berth-rollout").any(|m| m.tasks().iter().any(|(_, s)| s.name == step.name));
        if customer_step && step.name != "validate" {
            let policies = format!("{:?}", function(&t, step)["Properties"]["Policies"]);
            assert!(
                policies.contains("EventBridgePutEventsPolicy") && policies.contains("RequestBus"),
                "{} may not put its progress events",
                step.function_id()
            );
        }
        for asked in env.asked().into_iter().filter(|a| a.starts_with("BERTH_")) {
            assert!(declared.contains(&asked), "{} reads {asked} but does not declare it", step.binary());
        }
    }
}

/// A value of the right shape for a variable.
fn sample(var: &str) -> String {
    match var {
        "BERTH_DOMAIN" => "saas.example.com".into(),
        "BERTH_LOG_RETENTION_DAYS" => "30".into(),
        "BERTH_HEALTH_INTERVAL_SECONDS" => "15".into(),
        "BERTH_HEALTH_MAX_ATTEMPTS" => "40".into(),
        "BERTH_NAME_PREFIX" => "berth".into(),
        "BERTH_PRODUCT_HOST_FORM" => "dotted".into(),
        "BERTH_SERVICE_EGRESS" => "https".into(),
        "BERTH_ROLE_BOUNDARY_ARN" => "arn:aws:iam::123456789012:policy/berth-customer-boundary".into(),
        other => format!("value-of-{}", other.to_ascii_lowercase()),
    }
}
