//! Who is in a book and with which role: changing roles, removing and leaving, transferring
//! ownership, and admitting new members.
//!
//! Invariants kept here:
//! - **exactly one OWNER** per book, always: nobody can grant OWNER with `changeRole` (only
//!   [`transfer_ownership`] moves it, demoting the old owner before promoting the new one in one
//!   transaction, so the partial unique index `uq_memberships_one_owner` never sees two), and the
//!   owner can neither leave, be removed, nor be demoted;
//! - a member manages only roles strictly below their own ([`access::outranks`]): ADMINs touch
//!   WRITERs and READERs, only the OWNER touches ADMINs;
//! - a book never holds more members than its `member_limit`: [`admit`] is the one way in after
//!   creation and counts with the book row locked;
//! - a member whose net balance is not zero cannot leave or be removed, so nobody's debts vanish
//!   from the book's settle-up.
//!
//! Every change is recorded in the activity log in the same transaction.

use std::collections::HashMap;

use entity::{book, enums::Role, member_balance, membership};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    service::unit_of_work::UnitOfWork,
    service::{
        Actor,
        access::{self, LockedBook, WriteAccess},
        activity::{self, Action, Event},
        books::{self, member_count},
        now,
    },
    state::AppState,
};

/// The members of each of `book_ids`, in the order they joined. For per-request loaders: the
/// caller must already have authorized the reader for every one of these books.
pub async fn rosters(
    db: &impl ConnectionTrait,
    book_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<membership::Model>>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::BookId.is_in(book_ids.iter().copied()))
        .order_by_asc(membership::Column::JoinedAt)
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let mut by_book: HashMap<Uuid, Vec<membership::Model>> = HashMap::new();
    for row in rows {
        by_book.entry(row.book_id).or_default().push(row);
    }
    Ok(by_book)
}

/// The memberships among `pairs` of (book, user) that exist, in one statement.
pub async fn memberships(
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> AppResult<HashMap<(Uuid, Uuid), membership::Model>> {
    // `book IN (…) AND user IN (…)` may also match other pairs of the two sets; they are simply
    // not asked for. In practice a request asks about one user (the caller).
    let rows = membership::Entity::find()
        .filter(membership::Column::BookId.is_in(pairs.iter().map(|(book, _)| *book)))
        .filter(membership::Column::UserId.is_in(pairs.iter().map(|(_, user)| *user)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.book_id, row.user_id), row))
        .collect())
}

/// Gives `user_id` the role `role` (ADMIN and up; only roles below the actor's own, on members
/// below the actor's own).
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> AppResult<membership::Model> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    if role == Role::Owner {
        return Err(AppError::bad_input(
            "role",
            "ownership moves only with transferOwnership",
        ));
    }
    let target = find_member(txn, book_id, user_id).await?;
    guard_owner(&access, &target, "take another role")?;
    if !access::outranks(access.role(), target.role) || !access::outranks(access.role(), role) {
        return Err(AppError::Forbidden);
    }
    if target.role == role {
        return Ok(target);
    }
    set_role(txn, &target, role).await?;
    let changed = membership::Model {
        role,
        ..target.clone()
    };
    record(txn, &access, Action::MemberRoleChanged, &target, Some(role)).await?;
    work.commit(state).await?;
    Ok(changed)
}

/// Removes `user_id` from the book (ADMIN and up, on members below the actor's own role).
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    if user_id == actor.user_id {
        return Err(AppError::bad_input(
            "userId",
            "use leaveBook to leave a book",
        ));
    }
    let target = find_member(txn, book_id, user_id).await?;
    guard_owner(&access, &target, "be removed")?;
    if !access::outranks(access.role(), target.role) {
        return Err(AppError::Forbidden);
    }
    delete_member(txn, &target).await?;
    record(txn, &access, Action::MemberRemoved, &target, None).await?;
    work.commit(state).await
}

/// The actor leaves the book. The owner must transfer ownership first.
pub async fn leave_book(state: &AppState, actor: &Actor, book_id: Uuid) -> AppResult<()> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Reader).await?;
    let me = find_member(txn, book_id, actor.user_id).await?;
    guard_owner(&access, &me, "leave")?;
    delete_member(txn, &me).await?;
    record(txn, &access, Action::MemberLeft, &me, None).await?;
    work.commit(state).await
}

