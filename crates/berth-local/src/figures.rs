//! `make bench`: the pipeline's figures, measured on the local stack and printed side by
//! side, then written to `docs/benchmarks.md`. Every count comes from the router (API calls,
//! invocations, latencies) or from the emulator afterwards (executions, rules, claims), not
//! from berth's own account of what it did.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, HostHeaderConditionConfig, ProtocolEnum, RuleCondition,
};
use aws_sdk_sfn::types::ExecutionStatus;
use berth_adapters::aws::{DynamoRegistry, ElbApi};
use berth_adapters::ports::ListenerRules;
use berth_domain::naming;
use hyper::Method;
use serde_json::Value;

use crate::router::{self, Stats};
use crate::runner::{self, Report};
use crate::stack::Stack;
use crate::{Result, OBSERVER_ACCESS_KEY, REGION};

/// Published us-east-1 prices (USD) the cost per onboarding is computed with.
pub mod price {
    /// Step Functions Standard workflows: $0.025 per 1,000 state transitions.
    pub const STATE_TRANSITION: f64 = 0.025 / 1000.0;
    /// Lambda: $0.20 per 1M requests.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1_000_000.0;
    /// Lambda on arm64 (Graviton2), first pricing tier: $0.0000133334 per GB-second.
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// The functions' memory size (template.yaml, Globals), in MB.
    pub const MEMORY_MB: f64 = 256.0;
}

/// The median of sorted values (the lower middle for an even count).
pub fn median(sorted: &[u64]) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() - 1) / 2]
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// The onboarding example, for another customer.
pub fn onboarding_input(root: &Path, customer: &str) -> Result<Value> {
    // Its secret references are acme's: the customer's own, by their names.
    let text = std::fs::read_to_string(root.join("events/onboard.json"))?.replace(":secret:acme/", &format!(":secret:{customer}/"));
    let mut input: Value = serde_json::from_str(&text)?;
    input["customer_id"] = Value::String(customer.to_string());
    input["idempotency_key"] = Value::String(format!("bench-{customer}"));
    if let Some(name) = input.get_mut("display_name") {
        *name = Value::String(format!("Bench {customer}"));
    }
    Ok(input)
}

/// Sequential onboardings of distinct customers, each followed to its end.
pub struct Pipeline {
    pub reports: Vec<Report>,
    /// Latency of each function's invocations during the runs (µs), through the router.
    pub latencies: BTreeMap<String, Vec<u64>>,
}

impl Pipeline {
    pub fn durations(&self) -> Vec<u64> {
        sorted(self.reports.iter().map(|r| r.execution_ms).collect())
    }
    /// Times the health check had to wait (an AWS-side wait): 0 locally.
    pub fn waits(&self) -> usize {
        self.reports.iter().map(|r| r.steps.iter().filter(|s| s.state == "WaitForHealth").count()).sum()
    }
    /// The API calls of the runs, when every run made the same ones.
    pub fn calls(&self) -> std::result::Result<&BTreeMap<String, u64>, String> {
        let first = &self.reports.first().ok_or("no runs")?.api_calls;
        match self.reports.iter().position(|r| &r.api_calls != first) {
            None => Ok(first),
            Some(i) => Err(format!("run {i} made other calls: {:?} vs {first:?}", self.reports[i].api_calls)),
        }
    }
    pub fn transitions(&self) -> (usize, usize) {
        let t: Vec<usize> = self.reports.iter().map(|r| r.transitions).collect();
        (t.iter().copied().min().unwrap_or(0), t.iter().copied().max().unwrap_or(0))
    }
    pub fn invocations(&self) -> u64 {
        self.reports.first().map_or(0, |r| r.invocations.values().sum())
    }
    /// Median time in each state, in the order the states ran.
    pub fn step_medians(&self) -> Vec<(String, u64)> {
        let mut order: Vec<String> = Vec::new();
        let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for r in &self.reports {
            for s in &r.steps {
                if !order.contains(&s.state) {
                    order.push(s.state.clone());
                }
                times.entry(s.state.clone()).or_default().push(s.ms);
            }
        }
        order.into_iter().map(|s| (s.clone(), median(&sorted(times.remove(&s).unwrap_or_default())))).collect()
    }
    /// Cost per onboarding at the published prices: (Step Functions, Lambda requests,
    /// Lambda duration), with each invocation billed at its median local latency.
    pub fn cost(&self) -> (f64, f64, f64) {
        let (_, transitions) = self.transitions();
        let sfn = transitions as f64 * price::STATE_TRANSITION;
        let invocations = self.invocations() as f64;
        let mut gb_seconds = 0.0;
        if let Some(r) = self.reports.first() {
            for (function, count) in &r.invocations {
                let ms = median(&sorted(self.latencies.get(function).cloned().unwrap_or_default())) as f64 / 1000.0;
                gb_seconds += *count as f64 * ms.ceil() / 1000.0 * price::MEMORY_MB / 1024.0;
            }
        }
        (sfn, invocations * price::LAMBDA_REQUEST, gb_seconds * price::LAMBDA_ARM_GB_SECOND)
    }
}

pub async fn pipeline(stack: &Stack, root: &Path, runs: u32, prefix: &str) -> Result<Pipeline> {
    let before: Stats = router::stats(&stack.endpoint).await?;
    let mut reports = Vec::new();
    for i in 0..runs {
        let customer = format!("{prefix}-{i:02}");
        let input = onboarding_input(root, &customer)?;
        let name = naming::execution_name(&customer, &format!("bench-{customer}"));
        let r = runner::run(stack, &stack.state_machine_arn, &input, Some(&name), Duration::from_secs(600)).await?;
        if r.status != "SUCCEEDED" {
            return Err(format!("onboarding {customer} ended {}: {:?} {:?}", r.status, r.error, r.cause).into());
        }
        reports.push(r);
    }
    let after: Stats = router::stats(&stack.endpoint).await?;
    let latencies = after.invocation_us.keys().map(|f| (f.clone(), after.latencies_since(&before, f))).collect();
    Ok(Pipeline { reports, latencies })
}

