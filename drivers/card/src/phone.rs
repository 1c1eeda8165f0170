//! The kiosk's NFC phone protocol (see `docs/nfc-phone-protocol.md`): SELECT our AID,
//! send a fresh challenge, verify the phone's answer.
//!
//! The answer is a COSE_Sign1 made by the phone's device key over the challenge, whose
//! payload is the issuer's COSE_Sign1 credential (appointment or identity attributes, the
//! device's public key, validity). Both signatures are Ed25519. A replayed answer fails
//! because it was signed over another challenge; a copied credential fails because the
//! copier lacks the device key.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ciborium::Value;
use coset::iana;
use coset::{
    CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate,
    TaggedCborSerializable,
};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};

use crate::apdu::{Command, StatusWord, transmit};
use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};
use crate::identify::KIOSK_PHONE_AID;

/// Length of the kiosk's random challenge.
pub const CHALLENGE_LEN: usize = 32;
/// Instruction byte of GET TOKEN (proprietary class 80).
pub const INS_GET_TOKEN: u8 = 0x20;
/// Context string mixed into the device signature so it cannot be reused elsewhere.
const DEVICE_CONTEXT: &[u8] = b"kiosk-phone-v1";
/// Clock difference between kiosk and issuer tolerated for "not before".
const CLOCK_SKEW: Duration = Duration::from_secs(300);
/// Largest answer accepted from a phone.
const MAX_ANSWER_LEN: usize = 16 * 1024;

// CWT claim keys (RFC 8392) and our private claims (negative keys, RFC 8392 section 4).
const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_NBF: i64 = 5;
const CLAIM_DEVICE_KEY: i64 = -70_001;
const CLAIM_APPOINTMENT: i64 = -70_002;
const CLAIM_IDENTITY: i64 = -70_003;

/// Issuers whose credentials the kiosk accepts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedIssuers {
    keys: BTreeMap<Vec<u8>, (String, VerifyingKey)>,
}

impl TrustedIssuers {
    /// An empty set (accepts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` under key id `kid` for the issuer called `name` (for logs and UI).
    pub fn add(&mut self, kid: &[u8], name: &str, key: VerifyingKey) -> &mut Self {
        self.keys.insert(kid.to_vec(), (name.to_owned(), key));
        self
    }
}

/// What a credential is about.
#[derive(Clone, PartialEq, Eq)]
pub enum Subject {
    /// A booked appointment.
    Appointment {
        /// The service identifier from the catalogue, e.g. `meldebescheinigung`.
        service: String,
        /// Start of the appointment (Unix seconds).
        starts_at: u64,
    },
    /// Identity attributes vouched for by the issuer (personal data).
    Identity(IdentityAttributes),
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Appointment { service, starts_at } => f
                .debug_struct("Appointment")
                .field("service", service)
                .field("starts_at", starts_at)
                .finish(),
            Self::Identity(_) => f.write_str("Identity([REDACTED])"),
        }
    }
}

/// Identity attributes from a phone credential. Personal: `Debug` is redacted and the
/// values are zeroed when dropped.
#[derive(Clone)]
pub struct IdentityAttributes {
    /// Given names.
    pub given_names: SecretString,
    /// Family name.
    pub family_name: SecretString,
    /// Date of birth as `YYYY-MM-DD`.
    pub date_of_birth: SecretString,
}

impl PartialEq for IdentityAttributes {
    fn eq(&self, other: &Self) -> bool {
        self.given_names.expose_secret() == other.given_names.expose_secret()
            && self.family_name.expose_secret() == other.family_name.expose_secret()
            && self.date_of_birth.expose_secret() == other.date_of_birth.expose_secret()
    }
}

impl Eq for IdentityAttributes {}

impl fmt::Debug for IdentityAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityAttributes([REDACTED])")
    }
}

