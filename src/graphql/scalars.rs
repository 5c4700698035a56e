//! The API's value scalars: `Decimal` (money, percentages, weights, rates) and `Date`.
//!
//! Both travel as strings. On input they accept what a client might plausibly send (a JSON
//! number for money included) and keep it as typed, so the resolver can refuse it with
//! BAD_USER_INPUT naming the exact field (`payers[1].amount`) rather than a generic coercion
//! error; they are parsed into domain types ([`Money`], [`NaiveDate`]…) right there, once.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{Datelike, NaiveDate};

use crate::{
    error::{AppError, AppResult},
    ledger::{Money, Percent, Rate, Weight},
};

/// An exact decimal as a string: `"123.45"`. Money has at most 4 decimals; a JSON number is
/// refused, since it may already have passed through a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(Typed);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed {
    Text(String),
    /// A JSON number, kept only to be refused with its field named.
    Number(String),
}

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Decimal(Typed::Text(text))),
            Value::Number(number) => Ok(Decimal(Typed::Number(number.to_string()))),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        match &self.0 {
            Typed::Text(text) | Typed::Number(text) => Value::String(text.clone()),
        }
    }
}

impl Decimal {
    /// Output: the exact text of `value`.
    pub fn of(value: impl std::fmt::Display) -> Self {
        Decimal(Typed::Text(value.to_string()))
    }

    /// Output: `amount` with at least its currency's minor digits (`"100.00"` TWD, `"100"`
    /// JPY), more only when it has them. Exact: never rounded.
    pub fn amount(amount: Money, currency: &str) -> Self {
        match crate::ledger::Currency::parse(currency) {
            Ok(currency) => Decimal(Typed::Text(amount.format(currency))),
            Err(_) => Decimal::of(amount),
        }
    }

    fn text(&self, field: &str) -> AppResult<&str> {
        match &self.0 {
            Typed::Text(text) => Ok(text),
            Typed::Number(_) => Err(AppError::bad_input(
                field,
                "give amounts as decimal strings such as \"12.50\", not JSON numbers",
            )),
        }
    }

    /// A scale-4 value of type `T` (money, percent, weight), or BAD_USER_INPUT on `field`.
    fn scale4<T: std::str::FromStr<Err = crate::ledger::MoneyError>>(
        &self,
        field: &str,
    ) -> AppResult<T> {
        self.text(field)?
            .parse()
            .map_err(|error: crate::ledger::MoneyError| {
                AppError::bad_input(field, error.to_string())
            })
    }

    pub fn money(&self, field: &str) -> AppResult<Money> {
        self.scale4(field)
    }

    pub fn percent(&self, field: &str) -> AppResult<Percent> {
        self.scale4(field)
    }

    pub fn weight(&self, field: &str) -> AppResult<Weight> {
        self.scale4(field)
    }

    pub fn rate(&self, field: &str) -> AppResult<Rate> {
        self.text(field)?
            .parse()
            .map_err(|error: crate::ledger::RateError| {
                AppError::bad_input(field, error.to_string())
            })
    }
}

/// A calendar date, `"2026-11-22"` (ISO 8601), between 1970-01-01 and 9999-12-31.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(String);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Date(text)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

impl Date {
    /// Output.
    pub fn of(date: NaiveDate) -> Self {
        Date(date.format("%Y-%m-%d").to_string())
    }

    /// The date, or BAD_USER_INPUT on `field`.
    pub fn parse_on(&self, field: &str) -> AppResult<NaiveDate> {
        let date = NaiveDate::parse_from_str(&self.0, "%Y-%m-%d")
            .map_err(|_| AppError::bad_input(field, "expected a date such as \"2026-11-22\""))?;
        if !(1970..=9999).contains(&date.year()) {
            return Err(AppError::bad_input(
                field,
                "dates run from 1970-01-01 to 9999-12-31",
            ));
        }
        Ok(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_refused_by_field() {
        let number = Decimal::parse(Value::Number(12.into())).expect("kept");
        let error = number.money("amount").expect_err("refused");
        assert!(matches!(error, AppError::BadUserInput { field, .. } if field == "amount"));
        let text = Decimal::parse(Value::String("12.5".into())).expect("kept");
        assert_eq!(text.money("amount").ok(), "12.5".parse().ok());
    }

    #[test]
    fn dates_stay_within_1970_to_9999() {
        assert!(Date("2026-11-22".into()).parse_on("d").is_ok());
        assert!(Date("1969-12-31".into()).parse_on("d").is_err());
        assert!(Date("2026-02-30".into()).parse_on("d").is_err());
        assert!(Date("20261122".into()).parse_on("d").is_err());
    }
}