/// Onboardings of one product on a host of its own (`shop`) against three (`shop`, `books`,
/// `crm`), `runs` of each, alternating: median execution duration, state transitions and
/// AWS API calls by service, as a markdown table.
pub async fn products(stack: &Stack, root: &Path, runs: u32) -> Result<String> {
    let catalog = berth_domain::catalog::Catalog::builtin();
    let sets: [&[&str]; 2] = [&["shop"], &["shop", "books", "crm"]];
    let mut reports: Vec<Vec<Report>> = vec![Vec::new(), Vec::new()];
    for i in 0..runs {
        for (k, products) in sets.iter().enumerate() {
            let customer = format!("prod{}-{i:02}", products.len());
            let mut input = onboarding_input(root, &customer)?;
            input["products"] = serde_json::json!(products);
            let mut services = serde_json::Map::new();
            for p in *products {
                for svc in catalog.products[*p].services.keys() {
                    services.insert(svc.clone(), serde_json::json!({ "image_tag": "1.0.0", "desired_count": 1 }));
                }
            }
            input["services"] = Value::Object(services);
            let name = naming::execution_name(&customer, &format!("bench-{customer}"));
            let r = runner::run(stack, &stack.state_machine_arn, &input, Some(&name), Duration::from_secs(600)).await?;
            if r.status != "SUCCEEDED" {
                return Err(format!("onboarding {customer} ended {}: {:?} {:?}", r.status, r.error, r.cause).into());
            }
            reports[k].push(r);
        }
    }
    let mut out = format!(
        "Onboarding products on hosts of their own ({runs} runs each, alternating; durations from the executions' dates, API calls counted at the router):\n\n| products | hosts | median | max | state transitions | AWS API calls | by service |\n|---|---|---|---|---|---|---|\n"
    );
    for (k, products) in sets.iter().enumerate() {
        let d = sorted(reports[k].iter().map(|r| r.execution_ms).collect());
        let calls: BTreeSet<u64> = reports[k].iter().map(Report::api_total).collect();
        let transitions: BTreeSet<usize> = reports[k].iter().map(|r| r.transitions).collect();
        let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
        if let Some(r) = reports[k].first() {
            for (call, n) in &r.api_calls {
                *by_service.entry(call.split(':').next().unwrap_or_default().to_string()).or_default() += n;
            }
        }
        let show = |v: &BTreeSet<u64>| v.iter().map(u64::to_string).collect::<Vec<_>>().join("/");
        out.push_str(&format!(
            "| {} | {} | {} ms | {} ms | {} | {} | {} |\n",
            products.join(", "),
            products.len(),
            median(&d),
            d.last().copied().unwrap_or_default(),
            transitions.iter().map(usize::to_string).collect::<Vec<_>>().join("/"),
            show(&calls),
            by_service.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(out)
}

/// One function invoked through the local endpoint: (latency in µs, whether it answered
/// with a function error, the payload).
pub async fn invoke(stack: &Stack, function: &str, payload: &str) -> Result<(u64, bool, String)> {
    let auth =
        format!("AWS4-HMAC-SHA256 Credential={OBSERVER_ACCESS_KEY}/20260101/{REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0");
    let url = format!("{}/2015-03-31/functions/{function}/invocations", stack.endpoint);
    let started = Instant::now();
    let r =
        crate::http::send(Method::POST, &url, &[("authorization", auth), ("content-type", "application/json".into())], payload.to_string())
            .await?;
    let us = started.elapsed().as_micros() as u64;
    let failed = r.status >= 300 || r.body.contains("\"errorType\"");
    Ok((us, failed, r.body))
}

/// The portal's side of the events: the intake's latency per request event through a local
/// invoke (µs, sorted), and the time from an outcome event's PutEvents to its arrival in the
/// portal's queue (µs, sorted).
pub struct PortalEvents {
    /// A new onboarding request event: validated, execution started.
    pub new_us: Vec<u64>,
    /// The same event delivered again: the execution found, nothing started.
    pub duplicate_us: Vec<u64>,
    /// An invalid request event: nothing started, a rejection put on the bus.
    pub rejected_us: Vec<u64>,
    /// PutEvents of an outcome event on berth's bus to ReceiveMessage of it from the
    /// portal's queue (through the bus's rule).
    pub delivery_us: Vec<u64>,
}

pub async fn portal_events(stack: &Stack, root: &Path, runs: u32) -> Result<PortalEvents> {
    let request = std::fs::read_to_string(root.join("events/bus/onboarding-requested.json"))?;
    let (mut new_us, mut duplicate_us, mut rejected_us) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        // The example's secret references are acme's: each customer's own, by their names.
        let mut event: Value = serde_json::from_str(&request.replace(":secret:acme/", &format!(":secret:ev-{i:02}/")))?;
        event["id"] = Value::String(format!("bench-event-{i}"));
        event["detail"]["customer_id"] = Value::String(format!("ev-{i:02}"));
        event["detail"]["idempotency_key"] = Value::String(format!("ev-{i}"));
        let (us, failed, body) = invoke(stack, "berth-intake", &event.to_string()).await?;
        let out: Value = serde_json::from_str(&body)?;
        if failed || out["started"] != Value::Bool(true) {
            return Err(format!("the intake did not start ev-{i:02}: {body}").into());
        }
        new_us.push(us);
        // Let it finish, so that the next figures do not share the machine with it.
        let arn = out["execution_arn"].as_str().unwrap_or_default().to_string();
        let r = runner::follow(stack, &arn, Duration::from_secs(300)).await?;
        if r.status != "SUCCEEDED" {
            return Err(format!("{arn} ended {}: {:?}", r.status, r.cause).into());
        }
        let (us, failed, body) = invoke(stack, "berth-intake", &event.to_string()).await?;
        if failed || !body.contains("\"started\":false") {
            return Err(format!("the same event again started something: {body}").into());
        }
        duplicate_us.push(us);
        event["detail"]["customer_id"] = Value::String(format!("Not Valid {i}"));
        let (us, failed, body) = invoke(stack, "berth-intake", &event.to_string()).await?;
        if failed || !body.contains("REJECTED") {
            return Err(format!("an invalid event was not rejected: {body}").into());
        }
        rejected_us.push(us);
    }

    let sdk = crate::observer_config(&stack.endpoint).await;
    let bridge = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = &stack.infra.portal_queue_url;
    let outcome: Value = serde_json::from_str(&std::fs::read_to_string(root.join("events/outcomes/onboarding-succeeded.json"))?)?;
    // Empty the queue of what the runs above put there first, untimed.
    loop {
        let got = sqs.receive_message().queue_url(queue).max_number_of_messages(10).send().await?;
        if got.messages().is_empty() {
            break;
        }
        for h in got.messages().iter().filter_map(|m| m.receipt_handle()) {
            sqs.delete_message().queue_url(queue).receipt_handle(h).send().await?;
        }
    }
    let mut delivery_us = Vec::new();
    for i in 0..runs {
        let marker = format!("bench-delivery-{i}");
        let mut detail = outcome["detail"].clone();
        detail["execution"] = Value::String(marker.clone());
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&stack.infra.bus)
            .source(&stack.infra.event_source)
            .detail_type(outcome["detail-type"].as_str().unwrap_or_default())
            .detail(detail.to_string())
            .build();
        let started = Instant::now();
        bridge.put_events().entries(entry).send().await?;
        'wait: loop {
            let got = sqs.receive_message().queue_url(queue).max_number_of_messages(10).send().await?;
            let mut found = false;
            for m in got.messages() {
                found |= m.body().is_some_and(|b| b.contains(&marker));
                if let Some(h) = m.receipt_handle() {
                    sqs.delete_message().queue_url(queue).receipt_handle(h).send().await?;
                }
            }
            if found {
                delivery_us.push(started.elapsed().as_micros() as u64);
                break 'wait;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("the outcome event {marker} never reached the portal's queue").into());
            }
        }
    }
    Ok(PortalEvents {
        new_us: sorted(new_us),
        duplicate_us: sorted(duplicate_us),
        rejected_us: sorted(rejected_us),
        delivery_us: sorted(delivery_us),
    })
}

