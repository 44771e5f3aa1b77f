//! End to end: products served on hosts of their own. A customer with three of them gets
//! three hosts, each with its rule, target group, service and alias records; a fourth added
//! by an update gets its host too; an offboarding takes all of it away, claims included.
//! Every assertion is on what exists in the emulator afterwards.

use std::collections::{BTreeMap, BTreeSet};

use berth_domain::catalog::Catalog;
use berth_domain::naming::HostForm;
use berth_tests::{Harness, Inventory};
use serde_json::{json, Value};

/// The host form the local stack's functions were started with.
fn form(h: &Harness) -> HostForm {
    h.stack.infra.product_host_form
}

/// A request for `products`, every service of each at tag 1.0.0, one task each (the emulator
/// runs one task of a service).
fn request(customer: &str, key: &str, products: &[&str]) -> Value {
    let mut r = Harness::request(customer);
    r["idempotency_key"] = json!(key);
    r["products"] = json!(products);
    let catalog = Catalog::builtin();
    let services: serde_json::Map<String, Value> = products
        .iter()
        .flat_map(|p| catalog.products[*p].services.keys().map(|s| (s.clone(), json!({ "image_tag": "1.0.0", "desired_count": 1 }))))
        .collect();
    r["services"] = Value::Object(services);
    r
}

/// Each rule of the customer: host, paths, priority.
fn rules(inv: &Inventory) -> Vec<(String, Vec<String>, u32)> {
    let mut out: Vec<(String, Vec<String>, u32)> = inv
        .rules
        .iter()
        .map(|r| {
            let values = |field: &str| -> Vec<String> {
                r.conditions()
                    .iter()
                    .filter(|c| c.field() == Some(field))
                    .flat_map(|c| match field {
                        "host-header" => c.host_header_config().map(|h| h.values().to_vec()).unwrap_or_default(),
                        _ => c.path_pattern_config().map(|p| p.values().to_vec()).unwrap_or_default(),
                    })
                    .collect()
            };
            let host = values("host-header").join(",");
            (host, values("path-pattern"), r.priority().and_then(|p| p.parse().ok()).unwrap_or(0))
        })
        .collect();
    out.sort_by_key(|r| r.2);
    out
}

/// The alias records by name (without the trailing dot): their types.
fn records(inv: &Inventory) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in inv.records.iter().filter(|r| r.alias_target().is_some()) {
        out.entry(r.name().trim_end_matches('.').to_string()).or_default().insert(r.r#type().as_str().to_string());
    }
    out
}

