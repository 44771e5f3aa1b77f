//! Input from outside berth (a portal's request, a console execution's input, a
//! `cargo lambda invoke` file) before it becomes a typed value: its size and nesting are
//! bounded, a shape error names the field by its path, and no error repeats a value the
//! caller sent (it may be a secret, or a megabyte).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{cut, BerthError, Violation, Violations, FIELD_MAX};

/// The largest input berth takes: Step Functions' limit for an execution's input and state.
pub const MAX_INPUT_BYTES: usize = 262_144;
/// The deepest nesting berth takes. berth's own inputs nest about six levels.
pub const MAX_DEPTH: usize = 32;

/// Checks raw JSON text against the size and depth limits, before any parser recurses into
/// it. The depth is counted over brackets outside strings; text that is not JSON at all is
/// left for the parser to refuse.
pub fn check_raw(text: &str) -> Result<(), BerthError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(BerthError::invalid(
            "input",
            format!("{} bytes: at most {MAX_INPUT_BYTES} (the Step Functions payload limit)", text.len()),
        ));
    }
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_DEPTH {
        return Err(BerthError::invalid("input", format!("nested {deepest} levels deep: at most {MAX_DEPTH}")));
    }
    Ok(())
}

/// Parses raw JSON text (after [`check_raw`]) into a JSON value.
pub fn parse_text(text: &str) -> Result<Value, BerthError> {
    check_raw(text)?;
    serde_json::from_str(text).map_err(|e| BerthError::invalid("input", format!("not JSON: {}", quiet(&e.to_string()))))
}

/// Parses a JSON value into `T`. A shape error is `Berth.InvalidRequest` naming the field by
/// its path below `root` (`plan.services[0].cpu`) and the rule it breaks, without repeating
/// the value.
pub fn parse<T: DeserializeOwned>(value: &Value, root: &str) -> Result<T, BerthError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path = e.path().to_string();
        if path == "." {
            path.clear();
        }
        // A missing field is reported at its parent's path, and named in backticks.
        if let Some(name) = backticked(&message, "missing field `") {
            path = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        }
        let field = match (root.is_empty(), path.is_empty()) {
            (_, true) if root.is_empty() => "input".to_string(),
            (_, true) => root.to_string(),
            (true, false) => path,
            (false, false) => format!("{root}.{path}"),
        };
        BerthError::InvalidRequest(Violations(vec![Violation::new(field, format!("malformed: {}", quiet(&message)))]))
    })
}

/// The name after `prefix`, up to the closing backtick.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.split_once(prefix)?.1;
    Some(rest.split_once('`')?.0)
}

/// A parser's message without the value it quotes (`invalid type: string "…", expected
/// u32`) and at most a line long.
pub fn quiet(message: &str) -> String {
    let mut out = String::new();
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if last > first => {
            out.push_str(message.get(..first).unwrap_or_default());
            out.push_str("\"…\"");
            out.push_str(message.get(last + 1..).unwrap_or_default());
        }
        _ => out.push_str(message),
    }
    cut(out, FIELD_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        cpu: u32,
    }

    fn field_and_rule(e: BerthError) -> (String, String) {
        match e {
            BerthError::InvalidRequest(v) => (v.0[0].field.clone(), v.0[0].rule.clone()),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn shape_errors_name_the_path_and_not_the_value() {
        let e = parse::<Outer>(&serde_json::json!({"inner": [{"cpu": 1}, {"cpu": "hunter2"}]}), "plan").unwrap_err();
        let (field, rule) = field_and_rule(e);
        assert_eq!(field, "plan.inner[1].cpu");
        assert!(!rule.contains("hunter2") && rule.contains("expected u32"), "{rule}");
        let (field, _) = field_and_rule(parse::<Outer>(&serde_json::json!({"inner": [{}]}), "").unwrap_err());
        assert_eq!(field, "inner[0].cpu");
        let (field, _) = field_and_rule(parse::<Outer>(&serde_json::json!({"inner": [], "colour": 1}), "").unwrap_err());
        assert_eq!(field, "colour");
        let (field, _) = field_and_rule(parse::<Outer>(&serde_json::json!(7), "").unwrap_err());
        assert_eq!(field, "input");
    }

    #[test]
    fn size_and_depth_are_bounded_before_parsing() {
        let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
        let (field, rule) = field_and_rule(parse_text(&deep).unwrap_err());
        assert_eq!(field, "input");
        assert!(rule.contains("3000 levels"), "{rule}");
        // Brackets inside strings do not count.
        assert!(check_raw(&format!("{{\"a\": \"{}\"}}", "[".repeat(100))).is_ok());
        assert!(check_raw(&format!("{{\"a\": \"\\\"{}\"}}", "[".repeat(100))).is_ok());
        let big = format!("\"{}\"", "x".repeat(MAX_INPUT_BYTES));
        assert!(parse_text(&big).unwrap_err().to_string().contains("at most 262144"));
        let (_, rule) = field_and_rule(parse_text("{\"a\": tru").unwrap_err());
        assert!(rule.starts_with("not JSON"), "{rule}");
    }

    #[test]
    fn long_names_are_cut_on_characters() {
        let key = "ü".repeat(10_000);
        let (field, _) = field_and_rule(parse::<Outer>(&serde_json::json!({ "inner": [], key.clone(): 1 }), "").unwrap_err());
        assert!(field.chars().count() <= FIELD_MAX + 1, "{}", field.len());
        assert_eq!(quiet("invalid type: string \"sécret\", expected u32"), "invalid type: string \"…\", expected u32");
    }
}
