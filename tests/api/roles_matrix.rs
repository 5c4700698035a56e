//! The role table of DESIGN.md, cell by cell, over HTTP: for every role (and for someone outside
//! the book) and every book action this part of the API offers, the action is allowed exactly
//! when the table says so; otherwise the answer is FORBIDDEN (NOT_FOUND for outsiders).
//!
//! Entries: READERs read them (the page, `entry(id)`, the balances); WRITERs create entries
//! and edit, delete and restore their own; ADMINs and the OWNER anyone's. "Own" is per actor:
//! each row's fixture holds entries its actor wrote (the READER wrote its own while it was a
//! WRITER, so the row also shows that a demoted creator can no longer change them). Every
//! entry an action changes is its own, at a known version, so rows do not depend on each
//! other's outcome; and no entry's money touches the members other rows remove or re-role.

use serde_json::{Value, json};

use crate::{
    books::{CREATE_BOOK, add_member, create_book, ok},
    helpers::{TestApp, TestUser, error_code},
    ledger_helpers::{DELETE_ENTRY, assert_books_balance, create_entry, mutate, seats},
};

/// Who tries the actions of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Stranger,
    Reader,
    Writer,
    Admin,
    Owner,
}

/// The ids an action may refer to, set up fresh for each row.
struct Fixture {
    book: String,
    archive_book: String,
    admin: String,
    writer: String,
    reader: String,
    invite: String,
    category: String,
    /// The owner's seat: every entry of the fixture is paid by and shared by the owner alone.
    owner_seat: String,
    /// Entries the row's actor wrote (at version 1), and one it wrote and deleted (version 2).
    own_entry_to_update: String,
    own_entry_to_delete: String,
    own_deleted_entry: String,
    /// The same, written by a member who never acts (the target WRITER).
    other_entry_to_update: String,
    other_entry_to_delete: String,
    other_deleted_entry: String,
}

/// One action: its name, the least role the table allows it to, and its document.
struct Action {
    name: &'static str,
    min: Who,
    document: &'static str,
    variables: fn(&Fixture) -> Value,
}

/// Replaces an entry (expected at version 1) with one the owner pays and shares alone.
const UPDATE_AT_VERSION_1: &str = r#"mutation($id: ID!, $seat: ID!) { updateEntry(id: $id, expectedVersion: 1, input: { amount: "20.00", occurredOn: "2026-11-21", description: "Edited", payers: [{ memberId: $seat, amount: "20.00" }], split: { mode: EQUAL, members: [{ memberId: $seat }] } }) { id version } }"#;

const DELETE_AT_VERSION_1: &str =
    r#"mutation($id: ID!) { deleteEntry(id: $id, expectedVersion: 1) { id deletedAt } }"#;

const RESTORE: &str = r#"mutation($id: ID!) { restoreEntry(id: $id) { id deletedAt } }"#;

