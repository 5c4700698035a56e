//! Cryptographic primitives for accounts and authentication.
//!
//! Everything here is self-contained: no database, no HTTP, no GraphQL (the only other module
//! used is the pure [`crate::text`], whose rules a user's name shares with every other name).
//! The services call these pieces; the pieces never call back out. Each submodule is small and
//! owns one job:
//!
//! - [`password`]: the [`password::Password`] policy type (8..=128 characters, upper, lower,
//!   digit) and argon2id hashing/verification in `spawn_blocking`, with a dummy verification so
//!   an unknown email costs as much as a wrong password.
//! - [`jwt`]: short-lived HS256 access tokens ([`jwt::JwtKeys`]); the algorithm, `typ`, `iss`,
//!   `aud`, `exp`, `nbf` and `iat` are all checked.
//! - [`pii`]: AES-256-GCM encryption of personal data at rest with rotating key ids, the email
//!   blind index and keyed hashes for throttling; [`pii::Email`] and [`pii::UserName`] input types.
//! - [`secret_token`]: opaque random secrets (refresh tokens, invite links), personal access
//!   tokens (`tly_…`) and short invite codes, with their SHA-256 storage hashes.
//!
//! # Invariants
//!
//! - **Secrets never reach a log.** Every type holding a password, token or key has a `Debug`
//!   that prints `[REDACTED]`; raw values come out only through an explicit `expose_secret()` /
//!   `as_str()` call at the point they are sent to the client. [`AuthError`] messages never
//!   contain user input.
//! - **Bearer secrets are stored only hashed.** Refresh tokens, personal access tokens and invite
//!   link tokens are kept in the database as SHA-256 of the token ([`secret_token::TokenHash`]);
//!   the plain value exists only in the response that creates it. Passwords are stored only as
//!   argon2id PHC strings, which never leave the server.
//! - **No plaintext email, name or client address in the database.** Emails and names are
//!   AES-256-GCM ciphertexts bound to their row and column (associated data); lookups and
//!   uniqueness go through an HMAC blind index; throttling keys are HMACs too.
//! - **Keys are separated by purpose.** The data master key is never used directly: the AES key,
//!   the blind-index key and the throttling key are each derived from it with their own label.
//!   The JWT secret is only ever an HS256 key.
//! - **Comparisons of secret-derived values are constant-time** ([`subtle`]).
//! - **Bounded work before authentication.** Over-long passwords are refused before hashing.

pub mod jwt;
pub mod password;
pub mod pii;
pub mod secret_token;

/// Every way an authentication primitive can fail.
///
/// The messages are safe to log: they never contain a secret or the user's input. Mapping to
/// GraphQL codes is the caller's job: `InvalidCredentials`, `TokenInvalid` and `TokenExpired` →
/// UNAUTHENTICATED; `InvalidInput` → BAD_USER_INPUT with its `field`; `WeakSecret` → refuse to
/// start; `Crypto` → INTERNAL (log it, never return its text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Wrong email or wrong password. Deliberately one variant for both, so the two cases
    /// cannot be told apart (no account enumeration).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A token (JWT, refresh token, access token, invite) is malformed, forged, of the wrong
    /// kind, for the wrong audience or issuer, or not yet valid.
    #[error("invalid token")]
    TokenInvalid,
    /// A well-formed, correctly signed token whose lifetime has ended. Kept apart from
    /// `TokenInvalid` only so a client knows refreshing may help; both are UNAUTHENTICATED.
    #[error("token expired")]
    TokenExpired,
    /// A configured key or secret is too short or otherwise unusable; the service must not
    /// start with it. The message names the setting, never its value.
    #[error("weak or malformed secret: {0}")]
    WeakSecret(&'static str),
    /// A cryptographic operation failed unexpectedly (corrupt ciphertext, unknown key id,
    /// malformed stored hash, a hashing task that panicked). Internal: never shown to clients.
    #[error("cryptographic failure: {0}")]
    Crypto(&'static str),
    /// User input that breaks a rule; `field` is the input field's name ("email", "password")
    /// and `reason` a fixed, user-presentable sentence. (A bad name is a [`crate::text::TextError`].)
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        field: &'static str,
        reason: &'static str,
    },
}

impl AuthError {
    /// Shorthand for an input validation failure on `field`.
    pub(crate) fn input(field: &'static str, reason: &'static str) -> Self {
        AuthError::InvalidInput { field, reason }
    }
}
