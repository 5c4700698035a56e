//! Invites: the ways into a book. An invite carries a role, an expiry and optionally a number of
//! uses, and can be redeemed by its 8-character code (typed by hand) or by its link token (sent
//! as a link).
//!
//! - The code is stored in clear (`uq_invites_code`): admins list live invites with their codes
//!   to share them again, and a code is worth little alone, being short-lived. The link token is
//!   256 random bits, shown once and stored only as its SHA-256 (`token_hash`).
//! - An invite never grants OWNER (also `ck_invites_role`), and its creator can only hand out
//!   roles strictly below their own, as with `changeRole`: ADMINs invite WRITERs and READERs,
//!   only the OWNER invites ADMINs.
//! - The same rule decides who sees a code ([`InviteView`]): a code *is* the role it grants, so
//!   an ADMIN who could read the OWNER's ADMIN invite codes could make anyone an ADMIN.
//! - Redeeming an invite that is expired, revoked, used up or unknown answers the same
//!   NOT_FOUND ("invite not found"): a guesser learns nothing about codes that once existed.
//!   Joining a book you are in, or one that is full or archived, is a CONFLICT.
//! - An invite may be made for a guest seat (`forMemberId`): it is good for one use, and its
//!   redeemer takes over that seat with its history and balance (and the mirrors of its live
//!   entries) instead of a new one. The seat is handed over by one conditional UPDATE, so two
//!   redeemers cannot both get it.
//! - The use count is incremented by one conditional UPDATE that re-checks every limit, and the
//!   join runs with the book row locked, so concurrent redemptions can neither exceed
//!   `max_uses` nor overfill the book.

use entity::{enums::Role, invite, membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    auth::secret_token::{InviteCode, OpaqueToken},
    error::{AppError, AppResult},
    service::unit_of_work::UnitOfWork,
    service::{
        Actor,
        access::{self, BookAccess},
        entries, members, now,
        throttle::{self, Subject},
    },
    state::AppState,
};

/// How long an invite stays open unless asked otherwise: three days.
pub const DEFAULT_EXPIRES_IN_HOURS: i32 = 72;
/// The longest an invite may stay open: a month.
pub const MAX_EXPIRES_IN_HOURS: i32 = 24 * 30;

/// `createInvite` as asked for.
pub struct InviteInput {
    pub role: Role,
    pub expires_in_hours: i32,
    /// `None`: any number of uses until it expires.
    pub max_uses: Option<i32>,
    /// The guest seat the invite hands over, if any.
    pub for_member: Option<Uuid>,
}

/// A new invite, its code and its link token, which exists only here: the database keeps its
/// hash.
pub struct CreatedInvite {
    pub invite: InviteView,
    pub code: InviteCode,
    pub link_token: OpaqueToken,
}

/// An invite as one member sees it. Its code redeems it, so the code is there only for a member
/// who outranks the role it grants, that is who may create and revoke it ([`access::outranks`]:
/// the OWNER for ADMIN invites, ADMINs and up for the rest). Private fields and one
/// constructor: no view can be made without that check.
pub struct InviteView {
    /// The row with its `code` emptied, so the code cannot leak through it by mistake.
    invite: invite::Model,
    code: Option<String>,
}

impl InviteView {
    fn for_viewer(viewer: Role, mut invite: invite::Model) -> Self {
        let code = std::mem::take(&mut invite.code);
        let code = access::outranks(viewer, invite.role).then_some(code);
        Self { invite, code }
    }

    /// The invite, without its code.
    pub fn invite(&self) -> &invite::Model {
        &self.invite
    }

