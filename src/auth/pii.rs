//! Personal data at rest: AES-256-GCM encryption with rotating keys, the email blind index,
//! keyed hashes for throttling, and the `Email` / `UserName` input types.
//!
//! # Keys
//! `TALLY_DATA_KEY` is 32 random bytes written as **64 hexadecimal characters**
//! (`openssl rand -hex 32`); [`DataKey::from_hex`] reads it. That master key is never used
//! directly. From it we derive, with HMAC-SHA256 under fixed labels (a PRF keyed by a uniformly
//! random key, i.e. one block of HKDF-Expand):
//! - the AES-256-GCM key (`tally/pii/aes-256-gcm/v1`),
//! - the email blind-index key (`tally/blind-index/email/v1`),
//! - the throttling-subject key (`tally/throttle-subject/v1`),
//!
//! so the three uses are cryptographically independent (OWASP key separation; CipherSweet's
//! per-purpose keys).
//!
//! # Ciphertexts
//! [`PiiCipher::encrypt`] returns a [`Sealed`]: the key id (store it in its own column beside the
//! ciphertext) and `nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)`. The
//! associated data is built by [`aad`] from the column name and the row id, so a ciphertext
//! copied to another row or column fails to decrypt instead of showing someone else's data.
//!
//! # Rotation
//! A cipher holds several keys: one writes (new ciphertexts), all of them read. Old rows keep
//! decrypting while a background job re-encrypts rows whose key id is not the write key
//! ([`PiiCipher::needs_reencrypt`]). Blind indexes and subject hashes come from one designated
//! *index* key that does **not** change when the write key rotates, because a UNIQUE index on the
//! blind index only works if every row was indexed with the same key; replacing the index key
//! means recomputing every blind index (decrypt the email, re-index) in one migration.
//!
//! # Leakage
//! A blind index is deterministic: equal emails have equal indexes (needed for uniqueness and
//! login lookup). It supports equality only, and an attacker holding both the database and the
//! index key could test guesses; without the key the index reveals nothing more than equality.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use uuid::Uuid;

use super::AuthError;
use crate::text::{Name, TextError};

/// Identifies which master key encrypted a ciphertext; stored beside it.
pub type KeyId = u16;

/// Bytes of the master data key (AES-256).
pub const DATA_KEY_BYTES: usize = 32;
/// Bytes of the random GCM nonce placed before each ciphertext (96 bits, GCM's native size).
pub const NONCE_BYTES: usize = 12;
/// Bytes of the GCM authentication tag at the end of each ciphertext.
pub const TAG_BYTES: usize = 16;

const LABEL_AES: &[u8] = b"tally/pii/aes-256-gcm/v1";
const LABEL_BLIND_INDEX_EMAIL: &[u8] = b"tally/blind-index/email/v1";
const LABEL_SUBJECT: &[u8] = b"tally/throttle-subject/v1";
/// Domain-separates our associated data from anything else that might be authenticated.
const AAD_PREFIX: &[u8] = b"tally/pii/v1\0";

type HmacSha256 = Hmac<Sha256>;

/// The master data key (`TALLY_DATA_KEY`). Zeroized on drop; `Debug` shows `[REDACTED]`.
pub struct DataKey(SecretBox<[u8; DATA_KEY_BYTES]>);

impl DataKey {
    /// Reads 64 hex characters (either case, surrounding whitespace ignored). Refuses other
    /// lengths and a key made of one repeated byte (an all-zero placeholder is not a key).
    pub fn from_hex(hex_key: &str) -> Result<Self, AuthError> {
        let mut bytes = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        hex::decode_to_slice(hex_key.trim(), bytes.as_mut_slice()).map_err(|_| {
            AuthError::WeakSecret("TALLY_DATA_KEY must be 64 hex characters (32 bytes)")
        })?;
        if bytes.iter().all(|b| *b == bytes[0]) {
            return Err(AuthError::WeakSecret("TALLY_DATA_KEY is one repeated byte"));
        }
        Ok(DataKey(SecretBox::new(Box::new(*bytes))))
    }