#[tokio::test]
async fn three_products_on_hosts_of_their_own_then_a_fourth_by_an_update_then_all_gone_with_the_customer() {
    let h = Harness::new().await;
    let customer = "pr-acme";
    let domain = h.stack.infra.domain.clone();
    let host = |p: &str| form(&h).product_host(p, customer, &domain);

    let onboarded = h.onboard(&request(customer, "k1", &["shop", "books", "crm"])).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let out = onboarded.output.expect("outputs");
    assert_eq!(
        out["urls"],
        json!({ "shop": format!("https://{}", host("shop")), "books": format!("https://{}", host("books")), "crm": format!("https://{}", host("crm")) })
    );
    let inv = h.inventory(customer).await;
    let got = rules(&inv);
    let hosts: BTreeSet<String> = got.iter().map(|r| r.0.clone()).collect();
    assert_eq!(hosts, ["shop", "books", "crm"].iter().map(|p| host(p)).collect(), "one host each, each rule on its host alone: {got:?}");
    assert!(got.iter().all(|r| r.1.is_empty()), "each product takes its whole host: {got:?}");
    let mut held = inv.priority_claims.clone();
    held.sort();
    assert_eq!(held, got.iter().map(|r| r.2).collect::<Vec<_>>(), "three distinct numbers, the ledger's");
    // Records: each product's host, A and AAAA; none at the customer's host, which serves
    // nothing (it stays claimed).
    let both: BTreeSet<String> = ["A".to_string(), "AAAA".to_string()].into();
    assert_eq!(records(&inv), ["shop", "books", "crm"].iter().map(|p| (host(p), both.clone())).collect());
    assert!(inv.host_claim.is_some());
    assert_eq!(inv.product_host_claims.iter().cloned().collect::<BTreeSet<_>>(), hosts);
    // The dotted form: berth's certificate for *.{customer}.{domain}, validated by a CNAME in
    // berth's zone, on the customer's listener; the dashed form needs none.
    let listener = out["listener_arn"].as_str().expect("listener").to_string();
    let wildcard = format!("*.{customer}.{domain}");
    let requested = requested_certificate(&h, &wildcard).await;
    let on_listener = listener_certificates(&h, &listener).await;
    match form(&h) {
        HostForm::Dotted => {
            let (arn, validation) = requested.clone().expect("berth requested the customer's certificate");
            assert!(on_listener.contains(&arn), "on the listener: {on_listener:?}");
            assert!(inv.ledger.iter().any(|e| e.contains(&format!("certificate#{arn}"))), "{:?}", inv.ledger);
            let zone = h.route53.list_resource_record_sets().hosted_zone_id(&h.stack.infra.hosted_zone_id).send().await.expect("zone");
            assert!(
                zone.resource_record_sets().iter().any(|r| r.r#type().as_str() == "CNAME" && r.name() == validation),
                "the validation record {validation} is in berth's zone"
            );
        }
        HostForm::Dashed => assert!(requested.is_none(), "{requested:?}"),
    }
    // Names: a target group and a service each, no two alike.
    let tgs: BTreeSet<&str> = inv.target_groups.iter().filter_map(|t| t.target_group_name()).collect();
    assert_eq!(tgs.len(), 3, "{tgs:?}");
    let active: BTreeSet<&str> = inv.services.iter().filter(|s| s.status() == Some("ACTIVE")).filter_map(|s| s.service_name()).collect();
    assert_eq!(active.len(), 3, "{active:?}");
    // Each rule forwards to its product's target group.
    for r in &inv.rules {
        let host_values: Vec<String> =
            r.conditions().iter().flat_map(|c| c.host_header_config().map(|h| h.values().to_vec()).unwrap_or_default()).collect();
        let tg = r.actions().first().and_then(|a| a.target_group_arn()).unwrap_or_default().to_string();
        let service = if host_values.contains(&host("shop")) {
            "storefront"
        } else if host_values.contains(&host("books")) {
            "ledger"
        } else {
            "crm"
        };
        assert!(tg.contains(&format!("/{}-{customer}-{service}/", h.stack.infra.name_prefix)), "{host_values:?} -> {tg}");
    }
    let names_before: BTreeSet<String> =
        tgs.iter().map(|s| format!("target group {s}")).chain(active.iter().map(|s| format!("service {s}"))).collect();

    // A fourth product by an update: its own host, a rule with a path before its catch-all,
    // its records; nothing of the three renamed (a rule may move to keep the order).
    let u = h.run("berth-update", &request(customer, "k2", &["shop", "books", "crm", "pos"]), &format!("{customer}_k2")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let inv = h.inventory(customer).await;
    assert_eq!(inv.attr("state").as_deref(), Some("ACTIVE"));
    let now = rules(&inv);
    let pos: Vec<&(String, Vec<String>, u32)> = now.iter().filter(|r| r.0 == host("pos")).collect();
    assert_eq!(pos.len(), 2, "{now:?}");
    assert!(pos[0].1 == ["/terminal/*"] && pos[1].1.is_empty(), "the path rule first: {pos:?}");
    for r in &got {
        assert!(now.iter().any(|n| n.0 == r.0 && n.1 == r.1), "{r:?} kept its host: {now:?}");
    }
    let mut held = inv.priority_claims.clone();
    held.sort();
    assert_eq!(held, now.iter().map(|r| r.2).collect::<Vec<_>>());
    assert_eq!(records(&inv).get(&host("pos")), Some(&both), "{:?}", records(&inv));
    assert!(inv.product_host_claims.contains(&host("pos")));
    let names_after: BTreeSet<String> = inv
        .target_groups
        .iter()
        .filter_map(|t| t.target_group_name())
        .map(|t| format!("target group {t}"))
        .chain(
            inv.services.iter().filter(|s| s.status() == Some("ACTIVE")).filter_map(|s| s.service_name()).map(|s| format!("service {s}")),
        )
        .collect();
    assert!(names_before.is_subset(&names_after), "{names_before:?} within {names_after:?}");
    assert_eq!(names_after.len(), names_before.len() + 4, "two target groups and two services more");

    // A product removed by an update: its host goes with it (records, claim), the rest stays.
    let u = h.run("berth-update", &request(customer, "k3", &["shop", "books", "pos"]), &format!("{customer}_k3")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let inv = h.inventory(customer).await;
    assert!(!records(&inv).contains_key(&host("crm")), "{:?}", records(&inv));
    assert!(!inv.product_host_claims.contains(&host("crm")), "{:?}", inv.product_host_claims);
    assert!(rules(&inv).iter().all(|r| r.0 != host("crm")));
    assert_eq!(records(&inv).len(), 3);

    // Offboarded: every host, rule, record and claim gone.
    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "off", json!({})), &format!("{customer}_off")).await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    let inv = h.inventory(customer).await;
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
    assert!(inv.tagged.is_empty(), "{:?}", inv.tagged);
    if let Some((arn, validation)) = requested {
        assert_eq!(requested_certificate(&h, &wildcard).await, None, "the certificate is deleted");
        assert!(!listener_certificates(&h, &listener).await.contains(&arn));
        let zone = h.route53.list_resource_record_sets().hosted_zone_id(&h.stack.infra.hosted_zone_id).send().await.expect("zone");
        assert!(!zone.resource_record_sets().iter().any(|r| r.name() == validation), "no validation record is left");
    }
}

/// The certificate for `domain` in the emulator's ACM, pending or issued, with its validation
/// record's name.
async fn requested_certificate(h: &Harness, domain: &str) -> Option<(String, String)> {
    let list = berth_local::http::json(
        &h.stack.endpoint,
        "acm",
        "CertificateManager.ListCertificates",
        json!({ "CertificateStatuses": ["PENDING_VALIDATION", "ISSUED"] }),
    )
    .await
    .expect("ListCertificates");
    let arn =
        list["CertificateSummaryList"].as_array()?.iter().find(|c| c["DomainName"] == domain)?["CertificateArn"].as_str()?.to_string();
    let d = berth_local::http::json(&h.stack.endpoint, "acm", "CertificateManager.DescribeCertificate", json!({ "CertificateArn": arn }))
        .await
        .expect("DescribeCertificate");
    let name = d["Certificate"]["DomainValidationOptions"][0]["ResourceRecord"]["Name"].as_str().unwrap_or_default().to_string();
    Some((arn, name))
}

#[tokio::test]
async fn a_product_host_another_customer_holds_is_refused_and_changes_nothing() {
    let h = Harness::new().await;
    // The dashed form's clash is refused by validation (a customer id may not start with an
    // own-host product's name); what is left to the claims is a host claimed by hand.
    let customer = "pr-clash";
    let domain = h.stack.infra.domain.clone();
    let shop = form(&h).product_host("shop", customer, &domain);
    h.dynamodb
        .put_item()
        .table_name(&h.stack.infra.table)
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("HOST#{shop}")))
        .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("CLAIM".into()))
        .item("customer_id", aws_sdk_dynamodb::types::AttributeValue::S("someone-else".into()))
        .send()
        .await
        .expect("claim by hand");
    let r = h.onboard(&request(customer, "k1", &["webapp", "shop"])).await;
    assert_eq!(r.status, "FAILED");
    assert_eq!(r.error.as_deref(), Some("Berth.Conflict"), "{:?}", r.cause);
    assert!(r.cause.as_deref().is_some_and(|c| c.contains(&shop)), "{:?}", r.cause);
    let inv = h.inventory(customer).await;
    assert!(inv.rules.is_empty() && inv.records.is_empty() && inv.host_claim.is_none(), "{:?}", inv.leftovers());
    assert!(inv.product_host_claims.contains(&shop), "the other claim stays");

    // An id that would be another customer's dashed product host is refused before
    // anything is written.
    if form(&h) == HostForm::Dashed {
        let r = h.onboard(&request("shop-acme", "k1", &["webapp"])).await;
        assert_eq!(r.error.as_deref(), Some("Berth.InvalidRequest"), "{:?}", r.cause);
        assert!(r.cause.as_deref().is_some_and(|c| c.contains("customer_id") && c.contains("'shop-'")), "{:?}", r.cause);
    }
}

