//! The checks every GraphQL operation passes before it is validated or run, whichever transport
//! brought it (a POST, or one operation of a WebSocket): [`admit`], which the
//! [`Gateway`](crate::graphql::gateway::Gateway) runs on every request before the schema sees it.
//!
//! 0. the general request rate limit ([`crate::service::rate_limit`]), per client address and
//!    per user, before the document is even parsed;
//! 1. the document's bracket nesting is bounded *before* the recursive parser sees it;
//! 2. fragments spread each other neither in a cycle nor in a long chain, nor expand to more
//!    than [`limits::MAX_EXPANDED_SELECTIONS`] selections; every variable's type exists
//!    (async-graphql's validation panics on `[Unknown]`);
//!    selections nest at most [`limits::MAX_DEPTH`] deep (introspection has its own bound), a
//!    field has at most [`limits::MAX_ALIASES_PER_FIELD`] aliases in one selection set, and
//!    a mutation names at most one of the fields that hash a password or guess a secret;
//! 3. the caller's credential is still valid *now* (a WebSocket's operations arrive long after
//!    its `connection_init`): not expired, not revoked;
//! 4. a READ-scoped access token cannot run a mutation.
//!
//! Each refusal is an ordinary GraphQL error with a stable code, decided before any resolver or
//! database statement runs. The document parsed here is the one the schema runs (it stays in
//! the request), so it is parsed once.

use std::{
    any::{Any, TypeId},
    collections::HashSet,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Data, ErrorExtensions, Request, ServerError,
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

/// Checks `request` (whose socket's data is `session`, if it came over a WebSocket) against the
/// policy, and leaves its parsed document in it: the type of the operation it selects, or the
/// error refusing it. `state` is `None` only where nothing is throttled (fuzzing); `types` are
/// the names a variable's type may have ([`type_names`]).
pub fn admit(
    state: Option<&AppState>,
    types: &HashSet<String>,
    request: &mut Request,
    session: Option<&Data>,
) -> Result<OperationType, ServerError> {
    // HTTP puts these in the request, a WebSocket in the socket's data.
    let actor = find::<Actor>(&request.data, session).copied();
    let address = find::<ClientAddress>(&request.data, session).map(|ClientAddress(ip)| *ip);
    let slot = find::<OperationName>(&request.data, session).cloned();
    if let (Some(state), Some(address)) = (state, address) {
        let user = actor.map(|actor| actor.user_id);
        state.rate_limits.operation(address, user).map_err(refuse)?;
    }
    limits::check_nesting(&request.query).map_err(refuse_document)?;
    let requested = request.operation_name.clone();
    let document = request.parsed_query()?;
    limits::check_fragments(document).map_err(refuse_document)?;
    limits::check_variable_types(document, |name| types.contains(name)).map_err(refuse_document)?;
    limits::check_depth(document).map_err(refuse_document)?;
    limits::check_aliases(document).map_err(refuse_document)?;
    limits::check_single_use_fields(document).map_err(refuse_document)?;
    if let Some(slot) = slot {
        slot.set(selected_name(document, requested.clone()));
    }
    let mutation = selects(document, requested.as_deref(), OperationType::Mutation);
    if let Some(actor) = actor {
        // A socket's credential is checked as of each operation, not of its handshake.
        if let Some(state) = state {
            access_tokens::ensure_current(state, &actor).map_err(refuse)?;
        }
        if !actor.may_write() && mutation {
            return Err(refuse(AppError::Forbidden));
        }
    }
    Ok(
        if selects(document, requested.as_deref(), OperationType::Subscription) {
            OperationType::Subscription
        } else if mutation {
            OperationType::Mutation
        } else {
            OperationType::Query
        },
    )
}

/// The value of type `T` in the request's data, or else in its socket's.
fn find<'a, T: Any>(request: &'a Data, session: Option<&'a Data>) -> Option<&'a T> {
    let key = TypeId::of::<T>();
    request
        .get(&key)
        .or_else(|| session.and_then(|data| data.get(&key)))
        .and_then(|value| value.downcast_ref::<T>())
}

/// Every type the schema defines, and the built-in scalars: what a variable may be declared as.
///
/// Read from `schema.graphql`, the published SDL, which `tests/api/schema_file.rs` keeps equal
/// to the schema's own, by [`defined_types`]. Exporting the SDL at start-up, or parsing it,
/// left 4 to 5 MiB of resident memory behind (measured), a twentieth of the service's budget.
pub fn type_names() -> HashSet<String> {
    ["String", "Int", "Float", "Boolean", "ID"]
        .into_iter()
        .chain(defined_types(PUBLISHED_SDL))
        .map(str::to_owned)
        .collect()
}

/// The names of the types `sdl` defines, as async-graphql writes it: each definition starts a
/// line, outside any block description, with its keyword (`type Book {`, `scalar Money`).
/// The unit test holds it to the parser's reading of `schema.graphql`.
fn defined_types(sdl: &str) -> impl Iterator<Item = &str> {
    let mut in_description = false;
    sdl.lines().filter_map(move |line| {
        if line.trim() == "\"\"\"" {
            in_description = !in_description;
            return None;
        }
        if in_description {
            return None;
        }
        let (keyword, rest) = line.split_once(' ')?;
        let kinds = ["type", "input", "enum", "scalar", "interface", "union"];
        kinds
            .contains(&keyword)
            .then(|| rest.split([' ', '{', '@']).next())
            .flatten()
            .filter(|name| !name.is_empty())
    })
}

/// `schema.graphql`.
const PUBLISHED_SDL: &str = include_str!("../../schema.graphql");

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
/// parse is let through: executing it answers with the same error as over POST. The parsed
/// document stays in the request, for [`admit`] not to parse it again.
pub fn may_run_over_get(request: &mut Request) -> bool {
    if limits::check_nesting(&request.query).is_err() {
        return true;
    }
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return true;
    };
    !selects(document, name.as_deref(), OperationType::Mutation)
        && !selects(document, name.as_deref(), OperationType::Subscription)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::TypeSystemDefinition;

    #[test]
    fn the_published_types_are_read_as_the_parser_reads_them() {
        let parsed: HashSet<String> = async_graphql::parser::parse_schema(PUBLISHED_SDL)
            .unwrap()
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some(ty.node.name.node.to_string()),
                _ => None,
            })
            .collect();
        let scanned: HashSet<String> = defined_types(PUBLISHED_SDL).map(str::to_owned).collect();
        assert!(parsed.len() > 50, "{parsed:?}");
        assert_eq!(scanned, parsed);
    }
}
