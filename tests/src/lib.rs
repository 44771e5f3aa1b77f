//! The harness of berth's integration and end-to-end suites. They run against the local
//! stack `make test` starts (`BERTH_STACK_DIR`, default `.local/test`) and assert on what
//! exists in the emulator afterwards, listed here per customer.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use berth_domain::access;
use berth_domain::catalog::{Catalog, ProductHost};
use berth_domain::events;
use berth_domain::lifecycle::Operation;
use berth_domain::naming;
use berth_local::runner::{self, Report};
use berth_local::stack::{self, Stack};
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub struct Harness {
    pub stack: Stack,
    /// Where the stack's files are (the events the suites saw are written under it).
    pub dir: PathBuf,
    pub sqs: aws_sdk_sqs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub route53: aws_sdk_route53::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
}

/// Everything in the emulator that belongs to one customer.
#[derive(Debug, Default)]
pub struct Inventory {
    pub target_groups: Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup>,
    pub rules: Vec<aws_sdk_elasticloadbalancingv2::types::Rule>,
    pub task_definitions: Vec<String>,
    pub services: Vec<aws_sdk_ecs::types::Service>,
    pub log_groups: Vec<aws_sdk_cloudwatchlogs::types::LogGroup>,
    pub records: Vec<aws_sdk_route53::types::ResourceRecordSet>,
    /// The customer's own IAM role, by its name.
    pub role: Option<aws_sdk_iam::types::Role>,
    /// The customer's own security groups in the cluster's VPC: by its name, or tagged for it.
    pub security_groups: Vec<aws_sdk_ec2::types::SecurityGroup>,
    pub customer_item: Option<HashMap<String, AttributeValue>>,
    pub host_claim: Option<HashMap<String, AttributeValue>>,
    /// The claims of the customer's products' own hosts (either form).
    pub product_host_claims: Vec<String>,
    pub priority_claims: Vec<u32>,
    /// Resource ledger entries (`RESOURCE#...` items of the customer).
    pub ledger: Vec<String>,
    /// Everything in the emulator tagged `berth:customer` = the customer, found by tag
    /// rather than by name: target groups, listener rules, services, ACTIVE task
    /// definitions and log groups.
    pub tagged: Vec<String>,
}

