//! `berth onboard|update|suspend|resume|offboard`: a request from a file or from flags,
//! started through the intake's own checks and start ([`berth_steps::intake::start`]), so
//! the CLI, the HTTP API and the events start the same executions under the same names.

use std::io::Read;
use std::path::Path;

use berth_domain::lifecycle::Operation;
use berth_steps::io::IntakeOutput;
use serde_json::{json, Map, Value};

use crate::CliError;

/// What the flags say of a request; each given one is put over the file's.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub customer_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// Suspend: unpaid, idle or on_request.
    pub reason: Option<String>,
    pub note: Option<String>,
    pub requested_by: Option<String>,
    /// Offboard: keep the log groups.
    pub keep_log_groups: bool,
}

/// The operation's name as berth's events and history name it.
pub fn operation_name(op: Option<Operation>) -> &'static str {
    op.map_or("onboard", Operation::name)
}

/// Reads a request file (`-`: standard input): a request as `events/*.json` hold them, or a
/// request event as EventBridge delivers it (`events/bus/*.json`), whose detail is taken
/// when its detail-type asks for `op`.
pub fn read_file(path: &Path, op: Option<Operation>, sbt_source: &str) -> Result<Map<String, Value>, CliError> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| CliError::Config(format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?
    };
    let value = berth_domain::input::parse_text(&text)?;
    let (asked, request) = berth_steps::intake::unwrap(value, sbt_source)?;
    if asked != op {
        return Err(CliError::Config(format!(
            "{} is a request to {}, not to {}",
            path.display(),
            operation_name(asked),
            operation_name(op)
        )));
    }
    match request {
        Value::Object(m) => Ok(m),
        _ => Err(CliError::Config(format!("{}: must hold a JSON object, the request", path.display()))),
    }
}

/// The request: the file's (or nothing), with the flags put over it. Without a key from
/// either, one is made from the time (`cli-<milliseconds>`): running the same command
/// again starts again; give `--key` to make a retry find the first execution.
pub fn request(op: Option<Operation>, file: Option<Map<String, Value>>, flags: &Flags) -> Result<Value, CliError> {
    let needs_spec = matches!(op, None | Some(Operation::Update));
    let mut fields = match file {
        Some(f) => f,
        None if needs_spec => {
            return Err(CliError::Config(format!(
                "{} needs the customer's spec: --file (events/{}.json is an example)",
                operation_name(op),
                operation_name(op)
            )))
        }
        None => Map::new(),
    };
    let mut set = |name: &str, value: Option<&String>| {
        if let Some(v) = value {
            fields.insert(name.to_string(), json!(v));
        }
    };
    set("customer_id", flags.customer_id.as_ref());
    set("idempotency_key", flags.idempotency_key.as_ref());
    set("reason", flags.reason.as_ref());
    set("note", flags.note.as_ref());
    set("requested_by", flags.requested_by.as_ref());
    if flags.keep_log_groups {
        fields.insert("keep_log_groups".into(), json!(true));
    }
    if !fields.contains_key("customer_id") {
        return Err(CliError::Config("the customer: give its id (or customer_id in --file)".into()));
    }
    if !fields.contains_key("idempotency_key") {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
        fields.insert("idempotency_key".into(), json!(format!("cli-{ms}")));
    }
    Ok(Value::Object(fields))
}

/// What `start` prints.
pub fn started_text(op: Option<Operation>, out: &IntakeOutput) -> String {
    if out.started {
        format!("started {} of {}: {}", operation_name(op), out.customer_id, out.execution_arn)
    } else {
        format!("{} of {} was started before by this request ({}): {}", operation_name(op), out.customer_id, out.status, out.execution_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn flags_go_over_the_file() {
        let file = fields(json!({"customer_id": "acme", "idempotency_key": "k1", "display_name": "Acme"}));
        let flags = Flags { customer_id: Some("globex".into()), idempotency_key: Some("k2".into()), ..Flags::default() };
        let r = request(None, Some(file), &flags).expect("a request");
        assert_eq!(r, json!({"customer_id": "globex", "idempotency_key": "k2", "display_name": "Acme"}));
    }

    #[test]
    fn a_lifecycle_request_comes_from_flags_alone() {
        let flags = Flags {
            customer_id: Some("acme".into()),
            idempotency_key: Some("s1".into()),
            reason: Some("unpaid".into()),
            requested_by: Some("ops".into()),
            ..Flags::default()
        };
        let r = request(Some(Operation::Suspend), None, &flags).expect("a request");
        assert_eq!(r, json!({"customer_id": "acme", "idempotency_key": "s1", "reason": "unpaid", "requested_by": "ops"}));
        let off = request(Some(Operation::Offboard), None, &Flags { keep_log_groups: true, ..flags.clone() }).expect("a request");
        assert_eq!(off["keep_log_groups"], json!(true));
    }

    #[test]
    fn a_key_is_made_when_none_is_given() {
        let flags = Flags { customer_id: Some("acme".into()), ..Flags::default() };
        let r = request(Some(Operation::Resume), None, &flags).expect("a request");
        let key = r["idempotency_key"].as_str().unwrap_or_default();
        assert!(key.starts_with("cli-") && berth_domain::naming::is_idempotency_key(key), "{key}");
    }

    #[test]
    fn onboarding_and_update_need_a_spec_and_every_request_a_customer() {
        for op in [None, Some(Operation::Update)] {
            let e = request(op, None, &Flags { customer_id: Some("acme".into()), ..Flags::default() }).expect_err("no spec");
            assert_eq!(e.exit_code(), crate::error::code::USAGE);
            assert!(e.to_string().contains("--file"), "{e}");
        }
        let e = request(Some(Operation::Suspend), None, &Flags::default()).expect_err("no customer");
        assert!(e.to_string().contains("customer"), "{e}");
    }

    #[test]
    fn a_request_event_is_read_for_its_own_operation_only() {
        let dir = std::env::temp_dir().join(format!("berth-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("suspend-event.json");
        let event = json!({"version": "0", "id": "e1", "detail-type": "Customer Suspend Requested", "source": "portal",
            "account": "1", "time": "2026-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {"customer_id": "acme", "idempotency_key": "s1"}});
        std::fs::write(&path, event.to_string()).expect("written");
        let read = read_file(&path, Some(Operation::Suspend), "sbt").expect("read");
        assert_eq!(Value::Object(read), json!({"customer_id": "acme", "idempotency_key": "s1"}));
        let e = read_file(&path, Some(Operation::Resume), "sbt").expect_err("another operation");
        assert!(e.to_string().contains("a request to suspend, not to resume"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
