//! Worked settlement examples. The laws (optimality against brute force, stability, zeroing,
//! ≤ n − 1) are properties in `ledger::tests::settle_props`.

use uuid::Uuid;

use super::*;

fn money(text: &str) -> Money {
    text.parse().unwrap()
}

fn member(n: u128) -> MemberId {
    Uuid::from_u128(n)
}

fn nets(list: &[(u128, &str)]) -> BTreeMap<MemberId, Money> {
    list.iter()
        .map(|&(m, net)| (member(m), money(net)))
        .collect()
}

fn transfer(from: u128, to: u128, amount: &str) -> Transfer {
    Transfer {
        from: member(from),
        to: member(to),
        amount: money(amount),
    }
}

/// Nets after everyone pays what the plan says.
fn settle(nets: &BTreeMap<MemberId, Money>, transfers: &[Transfer]) -> BTreeMap<MemberId, Money> {
    let mut after = nets.clone();
    for t in transfers {
        let from = after.get_mut(&t.from).unwrap();
        *from = from.checked_add(t.amount).unwrap();
        let to = after.get_mut(&t.to).unwrap();
        *to = to.checked_sub(t.amount).unwrap();
    }
    after
}

const A: u128 = 0xA;
const B: u128 = 0xB;
const C: u128 = 0xC;
const D: u128 = 0xD;
const E: u128 = 0xE;

#[test]
fn beats_greedy_on_the_issue_example() {
    let book = nets(&[(A, "-5"), (B, "-5"), (C, "10"), (D, "-7"), (E, "7")]);
    let plan = settlement_plan(&book).unwrap();
    assert_eq!(
        plan,
        Plan {
            transfers: vec![
                transfer(A, C, "5"),
                transfer(B, C, "5"),
                transfer(D, E, "7")
            ],
            optimal: true,
        }
    );
    // The peers' greedy (largest debtor pays largest creditor) needs four.
    assert_eq!(largest_first_greedy(&book), 4);
}

/// How many transfers SplitPro's / the "min cash flow" greedy makes: the largest debtor pays
/// the largest creditor as much as possible, repeatedly.
fn largest_first_greedy(nets: &BTreeMap<MemberId, Money>) -> usize {
    let mut values: Vec<i64> = nets.values().map(|n| n.e4()).collect();
    let mut transfers = 0;
    loop {
        let (Some(debtor), Some(creditor)) = (
            (0..values.len()).min_by_key(|&i| values[i]),
            (0..values.len()).max_by_key(|&i| values[i]),
        ) else {
            return transfers;
        };
        if values[creditor] == 0 {
            return transfers;
        }
        let amount = (-values[debtor]).min(values[creditor]);
        values[debtor] += amount;
        values[creditor] -= amount;
        transfers += 1;
    }
}

#[test]
fn the_example_stays_put_as_people_pay() {
    let book = nets(&[(A, "-5"), (B, "-5"), (C, "10"), (D, "-7"), (E, "7")]);
    let plan = settlement_plan(&book).unwrap();
    for (i, paid) in plan.transfers.iter().enumerate() {
        let mut rest = plan.transfers.clone();
        rest.remove(i);
        let after = settlement_plan(&settle(&book, &[*paid])).unwrap();
        assert_eq!(after.transfers, rest, "after paying {paid:?}");
    }
}

#[test]
fn nothing_to_settle() {
    let empty = settlement_plan(&BTreeMap::new()).unwrap();
    assert_eq!(empty.transfers, []);
    assert!(empty.optimal);
    let settled = settlement_plan(&nets(&[(A, "0"), (B, "0")])).unwrap();
    assert_eq!(settled.transfers, []);
}

#[test]
fn one_debtor_pays_everyone() {
    let book = nets(&[(A, "3"), (B, "-10"), (C, "7"), (D, "0")]);
    let plan = settlement_plan(&book).unwrap();
    assert_eq!(plan.transfers, [transfer(B, A, "3"), transfer(B, C, "7")]);
}

