//! How staff prove who they are: a PIN (stored only as an Argon2id hash), a
//! staff card (configured as the SHA-256 of its UID) or a signed phone token
//! (Ed25519). Everything here is computation; nothing reads a file or a clock.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::hex;

/// One digit typed on the PIN pad. `Debug` is redacted so event logs never
/// spell out a PIN digit by digit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinDigit(u8);

impl PinDigit {
    /// The digit `0..=9`, or `None` for anything else.
    pub fn new(digit: u8) -> Option<Self> {
        (digit <= 9).then_some(Self(digit))
    }

    /// The digit for the character `'0'..='9'`, or `None`.
    pub fn from_char(c: char) -> Option<Self> {
        c.to_digit(10).and_then(|d| Self::new(d as u8))
    }
}

impl fmt::Debug for PinDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinDigit(<redacted>)")
    }
}

/// A staff PIN: digits only, zeroised on drop, `Debug` redacted, no `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pin(Zeroizing<String>);

/// Why a PIN was refused by [`Pin::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Something other than the digits 0 to 9.
    #[error("a staff PIN has digits only (0 to 9)")]
    NotDigits,
    /// Too short or too long.
    #[error("a staff PIN has {min} to {max} digits", min = Pin::MIN_LEN, max = Pin::MAX_LEN)]
    Length,
}

impl Pin {
    /// Shortest PIN accepted: a PIN is guessable offline from its hash, so
    /// every digit counts (10^6 candidates at least).
    pub const MIN_LEN: usize = 6;
    /// Longest PIN the pad takes.
    pub const MAX_LEN: usize = 12;

    /// A PIN from text (for `kiosk-app staff hash-pin`), 6 to 12 digits.
    pub fn parse(text: &str) -> Result<Self, PinError> {
        let text = Zeroizing::new(text.trim().to_owned());
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::NotDigits);
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len()) {
            return Err(PinError::Length);
        }
        Ok(Self(text))
    }

    /// How many digits are typed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a digit; `false` when the PIN is already as long as allowed.
    pub(crate) fn push(&mut self, digit: PinDigit) -> bool {
        if self.0.len() >= Self::MAX_LEN {
            return false;
        }
        self.0.push(char::from(b'0' + digit.0));
        true
    }

    /// Removes the last digit.
    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Hashing a PIN failed (no random salt from the operating system).
#[derive(Debug, Clone, thiserror::Error)]
#[error("hashing the PIN failed: {0}")]
pub struct PinHashError(String);

/// Hashes `pin` for the configuration (`[staff] pin_hash`): Argon2id with the
/// crate's recommended parameters (19 MiB, 2 passes, 1 lane) and a random
/// salt, as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub fn hash_pin(pin: &Pin) -> Result<String, PinHashError> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PinHashError(e.to_string()))
}

/// A checked PHC string of the staff PIN's Argon2 hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl PinHash {
    /// Checks a PHC string as [`hash_pin`] writes it. Only Argon2id is
    /// accepted: Argon2i and Argon2d are weaker against one attack or the other.
    pub fn parse(phc: &str) -> Result<Self, CredentialError> {
        let phc = phc.trim();
        let problem = |text: &str| CredentialError {
            key: "staff.pin_hash",
            problem: text.to_owned(),
        };
        let parsed = PasswordHash::new(phc).map_err(|_| {
            problem(
                "is not a PHC password hash; never write the PIN itself here: run `kiosk-app staff hash-pin` and paste its output",
            )
        })?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(problem(
                "must be an Argon2id hash ($argon2id$...); run `kiosk-app staff hash-pin` to make one",
            ));
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(problem(
                "has no salt or no hash part; copy the whole output of `kiosk-app staff hash-pin`",
            ));
        }
        if argon2::Params::try_from(&parsed).is_err() {
            return Err(problem("has Argon2 parameters out of range"));
        }
        Ok(Self(phc.to_owned()))
    }

    /// Whether `pin` matches. Takes tens of milliseconds by design.
    pub(crate) fn verify(&self, pin: &Pin) -> bool {
        // Parsed in `parse`; parsing again is cheap and keeps no borrow in the type.
        let Ok(hash) = PasswordHash::new(&self.0) else {
            return false;
        };
        Argon2::default()
            .verify_password(pin.as_bytes(), &hash)
            .is_ok()
    }
}

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash(argon2id)")
    }
}

/// A card's UID as the reader returned it (`FF CA 00 00 00`). Raw UIDs are
/// never configured, logged or shown: `Debug` is redacted and the bytes are
/// zeroised on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct CardUid(Zeroizing<Vec<u8>>);