/// Makes `user_id` (already a member) the owner; the old owner becomes an ADMIN (OWNER only).
pub async fn transfer_ownership(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    let work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Owner).await?;
    if user_id == actor.user_id {
        return Err(AppError::bad_input("userId", "you already own this book"));
    }
    let new_owner = find_member(txn, book_id, user_id).await?;
    let old_owner = find_member(txn, book_id, actor.user_id).await?;
    // Demote first: the one-owner index is checked statement by statement, never deferred.
    set_role(txn, &old_owner, Role::Admin).await?;
    set_role(txn, &new_owner, Role::Owner).await?;
    book::Entity::update_many()
        .col_expr(book::Column::OwnerId, Expr::value(user_id))
        .col_expr(book::Column::UpdatedAt, Expr::value(now()))
        .filter(book::Column::Id.eq(book_id))
        .exec(txn)
        .await?;
    record(
        txn,
        &access,
        Action::OwnershipTransferred,
        &new_owner,
        Some(Role::Owner),
    )
    .await?;
    record(
        txn,
        &access,
        Action::MemberRoleChanged,
        &old_owner,
        Some(Role::Admin),
    )
    .await?;
    work.commit(state).await
}

/// Adds `user_id` to a book locked by the caller's transaction with `role`: CONFLICT when they
/// are already in it, or it is full or archived. The one way into an existing book.
pub async fn admit(
    txn: &DatabaseTransaction,
    book: &LockedBook,
    user_id: Uuid,
    role: Role,
) -> AppResult<membership::Model> {
    if book.archived_at.is_some() {
        return Err(access::archived());
    }
    let already = access::membership_of(book.id, user_id).one(txn).await?;
    if already.is_some() {
        return Err(AppError::conflict("you are already a member of this book"));
    }
    let members = member_count(txn, book.id).await?;
    if members >= u64::try_from(book.member_limit).unwrap_or(0) {
        return Err(AppError::conflict("this book is full"));
    }
    let member = books::add_member(txn, book.id, user_id, role).await?;
    activity::record(
        txn,
        Event {
            book_id: book.id,
            actor_id: user_id,
            action: Action::MemberJoined,
            subject_id: user_id,
            before: None,
            after: Some(json!({ "role": role })),
        },
    )
    .await?;
    Ok(member)
}

async fn find_member(
    db: &impl ConnectionTrait,
    book_id: Uuid,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    access::membership_of(book_id, user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound { entity: "member" })
}

/// Refuses to let the owner `what` (leave, be removed, take another role): the book would be
/// left without one. The owner asking about themself is told to transfer first (CONFLICT);
/// anyone else asking about the owner is FORBIDDEN.
fn guard_owner(access: &WriteAccess, target: &membership::Model, what: &str) -> AppResult<()> {
    if target.role != Role::Owner {
        return Ok(());
    }
    if target.user_id == access.actor().user_id {
        Err(AppError::conflict(format!(
            "the owner must transfer ownership before they can {what}"
        )))
    } else {
        Err(AppError::Forbidden)
    }
}

/// Updates a member's role, guarded on the role read: with the book row locked nothing else
/// can have changed it, so anything but one row updated is a bug, not a race to report.
async fn set_role(
    txn: &DatabaseTransaction,
    member: &membership::Model,
    role: Role,
) -> AppResult<()> {
    let updated = membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value(role))
        .col_expr(membership::Column::UpdatedAt, Expr::value(now()))
        .filter(membership::Column::Id.eq(member.id))
        .filter(membership::Column::Role.eq(member.role))
        .exec(txn)
        .await?;
    if updated.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::internal(anyhow::anyhow!(
            "membership {} changed under the book lock",
            member.id
        )))
    }
}

/// Deletes a membership whose balance is settled; its balance row stays for the ledger.
async fn delete_member(txn: &DatabaseTransaction, member: &membership::Model) -> AppResult<()> {
    let unsettled = member_balance::Entity::find()
        .filter(member_balance::Column::BookId.eq(member.book_id))
        .filter(member_balance::Column::UserId.eq(member.user_id))
        .filter(member_balance::Column::NetE4.ne(0))
        .one(txn)
        .await?;
    if unsettled.is_some() {
        return Err(AppError::conflict(
            "this member's balance is not settled; settle up first",
        ));
    }
    membership::Entity::delete_by_id(member.id)
        .exec(txn)
        .await?;
    Ok(())
}

/// Records a membership event about `target`, whose role becomes `after` (`None`: gone).
async fn record(
    txn: &DatabaseTransaction,
    access: &WriteAccess,
    action: Action,
    target: &membership::Model,
    after: Option<Role>,
) -> AppResult<()> {
    activity::record(
        txn,
        Event {
            book_id: access.book_id(),
            actor_id: access.actor().user_id,
            action,
            subject_id: target.user_id,
            before: Some(json!({ "role": target.role })),
            after: after.map(|role| json!({ "role": role })),
        },
    )
    .await
}
