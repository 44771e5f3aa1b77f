//! The HTTP API: the portal's other way in, behind an API Gateway HTTP API with IAM auth (or,
//! locally, a function URL of `cargo lambda watch`). It takes the API Gateway v2 event and
//! answers with its response; every request it starts goes through the intake's own checks
//! and start ([`crate::intake::start`]), so the HTTP API and the events start the same
//! executions under the same names.
//!
//! - `POST /customers`: an onboarding request; 202 with the execution and a `Location`.
//! - `GET /customers?state=&limit=&next=`: the customers, by id, a page at a time.
//! - `GET /customers/{id}`: the customer's state, URL, resources, last error and history.
//! - `PATCH /customers/{id}`: an update (the customer's whole desired spec).
//! - `POST /customers/{id}/suspend`, `POST /customers/{id}/resume`, `DELETE /customers/{id}`:
//!   suspend, resume and offboard (an optional JSON body: `reason`, `note`, `requested_by`,
//!   `keep_log_groups`).
//!
//! The `Idempotency-Key` header is the request's idempotency key (a body that names another
//! is refused). Errors are `application/problem+json` with each broken rule under `errors`:
//! 400 (invalid), 404 (no such customer or route), 405, 409 (conflict), 429 (throttled,
//! with `Retry-After`), 503 (another transient failure) and 500.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use berth_adapters::config::IntakeConfig;
use berth_adapters::ports::{Customers, Ports};
use berth_domain::lifecycle::Operation;
use berth_domain::state::CustomerState;
use berth_domain::{BerthError, ErrorKind, Violation};
use serde_json::{json, Map, Value};

use crate::io::{ApiInput, IntakeOutput};
use crate::Context;

/// The page size of `GET /customers` unless `limit` says another (at most [`MAX_PAGE`]).
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// The header that carries the idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub async fn run<P: Ports>(cx: &Context<IntakeConfig, P>, input: ApiInput) -> Result<ApiGatewayV2httpResponse, BerthError> {
    let ApiInput(event) = input;
    // Anything but an HTTP API event is the caller's error, not an HTTP answer.
    if event.get("requestContext").and_then(|c| c.get("http")).is_none() {
        return Err(BerthError::invalid("requestContext.http", "required: an API Gateway HTTP API (v2) or function URL event"));
    }
    let request: ApiGatewayV2httpRequest =
        serde_json::from_value(event).map_err(|e| BerthError::invalid("requestContext", format!("not an HTTP API (v2) event: {e}")))?;
    let response = match route(cx, &request).await {
        Ok(r) => r,
        Err(e) => problem_of(&e),
    };
    tracing::info!(method = %request.request_context.http.method, path = request.raw_path.as_deref().unwrap_or_default(), status = response.status, "answered");
    Ok(response.into())
}

/// An answer before it is an API Gateway response.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl From<Answer> for ApiGatewayV2httpResponse {
    fn from(a: Answer) -> Self {
        let mut headers = HeaderMap::new();
        let problem = a.status >= 400;
        headers.insert("content-type", HeaderValue::from_static(if problem { "application/problem+json" } else { "application/json" }));
        for (name, value) in a.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        let mut r = ApiGatewayV2httpResponse::default();
        r.status_code = i64::from(a.status);
        r.headers = headers;
        r.body = Some(Body::Text(a.body.to_string()));
        r
    }
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, headers: Vec::new(), body }
}

/// A problem (RFC 9457): its status, title, detail and each broken rule.
pub fn problem(status: u16, title: &str, detail: &str, errors: &[Violation]) -> Answer {
    let mut body = json!({ "type": "about:blank", "title": title, "status": status, "detail": detail });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    answer(status, body)
}

