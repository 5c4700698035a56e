//! The HTTP surface: `/graphql` (POST executes; GET executes queries only, and serves GraphiQL
//! without one), `/graphql/ws` (subscriptions), `/dashboard` (the live dashboard page),
//! `/healthz` (the process is up) and `/readyz` (the database answers).
//!
//! A mutation or subscription over GET is refused with 405 before anything runs, so a link or
//! an `<img>` cannot change anything; POST must carry `Content-Type: application/json`, which
//! browsers cannot send cross-origin without a CORS preflight (the CSRF defence of the
//! GraphQL-over-HTTP spec). Credentials travel only in the `Authorization` header, which a
//! cross-site page cannot attach, so a GET query reads nothing for a stranger. Bodies are capped, batches and
//! malformed bodies get a 400 with a GraphQL error, and every request has a deadline. Each
//! request gets an `x-request-id` (a client's own only when it is a short safe token), recorded
//! on its tracing span and returned to the client, so an `INTERNAL` error can be matched to its
//! log line. The client address every throttle keys on comes from [`client_address`], for
//! HTTP and [`websocket`] alike.

use std::{net::SocketAddr, time::Duration};

use async_graphql::Executor;
use async_graphql_axum::GraphQLResponse;
use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tower::util::MapRequestLayer;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    error::{AppError, ErrorCode},
    graphql::{accounts::ClientAddress, gateway::Gateway, policy},
    observability,
    service::{Actor, access_tokens},
    state::AppState,
};

mod client_address;
mod pages;
mod websocket;

/// Largest accepted request body (and WebSocket message); GraphQL documents and variables are
/// far smaller.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The request-id header, set on every request and response.
const REQUEST_ID: &str = "x-request-id";
/// Longest request id a client may choose.
const MAX_REQUEST_ID_CHARS: usize = 64;
/// Deadline for one HTTP request (subscriptions are upgraded and not bound by it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct HttpState {
    app: AppState,
    gateway: Gateway,
}

/// Builds the router serving GraphQL through `gateway`.
pub fn router(app: AppState, gateway: Gateway) -> Router {
    let cors = cors(&app.config.cors_origins);
    let introspection = app.config.introspection;
    let state = HttpState { app, gateway };
    Router::new()
        .route("/graphql", get(get_graphql).post(graphql))
        .route("/graphql/ws", get(websocket::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(pages::routes(introspection))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // On every response, unless a page set its own: no MIME sniffing, no referrer leaving,
        // and nothing kept by caches (answers are per caller and change with every write).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, REQUEST_TIMEOUT))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(MapRequestLayer::new(drop_unsafe_request_id))
}

/// Keeps a client's `x-request-id` only when it is a short token of letters, digits, `.`, `_`
/// and `-`: it is echoed in responses and written to every log line, so anything else (control
/// characters, log-line forgery, kilobytes of text) is replaced by a generated id.
fn drop_unsafe_request_id<B>(mut request: Request<B>) -> Request<B> {
    let safe = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|id| {
            (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
        });
    if !safe {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// Lets the configured single-page-app origins call `/graphql` from the browser. Credentials
/// travel in the `Authorization` header, never cookies, so no `Allow-Credentials` is needed;
/// with no origins configured, browsers get no CORS grant at all (same-origin only).
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([HeaderName::from_static(REQUEST_ID)])
        .max_age(Duration::from_secs(3600))
}

/// `GET /graphql`: a query in the URL (`?query=…&variables=…&operationName=…`) is executed as
/// over POST, except a mutation or subscription (405, `Allow: POST`: GET must never change
/// anything); without one, GraphiQL where introspection is on, 404 elsewhere.
async fn get_graphql(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let params = match params {
        Ok(Query(params)) => params,
        Err(rejection) => return bad_request(&rejection.body_text()),
    };
    let Some(query) = params.query else {
        if !state.app.config.introspection {
            return StatusCode::NOT_FOUND.into_response();
        }
        return pages::graphiql();
    };
    let mut request = async_graphql::Request::new(query);
    request.operation_name = params.operation_name;
    match (
        json_param("variables", params.variables),
        json_param("extensions", params.extensions),
    ) {
        (Ok(variables), Ok(extensions)) => {
            request.variables = variables.unwrap_or_default();
            request.extensions = extensions.unwrap_or_default();
        }
        (Err(message), _) | (_, Err(message)) => return bad_request(&message),
    }
    if !policy::may_run_over_get(&mut request) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "mutations and subscriptions need POST (or /graphql/ws for subscriptions)",
        )
            .into_response();
    }
    run(&state, peer, &headers, request_id, request).await
}

/// A URL parameter holding JSON: `variables` and `extensions` of a GET request.
fn json_param<T: serde::de::DeserializeOwned>(
    name: &str,
    value: Option<String>,
) -> Result<Option<T>, String> {
    value
        .map(|json| {
            serde_json::from_str(&json).map_err(|error| format!("`{name}` is not valid: {error}"))
        })
        .transpose()
}

/// A GET request's parameters, named as GraphQL over HTTP names them.
#[derive(serde::Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    /// JSON, URL-encoded.
    variables: Option<String>,
    /// JSON, URL-encoded.
    extensions: Option<String>,
}

