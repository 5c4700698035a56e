//! Accounts and authentication over HTTP: registration, login, sessions, tokens, PII at rest.

use base64::Engine;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code};

const LOGIN: &str = r#"mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { accessToken refreshToken user { id name email } }
}"#;
const REFRESH: &str = r#"mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }"#;
const ME: &str = "{ me { id name email } }";

#[tokio::test]
async fn register_then_login_then_me() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;

    let login = app
        .gql(
            LOGIN,
            json!({ "email": "  ALICE@Example.com ", "password": PASSWORD }),
        )
        .await;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .expect("logged in");
    let me = app.gql_as(Some(token), ME, json!({})).await;
    assert_eq!(
        me["data"]["me"],
        json!({ "id": alice.id, "name": "Alice", "email": "alice@example.com" })
    );
}

#[tokio::test]
async fn a_new_user_gets_a_personal_book() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    assert_eq!(app.count("books", "kind = 'PERSONAL'").await, 1);
    assert!(!alice.id.is_empty());
}

#[tokio::test]
async fn registration_validates_every_field() {
    let app = TestApp::spawn().await;
    let cases = [
        ("not-an-email", "Alice", PASSWORD, "email"),
        ("a@example.com", "   ", PASSWORD, "name"),
        ("a@example.com", &"x".repeat(101), PASSWORD, "name"),
        ("a@example.com", "Alice", "Short1A", "password"),
        ("a@example.com", "Alice", "alllowercase1", "password"),
        ("a@example.com", "Alice", "NoDigitsHere", "password"),
        (
            "a@example.com",
            "Alice",
            &format!("Aa1{}", "x".repeat(126)),
            "password",
        ),
    ];
    for (email, name, password, field) in cases {
        let response = app
            .gql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
                json!({ "i": { "email": email, "name": name, "password": password } }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{field}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    let response = app
        .gql(
            "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            json!({ "i": { "email": " Alice@EXAMPLE.com", "name": "Other", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&response), Some("CONFLICT"), "{response}");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    let wrong_password = app
        .gql(
            LOGIN,
            json!({ "email": "alice@example.com", "password": "Wrong-Pass-1" }),
        )
        .await;
    let unknown_email = app
        .gql(
            LOGIN,
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&wrong_password), Some("UNAUTHENTICATED"));
    assert_eq!(wrong_password, unknown_email);
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_with_a_retry_after() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    for _ in 0..10 {
        let response = app
            .gql(
                LOGIN,
                json!({ "email": "alice@example.com", "password": "Wrong-Pass-1" }),
            )
            .await;
        assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
    }
    // Even the right password is refused while the email is throttled.
    let response = app
        .gql(
            LOGIN,
            json!({ "email": "alice@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&response), Some("RATE_LIMITED"), "{response}");
    assert!(
        response["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// Aliases cannot multiply password checks: a document naming two of `register`, `login`,
/// `refreshToken`, `changePassword` and `joinBook` is refused before any of them runs.
#[tokio::test]
async fn aliased_credential_fields_are_refused_before_any_runs() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let logins: String = (0..12)
        .map(|i| format!(r#"a{i}: login(email: "alice@example.com", password: "Wrong-Pass-{i}") {{ accessToken }} "#))
        .collect();
    let registers: String = (0..3)
        .map(|i| format!(r#"r{i}: register(input: {{ email: "r{i}@example.com", name: "R", password: "{PASSWORD}" }}) {{ accessToken }} "#))
        .collect();
    let mixed = format!(
        r#"login(email: "alice@example.com", password: "{PASSWORD}") {{ accessToken }} joinBook(code: "ABCDEFGH") {{ id }}"#
    );
    let through_fragment = format!(
        r#"...F x: login(email: "alice@example.com", password: "{PASSWORD}") {{ accessToken }} }} fragment F on Mutation {{ login(email: "alice@example.com", password: "{PASSWORD}") {{ accessToken }}"#
    );
    for selection in [logins, registers, mixed, through_fragment] {
        let response = app
            .gql_user(&alice, &format!("mutation {{ {selection} }}"), json!({}))
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert!(response["data"].is_null(), "nothing ran: {response}");
    }
    let users = app.count("users", "true").await;
    assert_eq!(users, 1, "no aliased register created an account");
    // None of the refused logins counted as a failure: the right password still works at once.
    let login = app
        .gql(
            r#"mutation($p: String!) { login(email: "alice@example.com", password: $p) { accessToken } }"#,
            json!({ "p": PASSWORD }),
        )
        .await;
    assert!(login["data"]["login"]["accessToken"].is_string(), "{login}");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;

    let first = app
        .gql(REFRESH, json!({ "token": alice.refresh_token }))
        .await;
    let second_token = first["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_ne!(second_token, alice.refresh_token);

    // Replaying the rotated token is refused and ends the family...
    let replay = app
        .gql(REFRESH, json!({ "token": alice.refresh_token }))
        .await;
    assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"));
    // ...so the legitimate successor no longer works either.
    let successor = app.gql(REFRESH, json!({ "token": second_token })).await;
    assert_eq!(error_code(&successor), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_succeed_at_most_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let attempts = (0..4).map(|_| app.gql(REFRESH, json!({ "token": alice.refresh_token })));
    let results = futures_util::future::join_all(attempts).await;
    let successes = results
        .iter()
        .filter(|r| r["data"]["refreshToken"].is_object())
        .count();
    // Exactly one: none would mean refreshing is broken, two would mean a token was used twice.
    assert_eq!(successes, 1, "{results:?}");
    let refused = results
        .iter()
        .filter(|r| error_code(r) == Some("UNAUTHENTICATED"))
        .count();
    assert_eq!(refused, 3, "{results:?}");
}

#[tokio::test]
async fn logout_stops_refresh_and_logout_all_ends_every_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let me = "{ me { id } }";
    assert!(app.gql_user(&alice, me, json!({})).await["data"]["me"].is_object());
    app.logout(&alice).await;
    let refused = app
        .gql(REFRESH, json!({ "token": alice.refresh_token }))
        .await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    // The session's access token dies with it, not 15 minutes later.
    let after_logout = app.gql_user(&alice, me, json!({})).await;
    assert_eq!(
        error_code(&after_logout),
        Some("UNAUTHENTICATED"),
        "{after_logout}"
    );

    let login = |_: ()| app.gql(LOGIN, json!({ "email": alice.email, "password": PASSWORD }));
    let (first, second) = (login(()).await, login(()).await);
    let first_access = first["data"]["login"]["accessToken"].as_str().unwrap();
    let second_access = second["data"]["login"]["accessToken"].as_str().unwrap();
    let second_refresh = second["data"]["login"]["refreshToken"].as_str().unwrap();
    let all = app
        .gql_as(Some(first_access), "mutation { logoutAll }", json!({}))
        .await;
    assert_eq!(all["data"]["logoutAll"], true, "{all}");
    let refused = app.gql(REFRESH, json!({ "token": second_refresh })).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    for access in [first_access, second_access] {
        let after = app.gql_as(Some(access), me, json!({})).await;
        assert_eq!(error_code(&after), Some("UNAUTHENTICATED"), "{after}");
    }
}

#[tokio::test]
async fn change_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let change = r#"mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken } }"#;
    let wrong = app
        .gql_user(
            &alice,
            change,
            json!({ "c": "Wrong-Pass-1", "n": "Brand-New-Pass-2" }),
        )
        .await;
    assert_eq!(error_code(&wrong), Some("BAD_USER_INPUT"));

    let changed = app
        .gql_user(
            &alice,
            change,
            json!({ "c": PASSWORD, "n": "Brand-New-Pass-2" }),
        )
        .await;
    assert!(
        changed["data"]["changePassword"]["refreshToken"].is_string(),
        "{changed}"
    );
    let old_session = app
        .gql(REFRESH, json!({ "token": alice.refresh_token }))
        .await;
    assert_eq!(error_code(&old_session), Some("UNAUTHENTICATED"));
    let old_access = app.gql_user(&alice, "{ me { id } }", json!({})).await;
    assert_eq!(
        error_code(&old_access),
        Some("UNAUTHENTICATED"),
        "{old_access}"
    );
    let new_access = changed["data"]["changePassword"]["accessToken"]
        .as_str()
        .unwrap();
    let fresh = app
        .gql_as(Some(new_access), "{ me { id } }", json!({}))
        .await;
    assert!(fresh["data"]["me"].is_object(), "{fresh}");
    let new_login = app
        .gql(
            LOGIN,
            json!({ "email": alice.email, "password": "Brand-New-Pass-2" }),
        )
        .await;
    assert!(new_login["data"]["login"].is_object());
}

#[tokio::test]
async fn update_profile_renames_the_caller() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let renamed = app
        .gql_user(
            &alice,
            r#"mutation { updateProfile(name: "  Alice B. ") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(renamed["data"]["updateProfile"]["name"], "Alice B.");
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut claims = json!({
            "sub": alice.id, "iat": now, "nbf": now, "exp": now + 600,
            "iss": "tally", "aud": "tally-api", "jti": uuid::Uuid::new_v4().to_string(),
            "sid": uuid::Uuid::new_v4().to_string(),
        });
        for (key, value) in overrides.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    };
    let sign = |header: Value, claims: Value, key: &[u8]| {
        use hmac::Mac;
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(signing_input.as_bytes());
        let signature =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    };
    let header = json!({ "alg": "HS256", "typ": "at+jwt" });
    let real_key = crate::helpers::TEST_JWT_SECRET.as_bytes();
    let (head, _) = alice.access_token.split_once('.').unwrap();
    let tampered = {
        let parts: Vec<&str> = alice.access_token.split('.').collect();
        format!(
            "{head}.{}.{}",
            b64(&claims(json!({ "sub": uuid::Uuid::new_v4().to_string() }))),
            parts[2]
        )
    };
    let cases = [
        (
            "expired",
            sign(
                header.clone(),
                claims(json!({ "exp": now - 120, "iat": now - 1000, "nbf": now - 1000 })),
                real_key,
            ),
        ),
        (
            "wrong audience",
            sign(
                header.clone(),
                claims(json!({ "aud": "someone-else" })),
                real_key,
            ),
        ),
        (
            "wrong issuer",
            sign(header.clone(), claims(json!({ "iss": "evil" })), real_key),
        ),
        (
            "other key",
            sign(
                header.clone(),
                claims(json!({})),
                b"another-secret-that-is-long-enough-000000",
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "typ": "at+jwt" })),
                b64(&claims(json!({})))
            ),
        ),
        ("tampered", tampered),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    // The control: a well-formed token signed with the real key is accepted.
    let control = app
        .gql_as(
            Some(&sign(header.clone(), claims(json!({})), real_key)),
            ME,
            json!({}),
        )
        .await;
    assert_eq!(control["data"]["me"]["id"], alice.id.as_str(), "{control}");
    for (case, token) in cases {
        let response = app.gql_as(Some(&token), ME, json!({})).await;
        assert_eq!(
            error_code(&response),
            Some("UNAUTHENTICATED"),
            "{case}: {response}"
        );
        assert!(response["data"].is_null(), "{case}");
    }
}

const CREATE_TOKEN: &str = r#"mutation($s: TokenScope!) { createAccessToken(name: "dashboard", scope: $s) { token accessToken { id prefix scope } } }"#;

#[tokio::test]
async fn a_read_access_token_can_query_but_never_mutate() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let created = app
        .gql_user(&alice, CREATE_TOKEN, json!({ "s": "READ" }))
        .await;
    let token = created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("tly_"));

    let me = app.gql_as(Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], alice.id.as_str());
    let mutate = app
        .gql_as(
            Some(&token),
            r#"mutation { updateProfile(name: "Mallory") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&mutate), Some("FORBIDDEN"), "{mutate}");
    let named = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .json(&json!({ "query": "query Q { me { id } } mutation M { logoutAll }", "operationName": "M" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(error_code(&named), Some("FORBIDDEN"), "{named}");
}

#[tokio::test]
async fn access_tokens_are_listed_without_secrets_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let created = app
        .gql_user(&alice, CREATE_TOKEN, json!({ "s": "WRITE" }))
        .await;
    let token = created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created["data"]["createAccessToken"]["accessToken"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let write = app
        .gql_as(
            Some(&token),
            r#"mutation { updateProfile(name: "Alice W") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(write["data"]["updateProfile"]["name"], "Alice W");
    let listed = app
        .gql_user(&alice, "{ accessTokens { id prefix } }", json!({}))
        .await;
    assert_eq!(listed["data"]["accessTokens"][0]["id"], id.as_str());
    assert!(
        token.contains(
            listed["data"]["accessTokens"][0]["prefix"]
                .as_str()
                .unwrap()
        )
    );

    // Tokens cannot manage tokens, and another user cannot revoke it.
    let by_token = app
        .gql_as(Some(&token), CREATE_TOKEN, json!({ "s": "WRITE" }))
        .await;
    assert_eq!(error_code(&by_token), Some("FORBIDDEN"));
    let bob = app.register("Bob").await;
    let revoke = "mutation($id: ID!) { revokeAccessToken(id: $id) }";
    let by_bob = app.gql_user(&bob, revoke, json!({ "id": id })).await;
    assert_eq!(error_code(&by_bob), Some("NOT_FOUND"));

    let revoked = app.gql_user(&alice, revoke, json!({ "id": id })).await;
    assert_eq!(revoked["data"]["revokeAccessToken"], true);
    let after = app.gql_as(Some(&token), ME, json!({})).await;
    assert_eq!(error_code(&after), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn stored_users_hold_no_plaintext_email_or_name() {
    let app = TestApp::spawn().await;
    app.register("Zebedee Quux").await;
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT email_ciphertext, name_ciphertext, email_blind_index, password_hash FROM users"
                .to_owned(),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let mut stored: Vec<u8> = Vec::new();
    for index in 0..3 {
        stored.extend(rows[0].try_get_by_index::<Vec<u8>>(index).unwrap());
    }
    stored.extend(rows[0].try_get_by_index::<String>(3).unwrap().into_bytes());
    let stored = stored.to_ascii_lowercase();
    for needle in [b"zebedee".as_slice(), b"quux", b"example.com"] {
        assert!(
            !stored.windows(needle.len()).any(|w| w == needle),
            "plaintext in the users table"
        );
    }
    // The SQLite file itself (and its WAL) must not contain them either.
    if let Some(path) = app.sqlite_file() {
        app.db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
        for file in [path.clone(), path.with_extension("db-wal")] {
            let bytes = std::fs::read(&file)
                .unwrap_or_default()
                .to_ascii_lowercase();
            for needle in [b"zebedee".as_slice(), b"quux", b"example.com"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "plaintext in {}",
                    file.display()
                );
            }
        }
    }
}

/// A second data key, as an operator would generate for a rotation.
const NEW_DATA_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

#[tokio::test]
async fn rotating_the_data_key_keeps_every_account_readable_and_reseals_on_login() {
    let mut app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let old_key = format!("1:{}", crate::helpers::TEST_DATA_KEY);
    app.restart_with(&[
        ("TALLY_DATA_KEY", NEW_DATA_KEY),
        ("TALLY_DATA_KEY_ID", "2"),
        ("TALLY_DATA_KEYS_PREVIOUS", &old_key),
    ])
    .await;

    // Email lookup (the blind index stays under key 1) and decryption of the old row both work.
    let login = app
        .gql(LOGIN, json!({ "email": alice.email, "password": PASSWORD }))
        .await;
    assert_eq!(login["data"]["login"]["user"]["name"], "Alice", "{login}");
    let key_ids = || async {
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT pii_key_id FROM users".to_owned(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|row| row.try_get_by_index::<i16>(0).unwrap())
            .collect::<Vec<_>>()
    };
    // Logging in re-encrypted the row under the new key.
    assert_eq!(key_ids().await, vec![2]);
    let token = login["data"]["login"]["accessToken"].as_str().unwrap();
    let renamed = app
        .gql_as(
            Some(token),
            r#"mutation { updateProfile(name: "Alice R") { name email } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        renamed["data"]["updateProfile"]["email"],
        alice.email.as_str(),
        "{renamed}"
    );

    // The blind index stays under key 1 across the rotation, so email login still works.
    let again = app
        .gql(LOGIN, json!({ "email": alice.email, "password": PASSWORD }))
        .await;
    assert_eq!(again["data"]["login"]["user"]["name"], "Alice R", "{again}");
}

/// Stores an argon2 hash of `password` made with weaker settings than today's, as an older
/// release would have written it, and returns it.
async fn store_weak_hash(app: &TestApp, password: &str) -> String {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version, password_hash::SaltString};
    let weak_params = Params::new(8 * 1024, 1, 1, None).unwrap();
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, weak_params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => "UPDATE users SET password_hash = $1",
                _ => "UPDATE users SET password_hash = ?",
            },
            [weak.clone().into()],
        ))
        .await
        .unwrap();
    weak
}

/// A login that rehashes a weak hash runs argon2 twice between reading the row and writing
/// it; a password change that commits meanwhile must survive it.
#[tokio::test]
async fn a_rehash_at_login_never_undoes_a_concurrent_password_change() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let change = r#"mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }"#;
    let mut token = alice.access_token.clone();
    for round in 0..6 {
        let old = format!("Old-Password-{round}");
        let new = format!("New-Password-{round}");
        store_weak_hash(&app, &old).await;
        let (login, changed) = tokio::join!(
            app.gql(LOGIN, json!({ "email": alice.email, "password": old })),
            app.gql_as(Some(&token), change, json!({ "c": old, "n": new })),
        );
        // The login may also have read the row after the change committed: then the old
        // password is rightly refused. Either way the change must stand.
        assert!(
            login["data"]["login"].is_object() || error_code(&login) == Some("UNAUTHENTICATED"),
            "round {round}: {login}"
        );
        token = changed["data"]["changePassword"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("round {round}: {changed}"))
            .to_owned();
        let with_new = app
            .gql(LOGIN, json!({ "email": alice.email, "password": new }))
            .await;
        assert!(
            with_new["data"]["login"].is_object(),
            "round {round}: the changed password was undone: {with_new}"
        );
    }
}

#[tokio::test]
async fn a_password_hashed_with_weaker_settings_is_rehashed_at_login() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let weak = store_weak_hash(&app, PASSWORD).await;
    let backend = app.db.get_database_backend();

    let login = app
        .gql(LOGIN, json!({ "email": alice.email, "password": PASSWORD }))
        .await;
    assert!(login["data"]["login"].is_object(), "{login}");
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT password_hash FROM users".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get_by_index(0).unwrap();
    assert_ne!(stored, weak);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
}

/// A session ends for good `TALLY_SESSION_MAX_DAYS` after its login: rotation hands the
/// family's end down to every new token and never pushes it further.
#[tokio::test]
async fn refreshing_never_extends_a_session_past_its_absolute_end() {
    let app = TestApp::spawn_with(&[("TALLY_SESSION_MAX_DAYS", "2")]).await;
    let alice = app.register("Alice").await;
    let end = "SELECT family_expires_at FROM refresh_tokens ORDER BY created_at DESC";
    let read_end = || async {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                end.to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<Option<chrono::DateTime<chrono::Utc>>>(0)
            .unwrap()
            .expect("every new token carries its family's end")
    };
    let first_end = read_end().await;
    let in_two_days = chrono::Utc::now() + chrono::Duration::days(2);
    assert!(
        (first_end - in_two_days).num_seconds().abs() < 60,
        "{first_end}"
    );

    let refreshed = app
        .gql(REFRESH, json!({ "token": alice.refresh_token }))
        .await;
    let next = refreshed["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_owned();
    assert_eq!(
        read_end().await,
        first_end,
        "rotation keeps the family's end"
    );

    // Once the end has passed, the live token is refused although its own expiry has not.
    app.db
        .execute_raw(Statement::from_string(
            app.db.get_database_backend(),
            "UPDATE refresh_tokens SET family_expires_at = created_at".to_owned(),
        ))
        .await
        .unwrap();
    let refused = app.gql(REFRESH, json!({ "token": next })).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
}

/// A login re-encrypts a row written under a retired key after its argon2 check; a rename that
/// commits meanwhile must survive it. Several users, renamed at several moments of their
/// login, so that some rename lands between the login's read and its write.
#[tokio::test]
async fn resealing_at_login_never_undoes_a_concurrent_rename() {
    let mut app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("User {i}")).await);
    }
    let old_key = format!("1:{}", crate::helpers::TEST_DATA_KEY);
    app.restart_with(&[
        ("TALLY_DATA_KEY", NEW_DATA_KEY),
        ("TALLY_DATA_KEY_ID", "2"),
        ("TALLY_DATA_KEYS_PREVIOUS", &old_key),
    ])
    .await;
    for (i, user) in users.iter().enumerate() {
        let rename = async {
            // Lands while the login is still hashing (argon2 takes tens of milliseconds).
            let delay = 5 + 7 * u64::try_from(i).unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            app.gql_user(
                user,
                r#"mutation { updateProfile(name: "Renamed") { name } }"#,
                json!({}),
            )
            .await
        };
        let (login, renamed) = tokio::join!(
            app.gql(LOGIN, json!({ "email": user.email, "password": PASSWORD })),
            rename,
        );
        assert!(login["data"]["login"].is_object(), "{login}");
        assert_eq!(
            renamed["data"]["updateProfile"]["name"], "Renamed",
            "{renamed}"
        );
        let me = app.gql_user(user, "{ me { name } }", json!({})).await;
        assert_eq!(me["data"]["me"]["name"], "Renamed", "user {i}: {me}");
    }
}

/// The hourly sweep deletes refresh tokens a day past their expiry, and only those.
#[tokio::test]
async fn refresh_tokens_long_expired_are_pruned() {
    use entity::refresh_token;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let bob = app.register("Bob").await;
    let alice_id: uuid::Uuid = alice.id.parse().unwrap();
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::ExpiresAt, Expr::value(two_days_ago))
        .filter(refresh_token::Column::UserId.eq(alice_id))
        .exec(&app.db)
        .await
        .unwrap();

    // The server's own sweep (it runs at start) may get there first: check what is left.
    tally::service::sessions::prune(&app.db, chrono::Utc::now())
        .await
        .unwrap();
    let tokens_of = |user: uuid::Uuid| {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::UserId.eq(user))
            .count(&app.db)
    };
    assert_eq!(
        tokens_of(alice_id).await.unwrap(),
        0,
        "Alice's expired token"
    );
    let bob_id: uuid::Uuid = bob.id.parse().unwrap();
    assert_eq!(
        tokens_of(bob_id).await.unwrap(),
        1,
        "Bob's live token stays"
    );
    let refreshed = app
        .gql(REFRESH, json!({ "token": bob.refresh_token }))
        .await;
    assert!(
        refreshed["data"]["refreshToken"]["accessToken"].is_string(),
        "{refreshed}"
    );
}
