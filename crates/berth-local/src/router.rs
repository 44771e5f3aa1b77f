//! The invocation router. moto executes Step Functions and invokes Lambda over HTTP at
//! `MOTO_PORT`; this router listens there and
//! - sends `/2015-03-31/functions/<name or ARN>/invocations` to `cargo lambda watch` (the
//!   runtime API the functions' instances poll), with
//!   the ARN stripped to the function name, and turns cargo-lambda's HTTP 500 for a handler
//!   error into 200 + `X-Amz-Function-Error: Unhandled`, as Lambda answers, so Retry and
//!   Catch see berth's error names;
//! - sends everything else to moto;
//! - counts every call by caller (access key id), service and operation, and by calling
//!   function (the SDK's `app/<name>` User-Agent), served at `GET /berth-router/stats`;
//! - injects faults set at `POST /berth-router/faults` ([`crate::faults`]);
//! - enforces AWS's API request rates on berth's functions when asked (`--aws-rate-limits`,
//!   or `POST /berth-router/limits`; [`crate::limits`]);
//! - lets at most `--lambda-concurrency` invocations of one function through at once (its
//!   instances), as a function's concurrency does on Lambda; the others wait their turn
//!   here;
//! - registers one target per running task of a service behind a target group when ECS
//!   answers CreateService or UpdateService, as ECS does on AWS (moto registers none), except
//!   for target groups named in the faults' `never_healthy`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::faults::{self, Fault, Faults, Verdict};
use crate::http::decode;
use crate::limits::{Limits, LimitsReport};

/// Calls counted: caller → "service:Operation" → count.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Calls by calling function (app name) → "service:Operation" → count.
    #[serde(default)]
    pub functions: BTreeMap<String, BTreeMap<String, u64>>,
    /// Latency of every Lambda invocation through the router, in microseconds, by function,
    /// in the order they ended.
    #[serde(default)]
    pub invocation_us: BTreeMap<String, Vec<u64>>,
}