/// A certificate for `domain` from the emulator's ACM.
async fn certificate(h: &Harness, domain: &str) -> String {
    let cert = berth_local::http::json(
        &h.stack.endpoint,
        "acm",
        "CertificateManager.RequestCertificate",
        json!({ "DomainName": domain, "ValidationMethod": "DNS" }),
    )
    .await
    .expect("RequestCertificate");
    cert["CertificateArn"].as_str().expect("a certificate ARN").to_string()
}

/// The names in a zone that have alias records.
async fn aliases_at(h: &Harness, zone: &str) -> BTreeSet<String> {
    let out = h.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("records");
    out.resource_record_sets().iter().filter(|r| r.alias_target().is_some()).map(|r| r.name().trim_end_matches('.').to_string()).collect()
}

/// The hosts of each of the customer's rules.
async fn rule_hosts(h: &Harness, customer: &str) -> Vec<BTreeSet<String>> {
    h.inventory(customer)
        .await
        .rules
        .iter()
        .map(|r| r.conditions().iter().flat_map(|c| c.host_header_config().map(|x| x.values().to_vec()).unwrap_or_default()).collect())
        .collect()
}

/// The certificates on a listener beside its default one.
async fn listener_certificates(h: &Harness, listener: &str) -> Vec<String> {
    let out = h.elb.describe_listener_certificates().listener_arn(listener).send().await.expect("listener certificates");
    out.certificates().iter().filter(|c| c.is_default() != Some(true)).filter_map(|c| c.certificate_arn().map(str::to_string)).collect()
}

