//! Who may call berth, read from `template.yaml`: only the entry points can be reached from
//! outside (the intake from berth's request bus and SBT's, the HTTP API's function from the
//! HTTP API, with IAM auth, the SBT function from berth's bus); the step functions have no
//! trigger and no resource policy, and no policy in the template lets anything but the state
//! machines invoke them; only the intake, the HTTP API's function and the operators' policy
//! may start a customer machine; no statement grants a wildcard action or principal; and
//! berth makes, changes and passes roles only under its path, only with the deployment's
//! permissions boundary, and only to ECS tasks.

use std::path::PathBuf;

use berth_steps::pipeline::{Step, API, INTAKE, SBT, STEPS};
use serde_yaml_ng::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("template.yaml")).expect("YAML")
}

/// A tagged value's inner value (`!Ref X` is X, `!GetAtt X.Arn` is X.Arn), or the value.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// The logical id a reference names (`!Ref X`, `!GetAtt X.Arn`).
fn referenced(v: &Value) -> String {
    untag(v).as_str().unwrap_or_default().split('.').next().unwrap_or_default().to_string()
}

/// A string or a list of strings, as a list.
fn list(v: &Value) -> Vec<&Value> {
    match untag(v) {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn resources(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"].as_mapping().expect("Resources").iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v)).collect()
}

/// Every IAM statement in the template, with the resource that holds it.
fn statements(t: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (id, r) in resources(t) {
        let props = &r["Properties"];
        let mut documents: Vec<&Value> = Vec::new();
        if !props["PolicyDocument"].is_null() {
            documents.push(&props["PolicyDocument"]);
        }
        for p in list(&props["Policies"]) {
            if !p["Statement"].is_null() {
                documents.push(p);
            }
        }
        for d in documents {
            for s in list(&d["Statement"]) {
                out.push((id.clone(), s));
            }
        }
    }
    out
}

fn actions(s: &Value) -> Vec<String> {
    list(&s["Action"]).iter().filter_map(|a| a.as_str()).map(str::to_string).collect()
}

fn step_id(step: &Step) -> String {
    step.function_id()
}

#[test]
fn only_the_entry_points_have_triggers_or_resource_policies() {
    let t = template();
    let entry: Vec<(String, &str)> =
        vec![(step_id(&INTAKE), "EventBridgeRule"), (step_id(&API), "HttpApi"), (step_id(&SBT), "EventBridgeRule")];
    for step in &STEPS {
        let id = step_id(step);
        let f = &t["Resources"][id.as_str()];
        assert!(f["Properties"]["FunctionUrlConfig"].is_null(), "{id} has a function URL");
        let events: Vec<&str> =
            f["Properties"]["Events"].as_mapping().map(|m| m.values().filter_map(|e| e["Type"].as_str()).collect()).unwrap_or_default();
        match entry.iter().find(|(e, _)| *e == id) {
            Some((_, kind)) => assert!(!events.is_empty() && events.iter().all(|e| e == kind), "{id}: {events:?}"),
            None => assert!(events.is_empty(), "the step function {id} has a trigger: {events:?}"),
        }
    }
    // The one explicit permission: SBT's bus rule may invoke the intake, from that rule only.
    let permissions: Vec<(String, &Value)> = resources(&t).into_iter().filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission").collect();
    assert!(!permissions.is_empty());
    for (id, p) in permissions {
        let props = &p["Properties"];
        assert_eq!(referenced(&props["FunctionName"]), step_id(&INTAKE), "{id}");
        assert_eq!(props["Principal"].as_str(), Some("events.amazonaws.com"), "{id}");
        assert!(!props["SourceArn"].is_null(), "{id}: any rule could invoke it");
    }
    // The HTTP API takes only signed callers.
    let api = resources(&t).into_iter().find(|(_, r)| r["Type"] == "AWS::Serverless::HttpApi").map(|(_, r)| r).expect("the HTTP API");
    assert_eq!(api["Properties"]["Auth"]["DefaultAuthorizer"].as_str(), Some("AWS_IAM"));
}

#[test]
fn only_the_state_machines_may_invoke_the_steps() {
    let t = template();
    let steps: Vec<String> =
        STEPS.iter().filter(|s| ![INTAKE.binary(), API.binary(), SBT.binary()].contains(&s.binary())).map(step_id).collect();
    // IAM statements that allow invoking a function: the portal's, on the intake alone.
    let all = statements(&t);
    assert!(all.len() > 30, "the template's statements were read ({})", all.len());
    let mut holders = Vec::new();
    for (holder, s) in all {
        let invoke = actions(s).iter().any(|a| a == "lambda:InvokeFunction" || a == "lambda:*");
        if invoke {
            let targets: Vec<String> = list(&s["Resource"]).into_iter().map(referenced).collect();
            assert_eq!(targets, vec![step_id(&INTAKE)], "{holder} may invoke {targets:?}");
            holders.push(holder);
        }
    }
    assert_eq!(holders, ["PortalInvokePolicy"]);
    // SAM's invoke policies are on the state machines alone, each naming one step.
    let mut invoked = Vec::new();
    for (id, r) in resources(&t) {
        for p in list(&r["Properties"]["Policies"]) {
            if let Some(target) = p.get("LambdaInvokePolicy") {
                assert_eq!(r["Type"], "AWS::Serverless::StateMachine", "{id} holds an invoke policy");
                let name = referenced(&target["FunctionName"]);
                assert!(steps.contains(&name), "{id} may invoke {name}, not a step");
                invoked.push(name);
            }
        }
    }
    for step in &steps {
        assert!(invoked.contains(step), "no machine invokes {step}");
    }
}

#[test]
fn only_the_intake_the_api_and_the_operators_start_customer_machines() {
    let t = template();
    let mut starters: Vec<String> = statements(&t)
        .into_iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a == "states:StartExecution" || a == "states:*"))
        .map(|(holder, _)| holder)
        .collect();
    starters.sort();
    let mut expected = vec![step_id(&API), step_id(&INTAKE), "OperatorPolicy".to_string()];
    expected.sort();
    assert_eq!(starters, expected);
}