async fn graphql(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql needs Content-Type: application/json",
        )
            .into_response();
    }
    let request = match parse_request(&body) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    run(&state, peer, &headers, request_id, request).await
}

/// Executes one request, GET or POST: media type negotiated, the caller authenticated, the
/// client address attached for the throttles, error codes labelled.
async fn run(
    state: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    request: async_graphql::Request,
) -> Response {
    let Some(media) = negotiate(headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let request_id = request_id_text(request_id);
    let started = std::time::Instant::now();
    let operation = policy::OperationName::default();
    let client = client_address::resolve(peer, headers, &state.app.config.trusted_proxies);
    let mut request = request.data(ClientAddress(client)).data(operation.clone());
    let mut response = match authenticate_header(&state.app, headers).await {
        Ok(actor) => {
            if let Some(actor) = actor {
                request = request.data(actor);
            }
            state.gateway.execute(request).await
        }
        Err(error) => async_graphql::Response::from_errors(vec![policy::refuse(error)]),
    };
    label_errors(&mut response.errors, &request_id);
    let outcome = response
        .errors
        .first()
        .and_then(|error| error.extensions.as_ref()?.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.as_str()),
            _ => None,
        })
        .unwrap_or("OK");
    observability::record_request(operation.get().as_deref(), outcome, started.elapsed());
    respond(response, media)
}

/// The request's id as text (set on every request by the id layer; empty only if it is not).
fn request_id_text(request_id: Option<axum::Extension<RequestId>>) -> String {
    request_id
        .and_then(|id| id.0.header_value().to_str().ok().map(str::to_owned))
        .unwrap_or_default()
}

/// The two media types of GraphQL over HTTP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: the status tells a refused request (400, no `data`)
    /// from an executed one (200).
    GraphQLResponse,
    /// `application/json`, for older clients: always 200, errors in the body.
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media type the client's `Accept` asks for: `application/graphql-response+json` when it
/// is acceptable, else `application/json` (also for no `Accept`, `*/*` and `application/*`, as
/// the spec allows legacy clients), else none (406).
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Some(Media::Json);
    };
    // Media ranges the client accepts at all: `q=0` means "not this one".
    let accepted: Vec<String> = accept
        .to_str()
        .ok()?
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts
                .filter_map(|param| param.split_once('='))
                .any(|(key, value)| {
                    key.trim() == "q" && value.trim().chars().all(|c| c == '0' || c == '.')
                });
            (!refused).then_some(media)
        })
        .collect();
    if accepted
        .iter()
        .any(|range| range == "application/graphql-response+json")
    {
        return Some(Media::GraphQLResponse);
    }
    accepted
        .iter()
        .any(|range| matches!(range.as_str(), "application/json" | "application/*" | "*/*"))
        .then_some(Media::Json)
}

/// Writes the response in the negotiated media type. A request that never executed (it did not
/// parse or validate, or a policy refused it: errors without a path and no data) is a 400 with
/// no `data` under `application/graphql-response+json`, as the spec asks; one refused by the
/// request rate limit is a 429 with `Retry-After` under either.
fn respond(response: async_graphql::Response, media: Media) -> Response {
    let refused = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    if refused && let Some(retry_after) = rate_limited(&response.errors) {
        // Refused by the request rate limit: HTTP's own answer, which proxies and client
        // libraries understand whatever the media type.
        let mut http = too_many_requests(retry_after, &response.errors);
        http.headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        return http;
    }
    if media == Media::GraphQLResponse && refused {
        let body = serde_json::json!({ "errors": response.errors });
        let mut http = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        http.headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        return http;
    }
    let mut http = GraphQLResponse::from(response).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    http
}

/// The seconds a request refused with RATE_LIMITED should wait, from its error's `retryAfter`.
fn rate_limited(errors: &[async_graphql::ServerError]) -> Option<u64> {
    errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        let limited = matches!(
            extensions.get("code"),
            Some(async_graphql::Value::String(code)) if code == ErrorCode::RateLimited.as_str()
        );
        match extensions.get("retryAfter") {
            Some(async_graphql::Value::Number(secs)) if limited => secs.as_u64(),
            _ => None,
        }
    })
}

