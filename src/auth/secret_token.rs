//! Opaque bearer secrets and their storage hashes.
//!
//! - [`OpaqueToken`]: 256 random bits as 43 base64url characters (no padding). Used for refresh
//!   tokens and invite-link tokens. Meaningless without the database row its hash points to.
//! - [`PersonalAccessToken`]: `tly_` + 51 base62 characters. The first 8 after `tly_` are the
//!   *visible prefix* stored in clear to tell tokens apart in lists; the other 43 alone carry
//!   256 bits, so showing the prefix costs no security. The `tly_` marker lets the HTTP layer
//!   tell it from a JWT and lets secret scanners find leaked tokens.
//! - [`InviteCode`]: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), for
//!   reading aloud or typing from a phone. ~39.6 bits: only safe together with expiry and
//!   attempt throttling on `joinBook`.
//!
//! All come from the operating system's CSPRNG (`OsRng`). The database stores only
//! [`TokenHash`] = SHA-256 of the token's text: an unsalted fast hash is enough for 256-bit
//! random values (nothing to brute-force), and it lets the row be found by an index lookup.
//! Where a hash is compared in memory, [`TokenHash`]'s `==` is constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthError;

/// Random bytes in an [`OpaqueToken`] (256 bits).
pub const OPAQUE_TOKEN_BYTES: usize = 32;
/// Length of an [`OpaqueToken`]'s text: ceil(32 × 8 / 6) base64url characters, no padding.
pub const OPAQUE_TOKEN_CHARS: usize = 43;
/// Marker at the start of every personal access token.
pub const PAT_PREFIX: &str = "tly_";
/// Base62 characters of a personal access token shown in lists (after `tly_`).
pub const PAT_VISIBLE_CHARS: usize = 8;
/// Base62 characters after the visible part: 43 × log2(62) ≈ 256.03 bits.
const PAT_SECRET_CHARS: usize = 43;
/// Base62 characters after `tly_`.
pub const PAT_BODY_CHARS: usize = PAT_VISIBLE_CHARS + PAT_SECRET_CHARS;
/// Characters of an invite code.
pub const INVITE_CODE_CHARS: usize = 8;
/// Upper-case letters and digits without 0, O, 1, I and L, which are easily confused.
pub const INVITE_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// SHA-256 of a token's text: what the database stores and indexes instead of the token.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token's exact text (callers hash what the client sent; no normalisation except
    /// what a type's `parse` already did).
    pub fn of(token: &str) -> Self {
        TokenHash(sha256(token))
    }

    /// Rebuilds a hash read from the database; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(TokenHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Constant-time: comparing a presented token's hash with a stored one must not reveal, through
/// timing, how many leading bytes matched.
impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenHash {}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not secret, but a short form is enough to correlate log lines.
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// SHA-256 of a string.
pub fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two byte strings (the length itself is not hidden).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A 256-bit random bearer secret in base64url: refresh tokens and invite-link tokens.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = secrecy::zeroize::Zeroizing::new([0u8; OPAQUE_TOKEN_BYTES]);
        OsRng.fill_bytes(bytes.as_mut_slice());
        OpaqueToken(SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_slice())))
    }

    /// Accepts only the exact shape we generate (43 base64url characters), so malformed input is
    /// refused without a database round trip. `TokenInvalid` otherwise.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let well_formed = input.len() == OPAQUE_TOKEN_CHARS
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(AuthError::TokenInvalid);
        }
        Ok(OpaqueToken(SecretString::from(input)))
    }

    /// The token text, to send to the client once.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value to store and look up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken([REDACTED])")
    }
}

/// A personal access token: `tly_` + 51 base62 characters.
pub struct PersonalAccessToken(SecretString);

