//! Subscriptions: `balancesChanged` and `entryEvents`, over `/graphql/ws`.
//!
//! Both start like a query on the book (a non-member gets NOT_FOUND) and then follow the
//! instance's [`Hub`](crate::service::live::Hub), which reads each change once for all
//! subscribers of the book. Every event is checked against the roster of the state it came
//! with: a subscriber who is no longer a member gets NOT_FOUND and the stream ends. Each event
//! is resolved with fresh loaders (see [`crate::graphql::loaders`]), primed from the shared
//! state, so a subscriber's selection costs no query of its own for the balances' members.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Subscription};
use entity::{entry, enums::Role};
use futures_util::{Stream, StreamExt, future, stream};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::{
    error::AppResult,
    events::EntryChange,
    graphql::{
        accounts::parse_id,
        context::{actor, state},
        entries::{Entry, MemberBalance},
        loaders::{SeatKey, UserKey, loaders},
        settling::SettlementSuggestions,
    },
    service::{
        access, balances,
        live::{self, BookState, EntryNotice, Watch},
        settling,
    },
    state::AppState,
};

#[derive(Default)]
pub struct SubscriptionRoot;

/// Why an event was sent.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum BalancesEventKind {
    /// The book as it was when the subscription started: the first event of every stream.
    Current,
    /// The change right after the last one this subscriber heard.
    Changed,
    /// Changes were missed (the subscriber fell behind, or the server lost events): this is the
    /// current state, to replace whatever the client holds.
    Resync,
}

/// What happened to an entry, or RESYNC when entry events were missed.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum EntryEventKind {
    /// The first event of every stream: its `balanceVersion` is the book's as the subscription
    /// started, and every entry change committed after it follows.
    Subscribed,
    Created,
    Updated,
    Deleted,
    Restored,
    /// Entry events were missed: reload the entries.
    Resync,
}

impl From<EntryChange> for EntryEventKind {
    fn from(change: EntryChange) -> Self {
        match change {
            EntryChange::Created => Self::Created,
            EntryChange::Updated => Self::Updated,
            EntryChange::Deleted => Self::Deleted,
            EntryChange::Restored => Self::Restored,
        }
    }
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The book's balances as the subscription starts (CURRENT), then after every committed
    /// change to its money or members, with the balance version each belongs to: it moves by
    /// one per change, and an event after missed changes comes as RESYNC. Ends with NOT_FOUND
    /// when the subscriber leaves the book.
    async fn balances_changed<'ctx>(
        &self,
        ctx: &Context<'ctx>,
        book_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BalancesEvent>> + 'ctx>
    {
        let mut follow = start(ctx, &book_id).await?;
        // Read after watching: a change committed meanwhile is in this state or still to come.
        let book = Arc::new(live::current(state(ctx)?, follow.watch.book_id()).await?);
        follow.still_member(&book)?;
        let last = book.version;
        let first = BalancesEvent {
            book,
            kind: BalancesEventKind::Current,
        };
        let changes = stream::unfold((follow, last), |(mut follow, mut last)| async move {
            let event = follow.next_state(&mut last).await?;
            Some((event, (follow, last)))
        });
        Ok(stream::once(future::ready(Ok(first))).chain(changes))
    }

    /// SUBSCRIBED first, with the book's balance version as the subscription starts; then
    /// every entry of the book created, updated, deleted or restored after it (mirrors in a
    /// personal book included), as it commits; RESYNC when the subscriber fell behind. Ends
    /// with NOT_FOUND when the subscriber leaves the book.
    async fn entry_events<'ctx>(
        &self,
        ctx: &Context<'ctx>,
        book_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<EntryEvent>> + 'ctx> {
        let follow = start(ctx, &book_id).await?;
        let app = state(ctx)?.clone();
        // Read after watching: a change committed meanwhile is counted in it or still to come.
        let version = balances::version(&app.db, follow.watch.book_id()).await?;
        let first = EntryEvent {
            kind: EntryEventKind::Subscribed,
            entry: None,
            balance_version: version,
            viewer: follow.user_id,
        };
        let changes = stream::unfold((follow, app), |(mut follow, app)| async move {
            let event = follow.next_entry(&app).await?;
            Some((event, (follow, app)))
        });
        Ok(stream::once(future::ready(Ok(first))).chain(changes))
    }
}

/// Checks the caller may read the book (NOT_FOUND otherwise, as for a query) and starts
/// following it. The watch starts first, so a removal committed right after the check is still
/// heard.
async fn start(ctx: &Context<'_>, book_id: &ID) -> AppResult<Follow> {
    let book_id = parse_id(book_id, "bookId")?;
    let app = state(ctx)?;
    let watch = app.live.watch(book_id);
    let actor = actor(ctx)?;
    access::require(&app.db, &actor, book_id, Role::Reader).await?;
    Ok(Follow {
        watch,
        user_id: actor.user_id,
        done: false,
    })
}

/// One subscriber following one book.
struct Follow {
    watch: Watch,
    user_id: Uuid,
    /// The stream has ended (with an error): nothing more.
    done: bool,
}

impl Follow {
    /// Ends the stream with NOT_FOUND when `book` says the subscriber is no longer a member.
    fn still_member(&mut self, book: &BookState) -> AppResult<()> {
        if book.role_of(self.user_id).is_none() {
            self.done = true;
            return Err(access::book_not_found());
        }
        Ok(())
    }

