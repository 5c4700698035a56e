//! The HTTP surface: `/graphql` (GET serves GraphiQL, POST executes), `/graphql/ws`
//! (subscriptions), `/healthz` (the process is up) and `/readyz` (the database answers).
//!
//! GraphQL over GET is never executed, so a link or an `<img>` cannot run a mutation; POST must
//! carry `Content-Type: application/json`, which browsers cannot send cross-origin without a CORS
//! preflight (the CSRF defence of the GraphQL-over-HTTP spec). Bodies are capped and every
//! request has a deadline. Each request gets an `x-request-id`, recorded on its tracing span and
//! returned to the client, so an `INTERNAL` error can be matched to its log line.

use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::{
    Router,
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, Request, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{error::ErrorCode, graphql::TallySchema, state::AppState};

/// Largest accepted request body; GraphQL documents and variables are far smaller.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Deadline for one HTTP request (subscriptions are upgraded and not bound by it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: TallySchema,
}

/// Builds the router serving `schema`.
pub fn router(app: AppState, schema: TallySchema) -> Router {
    let state = HttpState { app, schema };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, REQUEST_TIMEOUT))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Tally GraphiQL")
            .finish(),
    )
}

async fn graphql(
    State(state): State<HttpState>,
    headers: HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    request: GraphQLRequest,
) -> Response {
    if !is_json(&headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql needs Content-Type: application/json",
        )
            .into_response();
    }
    let request_id = request_id
        .and_then(|id| id.0.header_value().to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let mut response = state.schema.execute(request.into_inner()).await;
    label_errors(&mut response.errors, &request_id);
    GraphQLResponse::from(response).into_response()
}

/// Gives every error a stable code: errors our resolvers raise already carry one; the rest come
/// from parsing and validating the document, which is the client's input. Internal errors also
/// carry the request id, the handle for a support request.
fn label_errors(errors: &mut [async_graphql::ServerError], request_id: &str) {
    for error in errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        match extensions.get("code") {
            None => extensions.set("code", ErrorCode::BadUserInput.as_str()),
            Some(async_graphql::Value::String(code)) if code == ErrorCode::Internal.as_str() => {
                extensions.set("requestId", request_id)
            }
            Some(_) => {}
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

async fn graphql_ws(
    State(state): State<HttpState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| GraphQLWebSocket::new(socket, state.schema, protocol).serve())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    match state.app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}
