//! The WebSocket endpoint authenticates from `connection_init`, like the HTTP layer does from
//! the `Authorization` header.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::helpers::TestApp;

/// Opens a `graphql-transport-ws` socket, sends `connection_init` with `payload`, and returns
/// the first message the server answers with (`None` if it closed the socket).
async fn init_with(app: &TestApp, payload: Value) -> Option<Value> {
    let url = format!("{}/graphql/ws", app.address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": payload });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .ok()??;
    match reply.ok()? {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

#[tokio::test]
async fn a_valid_token_in_connection_init_is_acknowledged() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    let reply = init_with(
        &app,
        json!({ "Authorization": format!("Bearer {}", alice.access_token) }),
    )
    .await;
    assert_eq!(reply.unwrap()["type"], "connection_ack");
}

#[tokio::test]
async fn a_bad_token_in_connection_init_is_refused() {
    let app = TestApp::spawn().await;
    let reply = init_with(&app, json!({ "Authorization": "Bearer not-a-token" })).await;
    let acknowledged = reply
        .as_ref()
        .is_some_and(|message| message["type"] == "connection_ack");
    assert!(!acknowledged, "{reply:?}");
}

/// The status of a WebSocket handshake sent with `origin`.
async fn handshake_status(app: &TestApp, origin: Option<&str>) -> u16 {
    let url = format!("{}/graphql/ws", app.address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
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
