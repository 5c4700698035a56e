//! Talking `graphql-transport-ws` to a test server: open a socket, authenticate, run
//! operations and read what comes back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::helpers::{TestApp, socket_request};

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a `graphql-transport-ws` socket to the server at `address` and sends
/// `connection_init` with `payload`.
pub async fn open(address: &str, payload: Value) -> Socket {
    let request = socket_request(address);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": payload });
    socket.send(Message::text(init.to_string())).await.unwrap();
    socket
}

/// A socket authenticated with `token`, past its `connection_ack`.
pub async fn acknowledged(address: &str, token: &str) -> Socket {
    let mut socket = open(
        address,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    let ack = next(&mut socket).await;
    assert!(
        matches!(&ack, Reply::Json(message) if message["type"] == "connection_ack"),
        "{ack:?}"
    );
    socket
}

#[derive(Debug)]
pub enum Reply {
    Json(Value),
    Closed(Option<u16>),
}

/// The next message from the server within 10 s (a timeout fails the test).
pub async fn next(socket: &mut Socket) -> Reply {
    let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("the server answers within 10 s");
    match message {
        Some(Ok(Message::Text(text))) => Reply::Json(serde_json::from_str(&text).unwrap()),
        Some(Ok(Message::Close(frame))) => Reply::Closed(frame.map(|frame| frame.code.into())),
        Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        Some(Err(_)) | None => Reply::Closed(None),
    }
}

/// Starts `query` as operation `id` on the socket.
pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    let message = json!({
        "id": id, "type": "subscribe",
        "payload": { "query": query, "variables": variables },
    });
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// Runs `query` as operation `id` and returns the first answer to it.
pub async fn run(socket: &mut Socket, id: &str, query: &str, variables: Value) -> Reply {
    subscribe(socket, id, query, variables).await;
    next(socket).await
}

/// Waits until `expected` LISTEN connections are up on the test's PostgreSQL database.
pub async fn wait_for_listeners(app: &TestApp, expected: i64) {
    for _ in 0..100 {
        let listening = app
            .count(
                "pg_stat_activity",
                "datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await;
        if listening == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the instances did not listen again within 10 s");
}
