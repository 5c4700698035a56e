//! No data leaks between books: someone outside a book gets NOT_FOUND for every one of its
//! objects through every query and mutation, answered exactly as for ids that exist nowhere:
//! the same bytes. That holds for entries (live, deleted, and the mirrors in members' personal
//! books), guests, and for another book's seats and categories named inside one's own book.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    books::{add_member, create_book, ok},
    helpers::{TestApp, TestUser, error_code},
    ledger_helpers::{
        DELETE_ENTRY, assert_books_balance, assert_refused, create_entry, mutate, personal_book,
        seats,
    },
};

/// The ids of one book's objects.
struct Ids {
    book: String,
    member: String,
    invite: String,
    category: String,
    /// A live entry (version 1), a deleted one, and a member's mirror of the live one.
    entry: String,
    deleted_entry: String,
    mirror: String,
    /// A guest's seat.
    guest: String,
    /// The outsider's own SPLIT book (the same in both sets of ids).
    own_book: String,
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
        (
            "entry",
            r#"query($id: ID!) { entry(id: $id) { id amount } }"#,
            json!({ "id": ids.entry }),
        ),
        (
            "deleted entry",
            r#"query($id: ID!) { entry(id: $id) { id deletedAt } }"#,
            json!({ "id": ids.deleted_entry }),
        ),
        (
            "a member's mirror",
            r#"query($id: ID!) { entry(id: $id) { id isMirror } }"#,
            json!({ "id": ids.mirror }),
        ),
        (
            "book entries",
            r#"query($book: ID!) { book(id: $book) { entries(filter: { includeDeleted: true }) { totalCount nodes { id } } } }"#,
            book(),
        ),
        (
            "balances",
            r#"query($book: ID!) { book(id: $book) { balances { member { id } net } } }"#,
            book(),
        ),
        ("updateEntry", UPDATE_ENTRY_AT_1, json!({ "id": ids.entry })),
        (
            "updateEntry of a deleted entry",
            UPDATE_ENTRY_AT_1,
            json!({ "id": ids.deleted_entry }),
        ),
        (
            "updateEntry of a mirror",
            UPDATE_ENTRY_AT_1,
            json!({ "id": ids.mirror }),
        ),
        (
            "deleteEntry",
            r#"mutation($id: ID!) { deleteEntry(id: $id, expectedVersion: 1) { id } }"#,
            json!({ "id": ids.entry }),
        ),
        (
            "deleteEntry of a mirror",
            r#"mutation($id: ID!) { deleteEntry(id: $id, expectedVersion: 1) { id } }"#,
            json!({ "id": ids.mirror }),
        ),
        (
            "restoreEntry",
            r#"mutation($id: ID!) { restoreEntry(id: $id) { id } }"#,
            json!({ "id": ids.deleted_entry }),
        ),
        (
            "restoreEntry of a live entry",
            r#"mutation($id: ID!) { restoreEntry(id: $id) { id } }"#,
            json!({ "id": ids.entry }),
        ),
        (
            "createEntry",
            r#"mutation($book: ID!) { createEntry(input: { bookId: $book, amount: "5.00", occurredOn: "2026-11-20", description: "Mine" }) { id } }"#,
            book(),
        ),
        (
            "createEntry paid by the book's guest",
            r#"mutation($book: ID!, $guest: ID!) { createEntry(input: { bookId: $book, amount: "5.00", occurredOn: "2026-11-20", description: "Mine", payers: [{ memberId: $guest, amount: "5.00" }], split: { mode: EQUAL, members: [{ memberId: $guest }] } }) { id } }"#,
            json!({ "book": ids.book, "guest": ids.guest }),
        ),
        (
            "addGuest",
            r#"mutation($book: ID!) { addGuest(bookId: $book, name: "Mine") { id } }"#,
            book(),
        ),
        (
            "createInvite for a guest",
            r#"mutation($book: ID!, $guest: ID!) { createInvite(bookId: $book, forMemberId: $guest) { code } }"#,
            json!({ "book": ids.book, "guest": ids.guest }),
        ),
        (
            "createInvite in one's own book for the other book's guest",
            r#"mutation($book: ID!, $guest: ID!) { createInvite(bookId: $book, forMemberId: $guest) { code } }"#,
            json!({ "book": ids.own_book, "guest": ids.guest }),
        ),
        (
            "removeMember of a guest",
            r#"mutation($book: ID!, $guest: ID!) { removeMember(bookId: $book, memberId: $guest) }"#,
            json!({ "book": ids.book, "guest": ids.guest }),
        ),
        (
            "removeMember of the other book's guest from one's own book",
            r#"mutation($book: ID!, $guest: ID!) { removeMember(bookId: $book, memberId: $guest) }"#,
            json!({ "book": ids.own_book, "guest": ids.guest }),
        ),
    ]
}

