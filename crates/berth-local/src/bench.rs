//! Allocation benchmarks against the local stack (make bench): DynamoDB requests per
//! placement with few and with many customers already placed, and throughput and
//! duplicates with many concurrent callers. Figures come from the router's counters and
//! from the ledger, not from the code's own account.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use berth_adapters::aws::dynamo::{alb_sk, customer_pk, listener_pk, priority_sk, CUSTOMER_SK, LEDGER_SK, POOL_PK};
use berth_adapters::aws::DynamoRegistry;
use berth_adapters::model::Registration;
use berth_adapters::ports::{Customers, Placements, Pool};
use berth_domain::pool::{Alb, AlbState, Capacity, Need};

use crate::router::{self, Stats};
use crate::stack::Stack;
use crate::{Result, OBSERVER_ACCESS_KEY};

/// Access key of the benchmarked caller: the router counts its requests apart.
pub const BENCH_ACCESS_KEY: &str = "BERTHBENCH";

const NEED: Need = Need { rules: 2, target_groups: 2, certificates: 0 };

async fn client(endpoint: &str, key: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&crate::local_config(endpoint, key).await)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Writes the registry state of `count` customers placed on `alb` (two priorities and two
/// target groups each), as placement would have left it, with batch writes.
async fn populate(ddb: &aws_sdk_dynamodb::Client, table: &str, alb: &Alb, prefix: &str, count: u32) -> Result<()> {
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
    for i in 0..count {
        let id = format!("{prefix}-{i}");
        let (p1, p2) = (2 * i + 1, 2 * i + 2);
        items.push(HashMap::from([
            ("pk".into(), s(customer_pk(&id))),
            ("sk".into(), s(CUSTOMER_SK)),
            ("customer_id".into(), s(&id)),
            ("state".into(), s("ACTIVE")),
            ("execution_id".into(), s(format!("bench-{id}"))),
            ("host".into(), s(format!("{id}.saas.example.com"))),
            ("alb_name".into(), s(&alb.name)),
            ("listener_arn".into(), s(&alb.listener_arn)),
            ("priorities".into(), AttributeValue::L(vec![n(p1), n(p2)])),
            ("target_groups_held".into(), n(2)),
        ]));
        for p in [p1, p2] {
            items.push(HashMap::from([
                ("pk".into(), s(listener_pk(&alb.listener_arn))),
                ("sk".into(), s(priority_sk(p))),
                ("customer_id".into(), s(&id)),
                ("priority".into(), n(p)),
            ]));
        }
    }
    items.push(HashMap::from([
        ("pk".into(), s(listener_pk(&alb.listener_arn))),
        ("sk".into(), s(LEDGER_SK)),
        ("minted".into(), n(2 * count)),
    ]));
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|i| {
                WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(i.clone())).build().expect("item set")).build()
            })
            .collect();
        ddb.batch_write_item().request_items(table, requests).send().await?;
    }
    ddb.update_item()
        .table_name(table)
        .key("pk", s(POOL_PK))
        .key("sk", s(alb_sk(&alb.name)))
        .update_expression("SET rules_used = :r, target_groups_used = :t, customers = :c")
        .expression_attribute_values(":r", n(2 * count))
        .expression_attribute_values(":t", n(2 * count))
        .expression_attribute_values(":c", n(count))
        .send()
        .await?;
    Ok(())
}

fn bench_alb(name: &str, quota: u32) -> Alb {
    Alb {
        name: name.into(),
        load_balancer_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/{name}/1"),
        listener_arn: format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/{name}/1/1"),
        dns_name: format!("{name}.elb.amazonaws.com"),
        canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
        state: AlbState::Active,
        rules: Capacity::new(quota),
        target_groups: Capacity::new(quota),
        certificates: Capacity::new(25),
        customers: 0,
    }
}

fn registration(id: &str) -> Registration {
    Registration {
        customer_id: id.into(),
        execution_id: format!("bench-{id}"),
        host: format!("{id}.saas.example.com"),
        product_hosts: Vec::new(),
        display_name: id.into(),
        products: vec!["webapp".into()],
        plan_json: "{}".into(),
        ledger: Vec::new(),
    }
}

/// DynamoDB requests the benchmarked caller made for `samples` placements, on a pool whose
/// only ACTIVE ALB already holds `placed` customers. Returns (requests per placement, by
/// operation).
pub async fn requests_per_placement(stack: &Stack, placed: u32, samples: u32) -> Result<(f64, Vec<(String, u64)>)> {
    let table = &stack.infra.table;
    let observer = DynamoRegistry::new(client(&stack.endpoint, OBSERVER_ACCESS_KEY).await, table.clone());
    let bench = DynamoRegistry::new(client(&stack.endpoint, BENCH_ACCESS_KEY).await, table.clone());
    for alb in observer.albs().await? {
        observer.set_state(&alb.name, AlbState::Draining).await?;
    }
    let name = format!("bench-{placed}");
    let alb = bench_alb(&name, 50_000);
    observer.add(&alb).await?;
    populate(&client(&stack.endpoint, OBSERVER_ACCESS_KEY).await, table, &alb, &name, placed).await?;
    let before: Stats = router::stats(&stack.endpoint).await?;
    for i in 0..samples {
        let id = format!("{name}-new-{i}");
        observer.register(&registration(&id)).await?;
        bench.place(&id, &format!("bench-{id}"), &NEED).await?;
    }
    let after: Stats = router::stats(&stack.endpoint).await?;
    let calls = after.since(&before, BENCH_ACCESS_KEY);
    let total: u64 = calls.values().sum();
    observer.set_state(&name, AlbState::Draining).await?;
    Ok((total as f64 / f64::from(samples), calls.into_iter().collect()))
}

/// `callers` concurrent callers each placing `per_caller` customers on a fresh ALB:
/// (placements per second, duplicates among the (listener, priority) pairs handed out,
/// duplicates in the ledger).
pub async fn throughput(stack: &Stack, callers: u32, per_caller: u32) -> Result<(f64, usize, usize, f64)> {
    let table = &stack.infra.table;
    let observer = DynamoRegistry::new(client(&stack.endpoint, OBSERVER_ACCESS_KEY).await, table.clone());
    for alb in observer.albs().await? {
        observer.set_state(&alb.name, AlbState::Draining).await?;
    }
    let alb = bench_alb("bench-throughput", 50_000);
    observer.add(&alb).await?;
    let total = callers * per_caller;
    for i in 0..total {
        observer.register(&registration(&format!("tp-{i}"))).await?;
    }
    let bench = DynamoRegistry::new(client(&stack.endpoint, BENCH_ACCESS_KEY).await, table.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let bench = bench.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for k in 0..per_caller {
                let id = format!("tp-{}", c * per_caller + k);
                let p = bench.place(&id, &format!("bench-{id}"), &NEED).await?;
                got.extend(p.priorities.into_iter().map(|x| (p.alb.listener_arn.clone(), x)));
            }
            Ok::<_, berth_domain::BerthError>(got)
        }));
    }
    let mut handed: Vec<(String, u32)> = Vec::new();
    for t in tasks {
        handed.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let unique: BTreeSet<&(String, u32)> = handed.iter().collect();
    let claims = observer.claims(&alb.listener_arn).await?;
    let ledger_unique: BTreeSet<u32> = claims.iter().map(|(p, _, _)| *p).collect();
    observer.set_state(&alb.name, AlbState::Draining).await?;
    Ok((f64::from(total) / secs, handed.len() - unique.len(), claims.len() - ledger_unique.len(), secs))
}
