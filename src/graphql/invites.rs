//! Invites in the API: `createInvite`, `revokeInvite`, `joinBook`, and the `Invite` type listed
//! by `Book.invites`. An expired, revoked, used-up or unknown invite is one answer: NOT_FOUND
//! (see [`crate::service::invites`]).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::Role;

use crate::{
    error::AppError,
    graphql::{
        accounts::{User, parse_id},
        books::Book,
        context::{actor, state},
        guards::BookRoleGuard,
        loaders::{forget_memberships, loaders, user},
        members::MemberRole,
    },
    service::{
        books,
        invites::{self, DEFAULT_EXPIRES_IN_HOURS, InviteInput, InviteView, Redeem},
    },
};

/// A way into a book, for as long as it is live, as the caller may see it.
pub struct Invite(InviteView);

impl Invite {
    pub fn new(view: InviteView) -> Self {
        Self(view)
    }
}

#[Object]
impl Invite {
    async fn id(&self) -> ID {
        ID(self.0.invite().id.to_string())
    }

    /// The 8-character code to type into `joinBook`. Null unless the caller outranks `role`,
    /// the rule for creating and revoking the invite too: an ADMIN sees the codes of WRITER and
    /// READER invites, only the OWNER those of ADMIN invites, since whoever holds such a code
    /// can become an ADMIN. The invite itself is still listed, so an ADMIN knows it is out.
    async fn code(&self) -> Option<&str> {
        self.0.code()
    }

    /// The role a joiner gets.
    async fn role(&self) -> MemberRole {
        self.0.invite().role.into()
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.invite().expires_at
    }

    /// How many people may join with it; null for no limit.
    async fn max_uses(&self) -> Option<i32> {
        self.0.invite().max_uses
    }

    /// How many people joined with it.
    async fn use_count(&self) -> i32 {
        self.0.invite().use_count
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.invite().revoked_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.invite().created_at
    }

    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.0.invite().created_by).await
    }
}

/// A new invite. `linkToken` is shown this once: only its hash is kept.
#[derive(SimpleObject)]
pub struct CreatedInvite {
    invite: Invite,
    /// The code to type into `joinBook(code:)`.
    code: String,
    /// The secret for an invite link, redeemed with `joinBook(linkToken:)`.
    link_token: String,
}

#[derive(Default)]
pub struct InviteMutation;

#[Object]
impl InviteMutation {
    /// Creates an invite (ADMIN and up) granting a role below the caller's own; never OWNER.
    #[graphql(guard = "BookRoleGuard::arg(Role::Admin, \"bookId\", &book_id)")]
    async fn create_invite(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        #[graphql(default_with = "Some(MemberRole::Writer)")] role: Option<MemberRole>,
        #[graphql(
            default_with = "Some(DEFAULT_EXPIRES_IN_HOURS)",
            desc = "1 to 720 hours."
        )]
        expires_in_hours: Option<i32>,
        #[graphql(desc = "How many people may join with it; no limit when not given.")]
        max_uses: Option<i32>,
        #[graphql(
            desc = "A guest's seat (`Member.id`) to hand over: whoever redeems the \
                          invite takes that seat, with its history and balance. Good for \
                          one use."
        )]
        for_member_id: Option<ID>,
    ) -> async_graphql::Result<CreatedInvite> {
        // Explicit nulls (an unset variable) mean the defaults too.
        let input = InviteInput {
            role: role.unwrap_or(MemberRole::Writer).into(),
            expires_in_hours: expires_in_hours.unwrap_or(DEFAULT_EXPIRES_IN_HOURS),
            max_uses,
            for_member: for_member_id
                .map(|id| parse_id(&id, "forMemberId"))
                .transpose()?,
        };
        let created = invites::create(
            state(ctx)?,
            &actor(ctx)?,
            parse_id(&book_id, "bookId")?,
            input,
        )
        .await?;
        Ok(CreatedInvite {
            code: created.code.expose_secret().to_owned(),
            link_token: created.link_token.expose_secret().to_owned(),
            invite: Invite(created.invite),
        })
    }

    /// Revokes an invite (ADMIN and up, for invites granting a role below the caller's own).
    async fn revoke_invite(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Invite> {
        let revoked = invites::revoke(state(ctx)?, &actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(Invite(revoked))
    }

    /// Joins a book with an invite's `code` or the `linkToken` of its link (exactly one of
    /// them), taking the invite's role. NOT_FOUND for an invite that is unknown, expired,
    /// revoked or used up; CONFLICT when the caller is already a member or the book is full.
    async fn join_book(
        &self,
        ctx: &Context<'_>,
        code: Option<String>,
        link_token: Option<String>,
    ) -> async_graphql::Result<Book> {
        let redeem = match (&code, &link_token) {
            (Some(code), None) => Redeem::Code(code),
            (None, Some(token)) => Redeem::LinkToken(token),
            _ => {
                return Err(AppError::bad_input("code", "give either code or linkToken").into());
            }
        };
        let (state, actor) = (state(ctx)?, actor(ctx)?);
        let book_id = invites::join(state, &actor, redeem).await?;
        forget_memberships(loaders(ctx)?);
        Book::wrap(ctx, books::get_book(&state.db, &actor, book_id).await?).await
    }
}