/// A credential whose issuer, validity, device binding and challenge all checked out.
/// `Debug` leaves out the credential's bytes (an identity credential holds personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The trusted issuer's name (as configured in [`TrustedIssuers`]).
    pub issuer: String,
    /// What the credential says.
    pub subject: Subject,
    /// End of validity.
    pub expires_at: SystemTime,
    /// The issuer-signed credential as the phone presented it (tagged COSE_Sign1).
    /// An appointment check-in forwards it, so the appointment system can tell which
    /// of its appointments arrived; it holds no more than `subject` says.
    pub credential: Vec<u8>,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .field(
                "credential",
                &format_args!("<{} bytes>", self.credential.len()),
            )
            .finish()
    }
}

/// The claims an issuer signs (issuer side of the protocol; used by issuing back ends,
/// the phone app's test double and virtual phones).
#[derive(Debug, Clone)]
pub struct CredentialClaims {
    /// Issuer identifier (informative; trust comes from the key id).
    pub issuer: String,
    /// Start of validity (Unix seconds).
    pub not_before: u64,
    /// End of validity (Unix seconds).
    pub expires: u64,
    /// The phone's device public key the credential is bound to.
    pub device_key: VerifyingKey,
    /// What the credential is about.
    pub subject: Subject,
}

/// Issues a credential: a tagged COSE_Sign1 signed with the issuer's key.
pub fn issue_credential(issuer_key: &SigningKey, kid: &[u8], claims: &CredentialClaims) -> Vec<u8> {
    let subject = match &claims.subject {
        Subject::Appointment { service, starts_at } => (
            CLAIM_APPOINTMENT,
            Value::Map(vec![
                (Value::Text("service".into()), Value::Text(service.clone())),
                (
                    Value::Text("starts_at".into()),
                    Value::Integer((*starts_at).into()),
                ),
            ]),
        ),
        Subject::Identity(identity) => (
            CLAIM_IDENTITY,
            Value::Map(vec![
                (
                    Value::Text("given_names".into()),
                    Value::Text(identity.given_names.expose_secret().to_owned()),
                ),
                (
                    Value::Text("family_name".into()),
                    Value::Text(identity.family_name.expose_secret().to_owned()),
                ),
                (
                    Value::Text("date_of_birth".into()),
                    Value::Text(identity.date_of_birth.expose_secret().to_owned()),
                ),
            ]),
        ),
    };
    let payload = Value::Map(vec![
        (
            Value::Integer(CLAIM_ISS.into()),
            Value::Text(claims.issuer.clone()),
        ),
        (
            Value::Integer(CLAIM_NBF.into()),
            Value::Integer(claims.not_before.into()),
        ),
        (
            Value::Integer(CLAIM_EXP.into()),
            Value::Integer(claims.expires.into()),
        ),
        (
            Value::Integer(CLAIM_DEVICE_KEY.into()),
            Value::Bytes(claims.device_key.to_bytes().to_vec()),
        ),
        (Value::Integer(subject.0.into()), subject.1),
    ]);
    let mut payload_bytes = Vec::new();
    // Writing CBOR into a Vec cannot fail.
    let _ = ciborium::into_writer(&payload, &mut payload_bytes);
    sign1(issuer_key, kid, payload_bytes, &[])
}

/// The phone's answer to a challenge: a COSE_Sign1 by the device key over the challenge,
/// carrying the issuer credential as payload.
pub fn answer_challenge(device_key: &SigningKey, credential: &[u8], challenge: &[u8]) -> Vec<u8> {
    sign1(
        device_key,
        b"device",
        credential.to_vec(),
        &device_aad(challenge),
    )
}

fn device_aad(challenge: &[u8]) -> Vec<u8> {
    [DEVICE_CONTEXT, challenge].concat()
}

fn sign1(key: &SigningKey, kid: &[u8], payload: Vec<u8>, aad: &[u8]) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(aad, |data| key.sign(data).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap_or_default()
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::AuthenticationFailed, message)
}

