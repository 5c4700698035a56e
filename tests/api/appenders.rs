//! Many writers in one book at once. A new entry only adds to its book, so on PostgreSQL it
//! locks the book as an appender (`FOR KEY SHARE`) and new entries are written side by side;
//! every other write (a payment, an edit, a role change) locks the book exclusively. These
//! tests hold the modes to that, and check that writers racing in every mode leave balances
//! that equal their entries and a balance version moved once per change.

use std::time::Duration;

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

use crate::{
    books::UPDATE_BOOK,
    helpers::{TestApp, TestUser, error_code},
    ledger_helpers::*,
    members::CHANGE_ROLE,
};

/// How long a request that must not wait may take before the test calls it stuck. Generous:
/// it only tells a blocked request from a slow one.
const STUCK: Duration = Duration::from_secs(30);

/// The input of an entry of `amount` paid by its creator, split EQUAL among `seats`.
fn shared(book: &str, amount: &str, seats: &[&String]) -> Value {
    let members: Vec<Value> = seats
        .iter()
        .map(|seat| json!({ "memberId": seat }))
        .collect();
    json!({ "bookId": book, "amount": amount, "occurredOn": "2026-12-05",
        "description": "Shared", "split": { "mode": "EQUAL", "members": members } })
}

async fn balance_version(app: &TestApp, viewer: &TestUser, book: &str) -> i64 {
    let plan = suggestions(app, viewer, book).await;
    plan["balanceVersion"]
        .as_i64()
        .unwrap_or_else(|| panic!("no balance version: {plan}"))
}

/// PostgreSQL only (SQLite has one writer, and no row locks to hold): while another
/// transaction holds the book as an appender does, a new entry still goes through, and an
/// exclusive writer waits until that transaction ends.
#[tokio::test]
async fn an_open_appender_lets_new_entries_through_and_holds_exclusive_writers() {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, seats) = split_book(&app, &alice, &[&bob], "EUR").await;
    let appender = app.db.begin().await.expect("begin");
    appender
        .execute_unprepared(&format!(
            "SELECT id FROM books WHERE id = '{book}' FOR KEY SHARE"
        ))
        .await
        .expect("hold the book as an appender");

    let document = with_fields(CREATE_ENTRY);
    let created = tokio::time::timeout(
        STUCK,
        app.gql_user(
            &bob,
            &document,
            json!({ "input": shared(&book, "12.00", &[&seats[0], &seats[1]]) }),
        ),
    )
    .await
    .expect("a new entry waited for another appender");
    assert!(created["errors"].is_null(), "{created}");

    let rename = app.gql_user(
        &alice,
        UPDATE_BOOK,
        json!({ "id": book, "input": { "name": "Renamed" } }),
    );
    tokio::pin!(rename);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut rename)
            .await
            .is_err(),
        "an exclusive writer went past an open appender"
    );
    appender.commit().await.expect("end the appender");
    let renamed = tokio::time::timeout(STUCK, rename)
        .await
        .expect("the exclusive writer stayed blocked after the appender ended");
    assert_eq!(
        renamed["data"]["updateBook"]["name"], "Renamed",
        "{renamed}"
    );
    assert_books_balance(&app).await;
}

/// Twenty-four new entries from four people at once, with a role change and an edit racing
/// them: every entry is written (the demoted writer's after the change is FORBIDDEN), the
/// balances equal the entries, and the balance version moved exactly once per change.
#[tokio::test]
async fn appenders_racing_an_edit_and_a_role_change_keep_balances_and_versions_exact() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let others = [
        app.register("Bob").await,
        app.register("Carol").await,
        app.register("Dan").await,
    ];
    let (book, seats) = split_book(&app, &alice, &others.iter().collect::<Vec<_>>(), "EUR").await;
    let first = create_entry(
        &app,
        &alice,
        shared(&book, "40.00", &[&seats[0], &seats[1]]),
    )
    .await;
    let start = balance_version(&app, &alice, &book).await;

    let people = [&alice, &others[0], &others[1], &others[2]];
    let document = with_fields(CREATE_ENTRY);
    let creates = (0..24).map(|n| {
        let sharers: Vec<&String> = seats.iter().cycle().skip(n).take(1 + n % 4).collect();
        let person = people[n % 4];
        let variables =
            json!({ "input": shared(&book, &format!("{}.{:02}", 10 + n, n), &sharers) });
        let document = &document;
        let app = &app;
        async move { (n % 4, app.gql_user(person, document, variables).await) }
    });
    let update = with_fields(UPDATE_ENTRY);
    let edit = app.gql_user(
        &alice,
        &update,
        json!({ "id": first["id"], "version": 1, "input": { "amount": "44.00",
            "occurredOn": "2026-12-05", "description": "Edited" } }),
    );
    let demote = app.gql_user(
        &alice,
        CHANGE_ROLE,
        json!({ "book": book, "user": others[2].id, "role": "READER" }),
    );
    let (created, edited, demoted) =
        tokio::join!(futures_util::future::join_all(creates), edit, demote);

    assert!(edited["errors"].is_null(), "{edited}");
    assert_eq!(demoted["data"]["changeRole"]["role"], "READER", "{demoted}");
    let mut written: i64 = 0;
    for (person, answer) in &created {
        if answer["errors"].is_null() {
            written += 1;
        } else {
            // Only Dan, demoted while he wrote, may be refused, and only as a reader.
            assert_eq!(
                (*person, error_code(answer)),
                (3, Some("FORBIDDEN")),
                "{answer}"
            );
        }
    }
    assert!(written >= 18, "{created:?}");
    let counted = app
        .gql_user(
            &alice,
            "query($id: ID!) { book(id: $id) { entries(first: 1) { totalCount } } }",
            json!({ "id": book }),
        )
        .await;
    assert_eq!(
        counted["data"]["book"]["entries"]["totalCount"],
        1 + written,
        "{counted}"
    );
    // Each entry, the edit and the role change moved the version once.
    assert_eq!(
        balance_version(&app, &alice, &book).await,
        start + written + 2
    );
    assert_books_balance(&app).await;
}

/// Payments decide from the balances, so they are never appenders: four payments of one
/// debt at once settle it once, and the other three are refused as overpaying.
#[tokio::test]
async fn four_payments_of_one_debt_at_once_settle_it_once() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, seats) = split_book(&app, &alice, &[&bob], "EUR").await;
    create_entry(
        &app,
        &alice,
        shared(&book, "20.00", &[&seats[0], &seats[1]]),
    )
    .await;
    let document = with_fields(RECORD_PAYMENT);
    let pay = json!({ "input": { "bookId": book, "from": seats[1], "to": seats[0],
        "amount": "10.00", "occurredOn": "2026-12-05" } });
    let answers =
        futures_util::future::join_all((0..4).map(|_| app.gql_user(&bob, &document, pay.clone())))
            .await;
    let paid = answers
        .iter()
        .filter(|answer| answer["errors"].is_null())
        .count();
    assert_eq!(paid, 1, "{answers:?}");
    for answer in answers.iter().filter(|answer| !answer["errors"].is_null()) {
        assert_refused(answer, "CONFLICT", None);
    }
    let after = balances(&app, &alice, &book).await;
    assert_eq!(net_of(&after, &seats[1]), "0.00", "{after:?}");
    assert_books_balance(&app).await;
}
