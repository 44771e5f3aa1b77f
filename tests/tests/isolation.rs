//! End to end: each customer's tasks run with the customer's own IAM role and in its own
//! security group, and both go with the customer. Every assertion is on what IAM, EC2 and
//! ECS hold in the emulator afterwards: the role (its path, boundary, trust and its one
//! policy, statement by statement), the group's rules, the task definitions' roles and the
//! services' groups; then nothing of them after an offboarding, a rollback, or an onboarding
//! refused at the account's role quota.

use std::collections::BTreeSet;

use berth_adapters::aws::iam::decode_document;
use berth_domain::access::{self, ROLE_POLICY_NAME};
use berth_tests::Harness;
use serde_json::{json, Value};

const DATABASE_URL: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iso-acme/database-url-AbCdEf";
const API_KEY: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/iso-acme/api-key";

/// IAM answers documents URL-encoded: read as the adapter reads them.
fn document(text: &str) -> Value {
    decode_document(text).unwrap_or_else(|| panic!("not a policy document: {text}"))
}

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => BTreeSet::new(),
    }
}

/// The customer's policy: statement id → (actions, resources).
async fn policy(h: &Harness, role: &str) -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let out = h.iam.get_role_policy().role_name(role).policy_name(ROLE_POLICY_NAME).send().await.expect("the customer's policy");
    let doc = document(out.policy_document());
    doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| (s["Sid"].as_str().unwrap_or_default().to_string(), strings(&s["Action"]), strings(&s["Resource"])))
        .collect()
}

fn request(customer: &str, key: &str) -> Value {
    let mut r = Harness::request(customer);
    r["idempotency_key"] = json!(key);
    for s in ["api", "worker", "frontend"] {
        r["services"][s]["desired_count"] = json!(1);
    }
    r
}