fn parse_sign1(bytes: &[u8], what: &str) -> Result<CoseSign1> {
    let sign1 = CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|_| Error::invalid(format!("the {what} is not a COSE_Sign1 structure")))?;
    let eddsa = RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA);
    if sign1.protected.header.alg != Some(eddsa) {
        return Err(auth_error(format!(
            "the {what} is not signed with EdDSA (Ed25519)"
        )));
    }
    Ok(sign1)
}

fn verify_ed25519(sign1: &CoseSign1, aad: &[u8], key: &VerifyingKey, what: &str) -> Result<()> {
    sign1.verify_signature(aad, |signature, data| {
        let signature = Signature::from_slice(signature)
            .map_err(|_| auth_error(format!("the {what} signature has a wrong length")))?;
        key.verify(data, &signature)
            .map_err(|_| auth_error(format!("the {what} signature is not valid")))
    })
}

/// Verifies a phone's answer to `challenge` against the trusted issuers at time `now`.
///
/// Checks, in order: structure, issuer key id is trusted, issuer signature, validity
/// period, and the device signature over the challenge (which also rules out replays).
pub fn verify_answer(
    answer: &[u8],
    challenge: &[u8],
    trusted: &TrustedIssuers,
    now: SystemTime,
) -> Result<VerifiedToken> {
    let device = parse_sign1(answer, "phone answer")?;
    let credential_bytes = device
        .payload
        .as_deref()
        .ok_or_else(|| Error::invalid("the phone answer carries no credential"))?;
    let credential = parse_sign1(credential_bytes, "credential")?;
    let (issuer_name, issuer_key) = trusted
        .keys
        .get(&credential.protected.header.key_id)
        .ok_or_else(|| {
            auth_error("the credential was issued by a key this kiosk does not trust")
        })?;
    verify_ed25519(&credential, &[], issuer_key, "issuer")?;
    let claims = credential
        .payload
        .as_deref()
        .ok_or_else(|| Error::invalid("the credential has no claims"))?;
    let claims = parse_claims(claims)?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_secs())
        .unwrap_or(0);
    if now_secs >= claims.expires {
        return Err(Error::new(
            ErrorKind::Expired,
            "the credential on the phone has expired; refresh it in the app",
        ));
    }
    if claims.not_before > now_secs + CLOCK_SKEW.as_secs() {
        return Err(auth_error("the credential is not valid yet"));
    }
    verify_ed25519(
        &device,
        &device_aad(challenge),
        &claims.device_key,
        "device",
    )
    .map_err(|_| {
        auth_error(
            "the phone did not sign this kiosk's challenge with the credential's device \
                 key (replayed or copied credential)",
        )
    })?;
    Ok(VerifiedToken {
        issuer: issuer_name.clone(),
        subject: claims.subject,
        expires_at: UNIX_EPOCH + Duration::from_secs(claims.expires),
        credential: credential_bytes.to_vec(),
    })
}

