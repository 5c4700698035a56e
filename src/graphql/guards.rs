//! Field guards: the role table of DESIGN.md at the schema's edge.
//!
//! `#[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]` on a field
//! with a book id argument, or `BookRoleGuard::book(Role::Admin, self.id)` on a field of a
//! book, refuses the field before its resolver runs: NOT_FOUND for someone outside the book,
//! FORBIDDEN for a member below the role (the same verdicts as [`access::check_role`], which
//! both layers use). The caller's membership comes from the request's loader, so a guard costs
//! at most one batched statement per request, usually none (resolving a book primes it).
//!
//! Guards are the first line; the services check again with a proof of access inside their
//! transaction ([`crate::service::access`]), so a resolver that forgot its guard still cannot
//! write.

use async_graphql::{Context, Guard, ID};
use entity::enums::Role;
use uuid::Uuid;

use crate::{
    error::AppError,
    graphql::{
        accounts::parse_id,
        context::actor,
        loaders::{MembershipKey, loaders},
    },
    service::access,
};

/// Lets a field through when the caller holds at least `min` in the book.
pub struct BookRoleGuard {
    min: Role,
    /// The book, or the argument that failed to name one.
    book: Result<Uuid, &'static str>,
}

impl BookRoleGuard {
    /// For a field whose argument `name` (`id`, `bookId`) holds the book's id.
    pub fn arg(min: Role, name: &'static str, book_id: &ID) -> Self {
        let book = parse_id(book_id, name).map_err(|_| name);
        Self { min, book }
    }

    /// For a field of a book the caller already reached.
    pub fn book(min: Role, book_id: Uuid) -> Self {
        Self {
            min,
            book: Ok(book_id),
        }
    }
}

impl Guard for BookRoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let book_id = self
            .book
            .map_err(|name| AppError::bad_input(name, "not a valid id"))?;
        let actor = actor(ctx)?;
        let key = MembershipKey {
            book_id,
            user_id: actor.user_id,
        };
        let role = loaders(ctx)?.load_one(key).await?;
        access::check_role(role, self.min)?;
        Ok(())
    }
}
