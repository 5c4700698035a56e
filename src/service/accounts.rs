//! Accounts: registering, logging in, the caller's profile and password.
//!
//! Email and name are stored only as AES-256-GCM ciphertexts bound to their row and column;
//! the email is found and kept unique through its HMAC blind index. Login answers the same
//! error, after the same argon2 work, for an unknown email and a wrong password, and failed
//! attempts are throttled per email and per client address.

use std::{net::IpAddr, sync::Arc};

use entity::{enums::BookKind, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use secrecy::SecretString;
use uuid::Uuid;

use crate::{
    auth::{
        password::{Password, hash_password, needs_rehash, verify_login, verify_password},
        pii::{Email, UserName, aad},
    },
    error::{AppError, AppResult},
    events::Event,
    ledger::Currency,
    service::{
        Actor,
        books::{self, DEFAULT_CURRENCY, NewBook},
        now,
        sessions::{self, Family, Session},
        throttle::{self, Subject},
        unit_of_work::UnitOfWork,
    },
    state::AppState,
};

const EMAIL_COLUMN: &str = "users.email";
const NAME_COLUMN: &str = "users.name";

/// A user as the API shows them, decrypted.
#[derive(Debug, Clone)]
pub struct PublicUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The users among `ids` that exist, as members see them, in no particular order: from this
/// instance's [`profiles`](crate::service::profiles) cache, and the rest in one statement.
pub async fn public_users(state: &AppState, ids: &[Uuid]) -> AppResult<Vec<PublicUser>> {
    let profiles = state.events.profiles();
    let (found, missing) = profiles.get(ids);
    let mut users: Vec<PublicUser> = found.iter().map(|user| PublicUser::clone(user)).collect();
    if missing.is_empty() {
        return Ok(users);
    }
    let started = profiles.generation();
    let read = user::Entity::find()
        .filter(user::Column::Id.is_in(missing))
        .all(&state.db)
        .await?
        .iter()
        .map(|row| reveal(state, row).map(Arc::new))
        .collect::<AppResult<Vec<_>>>()?;
    profiles.fill(started, &read);
    users.extend(read.iter().map(|user| PublicUser::clone(user)));
    Ok(users)
}

/// Decrypts a stored user. A ciphertext that fails to decrypt is an internal error (a wrong key
/// or tampered row), never shown as garbage.
pub fn reveal(state: &AppState, row: &user::Model) -> AppResult<PublicUser> {
    let key_id = u16::try_from(row.pii_key_id).map_err(AppError::internal)?;
    let pii = &state.keys.pii;
    Ok(PublicUser {
        id: row.id,
        email: pii.decrypt(key_id, &row.email_ciphertext, &aad(EMAIL_COLUMN, row.id))?,
        name: pii.decrypt(key_id, &row.name_ciphertext, &aad(NAME_COLUMN, row.id))?,
        created_at: row.created_at,
    })
}

/// What `register` needs, as typed by the client.
pub struct Registration<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

/// Creates an account with its personal book and starts a session.
///
/// Registrations are throttled per client address, and a taken email costs the same password
/// hash as a new one before its CONFLICT: the answer's timing does not tell which emails have
/// accounts (its message does, as any sign-up form must; the throttle makes asking slow).
/// Uniqueness is the unique index's decision, so two racing registrations of one email create
/// one account.
pub async fn register(
    state: &AppState,
    input: Registration<'_>,
    client: Option<IpAddr>,
) -> AppResult<(PublicUser, Session)> {
    let email = Email::parse(input.email)?;
    let name = UserName::parse(input.name)?;
    let password = Password::parse(input.password)?;
    if let Some(address) = client {
        let per_hour = state.config.registrations_per_hour;
        let subject = Subject::registrations(&state.keys.pii, address, per_hour);
        throttle::attempt(state, &[subject], now()).await?;
    }
    let blind_index = state.keys.pii.blind_index(&email);
    let password_hash = hash_password(password.into_secret()).await?;

    let id = Uuid::now_v7();
    let at = now();
    let mut row = user::ActiveModel {
        id: Set(id),
        email_blind_index: Set(blind_index.to_vec()),
        password_hash: Set(password_hash),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    };
    seal(state, &mut row, id, email.as_str(), name.as_str())?;
    let work = UnitOfWork::begin(state).await?;
    let row = row.insert(work.txn()).await.map_err(|error| {
        AppError::unique_violation_or(error, "uq_users_email_blind_index", email_taken)
    })?;
    let currency = Currency::parse(DEFAULT_CURRENCY).map_err(AppError::internal)?;
    books::insert_book(
        work.txn(),
        id,
        NewBook {
            name: "Personal".into(),
            description: None,
            kind: BookKind::Personal,
            currency,
        },
    )
    .await?;
    let session = sessions::start(state, work.txn(), id, Family::New).await?;
    work.commit(state).await?;
    Ok((reveal(state, &row)?, session))
}

/// Encrypts email and name together under the current write key: a row's two ciphertexts
/// always share the key id stored beside them.
fn seal(
    state: &AppState,
    row: &mut user::ActiveModel,
    id: Uuid,
    email: &str,
    name: &str,
) -> AppResult<()> {
    let pii = &state.keys.pii;
    let email = pii.encrypt(email, &aad(EMAIL_COLUMN, id))?;
    let name = pii.encrypt(name, &aad(NAME_COLUMN, id))?;
    row.email_ciphertext = Set(email.ciphertext);
    row.name_ciphertext = Set(name.ciphertext);
    row.pii_key_id = Set(i16::try_from(email.key_id).map_err(AppError::internal)?);
    Ok(())
}

/// Re-encrypts a row written under a retired key, so a key can be dropped once every active
/// user has been seen. The write is conditional on the ciphertexts it replaces: the row was read
/// before argon2 ran, and a profile change that landed meanwhile must not be undone (the row is
/// then current anyway). Returns the row as stored.
async fn reseal_if_stale(state: &AppState, row: user::Model) -> AppResult<user::Model> {
    let key_id = u16::try_from(row.pii_key_id).map_err(AppError::internal)?;
    if !state.keys.pii.needs_reencrypt(key_id) {
        return Ok(row);
    }
    let plain = reveal(state, &row)?;
    let mut sealed: user::ActiveModel = row.clone().into();
    seal(state, &mut sealed, plain.id, &plain.email, &plain.name)?;
    let work = UnitOfWork::begin(state).await?;
    user::Entity::update_many()
        .set(sealed)
        .filter(user::Column::Id.eq(row.id))
        .filter(user::Column::PiiKeyId.eq(row.pii_key_id))
        .filter(user::Column::EmailCiphertext.eq(row.email_ciphertext.clone()))
        .filter(user::Column::NameCiphertext.eq(row.name_ciphertext.clone()))
        .exec(work.txn())
        .await?;
    work.commit(state).await?;
    // Whether this write or a concurrent one won, the stored row is the current one.
    load(state, row.id).await
}

/// Re-hashes a password just verified against a hash made with weaker settings than today's,
/// so raising the argon2 cost reaches every account that logs in. Conditional on the hash that
/// was verified: a `changePassword` that committed while this login hashed wins.
async fn rehash_if_weak(state: &AppState, row: &user::Model, password: &str) -> AppResult<()> {
    if !needs_rehash(&row.password_hash) {
        return Ok(());
    }
    let password_hash = hash_password(SecretString::from(password.to_owned())).await?;
    let work = UnitOfWork::begin(state).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .filter(user::Column::Id.eq(row.id))
        .filter(user::Column::PasswordHash.eq(row.password_hash.clone()))
        .exec(work.txn())
        .await?;
    work.commit(state).await
}

fn email_taken() -> AppError {
    AppError::Conflict {
        message: "an account with this email already exists".into(),
        current_version: None,
    }
}

async fn find_by_blind_index(
    state: &AppState,
    blind_index: &[u8; 32],
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailBlindIndex.eq(blind_index.to_vec()))
        .one(&state.db)
        .await?)
}