    /// A fresh random key, for development setups that generate their secrets once.
    pub fn generate() -> Self {
        let mut bytes = Box::new([0u8; DATA_KEY_BYTES]);
        OsRng.fill_bytes(bytes.as_mut_slice());
        DataKey(SecretBox::new(bytes))
    }

    /// The key as 64 lower-case hex characters, the format [`DataKey::from_hex`] reads; for
    /// writing a generated development key to its file.
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(self.0.expose_secret()))
    }

    /// HMAC-SHA256(master, label): a 32-byte subkey for one purpose.
    fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut mac = keyed(self.0.expose_secret());
        mac.update(label);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// HMAC-SHA256 keyed with a 32-byte key, without a fallible constructor: HMAC zero-pads keys
/// shorter than the hash's 64-byte block (RFC 2104 §2), so a 32-byte key and the same key
/// zero-padded to 64 bytes are the same HMAC key, and the block-sized `KeyInit::new` cannot fail.
fn keyed(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&(*block).into())
}

/// A ciphertext and the id of the key that made it; store both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Goes in the `*_key_id` column.
    pub key_id: KeyId,
    /// `nonce ‖ ciphertext ‖ tag`; goes in the `*_ct` column.
    pub ciphertext: Vec<u8>,
}

/// The associated data for a PII column of one row: binds a ciphertext to `column` (e.g.
/// `"users.email"`) and `row_id`. Use the same call when encrypting and decrypting.
pub fn aad(column: &str, row_id: Uuid) -> Vec<u8> {
    // Unambiguous: fixed prefix, the column (which never contains NUL), a NUL, then exactly 16
    // bytes of id.
    let mut out = Vec::with_capacity(AAD_PREFIX.len() + column.len() + 1 + 16);
    out.extend_from_slice(AAD_PREFIX);
    out.extend_from_slice(column.as_bytes());
    out.push(0);
    out.extend_from_slice(row_id.as_bytes());
    out
}

/// Encrypts and decrypts PII, computes blind indexes and throttling hashes. Build it once at
/// start-up and share it (`Arc`).
pub struct PiiCipher {
    write_key_id: KeyId,
    ciphers: BTreeMap<KeyId, Aes256Gcm>,
    blind_index_email: HmacSha256,
    subject: HmacSha256,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiCipher")
            .field("write_key_id", &self.write_key_id)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .field("keys", &"[REDACTED]")
            .finish()
    }
}

impl PiiCipher {
    /// One key that writes, reads and indexes: the normal, unrotated setup.
    pub fn new(key_id: KeyId, master: &DataKey) -> Self {
        let mut ciphers = BTreeMap::new();
        ciphers.insert(key_id, aes_from(master));
        PiiCipher {
            write_key_id: key_id,
            ciphers,
            blind_index_email: keyed(&master.derive(LABEL_BLIND_INDEX_EMAIL)),
            subject: keyed(&master.derive(LABEL_SUBJECT)),
        }
    }

    /// Several keys during a rotation: `write_key_id` encrypts new values, every key decrypts,
    /// and `index_key_id` keys the blind index and subject hashes (keep it unchanged across
    /// rotations of the write key; see the module docs). Both ids must be among `keys`, and no id
    /// may appear twice.
    pub fn with_keys<'a>(
        write_key_id: KeyId,
        index_key_id: KeyId,
        keys: impl IntoIterator<Item = (KeyId, &'a DataKey)>,
    ) -> Result<Self, AuthError> {
        let mut ciphers = BTreeMap::new();
        let mut index = None;
        for (id, key) in keys {
            if ciphers.insert(id, aes_from(key)).is_some() {
                return Err(AuthError::WeakSecret("a data key id is configured twice"));
            }
            if id == index_key_id {
                index = Some((
                    keyed(&key.derive(LABEL_BLIND_INDEX_EMAIL)),
                    keyed(&key.derive(LABEL_SUBJECT)),
                ));
            }
        }
        if !ciphers.contains_key(&write_key_id) {
            return Err(AuthError::WeakSecret(
                "the write data key id is not configured",
            ));
        }
        let Some((blind_index_email, subject)) = index else {
            return Err(AuthError::WeakSecret(
                "the index data key id is not configured",
            ));
        };
        Ok(PiiCipher {
            write_key_id,
            ciphers,
            blind_index_email,
            subject,
        })
    }

