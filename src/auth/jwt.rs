//! Short-lived access tokens: HS256 JWTs.
//!
//! Rules (RFC 8725 and OWASP's JWT cheat sheet):
//! - The algorithm is pinned: validation accepts HS256 only, so `alg: none` (any spelling),
//!   HS384/HS512 or asymmetric algorithms are refused before any claim is read.
//! - The header carries an explicit `typ` of [`ACCESS_TOKEN_TYP`], checked on validation, so no
//!   other kind of JWT we might ever sign can be replayed as an access token.
//! - `sub`, `iat`, `nbf`, `exp`, `iss` ([`ISSUER`]), `aud` ([`AUDIENCE`]), `jti` and `sid` (the
//!   login session, so that ending a session ends its tokens at once) are all
//!   required; `exp` and `nbf` are checked with [`LEEWAY_SECS`] of clock skew, and so is `iat`
//!   (jsonwebtoken does not check `iat`, we do: a token "issued in the future" is refused).
//! - The key is at least 32 bytes (256 bits, HS256's output size) and used only for this.
//!
//! Validation reads the system clock (jsonwebtoken's own `exp`/`nbf` checks cannot take an
//! injected time); issuing takes `now` so tests can make expired or not-yet-valid tokens.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthError;

/// The only signing algorithm we issue or accept.
const ALGORITHM: Algorithm = Algorithm::HS256;
/// `typ` header of access tokens (RFC 9068's media type for JWT access tokens).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// `iss` claim: who issued the token.
pub const ISSUER: &str = "tally";
/// `aud` claim: who the token is for (the GraphQL API).
pub const AUDIENCE: &str = "tally-api";
/// Lifetime of an access token (seed 003: 15 minutes). Short, because every instance must
/// remember a revoked session for as long as one of its tokens may live.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Small: jsonwebtoken's default of
/// 60 s would add a minute to every token's life.
pub const LEEWAY_SECS: u64 = 30;
/// HS256 keys shorter than its 256-bit output weaken it (RFC 7518 §3.2, OWASP).
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims of an access token. Not secret (anyone holding the token can read them), so
/// `Debug` is derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user the token acts for.
    pub sub: Uuid,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Not valid before, seconds since the Unix epoch (equal to `iat` when we issue).
    pub nbf: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// Always [`ISSUER`].
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// Unique token id.
    pub jti: Uuid,
    /// The login session (refresh-token family) the token belongs to: ending the session ends
    /// its access tokens at once, through the revoked-session set.
    pub sid: Uuid,
}

impl AccessClaims {
    /// The acting user's id.
    pub fn user_id(&self) -> Uuid {
        self.sub
    }

    /// The session the token was issued for.
    pub fn session_id(&self) -> Uuid {
        self.sid
    }

