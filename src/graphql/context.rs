//! Reading the request's state and actor inside resolvers, as errors rather than panics.

use async_graphql::Context;

use crate::{
    error::{AppError, AppResult},
    service::Actor,
    state::AppState,
};

/// The application state attached to the schema.
pub fn state<'a>(ctx: &Context<'a>) -> AppResult<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal(anyhow::anyhow!("AppState missing from the schema")))
}

/// The authenticated caller, or UNAUTHENTICATED.
pub fn actor(ctx: &Context<'_>) -> AppResult<Actor> {
    ctx.data_opt::<Actor>()
        .copied()
        .ok_or(AppError::Unauthenticated)
}