impl CardUid {
    /// The UID bytes (4, 7 or 10 bytes on ISO 14443 cards).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardUid(<redacted>)")
    }
}

/// The SHA-256 of a staff card's UID: what the configuration holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CardHash([u8; 32]);

impl CardHash {
    /// The hash of `uid`.
    pub fn of(uid: &CardUid) -> Self {
        Self(Sha256::digest(uid.0.as_slice()).into())
    }

    /// From 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, CredentialError> {
        hex::decode_array(text.trim())
            .map(Self)
            .ok_or_else(|| CredentialError {
                key: "staff.card_uid_sha256",
                problem: "each entry must be 64 hex digits (the SHA-256 of a staff card's UID), never the UID itself".to_owned(),
            })
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The first 8 hex digits: a pseudonym for the audit log that tells
    /// staff cards apart without being enough to look for the UID.
    pub fn prefix(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// Constant-time equality, so the time taken does not reveal how many
    /// leading bytes of a configured hash a presented card matched.
    fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for CardHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardHash({}…)", self.prefix())
    }
}

/// A phone token as presented (`KST1.<staff-id>.<expires>.<signature>`).
/// It is a bearer credential until it expires: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken(Zeroizing<String>);

impl PresentedToken {
    /// The token text as the phone sent it.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedToken(<redacted>)")
    }
}

/// The token format's tag; also separates its signatures from any other use
/// of the same key.
pub const TOKEN_PREFIX: &str = "KST1";

/// A public key whose signed phone tokens open staff mode.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenKey(VerifyingKey);

impl TokenKey {
    /// From 64 hex digits (the 32-byte Ed25519 public key).
    pub fn from_hex(text: &str) -> Result<Self, CredentialError> {
        let problem = || CredentialError {
            key: "staff.token_public_keys",
            problem: "each entry must be an Ed25519 public key as 64 hex digits".to_owned(),
        };
        let bytes: [u8; 32] = hex::decode_array(text.trim()).ok_or_else(problem)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| problem())
    }

    /// The public key belonging to the signing key `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed).verifying_key())
    }

    /// 64 lower-case hex digits, as the configuration holds it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({})", &self.to_hex()[..8])
    }
}

/// Why a staff id cannot go into a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a staff id has 1 to 32 characters: letters a-z, digits and '-'; use a personnel number or another pseudonym, never a name"
)]
pub struct StaffIdError;

/// Checks a staff id: 1 to 32 of `a-z`, `0-9` and `-`.
pub(crate) fn check_staff_id(id: &str) -> Result<(), StaffIdError> {
    let ok = (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(StaffIdError) }
}

/// Makes a staff phone token (the issuing side: the town hall's token
/// service, the demo's virtual phone, tests). `seed` is the Ed25519 signing
/// key; `expires` is rounded down to whole seconds.
pub fn sign_token(
    seed: &[u8; 32],
    staff_id: &str,
    expires: SystemTime,
) -> Result<String, StaffIdError> {
    check_staff_id(staff_id)?;
    let expires = expires
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let signed = format!("{TOKEN_PREFIX}.{staff_id}.{expires}");
    let signature = SigningKey::from_bytes(seed).sign(signed.as_bytes());
    Ok(format!("{signed}.{}", hex::encode(&signature.to_bytes())))
}

/// A token whose signature, issuer and validity checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The pseudonymous staff id it names.
    pub staff_id: String,
    /// End of validity.
    pub expires: SystemTime,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not `KST1.<staff-id>.<expires>.<128 hex digits>`.
    #[error("not a staff token")]
    Malformed,
    /// No configured key made this signature.
    #[error("signature not made by a configured key")]
    UnknownSigner,
    /// Signed, but expired.
    #[error("expired")]
    Expired {
        /// The staff id it names (the signature is valid).
        staff_id: String,
    },
    /// Signed, but valid for longer than the kiosk accepts.
    #[error("valid for longer than allowed")]
    TooLongLived {
        /// The staff id it names (the signature is valid).
        staff_id: String,
    },
}

/// The parts of a token, before its signature is checked.
struct TokenParts<'a> {
    signed: &'a str,
    staff_id: &'a str,
    expires: u64,
    signature: Signature,
}

fn split_token(text: &str) -> Option<TokenParts<'_>> {
    let (signed, signature) = text.rsplit_once('.')?;
    let mut parts = signed.split('.');
    let (Some(prefix), Some(staff_id), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if prefix != TOKEN_PREFIX || check_staff_id(staff_id).is_err() {
        return None;
    }
    if expires.is_empty() || expires.len() > 19 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let signature: [u8; 64] = hex::decode_array(signature)?;
    Some(TokenParts {
        signed,
        staff_id,
        expires: expires.parse().ok()?,
        signature: Signature::from_bytes(&signature),
    })
}

