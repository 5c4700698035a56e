//! Entries in the API: the `Entry` type with its payers, split and mirrors; `entry(id)`,
//! `Book.entries` and `Book.balances`; `createEntry`, `updateEntry`, `deleteEntry`,
//! `restoreEntry`. The rules live in [`crate::service::entries`]; every nested part of an
//! entry reads through the request's loaders, so a page of 100 entries costs the same number
//! of statements as a page of 10.

use async_graphql::{
    Context, Enum, ID, InputObject, Object,
    connection::{Connection, CursorType, EmptyFields, OpaqueCursor},
};
use chrono::{DateTime, Utc};
use entity::{allocation, entry, entry_payer, membership};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        accounts::{User, parse_id},
        categories::Category,
        connection::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE},
        context::{actor, state},
        entry_input::{CreateEntryInput, EntryInput, EntryKind, SplitMode},
        loaders::{
            CategoryKey, MirrorsKey, PayersKey, SeatKey, SharesKey, SplitKey, UserKey,
            forget_entries, loaders, user,
        },
        members::Member,
        scalars::{Date, Decimal},
    },
    ledger::{BalanceStatus as LedgerStatus, Money},
    service::{
        access::BookAccess,
        balances,
        book_cache::CachedBook,
        entries::{
            self,
            query::{self, EntryCursor, EntryFilter, Order},
        },
        idempotency::IdempotencyKey,
    },
};

/// One expense, income or transfer, as a member of its book sees it.
pub struct Entry {
    row: entry::Model,
    /// The reader: a mirror's `entry` is shown only to the owner of its book.
    viewer: Uuid,
}

impl Entry {
    pub fn new(row: entry::Model, viewer: Uuid) -> Self {
        Self { row, viewer }
    }
}

/// The seat `id` as a `Member`, through the request's loader.
pub async fn seat(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Member> {
    let seat = loaders(ctx)?
        .load_one(SeatKey(id))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("seat {id} missing")))?;
    Ok(Member::new(seat))
}

#[Object]
impl Entry {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn book_id(&self) -> ID {
        ID(self.row.book_id.to_string())
    }

    async fn kind(&self) -> EntryKind {
        self.row.kind.into()
    }

    /// In `currency`: the book's (a mirror keeps its source's).
    async fn amount(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.row.amount_e4), &self.row.currency)
    }

    async fn currency(&self) -> &str {
        &self.row.currency
    }

    /// The amount as given, for an entry made in another currency.
    async fn original_amount(&self) -> Option<Decimal> {
        let currency = self.row.original_currency.as_deref()?;
        let e4 = self.row.original_amount_e4?;
        Some(Decimal::amount(Money::from_e4(e4), currency))
    }

    async fn original_currency(&self) -> Option<&str> {
        self.row.original_currency.as_deref()
    }

    /// Book units per one unit of `originalCurrency`.
    async fn exchange_rate(&self) -> Option<Decimal> {
        self.row.exchange_rate.as_ref().map(Decimal::of)
    }

    async fn occurred_on(&self) -> Date {
        Date::of(self.row.occurred_on)
    }

    async fn description(&self) -> &str {
        &self.row.description
    }

    async fn note(&self) -> Option<&str> {
        self.row.note.as_deref()
    }

    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let Some(id) = self.row.category_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(CategoryKey(id)).await?.map(Category))
    }

    /// Who wrote it.
    async fn creator(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user(ctx, self.row.creator_id).await
    }

    /// Starts at 1; every change adds one. Pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.row.version
    }

    /// Whether this is a read-only mirror of a split entry (in a personal book).
    async fn is_mirror(&self) -> bool {
        self.row.source_entry_id.is_some()
    }

    /// For a mirror, the split entry it mirrors.
    async fn source_entry_id(&self) -> Option<ID> {
        self.row.source_entry_id.map(|id| ID(id.to_string()))
    }

    /// Who paid how much, in the book's currency.
    async fn payers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EntryPayer>> {
        let rows = loaders(ctx)?.load_one(PayersKey(self.row.id)).await?;
        let currency = &self.row.currency;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| EntryPayer(row, currency.clone()))
            .collect())
    }

    /// How it is shared.
    async fn split(&self, ctx: &Context<'_>) -> async_graphql::Result<Split> {
        let split = loaders(ctx)?
            .load_one(SplitKey(self.row.id))
            .await?
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("entry {} has no split", self.row.id))
            })?;
        Ok(Split {
            entry_id: self.row.id,
            mode: split.mode.into(),
            currency: self.row.currency.clone(),
            given_currency: self
                .row
                .original_currency
                .clone()
                .unwrap_or_else(|| self.row.currency.clone()),
        })
    }

    /// The read-only copies of each participant's share in their personal book.
    async fn mirrors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EntryMirror>> {
        let rows = loaders(ctx)?.load_one(MirrorsKey(self.row.id)).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| EntryMirror {
                row,
                viewer: self.viewer,
            })
            .collect())
    }

    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.row.deleted_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// One payer of an entry (with the entry's currency).