    /// The next state worth telling after version `last` (the one the subscriber was last told
    /// about, moved on here), or `None` when the stream ends.
    async fn next_state(&mut self, last: &mut i64) -> Option<async_graphql::Result<BalancesEvent>> {
        if self.done {
            return None;
        }
        loop {
            self.watch.state.changed().await.ok()?;
            let Some(book) = self.watch.state.borrow_and_update().clone() else {
                continue;
            };
            if book.version <= *last {
                continue;
            }
            if let Err(error) = self.still_member(&book) {
                return Some(Err(error.into()));
            }
            let kind = if book.version > *last + 1 {
                BalancesEventKind::Resync
            } else {
                BalancesEventKind::Changed
            };
            *last = book.version;
            return Some(Ok(BalancesEvent { book, kind }));
        }
    }

    /// The next entry event, or `None` when the stream ends.
    async fn next_entry(&mut self, app: &AppState) -> Option<async_graphql::Result<EntryEvent>> {
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                // A removal comes as a new state, before any entry committed after it.
                changed = self.watch.state.changed() => {
                    changed.ok()?;
                    let book = self.watch.state.borrow_and_update().clone();
                    if let Some(book) = book
                        && let Err(error) = self.still_member(&book)
                    {
                        return Some(Err(error.into()));
                    }
                }
                notice = self.watch.entries.recv() => {
                    let event = match notice {
                        Ok(notice) => match self.entry_event(&notice) {
                            Ok(Some(event)) => Ok(event),
                            // A resync about a time before this subscriber: nothing missed.
                            Ok(None) => continue,
                            Err(error) => Err(error),
                        },
                        Err(RecvError::Lagged(_)) => self.resync(app).await,
                        Err(RecvError::Closed) => return None,
                    };
                    return Some(event);
                }
            }
        }
    }

    /// The event for `notice`, or `None` for a resync that does not concern this subscriber.
    fn entry_event(&mut self, notice: &EntryNotice) -> async_graphql::Result<Option<EntryEvent>> {
        let book = self.watch.state.borrow().clone();
        if let Some(book) = book {
            self.still_member(&book)?;
        }
        Ok(Some(match notice {
            EntryNotice::Changed {
                change,
                entry,
                balance_version,
            } => EntryEvent {
                kind: (*change).into(),
                entry: Some(entry.clone()),
                balance_version: *balance_version,
                viewer: self.user_id,
            },
            EntryNotice::Resync {
                balance_version,
                since,
            } => {
                if !self.watch.missed_until(*since) {
                    return Ok(None);
                }
                EntryEvent {
                    kind: EntryEventKind::Resync,
                    entry: None,
                    balance_version: *balance_version,
                    viewer: self.user_id,
                }
            }
        }))
    }

    /// The subscriber fell behind: a RESYNC with the book's current version.
    async fn resync(&mut self, app: &AppState) -> async_graphql::Result<EntryEvent> {
        let balance_version = balances::version(&app.db, self.watch.book_id()).await?;
        Ok(EntryEvent {
            kind: EntryEventKind::Resync,
            entry: None,
            balance_version,
            viewer: self.user_id,
        })
    }
}

/// A book's balances after a change.
pub struct BalancesEvent {
    book: Arc<BookState>,
    kind: BalancesEventKind,
}

#[Object]
impl BalancesEvent {
    async fn kind(&self) -> BalancesEventKind {
        self.kind
    }

    async fn book_id(&self) -> ID {
        ID(self.book.book_id.to_string())
    }

    /// The book's balance version these balances belong to.
    async fn version(&self) -> i64 {
        self.book.version
    }

    /// Each member's paid, owed and net, as `Book.balances` shows them.
    async fn balances(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberBalance>> {
        prime(ctx, &self.book).await?;
        Ok(self
            .book
            .balances
            .iter()
            .map(|(seat, balance)| MemberBalance::new(*seat, *balance, self.book.currency.clone()))
            .collect())
    }

    /// The suggested payments for these balances: computed once per change, whoever asks.
    async fn settlement_suggestions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<SettlementSuggestions> {
        prime(ctx, &self.book).await?;
        let suggestions = settling::plan_at(
            state(ctx)?,
            self.book.book_id,
            self.book.version,
            self.book.nets(),
        )
        .await?;
        Ok(SettlementSuggestions::new(
            suggestions,
            self.book.currency.clone(),
        ))
    }
}

/// Fills this event's loaders with the seats and users the state already holds.
async fn prime(ctx: &Context<'_>, book: &BookState) -> AppResult<()> {
    let loaders = loaders(ctx)?;
    loaders
        .feed_many(
            book.seats
                .iter()
                .map(|seat| (SeatKey(seat.id), seat.clone())),
        )
        .await;
    loaders
        .feed_many(
            book.users
                .iter()
                .map(|user| (UserKey(user.id), user.clone())),
        )
        .await;
    Ok(())
}

/// An entry's change.
pub struct EntryEvent {
    kind: EntryEventKind,
    entry: Option<Arc<entry::Model>>,
    balance_version: i64,
    viewer: Uuid,
}

#[Object]
impl EntryEvent {
    async fn kind(&self) -> EntryEventKind {
        self.kind
    }

    /// The entry as it is after the change (a later change may already show); null for RESYNC.
    async fn entry(&self) -> Option<Entry> {
        self.entry
            .as_ref()
            .map(|row| Entry::new(row.as_ref().clone(), self.viewer))
    }

    /// The book's balance version as of this event.
    async fn balance_version(&self) -> i64 {
        self.balance_version
    }
}