#[tokio::test]
async fn a_customers_own_domain_gets_its_certificate_rules_and_records_and_all_of_it_goes_with_the_customer() {
    let h = Harness::new().await;
    let customer = "pr-owndomain";
    let hostname = "shop.acme-corp.example";
    // The domain's zone is in the account: berth writes the aliases there.
    let zone = h
        .route53
        .create_hosted_zone()
        .name("acme-corp.example")
        .caller_reference(format!("{customer}-zone"))
        .send()
        .await
        .expect("zone")
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("zone id");
    let cert = certificate(&h, hostname).await;
    let mut request = request(customer, "k1", &["webapp"]);
    request["domain"] = json!({ "hostname": hostname, "certificate_arn": cert });
    let onboarded = h.onboard(&request).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let out = onboarded.output.expect("outputs");
    let listener = out["listener_arn"].as_str().expect("listener").to_string();
    assert_eq!(out["own_domain"], json!({ "hostname": hostname, "hosted_zone_id": zone }));
    assert!(listener_certificates(&h, &listener).await.contains(&cert), "the certificate is on the listener");
    let inv = h.inventory(customer).await;
    for r in &inv.rules {
        let hosts: BTreeSet<String> =
            r.conditions().iter().flat_map(|c| c.host_header_config().map(|x| x.values().to_vec()).unwrap_or_default()).collect();
        assert_eq!(hosts, [h.host(customer), hostname.to_string()].into(), "each rule of the customer's host has the domain");
    }
    assert_eq!(inv.rules.len(), 2);
    let own = h.route53.list_resource_record_sets().hosted_zone_id(&zone).send().await.expect("records");
    let aliases: Vec<&str> = own
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.') == hostname && r.alias_target().is_some())
        .map(|r| r.r#type().as_str())
        .collect();
    assert_eq!(aliases.len(), 2, "A and AAAA in the domain's zone: {aliases:?}");
    assert!(inv.ledger.iter().any(|e| e.contains("listener_certificate")), "the certificate is in the ledger: {:?}", inv.ledger);

    // Another customer may not take the same domain.
    let mut other = request.clone();
    other["customer_id"] = json!("pr-owndomain-2");
    let refused = h.onboard(&other).await;
    assert_eq!(refused.error.as_deref(), Some("Berth.Conflict"), "{:?}", refused.cause);
    assert!(refused.cause.as_deref().is_some_and(|c| c.contains(hostname)), "{:?}", refused.cause);

    // Changed by an update to www.acme-corp.example with its own certificate: the rules have
    // the new name and not the old, the new certificate replaces the old on the listener, the
    // aliases move, the old name is given back (and the outputs say where the records are).
    let www = "www.acme-corp.example";
    let cert_www = certificate(&h, www).await;
    let mut moved = request.clone();
    moved["idempotency_key"] = json!("k2");
    moved["domain"] = json!({ "hostname": www, "certificate_arn": cert_www });
    let u = h.run("berth-update", &moved, &format!("{customer}_k2")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let on = listener_certificates(&h, &listener).await;
    assert!(on.contains(&cert_www) && !on.contains(&cert), "{on:?}");
    assert_eq!(rule_hosts(&h, customer).await, vec![[h.host(customer), www.to_string()].into(); 2]);
    assert_eq!(aliases_at(&h, &zone).await, [www.to_string()].into());
    let inv = h.inventory(customer).await;
    assert!(!inv.ledger.iter().any(|e| e.contains(hostname) || e.contains(&cert)), "{:?}", inv.ledger);
    assert_eq!(u.output.expect("output")["outputs"]["own_domain"], json!({ "hostname": www, "hosted_zone_id": zone }));
    assert_eq!(h.customer_state(customer).await, "ACTIVE");

    // A change whose records cannot be written fails: the rules have www again, the new
    // certificate is off the listener, the new name has no record and is free.
    let app = "app.acme-corp.example";
    let cert_app = certificate(&h, app).await;
    let mut failing = request.clone();
    failing["idempotency_key"] = json!("k3");
    failing["domain"] = json!({ "hostname": app, "certificate_arn": cert_app });
    h.set_faults(json!({"faults": [{"operation": "ChangeResourceRecordSets", "function": "berth-dns", "times": 0,
        "error": {"kind": "code", "code": "InvalidChangeBatch", "message": "refused"}}]}))
        .await;
    let f = h.run("berth-update", &failing, &format!("{customer}_k3")).await;
    h.clear_faults().await;
    assert_eq!(f.status, "FAILED", "{:?} {:?}", f.error, f.cause);
    let on = listener_certificates(&h, &listener).await;
    assert!(on.contains(&cert_www) && !on.contains(&cert_app), "{on:?}");
    assert_eq!(rule_hosts(&h, customer).await, vec![[h.host(customer), www.to_string()].into(); 2]);
    assert_eq!(aliases_at(&h, &zone).await, [www.to_string()].into());
    assert_eq!(h.customer_state(customer).await, "ACTIVE");
    let mut app_customer = request.clone();
    app_customer["customer_id"] = json!("pr-owndomain-3");
    app_customer["domain"] = json!({ "hostname": app, "certificate_arn": cert_app });
    let took = h.onboard(&app_customer).await;
    assert_eq!(took.status, "SUCCEEDED", "the name the failed update claimed is free: {:?} {:?}", took.error, took.cause);
    let off = h.run("berth-offboard", &Harness::lifecycle_request("pr-owndomain-3", "off", json!({})), "pr-owndomain-3_off").await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);

    // Offboarded: the certificate off the listener, the records out of the domain's zone,
    // the domain's claim given back.
    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "off", json!({})), &format!("{customer}_off")).await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    assert!(!listener_certificates(&h, &listener).await.contains(&cert_www));
    assert!(aliases_at(&h, &zone).await.is_empty());
    let inv = h.inventory(customer).await;
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
    // The domain is free again: the other customer onboards with it now.
    let mut again = other.clone();
    again["idempotency_key"] = json!("k2");
    let taken = h.onboard(&again).await;
    assert_eq!(taken.status, "SUCCEEDED", "{:?} {:?}", taken.error, taken.cause);
}

