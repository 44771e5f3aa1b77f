//! Known-bad inputs for every berth Lambda, shared by the in-process test
//! (`crates/berth-steps/tests/handler_inputs.rs`) and the one through the real Lambdas on the local
//! stack (`tests/tests/inputs.rs`).
#![allow(dead_code)]

use serde_json::{json, Value};

pub const FUNCTIONS: [&str; 16] = [
    "validate",
    "intake",
    "register",
    "allocate",
    "resources",
    "check",
    "dns",
    "activate",
    "fail",
    "rollback",
    "claim",
    "reshape",
    "scale",
    "settle",
    "waves",
    "gate",
];

/// The function's example event, as `cargo lambda invoke` sends it.
pub fn example(function: &str) -> Value {
    let file = match function {
        "intake" => "onboard",
        "api" => "api/onboard",
        other => other,
    };
    // The repository's events/, above whichever crate includes this file.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = dir.ancestors().find(|d| d.join("events/onboard.json").exists()).expect("the repository's events/");
    let path = root.join(format!("events/{file}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("example event")).expect("example event is JSON")
}

pub fn replace(v: &mut Value, path: &[String], with: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = with;
        return;
    };
    let child = match v {
        Value::Object(m) => m.get_mut(first),
        Value::Array(a) => first.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    };
    if let Some(c) = child {
        replace(c, rest, with);
    }
}

/// Where `field` sits in `function`'s input: in the request, at the root for intake, in the
/// plan for the steps. A lifecycle request has no display name: its free text (`note`)
/// stands in.
pub fn field_path(function: &str, field: &str) -> Vec<String> {
    match (function, field) {
        ("validate" | "claim", "execution_id") => vec![field.into()],
        // A lifecycle request's free text.
        ("claim", "display_name") => vec!["request".into(), "note".into()],
        // A rollout's: its key stands in for the customer id, who asked for the free text.
        ("waves", "execution_id") => vec![field.into()],
        ("waves" | "gate", "customer_id") => vec!["request".into(), "rollout_id".into()],
        ("waves" | "gate", "display_name") => vec!["request".into(), "requested_by".into()],
        ("gate", "execution_id") => vec!["request".into(), "image_tag".into()],
        ("validate" | "claim", _) => vec!["request".into(), field.into()],
        ("intake", _) => vec![field.into()],
        _ => vec!["plan".into(), field.into()],
    }
}

/// Known-bad inputs for `function`: (what, payload). Each must be refused with
/// `Berth.InvalidRequest` and write nothing.
pub fn known_bad(function: &str) -> Vec<(&'static str, String)> {
    let id_path = field_path(function, "customer_id");
    let name_path = field_path(function, "display_name");
    let with = |path: &[String], value: Value| {
        let mut v = example(function);
        replace(&mut v, path, value);
        v.to_string()
    };
    vec![
        ("30 'ü' as the customer id", with(&id_path, json!("ü".repeat(30)))),
        ("a customer id with a right-to-left override", with(&id_path, json!("acme\u{202e}moc"))),
        ("control characters in the display name", with(&name_path, json!("Acme\u{0}\u{7}\u{1b}[31m"))),
        ("a 1 MB customer id", with(&id_path, json!("a".repeat(1 << 20)))),
        ("3,000-deep nesting", format!("{}{}", "[".repeat(3000), "]".repeat(3000))),
        (
            "3,000-deep nesting inside the event",
            with(&id_path, serde_json::from_str(&format!("{}{}", "[".repeat(30), "]".repeat(30))).unwrap_or(Value::Null))
                .replacen("[[", &format!("{}[[", "[".repeat(2970)), 1)
                .replacen("]]", &format!("]]{}", "]".repeat(2970)), 1),
        ),
        ("a number for the customer id", with(&id_path, json!(42))),
        ("an array at the root", json!([example(function)]).to_string()),
        ("a string at the root", json!("acme").to_string()),
        ("null", "null".to_string()),
        ("an empty object", "{}".to_string()),
    ]
}