pub struct EntryPayer(entry_payer::Model, String);

#[Object]
impl EntryPayer {
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        seat(ctx, self.0.member_id).await
    }

    async fn amount(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.0.amount_e4), &self.1)
    }
}

/// How an entry is shared.
pub struct Split {
    entry_id: Uuid,
    mode: SplitMode,
    /// The entry's currency (shares are in it).
    currency: String,
    /// The currency exact amounts and adjustments were given in.
    given_currency: String,
}

#[Object]
impl Split {
    async fn mode(&self) -> SplitMode {
        self.mode
    }

    /// Each member's share; they add up to the entry's amount exactly.
    async fn allocations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Allocation>> {
        let rows = loaders(ctx)?.load_one(SharesKey(self.entry_id)).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| Allocation {
                row,
                currency: self.currency.clone(),
                given_currency: self.given_currency.clone(),
            })
            .collect())
    }
}

/// One member's share of an entry: the value given for it, the amount, and how the ledger
/// reached it (`amount = base + remainderUnits × unit`).
pub struct Allocation {
    row: allocation::Model,
    currency: String,
    given_currency: String,
}

#[Object]
impl Allocation {
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        seat(ctx, self.row.member_id).await
    }

    /// What the member owes of the entry, in the book's currency.
    async fn amount(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.row.calculated_e4), &self.currency)
    }

    /// The percentage given (RATIO).
    async fn ratio(&self) -> Option<Decimal> {
        self.row
            .ratio_e4
            .map(|e4| Decimal::of(crate::ledger::Percent::from_e4(e4)))
    }

    /// The weight given (SHARES).
    async fn shares(&self) -> Option<Decimal> {
        self.row
            .shares_e4
            .map(|e4| Decimal::of(crate::ledger::Weight::from_e4(e4)))
    }

    /// The amount given (EXACT), in the entry's original currency.
    async fn exact(&self) -> Option<Decimal> {
        self.row
            .exact_e4
            .map(|e4| Decimal::amount(Money::from_e4(e4), &self.given_currency))
    }

    /// The signed adjustment given (ADJUSTMENT), in the entry's original currency.
    async fn adjustment(&self) -> Option<Decimal> {
        self.row
            .adjustment_e4
            .map(|e4| Decimal::amount(Money::from_e4(e4), &self.given_currency))
    }

    /// The share before leftover units were handed out.
    async fn base(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.row.base_e4), &self.currency)
    }

    /// Leftover units this member received (0 or 1), by largest remainder.
    async fn remainder_units(&self) -> i32 {
        self.row.remainder_units
    }

    /// The unit apportioned: the currency's minor unit, or 0.0001.
    async fn unit(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.row.unit_e4), &self.currency)
    }
}

/// A participant's mirror of a split entry.
pub struct EntryMirror {
    row: entry::Model,
    viewer: Uuid,
}

