//! No data leaks between books: someone outside a book gets NOT_FOUND for every one of its
//! objects through every query and mutation, answered exactly as for ids that exist nowhere.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    books::{add_member, create_book, ok},
    helpers::{TestApp, error_code},
};

/// The ids of one book's objects.
struct Ids {
    book: String,
    member: String,
    invite: String,
    category: String,
}

/// Every way to reach a book's objects, as (name, document, variables).
fn paths(ids: &Ids) -> Vec<(&'static str, &'static str, Value)> {
    let book = || json!({ "book": ids.book });
    let member = || json!({ "book": ids.book, "user": ids.member });
    vec![
        (
            "book",
            r#"query($book: ID!) { book(id: $book) { id name } }"#,
            book(),
        ),
        (
            "members",
            r#"query($book: ID!) { book(id: $book) { members { user { id } } } }"#,
            book(),
        ),
        (
            "invites",
            r#"query($book: ID!) { book(id: $book) { invites { code } } }"#,
            book(),
        ),
        (
            "activity",
            r#"query($book: ID!) { book(id: $book) { activity { edges { node { id } } } } }"#,
            book(),
        ),
        (
            "book categories",
            r#"query($book: ID!) { book(id: $book) { categories { id } } }"#,
            book(),
        ),
        (
            "categories",
            r#"query($book: ID!) { categories(bookId: $book) { id } }"#,
            book(),
        ),
        (
            "updateBook",
            r#"mutation($book: ID!) { updateBook(id: $book, input: { name: "Mine" }) { id } }"#,
            book(),
        ),
        (
            "deleteBook",
            r#"mutation($book: ID!) { deleteBook(id: $book) { id } }"#,
            book(),
        ),
        (
            "createInvite",
            r#"mutation($book: ID!) { createInvite(bookId: $book) { code } }"#,
            book(),
        ),
        (
            "revokeInvite",
            r#"mutation($id: ID!) { revokeInvite(id: $id) { id } }"#,
            json!({ "id": ids.invite }),
        ),
        (
            "changeRole",
            r#"mutation($book: ID!, $user: ID!) { changeRole(bookId: $book, userId: $user, role: READER) { role } }"#,
            member(),
        ),
        (
            "removeMember",
            r#"mutation($book: ID!, $user: ID!) { removeMember(bookId: $book, userId: $user) }"#,
            member(),
        ),
        (
            "leaveBook",
            r#"mutation($book: ID!) { leaveBook(bookId: $book) }"#,
            book(),
        ),
        (
            "transferOwnership",
            r#"mutation($book: ID!, $user: ID!) { transferOwnership(bookId: $book, userId: $user) { id } }"#,
            member(),
        ),
        (
            "createCategory",
            r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Mine") { id } }"#,
            book(),
        ),
        (
            "updateCategory",
            r#"mutation($id: ID!) { updateCategory(id: $id, name: "Mine") { id } }"#,
            json!({ "id": ids.category }),
        ),
        (
            "deleteCategory",
            r#"mutation($id: ID!) { deleteCategory(id: $id) { id } }"#,
            json!({ "id": ids.category }),
        ),
    ]
}

#[tokio::test]
async fn outsiders_get_not_found_for_every_object_exactly_as_for_missing_ones() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let stranger = app.register("Stranger").await;
    let book = create_book(&app, &owner, "Private").await;
    add_member(&app, &owner, &book, &bob, "WRITER").await;
    let invite = app
        .gql_user(
            &owner,
            r#"mutation($book: ID!) { createInvite(bookId: $book) { invite { id } } }"#,
            json!({ "book": book }),
        )
        .await;
    let category = app
        .gql_user(
            &owner,
            r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Secret") { id } }"#,
            json!({ "book": book }),
        )
        .await;
    let real = Ids {
        book: book.clone(),
        member: bob.id.clone(),
        invite: ok(&invite)["createInvite"]["invite"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        category: ok(&category)["createCategory"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let missing = Ids {
        book: Uuid::now_v7().to_string(),
        member: bob.id.clone(),
        invite: Uuid::now_v7().to_string(),
        category: Uuid::now_v7().to_string(),
    };

    for ((name, document, real_vars), (_, _, missing_vars)) in
        paths(&real).into_iter().zip(paths(&missing))
    {
        let outside = app.gql_user(&stranger, document, real_vars).await;
        let nowhere = app.gql_user(&stranger, document, missing_vars).await;
        assert_eq!(error_code(&outside), Some("NOT_FOUND"), "{name}: {outside}");
        assert_eq!(outside, nowhere, "{name}: existence leaked");
    }

    // Nothing of the book shows in the outsider's own lists.
    let listed = app
        .gql_user(
            &stranger,
            "{ books(includeArchived: true) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(!ok(&listed).to_string().contains(&book));
    // And nothing changed.
    let check = app
        .gql_user(
            &owner,
            r#"query($book: ID!) { book(id: $book) { name archivedAt members { role } } }"#,
            json!({ "book": book }),
        )
        .await;
    assert_eq!(
        ok(&check)["book"],
        json!({ "name": "Private", "archivedAt": null, "members": [{ "role": "OWNER" }, { "role": "WRITER" }] })
    );
}
