//! Live books: what subscriptions hear, read once per change per instance and shared by every
//! subscriber of the book.
//!
//! The [`Hub`] keeps, for each book someone on this instance watches, two channels:
//!
//! - the book's latest [`BookState`] (balances, live roster, their users, the balance version),
//!   in a `watch` channel: it holds one value, so a subscriber that falls behind costs nothing
//!   and, when it reads again, finds the newest state with a version that jumped (a resync);
//! - its entry changes, in a bounded `broadcast` channel: a subscriber that falls behind by
//!   more than [`ENTRY_QUEUE`] is told it lagged, never buffered without end.
//!
//! The [`dispatch`] task turns the event bus into those channels. It takes what the bus has in
//! one go (a burst of commits is one batch), and for each watched book in the batch reads the
//! state **once**, publishes it, and only then publishes the batch's entry changes: so a member
//! removed in the batch is already out of the roster every subscriber checks before they could
//! hear an entry that was committed after the removal. Events are only ever heard after commit
//! (see [`crate::events`]). After a missed stretch (the bus lagged, or the PostgreSQL listener
//! reconnected), every watched book's state is read again (a moved version reaches balance
//! subscribers as a jump) and its entry subscribers get a resync notice saying until when
//! events may have been missed, which only those already watching then act on.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use entity::{entry, enums::Role, membership};
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::{
    broadcast::{self, error::TryRecvError},
    watch,
};
use uuid::Uuid;

use crate::{
    error::AppResult,
    events::{EntryChange, Event},
    ledger::{self, Balance, Money},
    observability::Open,
    service::{
        accounts::{self, PublicUser},
        balances, members, now,
    },
    state::AppState,
};

/// Entry changes a subscriber may fall behind by before it is told to resync.
pub const ENTRY_QUEUE: usize = 64;

/// A book as its live subscribers see it after a change.
#[derive(Debug)]
pub struct BookState {
    pub book_id: Uuid,
    /// The book's `balance_version` this state belongs to.
    pub version: i64,
    pub currency: String,
    /// The balances the book shows ([`balances::shown`]).
    pub balances: Vec<(Uuid, Balance)>,
    /// Every seat the balances name (live ones and removed ones still owed money).
    pub seats: Vec<membership::Model>,
    /// The users holding those seats.
    pub users: Vec<PublicUser>,
}

impl BookState {
    /// `user_id`'s role in the book as of this state (`None`: not a member).
    pub fn role_of(&self, user_id: Uuid) -> Option<Role> {
        self.seats
            .iter()
            .find(|seat| seat.removed_at.is_none() && seat.user_id == Some(user_id))
            .map(|seat| seat.role)
    }

    /// Each seat's net.
    pub fn nets(&self) -> BTreeMap<Uuid, Money> {
        let balances: BTreeMap<Uuid, Balance> = self.balances.iter().copied().collect();
        ledger::net_balances(&balances)
    }
}

/// One entry change of a watched book, or the news that some were missed.
#[derive(Debug)]
pub enum EntryNotice {
    Changed {
        change: EntryChange,
        /// The entry as read after the change (a later change may already show).
        entry: Arc<entry::Model>,
        /// The book's balance version as of the batch the change came in.
        balance_version: i64,
    },
    /// Changes may have been missed until `since`: whoever followed the book from before then
    /// is to reload.
    Resync {
        balance_version: i64,
        since: DateTime<Utc>,
    },
}

/// The books watched on this instance. Cloning is cheap.
#[derive(Clone, Default)]
pub struct Hub(Arc<Mutex<HashMap<Uuid, Channels>>>);

/// Where a book's newest state is published.
type States = watch::Sender<Option<Arc<BookState>>>;
/// Where a book's entry changes are published.
type Notices = broadcast::Sender<Arc<EntryNotice>>;

struct Channels {
    watchers: usize,
    state: States,
    entries: Notices,
}