#[Object]
impl EntryMirror {
    /// The participant whose personal book holds the mirror.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let payers = loaders(ctx)?.load_one(PayersKey(self.row.id)).await?;
        let Some(seat_id) = payers.unwrap_or_default().first().map(|p| p.member_id) else {
            return Ok(None);
        };
        let owner = loaders(ctx)?.load_one(SeatKey(seat_id)).await?;
        match owner.and_then(|seat| seat.user_id) {
            Some(user_id) => user(ctx, user_id).await,
            None => Ok(None),
        }
    }

    /// Their share, in the source's currency.
    async fn amount(&self) -> Decimal {
        Decimal::amount(Money::from_e4(self.row.amount_e4), &self.row.currency)
    }

    async fn currency(&self) -> &str {
        &self.row.currency
    }

    /// The mirror entry itself: only for the participant it belongs to (it lives in their
    /// personal book); null for everyone else.
    async fn entry(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Entry>> {
        let payers = loaders(ctx)?.load_one(PayersKey(self.row.id)).await?;
        let Some(seat_id) = payers.unwrap_or_default().first().map(|p| p.member_id) else {
            return Ok(None);
        };
        let owner = loaders(ctx)?.load_one(SeatKey(seat_id)).await?;
        let mine = owner.and_then(|seat: membership::Model| seat.user_id) == Some(self.viewer);
        Ok(mine.then(|| Entry::new(self.row.clone(), self.viewer)))
    }
}

/// Which way a member's balance points.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "LedgerStatus")]
pub enum BalanceStatus {
    /// Others owe this member.
    Owed,
    /// This member owes others.
    Owes,
    /// Even.
    Settled,
}

/// A member's standing in a book: `net = paid − owed`; the nets of a book sum to zero.
pub struct MemberBalance {
    seat: Uuid,
    balance: crate::ledger::Balance,
    /// The book's currency.
    currency: String,
}

impl MemberBalance {
    pub fn new(seat: Uuid, balance: crate::ledger::Balance, currency: String) -> Self {
        Self {
            seat,
            balance,
            currency,
        }
    }
}

#[Object]
impl MemberBalance {
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        seat(ctx, self.seat).await
    }

    /// Everything the member paid for the book.
    async fn paid(&self) -> Decimal {
        Decimal::amount(self.balance.paid, &self.currency)
    }

    /// The member's shares of everything.
    async fn owed(&self) -> Decimal {
        Decimal::amount(self.balance.owed, &self.currency)
    }

    /// Above zero: the book owes the member; below zero: the member owes the book.
    async fn net(&self) -> Decimal {
        Decimal::amount(self.balance.net, &self.currency)
    }

    async fn status(&self) -> BalanceStatus {
        self.balance.status().into()
    }
}

/// Every live member's balance (zero for members in no entry), then any removed member's whose
/// balance is not zero (a later edit of an old entry can move it), read from the materialised
/// totals: the cost does not grow with the number of entries.
pub async fn book_balances(
    ctx: &Context<'_>,
    access: &BookAccess,
    book: &CachedBook,
) -> async_graphql::Result<Vec<MemberBalance>> {
    // Each balance names its seat; the live ones are at hand, so `member` costs no statement.
    loaders(ctx)?
        .feed_many(
            book.roster
                .iter()
                .map(|seat| (SeatKey(seat.id), seat.clone())),
        )
        .await;
    let currency = &access.book().currency;
    Ok(balances::shown(&book.roster, book.balances.clone())
        .into_iter()
        .map(|(seat, balance)| MemberBalance::new(seat, balance, currency.clone()))
        .collect())
}

/// `Book.entries`'s filter.
#[derive(InputObject, Default)]
pub struct EntriesFilter {
    /// Occurred on or after this date.
    from: Option<Date>,
    /// Occurred on or before this date.
    to: Option<Date>,
    category_id: Option<ID>,
    /// Entries this member (`Member.id`) paid or shares in.
    member_id: Option<ID>,
    kind: Option<EntryKind>,
    /// Part of the description, any case.
    text: Option<String>,
    #[graphql(default)]
    include_deleted: bool,
}

impl EntriesFilter {
    fn parse(&self) -> AppResult<EntryFilter> {
        Ok(EntryFilter {
            from: self
                .from
                .as_ref()
                .map(|d| d.parse_on("filter.from"))
                .transpose()?,
            to: self
                .to
                .as_ref()
                .map(|d| d.parse_on("filter.to"))
                .transpose()?,
            category_id: self
                .category_id
                .as_ref()
                .map(|id| parse_id(id, "filter.categoryId"))
                .transpose()?,
            member_id: self
                .member_id
                .as_ref()
                .map(|id| parse_id(id, "filter.memberId"))
                .transpose()?,
            kind: self.kind.map(Into::into),
            text: self.text.clone().filter(|text| !text.is_empty()),
            include_deleted: self.include_deleted,
        })
    }
}

