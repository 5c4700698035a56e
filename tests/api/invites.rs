//! Invites over HTTP: codes and link tokens, roles they may grant, expiry, use limits,
//! revocation, duplicates and full books, and concurrent redemption.

use entity::invite;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    books::{CREATE_INVITE, JOIN_BY_CODE, UPDATE_BOOK, add_member, create_book, member_rows, ok},
    helpers::{TestApp, TestUser, error_code},
};

const JOIN_BY_LINK: &str =
    r#"mutation($token: String!) { joinBook(linkToken: $token) { id myRole } }"#;
const REVOKE: &str = r#"mutation($id: ID!) { revokeInvite(id: $id) { id revokedAt } }"#;
const LIVE_INVITES: &str = r#"query($id: ID!) {
    book(id: $id) { invites { id code role useCount maxUses createdBy { id } } }
}"#;

async fn create_invite(app: &TestApp, by: &TestUser, variables: Value) -> Value {
    let response = app.gql_user(by, CREATE_INVITE, variables).await;
    ok(&response)["createInvite"].clone()
}

#[tokio::test]
async fn an_invite_has_a_readable_code_and_a_link_token_and_grants_its_role() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let book = create_book(&app, &owner, "Club").await;

    let created = create_invite(&app, &owner, json!({ "book": book })).await;
    let code = created["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.bytes()
            .all(|b| b"ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(&b)),
        "{code}"
    );
    assert_eq!(created["invite"]["role"], "WRITER", "WRITER by default");
    assert_eq!(created["invite"]["code"], code);
    assert_eq!(created["invite"]["maxUses"], Value::Null);

    // Typed loosely: lower case with a dash still works.
    let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
    let joined = app
        .gql_user(&bob, JOIN_BY_CODE, json!({ "code": typed }))
        .await;
    assert_eq!(ok(&joined)["joinBook"]["myRole"], "WRITER");
    let joined = app
        .gql_user(
            &carol,
            JOIN_BY_LINK,
            json!({ "token": created["linkToken"] }),
        )
        .await;
    assert_eq!(ok(&joined)["joinBook"]["id"], book.as_str());

    // Only the link token's hash is stored.
    let id = Uuid::parse_str(created["invite"]["id"].as_str().unwrap()).unwrap();
    let row = invite::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.token_hash.len(), 32);
    assert_ne!(
        row.token_hash,
        created["linkToken"].as_str().unwrap().as_bytes()
    );
    assert_eq!(row.use_count, 2);

    let listed = app
        .gql_user(&owner, LIVE_INVITES, json!({ "id": book }))
        .await;
    let invites = &ok(&listed)["book"]["invites"];
    assert_eq!(invites[0]["useCount"], 2);
    assert_eq!(invites[0]["createdBy"]["id"], owner.id.as_str());
}

#[tokio::test]
async fn an_invite_never_grants_owner_nor_a_role_at_or_above_an_admin_creator() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let writer = app.register("Writer").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;
    add_member(&app, &owner, &book, &writer, "WRITER").await;

    for (user, role, expected) in [
        (&owner, "OWNER", Some("BAD_USER_INPUT")),
        (&admin, "ADMIN", Some("FORBIDDEN")),
        (&writer, "READER", Some("FORBIDDEN")),
        (&admin, "WRITER", None),
        (&admin, "READER", None),
        (&owner, "ADMIN", None),
    ] {
        let response = app
            .gql_user(user, CREATE_INVITE, json!({ "book": book, "role": role }))
            .await;
        assert_eq!(error_code(&response), expected, "{role}: {response}");
    }

    for (variables, field) in [
        (json!({ "book": book, "hours": 0 }), "expiresInHours"),
        (json!({ "book": book, "hours": 721 }), "expiresInHours"),
        (json!({ "book": book, "uses": 0 }), "maxUses"),
    ] {
        let response = app.gql_user(&owner, CREATE_INVITE, variables).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn expired_invites_are_refused_and_no_longer_listed() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let book = create_book(&app, &owner, "Club").await;
    let created = create_invite(&app, &owner, json!({ "book": book, "hours": 1 })).await;

    let id = Uuid::parse_str(created["invite"]["id"].as_str().unwrap()).unwrap();
    let row = invite::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut expired: invite::ActiveModel = row.into();
    expired.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    expired.update(&app.db).await.unwrap();

    for (document, variables) in [
        (JOIN_BY_CODE, json!({ "code": created["code"] })),
        (JOIN_BY_LINK, json!({ "token": created["linkToken"] })),
    ] {
        let response = app.gql_user(&bob, document, variables).await;
        assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response}");
    }
    let listed = app
        .gql_user(&owner, LIVE_INVITES, json!({ "id": book }))
        .await;
    assert_eq!(ok(&listed)["book"]["invites"], json!([]));
    assert_eq!(member_rows(&app, &book).await, 1);
}

