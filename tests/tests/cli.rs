//! The `berth` CLI end to end: the built binary, run as an operator runs it against the local
//! stack (`--stack-dir`), its exit codes and output checked against what exists in the
//! emulator afterwards.

use std::path::PathBuf;
use std::process::Command;

use berth_tests::{root, Harness};
use serde_json::{json, Value};

/// The `berth` binary `make test` built beside this suite (target/debug/berth).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the suite's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/debug");
    let bin = dir.join("berth");
    assert!(bin.exists(), "{} is not built: cargo build --workspace --all-targets", bin.display());
    bin
}

fn sorted_numbers(v: &Value) -> Vec<u32> {
    let mut n: Vec<u32> = v.as_array().into_iter().flatten().filter_map(Value::as_u64).filter_map(|n| u32::try_from(n).ok()).collect();
    n.sort();
    n
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

fn berth(h: &Harness, args: &[&str]) -> Ran {
    let out = Command::new(binary())
        .arg("--stack-dir")
        .arg(&h.dir)
        .args(args)
        .current_dir(root())
        // Nothing of the caller's AWS settings may reach it: --stack-dir says where.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("BERTH_TABLE")
        .output()
        .expect("berth runs");
    let ran = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("$ berth {}\n{}{}(exit {})", args.join(" "), ran.stdout, ran.stderr, ran.code);
    ran
}

/// The sample request as the customer's own (its secret references under its name), in a
/// file for `berth onboard -f`.
fn request_file(customer: &str) -> String {
    let path = std::env::temp_dir().join(format!("berth-cli-{customer}.json"));
    std::fs::write(&path, Harness::request(customer).to_string()).expect("request file written");
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn list_show_and_follow_a_customer_the_cli_onboarded() {
    let h = Harness::new().await;
    let customer = "cli-one";
    let file = request_file(customer);
    let started = berth(&h, &["onboard", "--file", &file, "--customer", customer, "--key", "k1", "--json"]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let s = started.json();
    assert_eq!((s["operation"].as_str(), s["started"].as_bool()), (Some("onboard"), Some(true)), "{s}");
    let arn = s["execution_arn"].as_str().expect("execution").to_string();
    assert!(arn.ends_with(&format!(":berth-onboard:{customer}_k1")), "{arn}");

    // follow by the customer's id: a line per step of the main path, then the outcome.
    let followed = berth(&h, &["follow", customer]);
    assert_eq!(followed.code, 0, "{}{}", followed.stdout, followed.stderr);
    let done: Vec<&str> = followed.stdout.lines().filter(|l| l.contains("  ok  ")).filter_map(|l| l.split_whitespace().nth(2)).collect();
    for step in ["Validate", "Register", "Allocate", "Resources", "Check", "Dns", "Activate"] {
        assert!(done.contains(&step), "no line for {step}: {}", followed.stdout);
    }
    let last = followed.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("SUCCEEDED in ") && last.ends_with(&format!("https://{}", h.host(customer))), "{last}");
    // What Step Functions and the emulator say, independently of the CLI.
    let report = h.follow(&arn).await;
    assert_eq!(report.status, "SUCCEEDED");
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("ACTIVE"));
    let mut claims = inv.priority_claims.clone();
    claims.sort();

    // follow --json by ARN: the same steps, as data.
    let as_json = berth(&h, &["follow", &arn, "--json"]);
    assert_eq!(as_json.code, 0, "{}", as_json.stderr);
    let f = as_json.json();
    assert_eq!(f["status"], "SUCCEEDED");
    let steps: Vec<&str> = f["steps"].as_array().expect("steps").iter().filter_map(|s| s["state"].as_str()).collect();
    let report_steps: Vec<&str> = report.steps.iter().map(|s| s.state.as_str()).filter(|s| steps.contains(s)).collect();
    assert_eq!(steps, report_steps, "the steps in the order the history has them");

    // list: the customer with what the registry holds.
    let listed = berth(&h, &["customers", "list", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let all = listed.json();
    let mine = all.as_array().expect("a list").iter().find(|c| c["customer_id"] == customer).cloned().expect("listed");
    assert_eq!(mine["state"], "ACTIVE");
    assert_eq!(sorted_numbers(&mine["priorities"]), claims, "{mine}");
    assert_eq!(mine["alb"].as_str(), inv.attr("alb_name").as_deref());
    let table = berth(&h, &["customers", "list", "--state", "active"]);
    assert!(table.code == 0 && table.stdout.lines().any(|l| l.starts_with(customer) && l.contains("ACTIVE")), "{}", table.stdout);
    let failed_only = berth(&h, &["customers", "list", "--state", "FAILED", "--json"]);
    assert!(!failed_only.json().as_array().expect("a list").iter().any(|c| c["customer_id"] == customer));

    // show: resources, priorities, ALB, executions and history.
    let shown = berth(&h, &["customers", "show", customer, "--json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let c = shown.json();
    assert_eq!((c["state"].as_str(), c["url"].as_str()), (Some("ACTIVE"), Some(format!("https://{}", h.host(customer)).as_str())));
    assert_eq!(sorted_numbers(&c["priorities"]), claims, "{c}");
    assert_eq!(c["listener_arn"].as_str(), inv.attr("listener_arn").as_deref());
    let mut resources: Vec<String> = c["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| format!("{}#{}", r["kind"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default()))
        .collect();
    resources.sort();
    let mut ledger = inv.ledger.clone();
    ledger.sort();
    assert_eq!(resources.len(), ledger.len(), "{resources:?} against the ledger {ledger:?}");
    assert_eq!(resources.iter().filter(|r| r.starts_with("listener_rule#")).count(), inv.rules.len());
    assert_eq!(c["executions"][0], json!({"execution_arn": arn, "operation": "onboard", "status": "SUCCEEDED"}));
    assert_eq!(c["tier"], "standard", "the catalog's default tier");
    let text = berth(&h, &["customers", "show", customer]);
    assert!(
        text.stdout.contains("state         ACTIVE") && text.stdout.contains(&format!("resources ({})", ledger.len())),
        "{}",
        text.stdout
    );

    // The same request again starts nothing.
    let again = berth(&h, &["onboard", "--file", &file, "--customer", customer, "--key", "k1"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("was started before by this request (SUCCEEDED)"), "{}", again.stdout);

    // Suspend and resume from flags, followed; the services' counts follow them.
    let suspended = berth(&h, &["suspend", customer, "--reason", "unpaid", "--requested-by", "ops", "--key", "s1", "--follow"]);
    assert_eq!(suspended.code, 0, "{}{}", suspended.stdout, suspended.stderr);
    assert!(h.desired_counts(customer).await.values().all(|n| *n == 0));
    assert_eq!(h.customer_state(customer).await, "SUSPENDED");
    let resumed = berth(&h, &["resume", customer, "--note", "paid", "--key", "r1", "--follow"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(h.desired_counts(customer).await.values().all(|n| *n > 0));
    let history = berth(&h, &["customers", "show", customer, "--json"]).json()["history"].clone();
    let said: Vec<(&str, &str)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|e| (e["operation"].as_str().unwrap_or_default(), e["outcome"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(said, [("suspend", "succeeded"), ("resume", "succeeded")]);
    for key in ["s1", "r1"] {
        let machine = if key == "s1" { "berth-suspend" } else { "berth-resume" };
        let arn = format!("{}_{key}", h.stack.infra.state_machine(machine).replace(":stateMachine:", ":execution:") + ":" + customer);
        assert_eq!(h.follow(&arn).await.status, "SUCCEEDED");
    }
}

#[tokio::test]
async fn follow_of_a_failing_onboarding_exits_1_and_show_names_the_error() {
    let h = Harness::new().await;
    let customer = "cli-fails";
    let file = request_file(customer);
    h.set_faults(json!({"faults": [{"operation": "CreateService", "function": "berth-resources", "times": 0,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
    let ran = berth(&h, &["onboard", "-f", &file, "--customer", customer, "--key", "f1", "--follow"]);
    h.clear_faults().await;
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.lines().any(|l| l.contains("FAIL  Resources")), "{}", ran.stdout);
    assert!(ran.stdout.lines().any(|l| l.contains("ok    Rollback")), "{}", ran.stdout);
    let last = ran.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("FAILED after "), "{last}");
    // Rolled back: nothing of the customer is left in the emulator, its record FAILED.
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("FAILED"));
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
    let arn = format!("{}_f1", h.stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + customer);
    let report = h.follow(&arn).await;
    assert_eq!(report.status, "FAILED");
    // Following it again (done) says the same; show has the error.
    let again = berth(&h, &["follow", customer, "--json"]);
    assert_eq!(again.code, 1);
    let f = again.json();
    assert_eq!((f["status"].as_str(), f["error"].as_str()), (Some("FAILED"), report.error.as_deref()));
    let shown = berth(&h, &["customers", "show", customer, "--json"]).json();
    assert_eq!(shown["state"], "FAILED");
    assert_eq!(shown["last_error"]["error"].as_str(), report.error.as_deref(), "{shown}");
}

#[tokio::test]
async fn refusals_have_their_exit_codes_and_start_nothing() {
    let h = Harness::new().await;
    // Invalid: every reason, naming its field; no execution, no record.
    let mut bad = Harness::request("Not_Valid!");
    bad["products"] = json!(["no-such-product"]);
    let path = h.dir.join("cli-invalid.json");
    std::fs::write(&path, bad.to_string()).expect("written");
    let ran = berth(&h, &["onboard", "--file", path.to_str().unwrap_or_default()]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("invalid request, nothing started:") && ran.stderr.contains("  customer_id: "), "{}", ran.stderr);
    assert!(ran.stderr.lines().filter(|l| l.starts_with("  ")).count() >= 2, "every reason: {}", ran.stderr);
    let executions = h.sfn.list_executions().state_machine_arn(&h.stack.state_machine_arn).send().await.expect("executions");
    assert!(!executions.executions().iter().any(|e| e.name().contains("Not_Valid")));
    assert!(h.inventory("Not_Valid!").await.customer_item.is_none());

    // Not found.
    assert_eq!(berth(&h, &["customers", "show", "cli-nobody"]).code, 4);
    assert_eq!(berth(&h, &["follow", "cli-nobody"]).code, 4);
    // Usage and configuration.
    assert_eq!(berth(&h, &["customers", "list", "--state", "HAPPY"]).code, 2);
    assert_eq!(berth(&h, &["update", "cli-nobody"]).code, 2);
    let elsewhere = Command::new(binary()).args(["--stack-dir", "/nonexistent-berth-stack", "customers", "list"]).output().expect("runs");
    assert_eq!(elsewhere.status.code(), Some(2));

    // A conflict: an onboarding of a customer that is ACTIVE, under another key.
    let customer = "cli-taken";
    let file = request_file(customer);
    assert_eq!(berth(&h, &["onboard", "-f", &file, "--customer", customer, "--key", "t1", "--follow"]).code, 0);
    let taken = berth(&h, &["onboard", "-f", &file, "--customer", customer, "--key", "t2"]);
    assert_eq!(taken.code, 5, "{}", taken.stderr);
    assert!(taken.stderr.contains("Berth.Conflict"), "{}", taken.stderr);
    let name = format!("{customer}_t2");
    let executions = h.sfn.list_executions().state_machine_arn(&h.stack.state_machine_arn).send().await.expect("executions");
    assert!(!executions.executions().iter().any(|e| e.name() == name), "nothing started");
}