fn parse_claims(bytes: &[u8]) -> Result<CredentialClaims> {
    let value: Value = ciborium::from_reader(bytes)
        .map_err(|_| Error::invalid("the credential claims are not valid CBOR"))?;
    let Value::Map(entries) = value else {
        return Err(Error::invalid("the credential claims are not a CBOR map"));
    };
    let claim = |key: i64| {
        entries.iter().find_map(|(k, v)| match k {
            Value::Integer(i) if i128::from(*i) == i128::from(key) => Some(v),
            _ => None,
        })
    };
    let uint = |key: i64, name: &str| -> Result<u64> {
        match claim(key) {
            Some(Value::Integer(i)) => u64::try_from(*i)
                .map_err(|_| Error::invalid(format!("credential claim {name} is negative"))),
            _ => Err(Error::invalid(format!(
                "credential claim {name} is missing"
            ))),
        }
    };
    let issuer = match claim(CLAIM_ISS) {
        Some(Value::Text(text)) => text.clone(),
        _ => return Err(Error::invalid("credential claim iss is missing")),
    };
    let device_key = match claim(CLAIM_DEVICE_KEY) {
        Some(Value::Bytes(bytes)) => <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .and_then(|raw| VerifyingKey::from_bytes(&raw).ok())
            .ok_or_else(|| Error::invalid("credential device key is not an Ed25519 key"))?,
        _ => return Err(Error::invalid("credential device key is missing")),
    };
    let subject = if let Some(Value::Map(fields)) = claim(CLAIM_APPOINTMENT) {
        let service = text_field(fields, "service")?;
        let starts_at = match field(fields, "starts_at") {
            Some(Value::Integer(i)) => {
                u64::try_from(*i).map_err(|_| Error::invalid("appointment time is negative"))?
            }
            _ => return Err(Error::invalid("appointment time is missing")),
        };
        Subject::Appointment { service, starts_at }
    } else if let Some(Value::Map(fields)) = claim(CLAIM_IDENTITY) {
        Subject::Identity(IdentityAttributes {
            given_names: text_field(fields, "given_names")?.into(),
            family_name: text_field(fields, "family_name")?.into(),
            date_of_birth: text_field(fields, "date_of_birth")?.into(),
        })
    } else {
        return Err(Error::unsupported(
            "the credential carries neither an appointment nor identity attributes",
        ));
    };
    Ok(CredentialClaims {
        issuer,
        not_before: uint(CLAIM_NBF, "nbf").unwrap_or(0),
        expires: uint(CLAIM_EXP, "exp")?,
        device_key,
        subject,
    })
}

fn field<'a>(fields: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    fields.iter().find_map(|(k, v)| match k {
        Value::Text(text) if text == name => Some(v),
        _ => None,
    })
}

fn text_field(fields: &[(Value, Value)], name: &str) -> Result<String> {
    match field(fields, name) {
        Some(Value::Text(text)) => Ok(text.clone()),
        _ => Err(Error::invalid(format!(
            "credential field {name} is missing"
        ))),
    }
}

/// A fresh random challenge from the operating system's CSPRNG.
pub fn new_challenge() -> Result<[u8; CHALLENGE_LEN]> {
    let mut challenge = [0u8; CHALLENGE_LEN];
    getrandom::fill(&mut challenge).map_err(|error| {
        Error::new(
            ErrorKind::Other,
            format!("no randomness for the challenge: {error}"),
        )
    })?;
    Ok(challenge)
}

/// Runs the phone protocol: SELECT our AID, GET TOKEN with a fresh challenge, verify.
pub fn read_phone_token<C: Card + ?Sized>(
    card: &mut C,
    trusted: &TrustedIssuers,
    now: SystemTime,
) -> Result<VerifiedToken> {
    let challenge = new_challenge()?;
    read_phone_token_with_challenge(card, trusted, now, &challenge)
}

/// [`read_phone_token`] with a given challenge (for tests that replay answers).
pub fn read_phone_token_with_challenge<C: Card + ?Sized>(
    card: &mut C,
    trusted: &TrustedIssuers,
    now: SystemTime,
    challenge: &[u8],
) -> Result<VerifiedToken> {
    let selected = transmit(card, &Command::select_aid(&KIOSK_PHONE_AID))?;
    if selected.sw != StatusWord::OK {
        return Err(Error::unsupported(format!(
            "the phone does not run the kiosk app ({})",
            selected.sw
        )));
    }
    let get_token = Command::new(0x80, INS_GET_TOKEN, 0x00, 0x00)
        .with_data(challenge)
        .with_ne(256);
    let answer = transmit(card, &get_token)?.into_ok("GET TOKEN")?;
    if answer.len() > MAX_ANSWER_LEN {
        return Err(Error::invalid("the phone's answer is larger than 16 KiB"));
    }
    let token = verify_answer(&answer, challenge, trusted, now)?;
    tracing::info!(issuer = %token.issuer, "phone credential verified");
    Ok(token)
}