    /// When the token stops being accepted (ignoring leeway).
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// A freshly issued access token, to hand to the client once.
#[derive(Debug)]
pub struct IssuedAccessToken {
    /// The compact JWT. A bearer credential: `Debug` shows `[REDACTED]`.
    pub token: SecretString,
    /// Its `jti`, for logging and revocation.
    pub jti: Uuid,
    /// Its `exp` as a timestamp, for the client's `expiresAt`.
    pub expires_at: DateTime<Utc>,
}

/// Signing and validation keys for access tokens, with the validation rules fixed at
/// construction. Cheap to share behind an `Arc`.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("secret", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl JwtKeys {
    /// Builds the keys from `TALLY_JWT_SECRET`'s bytes. Refuses secrets shorter than
    /// [`MIN_SECRET_BYTES`] and ones made of a single repeated byte (a placeholder, not a key).
    pub fn new(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::WeakSecret(
                "TALLY_JWT_SECRET must be at least 32 bytes",
            ));
        }
        if secret.iter().all(|b| *b == secret[0]) {
            return Err(AuthError::WeakSecret(
                "TALLY_JWT_SECRET is one repeated character",
            ));
        }

        let mut validation = Validation::new(ALGORITHM);
        // Exactly one algorithm: Validation::new already sets this, restated because the whole
        // defence against alg confusion rests on it.
        validation.algorithms = vec![ALGORITHM];
        // jsonwebtoken only enforces presence of exp/nbf/aud/iss/sub; `iat` (and `jti`) are
        // enforced by `AccessClaims` having no optional fields. "iat" is listed for the reader.
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);

        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: ACCESS_TOKEN_TTL,
        })
    }

    /// A fresh random secret for development setups that generate theirs once: 32 bytes from
    /// the OS CSPRNG as 64 hex characters (pass its bytes to [`JwtKeys::new`]).
    pub fn generate_secret() -> SecretString {
        let mut bytes = secrecy::zeroize::Zeroizing::new([0u8; MIN_SECRET_BYTES]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, bytes.as_mut_slice());
        SecretString::from(hex::encode(bytes.as_slice()))
    }

    /// Overrides the token lifetime (default [`ACCESS_TOKEN_TTL`]); for tests and tuning.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Issues an access token for `user_id` in session `session_id`, valid from `now` for the
    /// configured lifetime.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<IssuedAccessToken, AuthError> {
        let iat = now.timestamp();
        let expires_at = now + self.ttl;
        let claims = AccessClaims {
            sub: user_id,
            iat,
            nbf: iat,
            exp: expires_at.timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: Uuid::new_v4(),
            sid: session_id,
        };
        let token = self.sign(&claims)?;
        Ok(IssuedAccessToken {
            token: SecretString::from(token),
            jti: claims.jti,
            expires_at,
        })
    }

    /// Signs arbitrary access claims with the access-token header. Private to the crate so
    /// tests can craft edge cases (future `iat`, foreign `aud`...) with the real key.
    pub(crate) fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|_| AuthError::Crypto("signing an access token failed"))
    }

    /// Validates an access token against the system clock and returns its claims.
    ///
    /// `TokenExpired` for a correctly signed token past `exp` + leeway; `TokenInvalid` for
    /// everything else (bad shape, signature, algorithm, `typ`, `iss`, `aud`, a missing claim,
    /// `nbf` or `iat` in the future).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                _ => AuthError::TokenInvalid,
            })?;
        // decode() already refused any alg but HS256; checking again keeps that guarantee local
        // to this function rather than dependent on `Validation`'s defaults.
        if data.header.alg != ALGORITHM || data.header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(AuthError::TokenInvalid);
        }
        let claims = data.claims;
        // jsonwebtoken does not check `iat`. A token claiming to be issued in the future was not
        // issued by a correctly running us.
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
        if claims.iat > Utc::now().timestamp().saturating_add(leeway) {
            return Err(AuthError::TokenInvalid);
        }
        // Already validated by jsonwebtoken; repeated because the types allow any string.
        if claims.iss != ISSUER || claims.aud != AUDIENCE {
            return Err(AuthError::TokenInvalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";

    fn keys() -> JwtKeys {
        JwtKeys::new(SECRET).unwrap()
    }

    fn claims_at(now: DateTime<Utc>) -> AccessClaims {
        AccessClaims {
            sub: Uuid::new_v4(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: Uuid::new_v4(),
            sid: Uuid::new_v4(),
        }
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// Builds `header.payload` and signs it with HMAC-SHA256 over the given key, by hand, so
    /// tests control every byte of the header.
    fn hand_signed(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let message = format!("{}.{}", b64(header), b64(claims));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(message.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{message}.{sig}")
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let user = Uuid::new_v4();
        let now = Utc::now();
        let issued = keys.issue(user, Uuid::new_v4(), now).unwrap();
        let claims = keys.verify(issued.token.expose_secret()).unwrap();
        assert_eq!(claims.user_id(), user);
        assert_eq!(claims.jti, issued.jti);
        assert_eq!(claims.iss, "tally");
        assert_eq!(claims.aud, "tally-api");
        assert_eq!(claims.exp - claims.iat, 15 * 60);
        assert_eq!(claims.nbf, claims.iat);
        assert_eq!(
            claims.expires_at().timestamp(),
            issued.expires_at.timestamp()
        );
    }

    #[test]
    fn header_is_pinned_hs256_with_typ() {
        let issued = keys()
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        let header = jsonwebtoken::decode_header(issued.token.expose_secret()).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn issued_token_debug_is_redacted() {
        let issued = keys()
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        let shown = format!("{issued:?} {:?}", keys());
        assert!(!shown.contains(issued.token.expose_secret()));
        assert!(!shown.contains("0123456789abcdef"));
    }

    #[test]
    fn expired_token_is_refused() {
        let keys = keys();
        // Expired 61 s ago: beyond the 30 s leeway.
        let now = Utc::now() - ACCESS_TOKEN_TTL - Duration::seconds(61);
        let issued = keys.issue(Uuid::new_v4(), Uuid::new_v4(), now).unwrap();
        assert_eq!(
            keys.verify(issued.token.expose_secret()),
            Err(AuthError::TokenExpired)
        );
    }

    #[test]
    fn expiry_within_leeway_is_accepted() {
        let keys = keys();
        let now = Utc::now() - ACCESS_TOKEN_TTL - Duration::seconds(10);
        let issued = keys.issue(Uuid::new_v4(), Uuid::new_v4(), now).unwrap();
        assert!(keys.verify(issued.token.expose_secret()).is_ok());
    }

    #[test]
    fn nbf_in_future_is_refused() {
        let keys = keys();
        let now = Utc::now();
        let mut claims = claims_at(now);
        claims.nbf = (now + Duration::seconds(120)).timestamp();
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid));
    }

    #[test]
    fn iat_in_future_is_refused() {
        let keys = keys();
        let now = Utc::now();
        let mut claims = claims_at(now);
        claims.iat = (now + Duration::hours(1)).timestamp();
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid));
        // The whole token issued in the future (nbf too) is refused as well.
        let issued = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), now + Duration::hours(1))
            .unwrap();
        assert_eq!(
            keys.verify(issued.token.expose_secret()),
            Err(AuthError::TokenInvalid)
        );
    }

    #[test]
    fn wrong_audience_is_refused() {
        let keys = keys();
        let mut claims = claims_at(Utc::now());
        claims.aud = "someone-else".to_owned();
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid));
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let keys = keys();
        let mut claims = claims_at(Utc::now());
        claims.iss = "evil".to_owned();
        let token = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid));
    }

    #[test]
    fn missing_claims_are_refused() {
        let now = Utc::now().timestamp();
        let full = json!({
            "sub": Uuid::new_v4(), "iat": now, "nbf": now, "exp": now + 900,
            "iss": ISSUER, "aud": AUDIENCE, "jti": Uuid::new_v4(), "sid": Uuid::new_v4(),
        });
        let header = json!({"alg": "HS256", "typ": "at+jwt"});
        let keys = keys();
        assert!(keys.verify(&hand_signed(&header, &full, SECRET)).is_ok());
        for claim in ["sub", "iat", "nbf", "exp", "iss", "aud", "jti", "sid"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(claim);
            let token = hand_signed(&header, &partial, SECRET);
            assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid), "{claim}");
        }
    }

    #[test]
    fn wrong_or_missing_typ_is_refused() {
        let now = Utc::now().timestamp();
        let claims = json!({
            "sub": Uuid::new_v4(), "iat": now, "nbf": now, "exp": now + 900,
            "iss": ISSUER, "aud": AUDIENCE, "jti": Uuid::new_v4(),
        });
        let keys = keys();
        for header in [
            json!({"alg": "HS256"}),
            json!({"alg": "HS256", "typ": "JWT"}),
            json!({"alg": "HS256", "typ": "refresh+jwt"}),
        ] {
            let token = hand_signed(&header, &claims, SECRET);
            assert_eq!(
                keys.verify(&token),
                Err(AuthError::TokenInvalid),
                "{header}"
            );
        }
    }

    #[test]
    fn tampered_payload_is_refused() {
        let keys = keys();
        let issued = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        let token = issued.token.expose_secret();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!(Uuid::new_v4());
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(keys.verify(&forged), Err(AuthError::TokenInvalid));
    }

    #[test]
    fn token_signed_with_another_key_is_refused() {
        let other = JwtKeys::new(b"another-secret-that-is-32-bytes-long!!").unwrap();
        let issued = other
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        assert_eq!(
            keys().verify(issued.token.expose_secret()),
            Err(AuthError::TokenInvalid)
        );
    }

    #[test]
    fn alg_none_is_refused_in_any_spelling() {
        let keys = keys();
        let claims = serde_json::to_value(claims_at(Utc::now())).unwrap();
        for alg in ["none", "None", "nOnE", "NONE"] {
            let header = json!({"alg": alg, "typ": "at+jwt"});
            // Unsigned: empty signature part, as an attacker would send it.
            let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
            assert_eq!(
                keys.verify(&unsigned),
                Err(AuthError::TokenInvalid),
                "{alg}"
            );
            // And with an HS256 signature attached, in case the verifier looked only at that.
            let signed = hand_signed(&header, &claims, SECRET);
            assert_eq!(keys.verify(&signed), Err(AuthError::TokenInvalid), "{alg}");
        }
    }

    #[test]
    fn hs512_signed_with_our_key_is_refused() {
        let keys = keys();
        let mut header = Header::new(Algorithm::HS512);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &claims_at(Utc::now()),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(keys.verify(&token), Err(AuthError::TokenInvalid));
    }

    #[test]
    fn garbage_is_refused() {
        let keys = keys();
        for token in ["", ".", "..", "a.b.c", "not a jwt", "tly_abc"] {
            assert_eq!(
                keys.verify(token),
                Err(AuthError::TokenInvalid),
                "{token:?}"
            );
        }
    }

    #[test]
    fn short_secret_is_refused() {
        assert!(matches!(
            JwtKeys::new(&SECRET[..31]),
            Err(AuthError::WeakSecret(_))
        ));
        assert!(matches!(JwtKeys::new(b""), Err(AuthError::WeakSecret(_))));
        assert!(matches!(
            JwtKeys::new(&[b'a'; 64]),
            Err(AuthError::WeakSecret(_))
        ));
        assert!(JwtKeys::new(&SECRET[..32]).is_ok());
    }

    #[test]
    fn generated_secret_is_usable_and_random() {
        let a = JwtKeys::generate_secret();
        assert_eq!(a.expose_secret().len(), 64);
        assert_ne!(
            a.expose_secret(),
            JwtKeys::generate_secret().expose_secret()
        );
        let keys = JwtKeys::new(a.expose_secret().as_bytes()).unwrap();
        let issued = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), Utc::now())
            .unwrap();
        assert!(keys.verify(issued.token.expose_secret()).is_ok());
    }

    #[test]
    fn custom_ttl_applies() {
        let keys = keys().with_ttl(Duration::seconds(5));
        let now = Utc::now();
        let issued = keys.issue(Uuid::new_v4(), Uuid::new_v4(), now).unwrap();
        assert_eq!(issued.expires_at, now + Duration::seconds(5));
        let claims = keys.verify(issued.token.expose_secret()).unwrap();
        assert_eq!(claims.exp - claims.iat, 5);
    }
}