/// The problem berth's error is to an HTTP caller.
pub fn problem_of(e: &BerthError) -> Answer {
    let detail = e.to_string();
    match e {
        BerthError::InvalidRequest(v) => {
            problem(400, "invalid request", "the request breaks the rules listed under errors; nothing was started", &v.0)
        }
        _ => match e.kind() {
            ErrorKind::InvalidRequest => problem(400, "invalid request", &detail, &[]),
            ErrorKind::Conflict => problem(409, "conflict", &detail, &[]),
            ErrorKind::NotFound => problem(404, "not found", &detail, &[]),
            ErrorKind::Transient if throttled(e) => {
                let mut a = problem(429, "too many requests", &detail, &[]);
                a.headers.push(("retry-after", "1".into()));
                a
            }
            ErrorKind::Transient => {
                let mut a = problem(503, "unavailable", &detail, &[]);
                a.headers.push(("retry-after", "1".into()));
                a
            }
            _ => problem(500, "internal error", &detail, &[]),
        },
    }
}

fn throttled(e: &BerthError) -> bool {
    matches!(e, BerthError::Aws { code: Some(code), .. } if code.contains("Throttl") || code.contains("TooManyRequests") || code.contains("RequestLimitExceeded"))
}

async fn route<P: Ports>(cx: &Context<IntakeConfig, P>, request: &ApiGatewayV2httpRequest) -> Result<Answer, BerthError> {
    let method = &request.request_context.http.method;
    let path = request.raw_path.clone().or_else(|| request.request_context.http.path.clone()).unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let allowed = |allow: &str| {
        let mut a = problem(405, "method not allowed", &format!("{method} is not allowed on {path}"), &[]);
        a.headers.push(("allow", allow.to_string()));
        Ok(a)
    };
    match segments.as_slice() {
        ["customers"] => match *method {
            Method::POST => start(cx, None, None, request).await,
            Method::GET => list(cx, request).await,
            _ => allowed("GET, POST"),
        },
        ["customers", id] => match *method {
            Method::GET => show(cx, id).await,
            Method::PATCH => start(cx, Some(Operation::Update), Some(id), request).await,
            Method::DELETE => start(cx, Some(Operation::Offboard), Some(id), request).await,
            _ => allowed("GET, PATCH, DELETE"),
        },
        ["customers", id, action @ ("suspend" | "resume")] => match *method {
            Method::POST => {
                let op = if *action == "suspend" { Operation::Suspend } else { Operation::Resume };
                start(cx, Some(op), Some(id), request).await
            }
            _ => allowed("POST"),
        },
        _ => Ok(problem(404, "not found", &format!("no route {method} {path}: see /customers"), &[])),
    }
}

/// The request's JSON body: an object (an empty body is `{}`).
fn body(request: &ApiGatewayV2httpRequest) -> Result<Map<String, Value>, BerthError> {
    let Some(text) = request.body.as_deref().filter(|b| !b.trim().is_empty()) else {
        return Ok(Map::new());
    };
    let text = if request.is_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| BerthError::invalid("body", "not valid base64"))?;
        String::from_utf8(bytes).map_err(|_| BerthError::invalid("body", "not UTF-8 text"))?
    } else {
        text.to_string()
    };
    match berth_domain::input::parse_text(&text)? {
        Value::Object(m) => Ok(m),
        _ => Err(BerthError::invalid("body", "must be a JSON object")),
    }
}

/// Starts `op` (None: an onboarding) for the customer in the path (or the body's), keyed by
/// the `Idempotency-Key` header (or the body's key): 202 with the execution.
async fn start<P: Ports>(
    cx: &Context<IntakeConfig, P>,
    op: Option<Operation>,
    customer: Option<&str>,
    request: &ApiGatewayV2httpRequest,
) -> Result<Answer, BerthError> {
    let mut fields = body(request)?;
    let mut broken = Vec::new();
    if let Some(id) = customer {
        match fields.get("customer_id") {
            Some(v) if v.as_str() != Some(id) => {
                broken.push(Violation::new("customer_id", format!("must be the customer in the path, '{id}'")))
            }
            _ => {
                fields.insert("customer_id".into(), json!(id));
            }
        }
    }
    if let Some(header) = request.headers.get(IDEMPOTENCY_KEY) {
        let key = header.to_str().map_err(|_| BerthError::invalid("Idempotency-Key", "must be text"))?;
        match fields.get("idempotency_key") {
            Some(v) if v.as_str() != Some(key) => {
                broken.push(Violation::new("idempotency_key", "differs from the Idempotency-Key header: send one key"))
            }
            _ => {
                fields.insert("idempotency_key".into(), json!(key));
            }
        }
    } else if !fields.contains_key("idempotency_key") {
        broken.push(Violation::new(
            "Idempotency-Key",
            "required: the header (or idempotency_key in the body), the same for every retry of one request",
        ));
    }
    if !broken.is_empty() {
        return Err(BerthError::InvalidRequest(berth_domain::Violations(broken)));
    }
    let started: IntakeOutput = crate::intake::start(cx, op, Value::Object(fields)).await?;
    let location = format!("/customers/{}", started.customer_id);
    let mut a = answer(
        202,
        json!({
            "customer_id": started.customer_id,
            "operation": berth_domain::events::operation(op),
            "execution_arn": started.execution_arn,
            "execution_name": started.execution_name,
            "started": started.started,
            "status": started.status,
        }),
    );
    a.headers.push(("location", location));
    Ok(a)
}