#[tokio::test]
async fn a_domain_whose_zone_is_elsewhere_gets_instructions_and_a_rollback_takes_its_certificate_off() {
    let h = Harness::new().await;
    let customer = "pr-elsewhere";
    let hostname = "app.elsewhere-corp.example";
    let cert = certificate(&h, hostname).await;
    let mut req = request(customer, "k1", &["webapp"]);
    req["domain"] = json!({ "hostname": hostname, "certificate_arn": cert });
    let onboarded = h.onboard(&req).await;
    assert_eq!(onboarded.status, "SUCCEEDED", "{:?} {:?}", onboarded.error, onboarded.cause);
    let out = onboarded.output.expect("outputs");
    let instructions = out["own_domain"]["instructions"].as_str().expect("instructions");
    let alb = out["alb"]["dns_name"].as_str().expect("the ALB's name");
    assert!(instructions.contains(&format!("CNAME record {hostname} pointing to {alb}")), "{instructions}");
    assert!(out["own_domain"].get("hosted_zone_id").is_none());
    // No records of it to write: the customer's ledger holds its claim.
    let claim = format!("RESOURCE#host_claim#{hostname}");
    assert!(h.inventory(customer).await.ledger.contains(&claim));

    // A failed onboarding with a domain: its certificate comes off the listener again.
    let failing = "pr-elsewhere-2";
    let cert2 = certificate(&h, "app.failing-corp.example").await;
    let mut req = request(failing, "k1", &["webapp"]);
    req["domain"] = json!({ "hostname": "app.failing-corp.example", "certificate_arn": cert2 });
    h.set_faults(json!({"faults": [{"operation": "CreateService", "function": "berth-resources", "times": 0,
        "error": {"kind": "code", "code": "InvalidParameterException", "message": "refused"}}]}))
        .await;
    let r = h.onboard(&req).await;
    h.clear_faults().await;
    assert_eq!(r.status, "FAILED");
    let listener = out["listener_arn"].as_str().expect("listener");
    let on = listener_certificates(&h, listener).await;
    assert!(!on.contains(&cert2) && on.contains(&cert), "{on:?}");
    let inv = h.inventory(failing).await;
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());

    // Taken away by an update: the certificate off the listener, the rules on the customer's
    // host alone, no instructions left in the outputs, and the name free for another.
    let mut without = request(customer, "k2", &["webapp"]);
    without.as_object_mut().expect("a request").remove("domain");
    let u = h.run("berth-update", &without, &format!("{customer}_k2")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    assert!(!listener_certificates(&h, listener).await.contains(&cert));
    assert_eq!(rule_hosts(&h, customer).await, vec![[h.host(customer)].into(); 2]);
    assert!(u.output.expect("output")["outputs"]["own_domain"].is_null());
    assert!(!h.inventory(customer).await.ledger.contains(&claim));
    let mut other = request("pr-elsewhere-3", "k1", &["webapp"]);
    other["domain"] = json!({ "hostname": hostname, "certificate_arn": cert });
    let took = h.onboard(&other).await;
    assert_eq!(took.status, "SUCCEEDED", "{:?} {:?}", took.error, took.cause);
}

