//! `users`: an account. Email and name are stored only encrypted (AES-256-GCM by the app);
//! uniqueness of the email is enforced on a keyed hash of it, the blind index.

use sea_orm::entity::prelude::*;

#[sea_orm::compact_model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Nonce ‖ ciphertext of the normalised email address.
    #[sea_orm(column_type = "Blob")]
    pub email_ciphertext: Vec<u8>,
    /// Nonce ‖ ciphertext of the display name.
    #[sea_orm(column_type = "Blob")]
    pub name_ciphertext: Vec<u8>,
    /// Which PII key encrypted the two columns above, so keys can be rotated row by row.
    pub pii_key_id: i16,
    /// HMAC-SHA256 of the normalised email (32 bytes); unique (`uq_users_email_blind_index`).
    #[sea_orm(column_type = "Blob", unique)]
    pub email_blind_index: Vec<u8>,
    /// Argon2 PHC string.
    #[sea_orm(column_type = "Text")]
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::refresh_token::Entity")]
    RefreshTokens,
    #[sea_orm(has_many = "super::access_token::Entity")]
    AccessTokens,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::refresh_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshTokens.def()
    }
}

impl Related<super::access_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AccessTokens.def()
    }
}

/// Books the user belongs to, through `memberships`.
impl Related<super::book::Entity> for Entity {
    fn to() -> RelationDef {
        super::membership::Relation::Book.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::membership::Relation::User.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
