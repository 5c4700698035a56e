//! Names over HTTP: every name a client types (books, categories, icons, access tokens,
//! accounts) refuses NUL, control characters, line breaks and bidirectional overrides with
//! BAD_USER_INPUT naming the argument, on SQLite and PostgreSQL alike, and stores nothing.
//! A book's description may span lines but refuses the same hidden characters.

use entity::{access_token, book, category};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    books::{CREATE_BOOK, UPDATE_BOOK, create_book, ok},
    categories::CREATE_CATEGORY,
    helpers::{TestApp, error_code},
};

/// A NUL (PostgreSQL text cannot hold it), a right-to-left override, an escape and a newline.
const HIDDEN: [&str; 4] = [
    "Trip\u{0}",
    "Trip \u{202E}cod.exe",
    "Trip\u{1B}[2J",
    "Trip\nTwo",
];

const UPDATE_CATEGORY: &str = r#"mutation($id: ID!, $name: String, $icon: String) {
    updateCategory(id: $id, name: $name, icon: $icon) { id name icon }
}"#;
const CREATE_TOKEN: &str = r#"mutation($name: String!) {
    createAccessToken(name: $name, scope: READ) { token accessToken { id name } }
}"#;

/// Asserts BAD_USER_INPUT on `field`.
#[track_caller]
fn refused(response: &Value, field: &str, input: &str) {
    assert_eq!(
        error_code(response),
        Some("BAD_USER_INPUT"),
        "{input:?}: {response}"
    );
    assert_eq!(
        response["errors"][0]["extensions"]["field"], field,
        "{input:?}: {response}"
    );
}

#[tokio::test]
async fn book_names_refuse_hidden_characters_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let book_id = create_book(&app, &alice, "Tokyo").await;
    let books_before = book::Entity::find().count(&app.db).await.unwrap();

    for name in HIDDEN {
        let created = app
            .gql_user(
                &alice,
                CREATE_BOOK,
                json!({ "input": { "name": name, "kind": "SPLIT" } }),
            )
            .await;
        refused(&created, "name", name);
        let updated = app
            .gql_user(
                &alice,
                UPDATE_BOOK,
                json!({ "id": book_id, "input": { "name": name } }),
            )
            .await;
        refused(&updated, "name", name);
    }

    assert_eq!(
        book::Entity::find().count(&app.db).await.unwrap(),
        books_before
    );
    let renamed = app
        .gql_user(
            &alice,
            UPDATE_BOOK,
            json!({ "id": book_id, "input": { "name": "東京旅行 with Zoë" } }),
        )
        .await;
    assert_eq!(ok(&renamed)["updateBook"]["name"], "東京旅行 with Zoë");
}

#[tokio::test]
async fn a_book_description_may_span_lines_but_refuses_hidden_characters() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let book_id = create_book(&app, &alice, "Tokyo").await;

    for description in ["Food\u{0}", "Food \u{202E}txt.exe", "Food\u{1B}[2J"] {
        let updated = app
            .gql_user(
                &alice,
                UPDATE_BOOK,
                json!({ "id": book_id, "input": { "description": description } }),
            )
            .await;
        refused(&updated, "description", description);
    }
    let stored = app
        .gql_user(
            &alice,
            UPDATE_BOOK,
            json!({ "id": book_id, "input": { "description": "Food\n\tand drinks" } }),
        )
        .await;
    assert_eq!(
        ok(&stored)["updateBook"]["description"],
        "Food\n\tand drinks"
    );
}

#[tokio::test]
async fn category_names_and_icons_refuse_hidden_characters_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let book_id = create_book(&app, &alice, "Flat").await;
    let created = app
        .gql_user(
            &alice,
            CREATE_CATEGORY,
            json!({ "book": book_id, "name": "Cat food" }),
        )
        .await;
    let category_id = ok(&created)["createCategory"]["id"].clone();
    let categories_before = category::Entity::find().count(&app.db).await.unwrap();

    for name in HIDDEN {
        let created = app
            .gql_user(
                &alice,
                CREATE_CATEGORY,
                json!({ "book": book_id, "name": name }),
            )
            .await;
        refused(&created, "name", name);
        let created = app
            .gql_user(
                &alice,
                CREATE_CATEGORY,
                json!({ "book": book_id, "name": "Pets", "icon": name }),
            )
            .await;
        refused(&created, "icon", name);
        let updated = app
            .gql_user(
                &alice,
                UPDATE_CATEGORY,
                json!({ "id": category_id, "name": name }),
            )
            .await;
        refused(&updated, "name", name);
    }

    assert_eq!(
        category::Entity::find().count(&app.db).await.unwrap(),
        categories_before
    );
    let unchanged = app
        .gql_user(
            &alice,
            UPDATE_CATEGORY,
            json!({ "id": category_id, "name": "Katzenfutter für Zoë" }),
        )
        .await;
    assert_eq!(
        ok(&unchanged)["updateCategory"]["name"],
        "Katzenfutter für Zoë"
    );
}

#[tokio::test]
async fn access_token_names_refuse_hidden_characters_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;

    for name in HIDDEN {
        let created = app
            .gql_user(&alice, CREATE_TOKEN, json!({ "name": name }))
            .await;
        refused(&created, "name", name);
    }

    assert_eq!(
        access_token::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let created = app
        .gql_user(&alice, CREATE_TOKEN, json!({ "name": "東京 dashboard" }))
        .await;
    assert_eq!(
        ok(&created)["createAccessToken"]["accessToken"]["name"],
        "東京 dashboard"
    );
}

#[tokio::test]
async fn user_names_refuse_hidden_characters() {
    let app = TestApp::spawn().await;
    for (i, name) in HIDDEN.into_iter().enumerate() {
        let registered = app
            .gql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
                json!({ "i": {
                    "email": format!("user{i}@example.com"),
                    "name": name,
                    "password": crate::helpers::PASSWORD,
                } }),
            )
            .await;
        refused(&registered, "name", name);
    }
}
