//! The general request rate limit and the socket cap, over HTTP and WebSocket alike: a burst is
//! cut at its quota however it interleaves, refusals are 429 with `Retry-After` (or a
//! RATE_LIMITED `error` for a socket's operation), and a user's quota is one across transports.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;

use crate::{
    helpers::{TestApp, socket_request},
    sockets::{Reply, acknowledged, next, run},
};

/// POSTs `{ __typename }` (as `token`'s user, when given) and returns the status, the
/// `Retry-After` header and the body.
async fn typename(app: &TestApp, token: Option<&str>) -> (StatusCode, Option<u64>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ __typename }" }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn a_concurrent_burst_from_one_address_passes_its_quota_and_no_more() {
    // 60 a minute: a burst of 10, then one a second.
    let app = TestApp::spawn_with(&[("TALLY_RATE_LIMIT_PER_ADDRESS", "60")]).await;
    let answers = join_all((0..40).map(|_| typename(&app, None))).await;
    let passed = answers
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::OK)
        .count();
    // At most one more may have refilled while the burst was in flight.
    assert!((10..=11).contains(&passed), "{passed} passed");
    for (status, retry_after, body) in answers.iter().filter(|(s, _, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
        assert!(matches!(retry_after, Some(1..=2)), "{retry_after:?}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
    }
    // The quota refills: after a second, one more passes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(typename(&app, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_users_quota_is_shared_by_http_and_websocket() {
    // 12 a minute: a burst of 2, then one every five seconds.
    let app = TestApp::spawn_with(&[("TALLY_RATE_LIMIT_PER_USER", "12")]).await;
    let alice = app.register("Alice").await;
    let token = alice.access_token.as_str();
    assert_eq!(typename(&app, Some(token)).await.0, StatusCode::OK);
    let mut socket = acknowledged(&app.address, token).await;
    let first = run(&mut socket, "1", "{ me { id } }", json!({})).await;
    assert!(
        matches!(&first, Reply::Json(m) if m["type"] == "next" && m["payload"]["data"]["me"]["id"].is_string()),
        "{first:?}"
    );
    // The quota is spent: refused on both transports.
    let (status, retry_after, body) = typename(&app, Some(token)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(matches!(retry_after, Some(1..=5)), "{retry_after:?}");
    let complete = next(&mut socket).await;
    assert!(
        matches!(&complete, Reply::Json(m) if m["type"] == "complete" && m["id"] == "1"),
        "{complete:?}"
    );
    let refused = run(&mut socket, "2", "{ me { id } }", json!({})).await;
    let Reply::Json(refused) = refused else {
        panic!("expected an answer, got {refused:?}");
    };
    // Refused before it was parsed, as a document limit would refuse it: an answer with no
    // data and the error, then `complete`.
    assert_eq!(refused["id"], "2");
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    let error = &refused["payload"]["errors"][0]["extensions"];
    assert_eq!(error["code"], "RATE_LIMITED", "{refused}");
    assert!(
        error["retryAfter"]
            .as_u64()
            .is_some_and(|secs| (1..=5).contains(&secs))
    );
    // Someone else, from the same address, is not affected.
    let bob = app.register("Bob").await;
    assert_eq!(
        typename(&app, Some(&bob.access_token)).await.0,
        StatusCode::OK
    );
}

/// Opens a WebSocket and returns whether the handshake was accepted, or its refusal's status
/// and `Retry-After`.
async fn handshake(app: &TestApp) -> Result<crate::sockets::Socket, (StatusCode, Option<String>)> {
    match tokio_tungstenite::connect_async(socket_request(&app.address)).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            Err((
                StatusCode::from_u16(response.status().as_u16()).unwrap(),
                retry_after,
            ))
        }
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn concurrent_handshakes_get_at_most_the_socket_cap_and_places_come_back() {
    let app = TestApp::spawn_with(&[("TALLY_SOCKETS_PER_ADDRESS", "3")]).await;
    let attempts = join_all((0..12).map(|_| handshake(&app))).await;
    let (mut open, refused): (Vec<_>, Vec<_>) = attempts.into_iter().partition(Result::is_ok);
    assert_eq!(open.len(), 3);
    for refusal in refused {
        let (status, retry_after) = refusal.err().unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after.is_some());
    }
    // A closed socket gives its place back once the server has seen it go.
    let mut closing = open.pop().unwrap().unwrap();
    closing.close(None).await.unwrap();
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(socket) = handshake(&app).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed socket's place never came back"
    );
    assert!(handshake(&app).await.is_err(), "the cap still holds");
}