/// Checks `token` against `keys` at wall-clock time `now`. A token must
/// expire after `now` and at most `max_lifetime` after it, so a copied
/// long-lived token cannot be kept for later.
pub(crate) fn verify_token(
    token: &PresentedToken,
    keys: &[TokenKey],
    now: SystemTime,
    max_lifetime: Duration,
) -> Result<VerifiedToken, TokenRejection> {
    let parts = split_token(token.0.trim()).ok_or(TokenRejection::Malformed)?;
    let signed_by_us = keys.iter().any(|key| {
        key.0
            .verify_strict(parts.signed.as_bytes(), &parts.signature)
            .is_ok()
    });
    if !signed_by_us {
        return Err(TokenRejection::UnknownSigner);
    }
    let staff_id = parts.staff_id.to_owned();
    let expires = UNIX_EPOCH + Duration::from_secs(parts.expires);
    if expires <= now {
        return Err(TokenRejection::Expired { staff_id });
    }
    if expires > now + max_lifetime {
        return Err(TokenRejection::TooLongLived { staff_id });
    }
    Ok(VerifiedToken { staff_id, expires })
}

/// A configuration entry that is not usable, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {problem}")]
pub struct CredentialError {
    /// The configuration key, e.g. `staff.pin_hash`.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub problem: String,
}

/// Everything that opens staff mode, as configured.
#[derive(Debug, Clone, Default)]
pub struct StaffCredentials {
    pin: Option<PinHash>,
    cards: Vec<CardHash>,
    token_keys: Vec<TokenKey>,
}

/// How a staff member got in (for the audit log and the dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authenticated {
    Pin,
    Card(CardHash),
    Token(VerifiedToken),
}

impl StaffCredentials {
    /// From checked parts.
    pub fn new(pin: Option<PinHash>, cards: Vec<CardHash>, token_keys: Vec<TokenKey>) -> Self {
        Self {
            pin,
            cards,
            token_keys,
        }
    }