impl PersonalAccessToken {
    pub fn generate() -> Self {
        let mut text = String::with_capacity(PAT_PREFIX.len() + PAT_BODY_CHARS);
        text.push_str(PAT_PREFIX);
        // `Alphanumeric` draws uniformly from [A-Za-z0-9] by rejection sampling: no modulo bias.
        text.extend(
            (&mut OsRng)
                .sample_iter(Alphanumeric)
                .take(PAT_BODY_CHARS)
                .map(char::from),
        );
        PersonalAccessToken(SecretString::from(text))
    }

    /// Accepts only `tly_` followed by exactly 51 ASCII letters or digits; `TokenInvalid`
    /// otherwise.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        let well_formed = input.strip_prefix(PAT_PREFIX).is_some_and(|body| {
            body.len() == PAT_BODY_CHARS && body.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !well_formed {
            return Err(AuthError::TokenInvalid);
        }
        Ok(PersonalAccessToken(SecretString::from(input)))
    }

    /// Whether a bearer credential is meant to be a personal access token (else: a JWT). Only
    /// looks at the marker; [`PersonalAccessToken::parse`] checks the rest.
    pub fn looks_like(bearer: &str) -> bool {
        bearer.starts_with(PAT_PREFIX)
    }

    /// The full token, to show the user once at creation.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// `tly_` and the first 8 characters: stored in clear and shown in token lists.
    pub fn visible_prefix(&self) -> String {
        self.0.expose_secret()[..PAT_PREFIX.len() + PAT_VISIBLE_CHARS].to_owned()
    }

    /// The value to store and look up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }
}

impl std::fmt::Debug for PersonalAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonalAccessToken([REDACTED])")
    }
}

/// An 8-character invite code, e.g. `K7MX3QPA`.
pub struct InviteCode(SecretString);

impl InviteCode {
    pub fn generate() -> Self {
        let code: String = (0..INVITE_CODE_CHARS)
            // gen_range is uniform (rejection sampling), so every symbol is equally likely.
            .map(|_| {
                char::from(INVITE_CODE_ALPHABET[OsRng.gen_range(0..INVITE_CODE_ALPHABET.len())])
            })
            .collect();
        InviteCode(SecretString::from(code))
    }

    /// Reads what a person typed: surrounding whitespace, inner spaces and dashes are dropped and
    /// letters upper-cased (so `k7mx-3qpa` works); then exactly 8 characters of the alphabet.
    /// `TokenInvalid` otherwise.
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        // A real code is short; don't normalise arbitrarily long input.
        if input.len() > 4 * INVITE_CODE_CHARS {
            return Err(AuthError::TokenInvalid);
        }
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let well_formed = code.len() == INVITE_CODE_CHARS
            && code.bytes().all(|b| INVITE_CODE_ALPHABET.contains(&b));
        if !well_formed {
            return Err(AuthError::TokenInvalid);
        }
        Ok(InviteCode(SecretString::from(code)))
    }

    /// The code, to show to the inviting admin.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value to store and look up (of the normalised code).
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }
}

