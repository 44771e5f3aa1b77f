//! Fault injection for the local router: make the Nth call of a named AWS operation fail
//! with a 5xx, a throttling error or a given error code, answered in the protocol of the
//! service (JSON or XML), so the SDK and berth's classification see what AWS would send.
//!
//! A fault matches calls by operation (`CreateService`, `ecs:CreateService`, or `*` for
//! every operation, each counted on its own) and, optionally, by the calling function
//! (the `app/<name>` of the SDK's User-Agent). Only berth's functions are ever faulted:
//! calls without an app name (the tests, the local tooling) pass.
//!
//! `crash` models a Lambda that dies half-way: the Nth call reaches the emulator (its effect
//! happens) but its answer is lost, and the function's next `times - 1` calls fail without
//! reaching it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultError {
    /// The service's throttling error (`ThrottlingException`, `Throttling`...).
    Throttle,
    /// An HTTP 5xx with the service's internal error.
    Server {
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// A given error code (AccessDeniedException, InvalidParameterException...).
    Code {
        code: String,
        #[serde(default = "default_code_status")]
        status: u16,
        #[serde(default)]
        message: Option<String>,
    },
    /// The call's effect happens but its answer is lost; later calls of the function fail.
    Crash,
}

fn default_server_status() -> u16 {
    500
}
fn default_code_status() -> u16 {
    400
}
fn one() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `Operation`, `service:Operation`, or `*`.
    pub operation: String,
    /// Only calls from this function (`berth-resources`); any of berth's when absent.
    #[serde(default)]
    pub function: Option<String>,
    /// The first failing call, counting matching calls from 1 since the fault was set.
    #[serde(default = "one")]
    pub nth: u64,
    /// How many calls in a row fail from the Nth; 0 for every one.
    #[serde(default = "one")]
    pub times: u64,
    pub error: FaultError,
}

/// What the router holds: the faults, the calls each has seen (by operation), the
/// target groups whose targets never become healthy, and a function that crashed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Target group names whose targets the local tooling never registers (their tasks
    /// never pass the health check).
    #[serde(default)]
    pub never_healthy: Vec<String>,
    /// Per fault: calls seen, by `service:Operation`.
    #[serde(default)]
    pub seen: Vec<BTreeMap<String, u64>>,
    /// Per fault: calls it failed.
    #[serde(default)]
    pub injected: Vec<u64>,
    /// A crashed function and how many of its calls still fail.
    #[serde(default)]
    pub crashed: Option<(String, u64)>,
}

/// What the router does with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer with this error without forwarding.
    Fail(FaultError),
    /// Forward, then answer with a 500 instead of moto's answer.
    ForwardThenLose,
}

impl Faults {
    pub fn set(faults: Vec<Fault>, never_healthy: Vec<String>) -> Faults {
        let n = faults.len();
        Faults { faults, never_healthy, seen: vec![BTreeMap::new(); n], injected: vec![0; n], crashed: None }
    }

    /// Decides for a call of `service:operation` made by `function` (None: not berth's).
    pub fn verdict(&mut self, service: &str, operation: &str, function: Option<&str>) -> Verdict {
        let Some(function) = function else { return Verdict::Pass };
        if let Some((f, left)) = &mut self.crashed {
            if f == function && *left > 0 {
                *left -= 1;
                return Verdict::Fail(FaultError::Server { status: 500 });
            }
        }
        let key = format!("{service}:{operation}");
        for (i, fault) in self.faults.iter().enumerate() {
            // `*` is every AWS operation; Lambda invocations are faulted only by name.
            let op_matches = (fault.operation == "*" && service != "lambda") || fault.operation == operation || fault.operation == key;
            if !op_matches || fault.function.as_deref().is_some_and(|f| f != function) {
                continue;
            }
            let n = self.seen[i].entry(key.clone()).or_insert(0);
            *n += 1;
            let hit = *n >= fault.nth && (fault.times == 0 || *n < fault.nth + fault.times);
            if !hit {
                continue;
            }
            self.injected[i] += 1;
            return match &fault.error {
                FaultError::Crash => {
                    let later = if fault.times == 0 { u64::MAX } else { fault.times - 1 };
                    self.crashed = Some((function.to_string(), later));
                    // A crash fires once; what follows is the latch.
                    self.faults[i].times = 1;
                    self.faults[i].nth = u64::MAX;
                    Verdict::ForwardThenLose
                }
                e => Verdict::Fail(e.clone()),
            };
        }
        Verdict::Pass
    }
}

/// An error answer in the wire protocol of `service`: (status, headers, body).
pub fn error_response(service: &str, error: &FaultError) -> (u16, Vec<(&'static str, String)>, String) {
    let (status, code, message) = match error {
        FaultError::Throttle => (
            if service == "lambda" { 429 } else { 400 },
            throttle_code(service).to_string(),
            "Rate exceeded (injected by the berth router)".to_string(),
        ),
        FaultError::Server { status } => {
            (*status, server_code(service).to_string(), "We encountered an internal error (injected by the berth router)".to_string())
        }
        FaultError::Code { code, status, message } => {
            (*status, code.clone(), message.clone().unwrap_or_else(|| format!("{code} (injected by the berth router)")))
        }
        FaultError::Crash => (500, server_code(service).to_string(), "the answer was lost (injected by the berth router)".to_string()),
    };
    let request_id = "00000000-0000-0000-0000-00000000beef".to_string();
    match service {
        // EC2's query protocol answers errors in a shape of its own.
        "ec2" => {
            let body = format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            );
            (status, vec![("content-type", "text/xml".into())], body)
        }
        "elasticloadbalancing" | "route53" | "iam" => {
            let ns = match service {
                "route53" => "https://route53.amazonaws.com/doc/2013-04-01/",
                "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
                _ => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
            };
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let body = format!(
                "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            );
            (status, vec![("content-type", "text/xml".into()), ("x-amzn-requestid", request_id)], body)
        }
        _ => {
            let body = serde_json::json!({"__type": code, "message": message}).to_string();
            let content_type = if service == "dynamodb" { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" };
            (status, vec![("content-type", content_type.into()), ("x-amzn-errortype", code), ("x-amzn-requestid", request_id)], body)
        }
    }
}

fn throttle_code(service: &str) -> &'static str {
    match service {
        "elasticloadbalancing" | "route53" | "iam" => "Throttling",
        "ec2" => "RequestLimitExceeded",
        "lambda" => "TooManyRequestsException",
        _ => "ThrottlingException",
    }
}

fn server_code(service: &str) -> &'static str {
    match service {
        "dynamodb" => "InternalServerError",
        "elasticloadbalancing" | "route53" => "InternalFailure",
        "lambda" => "ServiceException",
        "ecs" => "ServerException",
        _ => "ServiceUnavailableException",
    }
}