impl Stats {
    /// The calls of one caller, minus an earlier snapshot.
    pub fn since(&self, before: &Stats, caller: &str) -> BTreeMap<String, u64> {
        let empty = BTreeMap::new();
        let now = self.calls.get(caller).unwrap_or(&empty);
        let then = before.calls.get(caller).unwrap_or(&empty);
        now.iter().map(|(k, v)| (k.clone(), v - then.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect()
    }

    /// The invocation latencies (µs) of one function recorded after an earlier snapshot.
    pub fn latencies_since(&self, before: &Stats, function: &str) -> Vec<u64> {
        let now = self.invocation_us.get(function).map(Vec::as_slice).unwrap_or_default();
        let then = before.invocation_us.get(function).map_or(0, Vec::len);
        now.get(then..).unwrap_or_default().to_vec()
    }

    /// The calls of one function (app name), minus an earlier snapshot.
    pub fn since_function(&self, before: &Stats, function: &str) -> BTreeMap<String, u64> {
        let empty = BTreeMap::new();
        let now = self.functions.get(function).unwrap_or(&empty);
        let then = before.functions.get(function).unwrap_or(&empty);
        now.iter().map(|(k, v)| (k.clone(), v - then.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect()
    }
}

struct Router {
    /// moto applies a DynamoDB transaction by snapshotting the table and restoring the
    /// snapshot when the transaction fails, which undoes writes other requests committed
    /// meanwhile. DynamoDB itself is linearizable, so requests go to moto one at a time.
    moto_turn: tokio::sync::Mutex<()>,
    moto: String,
    /// Where each function is invoked (`cargo lambda watch`).
    lambdas: BTreeMap<String, String>,
    client: Client<HttpConnector, Full<Bytes>>,
    stats: Mutex<Stats>,
    faults: Mutex<Faults>,
    /// AWS's request rates, when on.
    limits: Mutex<Limits>,
    /// Per function: the invocations that may be in flight at once (none when unlimited).
    slots: Mutex<BTreeMap<String, Arc<tokio::sync::Semaphore>>>,
    lambda_concurrency: usize,
}

/// What a test posts to `/berth-router/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FaultPlan {
    #[serde(default)]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub never_healthy: Vec<String>,
}

/// Serves until the process ends.
pub async fn serve(
    listen: SocketAddr,
    moto: String,
    lambdas: BTreeMap<String, String>,
    lambda_concurrency: usize,
    rate_limits: bool,
) -> crate::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let router = Arc::new(Router {
        moto_turn: tokio::sync::Mutex::new(()),
        moto: moto.trim_end_matches('/').to_string(),
        lambdas: lambdas.into_iter().map(|(f, url)| (f, url.trim_end_matches('/').to_string())).collect(),
        client: Client::builder(TokioExecutor::new()).pool_max_idle_per_host(32).build(connector),
        stats: Mutex::new(Stats::default()),
        faults: Mutex::new(Faults::default()),
        limits: Mutex::new(Limits::new(rate_limits)),
        slots: Mutex::new(BTreeMap::new()),
        lambda_concurrency,
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let router = router.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, Infallible>(router.handle(req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// The function name in an invocation path, with an ARN (possibly percent-encoded, possibly
/// with a qualifier) stripped to the name.
pub fn function_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/2015-03-31/functions/")?;
    let raw = rest.strip_suffix("/invocations")?;
    let decoded = decode(raw);
    let name = match decoded.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or_default().to_string(),
        None => decoded,
    };
    (!name.is_empty()).then_some(name)
}

/// The caller's access key id and the service, from the SigV4 credential scope.
pub fn caller_and_service(authorization: &str) -> (String, String) {
    let Some((_, credential)) = authorization.split_once("Credential=") else { return ("anonymous".into(), "unknown".into()) };
    let scope: Vec<&str> = credential.split([',', ' ']).next().unwrap_or_default().split('/').collect();
    let caller = scope.first().copied().unwrap_or("anonymous").to_string();
    let service = scope.get(3).copied().unwrap_or("unknown").to_string();
    (caller, service)
}

/// The operation: from `X-Amz-Target` (JSON protocols), `Action=` (query protocols), or
/// the Route 53 REST path.
pub fn operation(target: Option<&str>, method: &str, path: &str, body: &[u8]) -> String {
    if let Some(t) = target {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    if let Some(rest) = path.strip_prefix("/2013-04-01/") {
        let parts: Vec<&str> = rest.split('?').next().unwrap_or_default().split('/').collect();
        return match (method, parts.as_slice()) {
            ("POST", ["hostedzone", _, "rrset"] | ["hostedzone", _, "rrset", ""]) => "ChangeResourceRecordSets".into(),
            ("GET", ["hostedzone", _, "rrset"] | ["hostedzone", _, "rrset", ""]) => "ListResourceRecordSets".into(),
            ("GET", ["change", _]) => "GetChange".into(),
            ("POST", ["hostedzone"]) => "CreateHostedZone".into(),
            ("GET", ["hostedzone", _]) => "GetHostedZone".into(),
            ("GET", ["hostedzone"]) => "ListHostedZones".into(),
            ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName".into(),
            _ => format!("{method} /{}", parts.first().unwrap_or(&"")),
        };
    }
    format!("{method} {path}")
}

impl Router {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match self.forward(req).await {
            Ok(r) => r,
            Err(e) => plain(StatusCode::BAD_GATEWAY, format!("berth router: {e}")),
        }
    }

    fn count(&self, caller: &str, function: Option<&str>, key: String) {
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = function {
            *s.functions.entry(f.to_string()).or_default().entry(key.clone()).or_default() += 1;
        }
        *s.calls.entry(caller.to_string()).or_default().entry(key).or_default() += 1;
    }

    /// The function's invocation slots, when invocations are limited.
    fn slot(&self, function: &str) -> Option<Arc<tokio::sync::Semaphore>> {
        if self.lambda_concurrency == 0 {
            return None;
        }
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Some(slots.entry(function.to_string()).or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.lambda_concurrency))).clone())
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn faults_api(&self, method: &hyper::Method, body: Bytes) -> crate::Result<Response<Full<Bytes>>> {
        match *method {
            hyper::Method::POST => {
                let plan: FaultPlan = serde_json::from_slice(&body)?;
                *self.faults() = Faults::set(plan.faults, plan.never_healthy);
            }
            hyper::Method::DELETE => *self.faults() = Faults::default(),
            _ => {}
        }
        let now = self.faults().clone();
        Ok(json(serde_json::to_string(&now)?))
    }

    /// Sends one request to moto, in its turn.
    fn limits_api(&self, method: &hyper::Method, body: Bytes) -> crate::Result<Response<Full<Bytes>>> {
        let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        if method == hyper::Method::POST {
            let asked: LimitsReport = serde_json::from_slice(&body)?;
            *limits = Limits::new(asked.enabled);
        }
        Ok(json(serde_json::to_string(&limits.report())?))
    }

    async fn to_moto(&self, req: Request<Full<Bytes>>) -> crate::Result<(hyper::http::response::Parts, Bytes)> {
        let _turn = self.moto_turn.lock().await;
        let resp = self.client.request(req).await?;
        let (parts, body) = resp.into_parts();
        Ok((parts, body.collect().await?.to_bytes()))
    }

    /// ECS registers a target per running task with the service's target groups; moto
    /// does not, so the router does, from CreateService's and UpdateService's answers.
    async fn register_targets(&self, answer: &[u8]) -> crate::Result<()> {
        let v: serde_json::Value = serde_json::from_slice(answer)?;
        let service = &v["service"];
        let running = service["runningCount"].as_u64().unwrap_or(0);
        let name = service["serviceName"].as_str().unwrap_or_default();
        let never: Vec<String> = self.faults().never_healthy.clone();
        for lb in service["loadBalancers"].as_array().into_iter().flatten() {
            let (Some(tg), Some(port)) = (lb["targetGroupArn"].as_str(), lb["containerPort"].as_u64()) else { continue };
            let tg_name = tg.split('/').nth(1).unwrap_or_default();
            if never.iter().any(|n| n == tg_name) || running == 0 {
                continue;
            }
            let mut form = format!("Action=RegisterTargets&Version=2015-12-01&TargetGroupArn={}", crate::http::encode(tg));
            for i in 0..running {
                let h = berth_domain::naming::fnv1a64(name.as_bytes(), i);
                form.push_str(&format!(
                    "&Targets.member.{n}.Id=10.{}.{}.{}&Targets.member.{n}.Port={port}",
                    (h >> 16) & 0xff,
                    (h >> 8) & 0xff,
                    (h & 0xfe) + 1,
                    n = i + 1
                ));
            }
            let req = Request::builder()
                .method(hyper::Method::POST)
                .uri(format!("{}/", self.moto))
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "authorization",
                    format!("AWS4-HMAC-SHA256 Credential=BERTHLOCAL/20260101/{}/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0", crate::REGION),
                )
                .body(Full::new(Bytes::from(form)))?;
            let (parts, body) = self.to_moto(req).await?;
            if !parts.status.is_success() {
                return Err(format!("registering targets of {name}: {} {}", parts.status, String::from_utf8_lossy(&body)).into());
            }
        }
        Ok(())
    }

    async fn forward(&self, req: Request<Incoming>) -> crate::Result<Response<Full<Bytes>>> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_string();
        if path == "/berth-router/stats" {
            let s = self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
            return Ok(json(serde_json::to_string(&s)?));
        }
        let body = body.collect().await?.to_bytes();
        if path == "/berth-router/faults" {
            return self.faults_api(&parts.method, body).await;
        }
        if path == "/berth-router/limits" {
            return self.limits_api(&parts.method, body);
        }
        let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (caller, service) = caller_and_service(&header("authorization").unwrap_or_default());
        let app = header("x-amz-user-agent")
            .and_then(|ua| faults::app_name(&ua))
            .or_else(|| header("user-agent").and_then(|ua| faults::app_name(&ua)));

        let function = function_name(&path);
        let (base, upstream_path) = match &function {
            Some(name) => match self.lambdas.get(name) {
                Some(base) => (base, format!("/2015-03-31/functions/{name}/invocations")),
                None => return Ok(plain(StatusCode::NOT_FOUND, format!("berth router: no function named {name}"))),
            },
            None => (&self.moto, parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or(path.clone())),
        };
        let mut verdict = Verdict::Pass;
        let mut op = String::new();
        if !path.starts_with("/moto-api") {
            let (key, fault_service, fault_function) = match &function {
                Some(name) => {
                    op = "Invoke".into();
                    (format!("lambda:Invoke:{name}"), "lambda".to_string(), Some(name.clone()))
                }
                None => {
                    op = operation(header("x-amz-target").as_deref(), parts.method.as_str(), &path, &body);
                    (format!("{service}:{op}"), service.clone(), app.clone())
                }
            };
            self.count(&caller, app.as_deref(), key);
            // AWS's rates apply to berth's functions' calls to AWS (not to invocations).
            if function.is_none() && app.is_some() {
                let admitted =
                    self.limits.lock().unwrap_or_else(|p| p.into_inner()).admit(&caller, &service, &op, std::time::Instant::now());
                if !admitted {
                    let (status, headers, text) = faults::error_response(&service, &faults::FaultError::Throttle);
                    let mut r = Response::new(Full::new(Bytes::from(text)));
                    *r.status_mut() = StatusCode::from_u16(status)?;
                    for (k, v) in headers {
                        r.headers_mut().insert(HeaderName::from_static(k), HeaderValue::from_str(&v)?);
                    }
                    return Ok(r);
                }
            }
            verdict = self.faults().verdict(&fault_service, &op, fault_function.as_deref());
            if let Verdict::Fail(e) = &verdict {
                let (status, headers, text) = faults::error_response(&fault_service, e);
                eprintln!("berth router: fault injected: {fault_service}:{op} by {fault_function:?} -> {status}");
                let mut r = Response::new(Full::new(Bytes::from(text)));
                *r.status_mut() = StatusCode::from_u16(status)?;
                for (k, v) in headers {
                    r.headers_mut().insert(HeaderName::from_static(k), HeaderValue::from_str(&v)?);
                }
                return Ok(r);
            }
        }

        let mut up = Request::builder().method(parts.method.clone()).uri(format!("{base}{upstream_path}"));
        for (k, v) in &parts.headers {
            if k != "host" && k != "content-length" {
                up = up.header(k, v);
            }
        }
        let (mut rparts, rbody) = if let Some(name) = &function {
            let _slot = match self.slot(name) {
                Some(s) => Some(s.acquire_owned().await?),
                None => None,
            };
            let started = std::time::Instant::now();
            let resp = self.client.request(up.body(Full::new(body))?).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            let us = started.elapsed().as_micros() as u64;
            self.stats.lock().unwrap_or_else(|p| p.into_inner()).invocation_us.entry(name.clone()).or_default().push(us);
            (parts, body)
        } else {
            self.to_moto(up.body(Full::new(body))?).await?
        };
        if function.is_none() && service == "ecs" && (op == "CreateService" || op == "UpdateService") && rparts.status.is_success() {
            if let Err(e) = self.register_targets(&rbody).await {
                eprintln!("berth router: could not register targets: {e}");
            }
        }
        if verdict == Verdict::ForwardThenLose {
            let svc = if function.is_some() { "lambda" } else { service.as_str() };
            let (status, headers, text) = faults::error_response(svc, &faults::FaultError::Crash);
            eprintln!("berth router: crash injected: the answer to {svc}:{op} is lost");
            let mut r = Response::new(Full::new(Bytes::from(text)));
            *r.status_mut() = StatusCode::from_u16(status)?;
            for (k, v) in headers {
                r.headers_mut().insert(HeaderName::from_static(k), HeaderValue::from_str(&v)?);
            }
            return Ok(r);
        }
        if function.is_some() && rparts.status.as_u16() >= 500 && !rparts.headers.contains_key("x-amz-function-error") {
            // cargo-lambda's answer to a handler error; Lambda's is 200 with this header.
            rparts.status = StatusCode::OK;
            rparts.headers.insert(HeaderName::from_static("x-amz-function-error"), HeaderValue::from_static("Unhandled"));
        }
        rparts.headers.remove("content-length");
        rparts.headers.remove("transfer-encoding");
        Ok(Response::from_parts(rparts, Full::new(rbody)))
    }
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r
}

fn json(text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Sets the router's faults (an empty plan clears them).
pub async fn set_faults(endpoint: &str, plan: &FaultPlan) -> crate::Result<()> {
    let r = crate::http::send(
        hyper::Method::POST,
        &format!("{endpoint}/berth-router/faults"),
        &[("content-type", "application/json".into())],
        serde_json::to_string(plan)?,
    )
    .await?;
    if r.status != 200 {
        return Err(format!("setting faults: {} {}", r.status, r.body).into());
    }
    Ok(())
}

/// Turns AWS's request rates on or off, with full buckets and counting afresh.
pub async fn set_limits(endpoint: &str, enabled: bool) -> crate::Result<LimitsReport> {
    let body = serde_json::json!({ "enabled": enabled }).to_string();
    let r = crate::http::send(hyper::Method::POST, &format!("{endpoint}/berth-router/limits"), &[], body).await?;
    if r.status != 200 {
        return Err(format!("setting limits: {} {}", r.status, r.body).into());
    }
    Ok(serde_json::from_str(&r.body)?)
}

/// What AWS's request rates refused and let through since they were set.
pub async fn limits(endpoint: &str) -> crate::Result<LimitsReport> {
    let r = crate::http::send(hyper::Method::GET, &format!("{endpoint}/berth-router/limits"), &[], Bytes::new()).await?;
    Ok(serde_json::from_str(&r.body)?)
}

/// The router's faults, with how many calls each has seen and failed.
pub async fn faults(endpoint: &str) -> crate::Result<Faults> {
    let r = crate::http::send(hyper::Method::GET, &format!("{endpoint}/berth-router/faults"), &[], Bytes::new()).await?;
    Ok(serde_json::from_str(&r.body)?)
}

/// Reads the router's counters.
pub async fn stats(endpoint: &str) -> crate::Result<Stats> {
    let r = crate::http::send(hyper::Method::GET, &format!("{endpoint}/berth-router/stats"), &[], Bytes::new()).await?;
    Ok(serde_json::from_str(&r.body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_paths() {
        assert_eq!(function_name("/2015-03-31/functions/berth-validate/invocations").as_deref(), Some("berth-validate"));
        assert_eq!(
            function_name("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aberth-dns/invocations")
                .as_deref(),
            Some("berth-dns")
        );
        assert_eq!(
            function_name("/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:berth-dns:live/invocations").as_deref(),
            Some("berth-dns")
        );
        assert_eq!(function_name("/2015-03-31/functions/x"), None);
        assert_eq!(function_name("/"), None);
    }

    #[test]
    fn callers_services_and_operations() {
        let auth = "AWS4-HMAC-SHA256 Credential=BERTHLAMBDA/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(caller_and_service(auth), ("BERTHLAMBDA".into(), "dynamodb".into()));
        assert_eq!(operation(Some("DynamoDB_20120810.TransactWriteItems"), "POST", "/", b""), "TransactWriteItems");
        assert_eq!(operation(None, "POST", "/", b"Action=CreateRule&Version=2015-12-01"), "CreateRule");
        assert_eq!(operation(None, "POST", "/2013-04-01/hostedzone/Z1/rrset/", b"<x/>"), "ChangeResourceRecordSets");
        assert_eq!(operation(None, "GET", "/2013-04-01/change/C1", b""), "GetChange");
        assert_eq!(operation(None, "GET", "/2013-04-01/hostedzonesbyname?dnsname=acme.example", b""), "ListHostedZonesByName");
    }

    #[test]
    fn stats_since_a_snapshot() {
        let mut before = Stats::default();
        before.calls.entry("a".into()).or_default().insert("x:Y".into(), 2);
        let mut now = before.clone();
        now.calls.entry("a".into()).or_default().insert("x:Y".into(), 5);
        now.calls.entry("a".into()).or_default().insert("x:Z".into(), 1);
        let d = now.since(&before, "a");
        assert_eq!(d, BTreeMap::from([("x:Y".to_string(), 3), ("x:Z".to_string(), 1)]));
    }
}
