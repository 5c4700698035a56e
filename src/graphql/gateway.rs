//! The one way a transport runs a GraphQL operation: [`Gateway`], an async-graphql
//! [`Executor`] that HTTP and every WebSocket operation go through. It admits the request by
//! the [`policy`] (throttle, document limits, the credential as of now), then runs it with a
//! fresh [`Loaders`](crate::graphql::loaders::Loaders).
//!
//! Why not schema extensions, where these checks lived before: async-graphql wraps every field
//! of every response in the extension chain as soon as a schema has one extension (a registry
//! look-up and a boxed future per field). The policy needs one look at the parsed document per
//! request, not a hook per field: without extensions a 20-member book's roster and balances
//! answer 20-45% more requests a second (`bench/load`; numbers in the performance issue).
//! Queries and mutations therefore run on a schema without extensions. Subscriptions keep
//! one, [`PerRequestLoaders`], on a schema of their own (about 4 MiB): each of their events
//! must get fresh loaders, and async-graphql's per-execution hook is the only place that runs
//! once per event.
//!
//! Nothing else holds the schemas, so no transport can reach them without the policy.

use std::{collections::HashSet, sync::Arc};

use async_graphql::{
    Data, Executor, Request, Response, ServerError,
    futures_util::stream::{self, BoxStream, StreamExt},
    parser::types::OperationType,
};

use crate::{
    graphql::{
        TallySchema,
        loaders::{self, PerRequestLoaders},
        policy,
    },
    state::AppState,
};

/// The schemas behind the policy; cheap to clone.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    /// Queries and mutations: no extensions.
    schema: TallySchema,
    /// Subscriptions: fresh loaders for each event.
    live: TallySchema,
    /// For the throttle and the loaders; `None` only where no request reaches a database
    /// (fuzzing the request path).
    state: Option<AppState>,
    /// Every type a variable may name (see [`policy::type_names`]).
    types: HashSet<String>,
}

impl Gateway {
    /// The gateway of a running instance.
    pub fn new(state: AppState) -> Self {
        let schema = crate::graphql::build_schema(&state, None);
        let live = crate::graphql::build_schema(&state, Some(PerRequestLoaders(state.clone())));
        Self::over(schema, live, Some(state))
    }

    /// A gateway over schemas built elsewhere: `schema` runs queries and mutations, `live`
    /// subscriptions. Without `state`, requests are not throttled and get no loaders.
    pub fn over(schema: TallySchema, live: TallySchema, state: Option<AppState>) -> Self {
        let types = policy::type_names();
        Self(Arc::new(Inner {
            schema,
            live,
            state,
            types,
        }))
    }

    /// Admits `request` (with its socket's `session` data, if any): the operation's type, or
    /// the error refusing it.
    fn admit(
        &self,
        request: &mut Request,
        session: Option<&Data>,
    ) -> Result<OperationType, ServerError> {
        let inner = &self.0;
        let ty = policy::admit(inner.state.as_ref(), &inner.types, request, session)?;
        if ty != OperationType::Subscription
            && let Some(state) = &inner.state
        {
            request.data.insert(loaders::new_loaders(state.clone()));
        }
        Ok(ty)
    }
}

impl Executor for Gateway {
    async fn execute(&self, mut request: Request) -> Response {
        match self.admit(&mut request, None) {
            // async-graphql answers a subscription sent here with its own error.
            Ok(_) => self.0.schema.execute(request).await,
            Err(refusal) => Response::from_errors(vec![refusal]),
        }
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let session = session_data.unwrap_or_default();
        match self.admit(&mut request, Some(&session)) {
            Ok(OperationType::Subscription) => self
                .0
                .live
                .execute_stream_with_session_data(request, session),
            Ok(_) => self
                .0
                .schema
                .execute_stream_with_session_data(request, session),
            Err(refusal) => {
                stream::once(async move { Response::from_errors(vec![refusal]) }).boxed()
            }
        }
    }
}
