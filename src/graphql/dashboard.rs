//! `Book.dashboard(month)`: a month at a glance. The numbers come from
//! [`crate::service::dashboard`]; this is their shape in the API.

use async_graphql::{Context, Object};

use crate::{
    graphql::{
        categories::Category,
        entries::{Entry, MemberBalance},
        loaders::{CategoryKey, loaders},
        scalars::Decimal,
    },
    service::dashboard,
};

/// One month of a book.
pub struct Dashboard {
    inner: dashboard::Dashboard,
    /// The book's currency (balances are in it).
    currency: String,
    viewer: uuid::Uuid,
    my_seat: uuid::Uuid,
}

impl Dashboard {
    pub fn new(
        inner: dashboard::Dashboard,
        currency: String,
        viewer: uuid::Uuid,
        my_seat: uuid::Uuid,
    ) -> Self {
        Self {
            inner,
            currency,
            viewer,
            my_seat,
        }
    }
}

#[Object]
impl Dashboard {
    /// `"YYYY-MM"`.
    async fn month(&self) -> String {
        self.inner.month.label()
    }

    /// Spending and income per currency (never added across currencies).
    async fn totals(&self) -> Vec<CurrencyTotals> {
        self.inner
            .totals
            .iter()
            .cloned()
            .map(CurrencyTotals)
            .collect()
    }

    /// Spending by category, per currency, largest first. The amounts of a currency add up to
    /// its spending total and the percentages to exactly 100.
    async fn categories(&self) -> Vec<CategorySpending> {
        self.inner
            .categories
            .iter()
            .cloned()
            .map(CategorySpending)
            .collect()
    }

    /// The month's 10 latest entries.
    async fn recent_entries(&self) -> Vec<Entry> {
        self.inner
            .recent
            .iter()
            .cloned()
            .map(|row| Entry::new(row, self.viewer))
            .collect()
    }

    /// The caller's balance in the book now.
    async fn my_balance(&self) -> MemberBalance {
        MemberBalance::new(self.my_seat, self.inner.my_balance, self.currency.clone())
    }

    /// What each member paid, shared and netted this month (in the book's currency). Only for
    /// ADMINs and the OWNER; null for everyone else.
    async fn members(&self) -> Option<Vec<MemberBalance>> {
        self.inner.members.as_ref().map(|members| {
            members
                .iter()
                .map(|(&seat, &balance)| MemberBalance::new(seat, balance, self.currency.clone()))
                .collect()
        })
    }
}

/// Spending and income in one currency.
pub struct CurrencyTotals(dashboard::Totals);

#[Object]
impl CurrencyTotals {
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    async fn expenses(&self) -> Decimal {
        Decimal::amount(self.0.expenses, &self.0.currency)
    }

    async fn income(&self) -> Decimal {
        Decimal::amount(self.0.income, &self.0.currency)
    }
}

/// One category's part of a currency's spending.
pub struct CategorySpending(dashboard::CategoryShare);

#[Object]
impl CategorySpending {
    /// Null for uncategorised spending.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let Some(id) = self.0.category_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(CategoryKey(id)).await?.map(Category))
    }

    async fn currency(&self) -> &str {
        &self.0.currency
    }

    async fn amount(&self) -> Decimal {
        Decimal::amount(self.0.amount, &self.0.currency)
    }

    /// How many entries.
    async fn count(&self) -> u64 {
        self.0.count
    }

    /// Share of the currency's spending, in percent with 2 decimals.
    async fn percent(&self) -> Decimal {
        Decimal::of(self.0.percent)
    }
}
