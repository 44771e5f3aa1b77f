//! End to end under AWS's API request rates: the router's token buckets per account and API
//! (`berth_local::limits`) answer over-limit calls with each service's throttling error, as
//! AWS would. 50 onboardings at once, then 12 updates at once, must all end as they would
//! without the limits: no execution fails because of throttling.

use berth_tests::Harness;
use futures_util::future::join_all;
use serde_json::json;

#[tokio::test]
async fn fifty_onboardings_and_twelve_updates_at_once_under_aws_rate_limits_end_without_a_throttling_failure() {
    let h = Harness::new().await;
    berth_local::router::set_limits(&h.stack.endpoint, true).await.expect("limits on");
    let customers: Vec<String> = (0..50).map(|i| format!("rate-{i:02}")).collect();
    let started = std::time::Instant::now();
    let onboarded = join_all(customers.iter().map(|c| {
        let request = Harness::request(c);
        let h = &h;
        async move { h.onboard(&request).await }
    }))
    .await;
    let onboard_s = started.elapsed().as_secs_f64();
    let after_onboarding = berth_local::router::limits(&h.stack.endpoint).await.expect("limits");

    let started = std::time::Instant::now();
    let updated = join_all(customers.iter().take(12).map(|c| {
        let mut request = Harness::request(c);
        request["idempotency_key"] = json!("release-1-5-0");
        for s in ["api", "worker", "frontend"] {
            request["services"][s]["image_tag"] = json!("1.5.0");
        }
        let name = format!("{c}_release-1-5-0");
        let h = &h;
        async move { h.run("berth-update", &request, &name).await }
    }))
    .await;
    let update_s = started.elapsed().as_secs_f64();
    let report = berth_local::router::limits(&h.stack.endpoint).await.expect("limits");
    berth_local::router::set_limits(&h.stack.endpoint, false).await.expect("limits off");

    eprintln!(
        "50 onboardings at once in {onboard_s:.1} s, then 12 updates at once in {update_s:.1} s; throttled after the onboardings: {:?}; in all: {:?} ({} calls throttled, {} admitted)",
        after_onboarding.throttled,
        report.throttled,
        report.throttled_total(),
        report.passed.values().sum::<u64>()
    );
    for (c, r) in customers.iter().zip(&onboarded) {
        assert_eq!(r.status, "SUCCEEDED", "{c}: {:?} {:?}", r.error, r.cause);
    }
    for (c, r) in customers.iter().zip(&updated) {
        assert_eq!(r.status, "SUCCEEDED", "{c}: {:?} {:?}", r.error, r.cause);
    }
    // The limits were on for berth's calls: Route 53's went through its bucket.
    assert!(report.passed.keys().any(|k| k.starts_with("route53:")), "{report:?}");
    let names: std::collections::BTreeSet<String> =
        h.priority_claims().await.into_iter().filter(|(_, c)| c.starts_with("rate-")).map(|(_, c)| c).collect();
    assert_eq!(names.len(), 50, "every customer holds its priorities");
}