impl std::fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteCode([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn opaque_token_shape() {
        let t = OpaqueToken::generate();
        let s = t.expose_secret();
        assert_eq!(s.len(), 43);
        assert!(!s.contains('='));
        assert_eq!(URL_SAFE_NO_PAD.decode(s).unwrap().len(), 32);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(OpaqueToken::parse(s).is_ok());
    }

    #[test]
    fn opaque_tokens_are_unique() {
        let seen: HashSet<String> = (0..1000)
            .map(|_| OpaqueToken::generate().expose_secret().to_owned())
            .collect();
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn opaque_token_parse_rejects_bad_shapes() {
        let good = OpaqueToken::generate().expose_secret().to_owned();
        for bad in [
            String::new(),
            good[..42].to_owned(),
            format!("{good}A"),
            format!("{}=", &good[..42]),
            format!("{}+", &good[..42]),
            format!("{}/", &good[..42]),
            "tly_abc".to_owned(),
        ] {
            assert!(
                matches!(OpaqueToken::parse(&bad), Err(AuthError::TokenInvalid)),
                "{bad}"
            );
        }
    }

    #[test]
    fn hash_is_stable_sha256() {
        let t = OpaqueToken::generate();
        assert_eq!(t.hash(), TokenHash::of(t.expose_secret()));
        assert_eq!(
            t.hash(),
            OpaqueToken::parse(t.expose_secret()).unwrap().hash()
        );
        assert_ne!(t.hash(), OpaqueToken::generate().hash());
        // Known answer: SHA-256("abc").
        assert_eq!(
            hex::encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let h = TokenHash::of("abc");
        assert_eq!(TokenHash::from_slice(&h.to_vec()), Some(h));
        assert_eq!(TokenHash::from_slice(&[0u8; 31]), None);
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn personal_access_token_shape() {
        let t = PersonalAccessToken::generate();
        let s = t.expose_secret();
        assert!(s.starts_with("tly_"));
        assert_eq!(s.len(), 4 + 51);
        assert!(s[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(t.visible_prefix(), &s[..12]);
        assert!(t.visible_prefix().starts_with("tly_"));
        assert!(PersonalAccessToken::looks_like(s));
        assert_eq!(PersonalAccessToken::parse(s).unwrap().hash(), t.hash());
        assert_ne!(t.hash(), PersonalAccessToken::generate().hash());
    }

    #[test]
    fn personal_access_token_parse_rejects_bad_shapes() {
        let good = PersonalAccessToken::generate().expose_secret().to_owned();
        for bad in [
            String::new(),
            good[4..].to_owned(),
            format!("TLY_{}", &good[4..]),
            good[..54].to_owned(),
            format!("{good}x"),
            format!("{}-", &good[..54]),
            "eyJhbGciOiJIUzI1NiJ9.e30.x".to_owned(),
        ] {
            assert!(
                matches!(
                    PersonalAccessToken::parse(&bad),
                    Err(AuthError::TokenInvalid)
                ),
                "{bad}"
            );
        }
        assert!(!PersonalAccessToken::looks_like(
            "eyJhbGciOiJIUzI1NiJ9.e30.x"
        ));
    }

    #[test]
    fn invite_code_shape_and_alphabet() {
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let c = InviteCode::generate();
            let s = c.expose_secret().to_owned();
            assert_eq!(s.len(), 8);
            assert!(s.bytes().all(|b| INVITE_CODE_ALPHABET.contains(&b)), "{s}");
            assert!(!s.contains(['0', 'O', '1', 'I', 'L']), "{s}");
            seen.extend(s.chars());
        }
        // 16,000 draws from 31 symbols: each symbol appears (a missing one would mean bias).
        assert_eq!(seen.len(), INVITE_CODE_ALPHABET.len());
        assert_eq!(INVITE_CODE_ALPHABET.len(), 31);
    }

    #[test]
    fn invite_code_parse_normalises() {
        let c = InviteCode::parse(" k7mx-3qpa ").unwrap();
        assert_eq!(c.expose_secret(), "K7MX3QPA");
        assert_eq!(c.hash(), InviteCode::parse("K7MX3QPA").unwrap().hash());
        for bad in [
            "",
            "K7MX3QP",
            "K7MX3QPAA",
            "K7MX3QP0",
            "K7MX3QPO",
            "K7MX3QPI",
            "K7MX3QP1",
            "K7MX3QPL",
            "K7MX3QP!",
        ] {
            assert!(
                matches!(InviteCode::parse(bad), Err(AuthError::TokenInvalid)),
                "{bad}"
            );
        }
        assert!(InviteCode::parse(&"A".repeat(10_000)).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let o = OpaqueToken::generate();
        let p = PersonalAccessToken::generate();
        let i = InviteCode::generate();
        let shown = format!("{o:?} {p:?} {i:?}");
        assert!(!shown.contains(o.expose_secret()));
        assert!(!shown.contains(&p.expose_secret()[4..]));
        assert!(!shown.contains(i.expose_secret()));
        assert!(shown.contains("REDACTED"));
    }
}