/// Logs in with email and password; the same UNAUTHENTICATED answer, after the same amount of
/// hashing work, whether the email is unknown or the password wrong.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    client: Option<IpAddr>,
) -> AppResult<(PublicUser, Session)> {
    let pii = &state.keys.pii;
    // An email that does not even parse is throttled under its raw text, so garbage cannot be
    // used to dodge the per-email limit.
    let email = Email::parse(email).ok();
    let email_subject = Subject::email(pii, email.as_ref().map_or(UNPARSABLE_EMAIL, Email::as_str));
    let mut subjects = vec![email_subject];
    if let Some(address) = client {
        subjects.push(Subject::address(pii, address));
    }
    // The attempt is taken before the password is checked, so a burst is evaluated at most
    // as often as the limits allow; a failure keeps its place, a success gives it back.
    let attempts = throttle::attempt(state, &subjects, now()).await?;

    let row = match &email {
        Some(email) => find_by_blind_index(state, &pii.blind_index(email)).await?,
        None => None,
    };
    let secret = SecretString::from(password.to_owned());
    let verified = verify_login(secret, row.as_ref().map(|row| row.password_hash.clone())).await?;
    let Some(row) = row.filter(|_| verified) else {
        return Err(AppError::Unauthenticated);
    };
    // The email's attempts are cleared; the address's place goes back.
    throttle::clear(state, &subjects[0], attempts.into_iter().skip(1)).await?;
    let row = reseal_if_stale(state, row).await?;
    rehash_if_weak(state, &row, password).await?;
    let work = UnitOfWork::begin(state).await?;
    let session = sessions::start(state, work.txn(), row.id, Family::New).await?;
    work.commit(state).await?;
    Ok((reveal(state, &row)?, session))
}