#[tokio::test]
async fn a_domain_request_past_a_rules_condition_values_or_inside_berths_domain_is_refused_naming_the_field() {
    let h = Harness::new().await;
    let cert = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e";
    for (domain, field) in [
        (json!({ "hostname": format!("x.{}", h.stack.infra.domain), "certificate_arn": cert }), "domain.hostname"),
        (json!({ "hostname": "shop.acme-corp.example", "certificate_arn": "not-an-arn" }), "domain.certificate_arn"),
    ] {
        let mut req = request("pr-baddomain", "k1", &["webapp"]);
        req["domain"] = domain;
        let r = h.onboard(&req).await;
        assert_eq!(r.error.as_deref(), Some("Berth.InvalidRequest"), "{:?}", r.cause);
        assert!(r.cause.as_deref().is_some_and(|c| c.contains(field)), "{field}: {:?}", r.cause);
    }
    // Well-formed, but refused by the register step before anything is made: a certificate
    // ACM does not have, and one for other names.
    let other = certificate(&h, "other.acme-corp.example").await;
    for (arn, says) in [(cert.to_string(), "no certificate"), (other, "not shop.acme-corp.example")] {
        let mut req = request("pr-baddomain", "k3", &["webapp"]);
        req["domain"] = json!({ "hostname": "shop.acme-corp.example", "certificate_arn": arn });
        let r = h.onboard_named(&req, &format!("pr-baddomain-{}", arn.rsplit('/').next().unwrap_or_default())).await;
        assert_eq!(r.error.as_deref(), Some("Berth.InvalidRequest"), "{:?}", r.cause);
        assert!(r.cause.as_deref().is_some_and(|c| c.contains("domain.certificate_arn") && c.contains(says)), "{says}: {:?}", r.cause);
        assert!(h.inventory("pr-baddomain").await.leftovers().is_empty());
    }
    // Only products on hosts of their own: nothing at the customer's host for the domain.
    let mut req = request("pr-baddomain", "k2", &["shop"]);
    req["domain"] = json!({ "hostname": "shop.acme-corp.example", "certificate_arn": cert });
    let r = h.onboard(&req).await;
    assert!(r.cause.as_deref().is_some_and(|c| c.contains("domain") && c.contains("nothing is served")), "{:?}", r.cause);
    assert!(h.inventory("pr-baddomain").await.leftovers().is_empty());
}

