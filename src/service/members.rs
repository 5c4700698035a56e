//! Who is in a book and with which role: changing roles, removing and leaving, transferring
//! ownership, admitting new members, and guest seats.
//!
//! A membership is a **seat**: money (payers, shares, balances) refers to it. A seat belongs to
//! a user, or is a guest's (a name, no account) until someone claims it through an invite made
//! for it ([`claim_seat`]), taking over its whole history and balance. Leaving or removal only
//! marks the seat removed: the entries that name it stay true.
//!
//! Invariants kept here:
//! - **exactly one OWNER** per book, always: nobody can grant OWNER with `changeRole` (only
//!   [`transfer_ownership`] moves it, demoting the old owner before promoting the new one in one
//!   transaction, so the partial unique index `uq_memberships_one_owner` never sees two), and the
//!   owner can neither leave, be removed, nor be demoted;
//! - a member manages only roles strictly below their own ([`access::outranks`]): ADMINs touch
//!   WRITERs and READERs, only the OWNER touches ADMINs;
//! - a book never holds more live seats (guests included) than its `member_limit`: [`admit`]
//!   and [`add_guest`] are the ways in after creation and count with the book row locked;
//! - a guest's name is encrypted like every person's name, and unique among the book's live
//!   guests (`uq_memberships_guest_name`, on a keyed hash of the case-folded name);
//! - a member whose net balance is not zero cannot leave or be removed, so nobody's debts vanish
//!   from the book's settle-up.
//!
//! Every change is recorded in the activity log in the same transaction.

use std::collections::HashMap;

use entity::{book, enums::Role, member_balance, membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::pii::aad,
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
    text::Name,
};

/// Longest guest name, in characters.
pub const MAX_GUEST_NAME_CHARS: usize = 50;
/// What a guest name's ciphertext is bound to (see [`aad`]).
const GUEST_NAME_COLUMN: &str = "memberships.guest_name";

/// A seat named by the client: a user's live seat, or a seat by its own id (a guest's, or any).
#[derive(Debug, Clone, Copy)]
pub enum SeatRef {
    User(Uuid),
    Member(Uuid),
}

/// The live members of each of `book_ids`, in the order they joined. For per-request loaders:
/// the caller must already have authorized the reader for every one of these books.
pub async fn rosters(
    db: &impl ConnectionTrait,
    book_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<membership::Model>>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::BookId.is_in(book_ids.iter().copied()))
        .filter(membership::Column::RemovedAt.is_null())
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

/// Seats by id, live or removed (an old entry may name a seat that has since left). For
/// per-request loaders reached from objects the caller may already see.
pub async fn seats(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, membership::Model>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// The live memberships among `pairs` of (book, user) that exist, in one statement.
pub async fn memberships(
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> AppResult<HashMap<(Uuid, Uuid), membership::Model>> {
    // `book IN (…) AND user IN (…)` may also match other pairs of the two sets; they are simply
    // not asked for. In practice a request asks about one user (the caller).
    let rows = membership::Entity::find()
        .filter(membership::Column::BookId.is_in(pairs.iter().map(|(book, _)| *book)))
        .filter(membership::Column::UserId.is_in(pairs.iter().map(|(_, user)| *user)))
        .filter(membership::Column::RemovedAt.is_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some(((row.book_id, row.user_id?), row)))
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
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    if role == Role::Owner {
        return Err(AppError::bad_input(
            "role",
            "ownership moves only with transferOwnership",
        ));
    }
    let target = find_member(txn, book_id, SeatRef::User(user_id)).await?;
    guard_owner(&access, &target, "take another role")?;
    if !access::outranks(access.role(), target.role) || !access::outranks(access.role(), role) {
        return Err(AppError::Forbidden);
    }
    if target.role == role {
        work.commit(state).await?;
        return Ok(target);
    }
    set_role(txn, &target, role).await?;
    let changed = membership::Model {
        role,
        ..target.clone()
    };
    record(txn, &access, Action::MemberRoleChanged, &target, Some(role)).await?;
    work.balances_changed(book_id);
    work.commit(state).await?;
    Ok(changed)
}

/// Removes a member or guest from the book (ADMIN and up, on members below the actor's own
/// role). Their balance must be settled.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    seat: SeatRef,
) -> AppResult<()> {
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    let target = find_member(txn, book_id, seat).await?;
    if target.id == access.member_id() {
        return Err(AppError::bad_input(
            "userId",
            "use leaveBook to leave a book",
        ));
    }
    guard_owner(&access, &target, "be removed")?;
    if !access::outranks(access.role(), target.role) {
        return Err(AppError::Forbidden);
    }
    remove_seat(txn, &target).await?;
    record(txn, &access, Action::MemberRemoved, &target, None).await?;
    work.balances_changed(book_id);
    work.commit(state).await
}

/// The actor leaves the book. The owner must transfer ownership first.
pub async fn leave_book(state: &AppState, actor: &Actor, book_id: Uuid) -> AppResult<()> {
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Reader).await?;
    let me = find_member(txn, book_id, SeatRef::Member(access.member_id())).await?;
    guard_owner(&access, &me, "leave")?;
    remove_seat(txn, &me).await?;
    record(txn, &access, Action::MemberLeft, &me, None).await?;
    work.balances_changed(book_id);
    work.commit(state).await
}

