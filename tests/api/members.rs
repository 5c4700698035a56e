//! Members over HTTP: listing, roles, removal, leaving, ownership transfer, the member limit,
//! the single-owner invariant under random sequences, and the member list's statement count.

use proptest::{prelude::*, test_runner::TestRunner};
use serde_json::{Value, json};

use crate::{
    books::{JOIN_BY_CODE, UPDATE_BOOK, add_member, create_book, invite, member_rows, ok, owners},
    helpers::{TestApp, TestUser, error_code},
};

pub const CHANGE_ROLE: &str = r#"mutation($book: ID!, $user: ID!, $role: Role!) {
    changeRole(bookId: $book, userId: $user, role: $role) { role user { id } }
}"#;
pub const REMOVE_MEMBER: &str =
    r#"mutation($book: ID!, $user: ID!) { removeMember(bookId: $book, userId: $user) }"#;
pub const LEAVE_BOOK: &str = r#"mutation($book: ID!) { leaveBook(bookId: $book) }"#;
pub const TRANSFER: &str = r#"mutation($book: ID!, $user: ID!) {
    transferOwnership(bookId: $book, userId: $user) { myRole owner { id } }
}"#;
const MEMBERS: &str = r#"query($id: ID!) {
    book(id: $id) { myRole members { role joinedAt user { id name email } } }
}"#;

fn vars(book: &str, user: &TestUser) -> Value {
    json!({ "book": book, "user": user.id })
}

#[tokio::test]
async fn members_show_user_role_and_join_time_and_email_only_to_its_owner() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let book = create_book(&app, &alice, "Flat").await;
    add_member(&app, &alice, &book, &bob, "WRITER").await;

    let response = app.gql_user(&bob, MEMBERS, json!({ "id": book })).await;
    let book_json = &ok(&response)["book"];
    assert_eq!(book_json["myRole"], "WRITER");
    let members = book_json["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["role"], "OWNER");
    assert_eq!(
        members[0]["user"],
        json!({ "id": alice.id, "name": "Alice", "email": null })
    );
    assert_eq!(members[1]["role"], "WRITER");
    assert_eq!(members[1]["user"]["email"], bob.email.as_str());
    assert!(members[1]["joinedAt"].is_string());
}

#[tokio::test]
async fn admins_manage_only_members_below_admin_and_only_the_owner_manages_admins() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let admin2 = app.register("Second Admin").await;
    let writer = app.register("Writer").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;
    add_member(&app, &owner, &book, &admin2, "ADMIN").await;
    add_member(&app, &owner, &book, &writer, "WRITER").await;

    let demote =
        |user: &TestUser, role: &str| json!({ "book": book, "user": user.id, "role": role });
    // An admin re-roles a writer among the roles below ADMIN…
    let response = app
        .gql_user(&admin, CHANGE_ROLE, demote(&writer, "READER"))
        .await;
    assert_eq!(ok(&response)["changeRole"]["role"], "READER");
    // …but cannot promote to ADMIN, touch another admin, or themself.
    for variables in [
        demote(&writer, "ADMIN"),
        demote(&admin2, "WRITER"),
        demote(&admin, "WRITER"),
    ] {
        let response = app.gql_user(&admin, CHANGE_ROLE, variables).await;
        assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
    }
    let response = app
        .gql_user(&admin, REMOVE_MEMBER, vars(&book, &admin2))
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    // The owner manages admins.
    let response = app
        .gql_user(&owner, CHANGE_ROLE, demote(&admin2, "WRITER"))
        .await;
    assert_eq!(ok(&response)["changeRole"]["role"], "WRITER");
    let response = app
        .gql_user(&owner, CHANGE_ROLE, demote(&writer, "ADMIN"))
        .await;
    assert_eq!(ok(&response)["changeRole"]["role"], "ADMIN");
    // Nobody grants OWNER through changeRole.
    let response = app
        .gql_user(&owner, CHANGE_ROLE, demote(&admin, "OWNER"))
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    assert_eq!(response["errors"][0]["extensions"]["field"], "role");
    // Someone not in the book is not a member to manage.
    let stranger = app.register("Stranger").await;
    let response = app
        .gql_user(&owner, REMOVE_MEMBER, vars(&book, &stranger))
        .await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
    assert_eq!(owners(&app, &book).await, (1, true));
}