    /// The code, if this viewer may see it.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// Creates an invite to `book_id` (ADMIN and up).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    input: InviteInput,
) -> AppResult<CreatedInvite> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    if input.role == Role::Owner {
        return Err(AppError::bad_input(
            "role",
            "an invite never grants ownership; use transferOwnership",
        ));
    }
    if !access::outranks(access.role(), input.role) {
        return Err(AppError::Forbidden);
    }
    if !(1..=MAX_EXPIRES_IN_HOURS).contains(&input.expires_in_hours) {
        return Err(AppError::bad_input(
            "expiresInHours",
            format!("must be between 1 and {MAX_EXPIRES_IN_HOURS}"),
        ));
    }
    if input.max_uses.is_some_and(|uses| uses < 1) {
        return Err(AppError::bad_input("maxUses", "must be at least 1"));
    }
    let max_uses = match input.for_member {
        Some(seat) => {
            ensure_guest_seat(txn, book_id, seat).await?;
            if input.max_uses.is_some_and(|uses| uses != 1) {
                return Err(AppError::bad_input(
                    "maxUses",
                    "an invite for a guest's seat is good for one use",
                ));
            }
            Some(1)
        }
        None => input.max_uses,
    };
    let code = InviteCode::generate();
    let link_token = OpaqueToken::generate();
    let at = now();
    let invite = invite::ActiveModel {
        id: Set(Uuid::now_v7()),
        book_id: Set(book_id),
        code: Set(code.expose_secret().to_owned()),
        token_hash: Set(link_token.hash().to_vec()),
        role: Set(input.role),
        created_by: Set(actor.user_id),
        expires_at: Set(at + chrono::Duration::hours(i64::from(input.expires_in_hours))),
        max_uses: Set(max_uses),
        use_count: Set(0),
        revoked_at: Set(None),
        member_id: Set(input.for_member),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(txn)
    .await
    // Two live codes colliding is a one-in-billions event; the admin can simply try again.
    .map_err(|error| {
        AppError::unique_violation_or(error, "uq_invites_code", || {
            AppError::conflict("could not allocate an invite code; try again")
        })
    })?;
    work.commit(state).await?;
    Ok(CreatedInvite {
        invite: InviteView::for_viewer(access.role(), invite),
        code,
        link_token,
    })
}

/// NOT_FOUND unless `seat` is a live guest seat of `book_id`.
async fn ensure_guest_seat(txn: &impl ConnectionTrait, book_id: Uuid, seat: Uuid) -> AppResult<()> {
    let guest = membership::Entity::find_by_id(seat)
        .filter(membership::Column::BookId.eq(book_id))
        .filter(membership::Column::UserId.is_null())
        .filter(membership::Column::RemovedAt.is_null())
        .one(txn)
        .await?;
    match guest {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound { entity: "guest" }),
    }
}

/// The book's invites that can still be redeemed, newest first (ADMIN and up), each with its
/// code only where the caller may see it ([`InviteView`]).
pub async fn live(db: &impl ConnectionTrait, access: &BookAccess) -> AppResult<Vec<InviteView>> {
    access::check_role(Some(access.role()), Role::Admin)?;
    let rows = invite::Entity::find()
        .filter(invite::Column::BookId.eq(access.book_id()))
        .filter(redeemable(now()))
        .order_by_desc(invite::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| InviteView::for_viewer(access.role(), row))
        .collect())
}

/// Revokes an invite (ADMIN and up, for invites granting roles below their own). Revoking a
/// revoked invite changes nothing.
pub async fn revoke(state: &AppState, actor: &Actor, invite_id: Uuid) -> AppResult<InviteView> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let invite = invite::Entity::find_by_id(invite_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound { entity: "invite" })?;
    let access = access::require_write(txn, actor, invite.book_id, Role::Admin)
        .await
        .map_err(access::hidden_as("invite"))?;
    if !access::outranks(access.role(), invite.role) {
        return Err(AppError::Forbidden);
    }
    if invite.revoked_at.is_some() {
        work.commit(state).await?;
        return Ok(InviteView::for_viewer(access.role(), invite));
    }
    let at = now();
    let mut active: invite::ActiveModel = invite.into();
    active.revoked_at = Set(Some(at));
    active.updated_at = Set(at);
    let invite = active.update(txn).await?;
    work.commit(state).await?;
    Ok(InviteView::for_viewer(access.role(), invite))
}

