//! The HTTP surface: health, readiness, GraphiQL, and what POST /graphql accepts.

use serde_json::{Value, json};

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
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("graphiql@3.9.0/graphiql.min.js") && page.contains("integrity=\"sha384-"),
        "GraphiQL at a pinned version, checked by its hash: {page}"
    );
    let init = app.get("/graphiql/init.js").await.text().await.unwrap();
    assert!(
        init.contains("/graphql/ws"),
        "subscription endpoint configured"
    );
}

#[tokio::test]
async fn typename_query_answers() {
    let app = TestApp::spawn().await;
    let response = app.gql("{ __typename }", json!({})).await;
    assert_eq!(response, json!({ "data": { "__typename": "Query" } }));
}

/// GraphQL over HTTP's GET: queries run, mutations and subscriptions get 405 and change
/// nothing.
#[tokio::test]
async fn get_runs_queries_and_never_a_mutation() {
    let app = TestApp::spawn().await;
    let query = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));

    let register = "mutation { register(input: { email: \"get@example.com\", name: \"Get\", \
                    password: \"Correct-Horse-9\" }) { accessToken } }";
    let refused = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", register)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "POST");
    assert_eq!(app.count("users", "TRUE").await, 0, "nothing was written");

    // Several operations: the one named decides.
    let document = format!(
        "query Q {{ __typename }} {}",
        register.replacen("mutation", "mutation M", 1)
    );
    for (name, status) in [("Q", 200), ("M", 405), ("", 405)] {
        let mut pairs = vec![("query", document.as_str())];
        if !name.is_empty() {
            pairs.push(("operationName", name));
        }
        let response = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&pairs)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "operation {name:?}");
    }
    let subscription = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[(
            "query",
            "subscription { balancesChanged(bookId: \"x\") { version } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(subscription.status(), 405);
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
    let deep = format!("{{ {} id {} }}", "me { ".repeat(12), "} ".repeat(12));
    let response = app.gql(&deep, json!({})).await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{response}"
    );
    // Refused before any SQL. Background work (the hourly sweep, the event listener's resync
    // on PostgreSQL) shares the counter, so one quiet attempt out of five proves it.
    let mut quiet = false;
    for _ in 0..5 {
        let statements = app.statements.get();
        app.gql(&deep, json!({})).await;
        quiet |= app.statements.get() == statements;
    }
    assert!(quiet, "every refused document ran SQL");
}