/// `GET /customers/{id}`: the record and its history.
async fn show<P: Ports>(cx: &Context<IntakeConfig, P>, id: &str) -> Result<Answer, BerthError> {
    let customers = cx.ports.customers();
    let Some(c) = customers.get(id).await? else {
        return Ok(problem(404, "not found", &format!("no customer '{}'", berth_domain::naming::truncate(id, 80)), &[]));
    };
    let history = customers.history(id).await?;
    let url = c.outputs.as_ref().and_then(|o| o.get("url")).cloned().unwrap_or(Value::Null);
    Ok(answer(
        200,
        json!({
            "customer_id": c.customer_id,
            "state": c.state,
            "display_name": c.display_name,
            "host": c.host,
            "url": url,
            "alb": c.alb_name,
            "listener_arn": c.listener_arn,
            "priorities": c.priorities,
            "execution": c.execution_id,
            "operation": c.operation,
            "suspend_reason": c.suspend_reason,
            "last_error": c.error.as_ref().map(|e| json!({ "error": e, "cause": c.cause })),
            "left": c.leftovers,
            "outputs": c.outputs,
            "history": history,
        }),
    ))
}

/// The customers in id order after the id `after` (empty: from the first), those in `state`
/// only when it is given (the CLI lists through here too).
pub async fn customers_after<C: Customers>(
    customers: &C,
    state: Option<CustomerState>,
    after: &str,
) -> Result<Vec<berth_adapters::model::CustomerRecord>, BerthError> {
    let mut all = customers.list().await?;
    all.retain(|c| state.is_none_or(|s| c.state == s) && c.customer_id.as_str() > after);
    all.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    Ok(all)
}

/// `GET /customers?state=&limit=&next=`: the customers in id order, `limit` at a time after
/// the id `next`; the answer's `next` names the page after (null on the last).
async fn list<P: Ports>(cx: &Context<IntakeConfig, P>, request: &ApiGatewayV2httpRequest) -> Result<Answer, BerthError> {
    let query = &request.query_string_parameters;
    let mut broken = Vec::new();
    let state = match query.first("state") {
        None => None,
        Some(s) => match CustomerState::parse(s) {
            Some(state) => Some(state),
            None => {
                broken.push(Violation::new("state", "must be one of berth's customer states (ACTIVE, SUSPENDED, FAILED, ...)"));
                None
            }
        },
    };
    let limit = match query.first("limit").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            broken.push(Violation::new("limit", format!("must be a number from 1 to {MAX_PAGE}")));
            DEFAULT_PAGE
        }
    };
    if !broken.is_empty() {
        return Err(BerthError::InvalidRequest(berth_domain::Violations(broken)));
    }
    let after = query.first("next").unwrap_or_default();
    let all = customers_after(cx.ports.customers(), state, after).await?;
    let next = (all.len() > limit).then(|| all[limit - 1].customer_id.clone());
    let page: Vec<Value> = all
        .iter()
        .take(limit)
        .map(|c| json!({ "customer_id": c.customer_id, "state": c.state, "display_name": c.display_name, "host": c.host, "execution": c.execution_id }))
        .collect();
    Ok(answer(200, json!({ "customers": page, "next": next })))
}