#[tokio::test]
async fn the_customers_tasks_run_with_its_own_role_and_group_and_both_go_with_it() {
    let h = Harness::new().await;
    let infra = h.stack.infra.clone();
    let customer = "iso-acme";
    let report = h.onboard(&request(customer, "iso-1")).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?} {:?}", report.error, report.cause);

    // The role: berth's path and name, the deployment's boundary, the customer's tags,
    // trusted by ECS tasks of the account only, one inline policy and nothing attached.
    let role = h.role(customer).await.expect("the customer's role");
    let name = access::role_name(&infra.name_prefix, customer);
    assert_eq!(role.role_name(), name);
    assert_eq!(role.path(), "/berth/");
    assert_eq!(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()), Some(infra.role_boundary_arn.as_str()));
    assert!(role.tags().iter().any(|t| t.key() == "berth:customer" && t.value() == customer), "{:?}", role.tags());
    let trust = document(role.assume_role_policy_document().unwrap_or_default());
    assert_eq!(trust["Statement"][0]["Principal"], json!({"Service": "ecs-tasks.amazonaws.com"}));
    assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
    let inline = h.iam.list_role_policies().role_name(&name).send().await.expect("inline policies");
    assert_eq!(inline.policy_names(), [ROLE_POLICY_NAME]);
    let attached = h.iam.list_attached_role_policies().role_name(&name).send().await.expect("attached policies");
    assert!(attached.attached_policies().is_empty());

    // Its policy, statement by statement: the request's one secret, the customer's log group,
    // the catalog's images; no wildcard action.
    let statements = policy(&h, &name).await;
    let sids: Vec<&str> = statements.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(sids, ["RegistryLogin", "PullImages", "WriteLogs", "ReadSecrets"]);
    for (sid, actions, resources) in &statements {
        assert!(actions.iter().all(|a| !a.contains('*')), "{sid}: {actions:?}");
        match sid.as_str() {
            "RegistryLogin" => assert_eq!(resources, &BTreeSet::from(["*".to_string()])),
            "PullImages" => {
                assert!(resources.iter().all(|r| r.starts_with("arn:aws:ecr:us-east-1:123456789012:repository/webapp/")), "{resources:?}")
            }
            "WriteLogs" => {
                assert_eq!(resources, &BTreeSet::from(["arn:aws:logs:us-east-1:123456789012:log-group:/berth/iso-acme:*".to_string()]))
            }
            "ReadSecrets" => assert_eq!(resources, &BTreeSet::from([DATABASE_URL.to_string()])),
            other => panic!("unexpected statement {other}"),
        }
    }

    // The group: inbound from the ALBs' group only, on the customer's two ports; outbound
    // anywhere (the deployment's default).
    let groups = h.security_groups(customer).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = &groups[0];
    let group_id = group.group_id().unwrap_or_default().to_string();
    let mut ports = BTreeSet::new();
    for p in group.ip_permissions() {
        assert_eq!(p.ip_protocol(), Some("tcp"));
        assert!(p.ip_ranges().is_empty() && p.ipv6_ranges().is_empty(), "inbound from an address range: {p:?}");
        let sources: Vec<&str> = p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(sources, [infra.alb_security_group.as_str()]);
        ports.insert((p.from_port(), p.to_port()));
    }
    assert_eq!(ports, BTreeSet::from([(Some(3000), Some(3000)), (Some(3001), Some(3001))]));
    let egress: BTreeSet<String> = group
        .ip_permissions_egress()
        .iter()
        .flat_map(|p| p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6())))
        .map(str::to_string)
        .collect();
    assert_eq!(egress, BTreeSet::from(["0.0.0.0/0".to_string(), "::/0".to_string()]));

    // The tasks: the customer's role to start with and to run as; the services in its group.
    let running = h.running(customer).await;
    assert_eq!(running.len(), 3);
    for (service, td) in &running {
        assert_eq!(td.execution_role_arn(), Some(role.arn()), "{:?}", service.service_name());
        assert_eq!(td.task_role_arn(), Some(role.arn()));
        let service_groups = service
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|a| a.security_groups().to_vec())
            .unwrap_or_default();
        assert_eq!(service_groups, std::slice::from_ref(&group_id), "{:?}", service.service_name());
    }

    // An update that names a new secret reference: the role may read it too, and only it more.
    let mut update = request(customer, "iso-2");
    update["services"]["api"]["secrets"] = json!({"DATABASE_URL": DATABASE_URL, "API_KEY": API_KEY});
    let updated = h.run("berth-update", &update, &format!("{customer}_iso-2")).await;
    assert_eq!(updated.status, "SUCCEEDED", "{:?} {:?}", updated.error, updated.cause);
    let statements = policy(&h, &name).await;
    let of = |sid: &str| statements.iter().find(|(s, _, _)| s == sid).map(|(_, a, r)| (a.clone(), r.clone()));
    assert_eq!(of("ReadSecrets").map(|(_, r)| r), Some(BTreeSet::from([DATABASE_URL.to_string()])));
    assert_eq!(of("ReadParameters"), Some((BTreeSet::from(["ssm:GetParameters".to_string()]), BTreeSet::from([API_KEY.to_string()]))));
    let api = h.running(customer).await.into_iter().find(|(s, _)| s.service_name().is_some_and(|n| n.ends_with("-api"))).expect("api");
    let refs: BTreeSet<String> =
        api.1.container_definitions().iter().flat_map(|c| c.secrets().iter().map(|x| x.value_from().to_string())).collect();
    assert_eq!(refs, BTreeSet::from([DATABASE_URL.to_string(), API_KEY.to_string()]));
    assert_eq!(api.1.execution_role_arn(), Some(role.arn()));

    // Offboarded: neither the role nor the group is left, nor anything else.
    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "iso-off", json!({})), &format!("{customer}_iso-off")).await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    let inv = h.inventory(customer).await;
    assert!(inv.role.is_none() && inv.security_groups.is_empty(), "{:?}", inv.leftovers());
    assert!(inv.leftovers().iter().all(|l| l.starts_with("log group")), "{:?}", inv.leftovers());
}

#[tokio::test]
async fn a_failed_onboarding_takes_its_role_and_group_with_it() {
    let h = Harness::new().await;
    let customer = "iso-failed";
    h.set_faults(json!({"faults": [{"operation": "ChangeResourceRecordSets", "function": "berth-dns", "times": 0,
        "error": {"kind": "code", "code": "InvalidChangeBatch"}}]}))
        .await;
    let report = h.onboard(&request(customer, "iso-f1")).await;
    h.clear_faults().await;
    assert_eq!(report.status, "FAILED");
    let inv = h.inventory(customer).await;
    assert!(inv.role.is_none(), "role left: {:?}", inv.role);
    assert!(inv.security_groups.is_empty(), "security group left: {:?}", inv.security_groups);
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
}

