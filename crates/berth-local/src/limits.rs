//! AWS's API request rates, enforced locally: a token bucket per account (the caller's
//! access key) and per bucket of operations, as AWS throttles them, answered with the
//! service's own throttling error when empty. The emulator has no rate limits at all; with
//! these on, berth's retries meet throttling as they would on AWS.
//!
//! Only berth's functions are limited (calls whose User-Agent names a berth app): the tests
//! and the local tooling observe the emulator without spending anyone's tokens.
//!
//! The rates, and where they come from:
//!
//! | service | bucket | capacity (burst) | refill per second | source |
//! |---|---|---|---|---|
//! | Route 53 | every operation | 5 | 5 | AWS documents 5 requests per second per account |
//! | ELBv2 | `Describe*` | 40 | 10 | AWS's ELB request-throttling page (non-mutating actions) |
//! | ELBv2 | every other operation | 20 | 5 | not in AWS's documentation as read here: a conservative assumption |
//! | ECS | `Describe*`, `List*` | 50 | 20 | AWS's ECS request-throttling page (cluster read actions) |
//! | ECS | every other operation | 20 | 5 | a conservative assumption (service and task definition writes) |
//! | CloudWatch Logs | each of `CreateLogGroup`, `DeleteLogGroup`, `PutRetentionPolicy` | 5 | 5 | CloudWatch Logs quotas (5 transactions per second) |
//! | CloudWatch Logs | every other operation | 10 | 10 | a conservative assumption |
//! | Step Functions | `StartExecution` | 1,300 | 300 | Step Functions quotas (us-east-1, Standard) |
//!
//! DynamoDB (on-demand tables) and Lambda invocations have no request-rate bucket here.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// One bucket of operations of a service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub bucket: &'static str,
    pub capacity: f64,
    pub refill_per_second: f64,
}

const fn rate(bucket: &'static str, capacity: f64, refill_per_second: f64) -> Rate {
    Rate { bucket, capacity, refill_per_second }
}

/// The bucket a call spends a token from; None when AWS does not limit its rate here.
pub fn rate_of(service: &str, operation: &str) -> Option<Rate> {
    let read = operation.starts_with("Describe") || operation.starts_with("List") || operation.starts_with("Get");
    match service {
        "route53" => Some(rate("route53", 5.0, 5.0)),
        "elasticloadbalancing" if operation.starts_with("Describe") => Some(rate("elbv2-describe", 40.0, 10.0)),
        "elasticloadbalancing" => Some(rate("elbv2-mutate", 20.0, 5.0)),
        "ecs" if read => Some(rate("ecs-read", 50.0, 20.0)),
        "ecs" => Some(rate("ecs-write", 20.0, 5.0)),
        "logs" => match operation {
            "CreateLogGroup" => Some(rate("logs-create-log-group", 5.0, 5.0)),
            "DeleteLogGroup" => Some(rate("logs-delete-log-group", 5.0, 5.0)),
            "PutRetentionPolicy" => Some(rate("logs-put-retention-policy", 5.0, 5.0)),
            _ => Some(rate("logs-other", 10.0, 10.0)),
        },
        "states" if operation == "StartExecution" => Some(rate("states-start-execution", 1300.0, 300.0)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every account, and what they refused.
#[derive(Debug, Default)]
pub struct Limits {
    pub enabled: bool,
    buckets: HashMap<(String, &'static str), Bucket>,
    /// Calls answered with a throttling error, by `service:Operation`.
    pub throttled: BTreeMap<String, u64>,
    /// Calls that spent a token, by `service:Operation`.
    pub passed: BTreeMap<String, u64>,
}

impl Limits {
    /// Full buckets, nothing counted yet.
    pub fn new(enabled: bool) -> Limits {
        Limits { enabled, ..Limits::default() }
    }

    /// Spends a token of the call's bucket: false when the bucket is empty (throttled).
    pub fn admit(&mut self, account: &str, service: &str, operation: &str, now: Instant) -> bool {
        if !self.enabled {
            return true;
        }
        let Some(r) = rate_of(service, operation) else {
            return true;
        };
        let key = format!("{service}:{operation}");
        let b = self.buckets.entry((account.to_string(), r.bucket)).or_insert(Bucket { tokens: r.capacity, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * r.refill_per_second).min(r.capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            *self.passed.entry(key).or_default() += 1;
            true
        } else {
            *self.throttled.entry(key).or_default() += 1;
            false
        }
    }

    pub fn report(&self) -> LimitsReport {
        LimitsReport { enabled: self.enabled, throttled: self.throttled.clone(), passed: self.passed.clone() }
    }
}

/// What `GET /berth-router/limits` answers; `POST` takes `{"enabled": bool}` (and starts
/// counting afresh, with full buckets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsReport {
    pub enabled: bool,
    #[serde(default)]
    pub throttled: BTreeMap<String, u64>,
    #[serde(default)]
    pub passed: BTreeMap<String, u64>,
}

impl LimitsReport {
    pub fn throttled_total(&self) -> u64 {
        self.throttled.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_bursts_to_its_capacity_then_refills_at_its_rate() {
        let mut l = Limits::new(true);
        let t0 = Instant::now();
        let admitted = (0..8).filter(|_| l.admit("acct", "route53", "ChangeResourceRecordSets", t0)).count();
        assert_eq!(admitted, 5, "Route 53: 5 at once");
        assert_eq!(l.throttled["route53:ChangeResourceRecordSets"], 3);
        // Every Route 53 operation shares the account's bucket.
        assert!(!l.admit("acct", "route53", "ListResourceRecordSets", t0));
        // 200 ms later: one more token.
        assert!(l.admit("acct", "route53", "ListResourceRecordSets", t0 + Duration::from_millis(200)));
        assert!(!l.admit("acct", "route53", "ListResourceRecordSets", t0 + Duration::from_millis(200)));
        // Another account has its own bucket.
        assert!(l.admit("other", "route53", "ListResourceRecordSets", t0));
        // Unlimited here, and everything when limits are off.
        assert!((0..1000).all(|_| l.admit("acct", "dynamodb", "TransactWriteItems", t0)));
        let mut off = Limits::default();
        assert!((0..100).all(|_| off.admit("acct", "route53", "ChangeResourceRecordSets", t0)));
    }

    #[test]
    fn reads_and_writes_of_a_service_are_separate_buckets() {
        assert_eq!(rate_of("elasticloadbalancing", "DescribeRules").map(|r| r.bucket), Some("elbv2-describe"));
        assert_eq!(rate_of("elasticloadbalancing", "CreateRule").map(|r| r.bucket), Some("elbv2-mutate"));
        assert_eq!(rate_of("ecs", "DescribeServices").map(|r| r.bucket), Some("ecs-read"));
        assert_eq!(rate_of("ecs", "UpdateService").map(|r| r.bucket), Some("ecs-write"));
        assert_eq!(rate_of("dynamodb", "Query"), None);
    }
}
