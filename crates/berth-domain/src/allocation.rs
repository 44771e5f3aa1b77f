//! Listener-rule priorities: the rules, independent of where the ledger is stored.
//!
//! Each listener has a ledger: `next`, the lowest number never handed out, and `free`, the
//! numbers handed out once and released since. An allocation takes the lowest free numbers
//! first, then numbers from `next` upward, all within 1..=50000. The priorities of one
//! customer are returned in ascending order: the caller gives the lowest to its most
//! specific rule.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The lowest and highest listener-rule priority AWS accepts.
pub const PRIORITY_MIN: u32 = 1;
pub const PRIORITY_MAX: u32 = 50_000;

/// The allocation state of one listener.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// The lowest number never allocated (1 for a new listener).
    pub next: u32,
    /// Numbers released and not yet reused.
    pub free: BTreeSet<u32>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger { next: PRIORITY_MIN, free: BTreeSet::new() }
    }

    /// How many numbers are still available.
    pub fn available(&self) -> u64 {
        u64::from(PRIORITY_MAX + 1).saturating_sub(u64::from(self.next.max(PRIORITY_MIN))) + self.free.len() as u64
    }
}

/// The outcome of choosing priorities: what to hand out and the ledger afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Ascending; the first goes to the most specific rule.
    pub priorities: Vec<u32>,
    /// The numbers of `priorities` that came from the free set.
    pub reused: Vec<u32>,
    /// The ledger's `next` after this allocation.
    pub next: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("listener has {available} free priorities, {wanted} needed (range {PRIORITY_MIN}-{PRIORITY_MAX})")]
pub struct Exhausted {
    pub wanted: usize,
    pub available: u64,
}

/// Chooses `count` priorities from `ledger`, skipping any number in `taken_elsewhere`
/// (held on the live listener by a rule the ledger does not know).
pub fn choose(ledger: &Ledger, count: usize, taken_elsewhere: &BTreeSet<u32>) -> Result<Choice, Exhausted> {
    let mut priorities = Vec::with_capacity(count);
    let mut reused = Vec::new();
    for &p in &ledger.free {
        if priorities.len() == count {
            break;
        }
        if (PRIORITY_MIN..=PRIORITY_MAX).contains(&p) && !taken_elsewhere.contains(&p) {
            priorities.push(p);
            reused.push(p);
        }
    }
    let mut next = ledger.next.max(PRIORITY_MIN);
    while priorities.len() < count {
        if next > PRIORITY_MAX {
            return Err(Exhausted { wanted: count, available: ledger.available() });
        }
        if !taken_elsewhere.contains(&next) {
            priorities.push(next);
        }
        next += 1;
    }
    priorities.sort_unstable();
    Ok(Choice { priorities, reused, next })
}

/// Applies a choice to a ledger (what the store does atomically).
pub fn apply(ledger: &mut Ledger, choice: &Choice) {
    for p in &choice.reused {
        ledger.free.remove(p);
    }
    ledger.next = choice.next;
}

/// Returns released numbers to the ledger.
pub fn release(ledger: &mut Ledger, priorities: &[u32]) {
    for &p in priorities {
        if p < ledger.next {
            ledger.free.insert(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_new_listener_starts_at_one() {
        let c = choose(&Ledger::new(), 2, &BTreeSet::new()).unwrap();
        assert_eq!(c.priorities, vec![1, 2]);
        assert_eq!(c.next, 3);
    }

    #[test]
    fn freed_numbers_are_reused_first_and_lowest_first() {
        let mut l = Ledger::new();
        let a = choose(&l, 2, &BTreeSet::new()).unwrap();
        apply(&mut l, &a);
        let b = choose(&l, 2, &BTreeSet::new()).unwrap();
        apply(&mut l, &b);
        release(&mut l, &a.priorities);
        let c = choose(&l, 3, &BTreeSet::new()).unwrap();
        assert_eq!(c.priorities, vec![1, 2, 5]);
        assert_eq!(c.reused, vec![1, 2]);
    }

    #[test]
    fn numbers_held_elsewhere_are_skipped() {
        let skip: BTreeSet<u32> = [1, 3].into();
        let c = choose(&Ledger::new(), 2, &skip).unwrap();
        assert_eq!(c.priorities, vec![2, 4]);
        assert_eq!(c.next, 5);
    }

    #[test]
    fn the_range_ends_at_50000() {
        let l = Ledger { next: 49_999, free: BTreeSet::new() };
        assert_eq!(choose(&l, 2, &BTreeSet::new()).unwrap().priorities, vec![49_999, 50_000]);
        let e = choose(&l, 3, &BTreeSet::new()).unwrap_err();
        assert_eq!(e, Exhausted { wanted: 3, available: 2 });
    }

    #[derive(Debug, Clone)]
    enum Op {
        Allocate(u8, usize),
        Release(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![(0u8..12, 1usize..4).prop_map(|(c, n)| Op::Allocate(c, n)), (0u8..12).prop_map(Op::Release),]
    }

    proptest! {
        /// Any interleaving of allocations and releases: no number has two owners, every
        /// number is in range, released numbers come back before new ones are minted.
        #[test]
        fn interleavings_never_duplicate(ops in proptest::collection::vec(op(), 1..200)) {
            let mut ledger = Ledger::new();
            let mut owned: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Allocate(c, n) => {
                        if owned.contains_key(&c) { continue; }
                        let free_before = ledger.free.len();
                        let choice = choose(&ledger, n, &BTreeSet::new()).unwrap();
                        prop_assert_eq!(choice.reused.len(), n.min(free_before));
                        apply(&mut ledger, &choice);
                        owned.insert(c, choice.priorities);
                    }
                    Op::Release(c) => {
                        if let Some(ps) = owned.remove(&c) { release(&mut ledger, &ps); }
                    }
                }
                let all: Vec<u32> = owned.values().flatten().copied().collect();
                let unique: BTreeSet<u32> = all.iter().copied().collect();
                prop_assert_eq!(unique.len(), all.len(), "a priority has two owners");
                prop_assert!(all.iter().all(|p| (PRIORITY_MIN..=PRIORITY_MAX).contains(p)));
                prop_assert!(unique.is_disjoint(&ledger.free));
                // Every number below `next` is owned or free: nothing leaks.
                prop_assert_eq!((unique.len() + ledger.free.len()) as u32, ledger.next - 1);
            }
        }
    }
}
