//! A tiny HTTP client for the emulator's own API and for the few AWS calls the bootstrap
//! makes without an SDK crate (EC2 and ACM, which berth itself never calls).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::{Result, OBSERVER_ACCESS_KEY, REGION};

pub struct Response {
    pub status: u16,
    /// Each header's value by its lower-case name (the last of a repeated one).
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: String,
}

pub async fn send(method: Method, url: &str, headers: &[(&str, String)], body: impl Into<Bytes>) -> Result<Response> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = client.request(req.body(Full::new(body.into()))?).await?;
    let status = resp.status().as_u16();
    let headers =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(Response { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn auth(service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={OBSERVER_ACCESS_KEY}/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

/// An AWS query-protocol call (EC2): form parameters in, XML out.
pub async fn query(endpoint: &str, service: &str, params: &[(&str, &str)]) -> Result<String> {
    let body: String = params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let r = send(
        Method::POST,
        &format!("{endpoint}/"),
        &[("content-type", "application/x-www-form-urlencoded".into()), ("authorization", auth(service))],
        body,
    )
    .await?;
    if r.status >= 300 {
        return Err(format!("{service} {:?} failed: {} {}", params.first(), r.status, r.body).into());
    }
    Ok(r.body)
}

/// An AWS JSON-protocol call (ACM).
pub async fn json(endpoint: &str, service: &str, target: &str, body: serde_json::Value) -> Result<serde_json::Value> {
    let r = send(
        Method::POST,
        &format!("{endpoint}/"),
        &[("content-type", "application/x-amz-json-1.1".into()), ("x-amz-target", target.into()), ("authorization", auth(service))],
        body.to_string(),
    )
    .await?;
    if r.status >= 300 {
        return Err(format!("{target} failed: {} {}", r.status, r.body).into());
    }
    Ok(serde_json::from_str(&r.body)?)
}

/// The text of the first `<tag>…</tag>` in an XML answer.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let (_, rest) = xml.split_once(&format!("<{tag}>"))?;
    let (value, _) = rest.split_once(&format!("</{tag}>"))?;
    Some(value.trim().to_string())
}

pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:berth-validate";
        assert_eq!(decode(&encode(arn)), arn);
        assert_eq!(decode("a%3Ab%2"), "a:b%2");
    }

    #[test]
    fn xml_values() {
        assert_eq!(xml_value("<a><vpcId>vpc-1</vpcId></a>", "vpcId").as_deref(), Some("vpc-1"));
        assert_eq!(xml_value("<a/>", "vpcId"), None);
    }
}