#[tokio::test]
async fn the_owner_cannot_leave_be_demoted_or_be_removed_without_transferring() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;

    let response = app
        .gql_user(&owner, LEAVE_BOOK, json!({ "book": book }))
        .await;
    assert_eq!(error_code(&response), Some("CONFLICT"), "{response}");
    let response = app
        .gql_user(
            &owner,
            CHANGE_ROLE,
            json!({ "book": book, "user": owner.id, "role": "ADMIN" }),
        )
        .await;
    assert_eq!(error_code(&response), Some("CONFLICT"), "{response}");
    let response = app
        .gql_user(
            &admin,
            CHANGE_ROLE,
            json!({ "book": book, "user": owner.id, "role": "READER" }),
        )
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    let response = app
        .gql_user(&admin, REMOVE_MEMBER, vars(&book, &owner))
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    let response = app
        .gql_user(&owner, REMOVE_MEMBER, vars(&book, &owner))
        .await;
    assert_eq!(
        error_code(&response),
        Some("BAD_USER_INPUT"),
        "use leaveBook"
    );
    assert_eq!(owners(&app, &book).await, (1, true));

    // After transferring, the old owner is an ADMIN and may leave.
    let response = app.gql_user(&owner, TRANSFER, vars(&book, &admin)).await;
    let transferred = &ok(&response)["transferOwnership"];
    assert_eq!(transferred["myRole"], "ADMIN");
    assert_eq!(transferred["owner"]["id"], admin.id.as_str());
    assert_eq!(owners(&app, &book).await, (1, true));
    let response = app
        .gql_user(&owner, LEAVE_BOOK, json!({ "book": book }))
        .await;
    assert_eq!(ok(&response)["leaveBook"], true);
    assert_eq!(member_rows(&app, &book).await, 1);
}

#[tokio::test]
async fn transfer_needs_a_member_and_the_owner() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let stranger = app.register("Stranger").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;

    let response = app.gql_user(&admin, TRANSFER, vars(&book, &admin)).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    let response = app.gql_user(&owner, TRANSFER, vars(&book, &stranger)).await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
    let response = app.gql_user(&owner, TRANSFER, vars(&book, &owner)).await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    assert_eq!(owners(&app, &book).await, (1, true));
}

#[tokio::test]
async fn a_member_can_leave_and_come_back() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &bob, "WRITER").await;
    let response = app
        .gql_user(&bob, LEAVE_BOOK, json!({ "book": book }))
        .await;
    assert_eq!(ok(&response)["leaveBook"], true);
    let response = app.gql_user(&bob, MEMBERS, json!({ "id": book })).await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
    // Coming back takes a new seat; the old one stays, removed, for the entries that name it.
    add_member(&app, &owner, &book, &bob, "READER").await;
    assert_eq!(member_rows(&app, &book).await, 2);
}

#[tokio::test]
async fn the_member_limit_holds_for_every_way_in() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let book = create_book(&app, &owner, "Pair").await;
    let response = app
        .gql_user(
            &owner,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "memberLimit": 2 } }),
        )
        .await;
    ok(&response);
    let code = invite(&app, &owner, &book, "WRITER").await;
    let joined = app
        .gql_user(&bob, JOIN_BY_CODE, json!({ "code": code }))
        .await;
    ok(&joined);
    let full = app
        .gql_user(&carol, JOIN_BY_CODE, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&full), Some("CONFLICT"), "{full}");
    assert!(
        full["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("full")
    );
    assert_eq!(member_rows(&app, &book).await, 2);
}

/// Listing a book's members and their users takes the same number of statements for 2 members
/// as for 20: users, memberships and roles are loaded in batches, not one per member.
#[tokio::test]
async fn the_member_list_statement_count_does_not_grow_with_the_members() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let small = create_book(&app, &owner, "Small").await;
    let large = create_book(&app, &owner, "Large").await;
    let response = app
        .gql_user(
            &owner,
            UPDATE_BOOK,
            json!({ "id": large, "input": { "memberLimit": 20 } }),
        )
        .await;
    ok(&response);
    let small_code = invite(&app, &owner, &small, "WRITER").await;
    let large_code = invite(&app, &owner, &large, "WRITER").await;
    for n in 1..20 {
        let user = app.register(&format!("Member {n}")).await;
        if n == 1 {
            let joined = app
                .gql_user(&user, JOIN_BY_CODE, json!({ "code": small_code }))
                .await;
            ok(&joined);
        }
        let joined = app
            .gql_user(&user, JOIN_BY_CODE, json!({ "code": large_code }))
            .await;
        ok(&joined);
    }

    let statements_for = |book: String| {
        let (app, owner) = (&app, &owner);
        async move {
            let before = app.statements.get();
            let response = app.gql_user(owner, MEMBERS, json!({ "id": book })).await;
            let spent = app.statements.get() - before;
            (
                ok(&response)["book"]["members"].as_array().unwrap().len(),
                spent,
            )
        }
    };
    let (small_members, small_statements) = statements_for(small.clone()).await;
    let (large_members, large_statements) = statements_for(large.clone()).await;
    assert_eq!((small_members, large_members), (2, 20));
    assert_eq!(small_statements, large_statements);
    // book + roster and balances (filling the instance's book cache) + users; a session's
    // bearer token needs no database.
    assert!(small_statements <= 4, "{small_statements} statements");
    // Read again at the same version: the book row only (roster and profiles are cached).
    let (_, small_again) = statements_for(small.clone()).await;
    let (_, large_again) = statements_for(large.clone()).await;
    assert_eq!((small_again, large_again), (1, 1));

    // The same holds across books: every book's roster and users in one batch each.
    let before = app.statements.get();
    let response = app
        .gql_user(
            &owner,
            "{ books { edges { node { members { user { name } } } } } }",
            json!({}),
        )
        .await;
    let listed = ok(&response)["books"]["edges"].as_array().unwrap().len();
    assert_eq!(listed, 3);
    assert!(app.statements.get() - before <= 3);
}