    /// The key id new ciphertexts are written with.
    pub fn write_key_id(&self) -> KeyId {
        self.write_key_id
    }

    /// Whether a row encrypted under `key_id` should be re-encrypted with the write key.
    pub fn needs_reencrypt(&self, key_id: KeyId) -> bool {
        key_id != self.write_key_id
    }

    /// Encrypts `plaintext` under the write key with a fresh random nonce, authenticating `aad`
    /// (build it with [`aad`]).
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> Result<Sealed, AuthError> {
        let cipher = self
            .ciphers
            .get(&self.write_key_id)
            .ok_or(AuthError::Crypto("write data key missing"))?;
        // Random 96-bit nonces: collision risk stays negligible far beyond the number of PII
        // values one key will ever encrypt (NIST's 2^32 bound per key).
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| AuthError::Crypto("encryption failed"))?;
        let mut ciphertext = Vec::with_capacity(NONCE_BYTES + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Ok(Sealed {
            key_id: self.write_key_id,
            ciphertext,
        })
    }

    /// Decrypts a value written by [`PiiCipher::encrypt`] under `key_id`. Any tampering (a
    /// flipped bit, another row's or column's ciphertext, a wrong key id) fails authentication
    /// and returns `Crypto`; garbage is never returned.
    pub fn decrypt(
        &self,
        key_id: KeyId,
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<String, AuthError> {
        let cipher = self
            .ciphers
            .get(&key_id)
            .ok_or(AuthError::Crypto("unknown data key id"))?;
        if ciphertext.len() < NONCE_BYTES + TAG_BYTES {
            return Err(AuthError::Crypto("ciphertext too short"));
        }
        let (nonce, sealed) = ciphertext.split_at(NONCE_BYTES);
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
                .map_err(|_| AuthError::Crypto("decryption failed"))?,
        );
        String::from_utf8(plaintext.to_vec())
            .map_err(|_| AuthError::Crypto("plaintext is not UTF-8"))
    }

