//! Edge cases of every split mode. The general laws (sums, fairness, order independence) are
//! properties in `ledger::tests::split_props`.

use uuid::Uuid;

use super::*;

fn money(text: &str) -> Money {
    text.parse().unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn member(n: u128) -> MemberId {
    Uuid::from_u128(n)
}

const ENTRY: EntryId = Uuid::from_u128(0xE);

/// The amounts, sorted, as text: the shape of a split without who got the odd cent.
fn sorted_amounts(split: &[Allocation]) -> Vec<String> {
    let mut amounts: Vec<Money> = split.iter().map(|a| a.amount).collect();
    amounts.sort();
    amounts.iter().map(Money::to_string).collect()
}

fn equal(n: u128) -> SplitRule {
    SplitRule::Equal {
        members: (1..=n).map(member).collect(),
    }
}

#[test]
fn one_member_takes_all_in_every_mode() {
    let amount = money("123.45");
    let only = member(1);
    let rules = [
        equal(1),
        SplitRule::Ratio(vec![(only, Percent::HUNDRED)]),
        SplitRule::Shares(vec![(only, Weight::from_e4(3))]),
        SplitRule::Exact(vec![(only, amount)]),
        SplitRule::Adjustment(vec![(only, money("-5"))]),
    ];
    for rule in rules {
        let split = allocate(ENTRY, amount, currency("TWD"), &rule).unwrap();
        assert_eq!(split.len(), 1, "{rule:?}");
        assert_eq!(split[0].member, only);
        assert_eq!(split[0].amount, amount, "{rule:?}");
    }
}

#[test]
fn one_cent_among_three_goes_to_one_member() {
    let split = allocate(ENTRY, money("0.01"), currency("TWD"), &equal(3)).unwrap();
    assert_eq!(sorted_amounts(&split), ["0", "0", "0.01"]);
    let winner = split.iter().find(|a| a.amount == money("0.01")).unwrap();
    assert_eq!(
        (winner.base, winner.remainder_units, winner.unit),
        (Money::ZERO, 1, money("0.01"))
    );
}

#[test]
fn yen_has_no_minor_unit() {
    let split = allocate(ENTRY, money("100"), currency("JPY"), &equal(3)).unwrap();
    assert_eq!(sorted_amounts(&split), ["33", "33", "34"]);
    assert!(split.iter().all(|a| a.unit == money("1")));
    let split = allocate(ENTRY, money("2"), currency("JPY"), &equal(3)).unwrap();
    assert_eq!(sorted_amounts(&split), ["0", "1", "1"]);
}

#[test]
fn dinar_has_three_decimals() {
    let split = allocate(ENTRY, money("1"), currency("KWD"), &equal(3)).unwrap();
    assert_eq!(sorted_amounts(&split), ["0.333", "0.333", "0.334"]);
    assert!(split.iter().all(|a| a.unit == money("0.001")));
}

#[test]
fn amounts_finer_than_the_minor_unit_split_in_ten_thousandths() {
    let split = allocate(ENTRY, money("123.4567"), currency("USD"), &equal(2)).unwrap();
    assert_eq!(sorted_amounts(&split), ["61.7283", "61.7284"]);
    assert!(split.iter().all(|a| a.unit == Money::from_e4(1)));
    // A fractional yen amount also falls back to ten-thousandths.
    let split = allocate(ENTRY, money("10.5"), currency("JPY"), &equal(4)).unwrap();
    assert_eq!(sorted_amounts(&split), ["2.625", "2.625", "2.625", "2.625"]);
}

#[test]
fn equal_split_excludes_members_not_listed() {
    let rule = SplitRule::Equal {
        members: vec![member(1), member(3)],
    };
    let split = allocate(ENTRY, money("10"), currency("TWD"), &rule).unwrap();
    assert_eq!(
        split.iter().map(|a| a.member).collect::<Vec<_>>(),
        [member(1), member(3)]
    );
    assert_eq!(sorted_amounts(&split), ["5", "5"]);
}

#[test]
fn the_same_entry_always_splits_the_same_way() {
    let first = allocate(ENTRY, money("100"), currency("TWD"), &equal(7)).unwrap();
    for _ in 0..10 {
        assert_eq!(
            allocate(ENTRY, money("100"), currency("TWD"), &equal(7)).unwrap(),
            first
        );
    }
}

#[test]
fn ratio_of_one_hundred_percent_in_one_member() {
    let rule = SplitRule::Ratio(vec![
        (member(1), Percent::from_e4(0)),
        (member(2), Percent::HUNDRED),
        (member(3), Percent::from_e4(0)),
    ]);
    let split = allocate(ENTRY, money("99.99"), currency("TWD"), &rule).unwrap();
    let amounts: Vec<_> = split.iter().map(|a| a.amount.to_string()).collect();
    assert_eq!(amounts, ["0", "99.99", "0"]);
}

#[test]
fn ratio_with_four_decimal_percentages() {
    let rule = SplitRule::Ratio(vec![
        (member(1), "33.3333".parse().unwrap()),
        (member(2), "33.3333".parse().unwrap()),
        (member(3), "33.3334".parse().unwrap()),
    ]);
    let split = allocate(ENTRY, money("100"), currency("TWD"), &rule).unwrap();
    // Exact shares 33.3333, 33.3333, 33.3334 → cents 33.33, 33.33, 33.33 + the leftover cent,
    // which goes to the largest remainder (member 3's 0.0034 beats 0.0033).
    let amounts: Vec<_> = split.iter().map(|a| a.amount.to_string()).collect();
    assert_eq!(amounts, ["33.33", "33.33", "33.34"]);
}

#[test]
fn ratio_errors_name_the_member_and_the_total() {
    let rule = SplitRule::Ratio(vec![
        (member(1), "50".parse().unwrap()),
        (member(2), "49.9999".parse().unwrap()),
    ]);
    assert_eq!(
        allocate(ENTRY, money("1"), currency("TWD"), &rule),
        Err(LedgerError::PercentTotal {
            field: "split",
            total: "99.9999".parse().unwrap()
        })
    );
    for bad in ["-1", "100.0001"] {
        let rule = SplitRule::Ratio(vec![
            (member(1), "50".parse().unwrap()),
            (member(2), bad.parse().unwrap()),
        ]);
        assert_eq!(
            allocate(ENTRY, money("1"), currency("TWD"), &rule),
            Err(LedgerError::PercentOutOfRange {
                field: "split",
                member: member(2),
                percent: bad.parse().unwrap()
            })
        );
    }
}

#[test]
fn shares_take_decimal_weights_like_meter_readings() {
    let rule = SplitRule::Shares(vec![
        (member(1), "1234.5".parse().unwrap()),
        (member(2), "765.5".parse().unwrap()),
    ]);
    // 1000 TWD by 1234.5 : 765.5 (of 2000) → 617.25 and 382.75 exactly.
    let split = allocate(ENTRY, money("1000"), currency("TWD"), &rule).unwrap();
    let amounts: Vec<_> = split.iter().map(|a| a.amount.to_string()).collect();
    assert_eq!(amounts, ["617.25", "382.75"]);
    assert!(split.iter().all(|a| a.remainder_units == 0));
}

#[test]
fn shares_must_be_positive() {
    for bad in ["0", "-2"] {
        let rule = SplitRule::Shares(vec![
            (member(1), "1".parse().unwrap()),
            (member(2), bad.parse().unwrap()),
        ]);
        assert_eq!(
            allocate(ENTRY, money("10"), currency("TWD"), &rule),
            Err(LedgerError::NonPositiveWeight {
                field: "split",
                member: member(2),
                weight: bad.parse().unwrap()
            })
        );
    }
}

#[test]
fn exact_amounts_are_taken_as_given() {
    let rule = SplitRule::Exact(vec![
        (member(1), money("0")),
        (member(2), money("7.3333")),
        (member(3), money("2.6667")),
    ]);
    let split = allocate(ENTRY, money("10"), currency("TWD"), &rule).unwrap();
    let amounts: Vec<_> = split.iter().map(|a| a.amount.to_string()).collect();
    assert_eq!(amounts, ["0", "7.3333", "2.6667"]);
}

#[test]
fn exact_amounts_must_total_the_amount_and_not_be_negative() {
    let rule = SplitRule::Exact(vec![(member(1), money("4")), (member(2), money("5.99"))]);
    assert_eq!(
        allocate(ENTRY, money("10"), currency("TWD"), &rule),
        Err(LedgerError::ExactTotal {
            field: "split",
            expected: money("10"),
            total: money("9.99")
        })
    );
    let rule = SplitRule::Exact(vec![(member(1), money("11")), (member(2), money("-1"))]);
    assert_eq!(
        allocate(ENTRY, money("10"), currency("TWD"), &rule),
        Err(LedgerError::NegativeExactAmount {
            field: "split",
            member: member(2),
            amount: money("-1")
        })
    );
    let rule = SplitRule::Exact(vec![(member(1), Money::MAX), (member(2), Money::MAX)]);
    assert_eq!(
        allocate(ENTRY, money("10"), currency("TWD"), &rule),
        Err(LedgerError::Overflow {
            field: Some("split")
        })
    );
}

#[test]
fn adjustments_then_the_rest_equally() {
    // 100 with +10 for member 1: the other 90 splits 30/30/30.
    let rule = SplitRule::Adjustment(vec![
        (member(1), money("10")),
        (member(2), money("0")),
        (member(3), money("0")),
    ]);
    let split = allocate(ENTRY, money("100"), currency("TWD"), &rule).unwrap();
    let amounts: Vec<_> = split.iter().map(|a| a.amount.to_string()).collect();
    assert_eq!(amounts, ["40", "30", "30"]);
    assert_eq!(split[0].base, money("40"));
}

#[test]
fn adjustments_may_exceed_the_amount_if_no_share_goes_negative() {
    // 30 with +20 and +20: the rest is −10, so each gets 20 − 5.
    let rule = SplitRule::Adjustment(vec![(member(1), money("20")), (member(2), money("20"))]);
    let split = allocate(ENTRY, money("30"), currency("TWD"), &rule).unwrap();
    assert_eq!(sorted_amounts(&split), ["15", "15"]);
    // An odd rest still sums exactly: 30.01 − 40 = −9.99 → −5.00 and −4.99.
    let split = allocate(ENTRY, money("30.01"), currency("TWD"), &rule).unwrap();
    assert_eq!(sorted_amounts(&split), ["15", "15.01"]);
}

#[test]
fn a_discount_larger_than_the_equal_part_is_refused() {
    // 30 among 3 with −20 for member 1: the rest 50 gives 16.67/16.67/16.66, so member 1 would
    // owe about −3.33.
    let rule = SplitRule::Adjustment(vec![
        (member(1), money("-20")),
        (member(2), money("0")),
        (member(3), money("0")),
    ]);
    let error = allocate(ENTRY, money("30"), currency("TWD"), &rule).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::NegativeShare { field: "split", member: m, share }
                if m == member(1) && (share == money("-3.33") || share == money("-3.34"))
        ),
        "{error:?}"
    );
    assert_eq!(error.member(), Some(member(1)));
}

