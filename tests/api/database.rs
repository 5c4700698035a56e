//! What the database layer promises: SQLite tuned for a server, exact money on both backends.

use entity::entry;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};
use tally::ledger::{Currency, Money};

use crate::helpers::TestApp;

/// The one value `sql` answers (`PRAGMA …` on SQLite, `SHOW …` on PostgreSQL), as text.
async fn setting(app: &TestApp, sql: &str) -> String {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

/// SQLite is tuned for a server; PostgreSQL keeps its durable defaults (a committed write is
/// on disk before the commit returns). Each backend checks its own settings.
#[tokio::test]
async fn the_database_is_configured_for_a_server_and_durable() {
    let app = TestApp::spawn().await;
    if app.is_postgres() {
        for name in ["synchronous_commit", "fsync"] {
            assert_eq!(setting(&app, &format!("SHOW {name}")).await, "on", "{name}");
        }
        return;
    }
    assert_eq!(setting(&app, "PRAGMA journal_mode").await, "wal");
    assert_eq!(setting(&app, "PRAGMA foreign_keys").await, "1");
    // FULL (2): a commit is on disk when it returns, power loss included.
    assert_eq!(setting(&app, "PRAGMA synchronous").await, "2");
    let busy_ms: i64 = setting(&app, "PRAGMA busy_timeout").await.parse().unwrap();
    assert!(busy_ms >= 5000, "busy_timeout {busy_ms}");
}

/// Records `amount` as an entry through the API and reads it back from the database.
async fn store_and_reload(app: &TestApp, amount: Money) -> Money {
    let alice = app.register("Alice").await;
    let books = app
        .gql_user(
            &alice,
            "{ books(kind: PERSONAL) { nodes { id } } }",
            json!({}),
        )
        .await;
    let book_id = books["data"]["books"]["nodes"][0]["id"].clone();
    let created = app
        .gql_user(
            &alice,
            "mutation($input: CreateEntryInput!) { createEntry(input: $input) { id amount } }",
            json!({ "input": {
                "bookId": book_id, "amount": amount.to_string(),
                "occurredOn": "2026-11-22", "description": "round trip",
            } }),
        )
        .await;
    let id = created["data"]["createEntry"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createEntry failed: {created}"));
    let stored = entry::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    Money::from_e4(stored.amount_e4)
}

#[tokio::test]
async fn the_largest_scale_4_amount_round_trips_exactly() {
    let app = TestApp::spawn().await;
    let amount: Money = "99999999999999.9999".parse().unwrap();
    let reloaded = store_and_reload(&app, amount).await;
    assert_eq!(reloaded, amount);
    assert_eq!(reloaded.to_string(), "99999999999999.9999");
}

#[tokio::test]
async fn point_one_plus_point_two_is_point_three_after_a_round_trip() {
    let app = TestApp::spawn().await;
    let sum = "0.1"
        .parse::<Money>()
        .unwrap()
        .checked_add("0.2".parse().unwrap())
        .unwrap();
    let reloaded = store_and_reload(&app, sum).await;
    assert_eq!(reloaded, "0.3".parse().unwrap());
    let currency = Currency::parse("TWD").unwrap();
    assert_eq!(reloaded.format(currency), "0.30");
}

/// Runs `sql` on the PostgreSQL server's admin database (`TEST_DATABASE_URL`).
async fn as_admin(sql: &str) {
    let url = std::env::var("TEST_DATABASE_URL").unwrap();
    let admin = sea_orm::Database::connect(&url).await.unwrap();
    admin.execute_unprepared(sql).await.unwrap();
    admin.close().await.unwrap();
}

/// With PostgreSQL: while the database refuses connections, requests answer at once with
/// UNAVAILABLE (never INTERNAL, never a hang) and `/readyz` with 503; once it is back, the
/// server serves again by itself, without a restart.
#[tokio::test]
async fn the_server_reports_a_lost_database_and_recovers_by_itself() {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return; // SQLite is a file in the process: there is no connection to lose.
    }
    let alice = app.register("Alice").await;
    let me = "{ me { id } }";
    let name = setting(&app, "SELECT current_database()").await;
    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    as_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;

    let answer = app.gql_user(&alice, me, json!({})).await;
    assert_eq!(
        crate::helpers::error_code(&answer),
        Some("UNAVAILABLE"),
        "{answer}"
    );
    assert_eq!(app.get("/readyz").await.status(), 503);

    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let mut answer = Value::Null;
    for _ in 0..50 {
        answer = app.gql_user(&alice, me, json!({})).await;
        if answer["data"]["me"]["id"] == alice.id.as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(answer["data"]["me"]["id"], alice.id.as_str(), "{answer}");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

/// Runs `sql` on the test database and returns its error.
async fn failing(app: &TestApp, sql: &str) -> sea_orm::DbErr {
    let statement = Statement::from_string(app.db.get_database_backend(), sql);
    app.db
        .execute_raw(statement)
        .await
        .expect_err("the statement violates a constraint")
}

#[tokio::test]
async fn only_the_named_unique_constraint_is_a_conflict_where_the_database_names_it() {
    use tally::error::AppError;
    let app = TestApp::spawn().await;
    for sql in [
        "CREATE TABLE probe (a INTEGER CONSTRAINT uq_probe_a UNIQUE, \
         b INTEGER CONSTRAINT uq_probe_b UNIQUE)",
        "INSERT INTO probe (a, b) VALUES (1, 1)",
    ] {
        let statement = Statement::from_string(app.db.get_database_backend(), sql);
        app.db.execute_raw(statement).await.unwrap();
    }
    let conflict = || AppError::conflict("taken");
    let same_a = failing(&app, "INSERT INTO probe (a, b) VALUES (1, 2)").await;
    assert!(matches!(
        AppError::unique_violation_or(same_a, "uq_probe_a", conflict),
        AppError::Conflict { .. }
    ));
    let same_b = failing(&app, "INSERT INTO probe (a, b) VALUES (2, 1)").await;
    let mapped = AppError::unique_violation_or(same_b, "uq_probe_a", conflict);
    if app.is_postgres() {
        // PostgreSQL says it was uq_probe_b: not the conflict the caller expects, a bug.
        assert!(matches!(mapped, AppError::Internal(_)), "{mapped:?}");
    } else {
        // SQLite names columns only: any unique violation of the statement counts.
        assert!(matches!(mapped, AppError::Conflict { .. }), "{mapped:?}");
    }
    // Any other failure is never a conflict.
    let missing = failing(&app, "INSERT INTO no_such_table (a) VALUES (1)").await;
    let mapped = AppError::unique_violation_or(missing, "uq_probe_a", conflict);
    assert!(matches!(mapped, AppError::Internal(_)), "{mapped:?}");
}
