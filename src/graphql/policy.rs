//! The checks every GraphQL operation passes before it is validated or run, whichever transport
//! brought it (a POST, or one operation of a WebSocket), because they live in a schema
//! extension rather than in a handler:
//!
//! 0. the general request rate limit ([`crate::service::rate_limit`]), per client address and
//!    per user, before the document is even parsed;
//! 1. the document's bracket nesting is bounded *before* the recursive parser sees it;
//! 2. every variable's type exists (async-graphql's validation panics on `[Unknown]`);
//!    selections nest at most [`limits::MAX_DEPTH`] deep (introspection has its own bound), a
//!    field has at most [`limits::MAX_ALIASES_PER_FIELD`] aliases in one selection set, and
//!    a mutation names at most one of the fields that hash a password or guess a secret;
//! 3. the caller's credential is still valid *now* (a WebSocket's operations arrive long after
//!    its `connection_init`): not expired, not revoked;
//! 4. a READ-scoped access token cannot run a mutation.
//!
//! Each refusal is an ordinary GraphQL error with a stable code, decided before any resolver or
//! database statement runs.

use std::sync::{Arc, Mutex};

use async_graphql::{
    ErrorExtensions, Request, ServerError, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    },
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};

use crate::{
    error::AppError,
    graphql::{
        accounts::ClientAddress,
        limits::{self, DocumentError},
    },
    service::{Actor, access_tokens},
    state::AppState,
};

/// Installs [`PolicyCheck`] on every request.
pub struct RequestPolicy;

impl ExtensionFactory for RequestPolicy {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyCheck::default())
    }
}

/// One request's policy check; it remembers the operation name the request selects, which the
/// parse hook needs and does not receive.
#[derive(Default)]
struct PolicyCheck {
    operation_name: Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for PolicyCheck {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut name) = self.operation_name.lock() {
            name.clone_from(&request.operation_name);
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Here rather than in `prepare_request`, where the request's own data (the client
        // address and actor over HTTP) is not visible yet; still before the document is parsed.
        if let (Some(state), Some(ClientAddress(address))) =
            (ctx.data_opt::<AppState>(), ctx.data_opt::<ClientAddress>())
        {
            let user = ctx.data_opt::<Actor>().map(|actor| actor.user_id);
            state
                .rate_limits
                .operation(*address, user)
                .map_err(refuse)?;
        }
        limits::check_nesting(query).map_err(refuse_document)?;
        let document = next.run(ctx, query, variables).await?;
        let registry = &ctx.schema_env.registry;
        limits::check_variable_types(&document, |name| registry.types.contains_key(name))
            .map_err(refuse_document)?;
        limits::check_depth(&document).map_err(refuse_document)?;
        limits::check_aliases(&document).map_err(refuse_document)?;
        limits::check_single_use_fields(&document).map_err(refuse_document)?;
        if let Some(slot) = ctx.data_opt::<OperationName>() {
            let requested = self
                .operation_name
                .lock()
                .ok()
                .and_then(|name| name.clone());
            slot.set(selected_name(&document, requested));
        }
        if let Some(actor) = ctx.data_opt::<Actor>() {
            // A socket's credential is checked as of each operation, not of its handshake.
            if let Some(state) = ctx.data_opt::<AppState>() {
                access_tokens::ensure_current(state, actor).map_err(refuse)?;
            }
            let operation_name = self
                .operation_name
                .lock()
                .ok()
                .and_then(|name| name.clone());
            if !actor.may_write()
                && selects(
                    &document,
                    operation_name.as_deref(),
                    OperationType::Mutation,
                )
            {
                return Err(refuse(AppError::Forbidden));
            }
        }
        Ok(document)
    }
}

fn refuse_document(error: DocumentError) -> ServerError {
    refuse(AppError::bad_input("query", error.message()))
}

/// An error for the whole request, with the code and extensions `AppError` gives it.
pub fn refuse(error: AppError) -> ServerError {
    let error = error.extend();
    let mut refused = ServerError::new(error.message, None);
    refused.extensions = error.extensions;
    refused
}

/// Whether the operation the request runs is of type `ty`. Without an operation name in a
/// document of several operations, any operation of that type among them counts (the request
/// would fail anyway, but a READ credential must not learn that from an executed mutation).
fn selects(document: &ExecutableDocument, operation_name: Option<&str>, ty: OperationType) -> bool {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation.node.ty == ty,
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get(name)
            .is_some_and(|operation| operation.node.ty == ty),
        (DocumentOperations::Multiple(operations), None) => {
            operations.values().any(|operation| operation.node.ty == ty)
        }
    }
}

/// Where the transport learns the name of the operation a request ran (for its metrics): the
/// document's own name for its one operation, or the one the request selected.
#[derive(Clone, Default)]
pub struct OperationName(Arc<Mutex<Option<String>>>);

impl OperationName {
    fn set(&self, name: Option<String>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = name;
        }
    }

    /// The name, once the document was parsed (`None`: anonymous, or it never parsed).
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|name| name.clone())
    }
}

fn selected_name(document: &ExecutableDocument, requested: Option<String>) -> Option<String> {
    match &document.operations {
        // The parser keeps only an anonymous lone operation as `Single`.
        DocumentOperations::Single(_) => None,
        // A lone named operation's name is in the document; the request need not repeat it.
        DocumentOperations::Multiple(operations) => requested.or_else(|| {
            let mut names = operations.keys();
            match (names.next(), names.next()) {
                (Some(name), None) => Some(name.to_string()),
                _ => None,
            }
        }),
    }
}

/// Whether a request may run over GET: anything but a mutation or a subscription (GraphQL over
/// HTTP: GET must never change anything). A document that is too deeply nested or does not
/// parse is let through: executing it answers with the same error as over POST.
pub fn may_run_over_get(request: &Request) -> bool {
    if limits::check_nesting(&request.query).is_err() {
        return true;
    }
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let name = request.operation_name.as_deref();
    !selects(&document, name, OperationType::Mutation)
        && !selects(&document, name, OperationType::Subscription)
}