const ACTIONS: &[Action] = &[
    Action {
        name: "read the book",
        min: Who::Reader,
        document: r#"query($book: ID!) { book(id: $book) { name myRole owner { name } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "read the members",
        min: Who::Reader,
        document: r#"query($book: ID!) { book(id: $book) { members { role user { name } } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "read the activity",
        min: Who::Reader,
        document: r#"query($book: ID!) { book(id: $book) { activity { edges { node { action } } } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "read the categories",
        min: Who::Reader,
        document: r#"query($book: ID!) { categories(bookId: $book) { name } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "read the entries",
        min: Who::Reader,
        document: r#"query($book: ID!) { book(id: $book) { entries(filter: { includeDeleted: true }) { totalCount nodes { id amount version } } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "read an entry",
        min: Who::Reader,
        document: r#"query($id: ID!) { entry(id: $id) { id amount payers { amount } split { mode } } }"#,
        variables: |f| json!({ "id": f.other_entry_to_update }),
    },
    Action {
        name: "read the balances",
        min: Who::Reader,
        document: r#"query($book: ID!) { book(id: $book) { balances { member { id } net } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "create an entry",
        min: Who::Writer,
        document: r#"mutation($book: ID!, $seat: ID!) { createEntry(input: { bookId: $book, amount: "12.00", occurredOn: "2026-11-20", description: "Snacks", payers: [{ memberId: $seat, amount: "12.00" }], split: { mode: EQUAL, members: [{ memberId: $seat }] } }) { id } }"#,
        variables: |f| json!({ "book": f.book, "seat": f.owner_seat }),
    },
    Action {
        name: "update an own entry",
        min: Who::Writer,
        document: UPDATE_AT_VERSION_1,
        variables: |f| json!({ "id": f.own_entry_to_update, "seat": f.owner_seat }),
    },
    Action {
        name: "delete an own entry",
        min: Who::Writer,
        document: DELETE_AT_VERSION_1,
        variables: |f| json!({ "id": f.own_entry_to_delete }),
    },
    Action {
        name: "restore an own entry",
        min: Who::Writer,
        document: RESTORE,
        variables: |f| json!({ "id": f.own_deleted_entry }),
    },
    Action {
        name: "update someone else's entry",
        min: Who::Admin,
        document: UPDATE_AT_VERSION_1,
        variables: |f| json!({ "id": f.other_entry_to_update, "seat": f.owner_seat }),
    },
    Action {
        name: "delete someone else's entry",
        min: Who::Admin,
        document: DELETE_AT_VERSION_1,
        variables: |f| json!({ "id": f.other_entry_to_delete }),
    },
    Action {
        name: "restore someone else's entry",
        min: Who::Admin,
        document: RESTORE,
        variables: |f| json!({ "id": f.other_deleted_entry }),
    },
    Action {
        name: "add a guest",
        min: Who::Admin,
        document: r#"mutation($book: ID!) { addGuest(bookId: $book, name: "Grandma") { id isGuest } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "list the invites",
        min: Who::Admin,
        document: r#"query($book: ID!) { book(id: $book) { invites { code } } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "create a category",
        min: Who::Admin,
        document: r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Snacks") { id } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "update a category",
        min: Who::Admin,
        document: r##"mutation($id: ID!) { updateCategory(id: $id, color: "#123456") { id } }"##,
        variables: |f| json!({ "id": f.category }),
    },
    Action {
        name: "delete a category",
        min: Who::Admin,
        document: r#"mutation($id: ID!) { deleteCategory(id: $id) { id } }"#,
        variables: |f| json!({ "id": f.category }),
    },
    Action {
        name: "invite a writer",
        min: Who::Admin,
        document: r#"mutation($book: ID!) { createInvite(bookId: $book, role: WRITER) { code } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "revoke a writer invite",
        min: Who::Admin,
        document: r#"mutation($id: ID!) { revokeInvite(id: $id) { id } }"#,
        variables: |f| json!({ "id": f.invite }),
    },
    Action {
        name: "re-role a writer",
        min: Who::Admin,
        document: r#"mutation($book: ID!, $user: ID!) { changeRole(bookId: $book, userId: $user, role: READER) { role } }"#,
        variables: |f| json!({ "book": f.book, "user": f.writer }),
    },
    Action {
        name: "remove a reader",
        min: Who::Admin,
        document: r#"mutation($book: ID!, $user: ID!) { removeMember(bookId: $book, userId: $user) }"#,
        variables: |f| json!({ "book": f.book, "user": f.reader }),
    },
    Action {
        name: "invite an admin",
        min: Who::Owner,
        document: r#"mutation($book: ID!) { createInvite(bookId: $book, role: ADMIN) { code } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    Action {
        name: "re-role an admin",
        min: Who::Owner,
        document: r#"mutation($book: ID!, $user: ID!) { changeRole(bookId: $book, userId: $user, role: WRITER) { role } }"#,
        variables: |f| json!({ "book": f.book, "user": f.admin }),
    },
    Action {
        name: "rename the book",
        min: Who::Owner,
        document: r#"mutation($book: ID!) { updateBook(id: $book, input: { name: "Renamed" }) { name } }"#,
        variables: |f| json!({ "book": f.book }),
    },
    // The last two change who may do anything else, so they come last (and archiving uses a
    // book of its own).
    Action {
        name: "transfer ownership",
        min: Who::Owner,
        document: r#"mutation($book: ID!, $user: ID!) { transferOwnership(bookId: $book, userId: $user) { myRole } }"#,
        variables: |f| json!({ "book": f.book, "user": f.admin }),
    },
    Action {
        name: "archive the book",
        min: Who::Owner,
        document: r#"mutation($book: ID!) { deleteBook(id: $book) { archivedAt } }"#,
        variables: |f| json!({ "book": f.archive_book }),
    },
];