/// The introspection query GraphiQL and the code generators send (graphql-js's
/// `getIntrospectionQuery` with every option) reads the whole schema, although it nests deeper
/// than data documents may.
#[tokio::test]
async fn the_standard_introspection_query_reads_the_schema() {
    let app = TestApp::spawn().await;
    let query = include_str!("../fixtures/introspection.graphql");
    let response = app.gql(query, json!({})).await;
    assert!(response["errors"].is_null(), "{response}");
    let types = response["data"]["__schema"]["types"].as_array().unwrap();
    let query_type = types.iter().find(|t| t["name"] == "Query").unwrap();
    let fields: Vec<&str> = query_type["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|field| field["name"].as_str())
        .collect();
    assert!(fields.contains(&"books"), "{fields:?}");
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
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// A body that is not a GraphQL request gets a 400 a person can read: a GraphQL error, never
/// the server's internal type names or debug output.
#[tokio::test]
async fn malformed_bodies_get_a_clean_400() {
    let app = TestApp::spawn().await;
    for body in [
        "{",
        "42",
        r#"{"query": 42}"#,
        r#"{"variables": {}}"#,
        r#"{"query": "{ __typename }", "variables": "x"}"#,
    ] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: serde_json::Value = response.json().await.unwrap();
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the body is not a GraphQL request"),
            "{body}: {answer}"
        );
        for leak in ["InvalidRequest", "Error(", "variant", "BatchRequest"] {
            assert!(!message.contains(leak), "{body}: {message}");
        }
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

/// A client may name its request for support (`x-request-id`), but only with a short, plain
/// token: the id is echoed back and written into every log line of the request.
#[tokio::test]
async fn a_client_request_id_is_kept_only_when_it_is_a_short_safe_token() {
    let app = TestApp::spawn().await;
    let echoed = |id: &'static str| {
        let request = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("x-request-id", id)
            .json(&json!({ "query": "{ __typename }" }));
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        echoed("support-ticket-42.a_b").await,
        "support-ticket-42.a_b"
    );
    let long: &'static str = Box::leak("a".repeat(65).into_boxed_str());
    for unsafe_id in ["bad id", "x\" \"forged\": 1", long, "a\tb"] {
        let replaced = echoed(unsafe_id).await;
        assert_ne!(replaced, unsafe_id);
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    }
}

/// Behind a trusted proxy the forwarded client address is throttled; from anyone else the
/// header is ignored, so forging it does not dodge the per-address limit.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let login = |app: &TestApp, forwarded: String, i: usize| {
        let request = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("x-forwarded-for", forwarded)
            .json(&json!({
                "query": "mutation($e: String!) { login(email: $e, password: \"Wrong-Pass-1\") { accessToken } }",
                "variables": { "e": format!("nobody{i}@example.com") },
            }));
        async move {
            let answer: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    // Untrusted: 50 failures from "different" forged addresses still exhaust 127.0.0.1.
    let direct = TestApp::spawn().await;
    for i in 0..50 {
        login(&direct, format!("198.51.100.{i}"), i).await;
    }
    assert_eq!(
        login(&direct, "203.0.113.1".into(), 50).await,
        "RATE_LIMITED"
    );

    // Trusted: the forwarded address is the client; another client is not affected.
    let proxied = TestApp::spawn_with(&[("TALLY_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for i in 0..50 {
        login(&proxied, "198.51.100.7".into(), i).await;
    }
    assert_eq!(
        login(&proxied, "198.51.100.7".into(), 50).await,
        "RATE_LIMITED"
    );
    assert_eq!(
        login(&proxied, "203.0.113.1".into(), 51).await,
        "UNAUTHENTICATED"
    );
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

async fn post_accepting(app: &TestApp, accept: Option<&str>, query: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query }));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// GraphQL over HTTP: the answer comes in the media type the client accepts, and under
/// `application/graphql-response+json` a refused document is a 400 without `data`.
#[tokio::test]
async fn responses_follow_the_accept_header() {
    let app = TestApp::spawn().await;
    for accept in [None, Some("application/json"), Some("*/*")] {
        let ok = post_accepting(&app, accept, "{ __typename }").await;
        assert_eq!(ok.status(), 200);
        assert!(
            content_type(&ok).starts_with("application/json"),
            "{accept:?}"
        );
        let invalid = post_accepting(&app, accept, "{ nope }").await;
        assert_eq!(invalid.status(), 200, "{accept:?}");
    }
    let modern = "application/graphql-response+json, application/json;q=0.9";
    let ok = post_accepting(&app, Some(modern), "{ __typename }").await;
    assert_eq!(ok.status(), 200);
    assert!(content_type(&ok).starts_with("application/graphql-response+json"));
    for refused in ["{ nope }", "{", "{ me { nope } }"] {
        let response = post_accepting(&app, Some(modern), refused).await;
        assert_eq!(response.status(), 400, "{refused}");
        assert!(content_type(&response).starts_with("application/graphql-response+json"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body.get("data").is_none(), "{refused}: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    let refused_json = post_accepting(
        &app,
        Some("application/json;q=0, text/html"),
        "{ __typename }",
    )
    .await;
    assert_eq!(refused_json.status(), 406);
}

/// In production, introspection, "did you mean" hints and GraphiQL are off unless
/// `TALLY_INTROSPECTION=1`.
#[tokio::test]
async fn production_hides_the_schema_unless_asked() {
    let app = TestApp::spawn_with(&[("TALLY_INTROSPECTION", "0")]).await;
    let schema = app.gql("{ __schema { types { name } } }", json!({})).await;
    assert!(
        schema["data"].is_null() || schema["data"]["__schema"].is_null(),
        "{schema}"
    );
    let typo = app.gql("{ bookz { id } }", json!({})).await;
    let message = typo["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    assert_eq!(app.get("/graphql").await.status(), 404);
    assert_eq!(app.get("/graphiql/init.js").await.status(), 404);
    assert_eq!(
        app.gql("{ __typename }", json!({})).await["data"]["__typename"],
        "Query"
    );

    let open = TestApp::spawn_with(&[("TALLY_INTROSPECTION", "1")]).await;
    let schema = open
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(schema["data"]["__schema"]["queryType"]["name"], "Query");
    let typo = open.gql("{ bookz { id } }", json!({})).await;
    assert!(
        typo["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{typo}"
    );
}

/// Every answer carries the security headers: no MIME sniffing, no referrer, no caching.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let api = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let dashboard = app.get("/dashboard").await;
    let missing = app.get("/no-such-page").await;
    let health = app.get("/healthz").await;
    for (name, response) in [
        ("api", &api),
        ("dashboard", &dashboard),
        ("404", &missing),
        ("healthz", &health),
    ] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{name}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{name}");
        assert_eq!(headers["cache-control"], "no-store", "{name}");
    }
    assert!(
        dashboard.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
}