/// Makes `user_id` (already a member) the owner; the old owner becomes an ADMIN (OWNER only).
pub async fn transfer_ownership(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Owner).await?;
    if user_id == actor.user_id {
        return Err(AppError::bad_input("userId", "you already own this book"));
    }
    let new_owner = find_member(txn, book_id, SeatRef::User(user_id)).await?;
    let old_owner = find_member(txn, book_id, SeatRef::Member(access.member_id())).await?;
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
    work.balances_changed(book_id);
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
    ensure_not_member(txn, book, user_id).await?;
    ensure_room(txn, book).await?;
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
    seat: SeatRef,
) -> AppResult<membership::Model> {
    let query = match seat {
        SeatRef::User(user_id) => access::membership_of(book_id, user_id),
        SeatRef::Member(member_id) => membership::Entity::find()
            .filter(membership::Column::Id.eq(member_id))
            .filter(membership::Column::BookId.eq(book_id))
            .filter(membership::Column::RemovedAt.is_null()),
    };
    query
        .one(db)
        .await?
        .ok_or(AppError::NotFound { entity: "member" })
}

/// CONFLICT when `user_id` already holds a live seat in the locked book.
async fn ensure_not_member(
    txn: &DatabaseTransaction,
    book: &LockedBook,
    user_id: Uuid,
) -> AppResult<()> {
    match access::membership_of(book.id, user_id).one(txn).await? {
        Some(_) => Err(AppError::conflict("you are already a member of this book")),
        None => Ok(()),
    }
}

/// CONFLICT when the locked book has no free seat. The count is exact: every way in holds the
/// book row's lock.
async fn ensure_room(txn: &DatabaseTransaction, book: &LockedBook) -> AppResult<()> {
    let members = member_count(txn, book.id).await?;
    if members >= u64::try_from(book.member_limit).unwrap_or(0) {
        return Err(AppError::conflict("this book is full"));
    }
    Ok(())
}

/// Adds a guest seat named `name` to a SPLIT book (ADMIN and up). The name is 1 to 50
/// characters on one line, unique among the book's live guests (case-insensitively).
pub async fn add_guest(
    state: &AppState,
    actor: &Actor,
    book_id: Uuid,
    name: &str,
) -> AppResult<membership::Model> {
    let name = Name::parse("name", name, MAX_GUEST_NAME_CHARS)?;
    let mut work = UnitOfWork::begin(state).await?;
    let txn = work.txn();
    let access = access::require_write(txn, actor, book_id, Role::Admin).await?;
    if access.book().kind == entity::enums::BookKind::Personal {
        return Err(AppError::bad_input(
            "bookId",
            "a personal book has no other members",
        ));
    }
    let book = access::lock_book(txn, book_id).await?;
    ensure_room(txn, &book).await?;
    let id = Uuid::now_v7();
    let sealed = state
        .keys
        .pii
        .encrypt(name.as_str(), &aad(GUEST_NAME_COLUMN, id))?;
    let at = now();
    let guest = membership::ActiveModel {
        id: Set(id),
        book_id: Set(book_id),
        user_id: Set(None),
        role: Set(Role::Reader),
        guest_name_ciphertext: Set(Some(sealed.ciphertext)),
        guest_name_key_id: Set(Some(
            i16::try_from(sealed.key_id).map_err(AppError::internal)?,
        )),
        guest_name_index: Set(Some(guest_name_index(state, book_id, &name).to_vec())),
        joined_at: Set(at),
        updated_at: Set(at),
        removed_at: Set(None),
    }
    .insert(txn)
    .await
    .map_err(|error| {
        AppError::unique_violation_or(error, "uq_memberships_guest_name", || {
            AppError::conflict("this book already has a guest with that name")
        })
    })?;
    activity::record(
        txn,
        Event {
            book_id,
            actor_id: actor.user_id,
            action: Action::GuestAdded,
            subject_id: guest.id,
            before: None,
            after: Some(json!({ "role": guest.role, "guest": true })),
        },
    )
    .await?;
    work.balances_changed(book_id);
    work.commit(state).await?;
    Ok(guest)
}