    /// The blind index of a normalised email: HMAC-SHA256 with the derived blind-index key. Store
    /// it in a UNIQUE column; look users up by it. Taking [`Email`] guarantees the input was
    /// normalised, so `Alice@X.com ` and `alice@x.com` index the same.
    pub fn blind_index(&self, email: &Email) -> [u8; 32] {
        let mut mac = self.blind_index_email.clone();
        mac.update(email.as_str().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A keyed hash naming a throttling subject, e.g. `subject_hash("email", email.as_str())` or
    /// `subject_hash("client", &ip.to_string())`, so raw emails and addresses never reach the
    /// database. `kind` separates namespaces: the same value under two kinds hashes differently.
    pub fn subject_hash(&self, kind: &str, value: &str) -> [u8; 32] {
        let mut mac = self.subject.clone();
        // Length-prefix the kind so ("ab","c") and ("a","bc") cannot collide. A kind longer
        // than u32::MAX bytes cannot exist in practice; saturating keeps this total.
        let kind_len = u32::try_from(kind.len()).unwrap_or(u32::MAX);
        mac.update(&kind_len.to_be_bytes());
        mac.update(kind.as_bytes());
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn aes_from(master: &DataKey) -> Aes256Gcm {
    let key = master.derive(LABEL_AES);
    Aes256Gcm::new(key.as_slice().into())
}

/// Longest email accepted, in bytes (RFC 5321 path limit less the angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest local part (before `@`), in bytes (RFC 5321).
const MAX_LOCAL_BYTES: usize = 64;
/// Longest DNS label, in bytes.
const MAX_LABEL_BYTES: usize = 63;

/// A normalised, plausibly deliverable email address: trimmed, lower-cased, one `@`, a non-empty
/// local part of at most 64 bytes, a dotted domain of non-empty labels, no whitespace, control
/// or quoting characters, at most 254 bytes. Deliverability is proved only by sending mail; this
/// only keeps nonsense out and makes equal addresses compare equal.
///
/// It is personal data: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, AuthError> {
        const FIELD: &str = "email";
        // Refuse absurd inputs before allocating a lower-cased copy.
        if input.len() > 4 * MAX_EMAIL_BYTES {
            return Err(AuthError::input(FIELD, "must be at most 254 characters"));
        }
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(AuthError::input(FIELD, "must not be empty"));
        }
        if email.len() > MAX_EMAIL_BYTES {
            return Err(AuthError::input(FIELD, "must be at most 254 characters"));
        }
        // Quoted local parts, comments and address lists are legal in RFC 5322 but never in a
        // sign-up form; refusing them removes every parsing ambiguity.
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[\\]".contains(c))
        {
            return Err(AuthError::input(
                FIELD,
                "must not contain spaces or special characters",
            ));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(AuthError::input(FIELD, "must contain an @"));
        };
        if domain.contains('@') {
            return Err(AuthError::input(FIELD, "must contain exactly one @"));
        }
        if local.is_empty() || local.len() > MAX_LOCAL_BYTES {
            return Err(AuthError::input(
                FIELD,
                "must have 1 to 64 characters before the @",
            ));
        }
        if !domain.contains('.')
            || domain
                .split('.')
                .any(|label| label.is_empty() || label.len() > MAX_LABEL_BYTES)
        {
            return Err(AuthError::input(
                FIELD,
                "must have a valid domain after the @",
            ));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Email([REDACTED])")
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Longest display name, in characters (issue 4).
pub const MAX_NAME_CHARS: usize = 100;

/// A display name: a [`Name`] of at most 100 characters (trimmed, one line, no control or
/// bidirectional formatting characters), which is personal data: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserName(Name);

impl UserName {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        Name::parse("name", input, MAX_NAME_CHARS).map(UserName)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserName([REDACTED])")
    }
}

impl AsRef<str> for UserName {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "F0E1D2C3B4A5968778695A4B3C2D1E0F00112233445566778899AABBCCDDEEFF";

    fn key(hex: &str) -> DataKey {
        DataKey::from_hex(hex).unwrap()
    }

    #[test]
    fn round_trip() {
        let pii = PiiCipher::new(1, &key(K1));
        let row = Uuid::new_v4();
        let sealed = pii
            .encrypt("alice@example.com", &aad("users.email", row))
            .unwrap();
        assert_eq!(sealed.key_id, 1);
        assert_eq!(
            sealed.ciphertext.len(),
            NONCE_BYTES + "alice@example.com".len() + TAG_BYTES
        );
        let plain = pii
            .decrypt(sealed.key_id, &sealed.ciphertext, &aad("users.email", row))
            .unwrap();
        assert_eq!(plain, "alice@example.com");
    }

    #[test]
    fn ciphertext_hides_plaintext_and_is_randomised() {
        let pii = PiiCipher::new(1, &key(K1));
        let a = aad("users.name", Uuid::nil());
        let one = pii.encrypt("Alice Wonderland", &a).unwrap();
        let two = pii.encrypt("Alice Wonderland", &a).unwrap();
        assert_ne!(one.ciphertext, two.ciphertext, "nonces must differ");
        assert!(!one.ciphertext.windows(5).any(|w| w == b"Alice"));
    }

    #[test]
    fn wrong_aad_fails() {
        let pii = PiiCipher::new(1, &key(K1));
        let (row, other_row) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = pii
            .encrypt("alice@example.com", &aad("users.email", row))
            .unwrap();
        // Copied to another user's row.
        assert!(matches!(
            pii.decrypt(1, &sealed.ciphertext, &aad("users.email", other_row)),
            Err(AuthError::Crypto(_))
        ));
        // Copied to another column of the same row.
        assert!(
            pii.decrypt(1, &sealed.ciphertext, &aad("users.name", row))
                .is_err()
        );
    }

    #[test]
    fn every_flipped_bit_fails() {
        let pii = PiiCipher::new(1, &key(K1));
        let a = aad("users.email", Uuid::new_v4());
        let sealed = pii.encrypt("bob@example.com", &a).unwrap();
        for byte in 0..sealed.ciphertext.len() {
            for bit in 0..8 {
                let mut tampered = sealed.ciphertext.clone();
                tampered[byte] ^= 1 << bit;
                assert!(
                    pii.decrypt(1, &tampered, &a).is_err(),
                    "byte {byte} bit {bit} went unnoticed"
                );
            }
        }
        assert!(pii.decrypt(1, &sealed.ciphertext[..27], &a).is_err());
        assert!(pii.decrypt(1, &[], &a).is_err());
    }

    #[test]
    fn unknown_key_id_fails() {
        let pii = PiiCipher::new(1, &key(K1));
        let a = aad("users.email", Uuid::new_v4());
        let sealed = pii.encrypt("x@example.com", &a).unwrap();
        assert!(pii.decrypt(2, &sealed.ciphertext, &a).is_err());
    }

    #[test]
    fn old_key_still_decrypts_after_rotation() {
        let row = Uuid::new_v4();
        let a = aad("users.email", row);
        let before = PiiCipher::new(1, &key(K1));
        let old = before.encrypt("carol@example.com", &a).unwrap();

        let after = PiiCipher::with_keys(2, 1, [(1, &key(K1)), (2, &key(K2))]).unwrap();
        assert_eq!(
            after.decrypt(old.key_id, &old.ciphertext, &a).unwrap(),
            "carol@example.com"
        );
        assert!(after.needs_reencrypt(old.key_id));

        let new = after.encrypt("carol@example.com", &a).unwrap();
        assert_eq!(new.key_id, 2);
        assert!(!after.needs_reencrypt(new.key_id));
        assert_eq!(
            after.decrypt(2, &new.ciphertext, &a).unwrap(),
            "carol@example.com"
        );
        // The old cipher cannot read what the new key wrote.
        assert!(before.decrypt(2, &new.ciphertext, &a).is_err());
        assert!(before.decrypt(1, &new.ciphertext, &a).is_err());

        // The index key did not change, so lookups and uniqueness keep working.
        let email = Email::parse("carol@example.com").unwrap();
        assert_eq!(before.blind_index(&email), after.blind_index(&email));
        assert_eq!(
            before.subject_hash("email", email.as_str()),
            after.subject_hash("email", email.as_str())
        );
    }

    #[test]
    fn with_keys_checks_its_ids() {
        assert!(PiiCipher::with_keys(3, 1, [(1, &key(K1)), (2, &key(K2))]).is_err());
        assert!(PiiCipher::with_keys(1, 3, [(1, &key(K1)), (2, &key(K2))]).is_err());
        assert!(PiiCipher::with_keys(1, 1, [(1, &key(K1)), (1, &key(K2))]).is_err());
    }

    #[test]
    fn blind_index_is_normalised_and_distinct() {
        let pii = PiiCipher::new(1, &key(K1));
        let a = Email::parse("Alice@X.com ").unwrap();
        let b = Email::parse("alice@x.com").unwrap();
        let c = Email::parse("alice2@x.com").unwrap();
        assert_eq!(pii.blind_index(&a), pii.blind_index(&b));
        assert_ne!(pii.blind_index(&a), pii.blind_index(&c));
        // Keyed: another master key gives another index.
        assert_ne!(
            pii.blind_index(&a),
            PiiCipher::new(1, &key(K2)).blind_index(&a)
        );
    }

    #[test]
    fn derived_keys_are_separate() {
        // The blind index is neither a plain hash nor the subject hash of the same value, and
        // the AES key is not the master key (a ciphertext made with the raw master must not open).
        let master = key(K1);
        let pii = PiiCipher::new(1, &master);
        let email = Email::parse("dave@example.com").unwrap();
        assert_ne!(
            pii.blind_index(&email),
            pii.subject_hash("", email.as_str())
        );
        assert_ne!(
            pii.blind_index(&email),
            pii.subject_hash("email", email.as_str())
        );
        let mut raw_mac = keyed(master.0.expose_secret());
        raw_mac.update(email.as_str().as_bytes());
        let raw: [u8; 32] = raw_mac.finalize().into_bytes().into();
        assert_ne!(pii.blind_index(&email), raw);

        let raw_aes = Aes256Gcm::new(master.0.expose_secret().as_slice().into());
        let nonce = [0u8; NONCE_BYTES];
        let a = aad("users.email", Uuid::nil());
        let ct = raw_aes
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: b"x", aad: &a })
            .unwrap();
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ct);
        assert!(pii.decrypt(1, &stored, &a).is_err());
    }