/// One step of a random sequence: `actor` tries something on `target`.
#[derive(Debug, Clone)]
enum Step {
    ChangeRole {
        actor: usize,
        target: usize,
        role: &'static str,
    },
    Remove {
        actor: usize,
        target: usize,
    },
    Leave {
        actor: usize,
    },
    Transfer {
        actor: usize,
        target: usize,
    },
    Rejoin {
        user: usize,
        role: &'static str,
    },
}

const PEOPLE: usize = 5;

fn step() -> impl Strategy<Value = Step> {
    let person = 0..PEOPLE;
    let role = prop::sample::select(vec!["OWNER", "ADMIN", "WRITER", "READER"]);
    let invited = prop::sample::select(vec!["ADMIN", "WRITER", "READER"]);
    prop_oneof![
        3 => (person.clone(), person.clone(), role)
            .prop_map(|(actor, target, role)| Step::ChangeRole { actor, target, role }),
        2 => (person.clone(), person.clone()).prop_map(|(actor, target)| Step::Remove { actor, target }),
        2 => person.clone().prop_map(|actor| Step::Leave { actor }),
        2 => (person.clone(), person.clone()).prop_map(|(actor, target)| Step::Transfer { actor, target }),
        1 => (person, invited).prop_map(|(user, role)| Step::Rejoin { user, role }),
    ]
}

/// Whatever sequence of role changes, removals, departures, transfers and returns is tried,
/// every book has exactly one OWNER after every step, `books.owner_id` names them, and every
/// refusal is one of the documented answers (never INTERNAL).
#[test]
fn the_single_owner_invariant_survives_random_sequences() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let people: Vec<TestUser> = runtime.block_on(async {
        let mut people = Vec::new();
        for n in 0..PEOPLE {
            people.push(app.register(&format!("Person {n}")).await);
        }
        people
    });
    let config = ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = prop::collection::vec(step(), 12);
    let result = runner.run(&strategy, |steps| {
        runtime.block_on(run_sequence(&app, &people, steps));
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

async fn run_sequence(app: &TestApp, people: &[TestUser], steps: Vec<Step>) {
    // Person 0 founds a fresh book and brings everyone else in.
    let book = create_book(app, &people[0], "Random").await;
    for (n, person) in people.iter().enumerate().skip(1) {
        let role = ["ADMIN", "WRITER", "READER"][n % 3];
        add_member(app, &people[0], &book, person, role).await;
    }
    let mut owner = 0;
    for step in steps {
        let response = match &step {
            Step::ChangeRole {
                actor,
                target,
                role,
            } => {
                let variables = json!({ "book": book, "user": people[*target].id, "role": role });
                app.gql_user(&people[*actor], CHANGE_ROLE, variables).await
            }
            Step::Remove { actor, target } => {
                app.gql_user(
                    &people[*actor],
                    REMOVE_MEMBER,
                    vars(&book, &people[*target]),
                )
                .await
            }
            Step::Leave { actor } => {
                app.gql_user(&people[*actor], LEAVE_BOOK, json!({ "book": book }))
                    .await
            }
            Step::Transfer { actor, target } => {
                app.gql_user(&people[*actor], TRANSFER, vars(&book, &people[*target]))
                    .await
            }
            Step::Rejoin { user, role } => {
                // Invited by whoever owns the book now: the only one who may invite anyone.
                let code = invite(app, &people[owner], &book, role).await;
                app.gql_user(&people[*user], JOIN_BY_CODE, json!({ "code": code }))
                    .await
            }
        };
        if let Some(code) = error_code(&response) {
            assert!(
                ["FORBIDDEN", "NOT_FOUND", "CONFLICT", "BAD_USER_INPUT"].contains(&code),
                "{step:?}: {response}"
            );
        } else if let Step::Transfer { target, .. } = step {
            owner = target;
        }
        assert_eq!(
            owners(app, &book).await,
            (1, true),
            "after {step:?}: {response}"
        );
    }
}
