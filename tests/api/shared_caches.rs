//! The caches requests share (a book's roster and balances by balance version, users'
//! profiles) never show what a committed change replaced: on the instance that made the
//! change at once, and on another instance (PostgreSQL) at once for a book's roster and
//! balances (the version is read from the database) and as soon as it hears of a rename.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestUser},
    ledger_helpers::{CREATE_ENTRY, split_book, with_fields},
};

const ROSTER: &str = "query($id: ID!) { book(id: $id) {
    members { role user { id name } }
    balances { member { user { id name } } net } } }";

/// Bob's view of `book`, over `address`: each member's (user id, name, role), and each
/// balance's (user id, name, net).
async fn view(app: &TestApp, address: &str, bob: &TestUser, book: &str) -> (Value, Value) {
    let read = app
        .gql_on(
            address,
            Some(&bob.access_token),
            ROSTER,
            json!({ "id": book }),
        )
        .await;
    assert!(read["errors"].is_null(), "{read}");
    let members = read["data"]["book"]["members"].clone();
    let balances = read["data"]["book"]["balances"].clone();
    (members, balances)
}

fn role_of(members: &Value, user: &TestUser) -> Value {
    members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["user"]["id"] == user.id.as_str()))
        .map(|m| m["role"].clone())
        .unwrap_or(Value::Null)
}

fn names(members: &Value) -> Vec<String> {
    members
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|m| m["user"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn net_of(balances: &Value, user: &TestUser) -> Value {
    balances
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|b| b["member"]["user"]["id"] == user.id.as_str())
        })
        .map(|b| b["net"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_role_change_an_entry_and_a_rename_show_in_the_very_next_read() {
    let app = TestApp::spawn().await;
    let other = if app.is_postgres() {
        Some(app.another_instance().await)
    } else {
        None // One SQLite file serves one instance.
    };
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let (book, _) = split_book(&app, &alice, &[&bob], "EUR").await;
    let mut addresses = vec![app.address.clone()];
    addresses.extend(other.iter().map(|o| o.address.clone()));

    // Every instance has read (and cached) the book at its current version.
    for address in &addresses {
        let (members, balances) = view(&app, address, &bob, &book).await;
        assert_eq!(role_of(&members, &bob), "WRITER");
        assert_eq!(net_of(&balances, &alice), "0.00");
    }

    let changed = app
        .gql_user(
            &alice,
            "mutation($b: ID!, $u: ID!) { changeRole(bookId: $b, userId: $u, role: READER) { role } }",
            json!({ "b": book, "u": bob.id }),
        )
        .await;
    assert!(changed["errors"].is_null(), "{changed}");
    let input = json!({ "bookId": book, "amount": "10.00", "occurredOn": "2026-11-20",
                        "description": "Dinner" });
    let created = app
        .gql_user(
            &alice,
            &with_fields(CREATE_ENTRY),
            json!({ "input": input }),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    for address in &addresses {
        let (members, balances) = view(&app, address, &bob, &book).await;
        assert_eq!(role_of(&members, &bob), "READER", "on {address}");
        assert_eq!(net_of(&balances, &alice), "5.00", "on {address}");
    }

    let renamed = app
        .gql_user(
            &alice,
            r#"mutation { updateProfile(name: "Alice Liddell") { name } }"#,
            json!({}),
        )
        .await;
    assert!(renamed["errors"].is_null(), "{renamed}");
    let (members, _) = view(&app, &app.address, &bob, &book).await;
    assert!(
        names(&members).contains(&"Alice Liddell".to_owned()),
        "the instance that renamed shows the new name at once: {members}"
    );
    if let Some(other) = &other {
        // Another instance hears of the rename through NOTIFY, a moment after the commit.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (members, _) = view(&app, &other.address, &bob, &book).await;
            if names(&members).contains(&"Alice Liddell".to_owned()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the other instance still shows {members}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
