//! Settling up over HTTP: suggested payments that are minimal and settle every balance, and
//! recorded payments that never overshoot, write once per key, and cannot be edited.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::ledger_helpers::*;

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
    // A seat of another book, on either side, is not a member here.
    let (_, other_seats) = split_book(&app, ben, &[], "TWD").await;
    let stranger = json!(other_seats[0]);
    for (from, to, field) in [
        (&stranger, &json!(s[2]), "from"),
        (&json!(s[1]), &stranger, "to"),
    ] {
        let input = payment(&book, from, to, &json!("1"));
        let response = mutate(&app, ben, RECORD_PAYMENT, json!({ "input": input })).await;
        assert_refused(&response, "BAD_USER_INPUT", Some(field));
    }

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

const CREATE_SETTLEMENT: &str = r#"mutation($b: ID!, $start: Date!, $end: Date!, $note: String) {
    createSettlement(bookId: $b, periodStart: $start, periodEnd: $end, note: $note) {
        id periodStart periodEnd note entryCount optimal overlaps
        balances { member { id } paid owed net } transfers { from { id } to { id } amount } } }"#;

#[tokio::test]
async fn a_settlement_snapshot_never_changes_afterwards() {
    let app = TestApp::spawn().await;
    let (users, book, _) = five_member_book(&app).await;
    let ann = &users[0];
    let november =
        json!({ "b": book, "start": "2026-11-01", "end": "2026-11-30", "note": "November" });
    let created = app.gql_user(ann, CREATE_SETTLEMENT, november.clone()).await;
    let snapshot = created["data"]["createSettlement"].clone();
    assert_eq!(snapshot["entryCount"], 2, "{created}");
    assert_eq!(snapshot["transfers"].as_array().unwrap().len(), 3);
    assert_eq!(snapshot["optimal"], true);
    assert_eq!(snapshot["note"], "November");

    // Later entries, and edits and deletions of the period's own, leave it as it was.
    let entry = create_entry(
        &app,
        ann,
        json!({ "bookId": book, "amount": "50", "occurredOn": "2026-11-25", "description": "Late" }),
    )
    .await;
    mutate(
        &app,
        ann,
        DELETE_ENTRY,
        json!({ "id": entry["id"], "version": 1 }),
    )
    .await;
    let page = app
        .gql_user(ann, "query($id: ID!) { book(id: $id) { entries(orderBy: CREATED_AT_DESC) { nodes { id version } } } }", json!({ "id": book }))
        .await;
    let first = &page["data"]["book"]["entries"]["nodes"][0];
    let edit = json!({ "id": first["id"], "version": first["version"], "input": {
        "amount": "99", "occurredOn": "2026-11-20", "description": "Changed" } });
    mutate(&app, ann, UPDATE_ENTRY, edit).await;
    let id = snapshot["id"].as_str().unwrap();
    let read = app
        .gql_user(ann, "query($id: ID!) { settlement(id: $id) { id periodStart periodEnd note entryCount optimal overlaps balances { member { id } paid owed net } transfers { from { id } to { id } amount } } }", json!({ "id": id }))
        .await;
    assert_eq!(read["data"]["settlement"], snapshot, "{read}");

    // An overlapping period is allowed and labelled; a backwards or overlong one is refused.
    let overlapping = app
        .gql_user(
            ann,
            CREATE_SETTLEMENT,
            json!({ "b": book, "start": "2026-11-15", "end": "2026-12-15" }),
        )
        .await;
    assert_eq!(
        overlapping["data"]["createSettlement"]["overlaps"],
        json!([id]),
        "{overlapping}"
    );
    let backwards = app
        .gql_user(
            ann,
            CREATE_SETTLEMENT,
            json!({ "b": book, "start": "2026-11-30", "end": "2026-11-01" }),
        )
        .await;
    assert_refused(&backwards, "BAD_USER_INPUT", Some("periodEnd"));
    let overlong = app
        .gql_user(
            ann,
            CREATE_SETTLEMENT,
            json!({ "b": book, "start": "2000-01-01", "end": "2010-01-02" }),
        )
        .await;
    assert_refused(&overlong, "BAD_USER_INPUT", Some("periodEnd"));
    // WRITERs read settlements but do not make them.
    let writer = app.gql_user(&users[1], CREATE_SETTLEMENT, november).await;
    assert_refused(&writer, "FORBIDDEN", None);
    let listed = app
        .gql_user(
            &users[1],
            "query($id: ID!) { book(id: $id) { settlements { nodes { id } } } }",
            json!({ "id": book }),
        )
        .await;
    assert_eq!(
        listed["data"]["book"]["settlements"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{listed}"
    );
}
