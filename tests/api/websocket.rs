//! The WebSocket endpoint gets what HTTP gets, for as long as a socket lives: authentication
//! from `connection_init`, the client address in every throttle, and a credential checked as of
//! now: an expired or revoked one closes the socket with 4403 without waiting for the client.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

use crate::{
    helpers::{PASSWORD, TEST_JWT_SECRET, TestApp, error_code, socket_request},
    sockets::{Reply, Socket, acknowledged, next, open, run, wait_for_listeners},
};

#[tokio::test]
async fn a_valid_token_in_connection_init_is_acknowledged() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    let me = run(&mut socket, "1", "{ me { id } }", json!({})).await;
    let Reply::Json(me) = me else {
        panic!("{me:?}")
    };
    assert_eq!(me["payload"]["data"]["me"]["id"], alice.id.as_str());
}

#[tokio::test]
async fn a_bad_token_in_connection_init_closes_the_socket_with_4403() {
    let app = TestApp::spawn().await;
    let mut socket = open(
        &app.address,
        json!({ "Authorization": "Bearer not-a-token" }),
    )
    .await;
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4403))), "{reply:?}");
}

#[tokio::test]
async fn logins_over_a_socket_count_against_the_client_address() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    // Use up the address's 50 failures over HTTP (unknown emails: no per-email limit).
    for i in 0..50 {
        app.gql(
            "mutation($e: String!) { login(email: $e, password: \"Wrong-Pass-1\") { accessToken } }",
            json!({ "e": format!("nobody{i}@example.com") }),
        )
        .await;
    }
    let mut socket = open(&app.address, json!({})).await;
    assert!(matches!(next(&mut socket).await, Reply::Json(ack) if ack["type"] == "connection_ack"));
    let login = run(
        &mut socket,
        "1",
        "mutation($p: String!) { login(email: \"alice@example.com\", password: $p) { accessToken } }",
        json!({ "p": PASSWORD }),
    )
    .await;
    let Reply::Json(login) = login else {
        panic!("{login:?}")
    };
    assert_eq!(
        error_code(&login["payload"]),
        Some("RATE_LIMITED"),
        "{login}"
    );
}

#[tokio::test]
async fn a_socket_closes_with_4403_when_its_session_ends() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    app.logout(&alice).await;
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4403))), "{reply:?}");
}

#[tokio::test]
async fn a_socket_closes_with_4403_when_its_access_token_is_revoked() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let created = app
        .gql_user(
            &alice,
            r#"mutation { createAccessToken(name: "dashboard", scope: READ) { token accessToken { id } } }"#,
            json!({}),
        )
        .await;
    let token = created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap();
    let id = created["data"]["createAccessToken"]["accessToken"]["id"].clone();
    let mut socket = acknowledged(&app.address, token).await;
    let revoked = app
        .gql_user(
            &alice,
            "mutation($id: ID!) { revokeAccessToken(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeAccessToken"], true, "{revoked}");
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4403))), "{reply:?}");
}

#[tokio::test]
async fn a_socket_closes_with_4403_when_its_token_expires() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    // A token issued so long ago that it expires four seconds from now.
    let keys = tally::auth::jwt::JwtKeys::new(TEST_JWT_SECRET.as_bytes()).unwrap();
    let issued_at =
        chrono::Utc::now() - tally::auth::jwt::ACCESS_TOKEN_TTL + chrono::Duration::seconds(4);
    let user_id = alice.id.parse().unwrap();
    let issued = keys
        .issue(user_id, uuid::Uuid::new_v4(), issued_at)
        .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&issued.token).to_owned();
    let mut socket = acknowledged(&app.address, &token).await;
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4403))), "{reply:?}");
}

