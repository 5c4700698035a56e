//! Passwords: the registration policy and argon2id hashing.
//!
//! Hashes are argon2id v19 PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with
//! OWASP's minimum cost, which is exactly argon2's `Params::DEFAULT` (checked at compile time
//! below). Hashing costs ~19 MiB and tens of milliseconds of CPU, so it runs in
//! `spawn_blocking` (never on an async worker), and at most [`max_concurrent_hashes`] run at
//! once so a login flood cannot allocate unbounded memory.
//!
//! Login must cost the same whether or not the email exists: use [`verify_login`] with `None`
//! for an unknown user (or call [`dummy_verify`]), which verifies against a fixed hash with the
//! same parameters.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use super::AuthError;

/// Argon2 memory cost in KiB (19 MiB): OWASP Password Storage Cheat Sheet minimum for argon2id.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
/// Argon2 iterations (OWASP minimum at 19 MiB).
pub const ARGON2_ITERATIONS: u32 = 2;
/// Argon2 lanes (OWASP minimum).
pub const ARGON2_LANES: u32 = 1;

// We rely on argon2's defaults *being* OWASP's minimum; if a future argon2 changes them, the
// build breaks here instead of silently weakening (or changing) every new hash.
const _: () = assert!(
    Params::DEFAULT_M_COST == ARGON2_MEMORY_KIB
        && Params::DEFAULT_T_COST == ARGON2_ITERATIONS
        && Params::DEFAULT_P_COST == ARGON2_LANES
);

/// Shortest password accepted at registration, in characters (seed 003).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in characters. Caps hashing input (OWASP: limit length to avoid
/// long-password DoS) while still allowing long passphrases.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// A UTF-8 character is at most 4 bytes, so any input longer than this many bytes certainly has
/// more than [`MAX_PASSWORD_CHARS`] characters: lets us refuse huge inputs without scanning them.
const MAX_PASSWORD_BYTES: usize = MAX_PASSWORD_CHARS * 4;

/// A PHC string with the current parameters whose password was random and thrown away. Verifying
/// against it costs exactly what verifying a real user's hash costs, and can never succeed in a
/// way that matters: [`dummy_verify`] ignores its result. A unit test checks it still matches the
/// current parameters; regenerate it if they change.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$w9vgjX92P2nAG6dmsijzIQ$306802aG34UvsdKIqMcPv3vfYEd6uNxUjbEX3ejAiPE";

/// A password that meets the registration policy: 8..=128 characters with at least one
/// upper-case letter, one lower-case letter and one digit. Not trimmed or normalised: what the
/// user typed is what gets hashed. `Debug` never shows it.
pub struct Password(SecretString);

impl Password {
    /// Checks the policy. The length cap is applied first, so an over-long input is refused
    /// before anything else looks at it (and long before any hashing).
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        const FIELD: &str = "password";
        if input.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::input(FIELD, "must be at most 128 characters"));
        }
        let chars = input.chars().count();
        if chars > MAX_PASSWORD_CHARS {
            return Err(AuthError::input(FIELD, "must be at most 128 characters"));
        }
        if chars < MIN_PASSWORD_CHARS {
            return Err(AuthError::input(FIELD, "must be at least 8 characters"));
        }
        if !input.chars().any(char::is_uppercase) {
            return Err(AuthError::input(
                FIELD,
                "must contain at least one upper-case letter",
            ));
        }
        if !input.chars().any(char::is_lowercase) {
            return Err(AuthError::input(
                FIELD,
                "must contain at least one lower-case letter",
            ));
        }
        if !input.chars().any(char::is_numeric) {
            return Err(AuthError::input(FIELD, "must contain at least one digit"));
        }
        Ok(Password(SecretString::from(input)))
    }

    /// The password, for hashing.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Hands the secret on to [`hash_password`] without copying it out of its zeroizing box.
    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// How many argon2 computations may run at once: one per two cores, at least one. Each holds
/// ~19 MiB for its whole run and keeps a core busy, so a burst of logins and registrations
/// leaves the other half of the cores to every other request, and its memory bounded: extra
/// requests wait for a permit instead of piling up threads and memory in the blocking pool.
/// (Measured on 2 cores, registering and logging in 20 people: two hashes at once took the
/// process from 36 MiB to a peak of 109 MiB, one at a time to 88 MiB.)
pub fn max_concurrent_hashes() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores / 2).max(1)
}

static HASH_PERMITS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(max_concurrent_hashes()));