#[test]
fn nets_must_sum_to_zero_and_fit() {
    assert_eq!(
        settlement_plan(&nets(&[(A, "1"), (B, "-0.9999")])),
        Err(LedgerError::UnbalancedNets {
            total: money("0.0001")
        })
    );
    let huge = BTreeMap::from([
        (member(A), Money::MAX),
        (member(B), Money::MAX),
        (member(C), Money::from_e4(-i64::MAX)),
        (member(D), Money::from_e4(-i64::MAX)),
    ]);
    assert_eq!(
        settlement_plan(&huge),
        Err(LedgerError::Overflow { field: None })
    );
}

/// 20 members in ten ±k pairs: exact, one transfer per pair.
#[test]
fn twenty_members_are_planned_exactly() {
    let book: BTreeMap<_, _> = (0..20_u32)
        .map(|i| {
            let pair = i64::from(i / 2 + 1);
            let sign = if i % 2 == 0 { -1 } else { 1 };
            // Ids in a scrambled order, so pairs are not neighbours in id order.
            (
                member(u128::from(i) * 41 % 101),
                Money::from_e4(sign * pair * 10_000),
            )
        })
        .collect();
    assert_eq!(book.len(), 20);
    let plan = settlement_plan(&book).unwrap();
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 10);
    assert!(settle(&book, &plan.transfers).values().all(|n| n.is_zero()));
}

#[test]
fn above_twenty_members_the_plan_is_greedy() {
    let mut book: BTreeMap<_, _> = (1..=20).map(|i| (member(i), money("-1"))).collect();
    book.insert(member(21), money("20"));
    let plan = settlement_plan(&book).unwrap();
    assert!(!plan.optimal);
    assert_eq!(plan.transfers.len(), 20);
    assert!(settle(&book, &plan.transfers).values().all(|n| n.is_zero()));
}

#[test]
fn payments_may_not_overshoot_either_side() {
    let book = nets(&[(A, "-5"), (B, "-5"), (C, "10"), (D, "-7"), (E, "7")]);
    let plan = settlement_plan(&book).unwrap();
    assert_eq!(plan.planned(member(A), member(C)), money("5"));
    assert_eq!(plan.planned(member(A), member(E)), Money::ZERO);
    assert_eq!(
        check_payment(&book, member(A), member(C), money("5")),
        Ok(())
    );
    assert_eq!(
        check_payment(&book, member(A), member(C), money("2.5")),
        Ok(())
    );
    // Not suggested, but sensible: A owes 5, E is owed 7.
    assert_eq!(
        check_payment(&book, member(A), member(E), money("5")),
        Ok(())
    );
    assert_eq!(
        check_payment(&book, member(A), member(C), money("5.01")),
        Err(LedgerError::PaymentOvershoots {
            field: "amount",
            from: member(A),
            to: member(C),
            amount: money("5.01"),
            most: money("5")
        })
    );
    // D owes 7 but E is owed only 7 and C 10: the payee side bounds too.
    assert_eq!(
        check_payment(&book, member(D), member(E), money("7.01"))
            .unwrap_err()
            .field(),
        Some("amount")
    );
    // A creditor paying, or paying a debtor, overshoots at once.
    assert!(check_payment(&book, member(C), member(E), money("1")).is_err());
    assert!(check_payment(&book, member(A), member(B), money("1")).is_err());
    assert_eq!(
        check_payment(&book, member(A), member(A), money("1")),
        Err(LedgerError::SelfPayment {
            field: "to",
            member: member(A)
        })
    );
    assert_eq!(
        check_payment(&book, member(A), member(C), money("0")),
        Err(LedgerError::NonPositiveAmount {
            field: "amount",
            amount: Money::ZERO
        })
    );
}

#[test]
fn a_plan_serializes_for_a_settlement_snapshot() {
    let plan = settlement_plan(&nets(&[(A, "-1.5"), (B, "1.5")])).unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "transfers": [{
                "from": member(A).to_string(),
                "to": member(B).to_string(),
                "amount": "1.5"
            }],
            "optimal": true
        })
    );
}