#[tokio::test]
async fn a_certificate_two_customers_share_stays_on_the_listener_until_the_second_is_offboarded() {
    let h = Harness::new().await;
    let wildcard = certificate(&h, "*.partner-corp.example").await;
    let mut listeners = Vec::new();
    for customer in ["pr-shared-a", "pr-shared-b"] {
        let mut req = request(customer, "k1", &["webapp"]);
        req["domain"] = json!({ "hostname": format!("{customer}.partner-corp.example"), "certificate_arn": wildcard });
        let r = h.onboard(&req).await;
        assert_eq!(r.status, "SUCCEEDED", "{customer}: {:?} {:?}", r.error, r.cause);
        listeners.push(r.output.expect("outputs")["listener_arn"].as_str().expect("listener").to_string());
    }
    assert_eq!(listeners[0], listeners[1], "both on one listener: the share is what this test is about");
    let listener = &listeners[0];
    assert!(listener_certificates(&h, listener).await.contains(&wildcard));

    let off = h.run("berth-offboard", &Harness::lifecycle_request("pr-shared-a", "off", json!({})), "pr-shared-a_off").await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    assert!(listener_certificates(&h, listener).await.contains(&wildcard), "pr-shared-b still serves its domain with it");
    assert_eq!(rule_hosts(&h, "pr-shared-b").await.len(), 2);

    let off = h.run("berth-offboard", &Harness::lifecycle_request("pr-shared-b", "off", json!({})), "pr-shared-b_off").await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    assert!(!listener_certificates(&h, listener).await.contains(&wildcard), "the last one is done with it");
    for customer in ["pr-shared-a", "pr-shared-b"] {
        assert!(h.inventory(customer).await.leftovers().is_empty(), "{customer}");
    }
}