/// With PostgreSQL, a revocation committed on one instance reaches the others through
/// `NOTIFY`, also after their `LISTEN` connection was killed and came back.
#[tokio::test]
async fn a_session_ended_on_one_instance_is_refused_on_another() {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return; // One SQLite file serves one instance.
    }
    let other = app.another_instance().await;
    let alice = app.register("Alice").await;
    let me = "{ me { id } }";
    let on_other = app
        .gql_on(&other.address, Some(&alice.access_token), me, json!({}))
        .await;
    assert!(on_other["data"]["me"].is_object(), "{on_other}");

    // Kill every LISTEN connection (once both are up); each instance must reconnect by itself.
    wait_for_listeners(&app, 2).await;
    let killed = app
        .count(
            "(SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
              WHERE datname = current_database() AND query LIKE 'LISTEN%') AS listeners",
            "killed",
        )
        .await;
    assert_eq!(killed, 2, "each instance holds one LISTEN connection");
    wait_for_listeners(&app, 2).await;

    let mut socket = acknowledged(&other.address, &alice.access_token).await;
    app.logout(&alice).await;
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4403))), "{reply:?}");
    let refused = app
        .gql_on(&other.address, Some(&alice.access_token), me, json!({}))
        .await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
}

/// Sends raw protocol messages and returns how the server answers the last of them.
async fn after(socket: &mut Socket, messages: &[Value]) -> Reply {
    for message in messages {
        socket
            .feed(Message::text(message.to_string()))
            .await
            .unwrap();
    }
    socket.flush().await.unwrap();
    loop {
        match next(socket).await {
            Reply::Json(message) if message["type"] != "error" => continue,
            reply => return reply,
        }
    }
}

#[tokio::test]
async fn protocol_violations_close_with_the_protocols_codes() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let query = json!({ "query": "{ me { id } }" });

    // An operation before the acknowledgement: 4401.
    let request = socket_request(&app.address);
    let (mut early, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": query });
    let reply = after(&mut early, std::slice::from_ref(&subscribe)).await;
    assert!(matches!(reply, Reply::Closed(Some(4401))), "{reply:?}");

    // A message that is not one of the protocol's: 4400.
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    let reply = after(&mut socket, &[json!({ "type": "nonsense" })]).await;
    assert!(matches!(reply, Reply::Closed(Some(4400))), "{reply:?}");

    // A second connection_init: 4429.
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    let reply = after(&mut socket, &[json!({ "type": "connection_init" })]).await;
    assert!(matches!(reply, Reply::Closed(Some(4429))), "{reply:?}");

    // A second operation with a running id: 4409.
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    let reply = after(&mut socket, &[subscribe.clone(), subscribe]).await;
    assert!(matches!(reply, Reply::Closed(Some(4409))), "{reply:?}");
}

#[tokio::test]
async fn a_socket_without_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn_with(&[("TALLY_WS_INIT_TIMEOUT_SECS", "1")]).await;
    let request = socket_request(&app.address);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let reply = next(&mut socket).await;
    assert!(matches!(reply, Reply::Closed(Some(4408))), "{reply:?}");
}

#[tokio::test]
async fn open_sockets_are_closed_with_1001_when_the_server_stops() {
    let mut app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let mut socket = acknowledged(&app.address, &alice.access_token).await;
    let (_, reply) = tokio::join!(app.stop(), next(&mut socket));
    assert!(matches!(reply, Reply::Closed(Some(1001))), "{reply:?}");
}

/// The status of a WebSocket handshake sent with `origin`.
async fn handshake_status(app: &TestApp, origin: Option<&str>) -> u16 {
    let mut request = socket_request(&app.address);
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn sockets_from_foreign_origins_are_refused_before_the_upgrade() {
    let app = TestApp::spawn_with(&[("TALLY_CORS_ORIGINS", "https://app.example")]).await;
    let same_host = app.address.clone();
    assert_eq!(
        handshake_status(&app, Some("https://evil.example")).await,
        403
    );
    assert_eq!(
        handshake_status(&app, Some("https://app.example")).await,
        101
    );
    assert_eq!(handshake_status(&app, Some(&same_host)).await, 101);
    assert_eq!(
        handshake_status(&app, None).await,
        101,
        "non-browser clients send no Origin"
    );
}