/// The one argon2 configuration used for new hashes: argon2id, version 0x13, OWASP minimum.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Runs CPU- and memory-heavy argon2 work off the async workers, within the caller's tracing
/// span, after taking one of the [`max_concurrent_hashes`] permits.
async fn run_blocking<T, F>(work: F) -> Result<T, AuthError>
where
    F: FnOnce() -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let _permit = HASH_PERMITS
        .acquire()
        .instrument(span.clone())
        .await
        // The semaphore is never closed; treat it as an internal failure rather than panic.
        .map_err(|_| AuthError::Crypto("password hashing limiter closed"))?;
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|_| AuthError::Crypto("password hashing task failed"))?
}

/// Hashes a password with argon2id and a fresh random salt; returns the PHC string to store.
///
/// Refuses (as an `InvalidInput` on "password") anything over [`MAX_PASSWORD_CHARS`], so even a
/// caller that skipped [`Password::parse`] cannot make us hash a megabyte.
pub async fn hash_password(password: SecretString) -> Result<String, AuthError> {
    if too_long(password.expose_secret()) {
        return Err(AuthError::input(
            "password",
            "must be at most 128 characters",
        ));
    }
    run_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|phc| phc.to_string())
            .map_err(|_| AuthError::Crypto("argon2 hashing failed"))
    })
    .await
}

/// Verifies a password against a stored PHC string. `Ok(false)` for a wrong password;
/// `Err(Crypto)` only when the stored string is not a valid hash (a data problem, not a
/// wrong password).
///
/// The cost parameters come from the stored hash, so old hashes keep verifying after a cost
/// increase; use [`needs_rehash`] after a successful login to upgrade them.
pub async fn verify_password(password: SecretString, phc: String) -> Result<bool, AuthError> {
    // No stored hash can match an input this long (registration refuses it), so answer at once.
    // This leaks nothing about the account: the shortcut depends only on the input.
    if too_long(password.expose_secret()) {
        return Ok(false);
    }
    run_blocking(move || verify_blocking(password.expose_secret(), &phc)).await
}

/// Verifies against the dummy hash and discards the result, so a login for an email that has
/// no account takes the same time as one with a wrong password.
pub async fn dummy_verify(password: SecretString) {
    // The outcome is irrelevant by design; only the time spent matters.
    let _ = verify_password(password, DUMMY_PHC.to_owned()).await;
}

/// The login check in one call: `stored_phc` is the user's hash, or `None` when no account has
/// this email. Unknown users run the dummy verification and get `Ok(false)`, exactly like a wrong
/// password, in about the same time.
pub async fn verify_login(
    password: SecretString,
    stored_phc: Option<String>,
) -> Result<bool, AuthError> {
    match stored_phc {
        Some(phc) => verify_password(password, phc).await,
        None => {
            dummy_verify(password).await;
            Ok(false)
        }
    }
}

/// Whether a stored hash was made with weaker or different settings than today's (not
/// argon2id v19, or any cost below the current minimum), so the service should rehash the
/// password it just verified. A malformed hash also answers `true`.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return true;
    };
    if hash.algorithm != argon2::ARGON2ID_IDENT || hash.version != Some(Version::V0x13.into()) {
        return true;
    }
    match Params::try_from(&hash) {
        Ok(params) => {
            params.m_cost() < ARGON2_MEMORY_KIB
                || params.t_cost() < ARGON2_ITERATIONS
                || params.p_cost() < ARGON2_LANES
        }
        Err(_) => true,
    }
}

fn too_long(password: &str) -> bool {
    password.len() > MAX_PASSWORD_BYTES || password.chars().count() > MAX_PASSWORD_CHARS
}

