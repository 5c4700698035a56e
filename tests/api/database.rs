//! What the database layer promises: SQLite tuned for a server, exact money on both backends.

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::TestApp;

async fn pragma(app: &TestApp, name: &str) -> String {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout() {
    let app = TestApp::spawn().await;
    if app.is_postgres() {
        return;
    }
    assert_eq!(pragma(&app, "journal_mode").await, "wal");
    assert_eq!(pragma(&app, "foreign_keys").await, "1");
    let busy_ms: i64 = pragma(&app, "busy_timeout").await.parse().unwrap();
    assert!(busy_ms >= 5000, "busy_timeout {busy_ms}");
}
