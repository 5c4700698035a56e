//! Generators shared by the property tests.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::Config;
use uuid::Uuid;

use crate::ledger::{Currency, MemberId, Money};

/// At least 1,000 cases per property unless `PROPTEST_CASES` says otherwise (proptest's own
/// default is 256).
pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(1_000);
    Config {
        cases,
        ..Config::default()
    }
}

/// `count` distinct member ids, in random (not sorted) order.
pub fn members(count: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<MemberId>> {
    prop::collection::btree_set(any::<u128>(), count)
        .prop_map(|ids| ids.into_iter().map(Uuid::from_u128).collect::<Vec<_>>())
        .prop_shuffle()
}

/// Currencies with 0, 2, 3 and 4 decimals.
pub fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["JPY", "TWD", "USD", "KWD", "CLF"])
        .prop_map(|code| Currency::parse(code).expect("a valid test currency"))
}

/// Positive amounts: everyday ones, whole cents, and up to the top of the range.
pub fn amount() -> impl Strategy<Value = Money> {
    prop_oneof![
        4 => 1..=100_000_000_i64,
        4 => (1..=10_000_000_i64).prop_map(|cents| cents * 100),
        1 => (1..=1_000_i64).prop_map(|units| units * 10_000),
        1 => 1..=i64::MAX,
    ]
    .prop_map(Money::from_e4)
}

/// `parts` non-negative values summing to `total` (cut points on 0..=total).
pub fn partition(total: i64, parts: usize) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(0..=total, parts.saturating_sub(1)).prop_map(move |mut cuts| {
        cuts.push(0);
        cuts.push(total);
        cuts.sort_unstable();
        cuts.windows(2).map(|pair| pair[1] - pair[0]).collect()
    })
}

/// Net balances of `2..=max_members` members summing to zero. Half the cases draw from
/// −5..=5 so that many subsets cancel (the hard case for minimal plans); the other half draw
/// from a wide range where almost none do. Some members are exactly settled.
pub fn nets(max_members: usize) -> impl Strategy<Value = BTreeMap<MemberId, Money>> {
    (2..=max_members)
        .prop_flat_map(|count| {
            let values = prop_oneof![
                prop::collection::vec(-5..=5_i64, count - 1),
                prop::collection::vec(-1_000_000..=1_000_000_i64, count - 1),
            ];
            (members(count..=count), values)
        })
        .prop_map(|(ids, values)| {
            let last = -values.iter().sum::<i64>();
            ids.into_iter()
                .zip(values.into_iter().chain([last]))
                .map(|(member, units)| (member, Money::from_e4(units * 100)))
                .collect()
        })
}