/// `updateEntry` of `$id` at version 1 with a small valid input.
const UPDATE_ENTRY_AT_1: &str = r#"mutation($id: ID!) { updateEntry(id: $id, expectedVersion: 1, input: { amount: "1.00", occurredOn: "2026-11-20", description: "Mine" }) { id } }"#;

/// Asserts two answers are the same: a refusal byte for byte; data as JSON, since the order of
/// an object's fields follows the order its resolvers finish in (async-graphql resolves
/// sibling fields concurrently and keeps them in completion order, not the selection's), which
/// varies from run to run with the database's timing, not with what exists.
fn assert_same_answer(name: &str, theirs: &str, nowhere: &str) {
    let parsed: Value = serde_json::from_str(theirs).unwrap();
    if parsed.get("errors").is_some() {
        assert_eq!(theirs, nowhere, "{name}: existence leaked");
    } else {
        let other: Value = serde_json::from_str(nowhere).unwrap();
        assert_eq!(parsed, other, "{name}: existence leaked");
    }
}

/// The exact text of the answer to `document` run as `user`.
async fn raw(app: &TestApp, user: &TestUser, document: &str, variables: Value) -> String {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&user.access_token)
        .json(&json!({ "query": document, "variables": variables }))
        .send()
        .await
        .expect("send GraphQL request");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response.text().await.expect("a text body")
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
    let guest = add_guest(&app, &owner, &book, "Grandpa").await;
    let (entry, mirror) = entry_with_mirror(&app, &owner, &bob, &book).await;
    let deleted_entry = deleted_entry(&app, &owner, &book).await;
    let own_book = create_book(&app, &stranger, "Mine").await;
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
        entry: entry.clone(),
        deleted_entry: deleted_entry.clone(),
        mirror,
        guest,
        own_book: own_book.clone(),
    };
    let missing = Ids {
        book: Uuid::now_v7().to_string(),
        member: bob.id.clone(),
        invite: Uuid::now_v7().to_string(),
        category: Uuid::now_v7().to_string(),
        entry: Uuid::now_v7().to_string(),
        deleted_entry: Uuid::now_v7().to_string(),
        mirror: Uuid::now_v7().to_string(),
        guest: Uuid::now_v7().to_string(),
        own_book: own_book.clone(),
    };

    for ((name, document, real_vars), (_, _, missing_vars)) in
        paths(&real).into_iter().zip(paths(&missing))
    {
        let outside = raw(&app, &stranger, document, real_vars).await;
        let nowhere = raw(&app, &stranger, document, missing_vars).await;
        let parsed: Value = serde_json::from_str(&outside).unwrap();
        assert_eq!(error_code(&parsed), Some("NOT_FOUND"), "{name}: {outside}");
        assert_eq!(outside, nowhere, "{name}: existence leaked");
    }
    assert_books_balance(&app).await;

    // Nothing of the book shows in the outsider's own lists.
    let listed = app
        .gql_user(
            &stranger,
            "{ books(includeArchived: true) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(!ok(&listed).to_string().contains(&book));
    // And nothing changed: not the book, its members, its entries, nor the outsider's book.
    let check = app
        .gql_user(
            &owner,
            r#"query($book: ID!) { book(id: $book) { name archivedAt members { role isGuest }
                entries(filter: { includeDeleted: true }) { totalCount nodes { id version deletedAt } } } }"#,
            json!({ "book": book }),
        )
        .await;
    let checked = &ok(&check)["book"];
    assert_eq!(checked["name"], "Private");
    assert_eq!(checked["archivedAt"], Value::Null);
    assert_eq!(
        checked["members"],
        json!([{ "role": "OWNER", "isGuest": false }, { "role": "WRITER", "isGuest": false },
               { "role": "READER", "isGuest": true }])
    );
    assert_eq!(checked["entries"]["totalCount"], 2, "{check}");
    for node in checked["entries"]["nodes"].as_array().unwrap() {
        if node["id"] == entry.as_str() {
            assert_eq!(
                (&node["version"], &node["deletedAt"]),
                (&json!(1), &Value::Null)
            );
        } else {
            assert_eq!(node["id"], deleted_entry.as_str());
            assert_eq!(node["version"], 2);
            assert!(node["deletedAt"].is_string(), "{check}");
        }
    }
    let mine = app
        .gql_user(
            &stranger,
            r#"query($book: ID!) { book(id: $book) { members { role } invites { id } entries { totalCount } } }"#,
            json!({ "book": own_book }),
        )
        .await;
    assert_eq!(
        ok(&mine)["book"],
        json!({ "members": [{ "role": "OWNER" }], "invites": [], "entries": { "totalCount": 0 } })
    );
}

