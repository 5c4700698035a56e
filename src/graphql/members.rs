//! Members in the API: the `Member` type and `changeRole`, `removeMember`, `leaveBook`,
//! `transferOwnership`. The rules (one OWNER, manage only below your own role, member limit)
//! live in [`crate::service::members`]; the guards here refuse early with the same verdicts.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::{enums::Role, membership};

use crate::{
    error::AppError,
    graphql::{
        accounts::{User, parse_id},
        books::Book,
        context::{actor, state},
        guards::BookRoleGuard,
        loaders::{forget_memberships, loaders, user},
    },
    service::{
        books,
        members::{self, SeatRef},
    },
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

/// A seat in a book: a user's, or a guest's (a name without an account, until someone claims
/// the seat through an invite made for it). Payers and shares name seats by `id`.
pub struct Member(membership::Model);

impl Member {
    pub fn new(row: membership::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Member {
    /// The seat's id: what entries' payers and splits name.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The member's account; null for a guest.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.user_id {
            Some(user_id) => user(ctx, user_id).await,
            None => Ok(None),
        }
    }

    /// Whether this is a guest's seat (no account; cannot act or sign in).
    async fn is_guest(&self) -> bool {
        self.0.user_id.is_none()
    }

    /// The name to show: the guest's, or the user's.
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        if let Some(name) = members::guest_name(state(ctx)?, &self.0)? {
            return Ok(name);
        }
        let shown = match self.0.user_id {
            Some(user_id) => user(ctx, user_id).await?,
            None => None,
        };
        Ok(shown
            .map(|user| user.display_name().to_owned())
            .unwrap_or_default())
    }

    /// A guest is always READER: it cannot act.
    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }

    /// Set once the member left or was removed (old entries still name the seat).
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
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

    /// Removes a member or a guest below the caller's role (ADMIN and up), named by `userId` or
    /// by the seat's `memberId` (a guest has only the latter). Their balance must be settled;
    /// the entries that name them stay.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        user_id: Option<ID>,
        member_id: Option<ID>,
    ) -> async_graphql::Result<bool> {
        let seat = match (user_id, member_id) {
            (Some(user_id), None) => SeatRef::User(parse_id(&user_id, "userId")?),
            (None, Some(member_id)) => SeatRef::Member(parse_id(&member_id, "memberId")?),
            _ => {
                return Err(
                    AppError::bad_input("memberId", "give either userId or memberId").into(),
                );
            }
        };
        members::remove_member(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            seat,
        )
        .await?;
        forget_memberships(loaders(ctx)?);
        Ok(true)
    }

    /// Adds a guest: a named seat without an account (ADMIN and up, SPLIT books). A guest can
    /// pay and share in entries; an invite made `forMemberId` hands the seat to a real user.
    /// The name is 1 to 50 characters, unique among the book's live guests.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn add_guest(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        name: String,
    ) -> async_graphql::Result<Member> {
        let guest = members::add_guest(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            &name,
        )
        .await?;
        forget_memberships(loaders(ctx)?);
        Ok(Member(guest))
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