impl PortalEvents {
    pub fn markdown(&self) -> String {
        let mut o = String::from(
            "\n## The portal's events\n\nThe intake with a request event exactly as EventBridge delivers it (`events/bus/onboarding-requested.json`,\n\
             one customer each), through a local invoke, each execution followed to its end before the next; the same event\n\
             again; an invalid one. Then an outcome event (`events/outcomes/onboarding-succeeded.json`) put on berth's bus and\n\
             read from the portal's queue behind the bus's rule, from PutEvents to ReceiveMessage.\n\n\
             | what | runs | median ms | p95 ms | max ms |\n|---|---|---|---|---|\n",
        );
        for (what, v) in [
            ("intake: a new request event (execution started)", &self.new_us),
            ("intake: the same event again (nothing started)", &self.duplicate_us),
            ("intake: an invalid event (rejection put on the bus)", &self.rejected_us),
            ("outcome event to the portal's queue", &self.delivery_us),
        ] {
            o.push_str(&format!(
                "| {what} | {} | {} | {} | {} |\n",
                v.len(),
                ms(median(v)),
                ms(percentile(v, 95.0)),
                ms(v.last().copied().unwrap_or(0))
            ));
        }
        o
    }
}

/// A function's latency through a local invoke.
pub struct HandlerLatency {
    pub function: String,
    /// The first invocation, which does the work.
    pub first_us: u64,
    /// Invoked again with the same input (nothing left to do): sorted.
    pub again_us: Vec<u64>,
    pub errors: usize,
}

