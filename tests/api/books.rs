//! Books over HTTP: creating, listing with cursors, updating, archiving; plus the helpers the
//! other book tests share (making books and members).

use entity::{book, enums::Role, membership};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, error_code};

pub const CREATE_BOOK: &str = r#"mutation($input: CreateBookInput!) {
    createBook(input: $input) { id name kind currency description memberLimit myRole archivedAt }
}"#;
const BOOKS: &str = r#"query($first: Int, $after: String, $kind: BookKind, $all: Boolean) {
    books(first: $first, after: $after, kind: $kind, includeArchived: $all) {
        edges { cursor node { id name kind } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    }
}"#;
pub const UPDATE_BOOK: &str = r#"mutation($id: ID!, $input: UpdateBookInput!) {
    updateBook(id: $id, input: $input) { id name description memberLimit }
}"#;
pub const DELETE_BOOK: &str = r#"mutation($id: ID!) { deleteBook(id: $id) { id archivedAt } }"#;
pub const CREATE_INVITE: &str = r#"mutation($book: ID!, $role: Role, $hours: Int, $uses: Int) {
    createInvite(bookId: $book, role: $role, expiresInHours: $hours, maxUses: $uses) {
        code linkToken invite { id code role maxUses useCount expiresAt }
    }
}"#;
pub const JOIN_BY_CODE: &str =
    r#"mutation($code: String!) { joinBook(code: $code) { id myRole } }"#;

/// The `data` of a response that must have succeeded.
#[track_caller]
pub fn ok(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response}"
    );
    &response["data"]
}

/// Creates a SPLIT book owned by `owner`; returns its id.
pub async fn create_book(app: &TestApp, owner: &TestUser, name: &str) -> String {
    let response = app
        .gql_user(
            owner,
            CREATE_BOOK,
            json!({ "input": { "name": name, "kind": "SPLIT" } }),
        )
        .await;
    ok(&response)["createBook"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates an invite to `book` by `by` granting `role`; returns its code.
pub async fn invite(app: &TestApp, by: &TestUser, book: &str, role: &str) -> String {
    let response = app
        .gql_user(by, CREATE_INVITE, json!({ "book": book, "role": role }))
        .await;
    ok(&response)["createInvite"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Brings `user` into `book` with `role`, invited by `owner`.
pub async fn add_member(app: &TestApp, owner: &TestUser, book: &str, user: &TestUser, role: &str) {
    let code = invite(app, owner, book, role).await;
    let joined = app
        .gql_user(user, JOIN_BY_CODE, json!({ "code": code }))
        .await;
    assert_eq!(ok(&joined)["joinBook"]["myRole"], role, "{joined}");
}

/// How many OWNER memberships the book has in the database, and whether `books.owner_id`
/// names the one there is.
pub async fn owners(app: &TestApp, book_id: &str) -> (u64, bool) {
    let book_id = Uuid::parse_str(book_id).unwrap();
    let owners = membership::Entity::find()
        .filter(membership::Column::BookId.eq(book_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .all(&app.db)
        .await
        .unwrap();
    let book = book::Entity::find_by_id(book_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let consistent = owners
        .iter()
        .all(|owner| owner.user_id == Some(book.owner_id));
    (owners.len() as u64, consistent)
}

/// The number of members of a book in the database.
/// The live seats of a book (a member who left keeps a removed seat: entries name it).
pub async fn member_rows(app: &TestApp, book_id: &str) -> u64 {
    membership::Entity::find()
        .filter(membership::Column::BookId.eq(Uuid::parse_str(book_id).unwrap()))
        .filter(membership::Column::RemovedAt.is_null())
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn create_book_makes_the_caller_its_owner_with_defaults() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let response = app
        .gql_user(
            &alice,
            CREATE_BOOK,
            json!({ "input": { "name": "  Tokyo trip  ", "kind": "SPLIT", "description": "food" } }),
        )
        .await;
    let book = &ok(&response)["createBook"];
    assert_eq!(book["name"], "Tokyo trip");
    assert_eq!(book["kind"], "SPLIT");
    assert_eq!(book["currency"], "TWD");
    assert_eq!(book["description"], "food");
    assert_eq!(book["memberLimit"], 50);
    assert_eq!(book["myRole"], "OWNER");
    assert_eq!(book["archivedAt"], Value::Null);

    let id = book["id"].as_str().unwrap();
    let read = app
        .gql_user(
            &alice,
            r#"query($id: ID!) { book(id: $id) { owner { id name email } members { role user { id } } } }"#,
            json!({ "id": id }),
        )
        .await;
    let read = &ok(&read)["book"];
    assert_eq!(
        read["owner"],
        json!({ "id": alice.id, "name": "Alice", "email": alice.email })
    );
    assert_eq!(
        read["members"],
        json!([{ "role": "OWNER", "user": { "id": alice.id } }])
    );
    assert_eq!(owners(&app, id).await, (1, true));
}

#[tokio::test]
async fn create_book_validates_name_and_currency() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let cases = [
        (json!({ "name": "   ", "kind": "SPLIT" }), "name"),
        (json!({ "name": "x".repeat(101), "kind": "SPLIT" }), "name"),
        (
            json!({ "name": "Trip", "kind": "SPLIT", "currency": "XYZ" }),
            "currency",
        ),
        (
            json!({ "name": "Trip", "kind": "SPLIT", "currency": "dollars" }),
            "currency",
        ),
        (
            json!({ "name": "Trip", "kind": "SPLIT", "description": "d".repeat(1001) }),
            "description",
        ),
    ];
    for (input, field) in cases {
        let response = app
            .gql_user(&alice, CREATE_BOOK, json!({ "input": input }))
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{input}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
    let jpy = app
        .gql_user(
            &alice,
            CREATE_BOOK,
            json!({ "input": { "name": "x".repeat(100), "kind": "PERSONAL", "currency": "jpy" } }),
        )
        .await;
    assert_eq!(ok(&jpy)["createBook"]["currency"], "JPY");
}

#[tokio::test]
async fn books_need_a_login() {
    let app = TestApp::spawn().await;
    let response = app.gql(BOOKS, json!({})).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn books_pages_through_the_callers_books_with_opaque_cursors() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    for name in ["A", "B", "C", "D"] {
        create_book(&app, &alice, name).await;
    }
    create_book(&app, &bob, "Bob's").await;

    // Alice's automatic personal book comes first: books are listed oldest first.
    let mut names = Vec::new();
    let mut after = Value::Null;
    for expected_next in [true, true, false] {
        let page = app
            .gql_user(&alice, BOOKS, json!({ "first": 2, "after": after }))
            .await;
        let books = &ok(&page)["books"];
        for edge in books["edges"].as_array().unwrap() {
            names.push(edge["node"]["name"].as_str().unwrap().to_owned());
            assert!(
                Uuid::parse_str(edge["cursor"].as_str().unwrap()).is_err(),
                "opaque"
            );
        }
        assert_eq!(books["pageInfo"]["hasNextPage"], expected_next, "{page}");
        assert_eq!(books["pageInfo"]["hasPreviousPage"], !after.is_null());
        after = books["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["Personal", "A", "B", "C", "D"]);

    let split = app
        .gql_user(&alice, BOOKS, json!({ "kind": "SPLIT" }))
        .await;
    assert_eq!(ok(&split)["books"]["edges"].as_array().unwrap().len(), 4);

    for (variables, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "after": "not-a-cursor" }), "after"),
    ] {
        let response = app.gql_user(&alice, BOOKS, variables).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn update_book_renames_and_keeps_the_member_limit_in_bounds() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let book = create_book(&app, &alice, "Trip").await;
    add_member(&app, &alice, &book, &bob, "WRITER").await;
    add_member(&app, &alice, &book, &carol, "READER").await;

    let renamed = app
        .gql_user(
            &alice,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "name": " Kyoto ", "description": "temples" } }),
        )
        .await;
    assert_eq!(ok(&renamed)["updateBook"]["name"], "Kyoto");
    assert_eq!(ok(&renamed)["updateBook"]["description"], "temples");
    let cleared = app
        .gql_user(
            &alice,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "description": null } }),
        )
        .await;
    assert_eq!(ok(&cleared)["updateBook"]["description"], Value::Null);
    assert_eq!(ok(&cleared)["updateBook"]["name"], "Kyoto");

    for limit in [1, 2, 201] {
        let response = app
            .gql_user(
                &alice,
                UPDATE_BOOK,
                json!({ "id": book, "input": { "memberLimit": limit } }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{limit}: {response}"
        );
        assert_eq!(response["errors"][0]["extensions"]["field"], "memberLimit");
    }
    let three = app
        .gql_user(
            &alice,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "memberLimit": 3 } }),
        )
        .await;
    assert_eq!(ok(&three)["updateBook"]["memberLimit"], 3);
}

