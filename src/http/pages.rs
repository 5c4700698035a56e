//! The two pages the server serves, each with a strict Content-Security-Policy:
//!
//! - `/dashboard`: the live dashboard, static HTML with plain JavaScript and CSS compiled into
//!   the binary (no build step, nothing loaded from elsewhere); it uses the public API like any
//!   client (see `dashboard/app.js`). Scripts, styles and connections only from this origin
//!   (which includes its WebSocket), no inline script or style, no frames, no forms.
//! - GraphiQL at `GET /graphql` (where introspection is on): GraphiQL and React at exact
//!   versions from unpkg, each pinned by its Subresource Integrity hash, and this server's own
//!   start-up script; no inline script. GraphiQL sets inline styles, so its policy allows
//!   those (and fonts and images as data), nothing else.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

const DASHBOARD: &str = include_str!("dashboard/index.html");
const DASHBOARD_SCRIPT: &str = include_str!("dashboard/app.js");
const DASHBOARD_STYLE: &str = include_str!("dashboard/app.css");
const ICON: &str = include_str!("dashboard/icon.svg");
const GRAPHIQL: &str = include_str!("graphiql/index.html");
const GRAPHIQL_SCRIPT: &str = include_str!("graphiql/init.js");
const GRAPHIQL_STYLE: &str = include_str!("graphiql/page.css");

/// What the dashboard may load and where it may connect.
const DASHBOARD_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// What GraphiQL may load and where it may connect.
const GRAPHIQL_POLICY: &str = "default-src 'none'; script-src 'self' https://unpkg.com; \
     style-src 'self' 'unsafe-inline' https://unpkg.com; font-src data: https://unpkg.com; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The pages' routes; GraphiQL's files only where GraphiQL is served.
pub fn routes<S: Clone + Send + Sync + 'static>(graphiql: bool) -> Router<S> {
    let router = Router::new()
        .route("/dashboard", get(|| async { dashboard(DASHBOARD, HTML) }))
        .route(
            "/dashboard/app.js",
            get(|| async { dashboard(DASHBOARD_SCRIPT, JAVASCRIPT) }),
        )
        .route(
            "/dashboard/app.css",
            get(|| async { dashboard(DASHBOARD_STYLE, CSS) }),
        )
        .route(
            "/dashboard/icon.svg",
            get(|| async { dashboard(ICON, "image/svg+xml") }),
        );
    if !graphiql {
        return router;
    }
    router
        .route(
            "/graphiql/init.js",
            get(|| async { asset(GRAPHIQL_SCRIPT, JAVASCRIPT, GRAPHIQL_POLICY) }),
        )
        .route(
            "/graphiql/page.css",
            get(|| async { asset(GRAPHIQL_STYLE, CSS, GRAPHIQL_POLICY) }),
        )
}

/// The GraphiQL page.
pub fn graphiql() -> Response {
    asset(GRAPHIQL, HTML, GRAPHIQL_POLICY)
}

fn dashboard(body: &'static str, content_type: &'static str) -> Response {
    asset(body, content_type, DASHBOARD_POLICY)
}

fn asset(body: &'static str, content_type: &'static str, policy: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(policy),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}
