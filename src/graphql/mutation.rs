//! The mutation root: one object per area, merged.

use async_graphql::MergedObject;

use crate::graphql::{
    accounts::AccountMutation,
    books::BookMutation,
    categories::CategoryMutation,
    entries::EntryMutation,
    invites::InviteMutation,
    members::MemberMutation,
    settling::{SettlementMutation, SettlingMutation},
};

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    AccountMutation,
    BookMutation,
    MemberMutation,
    InviteMutation,
    CategoryMutation,
    EntryMutation,
    SettlingMutation,
    SettlementMutation,
);