#[tokio::test]
async fn archived_books_are_read_only_and_hidden_unless_asked_for() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let dave = app.register("Dave").await;
    let book = create_book(&app, &alice, "Old trip").await;
    add_member(&app, &alice, &book, &bob, "WRITER").await;
    let code = invite(&app, &alice, &book, "READER").await;

    let archived = app
        .gql_user(&alice, DELETE_BOOK, json!({ "id": book }))
        .await;
    assert!(ok(&archived)["deleteBook"]["archivedAt"].is_string());

    let listed = |all: bool| {
        let app = &app;
        let alice = &alice;
        async move {
            let response = app.gql_user(alice, BOOKS, json!({ "all": all })).await;
            ok(&response)["books"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(false).await, ["Personal"]);
    assert_eq!(listed(true).await, ["Personal", "Old trip"]);
    let still_readable = app
        .gql_user(
            &bob,
            r#"query($id: ID!) { book(id: $id) { name archivedAt } }"#,
            json!({ "id": book }),
        )
        .await;
    assert_eq!(ok(&still_readable)["book"]["name"], "Old trip");

    let writes = [
        (
            &alice,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "name": "New" } }),
        ),
        (&alice, DELETE_BOOK, json!({ "id": book })),
        (&alice, CREATE_INVITE, json!({ "book": book })),
        (
            &alice,
            r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Food") { id } }"#,
            json!({ "book": book }),
        ),
        (
            &alice,
            r#"mutation($book: ID!, $user: ID!) { changeRole(bookId: $book, userId: $user, role: READER) { role } }"#,
            json!({ "book": book, "user": bob.id }),
        ),
        (
            &bob,
            r#"mutation($book: ID!) { leaveBook(bookId: $book) }"#,
            json!({ "book": book }),
        ),
        (&dave, JOIN_BY_CODE, json!({ "code": code })),
    ];
    for (user, document, variables) in writes {
        let response = app.gql_user(user, document, variables).await;
        assert_eq!(
            error_code(&response),
            Some("CONFLICT"),
            "{document}: {response}"
        );
    }
    assert_eq!(member_rows(&app, &book).await, 2);
}