/// Adds a guest named `name` to `book` as `by`; returns the guest's seat.
async fn add_guest(app: &TestApp, by: &TestUser, book: &str, name: &str) -> String {
    let added = app
        .gql_user(
            by,
            r#"mutation($book: ID!, $name: String!) { addGuest(bookId: $book, name: $name) { id } }"#,
            json!({ "book": book, "name": name }),
        )
        .await;
    ok(&added)["addGuest"]["id"].as_str().unwrap().to_owned()
}

/// An entry `owner` writes in `book`, shared equally by everyone; returns its id and the id of
/// its mirror in `member`'s personal book.
async fn entry_with_mirror(
    app: &TestApp,
    owner: &TestUser,
    member: &TestUser,
    book: &str,
) -> (String, String) {
    let entry = create_entry(
        app,
        owner,
        json!({ "bookId": book, "amount": "30.00", "occurredOn": "2026-11-20",
                "description": "Dinner" }),
    )
    .await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let seen = app
        .gql_user(
            member,
            r#"query($id: ID!) { entry(id: $id) { mirrors { user { id } entry { id isMirror } } } }"#,
            json!({ "id": id }),
        )
        .await;
    let mirror = ok(&seen)["entry"]["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mirror| mirror["user"]["id"] == member.id.as_str())
        .and_then(|mirror| mirror["entry"]["id"].as_str())
        .unwrap_or_else(|| panic!("no mirror for the member: {seen}"))
        .to_owned();
    (id, mirror)
}

/// An entry `owner` writes in `book` and deletes (it is then at version 2); returns its id.
async fn deleted_entry(app: &TestApp, owner: &TestUser, book: &str) -> String {
    let entry = create_entry(
        app,
        owner,
        json!({ "bookId": book, "amount": "8.00", "occurredOn": "2026-11-21",
                "description": "Taxi" }),
    )
    .await;
    let id = entry["id"].as_str().unwrap().to_owned();
    let deleted = mutate(app, owner, DELETE_ENTRY, json!({ "id": id, "version": 1 })).await;
    assert!(ok(&deleted)["deleteEntry"]["deletedAt"].is_string());
    id
}

/// Inside one's own book, another book's seats and categories are refused exactly as ids that
/// exist nowhere (the answer names the id given, so each answer is compared with that id
/// masked), and filtering by them finds nothing, as for unknown ones.
#[tokio::test]
async fn another_books_seats_and_categories_are_unknown_in_ones_own_book() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let stranger = app.register("Stranger").await;
    let book = create_book(&app, &owner, "Private").await;
    add_member(&app, &owner, &book, &bob, "WRITER").await;
    let guest = add_guest(&app, &owner, &book, "Grandpa").await;
    let their_seats = seats(&app, &owner, &book).await;
    let bob_seat = their_seats
        .iter()
        .find(|seat| seat["user"]["id"] == bob.id.as_str())
        .and_then(|seat| seat["id"].as_str())
        .unwrap()
        .to_owned();
    let category = app
        .gql_user(
            &owner,
            r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Secret") { id } }"#,
            json!({ "book": book }),
        )
        .await;
    let category = ok(&category)["createCategory"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (entry, _) = entry_with_mirror(&app, &owner, &bob, &book).await;

    let own_book = create_book(&app, &stranger, "Mine").await;
    let my_seat = seats(&app, &stranger, &own_book).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = create_entry(
        &app,
        &stranger,
        json!({ "bookId": own_book, "amount": "4.00", "occurredOn": "2026-11-20",
                "description": "Coffee" }),
    )
    .await;
    let mine = mine["id"].as_str().unwrap().to_owned();

    let as_payer = |seat: &str| {
        json!({ "input": { "bookId": own_book, "amount": "5.00", "occurredOn": "2026-11-20",
                "description": "Lunch", "payers": [{ "memberId": seat, "amount": "5.00" }] } })
    };
    let in_split = |mode: &str, seat: &str| {
        let value = if mode == "EQUAL" {
            Value::Null
        } else {
            json!("5.00")
        };
        json!({ "input": { "bookId": own_book, "amount": "5.00", "occurredOn": "2026-11-20",
                "description": "Lunch", "split": { "mode": mode, "members": [
                    { "memberId": my_seat, "value": if mode == "EQUAL" { Value::Null } else { json!("0") } },
                    { "memberId": seat, "value": value }] } } })
    };
    let with_category = |category: &str| {
        json!({ "input": { "bookId": own_book, "amount": "5.00", "occurredOn": "2026-11-20",
                "description": "Lunch", "categoryId": category } })
    };
    let update_paid_by = |seat: &str| {
        json!({ "id": mine, "version": 1, "input": { "amount": "5.00", "occurredOn": "2026-11-20",
                "description": "Lunch", "payers": [{ "memberId": seat, "amount": "5.00" }] } })
    };
    let filtered = |field: &str, id: &str| json!({ "book": own_book, "filter": { field: id } });
    const CREATE: &str =
        r#"mutation($input: CreateEntryInput!) { createEntry(input: $input) { id } }"#;
    const UPDATE: &str = r#"mutation($id: ID!, $version: Int!, $input: EntryInput!) { updateEntry(id: $id, expectedVersion: $version, input: $input) { id version } }"#;
    const FILTER: &str = r#"query($book: ID!, $filter: EntriesFilter) { book(id: $book) { entries(filter: $filter) { totalCount nodes { id } } } }"#;
    const ENTRY_BY_ID: &str = r#"query($id: ID!) { entry(id: $id) { id } }"#;

    let equal_split = |seat: &str| in_split("EQUAL", seat);
    let exact_split = |seat: &str| in_split("EXACT", seat);
    let by_member = |id: &str| filtered("memberId", id);
    let by_category = |id: &str| filtered("categoryId", id);
    let by_id = |id: &str| json!({ "id": id });
    let bad = |field| Some(("BAD_USER_INPUT", Some(field)));
    let cases: Vec<Case> = vec![
        case(
            "payer: their guest",
            CREATE,
            &as_payer,
            &guest,
            bad("payers"),
        ),
        case(
            "payer: their member",
            CREATE,
            &as_payer,
            &bob_seat,
            bad("payers"),
        ),
        case(
            "EQUAL split: their guest",
            CREATE,
            &equal_split,
            &guest,
            bad("split"),
        ),
        case(
            "EXACT split: their member",
            CREATE,
            &exact_split,
            &bob_seat,
            bad("split"),
        ),
        case(
            "their category",
            CREATE,
            &with_category,
            &category,
            bad("categoryId"),
        ),
        case(
            "update paid by their guest",
            UPDATE,
            &update_paid_by,
            &guest,
            bad("payers"),
        ),
        case(
            "filter by their member",
            FILTER,
            &by_member,
            &bob_seat,
            None,
        ),
        case(
            "filter by their category",
            FILTER,
            &by_category,
            &category,
            None,
        ),
        case(
            "their entry by id",
            ENTRY_BY_ID,
            &by_id,
            &entry,
            Some(("NOT_FOUND", None)),
        ),
    ];
    for (name, document, variables, theirs, refusal) in cases {
        let nowhere_id = Uuid::now_v7().to_string();
        let theirs_answer = raw(&app, &stranger, document, variables(theirs)).await;
        let nowhere_answer = raw(&app, &stranger, document, variables(&nowhere_id)).await;
        let parsed: Value = serde_json::from_str(&theirs_answer).unwrap();
        match refusal {
            Some((code, field)) => assert_refused(&parsed, code, field),
            None => assert!(parsed.get("errors").is_none(), "{name}: {theirs_answer}"),
        }
        assert_same_answer(
            name,
            &theirs_answer.replace(theirs, "<id>"),
            &nowhere_answer.replace(&nowhere_id, "<id>"),
        );
        assert_books_balance(&app).await;
    }
    // The outsider's entry is as it was.
    let unchanged = app
        .gql_user(
            &stranger,
            r#"query($id: ID!) { entry(id: $id) { version } }"#,
            json!({ "id": mine }),
        )
        .await;
    assert_eq!(ok(&unchanged)["entry"]["version"], 1);
}

/// One probe of [`another_books_seats_and_categories_are_unknown_in_ones_own_book`]: its name,
/// document, variables for an id, the other book's id, and the refusal expected (its code
/// and the field it names), if any.
type Case<'a> = (
    &'static str,
    &'static str,
    &'a dyn Fn(&str) -> Value,
    &'a str,
    Option<(&'static str, Option<&'static str>)>,
);