#[tokio::test]
async fn an_onboarding_past_the_accounts_role_quota_is_refused_before_anything_is_made() {
    let h = Harness::new().await;
    let customer = "iso-full";
    // Fill the account's roles (the emulator's quota is IAM's default) with roles of others.
    let summary = h.iam.get_account_summary().send().await.expect("account summary");
    let count = |k: aws_sdk_iam::types::SummaryKeyType| summary.summary_map().and_then(|m| m.get(&k)).copied().unwrap_or_default();
    let (used, quota) = (count(aws_sdk_iam::types::SummaryKeyType::Roles), count(aws_sdk_iam::types::SummaryKeyType::RolesQuota));
    assert!(quota > used, "{used} of {quota}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string();
    let fillers: Vec<String> = (0..(quota - used)).map(|i| format!("filler-{i}")).collect();
    for name in &fillers {
        h.iam.create_role().role_name(name).path("/others/").assume_role_policy_document(&trust).send().await.expect("filler role");
    }

    let report = h.onboard(&request(customer, "iso-q1")).await;
    let inv = h.inventory(customer).await;
    for name in &fillers {
        h.iam.delete_role().role_name(name).send().await.expect("filler role deleted");
    }
    assert_eq!(report.status, "FAILED");
    assert_eq!(report.error.as_deref(), Some("Berth.QuotaExceeded"), "{:?}", report.cause);
    let cause = report.cause.unwrap_or_default();
    assert!(cause.contains(&format!("{quota} IAM roles")), "{cause}");
    // Refused at placement: no role, no group, no target group, rule, service or record.
    assert!(inv.leftovers().is_empty(), "{:?}", inv.leftovers());
    assert_eq!(inv.attr("error_name").as_deref(), Some("Berth.QuotaExceeded"));
}

/// The ports the customer's group lets in, and whether each is from the ALBs' group alone.
async fn ingress(h: &Harness, customer: &str) -> BTreeSet<i32> {
    let groups = h.security_groups(customer).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let alb = h.stack.infra.alb_security_group.as_str();
    groups[0]
        .ip_permissions()
        .iter()
        .inspect(|p| assert!(p.user_id_group_pairs().iter().all(|g| g.group_id() == Some(alb)) && p.ip_ranges().is_empty(), "{p:?}"))
        .filter_map(|p| p.from_port())
        .collect()
}

#[tokio::test]
async fn a_product_removed_by_an_update_takes_its_reach_with_it() {
    let h = Harness::new().await;
    let customer = "iso-shrink";
    let name = access::role_name(&h.stack.infra.name_prefix, customer);
    let mut with_reports = request(customer, "iso-s1");
    with_reports["products"] = json!(["webapp", "reports"]);
    with_reports["services"]["reports"] = json!({"image_tag": "1.0.0", "desired_count": 1});
    let report = h.onboard(&with_reports).await;
    assert_eq!(report.status, "SUCCEEDED", "{:?} {:?}", report.error, report.cause);
    let sids = |p: &[(String, BTreeSet<String>, BTreeSet<String>)]| p.iter().map(|(s, _, _)| s.clone()).collect::<Vec<_>>();
    let before = policy(&h, &name).await;
    assert!(sids(&before).contains(&"CustomerObjects".to_string()), "{before:?}");
    let objects = before.iter().find(|(s, _, _)| s == "CustomerObjects").map(|(_, _, r)| r.clone()).unwrap_or_default();
    assert_eq!(objects, BTreeSet::from([format!("arn:aws:s3:::berth-reports/{customer}/*")]));
    let reports_port = berth_domain::catalog::Catalog::builtin().service("reports").and_then(|(_, s)| s.port).map(i32::from);
    let opened = ingress(&h, customer).await;
    assert!(reports_port.is_some_and(|p| opened.contains(&p)), "{opened:?}");

    // The update that removes the product: its data, image and port are out of reach.
    let update = request(customer, "iso-s2");
    let u = h.run("berth-update", &update, &format!("{customer}_iso-s2")).await;
    assert_eq!(u.status, "SUCCEEDED", "{:?} {:?}", u.error, u.cause);
    let after = policy(&h, &name).await;
    assert_eq!(sids(&after), ["RegistryLogin", "PullImages", "WriteLogs", "ReadSecrets"]);
    let images = after.iter().find(|(s, _, _)| s == "PullImages").map(|(_, _, r)| r.clone()).unwrap_or_default();
    assert!(images.iter().all(|r| r.contains(":repository/webapp/")), "{images:?}");
    assert_eq!(ingress(&h, customer).await, BTreeSet::from([3000, 3001]));

    let off = h.run("berth-offboard", &Harness::lifecycle_request(customer, "iso-s3", json!({})), &format!("{customer}_iso-s3")).await;
    assert_eq!(off.status, "SUCCEEDED", "{:?} {:?}", off.error, off.cause);
    let inv = h.inventory(customer).await;
    assert!(inv.role.is_none() && inv.security_groups.is_empty(), "{:?}", inv.leftovers());
}
