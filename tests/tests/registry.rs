//! The DynamoDB registry on the emulator, held to the placement model the in-memory
//! registry is held to in the unit tests (`crates/berth-adapters/tests/common/
//! placement_model.rs`): generated interleavings of placements and releases, each case in
//! a table of its own. [`CASES`] cases of up to 40 operations.

#[path = "../../crates/berth-adapters/tests/common/placement_model.rs"]
mod placement_model;

use std::sync::atomic::{AtomicU32, Ordering};

use berth_adapters::aws::DynamoRegistry;
use berth_tests::Harness;
use placement_model::{check, ops, quotas};
use proptest::test_runner::{Config, TestRunner};

/// Generated cases against DynamoDB in `make test`; `BERTH_REGISTRY_CASES` sets another.
pub const CASES: u32 = 16;

#[test]
fn dynamodb_keeps_the_placement_model() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let h = rt.block_on(Harness::new());
    let cases = std::env::var("BERTH_REGISTRY_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let n = AtomicU32::new(0);
    runner
        .run(&(ops(40), quotas()), |(ops, quotas)| {
            let table = format!("berth-model-{}", n.fetch_add(1, Ordering::SeqCst));
            rt.block_on(async {
                berth_local::bootstrap::create_table(&h.dynamodb, &table).await.expect("a table of its own");
                let outcome = check(&DynamoRegistry::new(h.dynamodb.clone(), &table), &quotas, &ops).await;
                let _ = h.dynamodb.delete_table().table_name(&table).send().await;
                outcome
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