#[test]
fn member_lists_must_be_non_empty_and_distinct() {
    assert_eq!(
        allocate(
            ENTRY,
            money("1"),
            currency("TWD"),
            &SplitRule::Equal { members: vec![] }
        ),
        Err(LedgerError::NoMembers { field: "split" })
    );
    let rule = SplitRule::Shares(vec![
        (member(1), Weight::from_e4(1)),
        (member(2), Weight::from_e4(1)),
        (member(1), Weight::from_e4(1)),
    ]);
    assert_eq!(
        allocate(ENTRY, money("1"), currency("TWD"), &rule),
        Err(LedgerError::DuplicateMember {
            field: "split",
            member: member(1)
        })
    );
}

#[test]
fn the_amount_must_be_positive() {
    for amount in ["0", "-1"] {
        assert_eq!(
            allocate(ENTRY, money(amount), currency("TWD"), &equal(2)),
            Err(LedgerError::NonPositiveAmount {
                field: "amount",
                amount: money(amount)
            })
        );
    }
}

#[test]
fn extreme_amounts_do_not_overflow() {
    let split = allocate(ENTRY, Money::MAX, currency("TWD"), &equal(3)).unwrap();
    assert_eq!(
        Money::checked_sum(split.iter().map(|a| a.amount)),
        Ok(Money::MAX)
    );
    let rule = SplitRule::Shares(vec![
        (member(1), Weight::from_e4(i64::MAX)),
        (member(2), Weight::from_e4(i64::MAX - 1)),
    ]);
    let split = allocate(ENTRY, Money::MAX, currency("KWD"), &rule).unwrap();
    assert_eq!(
        Money::checked_sum(split.iter().map(|a| a.amount)),
        Ok(Money::MAX)
    );
    // A share beyond the range of Money is an overflow blamed on the split, not a wrap:
    // the rest is MAX + 1, so member 1's share would be MAX + (MAX + 1) / 2.
    let rule = SplitRule::Adjustment(vec![(member(1), Money::MAX), (member(2), Money::MIN)]);
    assert_eq!(
        allocate(ENTRY, Money::MAX, currency("TWD"), &rule),
        Err(LedgerError::Overflow {
            field: Some("split")
        })
    );
}
