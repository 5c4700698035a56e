//! Categories over HTTP: the global defaults plus a book's own, unique names, soft deletion.

use serde_json::{Value, json};

use crate::{
    books::{add_member, create_book, ok},
    helpers::{TestApp, TestUser, error_code},
};

const CATEGORIES: &str =
    r#"query($book: ID!) { categories(bookId: $book) { id name color icon isGlobal } }"#;
pub const CREATE_CATEGORY: &str = r#"mutation($book: ID!, $name: String!, $color: String, $icon: String) {
    createCategory(bookId: $book, name: $name, color: $color, icon: $icon) { id name color icon isGlobal }
}"#;
const UPDATE_CATEGORY: &str = r#"mutation($id: ID!, $name: String, $color: String) {
    updateCategory(id: $id, name: $name, color: $color) { id name color icon }
}"#;
pub const DELETE_CATEGORY: &str =
    r#"mutation($id: ID!) { deleteCategory(id: $id) { id deletedAt } }"#;

async fn names(app: &TestApp, user: &TestUser, book: &str) -> (Vec<String>, Vec<String>) {
    let response = app
        .gql_user(user, CATEGORIES, json!({ "book": book }))
        .await;
    let all = ok(&response)["categories"].as_array().unwrap().clone();
    let pick = |global: bool| {
        all.iter()
            .filter(|c| c["isGlobal"] == global)
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    (pick(true), pick(false))
}

async fn create(app: &TestApp, user: &TestUser, book: &str, name: &str) -> Value {
    app.gql_user(user, CREATE_CATEGORY, json!({ "book": book, "name": name }))
        .await
}

#[tokio::test]
async fn a_book_offers_the_global_categories_then_its_own() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let book = create_book(&app, &owner, "Flat").await;
    let other = create_book(&app, &owner, "Other").await;

    let (global, own) = names(&app, &owner, &book).await;
    assert!(!global.is_empty(), "seeded global categories");
    assert!(own.is_empty());

    let response = app
        .gql_user(
            &owner,
            CREATE_CATEGORY,
            json!({ "book": book, "name": " Cat food ", "color": "#a1b2c3", "icon": "paw" }),
        )
        .await;
    let created = &ok(&response)["createCategory"];
    assert_eq!(created["name"], "Cat food");
    assert_eq!(created["color"], "#A1B2C3");
    assert_eq!(created["icon"], "paw");
    assert_eq!(created["isGlobal"], false);
    ok(&create(&app, &owner, &book, "Bikes").await);

    let (global_after, own) = names(&app, &owner, &book).await;
    assert_eq!(global_after, global);
    assert_eq!(own, ["Bikes", "Cat food"]);
    assert_eq!(names(&app, &owner, &other).await.1, Vec::<String>::new());

    // `Book.categories` is the same list.
    let response = app
        .gql_user(
            &owner,
            r#"query($id: ID!) { book(id: $id) { categories { name } } }"#,
            json!({ "id": book }),
        )
        .await;
    assert_eq!(
        ok(&response)["book"]["categories"]
            .as_array()
            .unwrap()
            .len(),
        global.len() + 2
    );
}

#[tokio::test]
async fn names_are_unique_within_a_book_including_global_ones() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let book = create_book(&app, &owner, "Flat").await;
    let other = create_book(&app, &owner, "Other").await;
    let (global, _) = names(&app, &owner, &book).await;

    ok(&create(&app, &owner, &book, "Bikes").await);
    let twice = create(&app, &owner, &book, "Bikes").await;
    assert_eq!(error_code(&twice), Some("CONFLICT"));
    let clash = create(&app, &owner, &book, &global[0]).await;
    assert_eq!(error_code(&clash), Some("CONFLICT"), "{clash}");
    ok(&create(&app, &owner, &other, "Bikes").await);

    let cars = create(&app, &owner, &book, "Cars").await;
    let cars_id = ok(&cars)["createCategory"]["id"].clone();
    let renamed = app
        .gql_user(
            &owner,
            UPDATE_CATEGORY,
            json!({ "id": cars_id, "name": "Bikes" }),
        )
        .await;
    assert_eq!(error_code(&renamed), Some("CONFLICT"));
}

#[tokio::test]
async fn update_and_delete_a_category_and_reuse_its_name() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let book = create_book(&app, &owner, "Flat").await;
    let created = create(&app, &owner, &book, "Bikes").await;
    let id = ok(&created)["createCategory"]["id"].clone();

    let updated = app
        .gql_user(
            &owner,
            UPDATE_CATEGORY,
            json!({ "id": id, "name": "Cycling", "color": "#000000" }),
        )
        .await;
    assert_eq!(ok(&updated)["updateCategory"]["name"], "Cycling");
    assert_eq!(ok(&updated)["updateCategory"]["color"], "#000000");
    let cleared = app
        .gql_user(&owner, UPDATE_CATEGORY, json!({ "id": id, "color": null }))
        .await;
    assert_eq!(ok(&cleared)["updateCategory"]["color"], Value::Null);
    assert_eq!(ok(&cleared)["updateCategory"]["name"], "Cycling");
    let bad = app
        .gql_user(&owner, UPDATE_CATEGORY, json!({ "id": id, "color": "red" }))
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
    assert_eq!(bad["errors"][0]["extensions"]["field"], "color");

    let deleted = app
        .gql_user(&owner, DELETE_CATEGORY, json!({ "id": id }))
        .await;
    assert!(ok(&deleted)["deleteCategory"]["deletedAt"].is_string());
    assert!(names(&app, &owner, &book).await.1.is_empty());
    let again = app
        .gql_user(&owner, DELETE_CATEGORY, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&again), Some("NOT_FOUND"));
    ok(&create(&app, &owner, &book, "Cycling").await);
}

#[tokio::test]
async fn only_admins_manage_categories_and_nobody_edits_the_global_ones() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let writer = app.register("Writer").await;
    let book = create_book(&app, &owner, "Flat").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;
    add_member(&app, &owner, &book, &writer, "WRITER").await;

    let refused = create(&app, &writer, &book, "Bikes").await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let created = create(&app, &admin, &book, "Bikes").await;
    let id = ok(&created)["createCategory"]["id"].clone();
    let refused = app
        .gql_user(&writer, DELETE_CATEGORY, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    ok(&app
        .gql_user(&admin, DELETE_CATEGORY, json!({ "id": id }))
        .await);

    let response = app
        .gql_user(&owner, CATEGORIES, json!({ "book": book }))
        .await;
    let global_id = ok(&response)["categories"][0]["id"].clone();
    for document in [UPDATE_CATEGORY, DELETE_CATEGORY] {
        let response = app
            .gql_user(&owner, document, json!({ "id": global_id, "name": "Mine" }))
            .await;
        assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
    }
}
