//! Members in the API: the `Member` type and `changeRole`, `removeMember`, `leaveBook`,
//! `transferOwnership`. The rules (one OWNER, manage only below your own role, member limit)
//! live in [`crate::service::members`]; the guards here refuse early with the same verdicts.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::{enums::Role, membership};

use crate::{
    graphql::{
        accounts::{User, parse_id},
        books::Book,
        context::{actor, state},
        guards::BookRoleGuard,
        loaders::{forget_memberships, loaders, user},
    },
    service::{books, members},
};

/// A member's role in a book, from most to least powerful.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Role", remote = "entity::enums::Role")]
pub enum MemberRole {
    /// Exactly one per book: everything, including managing admins, transferring ownership and
    /// archiving the book.
    Owner,
    /// Manages entries, categories, invites and the members below ADMIN.
    Admin,
    /// Records entries and payments; edits their own entries.
    Writer,
    /// Reads the book.
    Reader,
}

/// Someone's membership of a book.
pub struct Member(membership::Model);

impl Member {
    pub fn new(row: membership::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Member {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.0.user_id).await
    }

    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Gives a member another role. ADMINs change WRITERs and READERs among themselves; only
    /// the OWNER makes or unmakes ADMINs; nobody makes an OWNER (see `transferOwnership`).
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn change_role(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        user_id: ID,
        role: MemberRole,
    ) -> async_graphql::Result<Member> {
        let changed = members::change_role(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            parse_id(&user_id, "userId")?,
            role.into(),
        )
        .await?;
        forget_memberships(loaders(ctx)?);
        Ok(Member(changed))
    }

    /// Removes a member below the caller's role (ADMIN and up). Their balance must be settled.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<bool> {
        members::remove_member(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            parse_id(&user_id, "userId")?,
        )
        .await?;
        forget_memberships(loaders(ctx)?);
        Ok(true)
    }

    /// Leaves the book. The OWNER must transfer ownership first; the balance must be settled.
    #[graphql(guard = "BookRoleGuard::arg(Role::Reader, \"bookId\", &book_id)")]
    async fn leave_book(&self, ctx: &Context<'_>, book_id: ID) -> async_graphql::Result<bool> {
        members::leave_book(state(ctx)?, &actor(ctx)?, parse_id(&book_id, "bookId")?).await?;
        forget_memberships(loaders(ctx)?);
        Ok(true)
    }

    /// Makes another member the OWNER (OWNER only); the caller becomes an ADMIN.
    #[graphql(guard = "BookRoleGuard::arg(Role::Owner, \"bookId\", &book_id)")]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<Book> {
        let (db, actor) = (&state(ctx)?.db, actor(ctx)?);
        let book_id = parse_id(&book_id, "bookId")?;
        members::transfer_ownership(state(ctx)?, &actor, book_id, parse_id(&user_id, "userId")?)
            .await?;
        forget_memberships(loaders(ctx)?);
        let access = books::get_book(db, &actor, book_id).await?;
        Book::wrap(ctx, access).await
    }
}
