//! End to end: a customer's own certificate counts against its ALB's certificates. On a pool
//! of two ALBs that take two certificates each beside their default one (`--albs 2
//! --certificate-quota 2`, as make test starts it; AWS's quota is 25), the third customer
//! with its own domain is placed on the other ALB: no listener holds more than its quota,
//! and each customer's certificate is on its own ALB's listener.

use std::collections::BTreeMap;

use berth_tests::Harness;
use serde_json::{json, Value};

#[tokio::test]
async fn a_certificate_past_an_albs_quota_places_the_customer_on_another_alb() {
    let h = Harness::new().await;
    let albs = &h.stack.infra.albs;
    assert_eq!(albs.len(), 2, "this suite runs on a pool of two ALBs");
    let mut per_listener: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..3 {
        let customer = format!("cert-{i}");
        let hostname = format!("www.cert-{i}.example");
        let cert = berth_local::http::json(
            &h.stack.endpoint,
            "acm",
            "CertificateManager.RequestCertificate",
            json!({ "DomainName": hostname, "ValidationMethod": "DNS" }),
        )
        .await
        .expect("RequestCertificate")["CertificateArn"]
            .as_str()
            .expect("ARN")
            .to_string();
        let mut request = Harness::request(&customer);
        request["domain"] = json!({ "hostname": hostname, "certificate_arn": cert });
        for s in ["api", "frontend"] {
            request["services"][s]["desired_count"] = json!(1);
        }
        let r = h.onboard(&request).await;
        assert_eq!(r.status, "SUCCEEDED", "{customer}: {:?} {:?}", r.error, r.cause);
        let out: Value = r.output.expect("outputs");
        per_listener.entry(out["listener_arn"].as_str().expect("listener").to_string()).or_default().push(cert);
    }
    assert_eq!(per_listener.len(), 2, "the third certificate went to the other ALB: {per_listener:?}");
    for (listener, certs) in &per_listener {
        assert!(certs.len() <= 2, "{listener}: {certs:?}");
        let on = h.elb.describe_listener_certificates().listener_arn(listener).send().await.expect("listener certificates");
        let mut on: Vec<String> = on
            .certificates()
            .iter()
            .filter(|c| c.is_default() != Some(true))
            .filter_map(|c| c.certificate_arn().map(str::to_string))
            .collect();
        on.sort();
        let mut want = certs.clone();
        want.sort();
        assert_eq!(on, want, "{listener}: exactly its customers' certificates");
    }
}
