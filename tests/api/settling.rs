//! Settling up over HTTP: suggested payments that are minimal and settle every balance, and
//! recorded payments that never overshoot, write once per key, and cannot be edited.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::ledger_helpers::*;

const SUGGESTIONS: &str = r#"query($id: ID!) { book(id: $id) { settlementSuggestions {
    optimal balanceVersion transfers { from { id } to { id } amount } } } }"#;

const RECORD_PAYMENT: &str = r#"mutation($input: PaymentInput!, $key: String) {
    recordPayment(input: $input, idempotencyKey: $key) { ...EntryFields }
}"#;

async fn suggestions(app: &TestApp, user: &TestUser, book: &str) -> Value {
    let response = app.gql_user(user, SUGGESTIONS, json!({ "id": book })).await;
    let found = response["data"]["book"]["settlementSuggestions"].clone();
    assert!(found.is_object(), "{response}");
    found
}

fn payment(book: &str, from: &Value, to: &Value, amount: &Value) -> Value {
    json!({ "bookId": book, "from": from, "to": to, "amount": amount, "occurredOn": "2026-11-22" })
}

/// The five-member book of the ledger's docs: A −5, B −5, C +10, D −7, E +7.
async fn five_member_book(app: &TestApp) -> (Vec<TestUser>, String, Vec<String>) {
    let mut users = Vec::new();
    for name in ["Ann", "Ben", "Cat", "Dan", "Eve"] {
        users.push(app.register(name).await);
    }
    let others: Vec<&TestUser> = users[1..].iter().collect();
    let (book, s) = split_book(app, &users[0], &others, "TWD").await;
    let exact = |payer: &String, pairs: &[(&String, &str)], amount: &str| {
        json!({ "bookId": book, "amount": amount, "occurredOn": "2026-11-20", "description": "Setup",
                "payers": [{ "memberId": payer, "amount": amount }],
                "split": { "mode": "EXACT", "members": pairs.iter()
                    .map(|(seat, value)| json!({ "memberId": seat, "value": value }))
                    .collect::<Vec<_>>() } })
    };
    create_entry(
        app,
        &users[0],
        exact(&s[2], &[(&s[0], "5"), (&s[1], "5")], "10"),
    )
    .await;
    create_entry(app, &users[0], exact(&s[4], &[(&s[3], "7")], "7")).await;
    (users, book, s)
}

#[tokio::test]
async fn the_suggested_payments_are_the_fewest_and_settle_everyone() {
    let app = TestApp::spawn().await;
    let (users, book, s) = five_member_book(&app).await;
    let now = balances(&app, &users[0], &book).await;
    let nets: Vec<String> = s.iter().map(|seat| net_of(&now, seat)).collect();
    assert_eq!(nets, ["-5.00", "-5.00", "10.00", "-7.00", "7.00"]);
    let plan = suggestions(&app, &users[0], &book).await;
    assert_eq!(plan["optimal"], true);
    assert_eq!(plan["transfers"].as_array().unwrap().len(), 3, "{plan}");
    // The same balances are served from the cache: same version, same plan.
    assert_eq!(suggestions(&app, &users[1], &book).await, plan);

    for transfer in plan["transfers"].as_array().unwrap() {
        let response = mutate(
            &app,
            &users[0],
            RECORD_PAYMENT,
            json!({ "input": payment(&book, &transfer["from"]["id"], &transfer["to"]["id"], &transfer["amount"]) }),
        )
        .await;
        assert_eq!(
            response["data"]["recordPayment"]["kind"], "TRANSFER",
            "{response}"
        );
    }
    let settled = balances(&app, &users[0], &book).await;
    assert!(
        settled.iter().all(|row| row["net"] == "0.00"),
        "{settled:?}"
    );
    let after = suggestions(&app, &users[0], &book).await;
    assert!(after["transfers"].as_array().unwrap().is_empty());
    assert_ne!(after["balanceVersion"], plan["balanceVersion"]);
}

#[tokio::test]
async fn payments_never_overshoot_unless_allowed_and_write_once_per_key() {
    let app = TestApp::spawn().await;
    let (users, book, s) = five_member_book(&app).await;
    let (ann, ben, cat) = (&users[0], &users[1], &users[2]);
    // Ann owes 5 and Eve is owed 7: paying Eve is fine though the plan pairs Ann with Cat.
    let fine = mutate(
        &app,
        ann,
        RECORD_PAYMENT,
        json!({ "input": payment(&book, &json!(s[0]), &json!(s[4]), &json!("5")) }),
    )
    .await;
    assert!(fine["errors"].is_null(), "{fine}");
    // Ben owes 5: paying 6 would make him a creditor.
    let over = payment(&book, &json!(s[1]), &json!(s[2]), &json!("6"));
    let before = app.count("entries", "true").await;
    let refused = mutate(&app, ben, RECORD_PAYMENT, json!({ "input": over })).await;
    assert_refused(&refused, "CONFLICT", None);
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 5"),
        "{refused}"
    );
    assert_eq!(app.count("entries", "true").await, before);
    let mut deliberate = over.clone();
    deliberate["allowOverpay"] = json!(true);
    let allowed = mutate(
        &app,
        ben,
        RECORD_PAYMENT,
        json!({ "input": deliberate, "key": "ben-pays" }),
    )
    .await;
    assert!(allowed["errors"].is_null(), "{allowed}");
    let again = mutate(
        &app,
        ben,
        RECORD_PAYMENT,
        json!({ "input": deliberate, "key": "ben-pays" }),
    )
    .await;
    assert_eq!(
        again["data"]["recordPayment"]["id"],
        allowed["data"]["recordPayment"]["id"]
    );
    assert_eq!(app.count("entries", "true").await, before + 1);

    // Bad input names its field.
    let myself = mutate(
        &app,
        ben,
        RECORD_PAYMENT,
        json!({ "input": payment(&book, &json!(s[1]), &json!(s[1]), &json!("1")) }),
    )
    .await;
    assert_refused(&myself, "BAD_USER_INPUT", Some("to"));
    let nothing = mutate(
        &app,
        ben,
        RECORD_PAYMENT,
        json!({ "input": payment(&book, &json!(s[1]), &json!(s[2]), &json!("0")) }),
    )
    .await;
    assert_refused(&nothing, "BAD_USER_INPUT", Some("amount"));

    // A WRITER records only payments they make or receive; payments cannot be edited, and only
    // managers delete them.
    let others = mutate(
        &app,
        cat,
        RECORD_PAYMENT,
        json!({ "input": payment(&book, &json!(s[3]), &json!(s[4]), &json!("1")) }),
    )
    .await;
    assert_refused(&others, "FORBIDDEN", None);
    let id = &allowed["data"]["recordPayment"]["id"];
    let edit = json!({ "id": id, "version": 1, "input": { "amount": "4", "occurredOn": "2026-11-22", "description": "Payment" } });
    let edited = mutate(&app, ann, UPDATE_ENTRY, edit).await;
    assert_refused(&edited, "CONFLICT", None);
    let deleted = mutate(&app, ben, DELETE_ENTRY, json!({ "id": id, "version": 1 })).await;
    assert_refused(&deleted, "FORBIDDEN", None);
}