/// The app name in a User-Agent (`... app/berth-resources ...`).
pub fn app_name(user_agent: &str) -> Option<String> {
    user_agent.split_whitespace().find_map(|part| part.strip_prefix("app/")).filter(|n| !n.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(operation: &str, function: Option<&str>, nth: u64, times: u64, error: FaultError) -> Fault {
        Fault { operation: operation.into(), function: function.map(str::to_string), nth, times, error }
    }

    #[test]
    fn the_nth_matching_call_fails_and_only_it() {
        let mut f = Faults::set(vec![fault("CreateService", Some("berth-resources"), 2, 1, FaultError::Throttle)], vec![]);
        assert_eq!(f.verdict("ecs", "CreateService", Some("berth-resources")), Verdict::Pass);
        assert_eq!(f.verdict("ecs", "CreateService", Some("berth-check")), Verdict::Pass, "another function");
        assert_eq!(f.verdict("ecs", "DescribeServices", Some("berth-resources")), Verdict::Pass, "another operation");
        assert_eq!(f.verdict("ecs", "CreateService", None), Verdict::Pass, "not berth's");
        assert_eq!(f.verdict("ecs", "CreateService", Some("berth-resources")), Verdict::Fail(FaultError::Throttle));
        assert_eq!(f.verdict("ecs", "CreateService", Some("berth-resources")), Verdict::Pass);
        assert_eq!(f.injected, vec![1]);
    }

    #[test]
    fn star_counts_every_operation_on_its_own() {
        let mut f = Faults::set(vec![fault("*", None, 1, 1, FaultError::Throttle)], vec![]);
        for op in ["GetItem", "Query", "GetItem"] {
            let v = f.verdict("dynamodb", op, Some("berth-allocate"));
            assert_eq!(v == Verdict::Pass, op == "GetItem" && f.seen[0]["dynamodb:GetItem"] == 2, "{op}");
        }
    }

    #[test]
    fn times_zero_fails_forever_and_a_crash_latches_the_function() {
        let mut f = Faults::set(vec![fault("ecs:CreateService", None, 1, 0, FaultError::Server { status: 503 })], vec![]);
        for _ in 0..5 {
            assert_eq!(f.verdict("ecs", "CreateService", Some("berth-resources")), Verdict::Fail(FaultError::Server { status: 503 }));
        }
        let mut f = Faults::set(vec![fault("CreateRule", Some("berth-resources"), 1, 3, FaultError::Crash)], vec![]);
        assert_eq!(f.verdict("elasticloadbalancing", "CreateRule", Some("berth-resources")), Verdict::ForwardThenLose);
        assert!(matches!(f.verdict("ecs", "CreateService", Some("berth-resources")), Verdict::Fail(_)));
        assert_eq!(f.verdict("ecs", "CreateService", Some("berth-check")), Verdict::Pass, "other functions live on");
        assert!(matches!(f.verdict("elasticloadbalancing", "CreateRule", Some("berth-resources")), Verdict::Fail(_)));
        assert_eq!(f.verdict("elasticloadbalancing", "CreateRule", Some("berth-resources")), Verdict::Pass, "the crash is over");
    }

    #[test]
    fn errors_speak_each_protocol() {
        let (s, h, b) = error_response("dynamodb", &FaultError::Throttle);
        assert_eq!(s, 400);
        assert!(h.iter().any(|(k, v)| *k == "x-amzn-errortype" && v == "ThrottlingException"));
        assert!(b.contains("\"__type\":\"ThrottlingException\""));
        let (s, _, b) = error_response("elasticloadbalancing", &FaultError::Throttle);
        assert_eq!(s, 400);
        assert!(b.contains("<Code>Throttling</Code>"), "{b}");
        let (s, _, b) = error_response("route53", &FaultError::Server { status: 503 });
        assert_eq!(s, 503);
        assert!(b.contains("<Type>Receiver</Type>"));
        let (s, _, b) = error_response("ecs", &FaultError::Code { code: "AccessDeniedException".into(), status: 400, message: None });
        assert_eq!(s, 400);
        assert!(b.contains("AccessDeniedException"));
        assert_eq!(error_response("lambda", &FaultError::Throttle).0, 429);
    }

    #[test]
    fn app_names_from_user_agents() {
        let ua = "aws-sdk-rust/1.3.9 ua/2.1 api/ecs/1.0 os/linux lang/rust/1.95.0 app/berth-resources m/E";
        assert_eq!(app_name(ua).as_deref(), Some("berth-resources"));
        assert_eq!(app_name("aws-sdk-rust/1.3.9 os/linux"), None);
    }
}
