//! Encryption to the recipient: JWE compact serialisation, RSA-OAEP-256 + A256GCM.
//!
//! This is the form FIT-Connect expects (RFC 7516 section 7.1, algorithms from
//! RFC 7518 sections 4.3 and 5.3). The kiosk only ever holds the recipient's
//! public key, so what it stored cannot be read back on the kiosk.
//!
//! A [`RecipientKey`] handed out by the outbox takes its content keys ready
//! wrapped from the outbox's [`crate::content_keys`] supply; the JWE is the
//! same either way.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};

use crate::content_keys::{KeySupply, PreparedKey};

/// The smallest RSA modulus accepted for a recipient (BSI TR-02102-1 asks for 3000 bits
/// from 2024 on; 2048 is still accepted because test and legacy keys use it).
const MIN_RSA_BITS: usize = 2048;

/// The public key submissions are encrypted to.
#[derive(Clone)]
pub struct RecipientKey {
    key: RsaPublicKey,
    kid: Option<String>,
    /// Where ready-wrapped content keys come from (`None`: wrap each one inline).
    supply: Option<KeySupply>,
}

impl std::fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipientKey")
            .field("bits", &(self.key.size() * 8))
            .field("kid", &self.kid)
            .field("prepared_content_keys", &self.supply.is_some())
            .finish()
    }
}

/// A recipient key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the recipient's public key is unusable: {0}")]
pub struct RecipientKeyError(String);

impl RecipientKey {
    /// Reads an RSA public key from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    pub fn from_public_key_pem(pem: &str, kid: Option<String>) -> Result<Self, RecipientKeyError> {
        let key = RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|e| {
            RecipientKeyError(format!(
                "expected a PEM 'PUBLIC KEY' block with an RSA key ({e})"
            ))
        })?;
        Self::checked(key, kid)
    }

    /// Reads an RSA public key from a JWK (the form FIT-Connect publishes: `kty`, `n`, `e`, `kid`).
    pub fn from_jwk(jwk: &str) -> Result<Self, RecipientKeyError> {
        #[derive(serde::Deserialize)]
        struct Jwk {
            kty: String,
            n: String,
            e: String,
            kid: Option<String>,
            alg: Option<String>,
        }
        let jwk: Jwk = serde_json::from_str(jwk)
            .map_err(|e| RecipientKeyError(format!("not a JWK with kty, n and e: {e}")))?;
        if jwk.kty != "RSA" {
            return Err(RecipientKeyError(format!(
                "kty is '{}', expected 'RSA'",
                jwk.kty
            )));
        }
        if let Some(alg) = jwk.alg.as_deref().filter(|a| *a != "RSA-OAEP-256") {
            return Err(RecipientKeyError(format!(
                "the key is meant for '{alg}', not RSA-OAEP-256"
            )));
        }
        let number = |name: &str, value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map(|bytes| BigUint::from_bytes_be(&bytes))
                .map_err(|e| RecipientKeyError(format!("'{name}' is not base64url: {e}")))
        };
        let key = RsaPublicKey::new(number("n", &jwk.n)?, number("e", &jwk.e)?)
            .map_err(|e| RecipientKeyError(format!("invalid RSA numbers: {e}")))?;
        Self::checked(key, jwk.kid)
    }

    fn checked(key: RsaPublicKey, kid: Option<String>) -> Result<Self, RecipientKeyError> {
        let bits = key.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(RecipientKeyError(format!(
                "the key has {bits} bits, at least {MIN_RSA_BITS} are needed"
            )));
        }
        Ok(Self {
            key,
            kid,
            supply: None,
        })
    }

    /// The same key, taking its content keys ready-wrapped from `supply`.
    pub(crate) fn with_supply(&self, supply: KeySupply) -> Self {
        Self {
            supply: Some(supply),
            ..self.clone()
        }
    }

    /// The RSA public key.
    pub(crate) fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// Encrypts `plaintext` (JSON) into a JWE compact serialisation.
    ///
    /// A fresh content key and IV are used for every call; the content key is
    /// wiped from memory afterwards. A key from the outbox uses a content key
    /// prepared ahead of time when one is ready (each one once), else it
    /// draws and wraps one now.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, EncryptError> {
        self.encrypt_with_content_type(plaintext, Some("application/json"))
    }

    /// Like [`RecipientKey::encrypt`] with another `cty` header (e.g. the MIME
    /// type of an attachment), or none.
    pub fn encrypt_with_content_type(
        &self,
        plaintext: &[u8],
        content_type: Option<&str>,
    ) -> Result<String, EncryptError> {
        let mut rng = rand::thread_rng();
        let mut header = serde_json::json!({
            "alg": "RSA-OAEP-256",
            "enc": "A256GCM",
        });
        if let Some(cty) = content_type {
            header["cty"] = serde_json::Value::String(cty.to_owned());
        }
        if let Some(kid) = &self.kid {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());

        let prepared = match self.supply.as_ref().and_then(|s| s.take(&self.key)) {
            Some(prepared) => prepared,
            None => PreparedKey::wrap(&self.key).map_err(|_| EncryptError)?,
        };
        let mut iv = [0u8; 12];
        rng.fill_bytes(&mut iv);

        let cipher = Aes256Gcm::new_from_slice(prepared.cek()).map_err(|_| EncryptError)?;
        // The tag is the last 16 bytes of what aes-gcm returns (RFC 7518 5.3: separate part).
        let mut sealed = cipher
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: plaintext,
                    aad: header_b64.as_bytes(),
                },
            )
            .map_err(|_| EncryptError)?;
        let tag = sealed.split_off(sealed.len() - 16);
        Ok(format!(
            "{header_b64}.{}.{}.{}.{}",
            URL_SAFE_NO_PAD.encode(prepared.wrapped()),
            URL_SAFE_NO_PAD.encode(iv),
            URL_SAFE_NO_PAD.encode(sealed),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }
}

/// Encryption failed (only on a broken random source or an unusable key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("encrypting the submission failed")]
pub struct EncryptError;
