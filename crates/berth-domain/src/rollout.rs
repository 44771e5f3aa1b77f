//! Fleet rollouts: every ACTIVE customer of a product (or a listed set) moved to a new image
//! tag, in waves: a canary wave of a few customers first, then waves of a configured size.
//! Each customer's move is an update (the update machine's steps). After each wave the
//! rollout stops when the wave's failures pass the configured threshold; customers not
//! reached are untouched. The request is `events/rollout.json`.

use serde::{Deserialize, Serialize};

use crate::error::Violations;
use crate::plan::Plan;
use crate::{naming, validate, BerthError};

/// Inline Map iterations run at most 40 at once in Step Functions.
pub const MAX_CONCURRENCY: u32 = 40;
pub const WAVE_MAX: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    /// The caller's key: a second run with the same key continues where the first stopped.
    pub rollout_id: String,
    /// Every ACTIVE customer with this product...
    #[serde(default)]
    pub product: Option<String>,
    /// ...or exactly these customers.
    #[serde(default)]
    pub customers: Vec<String>,
    /// The tag (or `sha256:` digest) the product's services move to.
    pub image_tag: String,
    /// Customers in the first wave.
    #[serde(default = "one")]
    pub canary: u32,
    /// Customers in each later wave.
    #[serde(default = "four")]
    pub wave_size: u32,
    /// Updates of a wave running at once.
    #[serde(default = "four")]
    pub max_concurrency: u32,
    /// The rollout stops after a wave with more failed updates than this...
    #[serde(default)]
    pub max_failures: u32,
    /// ...or a larger share of failed updates than this (0 to 1).
    #[serde(default)]
    pub max_failure_rate: Option<f64>,
    #[serde(default)]
    pub requested_by: Option<String>,
}

fn one() -> u32 {
    1
}
fn four() -> u32 {
    4
}

impl RolloutRequest {
    pub fn parse(value: &serde_json::Value) -> Result<RolloutRequest, BerthError> {
        let r: RolloutRequest = crate::input::parse(value, "request")?;
        let broken = r.check();
        if broken.is_empty() {
            Ok(r)
        } else {
            Err(BerthError::InvalidRequest(broken))
        }
    }

    pub fn check(&self) -> Violations {
        let mut v = Violations::default();
        if !naming::is_idempotency_key(&self.rollout_id) {
            v.push("rollout_id", format!("must be 1-{} characters of letters, digits, '-' and '_'", naming::IDEMPOTENCY_KEY_MAX));
        }
        match (&self.product, self.customers.is_empty()) {
            (Some(_), false) | (None, true) => v.push("product", "name a product or list customers, not both"),
            (Some(p), true) if !naming::is_slug(p) => v.push("product", "must be a product of the catalog"),
            _ => {}
        }
        for (i, c) in self.customers.iter().enumerate() {
            let mut inner = Violations::default();
            validate::check_customer_id(c, &mut inner);
            if !inner.is_empty() {
                v.push(format!("customers[{i}]"), "must be a customer id");
            }
        }
        if self.customers.len() > 10_000 {
            v.push("customers", "at most 10,000");
        }
        if !naming::is_image_reference(&self.image_tag) || self.image_tag == "latest" {
            v.push("image_tag", "must be a pinned image tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128, not 'latest') or a sha256: digest");
        }
        if self.canary > WAVE_MAX {
            v.push("canary", format!("must be 0-{WAVE_MAX}"));
        }
        if !(1..=WAVE_MAX).contains(&self.wave_size) {
            v.push("wave_size", format!("must be 1-{WAVE_MAX}"));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.max_concurrency) {
            v.push("max_concurrency", format!("must be 1-{MAX_CONCURRENCY}"));
        }
        if self.max_failure_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            v.push("max_failure_rate", "must be between 0 and 1");
        }
        if let Some(who) = &self.requested_by {
            if who.is_empty() || !naming::is_plain_text(who, crate::lifecycle::REQUESTED_BY_MAX) || naming::carries_credentials(who) {
                v.push("requested_by", format!("must be 1-{} printable characters", crate::lifecycle::REQUESTED_BY_MAX));
            }
        }
        v
    }

    /// True when a wave with `failed` of `ran` updates failed stops the rollout.
    pub fn halts(&self, failed: u32, ran: u32) -> bool {
        failed > self.max_failures || (ran > 0 && self.max_failure_rate.is_some_and(|r| f64::from(failed) / f64::from(ran) > r))
    }
}

