//! Ledger core benchmarks: `cargo bench --bench ledger`.
//!
//! - allocation of one entry among 50 members (each split mode that apportions);
//! - recomputing balances over 100,000 entries;
//! - settlement plans for 10, 15, 20 (exact) and 200 (greedy) members with a balance. "random"
//!   balances rarely cancel in subsets (one table per plan); "clustered" balances are drawn
//!   from −5..=5 so many subsets cancel (a table per transfer, but cheap ones); "two_groups" is
//!   the costliest shape found (a full table per transfer). Target: 20 members under 50 ms on a
//!   2-core machine.
//!
//! Inputs come from a fixed-seed generator, so runs are comparable.

// A benchmark with a broken fixture should stop loudly, like a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tally::ledger::{
    Currency, EntryEffect, EntryKind, MemberId, Money, SplitRule, Weight, allocate, balances,
    settlement_plan,
};
use uuid::Uuid;

/// SplitMix64: a tiny deterministic generator, so fixtures need no extra dependency.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `low..=high` (the modulo bias is irrelevant for fixtures).
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = high.abs_diff(low) + 1;
        low + (self.next() % span) as i64
    }

    fn member(&mut self) -> MemberId {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

fn members(rng: &mut Seeded, count: usize) -> Vec<MemberId> {
    (0..count).map(|_| rng.member()).collect()
}

fn bench_allocate(c: &mut Criterion) {
    let mut rng = Seeded(1);
    let twd = Currency::parse("TWD").unwrap();
    let fifty = members(&mut rng, 50);
    let amount = Money::from_e4(1_234_567_800); // 123,456.78: leftover cents to hand out
    let rules = [
        (
            "equal",
            SplitRule::Equal {
                members: fifty.clone(),
            },
        ),
        (
            "shares",
            SplitRule::Shares(
                fifty
                    .iter()
                    .map(|&m| (m, Weight::from_e4(rng.between(1, 50_000_000))))
                    .collect(),
            ),
        ),
        (
            "adjustment",
            SplitRule::Adjustment(
                fifty
                    .iter()
                    .map(|&m| (m, Money::from_e4(rng.between(-100_000, 100_000))))
                    .collect(),
            ),
        ),
    ];
    let mut group = c.benchmark_group("allocate_50_members");
    for (name, rule) in &rules {
        group.bench_function(*name, |b| {
            b.iter(|| {
                allocate(
                    black_box(Uuid::nil()),
                    black_box(amount),
                    twd,
                    black_box(rule),
                )
            })
        });
    }
    group.finish();
}

fn bench_balances(c: &mut Criterion) {
    let mut rng = Seeded(2);
    let twd = Currency::parse("TWD").unwrap();
    let book = members(&mut rng, 20);
    let effects: Vec<EntryEffect> = (0..100_000)
        .map(|_| {
            let amount = Money::from_e4(rng.between(100, 100_000_000) * 100);
            let payer = book[rng.between(0, 19) as usize];
            let first = rng.between(0, 15) as usize;
            let sharing = book[first..first + rng.between(1, 4) as usize].to_vec();
            let entry_id = rng.member();
            let split = allocate(
                entry_id,
                amount,
                twd,
                &SplitRule::Equal { members: sharing },
            )
            .unwrap();
            EntryEffect {
                kind: match rng.between(0, 9) {
                    0 => EntryKind::Income,
                    1 => EntryKind::Transfer,
                    _ => EntryKind::Expense,
                },
                payers: vec![(payer, amount)],
                allocations: split.iter().map(|a| (a.member, a.amount)).collect(),
            }
        })
        .collect();
    let mut group = c.benchmark_group("balances");
    group.sample_size(20);
    group.bench_function("100k_entries_20_members", |b| {
        b.iter(|| balances(black_box(&effects)).unwrap())
    });
    group.finish();
}

/// `count` members whose nets (in whole currency units drawn from `low..=high`) sum to zero.
fn nets(rng: &mut Seeded, count: usize, low: i64, high: i64) -> BTreeMap<MemberId, Money> {
    let mut values: Vec<i64> = (1..count)
        .map(|_| {
            loop {
                let units = rng.between(low, high);
                if units != 0 {
                    break units * 10_000;
                }
            }
        })
        .collect();
    values.push(-values.iter().sum::<i64>());
    // The balancing member could be zero; then the plan has one member fewer, close enough.
    members(rng, count)
        .into_iter()
        .zip(values.into_iter().map(Money::from_e4))
        .collect()
}

fn bench_settlement(c: &mut Criterion) {
    let mut rng = Seeded(3);
    let mut group = c.benchmark_group("settlement_plan");
    group.sample_size(20);
    for (shape, low, high) in [("random", -100_000, 100_000), ("clustered", -5, 5)] {
        for count in [10, 15, 20, 200] {
            let book = nets(&mut rng, count, low, high);
            let plan = settlement_plan(&book).unwrap();
            assert_eq!(plan.optimal, count <= 20);
            eprintln!(
                "settlement_plan/{shape}/{count}: {} transfers, optimal {}",
                plan.transfers.len(),
                plan.optimal
            );
            group.bench_with_input(BenchmarkId::new(shape, count), &book, |b, book| {
                b.iter(|| settlement_plan(black_box(book)).unwrap())
            });
        }
    }
    // The costliest case found for the exact plan: two groups of ten with no smaller zero-sum
    // subsets, so every transfer needs a fresh table with no early exits.
    let mut two_groups = nets(&mut rng, 10, -1_000_000, 1_000_000);
    two_groups.extend(nets(&mut rng, 10, -1_000_000, 1_000_000));
    let plan = settlement_plan(&two_groups).unwrap();
    eprintln!(
        "settlement_plan/two_groups/20: {} transfers, optimal {}",
        plan.transfers.len(),
        plan.optimal
    );
    group.bench_with_input(
        BenchmarkId::new("two_groups", two_groups.len()),
        &two_groups,
        |b, book| b.iter(|| settlement_plan(black_box(book)).unwrap()),
    );
    group.finish();
}

criterion_group!(ledger, bench_allocate, bench_balances, bench_settlement);
criterion_main!(ledger);