/// What the joiner presents.
pub enum Redeem<'a> {
    /// The 8-character code, as typed (case, spaces and dashes are forgiven).
    Code(&'a str),
    /// The token from an invite link.
    LinkToken(&'a str),
}

/// Adds the actor to the invite's book with the invite's role, and uses the invite up once.
/// Returns the id of the book joined.
///
/// Codes are short (about 40 bits), so attempts are throttled per user: guessing codes is a
/// login-style attack on every live invite at once. The attempt is taken before the code is
/// looked up (a concurrent burst is evaluated at most as often as the limit allows) and given
/// back when the code worked.
pub async fn join(state: &AppState, actor: &Actor, redeem: Redeem<'_>) -> AppResult<Uuid> {
    actor.ensure_may_write()?;
    let guesses = [Subject::invite_guesses(&state.keys.pii, actor.user_id)];
    let attempts = throttle::attempt(state, &guesses, now()).await?;
    let joined = redeem_invite(state, actor, redeem).await;
    if !matches!(joined, Err(AppError::NotFound { .. })) {
        throttle::refund(state, attempts).await?;
    }
    joined
}

async fn redeem_invite(state: &AppState, actor: &Actor, redeem: Redeem<'_>) -> AppResult<Uuid> {
    let lookup = match redeem {
        Redeem::Code(code) => {
            let code = InviteCode::parse(code).map_err(|_| invite_not_found())?;
            invite::Column::Code.eq(code.expose_secret())
        }
        Redeem::LinkToken(token) => {
            let token = OpaqueToken::parse(token).map_err(|_| invite_not_found())?;
            invite::Column::TokenHash.eq(token.hash().to_vec())
        }
    };
    let at = now();
    let mut work = UnitOfWork::begin(state).await?;
    let invite = invite::Entity::find()
        .filter(lookup)
        .filter(redeemable(at))
        .one(work.txn())
        .await?
        .ok_or_else(invite_not_found)?;
    let book = access::lock_book(work.txn(), invite.book_id).await?;
    match invite.member_id {
        Some(seat) => {
            members::claim_seat(work.txn(), &book, seat, actor.user_id, invite.role).await?;
            let mirrored = entries::mirror_claimed_seat(&mut work, book.id, seat).await?;
            entries::publish(&mut work, mirrored);
        }
        None => {
            members::admit(work.txn(), &book, actor.user_id, invite.role).await?;
        }
    }
    let txn = work.txn();
    // Re-checks every limit in the UPDATE itself: two joiners racing for the last use cannot
    // both pass (and `ck_invites_use_count` would refuse the second anyway).
    let consumed = invite::Entity::update_many()
        .col_expr(
            invite::Column::UseCount,
            Expr::col(invite::Column::UseCount).add(1),
        )
        .col_expr(invite::Column::UpdatedAt, Expr::value(at))
        .filter(invite::Column::Id.eq(invite.id))
        .filter(redeemable(at))
        .exec(txn)
        .await?;
    if consumed.rows_affected != 1 {
        return Err(invite_not_found());
    }
    work.balances_changed(book.id);
    work.commit(state).await?;
    Ok(book.id)
}

/// Not revoked, not expired at `at`, not used up.
fn redeemable(at: chrono::DateTime<chrono::Utc>) -> Condition {
    Condition::all()
        .add(invite::Column::RevokedAt.is_null())
        .add(invite::Column::ExpiresAt.gt(at))
        .add(
            Condition::any()
                .add(invite::Column::MaxUses.is_null())
                .add(Expr::col(invite::Column::UseCount).lt(Expr::col(invite::Column::MaxUses))),
        )
}

fn invite_not_found() -> AppError {
    AppError::NotFound { entity: "invite" }
}
