//! The activity log over HTTP: what is recorded, by whom, with which before/after values,
//! newest first in cursor pages; and the retention sweep.

use entity::activity_log;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    books::{DELETE_BOOK, JOIN_BY_CODE, UPDATE_BOOK, create_book, invite, ok},
    helpers::{TestApp, error_code},
    members::{CHANGE_ROLE, LEAVE_BOOK, REMOVE_MEMBER, TRANSFER},
};

const ACTIVITY: &str = r#"query($book: ID!, $first: Int, $after: String) {
    book(id: $book) {
        activity(first: $first, after: $after) {
            edges { node { action subjectType subjectId actor { name } before after createdAt } }
            pageInfo { hasNextPage endCursor }
        }
    }
}"#;

#[tokio::test]
async fn the_log_records_book_and_membership_events_newest_first() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let dave = app.register("Dave").await;
    let book = create_book(&app, &owner, "Trip").await;
    let member = |user: &crate::helpers::TestUser| json!({ "book": book, "user": user.id });

    ok(&app
        .gql_user(
            &owner,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "name": "Big trip" } }),
        )
        .await);
    for user in [&bob, &carol, &dave] {
        let code = invite(&app, &owner, &book, "WRITER").await;
        ok(&app
            .gql_user(user, JOIN_BY_CODE, json!({ "code": code }))
            .await);
    }
    let mut demote = member(&bob);
    demote["role"] = json!("READER");
    ok(&app.gql_user(&owner, CHANGE_ROLE, demote).await);
    ok(&app.gql_user(&owner, REMOVE_MEMBER, member(&carol)).await);
    ok(&app
        .gql_user(&dave, LEAVE_BOOK, json!({ "book": book }))
        .await);
    ok(&app.gql_user(&owner, TRANSFER, member(&bob)).await);
    ok(&app.gql_user(&bob, DELETE_BOOK, json!({ "id": book })).await);

    // Page through it three at a time.
    let mut events: Vec<Value> = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = app
            .gql_user(
                &owner,
                ACTIVITY,
                json!({ "book": book, "first": 3, "after": after }),
            )
            .await;
        let page = &ok(&response)["book"]["activity"];
        events.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let summary: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("book.archived", "Bob"),
            ("member.role_changed", "Owner"),
            ("member.ownership_transferred", "Owner"),
            ("member.left", "Dave"),
            ("member.removed", "Owner"),
            ("member.role_changed", "Owner"),
            ("member.joined", "Dave"),
            ("member.joined", "Carol"),
            ("member.joined", "Bob"),
            ("book.updated", "Owner"),
            ("book.created", "Owner"),
        ]
    );
    let by_action = |action: &str| events.iter().find(|e| e["action"] == action).unwrap();
    let renamed = by_action("book.updated");
    assert_eq!(renamed["subjectType"], "book");
    assert_eq!(renamed["subjectId"], book.as_str());
    assert_eq!(renamed["before"]["name"], "Trip");
    assert_eq!(renamed["after"]["name"], "Big trip");
    let demoted = &events[5];
    assert_eq!(demoted["subjectType"], "member");
    assert_eq!(demoted["subjectId"], bob.id.as_str());
    assert_eq!(
        (&demoted["before"], &demoted["after"]),
        (&json!({ "role": "WRITER" }), &json!({ "role": "READER" }))
    );
    let removed = by_action("member.removed");
    assert_eq!(removed["subjectId"], carol.id.as_str());
    assert_eq!(removed["after"], Value::Null);
    let transferred = by_action("member.ownership_transferred");
    assert_eq!(transferred["after"], json!({ "role": "OWNER" }));
    assert_eq!(
        events[1]["subjectId"],
        owner.id.as_str(),
        "the old owner became an ADMIN"
    );
    assert_eq!(events[1]["after"], json!({ "role": "ADMIN" }));
    assert!(by_action("book.archived")["after"]["archivedAt"].is_string());

    // Only members read it.
    let response = app
        .gql_user(&carol, ACTIVITY, json!({ "book": book }))
        .await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
}

#[tokio::test]
async fn the_retention_sweep_deletes_only_rows_older_than_the_cutoff() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let old_book = create_book(&app, &owner, "Old").await;
    let new_book = create_book(&app, &owner, "New").await;
    let old_book_id = Uuid::parse_str(&old_book).unwrap();
    let hundred_days_ago = chrono::Utc::now() - chrono::Duration::days(100);
    activity_log::Entity::update_many()
        .col_expr(
            activity_log::Column::CreatedAt,
            Expr::value(hundred_days_ago),
        )
        .filter(activity_log::Column::BookId.eq(old_book_id))
        .exec(&app.db)
        .await
        .unwrap();

    let cutoff = chrono::Utc::now() - chrono::Duration::days(90);
    let deleted = tally::service::activity::prune(&app.db, cutoff)
        .await
        .unwrap();
    assert_eq!(deleted, 1, "the old book's creation");
    let left = activity_log::Entity::find().count(&app.db).await.unwrap();
    // The personal book's and the new book's creation events stay.
    assert_eq!(left, 2);

    let response = app
        .gql_user(&owner, ACTIVITY, json!({ "book": new_book }))
        .await;
    assert_eq!(
        ok(&response)["book"]["activity"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let response = app
        .gql_user(&owner, ACTIVITY, json!({ "book": old_book }))
        .await;
    assert_eq!(ok(&response)["book"]["activity"]["edges"], json!([]));
}
