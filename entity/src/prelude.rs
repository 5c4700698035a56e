//! `use entity::prelude::*` brings every entity in under its singular name (`Entry`), plus
//! the column enums.

pub use crate::access_token::Entity as AccessToken;
pub use crate::activity_log::Entity as ActivityLog;
pub use crate::allocation::Entity as Allocation;
pub use crate::book::Entity as Book;
pub use crate::category::Entity as Category;
pub use crate::entry::Entity as Entry;
pub use crate::entry_payer::Entity as EntryPayer;
pub use crate::enums::{BookKind, EntryKind, Role, SplitMode, TokenScope};
pub use crate::idempotency_key::Entity as IdempotencyKey;
pub use crate::invite::Entity as Invite;
pub use crate::member_balance::Entity as MemberBalance;
pub use crate::membership::Entity as Membership;
pub use crate::refresh_token::Entity as RefreshToken;
pub use crate::settlement::Entity as Settlement;
pub use crate::split::Entity as Split;
pub use crate::throttle_counter::Entity as ThrottleCounter;
pub use crate::user::Entity as User;
