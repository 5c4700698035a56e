//! The HTTP surface: health, readiness, GraphiQL, and what POST /graphql accepts.

use serde_json::json;

use crate::helpers::{TestApp, error_code};

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_up() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn get_graphql_serves_graphiql_wired_for_subscriptions() {
    let app = TestApp::spawn().await;
    let response = app.get("/graphql").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("graphiql"), "GraphiQL page");
    assert!(
        page.contains("/graphql/ws"),
        "subscription endpoint configured"
    );
}

#[tokio::test]
async fn typename_query_answers() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ __typename }", json!({})).await;
    assert_eq!(response, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn get_never_executes_a_document() {
    let app = TestApp::spawn().await;
    let response = app.get("/graphql?query=%7B__typename%7D").await;
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("\"data\""),
        "GET must not execute GraphQL: {body}"
    );
}

#[tokio::test]
async fn post_without_json_content_type_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn invalid_documents_get_a_stable_code() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ noSuchField }", json!({})).await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn too_deep_documents_are_refused_before_execution() {
    let app = TestApp::spawn().await;
    let deep = format!(
        "{}{}",
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name ",
        "} } } } } } } } } } } } }"
    );
    let response = app.gql(&deep, json!({})).await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{response}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ __typename }", "variables": { "pad": huge } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn batched_requests_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_stop_signal_ends_the_server_cleanly_and_closes_the_port() {
    let mut app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let grace = std::time::Duration::from_secs(2 + 3);
    tokio::time::timeout(grace, app.stop())
        .await
        .expect("the server stops within its grace period")
        .expect("the server stops without an error");
    let after = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await;
    assert!(after.is_err(), "the port still answers after the stop");
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_configured_origins_get_a_cors_grant() {
    let app = TestApp::spawn_with(&[(
        "TALLY_CORS_ORIGINS",
        "https://app.example, http://localhost:5173",
    )])
    .await;
    let allowed = preflight(&app, "https://app.example").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");

    let evil = preflight(&app, "https://evil.example").await;
    assert!(!evil.headers().contains_key("access-control-allow-origin"));

    let unconfigured = TestApp::spawn().await;
    let same_origin_only = preflight(&unconfigured, "https://app.example").await;
    assert!(
        !same_origin_only
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