impl Inventory {
    /// What is left of a customer whose onboarding failed: every resource, the host claim,
    /// priority claims and ledger entries (the customer record itself stays, FAILED).
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        left.extend(self.target_groups.iter().map(|t| format!("target group {}", t.target_group_name().unwrap_or_default())));
        left.extend(self.rules.iter().map(|r| format!("rule {}", r.rule_arn().unwrap_or_default())));
        left.extend(self.task_definitions.iter().map(|t| format!("task definition {t}")));
        left.extend(
            self.services
                .iter()
                .filter(|s| s.status() == Some("ACTIVE"))
                .map(|s| format!("service {}", s.service_name().unwrap_or_default())),
        );
        left.extend(self.log_groups.iter().map(|g| format!("log group {}", g.log_group_name().unwrap_or_default())));
        left.extend(self.records.iter().map(|r| format!("record {} {}", r.name(), r.r#type().as_str())));
        left.extend(self.role.iter().map(|r| format!("role {}", r.role_name())));
        left.extend(self.security_groups.iter().map(|g| format!("security group {}", g.group_id().unwrap_or_default())));
        if self.host_claim.is_some() {
            left.push("host claim".into());
        }
        left.extend(self.product_host_claims.iter().map(|h| format!("host claim {h}")));
        left.extend(self.priority_claims.iter().map(|p| format!("priority {p}")));
        left.extend(self.ledger.iter().map(|e| format!("ledger {e}")));
        left.extend(self.tagged.iter().map(|e| format!("tagged {e}")));
        left
    }

    pub fn is_empty(&self) -> bool {
        self.target_groups.is_empty()
            && self.rules.is_empty()
            && self.task_definitions.is_empty()
            && self.services.iter().all(|s| s.status() != Some("ACTIVE"))
            && self.log_groups.is_empty()
            && self.records.is_empty()
            && self.role.is_none()
            && self.security_groups.is_empty()
            && self.customer_item.is_none()
            && self.host_claim.is_none()
            && self.product_host_claims.is_empty()
            && self.priority_claims.is_empty()
    }

    pub fn attr(&self, name: &str) -> Option<String> {
        match self.customer_item.as_ref()?.get(name)? {
            AttributeValue::S(s) => Some(s.clone()),
            AttributeValue::N(n) => Some(n.clone()),
            _ => None,
        }
    }
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = std::env::var("BERTH_STACK_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join(".local/test"));
        let dir = if dir.is_absolute() { dir } else { root().join(dir) };
        let stack = stack::load(&dir).unwrap_or_else(|e| panic!("these suites run against the local stack (make test): {e}"));
        let sdk = berth_local::observer_config(&stack.endpoint).await;
        Harness {
            dir,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            route53: aws_sdk_route53::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            ec2: aws_sdk_ec2::Client::new(&sdk),
            stack,
        }
    }

    /// The sample request (`events/onboard.json`) for another customer.
    pub fn request(customer: &str) -> Value {
        let text = std::fs::read_to_string(root().join("events/onboard.json")).expect("events/onboard.json");
        // The sample's secret references are acme's: the customer's own, by their names.
        let text = text.replace(":secret:acme/", &format!(":secret:{customer}/"));
        let mut v: Value = serde_json::from_str(&text).expect("events/onboard.json is JSON");
        v["customer_id"] = Value::String(customer.to_string());
        v
    }

    pub fn host(&self, customer: &str) -> String {
        naming::host(customer, &self.stack.infra.domain)
    }

    /// Every host the customer may be served at: its own, and each own-host product's of the
    /// catalog in either form.
    pub fn hosts(&self, customer: &str) -> Vec<String> {
        let domain = &self.stack.infra.domain;
        let mut hosts = vec![self.host(customer)];
        for (p, _) in Catalog::builtin().products.iter().filter(|(_, prod)| prod.host == ProductHost::Own) {
            hosts.extend(naming::HostForm::ALL.iter().map(|f| f.product_host(p, customer, domain)));
        }
        hosts
    }

    /// Runs an onboarding to its end.
    pub async fn onboard(&self, request: &Value) -> Report {
        let report =
            runner::run(&self.stack, &self.stack.state_machine_arn, request, None, Duration::from_secs(300)).await.expect("execution ran");
        self.outcome(&report).await;
        report
    }

    pub async fn onboard_named(&self, request: &Value, name: &str) -> Report {
        let report = runner::run(&self.stack, &self.stack.state_machine_arn, request, Some(name), Duration::from_secs(300))
            .await
            .expect("execution ran");
        self.outcome(&report).await;
        report
    }

    /// Every event berth put on its bus that reached the portal's queue so far, in the
    /// envelope EventBridge delivers (read from the queue once, kept for every test of the
    /// suite, and written to `<stack dir>/emitted/` for the schema check after the suites).
    pub async fn emitted(&self) -> Vec<Value> {
        static SEEN: OnceLock<tokio::sync::Mutex<Vec<Value>>> = OnceLock::new();
        self.drain(&self.stack.infra.portal_queue_url, "", &SEEN).await
    }

    /// Every answer berth put on SBT's bus that reached SBT's control-plane queue so far
    /// (kept and written as [`Harness::emitted`] keeps and writes berth's events).
    pub async fn sbt_answers(&self) -> Vec<Value> {
        static SEEN: OnceLock<tokio::sync::Mutex<Vec<Value>>> = OnceLock::new();
        self.drain(&self.stack.infra.sbt_queue_url, "sbt-", &SEEN).await
    }

    /// Reads a queue of EventBridge deliveries empty: each event is added to `seen` (the
    /// suite's) and written to `<stack dir>/emitted/<prefix><pid>.jsonl`; returns them all.
    async fn drain(&self, url: &str, prefix: &str, seen: &OnceLock<tokio::sync::Mutex<Vec<Value>>>) -> Vec<Value> {
        let mut seen = seen.get_or_init(|| tokio::sync::Mutex::new(Vec::new())).lock().await;
        loop {
            let out = self.sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.expect("the queue");
            let messages = out.messages();
            if messages.is_empty() {
                break;
            }
            let dir = self.dir.join("emitted");
            std::fs::create_dir_all(&dir).expect("emitted events' folder");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{prefix}{}.jsonl", std::process::id())))
                .expect("emitted events' file");
            let mut done = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                let body = m.body().unwrap_or_default();
                let event: Value =
                    serde_json::from_str(body).unwrap_or_else(|e| panic!("{url} holds something that is not JSON ({e}): {body}"));
                writeln!(file, "{event}").expect("emitted event written");
                seen.push(event);
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("delete entry");
                done.push(entry);
            }
            self.sqs.delete_message_batch().queue_url(url).set_entries(Some(done)).send().await.expect("deleted");
        }
        seen.clone()
    }

    /// The events about one execution.
    pub async fn events_of(&self, execution_arn: &str) -> Vec<Value> {
        self.emitted().await.into_iter().filter(|e| e["detail"]["execution"] == execution_arn).collect()
    }

    /// The progress events of an execution, in the order its steps ended.
    pub async fn progress_of(&self, execution_arn: &str) -> Vec<Value> {
        let mut p: Vec<Value> = self.events_of(execution_arn).await.into_iter().filter(|e| e["detail-type"] == events::PROGRESS).collect();
        p.sort_by_key(|e| e["detail"]["elapsed_ms"].as_i64().unwrap_or_default());
        p
    }

    /// The one outcome event of an execution of a customer machine, checked against how the
    /// execution ended: its detail-type names the machine and the outcome, it comes from
    /// berth's source, and it says whether the customer's record was written. Every
    /// execution the harness runs or follows is checked (a rollout's are not: it has none).
    pub async fn outcome(&self, report: &Report) -> Value {
        // arn:aws:states:<region>:<account>:execution:<machine>:<name>
        let machine = report.execution_arn.split(':').nth(6).unwrap_or_default();
        let op = match machine.strip_prefix("berth-") {
            Some("onboard") => None,
            Some("rollout") => return Value::Null,
            Some(other) => Some(Operation::ALL.into_iter().find(|o| o.name() == other).unwrap_or_else(|| panic!("no operation {other}"))),
            None => panic!("not one of berth's machines: {}", report.execution_arn),
        };
        let events: Vec<Value> =
            self.events_of(&report.execution_arn).await.into_iter().filter(|e| e["detail-type"] != events::PROGRESS).collect();
        assert_eq!(events.len(), 1, "{}: {} outcome events, not one: {events:#?}", report.execution_arn, events.len());
        let e = events.into_iter().next().unwrap_or_default();
        let succeeded = report.status == "SUCCEEDED";
        assert_eq!(e["detail-type"], events::outcome(op, succeeded), "{}: {e}", report.execution_arn);
        assert_eq!(e["source"], self.stack.infra.event_source.as_str());
        assert_eq!(e["detail"]["version"], events::VERSION);
        assert_eq!(e["detail"]["operation"], events::operation(op));
        assert_eq!(e["detail"]["outcome"], if succeeded { "succeeded" } else { "failed" });
        if !succeeded {
            assert_eq!(e["detail"]["error"].as_str(), report.error.as_deref(), "{e}");
        }
        e
    }

    /// Runs an execution of one of berth's state machines (`berth-suspend`, ...) to its end,
    /// named `name` (the caller's key).
    pub async fn run(&self, machine: &str, input: &Value, name: &str) -> Report {
        let arn = self.stack.infra.state_machine(machine);
        assert!(!arn.is_empty(), "the local stack has no state machine {machine}");
        let report = runner::run(&self.stack, arn, input, Some(name), Duration::from_secs(300)).await.expect("execution ran");
        self.outcome(&report).await;
        report
    }

    /// A lifecycle request (`events/<operation>.json`'s shape) for `customer`.
    pub fn lifecycle_request(customer: &str, key: &str, extra: Value) -> Value {
        let mut r = serde_json::json!({ "customer_id": customer, "idempotency_key": key });
        if let (Some(r), Value::Object(extra)) = (r.as_object_mut(), extra) {
            r.extend(extra);
        }
        r
    }

    /// The customer's history entries (`HISTORY#` items), as JSON, oldest first.
    pub async fn history(&self, customer: &str) -> Vec<Value> {
        let out = self
            .dynamodb
            .query()
            .table_name(&self.stack.infra.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :h)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("CUSTOMER#{customer}")))
            .expression_attribute_values(":h", AttributeValue::S("HISTORY#".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("history");
        let mut entries: Vec<Value> = out
            .items()
            .iter()
            .filter_map(|i| i.get("entry").and_then(|v| v.as_s().ok()).and_then(|s| serde_json::from_str(s).ok()))
            .collect();
        entries.sort_by_key(|e: &Value| e["at"].as_str().unwrap_or_default().to_string());
        entries
    }

    /// The customer record's state (one GetItem), or "" when there is none.
    pub async fn customer_state(&self, customer: &str) -> String {
        let key = HashMap::from([
            ("pk".to_string(), AttributeValue::S(format!("CUSTOMER#{customer}"))),
            ("sk".to_string(), AttributeValue::S("PROFILE".into())),
        ]);
        let out = self.dynamodb.get_item().table_name(&self.stack.infra.table).set_key(Some(key)).consistent_read(true).send().await;
        out.ok().and_then(|o| o.item).and_then(|i| i.get("state").and_then(|s| s.as_s().ok()).cloned()).unwrap_or_default()
    }

    /// Waits (up to 30 s) until the customer record is in `state`.
    pub async fn wait_for_state(&self, customer: &str, state: &str) {
        for _ in 0..1500 {
            if self.customer_state(customer).await == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{customer} never became {state}");
    }

    /// Each of the customer's ECS services' desired count, by name.
    pub async fn desired_counts(&self, customer: &str) -> std::collections::BTreeMap<String, i32> {
        self.inventory(customer)
            .await
            .services
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .map(|s| (s.service_name().unwrap_or_default().to_string(), s.desired_count()))
            .collect()
    }

    /// Each of the customer's services (ACTIVE or not) with the task definition it runs, as
    /// ECS has them.
    pub async fn running(&self, customer: &str) -> Vec<(aws_sdk_ecs::types::Service, aws_sdk_ecs::types::TaskDefinition)> {
        let mut out = Vec::new();
        for s in self.inventory(customer).await.services {
            let td = self
                .ecs
                .describe_task_definition()
                .task_definition(s.task_definition().unwrap_or_default())
                .send()
                .await
                .expect("task definition");
            if let Some(td) = td.task_definition() {
                out.push((s.clone(), td.clone()));
            }
        }
        out
    }

    /// Invokes one Lambda directly through the router: (function error, payload).
    pub async fn invoke(&self, function: &str, payload: &Value) -> (bool, Value) {
        self.invoke_raw(function, payload.to_string()).await
    }

    /// Invokes one Lambda with a body of raw JSON text (which may be deeper than a JSON
    /// value in memory can be): (function error, payload).
    pub async fn invoke_raw(&self, function: &str, body: String) -> (bool, Value) {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.stack.endpoint);
        let r =
            berth_local::http::send(hyper::Method::POST, &url, &[("content-type", "application/json".into())], body).await.expect("invoke");
        assert_eq!(r.status, 200, "{function}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::String(r.body.clone()));
        (v.get("errorType").is_some(), v)
    }

    /// Lists what exists in the emulator for `customer`.
    pub async fn inventory(&self, customer: &str) -> Inventory {
        let catalog = Catalog::builtin();
        let services: Vec<String> = catalog.products.values().flat_map(|p| p.services.keys().cloned()).collect();
        let infra = &self.stack.infra;
        let host = self.host(customer);
        let hosts = self.hosts(customer);
        let mut inv = Inventory::default();

        for s in &services {
            let name = naming::target_group_name(&infra.name_prefix, customer, s);
            if let Ok(out) = self.elb.describe_target_groups().names(&name).send().await {
                inv.target_groups.extend(out.target_groups().iter().cloned());
            }
        }
        for alb in &infra.albs {
            let mut marker = None;
            loop {
                let out = self.elb.describe_rules().listener_arn(&alb.listener_arn).set_marker(marker.take()).send().await.expect("rules");
                for r in out.rules() {
                    let rule_hosts: Vec<String> = r
                        .conditions()
                        .iter()
                        .filter(|c| c.field() == Some("host-header"))
                        .flat_map(|c| c.host_header_config().map(|h| h.values().to_vec()).unwrap_or_else(|| c.values().to_vec()))
                        .collect();
                    if rule_hosts.iter().any(|h| hosts.contains(h)) {
                        inv.rules.push(r.clone());
                    }
                }
                match out.next_marker() {
                    Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                    _ => break,
                }
            }
        }
        for s in &services {
            let family = naming::task_family(&infra.name_prefix, customer, s);
            let out = self.ecs.list_task_definitions().family_prefix(&family).send().await.expect("task definitions");
            inv.task_definitions.extend(
                out.task_definition_arns()
                    .iter()
                    .filter(|a| a.rsplit('/').next().and_then(|x| x.split(':').next()) == Some(family.as_str()))
                    .cloned(),
            );
        }
        let names: Vec<String> = services.iter().map(|s| naming::ecs_service_name(&infra.name_prefix, customer, s)).collect();
        let out = self.ecs.describe_services().cluster(&infra.cluster).set_services(Some(names)).send().await.expect("services");
        inv.services = out.services().to_vec();
        let group = naming::log_group_name(&infra.name_prefix, customer);
        let out = self.logs.describe_log_groups().log_group_name_prefix(&group).send().await.expect("log groups");
        inv.log_groups = out.log_groups().iter().filter(|g| g.log_group_name() == Some(group.as_str())).cloned().collect();
        let out = self.route53.list_resource_record_sets().hosted_zone_id(&infra.hosted_zone_id).send().await.expect("records");
        inv.records =
            out.resource_record_sets().iter().filter(|r| hosts.iter().any(|h| r.name().trim_end_matches('.') == h)).cloned().collect();

        inv.role = self.role(customer).await;
        inv.security_groups = self.security_groups(customer).await;

        let key = |pk: String, sk: &str| {
            HashMap::from([("pk".to_string(), AttributeValue::S(pk)), ("sk".to_string(), AttributeValue::S(sk.to_string()))])
        };
        inv.customer_item = self
            .dynamodb
            .get_item()
            .table_name(&infra.table)
            .set_key(Some(key(format!("CUSTOMER#{customer}"), "PROFILE")))
            .consistent_read(true)
            .send()
            .await
            .expect("customer item")
            .item;
        let claim = |h: String| self.dynamodb.get_item().table_name(&infra.table).set_key(Some(key(format!("HOST#{h}"), "CLAIM"))).send();
        inv.host_claim = claim(host.clone()).await.expect("host claim").item;
        for h in hosts.iter().filter(|h| **h != host) {
            if claim(h.clone()).await.expect("host claim").item.is_some() {
                inv.product_host_claims.push(h.clone());
            }
        }
        inv.priority_claims = self.priority_claims().await.into_iter().filter(|(_, c)| c == customer).map(|(p, _)| p).collect();
        let out = self
            .dynamodb
            .query()
            .table_name(&infra.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :r)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("CUSTOMER#{customer}")))
            .expression_attribute_values(":r", AttributeValue::S("RESOURCE#".into()))
            .send()
            .await
            .expect("ledger");
        inv.ledger = out.items().iter().filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned()).collect();
        inv.tagged = self.tagged(customer).await;
        inv
    }

    /// The customer's own role, by the name berth gives it.
    pub async fn role(&self, customer: &str) -> Option<aws_sdk_iam::types::Role> {
        let name = access::role_name(&self.stack.infra.name_prefix, customer);
        match self.iam.get_role().role_name(&name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => None,
            Err(e) => panic!("GetRole {name}: {e:?}"),
        }
    }

    /// The customer's own security groups in the cluster's VPC: the one of its name, and any
    /// tagged for it.
    pub async fn security_groups(&self, customer: &str) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
        use aws_sdk_ec2::types::Filter;
        let infra = &self.stack.infra;
        let name = access::security_group_name(&infra.name_prefix, customer);
        let vpc = Filter::builder().name("vpc-id").values(&infra.vpc_id).build();
        let by_name = self
            .ec2
            .describe_security_groups()
            .filters(vpc.clone())
            .filters(Filter::builder().name("group-name").values(&name).build())
            .send()
            .await
            .expect("security groups by name");
        let by_tag = self
            .ec2
            .describe_security_groups()
            .filters(vpc)
            .filters(Filter::builder().name(format!("tag:{}", naming::TAG_CUSTOMER)).values(customer).build())
            .send()
            .await
            .expect("security groups by tag");
        let mut groups: Vec<aws_sdk_ec2::types::SecurityGroup> = by_name.security_groups().to_vec();
        for g in by_tag.security_groups() {
            if !groups.iter().any(|x| x.group_id() == g.group_id()) {
                groups.push(g.clone());
            }
        }
        groups
    }

    /// Every resource in the emulator tagged `berth:customer` = `customer`.
    pub async fn tagged(&self, customer: &str) -> Vec<String> {
        let infra = &self.stack.infra;
        let ours = |k: Option<&str>, v: Option<&str>| k == Some(naming::TAG_CUSTOMER) && v == Some(customer);
        let mut found = Vec::new();
        let mut elb_arns: Vec<String> = Vec::new();
        let tgs = self.elb.describe_target_groups().send().await.expect("target groups");
        elb_arns.extend(tgs.target_groups().iter().filter_map(|t| t.target_group_arn()).map(str::to_string));
        for alb in &infra.albs {
            let rules = self.elb.describe_rules().listener_arn(&alb.listener_arn).send().await.expect("rules");
            elb_arns
                .extend(rules.rules().iter().filter(|r| !r.is_default().unwrap_or(false)).filter_map(|r| r.rule_arn()).map(str::to_string));
        }
        for chunk in elb_arns.chunks(20) {
            let out = self.elb.describe_tags().set_resource_arns(Some(chunk.to_vec())).send().await.expect("elb tags");
            for d in out.tag_descriptions() {
                if d.tags().iter().any(|t| ours(t.key(), t.value())) {
                    found.push(d.resource_arn().unwrap_or_default().to_string());
                }
            }
        }
        let services = self.ecs.list_services().cluster(&infra.cluster).max_results(100).send().await.expect("services");
        for chunk in services.service_arns().chunks(10) {
            let out = self
                .ecs
                .describe_services()
                .cluster(&infra.cluster)
                .set_services(Some(chunk.to_vec()))
                .include(aws_sdk_ecs::types::ServiceField::Tags)
                .send()
                .await
                .expect("describe services");
            for s in out.services() {
                if s.status() == Some("ACTIVE") && s.tags().iter().any(|t| ours(t.key(), t.value())) {
                    found.push(s.service_arn().unwrap_or_default().to_string());
                }
            }
        }
        let families = self.ecs.list_task_definitions().send().await.expect("task definitions");
        for arn in families.task_definition_arns() {
            // Another test may delete it between the list and the look: then it is gone.
            let Ok(out) = self
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send()
                .await
            else {
                continue;
            };
            if out.tags().iter().any(|t| ours(t.key(), t.value())) {
                found.push(arn.clone());
            }
        }
        let groups =
            self.logs.describe_log_groups().log_group_name_prefix(format!("/{}/", infra.name_prefix)).send().await.expect("log groups");
        for g in groups.log_groups() {
            let arn = g.arn().unwrap_or_default().trim_end_matches(":*").to_string();
            let Ok(tags) = self.logs.list_tags_for_resource().resource_arn(&arn).send().await else { continue };
            if tags.tags().is_some_and(|m| m.get(naming::TAG_CUSTOMER).map(String::as_str) == Some(customer)) {
                found.push(arn);
            }
        }
        found
    }

    /// Sets the router's faults (see `berth_local::faults`).
    pub async fn set_faults(&self, plan: Value) {
        let plan: berth_local::router::FaultPlan = serde_json::from_value(plan).expect("a fault plan");
        berth_local::router::set_faults(&self.stack.endpoint, &plan).await.expect("faults set");
    }

    pub async fn clear_faults(&self) {
        berth_local::router::set_faults(&self.stack.endpoint, &Default::default()).await.expect("faults cleared");
    }

    /// Calls of each fault so far: (seen by operation, injected).
    pub async fn fault_counts(&self) -> berth_local::faults::Faults {
        berth_local::router::faults(&self.stack.endpoint).await.expect("faults")
    }

    /// Sends a request to the intake Lambda, as the portal does.
    pub async fn intake(&self, request: &Value) -> Value {
        let (err, out) = self.invoke("berth-intake", request).await;
        assert!(!err, "intake refused: {out}");
        out
    }

    /// Follows a running execution to its end.
    pub async fn follow(&self, execution_arn: &str) -> Report {
        let report = runner::follow(&self.stack, execution_arn, Duration::from_secs(300)).await.expect("execution followed");
        self.outcome(&report).await;
        report
    }

    /// A target group and a rule made by hand, outside berth, at `priority` on `listener_arn`
    /// for `host`; returns the rule's ARN.
    pub async fn rule_by_hand(&self, target_group: &str, listener_arn: &str, priority: u32, host: &str) -> String {
        use berth_adapters::ports::{ListenerRules, TargetGroups};
        let elb = berth_adapters::aws::ElbApi::new(self.elb.clone());
        let tg = match TargetGroups::find(&elb, target_group).await.expect("target group lookup") {
            Some(tg) => tg,
            None => TargetGroups::create(
                &elb,
                &berth_adapters::model::TargetGroupSpec {
                    name: target_group.into(),
                    port: 80,
                    vpc_id: self.stack.infra.vpc_id.clone(),
                    health_check_path: "/".into(),
                    tags: Default::default(),
                },
            )
            .await
            .expect("target group made by hand"),
        };
        let spec = berth_adapters::model::RuleSpec {
            listener_arn: listener_arn.into(),
            priority,
            host: host.into(),
            also: Vec::new(),
            path_patterns: vec![],
            target_group_arn: tg.arn,
            tags: Default::default(),
        };
        ListenerRules::create(&elb, &spec).await.expect("rule made by hand").arn
    }

    /// Every priority claim in the table: (priority, customer).
    pub async fn priority_claims(&self) -> Vec<(u32, String)> {
        let mut claims = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb
                .scan()
                .table_name(&self.stack.infra.table)
                .filter_expression("begins_with(sk, :p)")
                .expression_attribute_values(":p", AttributeValue::S("PRIORITY#".into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            for item in out.items() {
                let p = item.get("priority").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
                let c = item.get("customer_id").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                claims.push((p, c));
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        claims
    }
}