/// The keyed hash that keeps guest names unique per book without storing them in clear: the
/// book id is part of the hashed value, so one name hashes differently in every book.
fn guest_name_index(state: &AppState, book_id: Uuid, name: &Name) -> [u8; 32] {
    let folded = name.as_str().to_lowercase();
    state
        .keys
        .pii
        .subject_hash("guest_name", &format!("{book_id}\u{0}{folded}"))
}

/// A seat's display name: a guest's decrypted name; `None` for a user's seat (whose name is
/// the user's).
pub fn guest_name(state: &AppState, seat: &membership::Model) -> AppResult<Option<String>> {
    let (Some(ciphertext), Some(key_id)) = (&seat.guest_name_ciphertext, seat.guest_name_key_id)
    else {
        return Ok(None);
    };
    let key_id = u16::try_from(key_id).map_err(AppError::internal)?;
    Ok(Some(state.keys.pii.decrypt(
        key_id,
        ciphertext,
        &aad(GUEST_NAME_COLUMN, seat.id),
    )?))
}

/// Gives the live guest seat `member_id` of the locked book to `user_id` with `role`: the user
/// takes over its history and balance. CONFLICT when the user already holds a seat there;
/// NOT_FOUND (as for any dead invite) when the seat was claimed or removed meanwhile, decided
/// by one conditional UPDATE so two claimers cannot both win.
pub async fn claim_seat(
    txn: &DatabaseTransaction,
    book: &LockedBook,
    member_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> AppResult<membership::Model> {
    if book.archived_at.is_some() {
        return Err(access::archived());
    }
    ensure_not_member(txn, book, user_id).await?;
    let at = now();
    let claimed = membership::Entity::update_many()
        .col_expr(membership::Column::UserId, Expr::value(user_id))
        .col_expr(membership::Column::Role, Expr::value(role))
        .col_expr(
            membership::Column::GuestNameCiphertext,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(
            membership::Column::GuestNameKeyId,
            Expr::value(Option::<i16>::None),
        )
        .col_expr(
            membership::Column::GuestNameIndex,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(membership::Column::UpdatedAt, Expr::value(at))
        .filter(membership::Column::Id.eq(member_id))
        .filter(membership::Column::BookId.eq(book.id))
        .filter(membership::Column::UserId.is_null())
        .filter(membership::Column::RemovedAt.is_null())
        .exec(txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::NotFound { entity: "invite" });
    }
    activity::record(
        txn,
        Event {
            book_id: book.id,
            actor_id: user_id,
            action: Action::GuestClaimed,
            subject_id: member_id,
            before: Some(json!({ "guest": true })),
            after: Some(json!({ "role": role, "userId": user_id })),
        },
    )
    .await?;
    membership::Entity::find_by_id(member_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("claimed seat {member_id} vanished")))
}

/// Refuses to let the owner `what` (leave, be removed, take another role): the book would be
/// left without one. The owner asking about themself is told to transfer first (CONFLICT);
/// anyone else asking about the owner is FORBIDDEN.
fn guard_owner(access: &WriteAccess, target: &membership::Model, what: &str) -> AppResult<()> {
    if target.role != Role::Owner {
        return Ok(());
    }
    if target.user_id == Some(access.actor().user_id) {
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

/// Marks a seat removed if its balance is settled. The row stays: entries name it, and its
/// (zero) balance row with it.
async fn remove_seat(txn: &DatabaseTransaction, member: &membership::Model) -> AppResult<()> {
    let unsettled = member_balance::Entity::find_by_id(member.id)
        .filter(member_balance::Column::NetE4.ne(0))
        .one(txn)
        .await?;
    if unsettled.is_some() {
        return Err(AppError::conflict(
            "this member's balance is not settled; settle up first",
        ));
    }
    let at = now();
    membership::Entity::update_many()
        .col_expr(membership::Column::RemovedAt, Expr::value(at))
        .col_expr(membership::Column::UpdatedAt, Expr::value(at))
        .filter(membership::Column::Id.eq(member.id))
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
            subject_id: target.user_id.unwrap_or(target.id),
            before: Some(json!({ "role": target.role })),
            after: after.map(|role| json!({ "role": role })),
        },
    )
    .await
}