fn case<'a>(
    name: &'static str,
    document: &'static str,
    variables: &'a dyn Fn(&str) -> Value,
    theirs: &'a str,
    refusal: Option<(&'static str, Option<&'static str>)>,
) -> Case<'a> {
    (name, document, variables, theirs, refusal)
}

/// A mirror lives in its participant's personal book: even a fellow member of the book it
/// mirrors gets NOT_FOUND for it, exactly as for an id that exists nowhere, and its own
/// participant cannot change it (it is read-only).
#[tokio::test]
async fn a_mirror_belongs_to_its_participant_alone() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let book = create_book(&app, &owner, "Shared").await;
    add_member(&app, &owner, &book, &bob, "WRITER").await;
    let (_, mirror) = entry_with_mirror(&app, &owner, &bob, &book).await;
    let missing = Uuid::now_v7().to_string();
    for (name, document) in [
        ("entry", r#"query($id: ID!) { entry(id: $id) { id } }"#),
        ("updateEntry", UPDATE_ENTRY_AT_1),
        (
            "deleteEntry",
            r#"mutation($id: ID!) { deleteEntry(id: $id, expectedVersion: 1) { id } }"#,
        ),
        (
            "restoreEntry",
            r#"mutation($id: ID!) { restoreEntry(id: $id) { id } }"#,
        ),
    ] {
        let theirs = raw(&app, &owner, document, json!({ "id": mirror })).await;
        let nowhere = raw(&app, &owner, document, json!({ "id": missing })).await;
        let parsed: Value = serde_json::from_str(&theirs).unwrap();
        assert_eq!(error_code(&parsed), Some("NOT_FOUND"), "{name}: {theirs}");
        assert_eq!(theirs, nowhere, "{name}: existence leaked");
    }
    // Bob sees his mirror, in his personal book, and may not change it.
    let seen = app
        .gql_user(
            &bob,
            r#"query($id: ID!) { entry(id: $id) { isMirror bookId version } }"#,
            json!({ "id": mirror }),
        )
        .await;
    assert_eq!(ok(&seen)["entry"]["isMirror"], true);
    assert_eq!(
        ok(&seen)["entry"]["bookId"],
        personal_book(&app, &bob).await.as_str()
    );
    let version = ok(&seen)["entry"]["version"].as_i64().unwrap();
    let edit = app
        .gql_user(
            &bob,
            r#"mutation($id: ID!, $v: Int!) { updateEntry(id: $id, expectedVersion: $v, input: { amount: "1.00", occurredOn: "2026-11-20", description: "Mine" }) { id } }"#,
            json!({ "id": mirror, "v": version }),
        )
        .await;
    assert_eq!(error_code(&edit), Some("FORBIDDEN"), "{edit}");
    let delete = app
        .gql_user(
            &bob,
            r#"mutation($id: ID!, $v: Int!) { deleteEntry(id: $id, expectedVersion: $v) { id } }"#,
            json!({ "id": mirror, "v": version }),
        )
        .await;
    assert_eq!(error_code(&delete), Some("FORBIDDEN"), "{delete}");
    assert_books_balance(&app).await;
}
