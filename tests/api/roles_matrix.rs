//! The role table of DESIGN.md, cell by cell, over HTTP: for every role (and for someone outside
//! the book) and every book action this part of the API offers, the action is allowed exactly
//! when the table says so; otherwise the answer is FORBIDDEN (NOT_FOUND for outsiders).
//!
//! Entry actions (the table's second row) arrive with the entries API and are tested there.

use serde_json::{Value, json};

use crate::{
    books::{CREATE_BOOK, add_member, create_book, ok},
    helpers::{TestApp, TestUser, error_code},
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
}

/// One action: its name, the least role the table allows it to, and its document.
struct Action {
    name: &'static str,
    min: Who,
    document: &'static str,
    variables: fn(&Fixture) -> Value,
}

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

/// A fresh book with one member of each role (and the targets), an invite and a category.
async fn fixture(app: &TestApp, people: &People) -> Fixture {
    let owner = &people.owner;
    let book = create_book(app, owner, "Matrix").await;
    for (user, role) in [
        (&people.admin, "ADMIN"),
        (&people.writer, "WRITER"),
        (&people.reader, "READER"),
        (&people.target_admin, "ADMIN"),
        (&people.target_writer, "WRITER"),
        (&people.target_reader, "READER"),
    ] {
        add_member(app, owner, &book, user, role).await;
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
    }
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
        let fixture = fixture(&app, &people).await;
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
