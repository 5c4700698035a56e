//! `/metrics` on its own listener (`TALLY_METRICS_LISTEN`): a scrape finds the request just made.
//! The recorder is process-wide and tests run side by side, so counts are checked as lower
//! bounds, on labels only this test uses.

use serde_json::json;

use crate::{helpers::TestApp, sockets::acknowledged};

/// A free local port (bound and released: the server binds it right after).
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// The value of the sample line that starts with `series` (name and labels), if any and whole.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn a_scrape_finds_the_request_just_made() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("TALLY_METRICS_LISTEN", listen.as_str())]).await;
    let alice = app.register("Alice").await;
    let answer = app
        .gql_user(&alice, "query MetricsProbe { me { id } }", json!({}))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let refused = app
        .gql("query MetricsProbeRefused { me { id } }", json!({}))
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    // A guest joining moves the book's balances: an event is published.
    let created = app
        .gql_user(
            &alice,
            r#"mutation { createBook(input: { name: "Trip", kind: SPLIT }) { id } }"#,
            json!({}),
        )
        .await;
    let book = created["data"]["createBook"]["id"].clone();
    let guest = app
        .gql_user(
            &alice,
            r#"mutation($b: ID!) { addGuest(bookId: $b, name: "Gus") { id } }"#,
            json!({ "b": book }),
        )
        .await;
    assert!(guest["errors"].is_null(), "{guest}");
    let _socket = acknowledged(&app.address, &alice.access_token).await;

    let metrics = format!("http://{listen}/metrics");
    let text = app
        .client
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ok = r#"tally_graphql_requests_total{operation="MetricsProbe",outcome="OK"}"#;
    assert_eq!(sample(&text, ok), Some(1), "{text}");
    let refused = r#"tally_graphql_requests_total{operation="MetricsProbeRefused",outcome="UNAUTHENTICATED"}"#;
    assert_eq!(sample(&text, refused), Some(1), "{text}");
    assert!(
        text.contains(r#"tally_graphql_request_duration_seconds_bucket{operation="MetricsProbe""#),
        "{text}"
    );
    assert!(
        sample(&text, "tally_websocket_connections").unwrap_or(0) >= 1,
        "{text}"
    );
    assert!(
        sample(&text, "tally_events_published_total").unwrap_or(0) >= 1,
        "{text}"
    );
    assert!(
        text.contains(r#"tally_db_connections{state="idle"}"#),
        "{text}"
    );

    // Not on the API's own listener.
    assert_eq!(app.get("/metrics").await.status(), 404);
}