    #[test]
    fn zero_padded_block_key_equals_plain_hmac_key() {
        // `keyed` relies on RFC 2104's zero-padding; prove it against the fallible constructor.
        let key = [0x5au8; 32];
        let mut ours = keyed(&key);
        let mut reference = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
        ours.update(b"message");
        reference.update(b"message");
        assert_eq!(
            ours.finalize().into_bytes(),
            reference.finalize().into_bytes()
        );
    }

    #[test]
    fn subject_hash_separates_kinds() {
        let pii = PiiCipher::new(1, &key(K1));
        assert_eq!(
            pii.subject_hash("client", "10.0.0.1"),
            pii.subject_hash("client", "10.0.0.1")
        );
        assert_ne!(
            pii.subject_hash("client", "10.0.0.1"),
            pii.subject_hash("email", "10.0.0.1")
        );
        assert_ne!(pii.subject_hash("ab", "c"), pii.subject_hash("a", "bc"));
    }

    #[test]
    fn data_key_parsing() {
        assert!(DataKey::from_hex(K2).is_ok(), "upper-case hex");
        assert!(
            DataKey::from_hex(&format!(" {K1}\n")).is_ok(),
            "whitespace trimmed"
        );
        assert!(DataKey::from_hex(&K1[..62]).is_err(), "31 bytes");
        assert!(DataKey::from_hex(&format!("{K1}00")).is_err(), "33 bytes");
        assert!(DataKey::from_hex(&"zz".repeat(32)).is_err(), "not hex");
        assert!(DataKey::from_hex(&"00".repeat(32)).is_err(), "all zero");
        let generated = DataKey::generate();
        let again = DataKey::from_hex(generated.to_hex().expose_secret()).unwrap();
        let a = aad("users.email", Uuid::nil());
        let sealed = PiiCipher::new(1, &generated).encrypt("e@x.io", &a).unwrap();
        assert_eq!(
            PiiCipher::new(1, &again)
                .decrypt(1, &sealed.ciphertext, &a)
                .unwrap(),
            "e@x.io"
        );
    }