/// Each Lambda invoked at the local endpoint, in the pipeline's order: each state of the
/// onboarding machine with the input its `Parameters` build from the state so far (the
/// request, then each result at its `ResultPath`), then rollback and fail on that state,
/// then intake with `events/onboard.json` (the execution it starts is followed to its end).
/// Each is invoked once more `repeats` times with the same input.
pub async fn handler_latencies(stack: &Stack, root: &Path, repeats: u32) -> Result<Vec<HandlerLatency>> {
    use berth_steps::pipeline::{self, INTAKE};
    let validate_event: Value = serde_json::from_str(&std::fs::read_to_string(root.join("events/validate.json"))?)?;
    let execution_id = validate_event.get("execution_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let onboard_event = std::fs::read_to_string(root.join("events/onboard.json"))?;
    let machine = pipeline::onboard();
    let definition = machine.definition();
    let mut state: Value = serde_json::from_str(&onboard_event)?;
    let mut out = Vec::new();
    let mut order: Vec<(String, Option<String>)> =
        machine.tasks().iter().map(|(state, step)| (step.binary(), Some(state.to_string()))).collect();
    order.push((INTAKE.binary(), None));
    for (binary, task_state) in order {
        let function = binary.as_str();
        let task = task_state.as_ref().map(|n| definition["States"][n].clone());
        if function == pipeline::ROLLBACK.binary() {
            state["error"] = serde_json::json!({"Error": "Berth.Internal", "Cause": "a failure the bench made up"});
        }
        let payload = match &task {
            Some(t) => pipeline::parameters(&t["Parameters"], &state, &execution_id)?.to_string(),
            None => onboard_event.clone(),
        };
        let (first_us, failed, body) = invoke(stack, function, &payload).await?;
        if failed {
            return Err(format!("{function} failed: {body}").into());
        }
        let answer: Value = serde_json::from_str(&body)?;
        if let Some(t) = &task {
            pipeline::apply_result(t, &mut state, answer.clone(), &execution_id)?;
        }
        if task.is_none() {
            if let Some(arn) = answer.get("execution_arn").and_then(Value::as_str) {
                let r = runner::follow(stack, arn, Duration::from_secs(600)).await?;
                if r.status != "SUCCEEDED" {
                    return Err(format!("the execution intake started ended {}: {:?}", r.status, r.cause).into());
                }
            }
        }
        let mut again = Vec::new();
        let mut errors = 0;
        for _ in 0..repeats {
            let (us, failed, _) = invoke(stack, function, &payload).await?;
            errors += usize::from(failed);
            again.push(us);
        }
        out.push(HandlerLatency { function: function.into(), first_us, again_us: sorted(again), errors });
    }
    Ok(out)
}

/// Many onboardings started at once.
pub struct Concurrent {
    pub started: usize,
    pub succeeded: usize,
    pub failed: Vec<String>,
    pub wall_s: f64,
    pub duplicate_priorities_on_listeners: usize,
    pub duplicate_priority_claims: usize,
    pub duplicate_hosts: usize,
    pub rules: usize,
    pub albs_used: usize,
}

pub async fn concurrent(stack: &Stack, root: &Path, count: u32) -> Result<Concurrent> {
    let sdk = crate::observer_config(&stack.endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..count {
        let customer = format!("conc-{i:03}");
        let input = onboarding_input(root, &customer)?;
        let name = naming::execution_name(&customer, &format!("bench-{customer}"));
        let req = sfn.start_execution().state_machine_arn(&stack.state_machine_arn).input(input.to_string()).name(name);
        tasks.push(tokio::spawn(async move { req.send().await.map(|o| o.execution_arn().to_string()) }));
    }
    let mut arns = Vec::new();
    for t in tasks {
        arns.push(t.await??);
    }
    // Until none is running: one listing per second.
    let deadline = Instant::now() + Duration::from_secs(3600);
    let executions = loop {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let out = sfn
                .list_executions()
                .state_machine_arn(&stack.state_machine_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await?;
            all.extend(out.executions().iter().filter(|e| e.name().starts_with("conc-")).cloned());
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        if all.len() >= arns.len() && all.iter().all(|e| *e.status() != ExecutionStatus::Running) {
            break all;
        }
        if Instant::now() > deadline {
            return Err("the concurrent onboardings did not end within an hour".into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let wall_s = started.elapsed().as_secs_f64();
    let succeeded = executions.iter().filter(|e| *e.status() == ExecutionStatus::Succeeded).count();
    let failed = executions.iter().filter(|e| *e.status() != ExecutionStatus::Succeeded).map(|e| e.name().to_string()).collect();

    // What the emulator holds afterwards: every rule on every listener, every claim.
    let elb = ElbApi::new(aws_sdk_elasticloadbalancingv2::Client::new(&sdk));
    let registry = DynamoRegistry::new(aws_sdk_dynamodb::Client::new(&sdk), stack.infra.table.clone());
    let mut duplicate_priorities_on_listeners = 0;
    let mut duplicate_priority_claims = 0;
    let mut hosts: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    let mut rules = 0;
    let mut albs_used = 0;
    for alb in &stack.infra.albs {
        let live = elb.list(&alb.listener_arn).await?;
        let customer_rules: Vec<_> = live.iter().filter(|r| r.hosts.iter().any(|h| h.starts_with("conc-"))).collect();
        rules += customer_rules.len();
        albs_used += usize::from(!customer_rules.is_empty());
        let priorities: Vec<u32> = live.iter().filter_map(|r| r.priority).collect();
        duplicate_priorities_on_listeners += priorities.len() - priorities.iter().collect::<BTreeSet<_>>().len();
        for r in customer_rules {
            for h in &r.hosts {
                let e = hosts.entry(h.clone()).or_default();
                e.0.insert(alb.listener_arn.clone());
                e.1 += 1;
            }
        }
        let claims = registry.claims(&alb.listener_arn).await?;
        duplicate_priority_claims += claims.len() - claims.iter().map(|(p, _, _)| *p).collect::<BTreeSet<_>>().len();
    }
    // A host is duplicated when it is routed on two listeners or by more rules than its plan has.
    let duplicate_hosts = hosts.values().filter(|(listeners, n)| listeners.len() > 1 || *n > 2).count();
    Ok(Concurrent {
        started: arns.len(),
        succeeded,
        failed,
        wall_s,
        duplicate_priorities_on_listeners,
        duplicate_priority_claims,
        duplicate_hosts,
        rules,
        albs_used,
    })
}

/// The naive allocator used elsewhere: page through DescribeRules, take the highest
/// priority + 1, create the rule there.
pub struct NaiveAllocator {
    pub client: aws_sdk_elasticloadbalancingv2::Client,
}

/// DescribeRules' largest page.
const NAIVE_PAGE: i32 = 400;

impl NaiveAllocator {
    /// The priority chosen, and whether the listener accepted a rule there.
    pub async fn allocate(&self, listener: &str, host: &str) -> Result<(u32, bool)> {
        let mut highest = 0u32;
        let mut marker: Option<String> = None;
        loop {
            let out = self.client.describe_rules().listener_arn(listener).page_size(NAIVE_PAGE).set_marker(marker.take()).send().await?;
            highest = out.rules().iter().filter_map(|r| r.priority()?.parse::<u32>().ok()).fold(highest, u32::max);
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        let priority = highest + 1;
        let created = self
            .client
            .create_rule()
            .listener_arn(listener)
            .priority(priority as i32)
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(HostHeaderConditionConfig::builder().values(host).build())
                    .build(),
            )
            .actions(fixed_response())
            .send()
            .await;
        match created {
            Ok(_) => Ok((priority, true)),
            Err(e) if aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&e) == Some("PriorityInUse") => {
                Ok((priority, false))
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn fixed_response() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(FixedResponseActionConfig::builder().status_code("200").content_type("text/plain").build())
        .build()
}

async fn elb_client(endpoint: &str, key: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&crate::local_config(endpoint, key).await)
}

/// A fresh ALB with an HTTP listener holding `rules` host rules at priorities 1..=rules.
async fn listener_with_rules(stack: &Stack, name: &str, rules: u32) -> Result<String> {
    let elb = elb_client(&stack.endpoint, OBSERVER_ACCESS_KEY).await;
    let lb = elb
        .create_load_balancer()
        .name(name)
        .set_subnets(Some(stack.infra.subnets.clone()))
        .security_groups(&stack.infra.alb_security_group)
        .send()
        .await?;
    let arn = lb.load_balancers().first().and_then(|l| l.load_balancer_arn()).ok_or("CreateLoadBalancer returned nothing")?.to_string();
    let listener = elb
        .create_listener()
        .load_balancer_arn(&arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(fixed_response())
        .send()
        .await?;
    let listener_arn = listener.listeners().first().and_then(|l| l.listener_arn()).ok_or("CreateListener returned nothing")?.to_string();
    for p in 1..=rules {
        elb.create_rule()
            .listener_arn(&listener_arn)
            .priority(p as i32)
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(HostHeaderConditionConfig::builder().values(format!("existing-{p}.example.com")).build())
                    .build(),
            )
            .actions(fixed_response())
            .send()
            .await?;
    }
    Ok(listener_arn)
}

pub struct NaiveFigures {
    /// (rules on the listener, API calls per allocation).
    pub calls: Vec<(u32, f64)>,
    pub callers: u32,
    /// Callers that chose a number another caller also chose.
    pub duplicate_choices: usize,
    /// Callers whose CreateRule the listener refused (PriorityInUse).
    pub refused: usize,
}

pub async fn naive(stack: &Stack, sizes: &[u32], samples: u32, callers: u32) -> Result<NaiveFigures> {
    let bench = NaiveAllocator { client: elb_client(&stack.endpoint, crate::bench::BENCH_ACCESS_KEY).await };
    let mut calls = Vec::new();
    let mut first_listener = None;
    for &size in sizes {
        let listener = listener_with_rules(stack, &format!("naive-{size}"), size).await?;
        let before: Stats = router::stats(&stack.endpoint).await?;
        for i in 0..samples {
            bench.allocate(&listener, &format!("new-{i}.example.com")).await?;
        }
        let after: Stats = router::stats(&stack.endpoint).await?;
        let total: u64 = after.since(&before, crate::bench::BENCH_ACCESS_KEY).values().sum();
        calls.push((size, total as f64 / f64::from(samples)));
        first_listener.get_or_insert(listener);
    }
    let listener = first_listener.ok_or("no listener sizes")?;
    let mut tasks = Vec::new();
    for c in 0..callers {
        let client = bench.client.clone();
        let listener = listener.clone();
        tasks.push(tokio::spawn(async move {
            NaiveAllocator { client }.allocate(&listener, &format!("concurrent-{c}.example.com")).await.map_err(|e| e.to_string())
        }));
    }
    let mut chosen = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (p, created) = t.await??;
        chosen.push(p);
        refused += usize::from(!created);
    }
    let distinct: BTreeSet<u32> = chosen.iter().copied().collect();
    Ok(NaiveFigures { calls, callers, duplicate_choices: chosen.len() - distinct.len(), refused })
}

/// Each function's zipped arm64 package, in bytes (from `make package`).
pub fn zip_sizes(lambda_dir: &Path) -> Result<Vec<(String, u64)>> {
    let mut sizes = Vec::new();
    for step in &berth_steps::pipeline::STEPS {
        let function = step.binary();
        let zip = lambda_dir.join(&function).join("bootstrap.zip");
        let meta = std::fs::metadata(&zip).map_err(|e| format!("{}: {e} (run `make package` first)", zip.display()))?;
        sizes.push((function.to_string(), meta.len()));
    }
    Ok(sizes)
}

/// What machine, when and which commit the figures are from.
pub struct Provenance {
    pub date: String,
    pub commit: String,
    pub machine: String,
    pub emulator: String,
}

fn command(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn provenance(root: &Path) -> Provenance {
    let root_s = root.to_string_lossy().to_string();
    let dirty = !command("git", &["-C", &root_s, "status", "--porcelain", "--untracked-files=no"]).is_empty();
    let commit = format!(
        "{}{}",
        command("git", &["-C", &root_s, "rev-parse", "--short=12", "HEAD"]),
        if dirty { " (with uncommitted changes)" } else { "" }
    );
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
        .unwrap_or_else(|| "unknown OS".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let machine = format!(
        "{cores} cores ({}), {:.0} GiB RAM, {os}, {}",
        cpu.unwrap_or_else(|| "unknown CPU".into()),
        mem_gib.unwrap_or(0.0),
        std::env::consts::ARCH
    );
    let emulator = std::fs::read_to_string(root.join("tools/requirements-emulator.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("moto") || l.starts_with("cargo-lambda"))
        .collect::<Vec<_>>()
        .join(", ");
    Provenance { date: command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]), commit, machine, emulator }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_percentile() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(median(&v), 10);
        assert_eq!(percentile(&v, 95.0), 19);
        assert_eq!(percentile(&v, 100.0), 20);
        assert_eq!(median(&[7]), 7);
        assert_eq!(percentile(&[], 95.0), 0);
    }

    #[test]
    fn prices_are_per_unit() {
        assert!((price::STATE_TRANSITION * 1000.0 - 0.025).abs() < 1e-12);
        assert!((price::LAMBDA_REQUEST * 1e6 - 0.20).abs() < 1e-9);
    }
}

/// Customers placed, DynamoDB requests per allocation, and the requests by operation.
pub type PlacementRequests = (u32, f64, Vec<(String, u64)>);

/// Allocation figures from [`crate::bench`].
pub struct Allocation {
    pub requests: Vec<PlacementRequests>,
    pub callers: u32,
    pub allocations: u32,
    pub per_second: f64,
    pub duplicates: usize,
    pub ledger_duplicates: usize,
}

/// The lifecycle machines' executions, by machine, one per customer.
pub struct Lifecycle {
    pub runs: Vec<(String, Vec<Report>)>,
}

/// The lifecycle machines, in the order a customer's life runs them: (machine, what it is
/// asked to do).
pub const LIFECYCLE: [(&str, &str); 6] = [
    ("berth-update", "update"),
    ("berth-update", "add-product"),
    ("berth-update", "remove-product"),
    ("berth-suspend", "suspend"),
    ("berth-resume", "resume"),
    ("berth-offboard", "offboard"),
];

/// Updates (every image tag to a new one), suspends, resumes and offboards each of
/// `customers` (ACTIVE, onboarded with the example request), one execution after another.
pub async fn lifecycle(stack: &Stack, root: &Path, customers: &[String]) -> Result<Lifecycle> {
    let mut runs = Vec::new();
    for (machine, op) in LIFECYCLE {
        let arn = stack.infra.state_machine(machine).to_string();
        let mut reports = Vec::new();
        for c in customers {
            let input = if machine == "berth-update" {
                let mut spec = onboarding_input(root, c)?;
                spec["idempotency_key"] = Value::from(format!("bench-{op}"));
                if let Some(services) = spec["services"].as_object_mut() {
                    services.values_mut().for_each(|s| s["image_tag"] = Value::from("1.5.0"));
                }
                // The reports product added with the tags unchanged, then removed again.
                if op == "add-product" {
                    spec["products"] = serde_json::json!(["webapp", "reports"]);
                    spec["services"]["reports"] = serde_json::json!({ "image_tag": "1.0.0" });
                }
                spec
            } else {
                serde_json::json!({ "customer_id": c, "idempotency_key": format!("bench-{op}") })
            };
            let name = naming::execution_name(c, &format!("bench-{op}"));
            let r = runner::run(stack, &arn, &input, Some(&name), Duration::from_secs(600)).await?;
            if r.status != "SUCCEEDED" {
                return Err(format!("{op} of {c} ended {}: {:?} {:?}", r.status, r.error, r.cause).into());
            }
            reports.push(r);
        }
        runs.push((if machine == "berth-update" { format!("{machine} ({op})") } else { machine.to_string() }, reports));
    }
    Ok(Lifecycle { runs })
}

impl Lifecycle {
    pub fn markdown(&self) -> String {
        let mut o = String::from(
            "\n## Lifecycle executions per customer\n\nEach machine run once per customer, one execution after another, on customers the onboardings above left\n\
             ACTIVE: update (every image tag to a new one), an update adding the reports product and one removing it, then suspend, resume and offboard. Durations from the execution's own dates; API calls counted at the router.\n\n\
             | machine | runs | median | p95 | state transitions | Lambda invocations | AWS API calls | by service |\n|---|---|---|---|---|---|---|---|\n",
        );
        for (machine, reports) in &self.runs {
            let d = sorted(reports.iter().map(|r| r.execution_ms).collect());
            let span = |v: Vec<u64>| {
                let v = sorted(v);
                match (v.first(), v.last()) {
                    (Some(a), Some(b)) if a == b => a.to_string(),
                    (Some(a), Some(b)) => format!("{a}-{b}"),
                    _ => "-".into(),
                }
            };
            let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
            if let Some(r) = reports.first() {
                for (k, v) in &r.api_calls {
                    *by_service.entry(k.split(':').next().unwrap_or(k).to_string()).or_default() += v;
                }
            }
            o.push_str(&format!(
                "| {machine} | {} | {} ms | {} ms | {} | {} | {} | {} |\n",
                reports.len(),
                median(&d),
                percentile(&d, 95.0),
                span(reports.iter().map(|r| r.transitions as u64).collect()),
                span(reports.iter().map(|r| r.invocations.values().sum()).collect()),
                span(reports.iter().map(Report::api_total).collect()),
                by_service.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
            ));
        }
        o
    }
}

/// One fleet rollout, timed: its customers, settings, wall time and tally counts.
pub struct RolloutFigure {
    pub customers: usize,
    pub wave_size: u32,
    pub max_concurrency: u32,
    pub rate_limits: bool,
    pub report: Report,
    /// Calls the rate limits throttled during the rollout, by `service:Operation`.
    pub throttled: BTreeMap<String, u64>,
}

impl RolloutFigure {
    pub fn row(&self) -> String {
        let tally = self.report.output.as_ref().map(|o| o["tally"].clone()).unwrap_or_default();
        let n = |k: &str| tally[k].as_array().map_or(0, Vec::len);
        format!(
            "| {} | {} | {} | {} | {} | {:.1} s | {} updated, {} rolled back, {} failed, {} skipped, {} not reached | {} |",
            self.customers,
            self.wave_size,
            self.max_concurrency,
            if self.rate_limits { "on" } else { "off" },
            self.report.status,
            self.report.execution_ms as f64 / 1000.0,
            n("updated"),
            n("rolled_back"),
            n("failed"),
            n("skipped"),
            n("not_reached"),
            self.throttled.values().sum::<u64>()
        )
    }
}

/// Moves `customers` (ACTIVE, onboarded with the example request) to `tag` with one rollout.
pub async fn rollout(
    stack: &Stack,
    customers: &[String],
    tag: &str,
    wave_size: u32,
    max_concurrency: u32,
    rate_limits: bool,
) -> Result<RolloutFigure> {
    let arn = stack.infra.state_machine("berth-rollout").to_string();
    let id = format!("bench-{}-{}", tag.replace('.', "-"), if rate_limits { "limited" } else { "free" });
    let input = serde_json::json!({
        "rollout_id": id, "customers": customers, "image_tag": tag, "canary": 1, "wave_size": wave_size,
        "max_concurrency": max_concurrency, "max_failures": 0
    });
    router::set_limits(&stack.endpoint, rate_limits).await?;
    let report = runner::run(stack, &arn, &input, Some(&id), Duration::from_secs(3600)).await;
    let throttled = router::limits(&stack.endpoint).await?.throttled;
    router::set_limits(&stack.endpoint, false).await?;
    Ok(RolloutFigure { customers: customers.len(), wave_size, max_concurrency, rate_limits, report: report?, throttled })
}

/// Everything one `make bench` measured.
pub struct Figures {
    pub provenance: Provenance,
    pub pipeline: Pipeline,
    pub lifecycle: Lifecycle,
    pub handlers: Vec<HandlerLatency>,
    pub concurrent: Concurrent,
    pub allocation: Allocation,
    pub naive: NaiveFigures,
    pub events: PortalEvents,
    /// The packing figures, one per form of a product's own host (the default first).
    pub packing: Vec<crate::packing::Packing>,
    /// One product on a host of its own against three ([`products`]).
    pub products: String,
    pub zips: Vec<(String, u64)>,
}

/// Targets the figures are reported against.
pub mod target {
    pub const MEDIAN_OVERHEAD_MS: u64 = 1500;
    pub const TRANSITIONS: usize = 40;
    pub const API_CALLS: u64 = 30;
    /// The events' own budget: progress may not take an onboarding past this many.
    pub const TRANSITIONS_WITH_EVENTS: usize = 12;
    pub const ZIP_BYTES: u64 = 5 * 1024 * 1024;
    /// The share of the pool's rule capacity in use when placement first refuses a customer.
    pub const PACKED_RULES: f64 = 0.97;
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

impl Figures {
    /// (target, measured, met) rows.
    pub fn targets(&self) -> Vec<(String, String, bool)> {
        let d = self.pipeline.durations();
        let (_, transitions) = self.pipeline.transitions();
        let calls: u64 = self.pipeline.calls().map(|c| c.values().sum()).unwrap_or(u64::MAX);
        // The progress events the steps put (a step's own PutEvents; the outcome event is put by
        // the state machine itself).
        let progress: u64 = self.pipeline.calls().map(|c| c.get("events:PutEvents").copied().unwrap_or(0)).unwrap_or(0);
        let alloc: Vec<f64> = self.allocation.requests.iter().map(|(_, r, _)| *r).collect();
        let alloc_equal = alloc.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-9);
        let largest = self.zips.iter().map(|(_, b)| *b).max().unwrap_or(0);
        let c = &self.concurrent;
        let dups = c.duplicate_priorities_on_listeners + c.duplicate_priority_claims + c.duplicate_hosts;
        let packed = self.packing.first().map_or(0.0, |p| p.berth_rules_at_refusal());
        vec![
            (
                format!("median overhead ≤ {} s", target::MEDIAN_OVERHEAD_MS as f64 / 1000.0),
                format!("{} ms", median(&d)),
                median(&d) <= target::MEDIAN_OVERHEAD_MS,
            ),
            (
                format!("≤ {} state transitions per onboarding", target::TRANSITIONS),
                transitions.to_string(),
                transitions <= target::TRANSITIONS,
            ),
            (
                format!("≤ {} AWS API calls per onboarding (its progress events aside)", target::API_CALLS),
                format!("{} (+ {progress} events:PutEvents of progress: {calls} in all)", calls.saturating_sub(progress)),
                calls.saturating_sub(progress) <= target::API_CALLS,
            ),
            (
                format!("≤ {} state transitions per onboarding with events on", target::TRANSITIONS_WITH_EVENTS),
                transitions.to_string(),
                transitions <= target::TRANSITIONS_WITH_EVENTS,
            ),
            (
                format!("0 duplicates at {} concurrent", c.started),
                format!("{dups} ({} of {} succeeded)", c.succeeded, c.started),
                dups == 0 && c.succeeded == c.started,
            ),
            (
                format!("≥ {:.0}% of the pool's rules in use at the first refusal (default host form)", target::PACKED_RULES * 100.0),
                format!("{:.1}%", packed * 100.0),
                packed >= target::PACKED_RULES,
            ),
            (
                "allocation requests equal at 10 and 5,000 customers".into(),
                alloc.iter().map(|r| format!("{r:.1}")).collect::<Vec<_>>().join(" and "),
                alloc_equal,
            ),
            (
                "each zip ≤ 5 MB".into(),
                format!("largest {:.2} MiB", largest as f64 / 1024.0 / 1024.0),
                largest <= target::ZIP_BYTES && !self.zips.is_empty(),
            ),
        ]
    }

    pub fn all_met(&self) -> bool {
        self.targets().iter().all(|(_, _, ok)| *ok)
    }

    /// The figures as a Markdown page (also what `make bench` prints).
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let p = &self.provenance;
        o.push_str("# berth benchmarks\n\n");
        o.push_str("Written by `make bench`; every figure below comes from one run. The local stack is moto (AWS emulated), the\n");
        o.push_str("invocation router and debug builds of the Lambdas behind `cargo lambda watch`, on this machine.\n\n");
        o.push_str(&format!("- date: {}\n- commit: {}\n- machine: {}\n- emulator: {}\n\n", p.date, p.commit, p.machine, p.emulator));

        o.push_str("## Targets\n\n| target | measured | |\n|---|---|---|\n");
        for (t, m, ok) in self.targets() {
            o.push_str(&format!("| {t} | {m} | {} |\n", verdict(ok)));
        }

        let pl = &self.pipeline;
        let d = pl.durations();
        o.push_str(&format!(
            "\n## Pipeline overhead per onboarding\n\n{} onboardings of the example request (`events/onboard.json`, one customer each), one after\n\
             another, each from StartExecution to its end, timed by the execution's own start and stop dates. Every AWS-side\n\
             wait is 0 here: the emulator's services are stable at once and the health check waited {} times.\n\n",
            d.len(),
            pl.waits()
        ));
        o.push_str("| median | p95 | fastest | slowest |\n|---|---|---|---|\n");
        o.push_str(&format!(
            "| {} ms | {} ms | {} ms | {} ms |\n\n",
            median(&d),
            percentile(&d, 95.0),
            d.first().copied().unwrap_or(0),
            d.last().copied().unwrap_or(0)
        ));
        o.push_str("Median time in each state:\n\n| state | median ms |\n|---|---|\n");
        for (s, m) in pl.step_medians() {
            o.push_str(&format!("| {s} | {m} |\n"));
        }

        o.push_str("\n## AWS API calls and state transitions per onboarding\n\n");
        let (tmin, tmax) = pl.transitions();
        match pl.calls() {
            Ok(calls) => {
                let total: u64 = calls.values().sum();
                o.push_str(&format!(
                    "Counted at the router, by the Lambdas; the same in all {} runs. {total} calls, {} Lambda invocations, {} state transitions\n\
                     (from the execution history{}).\n\n| service | operation | calls |\n|---|---|---|\n",
                    pl.reports.len(),
                    pl.invocations(),
                    tmax,
                    if tmin == tmax { String::new() } else { format!("; {tmin} to {tmax}") }
                ));
                let mut by_service: BTreeMap<&str, u64> = BTreeMap::new();
                for (k, v) in calls {
                    let (service, op) = k.split_once(':').unwrap_or((k.as_str(), ""));
                    *by_service.entry(service).or_default() += v;
                    o.push_str(&format!("| {service} | {op} | {v} |\n"));
                }
                o.push_str("\n| service | calls |\n|---|---|\n");
                for (s, v) in by_service {
                    o.push_str(&format!("| {s} | {v} |\n"));
                }
            }
            Err(e) => o.push_str(&format!("The runs did not make the same calls: {e}\n")),
        }
        let (sfn, req, dur) = pl.cost();
        o.push_str(&format!(
            "\n### Cost per onboarding\n\nAt published us-east-1 prices: Step Functions Standard ${}/1,000 transitions, Lambda ${}/1M requests and\n\
             ${}/GB-s on arm64 at {} MB, each invocation billed at its function's median local latency (below).\n\n\
             | part | USD per onboarding | USD per 1,000 onboardings |\n|---|---|---|\n\
             | state transitions ({tmax}) | {sfn:.7} | {:.4} |\n| Lambda requests ({}) | {req:.7} | {:.4} |\n| Lambda duration | {dur:.7} | {:.4} |\n| **total** | **{:.7}** | **{:.4}** |\n\n\
             The ECS, ELB, Route 53 and CloudWatch Logs calls above carry no per-call charge; DynamoDB's on-demand requests are\n\
             billed by capacity unit, which this run does not measure.\n",
            price::STATE_TRANSITION * 1000.0,
            price::LAMBDA_REQUEST * 1e6,
            price::LAMBDA_ARM_GB_SECOND,
            price::MEMORY_MB,
            sfn * 1000.0,
            pl.invocations(),
            req * 1000.0,
            dur * 1000.0,
            sfn + req + dur,
            (sfn + req + dur) * 1000.0
        ));

        let c = &self.concurrent;
        o.push_str(&self.lifecycle.markdown());
        o.push_str(&self.events.markdown());
        o.push_str(&format!(
            "\n## {} onboardings started at once\n\n| started | succeeded | wall time | customers/s | rules made | ALBs used | duplicate priorities (listeners / claims) | duplicate hosts |\n\
             |---|---|---|---|---|---|---|---|\n| {} | {} | {:.1} s | {:.2} | {} | {} | {} / {} | {} |\n",
            c.started,
            c.started,
            c.succeeded,
            c.wall_s,
            c.succeeded as f64 / c.wall_s,
            c.rules,
            c.albs_used,
            c.duplicate_priorities_on_listeners,
            c.duplicate_priority_claims,
            c.duplicate_hosts
        ));
        if !c.failed.is_empty() {
            o.push_str(&format!("\nNot SUCCEEDED: {}\n", c.failed.join(", ")));
        }

        o.push_str(
            "\n## Packing the pool\n\nberth's placement, run by the in-memory registry (each customer registered and placed, each leaver\n\
             released, as the pipeline does), against first-fit, best-fit on rules and spreading, on the same stream of customers\n\
             (`berth_local::packing`: tiers basic 50%, standard 35%, enterprise 15% with 1, 2 and 3 products; the web app on the\n\
             customer's host for 60% of them, the other products on hosts of their own with 1 to 3 web services each; an own\n\
             domain for 10% of standard and 40% of enterprise customers).\n",
        );
        for p in &self.packing {
            o.push_str(&p.markdown());
        }
        o.push_str("\n## Products on hosts of their own\n\n");
        o.push_str(&self.products);
        let a = &self.allocation;
        let n = &self.naive;
        o.push_str(
            "\n## Allocation\n\nberth's allocator: DynamoDB requests per allocation by the allocating caller, counted at the router.\n\n",
        );
        o.push_str("| customers placed | requests per allocation | by operation (over 5 allocations) |\n|---|---|---|\n");
        for (placed, per, ops) in &a.requests {
            let ops: Vec<String> = ops.iter().map(|(k, v)| format!("{k} {v}")).collect();
            o.push_str(&format!("| {placed} | {per:.1} | {} |\n", ops.join(", ")));
        }
        o.push_str(&format!(
            "\n{} concurrent callers, {} allocations: {:.1} allocations/s, {} duplicates among the priorities handed out, {} in the registry.\n",
            a.callers, a.allocations, a.per_second, a.duplicates, a.ledger_duplicates
        ));
        o.push_str(&format!(
            "\nThe naive allocator used elsewhere, in the same run: page through DescribeRules ({NAIVE_PAGE} rules a page, the API's\n\
             largest), take the highest priority + 1, CreateRule there. (AWS allows 100 rules a listener; the emulator allows\n\
             more, which the 1,000 row uses.)\n\n| rules on the listener | naive: API calls per allocation | berth: requests per allocation |\n|---|---|---|\n"
        ));
        let berth_per = a.requests.first().map_or(0.0, |(_, r, _)| *r);
        for (rules, per) in &n.calls {
            o.push_str(&format!(
                "| {rules} | {per:.1} | {berth_per:.1} DynamoDB + 1 DescribeRules (the check against hand-made rules) |\n"
            ));
        }
        o.push_str(&format!(
            "\n{} naive callers at once on one listener: {} chose a number another caller also chose; the listener refused {} of\n\
             their rules (PriorityInUse). berth's allocator under {} callers: {} duplicates.\n",
            n.callers, n.duplicate_choices, n.refused, a.callers, a.duplicates
        ));

        o.push_str("\n## Lambdas: zipped arm64 size and handler latency\n\n");
        o.push_str("Sizes from `make package` (`cargo lambda build --release --arm64 --output-format zip`). Latency through a local\n");
        o.push_str("invoke at the local endpoint (debug builds behind `cargo lambda watch`): validate with `events/validate.json`, each\n");
        o.push_str("later step with the state the steps before it produced, intake with `events/onboard.json`. The first invocation\n");
        o.push_str("does the work; the same input again finds nothing left to do (5 times). In the pipeline: the same functions as\n");
        o.push_str("the state machine invoked them in the sequential runs, median.\n\n");
        o.push_str("| function | zip | first ms | again: median ms | again: p95 ms | errors again | in the pipeline: median ms |\n|---|---|---|---|---|---|---|\n");
        for h in &self.handlers {
            let size = self
                .zips
                .iter()
                .find(|(f, _)| f == &h.function)
                .map_or("?".to_string(), |(_, b)| format!("{:.2} MiB", *b as f64 / 1024.0 / 1024.0));
            let piped = match self.pipeline.latencies.get(&h.function) {
                Some(v) if !v.is_empty() => ms(median(&sorted(v.clone()))),
                _ => "not invoked".into(),
            };
            o.push_str(&format!(
                "| {} | {size} | {} | {} | {} | {} | {piped} |\n",
                h.function,
                ms(h.first_us),
                ms(median(&h.again_us)),
                ms(percentile(&h.again_us, 95.0)),
                h.errors
            ));
        }
        o
    }
}