#[tokio::test]
async fn invites_run_out_after_max_uses() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let book = create_book(&app, &owner, "Club").await;
    let created = create_invite(&app, &owner, json!({ "book": book, "uses": 1 })).await;
    let code = json!({ "code": created["code"] });

    ok(&app.gql_user(&bob, JOIN_BY_CODE, code.clone()).await);
    let response = app.gql_user(&carol, JOIN_BY_CODE, code).await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response}");
    let listed = app
        .gql_user(&owner, LIVE_INVITES, json!({ "id": book }))
        .await;
    assert_eq!(ok(&listed)["book"]["invites"], json!([]));
}

#[tokio::test]
async fn revoked_unknown_and_malformed_invites_answer_alike() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let stranger = app.register("Stranger").await;
    let book = create_book(&app, &owner, "Club").await;
    let created = create_invite(&app, &owner, json!({ "book": book })).await;
    let invite_id = created["invite"]["id"].clone();

    // Someone outside the book cannot tell the invite exists.
    let outside = app
        .gql_user(&stranger, REVOKE, json!({ "id": invite_id }))
        .await;
    let nowhere = app
        .gql_user(&stranger, REVOKE, json!({ "id": Uuid::now_v7() }))
        .await;
    assert_eq!(error_code(&outside), Some("NOT_FOUND"));
    assert_eq!(outside, nowhere);

    let revoked = app
        .gql_user(&owner, REVOKE, json!({ "id": invite_id }))
        .await;
    assert!(ok(&revoked)["revokeInvite"]["revokedAt"].is_string());
    let again = app
        .gql_user(&owner, REVOKE, json!({ "id": invite_id }))
        .await;
    assert_eq!(
        ok(&again)["revokeInvite"],
        ok(&revoked)["revokeInvite"],
        "idempotent"
    );

    let mut answers = Vec::new();
    for variables in [
        json!({ "code": created["code"] }),
        json!({ "code": "ZZZZZZZZ" }),
        json!({ "code": "not a code at all" }),
    ] {
        answers.push(app.gql_user(&bob, JOIN_BY_CODE, variables).await);
    }
    for answer in &answers {
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{answer}"
        );
        assert_eq!(
            answer["errors"][0]["message"],
            answers[0]["errors"][0]["message"]
        );
    }
    let response = app
        .gql_user(&bob, JOIN_BY_LINK, json!({ "token": created["linkToken"] }))
        .await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));

    for document in [
        "mutation { joinBook { id } }",
        r#"mutation { joinBook(code: "ABCDEFGH", linkToken: "x") { id } }"#,
    ] {
        let response = app.gql_user(&bob, document, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    }
}

#[tokio::test]
async fn joining_twice_or_joining_a_full_book_is_a_conflict_and_uses_nothing_up() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let bob = app.register("Bob").await;
    let carol = app.register("Carol").await;
    let book = create_book(&app, &owner, "Pair").await;
    let created = create_invite(&app, &owner, json!({ "book": book, "uses": 5 })).await;
    let code = json!({ "code": created["code"] });

    ok(&app.gql_user(&bob, JOIN_BY_CODE, code.clone()).await);
    let twice = app.gql_user(&bob, JOIN_BY_CODE, code.clone()).await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");
    let owner_joins = app.gql_user(&owner, JOIN_BY_CODE, code.clone()).await;
    assert_eq!(error_code(&owner_joins), Some("CONFLICT"));

    ok(&app
        .gql_user(
            &owner,
            UPDATE_BOOK,
            json!({ "id": book, "input": { "memberLimit": 2 } }),
        )
        .await);
    let full = app.gql_user(&carol, JOIN_BY_CODE, code).await;
    assert_eq!(error_code(&full), Some("CONFLICT"));

    let listed = app
        .gql_user(&owner, LIVE_INVITES, json!({ "id": book }))
        .await;
    assert_eq!(
        ok(&listed)["book"]["invites"][0]["useCount"],
        1,
        "refusals use nothing up"
    );
}