#[test]
fn no_statement_grants_a_wildcard_action_or_principal() {
    let t = template();
    for (holder, s) in statements(&t) {
        for a in actions(s) {
            assert!(a != "*" && !a.ends_with(":*"), "{holder} grants {a}");
        }
        let principal = &s["Principal"];
        assert!(principal.as_str() != Some("*") && untag(&principal["AWS"]).as_str() != Some("*"), "{holder} grants to anyone");
    }
}

#[test]
fn berth_makes_and_passes_roles_only_under_its_path_and_only_with_the_boundary() {
    let t = template();
    let role_scope = ":role/${NamePrefix}/${NamePrefix}-*";
    // What berth may do in IAM at all; roles' boundaries are never put or taken off, no policy
    // is attached, no user or policy is made.
    let allowed = [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:TagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:ListRolePolicies",
        "iam:DeleteRolePolicy",
        "iam:DeleteRole",
        "iam:PassRole",
        "iam:GetAccountSummary",
        "iam:CreateServiceLinkedRole",
    ];
    let mut made = 0;
    for (holder, s) in statements(&t) {
        let iam: Vec<String> = actions(s).into_iter().filter(|a| a.starts_with("iam:")).collect();
        if iam.is_empty() {
            continue;
        }
        assert_ne!(holder, "CustomerRoleBoundary", "the customers' boundary allows IAM: {iam:?}");
        for a in &iam {
            assert!(allowed.contains(&a.as_str()), "{holder} may {a}");
        }
        let scoped = list(&s["Resource"]).iter().all(|r| untag(r).as_str().is_some_and(|r| r.ends_with(role_scope)));
        if iam.iter().any(|a| a != "iam:GetAccountSummary" && a != "iam:CreateServiceLinkedRole") {
            assert!(scoped, "{holder}: {iam:?} reaches roles outside berth's path: {:?}", s["Resource"]);
        }
        if iam.iter().any(|a| a == "iam:CreateRole" || a == "iam:PutRolePolicy") {
            let boundary = format!("{:?}", s["Condition"]["StringEquals"]["iam:PermissionsBoundary"]);
            assert!(
                boundary.contains("RolePermissionsBoundary") && boundary.contains("CustomerRoleBoundary"),
                "{holder}: {iam:?} without the deployment's boundary as a condition: {boundary}"
            );
            made += 1;
        }
        if iam.iter().any(|a| a == "iam:PassRole") {
            assert_eq!(s["Condition"]["StringEquals"]["iam:PassedToService"].as_str(), Some("ecs-tasks.amazonaws.com"), "{holder}");
        }
    }
    assert!(made >= 2, "the resources function makes roles, the reshape narrows their policy ({made})");
}