/// Every refresh token of a user: a password change ends all of their sessions.
fn user_sessions(user_id: Uuid) -> impl sea_orm::sea_query::IntoCondition {
    entity::refresh_token::Column::UserId.eq(user_id)
}

/// Throttle key for an unparsable email: a constant, so all such attempts share one budget.
const UNPARSABLE_EMAIL: &str = "<unparsable email>";

/// The caller's own account.
pub async fn me(state: &AppState, actor: &Actor) -> AppResult<PublicUser> {
    let row = load(state, actor.user_id).await?;
    reveal(state, &row)
}

async fn load(state: &AppState, user_id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Renames the caller, and tells every instance to forget the old profile
/// ([`Event::ProfileChanged`]) once the new one is committed.
pub async fn update_profile(state: &AppState, actor: &Actor, name: &str) -> AppResult<PublicUser> {
    actor.ensure_may_write()?;
    let name = UserName::parse(name)?;
    let row = load(state, actor.user_id).await?;
    let email = reveal(state, &row)?.email;
    let mut active: user::ActiveModel = row.into();
    seal(state, &mut active, actor.user_id, &email, name.as_str())?;
    active.updated_at = Set(now());
    let mut work = UnitOfWork::begin(state).await?;
    let row = active.update(work.txn()).await?;
    work.publish(Event::ProfileChanged {
        user_id: actor.user_id,
    });
    work.commit(state).await?;
    reveal(state, &row)
}

/// Changes the caller's password after checking the current one, ends every session, and
/// starts a fresh one for the caller: other devices must log in again.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    current: &str,
    new: &str,
) -> AppResult<(PublicUser, Session)> {
    actor.ensure_session()?;
    let new = Password::parse(new).map_err(|_| {
        AppError::bad_input(
            "newPassword",
            "use 8 to 128 characters with an upper-case letter, a lower-case letter and a digit",
        )
    })?;
    let subject = Subject::password_changes(&state.keys.pii, actor.user_id);
    let attempt = throttle::attempt(state, &[subject], now()).await?;
    let row = load(state, actor.user_id).await?;
    let current_ok = verify_password(
        SecretString::from(current.to_owned()),
        row.password_hash.clone(),
    )
    .await?;
    if !current_ok {
        return Err(AppError::bad_input(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    throttle::refund(state, attempt).await?;
    let password_hash = hash_password(new.into_secret()).await?;
    let mut work = UnitOfWork::begin(state).await?;
    // The authoritative write: the caller just proved the current password. The writes that
    // run behind a login's hashing (rehash, reseal) are the conditional ones, so they can never
    // undo this.
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(row.id))
        .exec(work.txn())
        .await?;
    sessions::revoke(&mut work, user_sessions(row.id)).await?;
    let session = sessions::start(state, work.txn(), row.id, Family::New).await?;
    work.commit(state).await?;
    Ok((reveal(state, &row)?, session))
}
