//! Who may do what in a book: the order of roles, and the proofs of access that book-scoped
//! service functions take as parameters.
//!
//! - [`require`] returns a [`BookAccess`]: the actor is a member of the book with at least the
//!   given role. Reads take it.
//! - [`require_write`] returns a [`WriteAccess`]: the same, checked inside the caller's
//!   transaction with the book row locked, for a credential that may write, on a book that is
//!   not archived. Writes take it.
//!
//! Both types have private fields and no constructor outside this module, so holding one *is*
//! the proof: a write function whose signature asks for `&WriteAccess` cannot be reached without
//! the check. The GraphQL guards answer with the same [`check_role`], so the schema and the
//! services can never disagree about a role.
//!
//! Existence is never leaked: an actor who is not a member gets NOT_FOUND, exactly as for a book
//! that does not exist; a member whose role is too low gets FORBIDDEN.
//!
//! Locking (PostgreSQL; SQLite has one writer anyway): every writer locks the book row before
//! reading anything else of the book, in one of two [`BookLock`] modes.
//! - `Exclusive` (`FOR UPDATE`): [`require_write`] and [`lock_book`] (joining), for every write
//!   that changes the book, its roster, or decides from its balances. Such writes to one book
//!   are serialized: a role change cannot interleave with a check of that role, and membership
//!   counts read after the lock are exact.
//! - `Appending` (`FOR KEY SHARE`): a new entry, which only adds to the book. It conflicts with
//!   `Exclusive`, so the roster, the book's settings and its archived state hold still until
//!   the entry commits, but not with itself: new entries in one book are written side by side
//!   and queue only at their end, on the balance rows and the book's `balance_version`
//!   (see [`balances`](crate::service::balances) for that order).
//!
//! Every writer takes its book locks first, the SPLIT book before the PERSONAL books its
//! mirrors go to, those in ascending id order; then balance rows in seat order; then the
//! version bumps in book order. Two writers therefore meet their common locks in one order and
//! queue instead of deadlocking, whatever their modes.

use entity::{book, enums::Role, membership};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::LockType,
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    service::Actor,
};

/// The power of a role: OWNER > ADMIN > WRITER > READER.
pub fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Writer => 1,
        Role::Reader => 0,
    }
}

/// Whether `role` grants at least what `min` grants.
pub fn at_least(role: Role, min: Role) -> bool {
    rank(role) >= rank(min)
}

/// Whether a member with `actor` may manage a member holding (or hand out) `target`.
///
/// One rule covers the whole role table: you manage only roles strictly below your own. So an
/// ADMIN manages WRITERs and READERs, only the OWNER manages ADMINs, and nobody can grant OWNER
/// (ownership moves only by transfer).
pub fn outranks(actor: Role, target: Role) -> bool {
    rank(actor) > rank(target)
}