/// A subscriber's view of one book; dropping it stops watching.
pub struct Watch {
    hub: Hub,
    book_id: Uuid,
    /// From when this watch hears every event of the book (a resync about events missed
    /// before then does not concern it).
    started: DateTime<Utc>,
    _open: Open,
    /// The book's latest state (changes from the moment of watching on).
    pub state: watch::Receiver<Option<Arc<BookState>>>,
    pub entries: broadcast::Receiver<Arc<EntryNotice>>,
}

impl Watch {
    pub fn book_id(&self) -> Uuid {
        self.book_id
    }

    /// Whether a resync about events missed until `since` concerns this watch: only if it was
    /// watching before then.
    pub fn missed_until(&self, since: DateTime<Utc>) -> bool {
        self.started < since
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut books = self.hub.books();
        if let Some(channels) = books.get_mut(&self.book_id) {
            channels.watchers -= 1;
            if channels.watchers == 0 {
                books.remove(&self.book_id);
            }
        }
    }
}

impl Hub {
    fn books(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Channels>> {
        // Nothing done under this lock can leave the map half-changed: a poisoned lock's data is
        // as good as any.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts watching `book_id` (the caller has checked the subscriber may).
    pub fn watch(&self, book_id: Uuid) -> Watch {
        let mut books = self.books();
        let channels = books.entry(book_id).or_insert_with(|| Channels {
            watchers: 0,
            state: watch::channel(None).0,
            entries: broadcast::channel(ENTRY_QUEUE).0,
        });
        channels.watchers += 1;
        Watch {
            hub: self.clone(),
            book_id,
            started: now(),
            _open: Open::count("tally_subscriptions"),
            state: channels.state.subscribe(),
            entries: channels.entries.subscribe(),
        }
    }

    fn watched(&self) -> Vec<Uuid> {
        self.books().keys().copied().collect()
    }

    fn channels(&self, book_id: Uuid) -> Option<(States, Notices)> {
        self.books()
            .get(&book_id)
            .map(|channels| (channels.state.clone(), channels.entries.clone()))
    }
}

/// What one batch of events asks of one book.
#[derive(Default)]
struct BookWork {
    /// Balances or roster changed: read and publish the state.
    balances: bool,
    entries: Vec<(Uuid, EntryChange)>,
    /// Events may have been missed until then.
    resync: Option<DateTime<Utc>>,
}

/// Turns the events this instance hears into the watched books' channels, until the bus
/// closes. [`crate::startup`] runs it for as long as the server runs.
pub async fn dispatch(state: AppState) {
    let mut events = state.events.subscribe();
    loop {
        let mut batch: BTreeMap<Uuid, BookWork> = BTreeMap::new();
        // This hub missed events itself when its receiver lagged: up to now.
        let mut resync_all = None;
        match events.recv().await {
            Ok(event) => add(&mut batch, &mut resync_all, event),
            Err(broadcast::error::RecvError::Lagged(_)) => resync_all = Some(now()),
            Err(broadcast::error::RecvError::Closed) => return,
        }
        loop {
            match events.try_recv() {
                Ok(event) => add(&mut batch, &mut resync_all, event),
                Err(TryRecvError::Lagged(_)) => resync_all = Some(now()),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let hub = &state.live;
        if let Some(since) = resync_all {
            for book_id in hub.watched() {
                batch.entry(book_id).or_default().resync = Some(since);
            }
        }
        let work = batch
            .into_iter()
            .filter_map(|(book_id, work)| Some((book_id, work, hub.channels(book_id)?)))
            .map(|(book_id, work, (states, entries))| {
                publish(&state, book_id, work, states, entries)
            });
        join_all(work).await;
    }
}

/// Adds `event` to the batch; one saying events were missed moves `resync_all` on.
fn add(batch: &mut BTreeMap<Uuid, BookWork>, resync_all: &mut Option<DateTime<Utc>>, event: Event) {
    match event {
        Event::BalancesChanged { book_id } => batch.entry(book_id).or_default().balances = true,
        Event::EntryChanged {
            book_id,
            entry_id,
            change,
            ..
        } => batch
            .entry(book_id)
            .or_default()
            .entries
            .push((entry_id, change)),
        Event::Resync { since } => *resync_all = Some(resync_all.map_or(since, |at| at.max(since))),
        Event::SessionRevoked { .. }
        | Event::AccessTokenRevoked { .. }
        | Event::ProfileChanged { .. } => {}
    }
}

async fn publish(
    state: &AppState,
    book_id: Uuid,
    work: BookWork,
    states: States,
    entries: Notices,
) {
    if let Err(error) = publish_book(state, book_id, work, &states, &entries).await {
        // Subscribers miss this change; the next one brings them up to date (states carry the
        // whole picture) and its version jump tells them.
        tracing::warn!(%book_id, error = ?error, "could not read a changed book for its subscribers");
    }
}

async fn publish_book(
    state: &AppState,
    book_id: Uuid,
    work: BookWork,
    states: &States,
    entries: &Notices,
) -> AppResult<()> {
    let mut version = None;
    if work.balances || work.resync.is_some() {
        let book = load(state, book_id).await?;
        version = Some(book.version);
        let book = Arc::new(book);
        // Keep the newest: a batch read after a later one must not overwrite it. After missed
        // events too, a state is news only if its version moved (subscribers see the jump).
        states.send_if_modified(|current| {
            let newer = current
                .as_ref()
                .is_none_or(|current| book.version > current.version);
            if newer {
                *current = Some(book.clone());
            }
            newer
        });
        delivered(states.receiver_count());
    }
    let balance_version = match version {
        Some(version) => version,
        None => balances::version(&state.db, book_id).await?,
    };
    if let Some(since) = work.resync {
        // Nobody listening is not an error.
        let notice = EntryNotice::Resync {
            balance_version,
            since,
        };
        delivered(entries.send(Arc::new(notice)).unwrap_or(0));
    }
    if work.entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = work.entries.iter().map(|(id, _)| *id).collect();
    let rows: HashMap<Uuid, Arc<entry::Model>> = entry::Entity::find()
        .filter(entry::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| (row.id, Arc::new(row)))
        .collect();
    for (entry_id, change) in work.entries {
        if let Some(entry) = rows.get(&entry_id) {
            let sent = entries.send(Arc::new(EntryNotice::Changed {
                change,
                entry: entry.clone(),
                balance_version,
            }));
            delivered(sent.unwrap_or(0));
        }
    }
    Ok(())
}

/// The book's state as of now, for a subscriber starting to follow it.
pub async fn current(state: &AppState, book_id: Uuid) -> AppResult<BookState> {
    load(state, book_id).await
}

/// Counts events handed to `receivers` subscribers.
fn delivered(receivers: usize) {
    metrics::counter!("tally_events_delivered_total").increment(receivers as u64);
}

/// Reads a book's state at one balance version.
async fn load(state: &AppState, book_id: Uuid) -> AppResult<BookState> {
    let db = &state.db;
    let (version, (book, stored, roster)) =
        balances::at_one_version(db, book_id, move || async move {
            let book = entity::book::Entity::find_by_id(book_id)
                .one(db)
                .await?
                .ok_or(crate::error::AppError::NotFound { entity: "book" })?;
            let stored = balances::of_book(db, book_id).await?;
            let roster = members::rosters(db, &[book_id])
                .await?
                .remove(&book_id)
                .unwrap_or_default();
            Ok((book, stored, roster))
        })
        .await?;
    let shown = balances::shown(&roster, stored);
    let removed: Vec<Uuid> = shown
        .iter()
        .map(|(seat, _)| *seat)
        .filter(|seat| !roster.iter().any(|live| live.id == *seat))
        .collect();
    let mut seats = roster;
    if !removed.is_empty() {
        seats.extend(members::seats(db, &removed).await?.into_values());
    }
    let user_ids: Vec<Uuid> = seats.iter().filter_map(|seat| seat.user_id).collect();
    let users = accounts::public_users(state, &user_ids).await?;
    Ok(BookState {
        book_id,
        version,
        currency: book.currency,
        balances: shown,
        seats,
        users,
    })
}