/// Key id helper for configuration: the first 8 bytes of the issuer's public key.
pub fn key_id(key: &VerifyingKey) -> Vec<u8> {
    key.to_bytes()[..8].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (SigningKey, SigningKey) {
        (
            SigningKey::from_bytes(&[7; 32]),
            SigningKey::from_bytes(&[9; 32]),
        )
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn credential(issuer: &SigningKey, device: &SigningKey, subject: Subject) -> Vec<u8> {
        issue_credential(
            issuer,
            &key_id(&issuer.verifying_key()),
            &CredentialClaims {
                issuer: "https://termine.gelsenkirchen.de".into(),
                not_before: 1_000,
                expires: 2_000,
                device_key: device.verifying_key(),
                subject,
            },
        )
    }

    fn trusted(issuer: &SigningKey) -> TrustedIssuers {
        let mut trusted = TrustedIssuers::new();
        trusted.add(
            &key_id(&issuer.verifying_key()),
            "Terminvergabe",
            issuer.verifying_key(),
        );
        trusted
    }

    #[test]
    fn accepts_a_fresh_answer() {
        let (issuer, device) = keys();
        let subject = Subject::Appointment {
            service: "meldebescheinigung".into(),
            starts_at: 1_500,
        };
        let answer = answer_challenge(
            &device,
            &credential(&issuer, &device, subject.clone()),
            b"c1",
        );
        let token = verify_answer(&answer, b"c1", &trusted(&issuer), at(1_200)).unwrap();
        assert_eq!(token.subject, subject);
        assert_eq!(token.issuer, "Terminvergabe");
    }

    #[test]
    fn rejects_replay_expiry_untrusted_issuer_and_stolen_credential() {
        let (issuer, device) = keys();
        let subject = Subject::Appointment {
            service: "x".into(),
            starts_at: 0,
        };
        let credential = credential(&issuer, &device, subject);
        let answer = answer_challenge(&device, &credential, b"old");
        let replay = verify_answer(&answer, b"new", &trusted(&issuer), at(1_200)).unwrap_err();
        assert_eq!(replay.kind(), ErrorKind::AuthenticationFailed);
        let expired = verify_answer(&answer, b"old", &trusted(&issuer), at(2_000)).unwrap_err();
        assert_eq!(expired.kind(), ErrorKind::Expired);
        let stranger = SigningKey::from_bytes(&[1; 32]);
        let untrusted = verify_answer(&answer, b"old", &trusted(&stranger), at(1_200)).unwrap_err();
        assert_eq!(untrusted.kind(), ErrorKind::AuthenticationFailed);
        let thief = answer_challenge(&stranger, &credential, b"new");
        let stolen = verify_answer(&thief, b"new", &trusted(&issuer), at(1_200)).unwrap_err();
        assert_eq!(stolen.kind(), ErrorKind::AuthenticationFailed);
        let mut tampered = answer.clone();
        let last = tampered.len() - 70;
        tampered[last] ^= 1;
        assert!(verify_answer(&tampered, b"old", &trusted(&issuer), at(1_200)).is_err());
    }

    #[test]
    fn identity_attributes_do_not_leak_in_debug() {
        let (issuer, device) = keys();
        let subject = Subject::Identity(IdentityAttributes {
            given_names: "Erika".into(),
            family_name: "Mustermann".into(),
            date_of_birth: "1964-08-12".into(),
        });
        let answer = answer_challenge(&device, &credential(&issuer, &device, subject), b"c");
        let token = verify_answer(&answer, b"c", &trusted(&issuer), at(1_200)).unwrap();
        let debug = format!("{token:?}");
        for secret in ["Erika", "Mustermann", "1964"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        let Subject::Identity(identity) = &token.subject else {
            panic!("identity expected");
        };
        assert_eq!(identity.family_name.expose_secret(), "Mustermann");
    }

    #[test]
    fn garbage_answers_are_errors() {
        let (issuer, _) = keys();
        for garbage in [&[][..], &[0xD2, 0x84], &[0xFF; 64], b"not cbor at all"] {
            assert!(verify_answer(garbage, b"c", &trusted(&issuer), at(1_200)).is_err());
        }
    }
}