/// The verdict for a caller whose role in a book is `role` (`None`: not a member) on an action
/// needing `min`: NOT_FOUND for non-members, FORBIDDEN below `min`.
pub fn check_role(role: Option<Role>, min: Role) -> AppResult<Role> {
    match role {
        None => Err(book_not_found()),
        Some(role) if at_least(role, min) => Ok(role),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// NOT_FOUND for a book, the answer for non-members too.
pub fn book_not_found() -> AppError {
    AppError::NotFound { entity: "book" }
}

/// Re-labels a "book not found" as `entity` not found, for objects reached by their own id (an
/// invite, a category): the caller must not learn that the object exists in someone else's book.
pub fn hidden_as(entity: &'static str) -> impl FnOnce(AppError) -> AppError {
    move |error| match error {
        AppError::NotFound { .. } => AppError::NotFound { entity },
        other => other,
    }
}

/// CONFLICT for any write to an archived book.
pub fn archived() -> AppError {
    AppError::conflict("this book is archived and read-only")
}

/// Proof that `actor` is a member of `book` with `role`, at least the role asked for.
#[derive(Debug, Clone)]
pub struct BookAccess {
    actor: Actor,
    book: book::Model,
    role: Role,
    member_id: Uuid,
}

impl BookAccess {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn book(&self) -> &book::Model {
        &self.book
    }

    pub fn book_id(&self) -> Uuid {
        self.book.id
    }

    /// The actor's own role in the book.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The actor's seat in the book (`memberships.id`): what payers and shares name.
    pub fn member_id(&self) -> Uuid {
        self.member_id
    }
}

/// Proof that `actor` may write to a live book with its role, obtained inside the transaction
/// that will do the writing, with the book row locked.
#[derive(Debug)]
pub struct WriteAccess(BookAccess);

impl std::ops::Deref for WriteAccess {
    type Target = BookAccess;

    fn deref(&self) -> &BookAccess {
        &self.0
    }
}

/// Checks that `actor` is a member of `book_id` with at least `min`.
pub async fn require(
    db: &impl ConnectionTrait,
    actor: &Actor,
    book_id: Uuid,
    min: Role,
) -> AppResult<BookAccess> {
    let found = membership_of(book_id, actor.user_id)
        .find_both_related(book::Entity)
        .one(db)
        .await?;
    let (membership, book) = found.ok_or_else(book_not_found)?;
    let role = check_role(Some(membership.role), min)?;
    Ok(BookAccess {
        actor: *actor,
        book,
        role,
        member_id: membership.id,
    })
}

/// How a writer locks a book row (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookLock {
    /// `FOR UPDATE`: the only writer in the book until it commits.
    Exclusive,
    /// `FOR KEY SHARE`: beside other appenders, never beside an exclusive writer.
    Appending,
}

impl BookLock {
    fn clause(self) -> LockType {
        match self {
            BookLock::Exclusive => LockType::Update,
            BookLock::Appending => LockType::KeyShare,
        }
    }
}

/// Checks, inside `txn`, that `actor` may write to `book_id` with at least `min`: a writing
/// credential, membership with the role, a book that is not archived. Locks the book row
/// (exclusive) until the transaction ends.
pub async fn require_write(
    txn: &DatabaseTransaction,
    actor: &Actor,
    book_id: Uuid,
    min: Role,
) -> AppResult<WriteAccess> {
    actor.ensure_may_write()?;
    // The book row first, always: see the module doc for the order of locks.
    let book = lock_book(txn, book_id).await?;
    let membership = membership_of(book_id, actor.user_id).one(txn).await?;
    write_access(actor, book, membership, min)
}

/// [`require_write`] with the book locked as `lock` says, returning as well the book's live
/// seats (in no particular order), read in the same statement as the actor's own: for a write
/// that needs the whole roster.
pub async fn require_write_with_seats(
    txn: &DatabaseTransaction,
    actor: &Actor,
    book_id: Uuid,
    min: Role,
    lock: BookLock,
) -> AppResult<(WriteAccess, Vec<membership::Model>)> {
    actor.ensure_may_write()?;
    let book = lock_book_as(txn, book_id, lock).await?;
    let seats = membership::Entity::find()
        .filter(membership::Column::BookId.eq(book_id))
        .filter(membership::Column::RemovedAt.is_null())
        .all(txn)
        .await?;
    let own = seats
        .iter()
        .find(|seat| seat.user_id == Some(actor.user_id))
        .cloned();
    Ok((write_access(actor, book, own, min)?, seats))
}

/// The verdict on a locked book for the actor's live seat in it (`None`: not a member).
fn write_access(
    actor: &Actor,
    LockedBook(book): LockedBook,
    membership: Option<membership::Model>,
    min: Role,
) -> AppResult<WriteAccess> {
    let membership = membership.ok_or_else(book_not_found)?;
    let role = check_role(Some(membership.role), min)?;
    if book.archived_at.is_some() {
        return Err(archived());
    }
    Ok(WriteAccess(BookAccess {
        actor: *actor,
        book,
        role,
        member_id: membership.id,
    }))
}

/// The actor's access to each of their books that `refine` selects (it may filter, order and
/// limit the query; it cannot widen it beyond the actor's memberships).
pub async fn each_membership(
    db: &impl ConnectionTrait,
    actor: &Actor,
    refine: impl FnOnce(
        sea_orm::SelectTwoRequired<membership::Entity, book::Entity>,
    ) -> sea_orm::SelectTwoRequired<membership::Entity, book::Entity>,
) -> AppResult<Vec<BookAccess>> {
    let query = membership::Entity::find()
        .filter(membership::Column::UserId.eq(actor.user_id))
        .filter(membership::Column::RemovedAt.is_null())
        .find_both_related(book::Entity);
    let rows = refine(query).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(membership, book)| BookAccess {
            actor: *actor,
            book,
            role: membership.role,
            member_id: membership.id,
        })
        .collect())
}

