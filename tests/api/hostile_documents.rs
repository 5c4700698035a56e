//! Documents built to crash the parser get an ordinary error and the server lives on.
//!
//! async-graphql's parser recurses once per nesting level, so a few thousand nested brackets in
//! any recursive construct used to overflow the stack and abort the process (every request and
//! socket with it). The server runs inside this test process, so a regression aborts the test
//! binary: it cannot pass unnoticed.

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, error_code, socket_request};

const DEPTHS: [usize; 5] = [10, 100, 1_000, 10_000, 100_000];

/// Every recursive construct of the GraphQL grammar, nested `depth` levels.
fn hostile_documents(depth: usize) -> Vec<(&'static str, String)> {
    let list = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let object = format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth));
    let fragments: String = (0..depth)
        .map(|i| format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1))
        .chain(std::iter::once(format!(
            "fragment F{depth} on Query {{ __typename }}"
        )))
        .collect();
    vec![
        (
            "list value",
            format!("{{ books(first: {list}) {{ nodes {{ id }} }} }}"),
        ),
        (
            "object value",
            format!("{{ books(first: {object}) {{ nodes {{ id }} }} }}"),
        ),
        (
            "variable default",
            format!("query($v: Int = {list}) {{ __typename }}"),
        ),
        (
            "directive argument",
            format!("{{ __typename @include(if: {list}) }}"),
        ),
        (
            "argument of an unknown field",
            format!("{{ nope(x: {object}) }}"),
        ),
        (
            "selection",
            format!("{{ {}id{} }}", "me { ".repeat(depth), " }".repeat(depth)),
        ),
        (
            "list type",
            format!(
                "query($v: {}Int{}) {{ __typename }}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
        ),
        ("fragment chain", format!("{{ ...F0 }}\n{fragments}")),
        // Cycles: the limits that walk fragments must never meet one.
        (
            "fragment cycle",
            "{ ...C } fragment C on Query { ...C }".to_owned(),
        ),
        (
            "fragment cycle through a field",
            "{ ...C } fragment C on Query { me { id } ...D } fragment D on Query { ...C }"
                .to_owned(),
        ),
    ]
}

async fn assert_alive(app: &TestApp) {
    let response = app.gql("{ __typename }", json!({})).await;
    assert_eq!(response["data"]["__typename"], "Query", "{response}");
}

/// Fragments that each spread the next twice: a kilobyte of text that expands to 2^24
/// selections, which every walk of the document (validation, complexity, execution) expanded
/// again; it took seconds of CPU per request. Refused before any of them runs.
#[tokio::test]
async fn fragments_that_multiply_are_refused_before_they_run() {
    let app = TestApp::spawn().await;
    let length = 24;
    let fragments: String = (0..length - 1)
        .map(|i| {
            format!(
                "fragment F{i} on Query {{ ...F{next} ...F{next} }}\n",
                next = i + 1
            )
        })
        .collect();
    let query = format!(
        "{{ ...F0 }}\n{fragments}fragment F{} on Query {{ __typename }}",
        length - 1
    );
    let response = app.gql(&query, json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{response}"
    );
    assert!(response["data"].is_null(), "{response}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn deeply_nested_documents_over_http_get_an_error_and_the_server_lives() {
    let app = TestApp::spawn().await;
    for depth in DEPTHS {
        for (construct, query) in hostile_documents(depth) {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap_or_else(|error| panic!("{construct} at depth {depth}: {error}"));
            let status = response.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                continue; // The document is over the body limit: refused before parsing.
            }
            assert_eq!(status, StatusCode::OK, "{construct} at depth {depth}");
            let body: Value = response.json().await.unwrap();
            if depth > 60 && construct != "fragment chain" {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{construct} at depth {depth}: {body}"
                );
            }
            if depth > 32 && construct == "fragment chain" {
                assert!(
                    body["errors"][0].is_object(),
                    "{construct} at {depth}: {body}"
                );
            }
        }
        assert_alive(&app).await;
    }
}

#[tokio::test]
async fn deeply_nested_documents_over_websocket_get_an_error_and_the_server_lives() {
    let app = TestApp::spawn().await;
    for depth in DEPTHS {
        for (construct, query) in hostile_documents(depth) {
            let reply = run_over_socket(&app, &query).await;
            if let Some(reply) = reply {
                assert!(
                    reply["type"] == "error" || reply["type"] == "next",
                    "{construct} at depth {depth}: {reply}"
                );
                if depth > 60 && construct != "fragment chain" {
                    let errors = if reply["type"] == "error" {
                        reply["payload"].clone()
                    } else {
                        reply["payload"]["errors"].clone()
                    };
                    assert_eq!(
                        errors[0]["extensions"]["code"], "BAD_USER_INPUT",
                        "{construct} at depth {depth}: {reply}"
                    );
                }
            }
        }
        assert_alive(&app).await;
    }
}

/// Sends `query` as one `graphql-transport-ws` operation and returns the first answer to it
/// (`None` when the server closed the socket instead, e.g. for an oversized message).
async fn run_over_socket(app: &TestApp, query: &str) -> Option<Value> {
    let request = socket_request(&app.address);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": {} });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = next_json(&mut socket).await.expect("connection_ack");
    assert_eq!(ack["type"], "connection_ack");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    if socket
        .send(Message::text(subscribe.to_string()))
        .await
        .is_err()
    {
        return None;
    }
    next_json(&mut socket).await
}

async fn next_json<S>(socket: &mut S) -> Option<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("the server answers within 10 s")?;
    match message.ok()? {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

/// Found by fuzzing: async-graphql 7.2.1's validation panicked on a list variable of a type the
/// schema does not have, and the panic dropped the connection without an answer.
#[tokio::test]
async fn a_list_variable_of_an_unknown_type_gets_an_error() {
    let app = TestApp::spawn().await;
    for query in [
        "query($v: [X] = 1) { __typename }",
        "query($v: [[Nope!]]) { __typename }",
    ] {
        let response = app.gql(query, json!({})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{response}"
        );
        assert!(response["data"].is_null(), "{response}");
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn a_field_under_too_many_aliases_is_refused_before_it_runs() {
    let app = TestApp::spawn().await;
    let user = app.register("Alice").await;
    let aliases = |count: usize| {
        let fields: Vec<String> = (0..count).map(|i| format!("a{i}: me {{ id }}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let fine = app.gql_user(&user, &aliases(16), json!({})).await;
    assert_eq!(
        fine["data"]["a15"]["id"], fine["data"]["a0"]["id"],
        "{fine}"
    );
    let refused = app.gql_user(&user, &aliases(17), json!({})).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    assert!(refused["data"].is_null(), "nothing ran: {refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`me`") && message.contains("aliases"),
        "{message}"
    );
}