/// Reads one GraphQL request (`{"query", "variables", "operationName"}`) from a JSON body.
/// Batches (a JSON array) are refused: each element would be a full request, multiplying what
/// one HTTP request may cost.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, String> {
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return Err("batched requests are not supported: send one operation per request".into());
    }
    let request: async_graphql::Request = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not a GraphQL request: {error}"))?;
    if request.query.trim().is_empty() {
        return Err("the body is not a GraphQL request: `query` is missing".into());
    }
    Ok(request)
}

/// A 429 with `Retry-After` and the refusal as GraphQL errors.
fn too_many_requests(retry_after_secs: u64, errors: &[async_graphql::ServerError]) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        axum::Json(serde_json::json!({ "errors": errors })),
    )
        .into_response()
}

/// The 429 for a WebSocket handshake the rate limit refused, before it became GraphQL.
fn refused_handshake(error: AppError) -> Response {
    let retry_after = match error {
        AppError::RateLimited { retry_after_secs } => retry_after_secs,
        _ => 1,
    };
    too_many_requests(retry_after, &[policy::refuse(error)])
}

/// A 400 whose body is a GraphQL error, as clients expect of a GraphQL endpoint.
fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{
            "message": message,
            "extensions": { "code": ErrorCode::BadUserInput.as_str() },
        }],
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The actor named by `Authorization: Bearer …`; no header means an anonymous request, while a
/// header with a bad credential is UNAUTHENTICATED (never silently anonymous).
async fn authenticate_header(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Actor>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bearer = value
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .ok_or(AppError::Unauthenticated)?;
    access_tokens::authenticate(state, bearer.trim())
        .await
        .map(Some)
}

/// Gives every error a stable code: errors our resolvers raise already carry one; an error
/// without a path comes from parsing or validating the document, the client's input
/// (BAD_USER_INPUT); any other error without a code is unexpected (INTERNAL, logged, its
/// message withheld). Internal errors carry the request id, the handle for a support request.
fn label_errors(errors: &mut [async_graphql::ServerError], request_id: &str) {
    for error in errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        match extensions.get("code") {
            // Without a path it is the request itself: a document that does not parse or
            // validate (async-graphql's own errors); with one, an argument async-graphql could
            // not read (an Int out of range, say). The client caused both.
            None if error.path.is_empty() || is_argument_error(&error.message) => {
                extensions.set("code", ErrorCode::BadUserInput.as_str());
            }
            // A resolver's error that no one gave a code: unexpected, so internal. Its message
            // may say anything about the server: logged, not shown.
            None => {
                tracing::error!(
                    request_id,
                    message = %error.message,
                    path = ?error.path,
                    "an error without a code, answered as INTERNAL"
                );
                extensions.set("code", ErrorCode::Internal.as_str());
                extensions.set("requestId", request_id);
                error.message = "internal error".to_owned();
            }
            Some(async_graphql::Value::String(code)) if code == ErrorCode::Internal.as_str() => {
                extensions.set("requestId", request_id)
            }
            Some(_) => {}
        }
    }
}

/// Whether `message` is async-graphql's report of an argument it could not read
/// (`InputValueError::into_server_error`: `Failed to parse "<type>": …`), which carries no code.
fn is_argument_error(message: &str) -> bool {
    message.starts_with("Failed to parse \"")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
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

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, ServerError, Value};

    use super::label_errors;

    fn labelled(message: &str, path: bool, code: Option<&str>) -> ServerError {
        let mut error = ServerError::new(message, None);
        if path {
            error.path = vec![PathSegment::Field("deleteEntry".into())];
        }
        if let Some(code) = code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
        }
        let mut errors = [error];
        label_errors(&mut errors, "req-1");
        let [error] = errors;
        error
    }

    fn code(error: &ServerError) -> Option<&Value> {
        error.extensions.as_ref()?.get("code")
    }

    #[test]
    fn errors_without_a_code_are_labelled_by_where_they_come_from() {
        let parse = labelled("Unexpected `}`", false, None);
        assert_eq!(code(&parse), Some(&Value::from("BAD_USER_INPUT")));
        let argument = labelled("Failed to parse \"Int\": out of range", true, None);
        assert_eq!(code(&argument), Some(&Value::from("BAD_USER_INPUT")));
        let unexpected = labelled("connection reset by 10.0.0.7", true, None);
        assert_eq!(code(&unexpected), Some(&Value::from("INTERNAL")));
        assert_eq!(
            unexpected.message, "internal error",
            "the cause is logged, not shown"
        );
        let request_id = unexpected
            .extensions
            .as_ref()
            .and_then(|e| e.get("requestId"));
        assert_eq!(request_id, Some(&Value::from("req-1")));
        let coded = labelled("not found", true, Some("NOT_FOUND"));
        assert_eq!(code(&coded), Some(&Value::from("NOT_FOUND")));
    }
}