/// The waves: `canary` first (when there are any), then `wave_size` at a time.
pub fn waves<T: Clone>(items: &[T], canary: u32, wave_size: u32) -> Vec<Vec<T>> {
    let canary = (canary as usize).min(items.len());
    let mut out = Vec::new();
    if canary > 0 {
        out.push(items[..canary].to_vec());
    }
    out.extend(items[canary..].chunks(wave_size.max(1) as usize).map(<[T]>::to_vec));
    out
}

/// The image reference with its tag (or digest) replaced: `registry/repo:1.4.2` with
/// `1.5.0` is `registry/repo:1.5.0`; a `sha256:` digest is pinned with `@`.
pub fn with_image_tag(image: &str, tag: &str) -> String {
    let repository = match image.rsplit_once('@') {
        Some((repo, _)) => repo,
        None => match image.rsplit_once(':') {
            // A ':' after the last '/' separates the tag; one before it is a registry port.
            Some((repo, t)) if !t.contains('/') => repo,
            _ => image,
        },
    };
    if tag.starts_with("sha256:") {
        format!("{repository}@{tag}")
    } else {
        format!("{repository}:{tag}")
    }
}

/// The customer's plan with the product's services on `tag`; None when they all are already.
pub fn retagged(plan: &Plan, product: Option<&str>, tag: &str) -> Option<Plan> {
    let mut p = plan.clone();
    let mut changed = false;
    for s in &mut p.services {
        if product.is_some_and(|prod| prod != s.product) {
            continue;
        }
        let image = with_image_tag(&s.image, tag);
        if image != s.image {
            s.image = image;
            changed = true;
        }
    }
    changed.then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waves_start_with_the_canary() {
        let items: Vec<u32> = (1..=12).collect();
        let w = waves(&items, 1, 4);
        assert_eq!(w.iter().map(Vec::len).collect::<Vec<_>>(), [1, 4, 4, 3]);
        assert_eq!(w[0], [1]);
        assert_eq!(waves(&items, 0, 5).iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
        assert_eq!(waves(&items[..1], 3, 4).iter().map(Vec::len).collect::<Vec<_>>(), [1]);
        assert!(waves::<u32>(&[], 1, 4).is_empty());
    }

    #[test]
    fn tags_are_replaced_not_appended() {
        assert_eq!(with_image_tag("r.example.com/webapp/api:1.4.2", "1.5.0"), "r.example.com/webapp/api:1.5.0");
        assert_eq!(with_image_tag("r.example.com:5000/webapp/api:1.4.2", "2"), "r.example.com:5000/webapp/api:2");
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(with_image_tag("r/webapp/api:1", &digest), format!("r/webapp/api@{digest}"));
        assert_eq!(with_image_tag(&format!("r/webapp/api@{digest}"), "3"), "r/webapp/api:3");
    }

    #[test]
    fn thresholds_and_requests() {
        let r = RolloutRequest::parse(&json!({"rollout_id": "r-1", "product": "webapp", "image_tag": "1.5.0"})).unwrap();
        assert_eq!((r.canary, r.wave_size, r.max_concurrency, r.max_failures), (1, 4, 4, 0));
        assert!(r.halts(1, 4) && !r.halts(0, 4));
        let r1 = RolloutRequest { max_failures: 1, ..r.clone() };
        assert!(!r1.halts(1, 4) && r1.halts(2, 4));
        let rate = RolloutRequest { max_failures: 100, max_failure_rate: Some(0.25), ..r };
        assert!(!rate.halts(1, 4) && rate.halts(2, 4));
        let fields = |v: serde_json::Value| match RolloutRequest::parse(&v) {
            Err(BerthError::InvalidRequest(vs)) => vs.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields(json!({"rollout_id": "r", "image_tag": "latest"})), ["product", "image_tag"]);
        assert_eq!(
            fields(json!({"rollout_id": "r", "product": "webapp", "customers": ["acme"], "image_tag": "1", "max_concurrency": 41})),
            ["product", "max_concurrency"]
        );
    }
}