/// The order of `Book.entries`; ties go by creation, in the same direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum EntryOrder {
    #[default]
    OccurredOnDesc,
    OccurredOnAsc,
    AmountDesc,
    AmountAsc,
    CreatedAtDesc,
}

impl From<EntryOrder> for Order {
    fn from(order: EntryOrder) -> Self {
        match order {
            EntryOrder::OccurredOnDesc => Order::OccurredOnDesc,
            EntryOrder::OccurredOnAsc => Order::OccurredOnAsc,
            EntryOrder::AmountDesc => Order::AmountDesc,
            EntryOrder::AmountAsc => Order::AmountAsc,
            EntryOrder::CreatedAtDesc => Order::CreatedAtDesc,
        }
    }
}

/// The cursor clients see for entries: opaque.
pub type EntriesCursor = OpaqueCursor<EntryCursor>;

/// What `Book.entries` adds to a connection: the number of entries the filter lets through.
pub struct EntriesTotal {
    access: BookAccess,
    filter: EntryFilter,
}

#[Object]
impl EntriesTotal {
    /// How many entries match the filter, on every page.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(query::count(&state(ctx)?.db, &self.access, &self.filter).await?)
    }
}

/// `Book.entries`: one page.
pub async fn entries_page(
    ctx: &Context<'_>,
    access: &BookAccess,
    first: Option<i32>,
    after: Option<String>,
    filter: Option<EntriesFilter>,
    order: Option<EntryOrder>,
) -> async_graphql::Result<Connection<EntriesCursor, Entry, EntriesTotal, EmptyFields>> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(0..=MAX_PAGE_SIZE).contains(&first) {
        return Err(
            AppError::bad_input("first", format!("must be between 0 and {MAX_PAGE_SIZE}")).into(),
        );
    }
    let first = usize::try_from(first).unwrap_or(0);
    let after = after
        .as_deref()
        .map(|cursor| {
            EntriesCursor::decode_cursor(cursor)
                .map(|cursor| cursor.0)
                .map_err(|_| AppError::bad_input("after", "not a cursor from this list"))
        })
        .transpose()?;
    let filter = filter.unwrap_or_default().parse()?;
    let order: Order = order.unwrap_or_default().into();
    let fetch = u64::try_from(first).unwrap_or(0) + 1;
    let mut rows = query::page(&state(ctx)?.db, access, &filter, order, after, fetch).await?;
    let has_next_page = rows.len() > first;
    rows.truncate(first);
    prefetch(ctx, &rows).await?;
    let viewer = access.actor().user_id;
    let mut connection = Connection::with_additional_fields(
        after.is_some(),
        has_next_page,
        EntriesTotal {
            access: access.clone(),
            filter,
        },
    );
    connection.edges = rows
        .into_iter()
        .map(|row| {
            async_graphql::connection::Edge::new(
                OpaqueCursor(order.cursor(&row)),
                Entry::new(row, viewer),
            )
        })
        .collect();
    Ok(connection)
}