/// The people of the matrix: the actor of each row, and the members acted upon.
struct People {
    owner: TestUser,
    admin: TestUser,
    writer: TestUser,
    reader: TestUser,
    stranger: TestUser,
    target_admin: TestUser,
    target_writer: TestUser,
    target_reader: TestUser,
}

impl People {
    fn actor(&self, who: Who) -> &TestUser {
        match who {
            Who::Owner => &self.owner,
            Who::Admin => &self.admin,
            Who::Writer => &self.writer,
            Who::Reader => &self.reader,
            Who::Stranger => &self.stranger,
        }
    }
}

/// A fresh book with one member of each role (and the targets), an invite, a category, and
/// entries: some written by `who`, the row's actor, and some by the target WRITER.
async fn fixture(app: &TestApp, people: &People, who: Who) -> Fixture {
    let owner = &people.owner;
    let book = create_book(app, owner, "Matrix").await;
    // The READER writes its own entries as a WRITER first and is demoted below.
    let reader_role = if who == Who::Reader {
        "WRITER"
    } else {
        "READER"
    };
    for (user, role) in [
        (&people.admin, "ADMIN"),
        (&people.writer, "WRITER"),
        (&people.reader, reader_role),
        (&people.target_admin, "ADMIN"),
        (&people.target_writer, "WRITER"),
        (&people.target_reader, "READER"),
    ] {
        add_member(app, owner, &book, user, role).await;
    }
    let owner_seat = seats(app, owner, &book)
        .await
        .iter()
        .find(|seat| seat["user"]["id"] == owner.id.as_str())
        .and_then(|seat| seat["id"].as_str())
        .unwrap()
        .to_owned();
    // Someone outside the book has no entries in it: the stranger's "own" entries are the
    // owner's (it is refused them as every other object of the book).
    let author = match who {
        Who::Stranger => owner,
        _ => people.actor(who),
    };
    let own_entry_to_update = fixture_entry(app, author, &book, &owner_seat).await;
    let own_entry_to_delete = fixture_entry(app, author, &book, &owner_seat).await;
    let own_deleted_entry = fixture_entry(app, author, &book, &owner_seat).await;
    delete_entry(app, author, &own_deleted_entry).await;
    let target = &people.target_writer;
    let other_entry_to_update = fixture_entry(app, target, &book, &owner_seat).await;
    let other_entry_to_delete = fixture_entry(app, target, &book, &owner_seat).await;
    let other_deleted_entry = fixture_entry(app, target, &book, &owner_seat).await;
    delete_entry(app, target, &other_deleted_entry).await;
    if who == Who::Reader {
        let demoted = app
            .gql_user(
                owner,
                r#"mutation($book: ID!, $user: ID!) { changeRole(bookId: $book, userId: $user, role: READER) { role } }"#,
                json!({ "book": book, "user": people.reader.id }),
            )
            .await;
        assert_eq!(ok(&demoted)["changeRole"]["role"], "READER");
    }
    let archive = app
        .gql_user(
            owner,
            CREATE_BOOK,
            json!({ "input": { "name": "To archive", "kind": "SPLIT" } }),
        )
        .await;
    let archive_book = ok(&archive)["createBook"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (user, role) in [
        (&people.admin, "ADMIN"),
        (&people.writer, "WRITER"),
        (&people.reader, "READER"),
    ] {
        add_member(app, owner, &archive_book, user, role).await;
    }
    let invite_response = app
        .gql_user(
            owner,
            r#"mutation($book: ID!) { createInvite(bookId: $book) { invite { id } } }"#,
            json!({ "book": book }),
        )
        .await;
    let category = app
        .gql_user(
            owner,
            r#"mutation($book: ID!) { createCategory(bookId: $book, name: "Fixture") { id } }"#,
            json!({ "book": book }),
        )
        .await;
    Fixture {
        admin: people.target_admin.id.clone(),
        writer: people.target_writer.id.clone(),
        reader: people.target_reader.id.clone(),
        invite: ok(&invite_response)["createInvite"]["invite"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        category: ok(&category)["createCategory"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        book,
        archive_book,
        owner_seat,
        own_entry_to_update,
        own_entry_to_delete,
        own_deleted_entry,
        other_entry_to_update,
        other_entry_to_delete,
        other_deleted_entry,
    }
}

/// An entry `by` writes in `book`, paid and shared by `seat` alone (nobody else's balance
/// moves, so removing or re-roling other members stays possible); returns its id.
async fn fixture_entry(app: &TestApp, by: &TestUser, book: &str, seat: &str) -> String {
    let entry = create_entry(
        app,
        by,
        json!({ "bookId": book, "amount": "10.00", "occurredOn": "2026-11-20",
                "description": "Fixture", "payers": [{ "memberId": seat, "amount": "10.00" }],
                "split": { "mode": "EQUAL", "members": [{ "memberId": seat }] } }),
    )
    .await;
    entry["id"].as_str().unwrap().to_owned()
}

/// Deletes entry `id` (at version 1) as `by`.
async fn delete_entry(app: &TestApp, by: &TestUser, id: &str) {
    let deleted = mutate(app, by, DELETE_ENTRY, json!({ "id": id, "version": 1 })).await;
    assert!(
        ok(&deleted)["deleteEntry"]["deletedAt"].is_string(),
        "{deleted}"
    );
}

#[tokio::test]
async fn every_cell_of_the_role_table_is_allowed_or_refused_as_designed() {
    let app = TestApp::spawn().await;
    let people = People {
        owner: app.register("Owner").await,
        admin: app.register("Admin").await,
        writer: app.register("Writer").await,
        reader: app.register("Reader").await,
        stranger: app.register("Stranger").await,
        target_admin: app.register("Target Admin").await,
        target_writer: app.register("Target Writer").await,
        target_reader: app.register("Target Reader").await,
    };
    let mut cells = Vec::new();
    for who in [
        Who::Owner,
        Who::Admin,
        Who::Writer,
        Who::Reader,
        Who::Stranger,
    ] {
        let fixture = fixture(&app, &people, who).await;
        for action in ACTIONS {
            let response = app
                .gql_user(
                    people.actor(who),
                    action.document,
                    (action.variables)(&fixture),
                )
                .await;
            let expected = if who == Who::Stranger {
                Some("NOT_FOUND")
            } else if who >= action.min {
                None
            } else {
                Some("FORBIDDEN")
            };
            let got = error_code(&response).map(str::to_owned);
            cells.push((who, action.name, expected, got, response));
        }
        // Whatever went through, every balance still equals its entries.
        assert_books_balance(&app).await;
    }
    let wrong: Vec<String> = cells
        .iter()
        .filter(|(_, _, expected, got, _)| expected.as_deref() != got.as_deref())
        .map(|(who, name, expected, _, response)| {
            format!("{who:?} / {name}: expected {expected:?}, got {response}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "cells off the table:\n{}",
        wrong.join("\n")
    );
    assert_eq!(cells.len(), 5 * ACTIONS.len());
}