    /// From the `[staff]` configuration's strings: the PIN's PHC string,
    /// SHA-256 hex digests of staff card UIDs, Ed25519 public keys as hex.
    /// Every problem names its key.
    pub fn from_config(
        pin_hash: Option<&str>,
        card_uid_sha256: &[String],
        token_public_keys: &[String],
    ) -> Result<Self, CredentialError> {
        Ok(Self {
            pin: pin_hash.map(PinHash::parse).transpose()?,
            cards: card_uid_sha256
                .iter()
                .map(|h| CardHash::from_hex(h))
                .collect::<Result<_, _>>()?,
            token_keys: token_public_keys
                .iter()
                .map(|k| TokenKey::from_hex(k))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether nothing is configured (staff mode cannot be opened at all).
    pub fn is_empty(&self) -> bool {
        self.pin.is_none() && self.cards.is_empty() && self.token_keys.is_empty()
    }

    /// Whether a PIN is configured.
    pub fn has_pin(&self) -> bool {
        self.pin.is_some()
    }

    pub(crate) fn check_pin(&self, pin: &Pin) -> bool {
        self.pin.as_ref().is_some_and(|hash| hash.verify(pin))
    }

    /// The presented card's hash if it is a configured staff card. Every
    /// configured hash is compared, in constant time each.
    pub(crate) fn check_card(&self, uid: &CardUid) -> Result<CardHash, ()> {
        let presented = CardHash::of(uid);
        let matches = self
            .cards
            .iter()
            .fold(false, |found, known| found | known.ct_eq(&presented));
        if matches { Ok(presented) } else { Err(()) }
    }

    pub(crate) fn check_token(
        &self,
        token: &PresentedToken,
        now: SystemTime,
        max_lifetime: Duration,
    ) -> Result<VerifiedToken, TokenRejection> {
        verify_token(token, &self.token_keys, now, max_lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7; 32];

    #[test]
    fn pins_are_digits_of_the_right_length() {
        assert!(Pin::parse("123456").is_ok());
        assert!(Pin::parse(" 123456789012 ").is_ok());
        assert_eq!(Pin::parse("12345"), Err(PinError::Length));
        assert_eq!(Pin::parse("1234567890123"), Err(PinError::Length));
        assert_eq!(Pin::parse("12a456"), Err(PinError::NotDigits));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let pin = Pin::parse("482916").unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        assert!(!format!("{:?}", PinDigit::new(7).unwrap()).contains('7'));
        let uid = CardUid::new(vec![0xde, 0xad, 0xbe, 0xef]);
        assert!(!format!("{uid:?}").to_lowercase().contains("dead"));
        let token = PresentedToken::new(
            sign_token(&SEED, "ka-0815", UNIX_EPOCH + Duration::from_secs(100)).unwrap(),
        );
        assert!(!format!("{token:?}").contains("ka-0815"));
    }

    #[test]
    fn card_hashes_match_the_sha256_of_the_uid() {
        // SHA-256 of the bytes 01 02 03 04.
        let expected = "9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a";
        let uid = CardUid::new(vec![1, 2, 3, 4]);
        assert_eq!(CardHash::of(&uid).to_hex(), expected);
        let credentials =
            StaffCredentials::from_config(None, &[expected.to_uppercase(), "00".repeat(32)], &[])
                .unwrap();
        assert!(credentials.check_card(&uid).is_ok());
        assert!(
            credentials
                .check_card(&CardUid::new(vec![1, 2, 3, 5]))
                .is_err()
        );
        assert_eq!(CardHash::of(&uid).prefix(), "9f64a747");
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let e = StaffCredentials::from_config(Some("123456"), &[], &[]).unwrap_err();
        assert_eq!(e.key, "staff.pin_hash");
        assert!(e.to_string().contains("hash-pin"), "{e}");
        let e = StaffCredentials::from_config(None, &["04a1b2c3".into()], &[]).unwrap_err();
        assert_eq!(e.key, "staff.card_uid_sha256");
        let e = StaffCredentials::from_config(None, &[], &["xyz".into()]).unwrap_err();
        assert_eq!(e.key, "staff.token_public_keys");
        // An Argon2i hash is refused: only Argon2id.
        let argon2i = "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA";
        assert!(PinHash::parse(argon2i).is_err());
    }

    #[test]
    fn hash_pin_makes_an_argon2id_phc_string_that_verifies() {
        let pin = Pin::parse("735190").unwrap();
        let phc = hash_pin(&pin).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("735190"));
        let hash = PinHash::parse(&phc).unwrap();
        assert!(hash.verify(&pin));
        assert!(!hash.verify(&Pin::parse("735191").unwrap()));
        // A fresh salt every time.
        assert_ne!(phc, hash_pin(&pin).unwrap());
    }

    #[test]
    fn tokens_verify_only_when_signed_current_and_short_lived() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let hour = Duration::from_secs(3600);
        let keys = [TokenKey::from_seed(&SEED)];
        let max = 12 * hour;
        let token = |seed: &[u8; 32], expires| {
            PresentedToken::new(sign_token(seed, "ka-0815", expires).unwrap())
        };
        let ok = verify_token(&token(&SEED, now + hour), &keys, now, max).unwrap();
        assert_eq!(ok.staff_id, "ka-0815");
        assert_eq!(ok.expires, now + hour);
        assert_eq!(
            verify_token(&token(&[8; 32], now + hour), &keys, now, max),
            Err(TokenRejection::UnknownSigner)
        );
        assert_eq!(
            verify_token(&token(&SEED, now), &keys, now, max),
            Err(TokenRejection::Expired {
                staff_id: "ka-0815".into()
            })
        );
        assert_eq!(
            verify_token(&token(&SEED, now + 13 * hour), &keys, now, max),
            Err(TokenRejection::TooLongLived {
                staff_id: "ka-0815".into()
            })
        );
        // Changing any signed part breaks the signature.
        let text = sign_token(&SEED, "ka-0815", now + hour).unwrap();
        let forged = text.replace("ka-0815", "ka-0816");
        assert_eq!(
            verify_token(&PresentedToken::new(forged), &keys, now, max),
            Err(TokenRejection::UnknownSigner)
        );
        for bad in [
            "",
            "KST1",
            "KST1.a.1.00",
            "KST2.a.1.",
            "KST1.A.1.x",
            "KST1.a..1",
        ] {
            assert_eq!(
                verify_token(&PresentedToken::new(bad), &keys, now, max),
                Err(TokenRejection::Malformed),
                "{bad:?}"
            );
        }
        assert!(sign_token(&SEED, "Erika Musterfrau", now).is_err());
    }

    #[test]
    fn token_keys_round_trip_as_hex() {
        let key = TokenKey::from_seed(&SEED);
        assert_eq!(TokenKey::from_hex(&key.to_hex()).unwrap(), key);
    }
}