#[tokio::test]
async fn concurrent_joins_never_exceed_max_uses() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let book = create_book(&app, &owner, "Race").await;
    let created = create_invite(&app, &owner, json!({ "book": book, "uses": 2 })).await;
    let mut joiners = Vec::new();
    for n in 0..6 {
        joiners.push(app.register(&format!("Joiner {n}")).await);
    }
    let code = json!({ "code": created["code"] });
    let answers = futures_util::future::join_all(
        joiners
            .iter()
            .map(|joiner| app.gql_user(joiner, JOIN_BY_CODE, code.clone())),
    )
    .await;
    let joined = answers
        .iter()
        .filter(|answer| answer.get("errors").is_none())
        .count();
    assert_eq!(joined, 2, "{answers:?}");
    for answer in answers
        .iter()
        .filter(|answer| answer.get("errors").is_some())
    {
        assert_eq!(error_code(answer), Some("NOT_FOUND"), "{answer}");
    }
    assert_eq!(member_rows(&app, &book).await, 3);
}

#[tokio::test]
async fn only_admins_see_the_invites() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let writer = app.register("Writer").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &writer, "WRITER").await;
    let response = app
        .gql_user(&writer, LIVE_INVITES, json!({ "id": book }))
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
}

#[tokio::test]
async fn an_admin_sees_that_admin_invites_exist_but_never_their_codes() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let admin = app.register("Admin").await;
    let book = create_book(&app, &owner, "Club").await;
    add_member(&app, &owner, &book, &admin, "ADMIN").await;
    let owners_admin = create_invite(&app, &owner, json!({ "book": book, "role": "ADMIN" })).await;
    let owners_writer =
        create_invite(&app, &owner, json!({ "book": book, "role": "WRITER" })).await;
    let admins_reader =
        create_invite(&app, &admin, json!({ "book": book, "role": "READER" })).await;

    let as_admin = app
        .gql_user(&admin, LIVE_INVITES, json!({ "id": book }))
        .await;
    let listed = ok(&as_admin)["book"]["invites"].as_array().unwrap();
    // Every invite is listed, so the admin knows one is out; only lower roles show a code.
    assert_eq!(listed.len(), 4, "{as_admin}");
    for invite in listed {
        let expected_visible = invite["role"] != "ADMIN";
        assert_eq!(invite["code"].is_string(), expected_visible, "{invite}");
    }
    let shown = |created: &Value| {
        listed
            .iter()
            .find(|invite| invite["id"] == created["invite"]["id"])
            .map(|invite| invite["code"].clone())
    };
    assert_eq!(shown(&owners_admin), Some(Value::Null));
    assert_eq!(shown(&owners_writer), Some(owners_writer["code"].clone()));
    assert_eq!(shown(&admins_reader), Some(admins_reader["code"].clone()));

    // The owner sees every code, the admin invite's included.
    let as_owner = app
        .gql_user(&owner, LIVE_INVITES, json!({ "id": book }))
        .await;
    let listed = ok(&as_owner)["book"]["invites"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|invite| invite["code"].is_string()));
    assert!(
        listed
            .iter()
            .any(|invite| invite["code"] == owners_admin["code"])
    );
}

#[tokio::test]
async fn guessing_invite_codes_is_throttled_per_user() {
    let app = TestApp::spawn().await;
    let owner = app.register("Owner").await;
    let guesser = app.register("Guesser").await;
    let book = create_book(&app, &owner, "Club").await;
    let created = create_invite(&app, &owner, json!({ "book": book })).await;

    for _ in 0..20 {
        let wrong = app
            .gql_user(&guesser, JOIN_BY_CODE, json!({ "code": "ZZZZZZZZ" }))
            .await;
        assert_eq!(error_code(&wrong), Some("NOT_FOUND"), "{wrong}");
    }
    // The budget is spent: even the right code waits now, and says for how long.
    let right = app
        .gql_user(&guesser, JOIN_BY_CODE, json!({ "code": created["code"] }))
        .await;
    assert_eq!(error_code(&right), Some("RATE_LIMITED"), "{right}");
    assert!(
        right["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Other users are not affected.
    let bob = app.register("Bob").await;
    let joined = app
        .gql_user(&bob, JOIN_BY_CODE, json!({ "code": created["code"] }))
        .await;
    assert!(ok(&joined)["joinBook"]["id"].is_string(), "{joined}");
}
