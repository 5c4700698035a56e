//! [`Percent`] and [`Weight`]: the scale-4 values a RATIO or SHARES split is given per member.
//!
//! They are distinct types from [`Money`](super::Money) (and each other) so a percentage cannot
//! be passed where an amount is meant. Both parse and print like money (decimal strings, at most
//! 4 decimals). Range rules (0–100 %, weight > 0) are checked by
//! [`allocate`](super::allocate), which can then say which member's value is wrong.

use std::fmt;
use std::str::FromStr;

use super::MoneyError;
use super::decimal::{self, E4Visitor};

macro_rules! scale4_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(i64);

        impl $name {
            /// The value in ten-thousandths.
            pub const fn from_e4(e4: i64) -> $name {
                $name(e4)
            }

            /// The value in ten-thousandths.
            pub const fn e4(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&decimal::format_e4(self.0, 0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = MoneyError;

            fn from_str(text: &str) -> Result<$name, MoneyError> {
                decimal::parse_e4(text).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_str(E4Visitor).map($name)
            }
        }
    };
}

scale4_newtype!(
    /// A percentage with up to 4 decimals: `"33.3333"` is `Percent::from_e4(333_333)`, and
    /// 100 % is [`Percent::HUNDRED`].
    Percent
);

scale4_newtype!(
    /// A share weight with up to 4 decimals (`"2"`, `"1.5"`, a meter reading `"1234.5678"`);
    /// only the ratios between members' weights matter.
    Weight
);

impl Percent {
    /// 100 %, what a RATIO split's percentages must total.
    pub const HUNDRED: Percent = Percent(100 * 10_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_like_money() {
        assert_eq!("33.3333".parse::<Percent>(), Ok(Percent::from_e4(333_333)));
        assert_eq!("100".parse::<Percent>(), Ok(Percent::HUNDRED));
        assert_eq!(Weight::from_e4(15_000).to_string(), "1.5");
        assert_eq!(format!("{:?}", Weight::from_e4(15_000)), "Weight(1.5)");
        assert_eq!(
            "1.23456".parse::<Weight>(),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(
            serde_json::to_string(&Percent::from_e4(5)).unwrap(),
            "\"0.0005\""
        );
        assert_eq!(
            serde_json::from_str::<Weight>("\"2\"").unwrap(),
            Weight::from_e4(20_000)
        );
    }
}