    #[test]
    fn keys_never_print() {
        let master = key(K1);
        let pii = PiiCipher::new(7, &master);
        let shown = format!("{master:?} {pii:?}");
        assert!(!shown.contains("0001020304"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn email_is_normalised() {
        let e = Email::parse("  Alice.Smith+tag@Example.COM \t").unwrap();
        assert_eq!(e.as_str(), "alice.smith+tag@example.com");
        assert!(!format!("{e:?}").contains("alice"));
    }

    #[test]
    fn email_rejects_nonsense() {
        let too_long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
        assert_eq!(too_long.len(), 255);
        let just_fits = format!("{}@{}.com", "a".repeat(64), "b".repeat(185));
        assert!(Email::parse(&just_fits).is_err(), "label over 63 bytes");
        for bad in [
            "",
            "   ",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "a@b@example.com",
            "alice smith@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example.com.",
            "alice@example..com",
            "\"alice\"@example.com",
            "alice@[127.0.0.1]",
            "alice\u{0}@example.com",
            &format!("{}@example.com", "a".repeat(65)),
            &too_long,
        ] {
            match Email::parse(bad) {
                Err(AuthError::InvalidInput { field, .. }) => assert_eq!(field, "email"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
        assert!(Email::parse("x@a.b.c.example.co.uk").is_ok());
    }

    #[test]
    fn user_name_is_a_redacted_name_of_at_most_100_characters() {
        assert_eq!(
            UserName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(UserName::parse(&"é".repeat(100)).is_ok());
        for bad in ["x".repeat(101), "Ada\u{202E}ecalevoL".to_owned()] {
            match UserName::parse(&bad) {
                Err(TextError { field, .. }) => assert_eq!(field, "name"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        assert!(!format!("{:?}", UserName::parse("Ada").unwrap()).contains("Ada"));
    }
}