/// Loads, in one batch per kind, every part of the page's entries the document selects, so
/// resolving them later costs no statement. (Left to the loaders' timing, a large page could
/// spill into a second batch whenever resolving it outlasts the batching delay.)
async fn prefetch(ctx: &Context<'_>, rows: &[entry::Model]) -> async_graphql::Result<()> {
    let look = ctx.look_ahead();
    let selects = |field: &str| {
        look.field("nodes").field(field).exists()
            || look.field("edges").field("node").field(field).exists()
    };
    let loaders = loaders(ctx)?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut seats: Vec<Uuid> = Vec::new();
    let mut mirrors: Vec<Uuid> = Vec::new();
    if selects("mirrors") {
        let found = loaders
            .load_many(ids.iter().copied().map(MirrorsKey))
            .await?;
        mirrors.extend(found.values().flatten().map(|mirror| mirror.id));
    }
    if selects("payers") || !mirrors.is_empty() {
        let keys = ids.iter().chain(&mirrors).copied().map(PayersKey);
        let found = loaders.load_many(keys).await?;
        seats.extend(found.values().flatten().map(|payer| payer.member_id));
    }
    if selects("split") {
        loaders.load_many(ids.iter().copied().map(SplitKey)).await?;
        let found = loaders
            .load_many(ids.iter().copied().map(SharesKey))
            .await?;
        seats.extend(found.values().flatten().map(|share| share.member_id));
    }
    let mut users: Vec<Uuid> = Vec::new();
    if !seats.is_empty() {
        let found = loaders.load_many(seats.into_iter().map(SeatKey)).await?;
        users.extend(found.values().filter_map(|seat| seat.user_id));
    }
    if selects("creator") {
        users.extend(rows.iter().map(|row| row.creator_id));
    }
    if !users.is_empty() {
        loaders.load_many(users.into_iter().map(UserKey)).await?;
    }
    if selects("category") {
        let categories = rows
            .iter()
            .filter_map(|row| row.category_id)
            .map(CategoryKey);
        loaders.load_many(categories).await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct EntryQuery;

#[Object]
impl EntryQuery {
    /// One entry of a book the caller is in. NOT_FOUND otherwise, as for an id that does not
    /// exist.
    async fn entry(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Entry> {
        let actor = actor(ctx)?;
        let (_, row) = query::get(&state(ctx)?.db, &actor, parse_id(&id, "id")?).await?;
        Ok(Entry::new(row, actor.user_id))
    }
}

#[derive(Default)]
pub struct EntryMutation;

/// The entry as it is now, for the caller (after a write, or a replay).
pub async fn current(ctx: &Context<'_>, entry_id: Uuid) -> async_graphql::Result<Entry> {
    forget_entries(loaders(ctx)?);
    let actor = actor(ctx)?;
    let (_, row) = query::get(&state(ctx)?.db, &actor, entry_id).await?;
    Ok(Entry::new(row, actor.user_id))
}

/// The entry a new entry's mutation answers with: the row it wrote, as committed (read back,
/// it would cost a membership check and the row: two statements per write), or on a replay
/// the first request's entry as it is now.
pub async fn recorded(
    ctx: &Context<'_>,
    recorded: entries::Recorded,
) -> async_graphql::Result<Entry> {
    match recorded {
        entries::Recorded::New(row) => {
            forget_entries(loaders(ctx)?);
            Ok(Entry::new(*row, actor(ctx)?.user_id))
        }
        entries::Recorded::Replay(first) => current(ctx, first).await,
    }
}

#[Object]
impl EntryMutation {
    /// Records an entry (WRITER and up). Send an `idempotencyKey` (e.g. a UUID) to make
    /// retries safe: the same key with the same input returns the first entry without
    /// writing again for 24 hours; with another input it is a CONFLICT.
    async fn create_entry(
        &self,
        ctx: &Context<'_>,
        input: CreateEntryInput,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Entry> {
        let book_id = parse_id(&input.book_id, "bookId")?;
        let draft = input.entry.draft()?;
        let key = idempotency_key
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()?;
        let created =
            entries::create(state(ctx)?, &actor(ctx)?, book_id, &draft, key.as_ref()).await?;
        recorded(ctx, created).await
    }

    /// Replaces an entry's content if it is still at `expectedVersion` (else CONFLICT with
    /// `currentVersion`). WRITERs edit their own entries, ADMINs and the OWNER anyone's.
    async fn update_entry(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: EntryInput,
    ) -> async_graphql::Result<Entry> {
        let entry_id = parse_id(&id, "id")?;
        let draft = input.draft()?;
        entries::update(
            state(ctx)?,
            &actor(ctx)?,
            entry_id,
            expected_version,
            &draft,
        )
        .await?;
        current(ctx, entry_id).await
    }

    /// Deletes an entry at `expectedVersion` (it can be restored): it leaves the balances and
    /// its mirrors go.
    async fn delete_entry(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> async_graphql::Result<Entry> {
        let entry_id = parse_id(&id, "id")?;
        entries::delete(state(ctx)?, &actor(ctx)?, entry_id, expected_version).await?;
        current(ctx, entry_id).await
    }

    /// Restores a deleted entry, with its mirrors.
    async fn restore_entry(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Entry> {
        let entry_id = parse_id(&id, "id")?;
        entries::restore(state(ctx)?, &actor(ctx)?, entry_id).await?;
        current(ctx, entry_id).await
    }
}
