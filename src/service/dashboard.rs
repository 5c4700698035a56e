//! A book's month at a glance (seed 003, properties 39–40): what was spent and received, where
//! the spending went by category, the latest entries, the caller's balance, and, for the
//! book's managers only, what each member paid and shared that month.
//!
//! Amounts are never added across currencies: a personal book's mirrors keep their source's
//! currency, so totals and category breakdowns come per currency. Within a currency the
//! category amounts add up exactly to the spending total, and their percentages to exactly
//! 100 (largest remainder, [`percentages`]).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use entity::{entry, enums::EntryKind, enums::Role};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    ledger::{self, Balance, EntryEffect, Money, Percent, percentages},
    service::{
        access::{self, BookAccess},
        balances, entries,
    },
};

/// How many of the month's entries the dashboard shows.
pub const RECENT_ENTRIES: usize = 10;

/// A month, parsed from `"YYYY-MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Month {
    pub fn parse(text: &str) -> AppResult<Self> {
        let invalid = || AppError::bad_input("month", "expected a month such as \"2026-11\"");
        let (year, month) = text.split_once('-').ok_or_else(invalid)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        if year < 1970 {
            return Err(AppError::bad_input("month", "months start at 1970-01"));
        }
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(invalid)?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(invalid)?;
        let last = next.pred_opt().ok_or_else(invalid)?;
        Ok(Self { first, last })
    }

    /// `"YYYY-MM"`.
    pub fn label(&self) -> String {
        format!("{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// Spending and income in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub currency: String,
    pub expenses: Money,
    pub income: Money,
}

/// One category's part of a currency's spending (`category_id` `None`: uncategorised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryShare {
    pub currency: String,
    pub category_id: Option<Uuid>,
    pub amount: Money,
    pub count: u64,
    pub percent: Percent,
}

/// The month's dashboard.
pub struct Dashboard {
    pub month: Month,
    pub totals: Vec<Totals>,
    pub categories: Vec<CategoryShare>,
    pub recent: Vec<entry::Model>,
    /// The caller's balance in the book now.
    pub my_balance: Balance,
    /// Each member's paid, share and net that month, in the book's currency; only for ADMIN and
    /// up (`None` for everyone else).
    pub members: Option<BTreeMap<Uuid, Balance>>,
}

/// The dashboard of `month` for a member of the book.
pub async fn month(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    month: Month,
) -> AppResult<Dashboard> {
    let rows = entry::Entity::find()
        .filter(entry::Column::BookId.eq(access.book_id()))
        .filter(entry::Column::DeletedAt.is_null())
        .filter(entry::Column::OccurredOn.gte(month.first))
        .filter(entry::Column::OccurredOn.lte(month.last))
        .order_by_desc(entry::Column::OccurredOn)
        .order_by_desc(entry::Column::Id)
        .all(db)
        .await?;
    let totals = totals(&rows)?;
    let categories = categories(&rows)?;
    let my_balance = balances::of_book(db, access.book_id())
        .await?
        .remove(&access.member_id())
        .unwrap_or_default();
    // Per-member analytics are for the book's managers.
    let members = if access::at_least(access.role(), Role::Admin) {
        Some(member_analytics(db, access, &rows).await?)
    } else {
        None
    };
    Ok(Dashboard {
        month,
        totals,
        categories,
        recent: rows.into_iter().take(RECENT_ENTRIES).collect(),
        my_balance,
        members,
    })
}

fn totals(rows: &[entry::Model]) -> AppResult<Vec<Totals>> {
    let mut by_currency: BTreeMap<&str, (Vec<Money>, Vec<Money>)> = BTreeMap::new();
    for row in rows {
        let (expenses, income) = by_currency.entry(&row.currency).or_default();
        match row.kind {
            EntryKind::Expense => expenses.push(Money::from_e4(row.amount_e4)),
            EntryKind::Income => income.push(Money::from_e4(row.amount_e4)),
            EntryKind::Transfer => {}
        }
    }
    by_currency
        .into_iter()
        .map(|(currency, (expenses, income))| {
            Ok(Totals {
                currency: currency.to_owned(),
                expenses: Money::checked_sum(expenses)?,
                income: Money::checked_sum(income)?,
            })
        })
        .collect()
}

fn categories(rows: &[entry::Model]) -> AppResult<Vec<CategoryShare>> {
    // currency → category → its share so far.
    let mut by_currency: BTreeMap<&str, BTreeMap<Option<Uuid>, CategoryShare>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.kind == EntryKind::Expense) {
        let share = by_currency
            .entry(&row.currency)
            .or_default()
            .entry(row.category_id)
            .or_insert_with(|| CategoryShare {
                currency: row.currency.clone(),
                category_id: row.category_id,
                amount: Money::ZERO,
                count: 0,
                percent: Percent::from_e4(0),
            });
        share.amount = share.amount.checked_add(Money::from_e4(row.amount_e4))?;
        share.count += 1;
    }
    let mut shares = Vec::new();
    for list in by_currency.into_values() {
        let mut list: Vec<CategoryShare> = list.into_values().collect();
        let parts: Vec<_> = list
            .iter()
            .map(|share| (share.category_id.unwrap_or_default(), share.amount))
            .collect();
        for (share, percent) in list.iter_mut().zip(percentages(&parts)) {
            share.percent = percent;
        }
        list.sort_by(|a, b| {
            b.amount
                .cmp(&a.amount)
                .then(a.category_id.cmp(&b.category_id))
        });
        shares.extend(list);
    }
    Ok(shares)
}

/// What each member paid and shared in the month's entries in the book's currency.
async fn member_analytics(
    db: &impl ConnectionTrait,
    access: &BookAccess,
    rows: &[entry::Model],
) -> AppResult<BTreeMap<Uuid, Balance>> {
    let own: Vec<&entry::Model> = rows
        .iter()
        .filter(|row| row.currency == access.book().currency)
        .collect();
    let ids: Vec<Uuid> = own.iter().map(|row| row.id).collect();
    let mut payers = entries::query::payers_of(db, &ids).await?;
    let mut shares = entries::query::shares_of(db, &ids).await?;
    let effects: Vec<EntryEffect> = own
        .iter()
        .map(|row| EntryEffect {
            kind: entries::ledger_kind(row.kind),
            payers: payers
                .remove(&row.id)
                .unwrap_or_default()
                .iter()
                .map(|p| (p.member_id, Money::from_e4(p.amount_e4)))
                .collect(),
            allocations: shares
                .remove(&row.id)
                .unwrap_or_default()
                .iter()
                .map(|a| (a.member_id, Money::from_e4(a.calculated_e4)))
                .collect(),
        })
        .collect();
    Ok(ledger::balances(&effects)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_strict() {
        let november = Month::parse("2026-11").expect("a month");
        assert_eq!(
            november.first,
            NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
        );
        assert_eq!(
            november.last,
            NaiveDate::from_ymd_opt(2026, 11, 30).expect("date")
        );
        assert_eq!(Month::parse("2024-02").expect("leap").last.day(), 29);
        assert_eq!(Month::parse("9999-12").expect("last").label(), "9999-12");
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "1969-12",
            "2026-11-01",
            "",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }
}
