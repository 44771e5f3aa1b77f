//! The placement model over the in-memory registry (the same model runs over DynamoDB on
//! the emulator in the integration suite `registry`).

mod common;

use berth_adapters::memory::Memory;
use common::placement_model::{check, ops, quotas};
use proptest::prelude::*;

proptest! {
    #[test]
    fn placements_and_releases_keep_the_ledger_and_counters_exact(ops in ops(120), quotas in quotas()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(check(&Memory::new(), &quotas, &ops))?;
    }
}
