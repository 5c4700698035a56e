//! The month dashboard over HTTP: totals, categories that add up exactly, managers-only
//! analytics.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ledger_helpers::*;

const DASHBOARD: &str = r#"query($id: ID!, $month: String!) { book(id: $id) { dashboard(month: $month) {
    month totals { currency expenses income }
    categories { category { id } currency amount count percent }
    recentEntries { description }
    myBalance { net }
    members { member { id } paid owed net } } } }"#;

fn e4(text: &Value) -> i64 {
    text.as_str()
        .expect("a decimal string")
        .parse::<tally::ledger::Money>()
        .expect("a decimal")
        .e4()
}

#[tokio::test]
async fn a_month_adds_up_and_hides_member_analytics_from_writers() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, _) = split_book(&app, &alice, &[&bob], "TWD").await;
    let categories = app
        .gql_user(
            &alice,
            "query($id: ID!) { book(id: $id) { categories { id } } }",
            json!({ "id": book }),
        )
        .await;
    let ids: Vec<Value> = categories["data"]["book"]["categories"].as_array().unwrap()[..2]
        .iter()
        .map(|category| category["id"].clone())
        .collect();
    for (amount, category, day, kind) in [
        ("10.00", Some(&ids[0]), "2026-11-02", "EXPENSE"),
        ("10.00", Some(&ids[1]), "2026-11-03", "EXPENSE"),
        ("10.00", None, "2026-11-04", "EXPENSE"),
        ("7.50", None, "2026-11-05", "INCOME"),
        ("99.00", None, "2026-10-31", "EXPENSE"),
    ] {
        let mut input = json!({ "bookId": book, "amount": amount, "occurredOn": day,
                                "description": format!("{kind} {day}"), "kind": kind });
        if let Some(category) = category {
            input["categoryId"] = category.clone();
        }
        create_entry(&app, &alice, input).await;
    }
    let read = |user| {
        let app = &app;
        let book = book.clone();
        async move {
            let response = app
                .gql_user(user, DASHBOARD, json!({ "id": book, "month": "2026-11" }))
                .await;
            assert!(response["errors"].is_null(), "{response}");
            response["data"]["book"]["dashboard"].clone()
        }
    };
    let dashboard = read(&alice).await;
    assert_eq!(dashboard["month"], "2026-11");
    assert_eq!(
        dashboard["totals"],
        json!([{ "currency": "TWD", "expenses": "30.00", "income": "7.50" }])
    );
    let shares = dashboard["categories"].as_array().unwrap();
    assert_eq!(shares.len(), 3, "{dashboard}");
    assert_eq!(
        shares.iter().map(|s| e4(&s["amount"])).sum::<i64>(),
        300_000
    );
    assert_eq!(
        shares.iter().map(|s| e4(&s["percent"])).sum::<i64>(),
        1_000_000,
        "{dashboard}"
    );
    assert!(shares.iter().any(|s| s["category"].is_null()));
    assert_eq!(dashboard["recentEntries"].as_array().unwrap().len(), 4);
    assert_eq!(
        dashboard["recentEntries"][0]["description"],
        "INCOME 2026-11-05"
    );
    let members = dashboard["members"]
        .as_array()
        .expect("the owner sees member analytics");
    assert_eq!(members.len(), 2);
    assert_eq!(members.iter().map(|m| e4(&m["net"])).sum::<i64>(), 0);

    let writer = read(&bob).await;
    assert!(writer["members"].is_null(), "{writer}");
    assert_eq!(writer["totals"], dashboard["totals"]);

    for month in ["2026-13", "2026-1", "November", "1969-12"] {
        let response = app
            .gql_user(&alice, DASHBOARD, json!({ "id": book, "month": month }))
            .await;
        assert_refused(&response, "BAD_USER_INPUT", Some("month"));
    }
}

#[tokio::test]
async fn exports_neutralise_formulas_and_the_json_round_trips() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("Alice").await, app.register("Bob").await);
    let (book, seats) = split_book(&app, &alice, &[&bob], "TWD").await;
    create_entry(
        &app,
        &alice,
        json!({ "bookId": book, "amount": "10.00", "occurredOn": "2026-11-02",
                "description": "=HYPERLINK(\"http://evil.example\")", "note": "+cmd" }),
    )
    .await;
    create_entry(
        &app,
        &bob,
        json!({ "bookId": book, "amount": "3", "occurredOn": "2026-11-03", "description": "Tea",
                "split": { "mode": "EXACT", "members": [{ "memberId": seats[0], "value": "3" }] } }),
    )
    .await;
    let export = |format: &'static str| {
        let app = &app;
        let book = book.clone();
        let bob = &bob;
        async move {
            let response = app
                .gql_user(
                    bob,
                    "query($id: ID!, $f: ExportFormat!) { book(id: $id) { export(format: $f) } }",
                    json!({ "id": book, "f": format }),
                )
                .await;
            response["data"]["book"]["export"]
                .as_str()
                .unwrap_or_else(|| panic!("export failed: {response}"))
                .to_owned()
        }
    };
    let csv = export("CSV").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.unwrap()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        &rows[0][column("description")],
        "'=HYPERLINK(\"http://evil.example\")"
    );
    assert_eq!(&rows[0][column("note")], "'+cmd");
    // Nets stay numbers, negative ones included.
    assert_eq!(&rows[1][column("net: Alice")], "-3", "{csv}");
    assert_eq!(&rows[1][column("net: Bob")], "3", "{csv}");

    let document: Value = serde_json::from_str(&export("JSON").await).unwrap();
    assert_eq!(document["format"], "tally.book/1");
    assert_eq!(document["members"].as_array().unwrap().len(), 2);
    let entries = document["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["description"],
        "=HYPERLINK(\"http://evil.example\")"
    );
    assert_eq!(entries[1]["split"]["mode"], "EXACT");
    assert_eq!(entries[1]["split"]["allocations"][0]["exact"], "3");
    assert_eq!(entries[1]["payers"][0]["memberId"], seats[1].as_str());
}
