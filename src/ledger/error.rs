//! Why a ledger computation refused its input.
//!
//! Every variant that blames a caller's input names the input `field` (see [`fields`]) and, where
//! one member is at fault, that `member`, so the service can answer BAD_USER_INPUT with
//! `extensions.field` and a message a person can act on. The messages never contain anything the
//! caller did not send (amounts and member ids only).

use super::{MemberId, Money, Percent, Weight};

/// Names of the inputs a [`LedgerError`] can blame, as the service's GraphQL inputs spell them.
pub mod fields {
    /// The entry amount (or a payment amount).
    pub const AMOUNT: &str = "amount";
    /// Who paid how much.
    pub const PAYERS: &str = "payers";
    /// The split rule and its per-member values.
    pub const SPLIT: &str = "split";
    /// The payee of a recorded payment.
    pub const TO: &str = "to";
}

/// A ledger rule the input breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// An amount that must be above zero is not.
    #[error("{field} must be greater than zero, got {amount}")]
    NonPositiveAmount { field: &'static str, amount: Money },

    /// A member list is empty.
    #[error("{field} must name at least one member")]
    NoMembers { field: &'static str },

    /// A member appears twice where each may appear once.
    #[error("{field} names member {member} more than once")]
    DuplicateMember {
        field: &'static str,
        member: MemberId,
    },

    /// A ratio outside 0–100 %.
    #[error("{field}: member {member}'s percentage must be between 0 and 100, got {percent}")]
    PercentOutOfRange {
        field: &'static str,
        member: MemberId,
        percent: Percent,
    },

    /// Ratios that do not add up to exactly 100 %.
    #[error("{field}: percentages must total exactly 100, got {total}")]
    PercentTotal { field: &'static str, total: Percent },

    /// A share weight of zero or below.
    #[error("{field}: member {member}'s share weight must be greater than zero, got {weight}")]
    NonPositiveWeight {
        field: &'static str,
        member: MemberId,
        weight: Weight,
    },

    /// An exact amount below zero.
    #[error("{field}: member {member}'s amount must not be negative, got {amount}")]
    NegativeExactAmount {
        field: &'static str,
        member: MemberId,
        amount: Money,
    },

    /// Exact amounts that do not add up to the entry amount.
    #[error("{field}: amounts must total the entry amount {expected}, got {total}")]
    ExactTotal {
        field: &'static str,
        expected: Money,
        total: Money,
    },

    /// Adjustments that leave a member owing a negative share.
    #[error("{field}: the adjustments leave member {member} with a negative share {share}")]
    NegativeShare {
        field: &'static str,
        member: MemberId,
        share: Money,
    },

    /// A payer listed with nothing (or less than nothing) paid.
    #[error("{field}: member {member} must pay more than zero, got {amount}")]
    NonPositivePayment {
        field: &'static str,
        member: MemberId,
        amount: Money,
    },

    /// Payers that do not add up to the entry amount.
    #[error("{field}: payments must total the entry amount {expected}, got {total}")]
    PayersTotal {
        field: &'static str,
        expected: Money,
        total: Money,
    },

    /// An entry whose payers and allocations differ, so it would create or destroy money.
    #[error("entry is unbalanced: payers total {paid} but allocations total {allocated}")]
    UnbalancedEffect { paid: Money, allocated: Money },

    /// Net balances that do not sum to zero (a corrupted book, never user input).
    #[error("net balances must total zero, got {total}")]
    UnbalancedNets { total: Money },

    /// A stored balance whose net is not paid − owed (corrupted data, never user input).
    #[error("member {member}'s stored balance is inconsistent: net is not paid minus owed")]
    InconsistentBalance { member: MemberId },

    /// A payment from a member to themself.
    #[error("{field}: a member cannot pay themself")]
    SelfPayment {
        field: &'static str,
        member: MemberId,
    },

    /// A payment that would overshoot: more than the payer owes overall, or more than the
    /// payee is owed overall, so one of them would turn from debtor into creditor or back.
    #[error(
        "{field}: paying {amount} from {from} to {to} would overshoot; at most {most} may be paid (what the payer owes or the payee is owed, whichever is less)"
    )]
    PaymentOvershoots {
        field: &'static str,
        from: MemberId,
        to: MemberId,
        amount: Money,
        most: Money,
    },

    /// A result outside the range of [`Money`] (±922,337,203,685,477.5807).
    #[error("amount out of range")]
    Overflow { field: Option<&'static str> },
}

impl LedgerError {
    /// The input to blame, for `extensions.field`; `None` when the fault is not in one input
    /// (stored data that no longer adds up, or a total too large to represent).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::NonPositiveAmount { field, .. }
            | Self::NoMembers { field }
            | Self::DuplicateMember { field, .. }
            | Self::PercentOutOfRange { field, .. }
            | Self::PercentTotal { field, .. }
            | Self::NonPositiveWeight { field, .. }
            | Self::NegativeExactAmount { field, .. }
            | Self::ExactTotal { field, .. }
            | Self::NegativeShare { field, .. }
            | Self::NonPositivePayment { field, .. }
            | Self::PayersTotal { field, .. }
            | Self::SelfPayment { field, .. }
            | Self::PaymentOvershoots { field, .. } => Some(field),
            Self::Overflow { field } => *field,
            Self::UnbalancedEffect { .. }
            | Self::UnbalancedNets { .. }
            | Self::InconsistentBalance { .. } => None,
        }
    }

    /// The one member the error is about, when there is one.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            Self::DuplicateMember { member, .. }
            | Self::PercentOutOfRange { member, .. }
            | Self::NonPositiveWeight { member, .. }
            | Self::NegativeExactAmount { member, .. }
            | Self::NegativeShare { member, .. }
            | Self::NonPositivePayment { member, .. }
            | Self::SelfPayment { member, .. }
            | Self::InconsistentBalance { member } => Some(*member),
            _ => None,
        }
    }

    /// Attaches `field` to an overflow that came from arithmetic on that input.
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        match self {
            Self::Overflow { field: None } => Self::Overflow { field: Some(field) },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn messages_name_the_field_and_the_member() {
        let member = Uuid::from_u128(7);
        let error = LedgerError::NonPositiveWeight {
            field: fields::SPLIT,
            member,
            weight: Weight::from_e4(0),
        };
        assert_eq!(error.field(), Some("split"));
        assert_eq!(error.member(), Some(member));
        assert_eq!(
            error.to_string(),
            format!("split: member {member}'s share weight must be greater than zero, got 0")
        );
    }

    #[test]
    fn overflow_takes_the_field_it_happened_in() {
        let error = LedgerError::Overflow { field: None }.in_field(fields::PAYERS);
        assert_eq!(error.field(), Some("payers"));
        assert_eq!(LedgerError::Overflow { field: None }.field(), None);
    }
}
