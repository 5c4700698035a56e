//! Taking a book's data along: every live entry with its payers and split, as CSV for
//! spreadsheets or as a versioned JSON document (`tally.book/1`) complete enough to rebuild the
//! entries elsewhere.
//!
//! CSV cells are neutralised against formula injection (OWASP "CSV injection"): a cell a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) gets a leading `'`, unless it is a plain number such as `-5.00`, which stays a
//! number.

use std::collections::BTreeMap;

use entity::{allocation, entry, entry_payer, membership};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{self, EntryEffect, Money},
    service::{access::BookAccess, accounts, entries, members},
    state::AppState,
};

/// The JSON document's format name; bump it when its shape changes.
pub const FORMAT: &str = "tally.book/1";

/// What an export holds, loaded once for either format.
struct Book {
    entries: Vec<entry::Model>,
    payers: BTreeMap<Uuid, Vec<entry_payer::Model>>,
    shares: BTreeMap<Uuid, Vec<allocation::Model>>,
    modes: BTreeMap<Uuid, entity::enums::SplitMode>,
    /// Every seat any entry names, and every live one, with its display name.
    seats: Vec<(membership::Model, String)>,
}

async fn load(state: &AppState, access: &BookAccess) -> AppResult<Book> {
    let db = &state.db;
    let entries = entry::Entity::find()
        .filter(entry::Column::BookId.eq(access.book_id()))
        .filter(entry::Column::DeletedAt.is_null())
        .order_by_asc(entry::Column::OccurredOn)
        .order_by_asc(entry::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = entries.iter().map(|row| row.id).collect();
    let payers: BTreeMap<_, _> = entries::query::payers_of(db, &ids)
        .await?
        .into_iter()
        .collect();
    let shares: BTreeMap<_, _> = entries::query::shares_of(db, &ids)
        .await?
        .into_iter()
        .collect();
    let modes = entries::query::splits_of(db, &ids)
        .await?
        .into_iter()
        .map(|(id, split)| (id, split.mode))
        .collect();
    let seat_rows = membership::Entity::find()
        .filter(membership::Column::BookId.eq(access.book_id()))
        .order_by_asc(membership::Column::JoinedAt)
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let mut seats = Vec::with_capacity(seat_rows.len());
    for seat in seat_rows {
        let name = display_name(state, db, &seat).await?;
        seats.push((seat, name));
    }
    Ok(Book {
        entries,
        payers,
        shares,
        modes,
        seats,
    })
}

async fn display_name(
    state: &AppState,
    db: &impl ConnectionTrait,
    seat: &membership::Model,
) -> AppResult<String> {
    if let Some(name) = members::guest_name(state, seat)? {
        return Ok(name);
    }
    let Some(user_id) = seat.user_id else {
        return Ok(String::new());
    };
    match entity::user::Entity::find_by_id(user_id).one(db).await? {
        Some(row) => Ok(accounts::reveal(state, &row)?.name),
        None => Ok(String::new()),
    }
}

/// The book as a `tally.book/1` JSON document.
pub async fn json(state: &AppState, access: &BookAccess) -> AppResult<String> {
    let book = load(state, access).await?;
    let amount = |e4: i64| Money::from_e4(e4).to_string();
    let entries: Vec<Value> = book
        .entries
        .iter()
        .map(|row| {
            let payers: Vec<Value> = book
                .payers
                .get(&row.id)
                .into_iter()
                .flatten()
                .map(|p| json!({ "memberId": p.member_id, "amount": amount(p.amount_e4) }))
                .collect();
            let allocations: Vec<Value> = book
                .shares
                .get(&row.id)
                .into_iter()
                .flatten()
                .map(|a| {
                    json!({
                        "memberId": a.member_id,
                        "amount": amount(a.calculated_e4),
                        "ratio": a.ratio_e4.map(|e4| ledger::Percent::from_e4(e4).to_string()),
                        "shares": a.shares_e4.map(|e4| ledger::Weight::from_e4(e4).to_string()),
                        "exact": a.exact_e4.map(amount),
                        "adjustment": a.adjustment_e4.map(amount),
                    })
                })
                .collect();
            let mut fields = entries::row_fields(row);
            fields.insert("id".into(), json!(row.id));
            fields.insert("sourceEntryId".into(), json!(row.source_entry_id));
            fields.insert("payers".into(), Value::Array(payers));
            fields.insert(
                "split".into(),
                json!({ "mode": book.modes.get(&row.id), "allocations": allocations }),
            );
            Value::Object(fields)
        })
        .collect();
    let members: Vec<Value> = book
        .seats
        .iter()
        .map(|(seat, name)| {
            json!({
                "id": seat.id,
                "name": name,
                "isGuest": seat.user_id.is_none(),
                "removed": seat.removed_at.is_some(),
            })
        })
        .collect();
    let document = json!({
        "format": FORMAT,
        "book": {
            "id": access.book_id(),
            "name": access.book().name,
            "kind": access.book().kind,
            "currency": access.book().currency,
        },
        "members": members,
        "entries": entries,
    });
    serde_json::to_string_pretty(&document).map_err(AppError::internal)
}

/// The book as CSV: one row per entry, then one column per member with the entry's effect on
/// their net.
pub async fn csv(state: &AppState, access: &BookAccess) -> AppResult<String> {
    let book = load(state, access).await?;
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "id",
        "occurred_on",
        "kind",
        "description",
        "amount",
        "currency",
        "original_amount",
        "original_currency",
        "exchange_rate",
        "payers",
        "split_mode",
        "shares",
        "note",
    ]
    .iter()
    .map(|column| (*column).to_owned())
    .collect();
    header.extend(book.seats.iter().map(|(_, name)| format!("net: {name}")));
    out.write_record(header.iter().map(|cell| neutralised(cell).into_owned()))
        .map_err(AppError::internal)?;
    let names: BTreeMap<Uuid, &str> = book
        .seats
        .iter()
        .map(|(seat, name)| (seat.id, name.as_str()))
        .collect();
    let listed = |list: Vec<(Uuid, Money)>| {
        list.iter()
            .map(|(seat, amount)| format!("{}: {amount}", names.get(seat).unwrap_or(&"?")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    for row in &book.entries {
        let payers: Vec<(Uuid, Money)> = book
            .payers
            .get(&row.id)
            .into_iter()
            .flatten()
            .map(|p| (p.member_id, Money::from_e4(p.amount_e4)))
            .collect();
        let shares: Vec<(Uuid, Money)> = book
            .shares
            .get(&row.id)
            .into_iter()
            .flatten()
            .map(|a| (a.member_id, Money::from_e4(a.calculated_e4)))
            .collect();
        let effect = EntryEffect {
            kind: entries::ledger_kind(row.kind),
            payers: payers.clone(),
            allocations: shares.clone(),
        };
        let nets: BTreeMap<Uuid, Money> = effect
            .delta()?
            .into_iter()
            .map(|(seat, delta)| (seat, delta.net))
            .collect();
        let mut record = vec![
            row.id.to_string(),
            row.occurred_on.to_string(),
            serde_json::to_value(row.kind)
                .ok()
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default(),
            row.description.clone(),
            Money::from_e4(row.amount_e4).to_string(),
            row.currency.clone(),
            row.original_amount_e4
                .map(|e4| Money::from_e4(e4).to_string())
                .unwrap_or_default(),
            row.original_currency.clone().unwrap_or_default(),
            row.exchange_rate.clone().unwrap_or_default(),
            listed(payers),
            book.modes
                .get(&row.id)
                .and_then(|mode| serde_json::to_value(mode).ok())
                .and_then(|mode| mode.as_str().map(str::to_owned))
                .unwrap_or_default(),
            listed(shares),
            row.note.clone().unwrap_or_default(),
        ];
        record.extend(book.seats.iter().map(|(seat, _)| {
            nets.get(&seat.id)
                .map(ToString::to_string)
                .unwrap_or_default()
        }));
        out.write_record(record.iter().map(|cell| neutralised(cell).into_owned()))
            .map_err(AppError::internal)?;
    }
    let bytes = out.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// A cell as written to CSV: one a spreadsheet would run as a formula gets a leading `'`,
/// unless it is a plain number (`-5.00` stays a number).
pub fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell.parse::<Money>().is_ok();
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(neutralised("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralised("+1+2"), "'+1+2");
        assert_eq!(neutralised("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralised("\tcmd"), "'\tcmd");
        assert_eq!(neutralised("-5.00"), "-5.00");
        assert_eq!(neutralised("-5.00 oops"), "'-5.00 oops");
        assert_eq!(neutralised("Dinner"), "Dinner");
    }
}