/// The query for `user_id`'s live seat in `book_id` (at most one row:
/// `uq_memberships_book_user`). A removed seat is history, not membership.
pub fn membership_of(book_id: Uuid, user_id: Uuid) -> sea_orm::Select<membership::Entity> {
    membership::Entity::find()
        .filter(membership::Column::BookId.eq(book_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::RemovedAt.is_null())
}

/// A book whose row the holder's transaction has locked: its roster cannot change until that
/// transaction ends.
#[derive(Debug)]
pub struct LockedBook(book::Model);

impl std::ops::Deref for LockedBook {
    type Target = book::Model;

    fn deref(&self) -> &book::Model {
        &self.0
    }
}

/// Locks a book's row in `txn` (exclusive), for writes by someone who is not (yet) a member:
/// joining.
pub async fn lock_book(txn: &DatabaseTransaction, book_id: Uuid) -> AppResult<LockedBook> {
    lock_book_as(txn, book_id, BookLock::Exclusive).await
}

async fn lock_book_as(
    txn: &DatabaseTransaction,
    book_id: Uuid,
    lock: BookLock,
) -> AppResult<LockedBook> {
    book::Entity::find_by_id(book_id)
        .lock(lock.clause())
        .one(txn)
        .await?
        .map(LockedBook)
        .ok_or_else(book_not_found)
}

/// Locks the rows of `book_ids` in `txn` as `lock` says, in one statement, in ascending id
/// order (PostgreSQL locks the rows as the sorted result yields them), for a write that touches
/// several books; NOT_FOUND if one is missing.
pub async fn lock_books(
    txn: &DatabaseTransaction,
    book_ids: &std::collections::BTreeSet<Uuid>,
    lock: BookLock,
) -> AppResult<()> {
    if book_ids.is_empty() {
        return Ok(());
    }
    let locked = book::Entity::find()
        .filter(book::Column::Id.is_in(book_ids.iter().copied()))
        .order_by_asc(book::Column::Id)
        .lock(lock.clause())
        .all(txn)
        .await?;
    if locked.len() == book_ids.len() {
        Ok(())
    } else {
        Err(book_not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Writer, Role::Reader];

    #[test]
    fn nobody_outranks_the_owner_so_nobody_grants_ownership() {
        for role in ROLES {
            assert!(!outranks(role, Role::Owner), "{role:?}");
        }
    }

    #[test]
    fn admins_manage_only_below_admin() {
        assert!(outranks(Role::Admin, Role::Writer));
        assert!(outranks(Role::Admin, Role::Reader));
        assert!(!outranks(Role::Admin, Role::Admin));
        assert!(outranks(Role::Owner, Role::Admin));
    }

    #[test]
    fn non_members_are_told_not_found_and_low_roles_forbidden() {
        assert!(matches!(
            check_role(None, Role::Reader),
            Err(AppError::NotFound { entity: "book" })
        ));
        assert!(matches!(
            check_role(Some(Role::Writer), Role::Admin),
            Err(AppError::Forbidden)
        ));
        for role in ROLES {
            assert!(matches!(check_role(Some(role), Role::Reader), Ok(r) if r == role));
        }
    }
}
