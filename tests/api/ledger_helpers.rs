//! Helpers for tests of money: books with members, entries, balances, and the auditor that
//! every such test runs after each mutation (`tally check`'s own function, on the test's
//! database).

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, error_code};

pub const CREATE_ENTRY: &str = r#"mutation($input: CreateEntryInput!, $key: String) {
    createEntry(input: $input, idempotencyKey: $key) { ...EntryFields }
}"#;

pub const RECORD_PAYMENT: &str = r#"mutation($input: PaymentInput!, $key: String) {
    recordPayment(input: $input, idempotencyKey: $key) { ...EntryFields }
}"#;

pub const UPDATE_ENTRY: &str = r#"mutation($id: ID!, $version: Int!, $input: EntryInput!) {
    updateEntry(id: $id, expectedVersion: $version, input: $input) { ...EntryFields }
}"#;

pub const DELETE_ENTRY: &str = r#"mutation($id: ID!, $version: Int!) {
    deleteEntry(id: $id, expectedVersion: $version) { ...EntryFields }
}"#;

pub const RESTORE_ENTRY: &str = r#"mutation($id: ID!) {
    restoreEntry(id: $id) { ...EntryFields }
}"#;

/// The fields tests read of an entry.
pub const ENTRY_FIELDS: &str = r#"fragment EntryFields on Entry {
    id bookId kind amount currency originalAmount originalCurrency exchangeRate occurredOn
    description note version isMirror sourceEntryId deletedAt
    category { id name }
    payers { member { id name } amount }
    split { mode allocations { member { id name isGuest } amount ratio shares exact adjustment base remainderUnits unit } }
    mirrors { amount currency user { id } entry { id bookId } }
}"#;

pub const BALANCES: &str = r#"query($id: ID!) {
    book(id: $id) { balances { member { id name isGuest } paid owed net status } }
}"#;

/// A document with the entry fragment appended.
pub fn with_fields(document: &str) -> String {
    format!("{document}\n{ENTRY_FIELDS}")
}

/// A SPLIT book owned by `owner` with `others` as WRITERs; returns the book id and each
/// person's seat id (owner first).
pub async fn split_book(
    app: &TestApp,
    owner: &TestUser,
    others: &[&TestUser],
    currency: &str,
) -> (String, Vec<String>) {
    let created = app
        .gql_user(
            owner,
            "mutation($input: CreateBookInput!) { createBook(input: $input) { id } }",
            json!({ "input": { "name": "Trip", "kind": "SPLIT", "currency": currency } }),
        )
        .await;
    let book = created["data"]["createBook"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createBook failed: {created}"))
        .to_owned();
    for other in others {
        join(app, owner, &book, other, "WRITER").await;
    }
    let seats = seats(app, owner, &book).await;
    let mut ids = vec![seat_of(&seats, &owner.id)];
    ids.extend(others.iter().map(|other| seat_of(&seats, &other.id)));
    (book, ids)
}

/// `user` joins `book` through an invite made by `inviter` with `role`.
pub async fn join(app: &TestApp, inviter: &TestUser, book: &str, user: &TestUser, role: &str) {
    let invite = app
        .gql_user(
            inviter,
            "mutation($b: ID!, $r: Role) { createInvite(bookId: $b, role: $r) { code } }",
            json!({ "b": book, "r": role }),
        )
        .await;
    let code = invite["data"]["createInvite"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("createInvite failed: {invite}"));
    let joined = app
        .gql_user(
            user,
            "mutation($c: String!) { joinBook(code: $c) { id } }",
            json!({ "c": code }),
        )
        .await;
    assert!(
        joined["data"]["joinBook"].is_object(),
        "joinBook failed: {joined}"
    );
}

/// The book's live members as `(seat id, user id or null, name)` JSON.
pub async fn seats(app: &TestApp, viewer: &TestUser, book: &str) -> Vec<Value> {
    let response = app
        .gql_user(
            viewer,
            "query($id: ID!) { book(id: $id) { members { id name isGuest user { id } } } }",
            json!({ "id": book }),
        )
        .await;
    response["data"]["book"]["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members failed: {response}"))
        .clone()
}

fn seat_of(seats: &[Value], user_id: &str) -> String {
    seats
        .iter()
        .find(|seat| seat["user"]["id"] == user_id)
        .and_then(|seat| seat["id"].as_str())
        .unwrap_or_else(|| panic!("no seat for {user_id} in {seats:?}"))
        .to_owned()
}

/// The caller's PERSONAL book id.
pub async fn personal_book(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .gql_user(
            user,
            "{ books(kind: PERSONAL) { nodes { id } } }",
            json!({}),
        )
        .await;
    response["data"]["books"]["nodes"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no personal book: {response}"))
        .to_owned()
}

/// Runs `document` (a mutation using the entry fragment) as `user` and returns the whole
/// response, after checking every book's balances against its entries.
pub async fn mutate(app: &TestApp, user: &TestUser, document: &str, variables: Value) -> Value {
    let response = app.gql_user(user, &with_fields(document), variables).await;
    assert_books_balance(app).await;
    response
}

/// `createEntry` that must succeed; returns the entry.
pub async fn create_entry(app: &TestApp, user: &TestUser, input: Value) -> Value {
    let response = mutate(app, user, CREATE_ENTRY, json!({ "input": input })).await;
    let entry = &response["data"]["createEntry"];
    assert!(entry.is_object(), "createEntry failed: {response}");
    entry.clone()
}

/// Every book's materialised balances equal the ones recomputed from its entries, and every
/// book's nets sum to zero: `tally check`, on this test's database.
pub async fn assert_books_balance(app: &TestApp) {
    let report = tally::check::run(&app.db).await.expect("run the check");
    assert!(report.is_clean(), "tally check found: {report}");
}

const SUGGESTIONS: &str = r#"query($id: ID!) { book(id: $id) { settlementSuggestions {
    optimal balanceVersion transfers { from { id } to { id } amount } } } }"#;

/// The book's settlement plan as `viewer` sees it, with the balance version it settles.
pub async fn suggestions(app: &TestApp, viewer: &TestUser, book: &str) -> Value {
    let response = app
        .gql_user(viewer, SUGGESTIONS, json!({ "id": book }))
        .await;
    let found = response["data"]["book"]["settlementSuggestions"].clone();
    assert!(found.is_object(), "{response}");
    found
}

/// The book's balances as (seat id → net) plus the full JSON.
pub async fn balances(app: &TestApp, viewer: &TestUser, book: &str) -> Vec<Value> {
    let response = app.gql_user(viewer, BALANCES, json!({ "id": book })).await;
    response["data"]["book"]["balances"]
        .as_array()
        .unwrap_or_else(|| panic!("balances failed: {response}"))
        .clone()
}

/// The net of `seat` in `balances`, as text.
pub fn net_of(balances: &[Value], seat: &str) -> String {
    balances
        .iter()
        .find(|row| row["member"]["id"] == seat)
        .and_then(|row| row["net"].as_str())
        .unwrap_or_else(|| panic!("no balance for {seat} in {balances:?}"))
        .to_owned()
}

/// Σ nets of `balances`, exactly (in ten-thousandths).
pub fn sum_of_nets(balances: &[Value]) -> i64 {
    balances
        .iter()
        .map(|row| {
            row["net"]
                .as_str()
                .expect("net is a string")
                .parse::<tally::ledger::Money>()
                .expect("net is money")
                .e4()
        })
        .sum()
}

/// Asserts `response` failed with `code` (and, when given, `extensions.field`).
pub fn assert_refused(response: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(response), Some(code), "{response}");
    if let Some(field) = field {
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
}
