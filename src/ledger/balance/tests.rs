//! Worked examples of each entry kind and of applying, removing and replacing effects. The laws
//! (Σ nets = 0, agreement with a naive model) are properties in `ledger::tests::balance_props`.

use uuid::Uuid;

use super::*;

fn money(text: &str) -> Money {
    text.parse().unwrap()
}

const A: MemberId = Uuid::from_u128(0xA);
const B: MemberId = Uuid::from_u128(0xB);
const C: MemberId = Uuid::from_u128(0xC);

fn effect(kind: EntryKind, payers: &[(MemberId, &str)], split: &[(MemberId, &str)]) -> EntryEffect {
    let parse = |list: &[(MemberId, &str)]| list.iter().map(|&(m, a)| (m, money(a))).collect();
    EntryEffect {
        kind,
        payers: parse(payers),
        allocations: parse(split),
    }
}

fn nets(book: &BTreeMap<MemberId, Balance>) -> Vec<(MemberId, String)> {
    book.iter().map(|(&m, b)| (m, b.net.to_string())).collect()
}

#[test]
fn an_expense_with_two_payers() {
    // A paid 60 and B 30 for dinner shared by all three (30 each).
    let dinner = effect(
        EntryKind::Expense,
        &[(A, "60"), (B, "30")],
        &[(A, "30"), (B, "30"), (C, "30")],
    );
    let book = balances([&dinner]).unwrap();
    assert_eq!(
        book[&A],
        Balance {
            paid: money("60"),
            owed: money("30"),
            net: money("30")
        }
    );
    assert_eq!(
        nets(&book),
        [(A, "30".into()), (B, "0".into()), (C, "-30".into())]
    );
    assert_eq!(book[&A].status(), BalanceStatus::Owed);
    assert_eq!(book[&B].status(), BalanceStatus::Settled);
    assert_eq!(book[&C].status(), BalanceStatus::Owes);
}

#[test]
fn a_transfer_settles_a_debt() {
    let lunch = effect(EntryKind::Expense, &[(A, "20")], &[(A, "10"), (B, "10")]);
    let payback = effect(EntryKind::Transfer, &[(B, "10")], &[(A, "10")]);
    let book = balances([&lunch, &payback]).unwrap();
    assert!(book.values().all(|b| b.status() == BalanceStatus::Settled));
    assert_eq!(book[&B].paid, money("10"));
    assert_eq!(book[&A].owed, money("20"));
}

#[test]
fn income_is_a_negated_expense() {
    // A received a 30 refund that belongs to A and B equally: A now holds B's 15.
    let refund = effect(EntryKind::Income, &[(A, "30")], &[(A, "15"), (B, "15")]);
    let book = balances([&refund]).unwrap();
    assert_eq!(
        book[&A],
        Balance {
            paid: money("-30"),
            owed: money("-15"),
            net: money("-15")
        }
    );
    assert_eq!(book[&B].net, money("15"));
    let expense = effect(EntryKind::Expense, &[(A, "30")], &[(A, "15"), (B, "15")]);
    let both = balances([&refund, &expense]).unwrap();
    assert!(both.values().all(|b| *b == Balance::ZERO));
}

#[test]
fn delta_merges_a_member_who_paid_and_shares() {
    let dinner = effect(
        EntryKind::Expense,
        &[(B, "9")],
        &[(C, "3"), (B, "3"), (A, "3")],
    );
    let delta = dinner.delta().unwrap();
    let members: Vec<_> = delta.iter().map(|&(m, _)| m).collect();
    assert_eq!(members, [A, B, C]);
    assert_eq!(delta[1].1, Balance::new(money("9"), money("3")).unwrap());
}

#[test]
fn unbalanced_effects_are_refused() {
    let bad = effect(EntryKind::Expense, &[(A, "10")], &[(B, "9.99")]);
    assert_eq!(
        balances([&bad]),
        Err(LedgerError::UnbalancedEffect {
            paid: money("10"),
            allocated: money("9.99")
        })
    );
}

#[test]
fn unapply_undoes_apply() {
    let first = effect(EntryKind::Expense, &[(A, "10")], &[(A, "5"), (B, "5")]);
    let second = effect(EntryKind::Income, &[(B, "4")], &[(A, "1"), (C, "3")]);
    let mut book = balances([&first]).unwrap();
    let before = book.clone();
    apply_effect(&mut book, &second).unwrap();
    assert_ne!(book, before);
    unapply_effect(&mut book, &second).unwrap();
    // C stays listed with a zero balance: members do not vanish when an entry is deleted.
    assert_eq!(book[&C], Balance::ZERO);
    book.remove(&C);
    assert_eq!(book, before);
}

#[test]
fn replace_is_an_edit() {
    let old = effect(EntryKind::Expense, &[(A, "10")], &[(A, "5"), (B, "5")]);
    let new = effect(EntryKind::Expense, &[(A, "12")], &[(A, "4"), (C, "8")]);
    let mut book = balances([&old]).unwrap();
    replace_effect(&mut book, &old, &new).unwrap();
    let mut expected = balances([&new]).unwrap();
    expected.insert(B, Balance::ZERO);
    assert_eq!(book, expected);
}

#[test]
fn a_failed_update_leaves_the_balances_untouched() {
    // B paid and owes the maximum: one more cent owed overflows.
    let huge = EntryEffect {
        kind: EntryKind::Expense,
        payers: vec![(B, Money::MAX)],
        allocations: vec![(B, Money::MAX)],
    };
    let small = effect(EntryKind::Expense, &[(A, "1")], &[(B, "1")]);
    let mut book = balances([&huge]).unwrap();
    let before = book.clone();
    // A (staged first, in id order) is fine; B overflows; neither may be written.
    let error = apply_effect(&mut book, &small).unwrap_err();
    assert_eq!(error, LedgerError::Overflow { field: None });
    assert_eq!(book, before);
    assert_eq!(replace_effect(&mut book, &small, &huge), Err(error));
    assert_eq!(book, before);
}

#[test]
fn audit_catches_corrupted_rows() {
    let dinner = effect(EntryKind::Expense, &[(A, "10")], &[(A, "5"), (B, "5")]);
    let mut book = balances([&dinner]).unwrap();
    assert_eq!(audit(&book), Ok(()));
    book.get_mut(&A).unwrap().net = money("4");
    assert_eq!(
        audit(&book),
        Err(LedgerError::InconsistentBalance { member: A })
    );
    book.insert(A, Balance::new(money("10"), money("6")).unwrap());
    assert_eq!(
        audit(&book),
        Err(LedgerError::UnbalancedNets { total: money("-1") })
    );
    assert_eq!(
        net_balances(&book),
        BTreeMap::from([(A, money("4")), (B, money("-5"))])
    );
}