fn verify_blocking(password: &str, phc: &str) -> Result<bool, AuthError> {
    let hash = PasswordHash::new(phc)
        .map_err(|_| AuthError::Crypto("stored password hash is malformed"))?;
    // The parameters (and algorithm) are read from the stored hash by the verifier; the
    // configured `hasher()` only supplies the implementation. The final comparison inside
    // password-hash is constant-time.
    match hasher().verify_password(password.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(AuthError::Crypto("stored password hash is unusable")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    fn field_of(err: AuthError) -> &'static str {
        match err {
            AuthError::InvalidInput { field, .. } => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn policy_accepts_a_good_password() {
        assert!(Password::parse("Abcdefg1").is_ok());
        assert!(Password::parse("correct Horse battery staple 9").is_ok());
    }

    #[test]
    fn policy_rejects_seven_characters() {
        assert_eq!(
            field_of(Password::parse("Abcdef1").unwrap_err()),
            "password"
        );
    }

    #[test]
    fn policy_length_boundary_128_vs_129() {
        let ok = format!("Aa1{}", "x".repeat(125));
        assert_eq!(ok.chars().count(), 128);
        assert!(Password::parse(&ok).is_ok());
        let too_long = format!("Aa1{}", "x".repeat(126));
        assert_eq!(too_long.chars().count(), 129);
        assert!(matches!(
            Password::parse(&too_long),
            Err(AuthError::InvalidInput { field: "password", reason }) if reason.contains("128")
        ));
    }

    #[test]
    fn policy_counts_characters_not_bytes() {
        // 128 four-byte characters plus the required classes would be 131 characters: refused;
        // 125 of them plus "Aa1" is 128 characters (503 bytes): accepted.
        let ok = format!("Aa1{}", "😀".repeat(125));
        assert!(Password::parse(&ok).is_ok());
        let too_long = format!("Aa1{}", "😀".repeat(126));
        assert!(Password::parse(&too_long).is_err());
    }

    #[test]
    fn policy_requires_each_character_class() {
        for (input, needle) in [
            ("abcdefg1", "upper-case"),
            ("ABCDEFG1", "lower-case"),
            ("Abcdefgh", "digit"),
        ] {
            match Password::parse(input) {
                Err(AuthError::InvalidInput { field, reason }) => {
                    assert_eq!(field, "password");
                    assert!(reason.contains(needle), "{input}: {reason}");
                }
                other => panic!("{input}: expected rejection, got {other:?}"),
            }
        }
    }

    #[test]
    fn huge_password_is_refused_without_hashing() {
        // Refused on its byte length alone, before the characters are even counted; no timed
        // assertion (speed targets live in benchmarks).
        let huge = "A".repeat(1 << 20);
        assert!(matches!(
            Password::parse(&huge),
            Err(AuthError::InvalidInput {
                field: "password",
                ..
            })
        ));
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("Sup3rSecretValue").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("Sup3r"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[tokio::test]
    async fn hash_is_argon2id_with_owasp_params_and_verifies() {
        let phc = hash_password(secret("Abcdefg1")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
        assert!(!needs_rehash(&phc));

        assert!(
            verify_password(secret("Abcdefg1"), phc.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(secret("Abcdefg2"), phc.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password(secret(""), phc).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_hashes_differently() {
        let a = hash_password(secret("Abcdefg1")).await.unwrap();
        let b = hash_password(secret("Abcdefg1")).await.unwrap();
        assert_ne!(a, b, "salts must be random");
    }

    #[tokio::test]
    async fn hash_refuses_over_long_input() {
        let err = hash_password(secret(&"a".repeat(129))).await.unwrap_err();
        assert_eq!(field_of(err), "password");
    }

    #[tokio::test]
    async fn verify_over_long_input_is_false() {
        let phc = hash_password(secret("Abcdefg1")).await.unwrap();
        assert!(
            !verify_password(secret(&"a".repeat(1 << 20)), phc)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn malformed_stored_hash_is_a_crypto_error() {
        let err = verify_password(secret("Abcdefg1"), "not a phc".to_owned())
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Crypto(_)));
    }

    #[test]
    fn dummy_hash_uses_current_parameters_and_really_verifies() {
        assert!(DUMMY_PHC.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!needs_rehash(DUMMY_PHC), "regenerate DUMMY_PHC");
        // A malformed dummy would fail fast with Err and reopen the timing oracle; it must go
        // through a full verification and simply not match.
        assert_eq!(verify_blocking("Abcdefg1", DUMMY_PHC), Ok(false));
    }

    #[tokio::test]
    async fn unknown_user_login_is_false() {
        assert!(!verify_login(secret("Abcdefg1"), None).await.unwrap());
        let phc = hash_password(secret("Abcdefg1")).await.unwrap();
        assert!(verify_login(secret("Abcdefg1"), Some(phc)).await.unwrap());
    }

    #[test]
    fn weaker_or_other_hashes_need_rehash() {
        // argon2i and a lower memory cost are both below today's settings.
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"x", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(needs_rehash(&weak));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::DEFAULT)
            .hash_password(b"x", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(needs_rehash(&argon2i));
        assert!(needs_rehash("garbage"));
    }
}
