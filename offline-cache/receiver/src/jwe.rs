//! Decrypting JWE compact (RSA-OAEP-256 + A256GCM), the office's side.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Oaep, RsaPrivateKey};

/// Why a JWE was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JWE: {0}")]
pub struct JweError(pub &'static str);

/// The recipient's private key.
#[derive(Clone)]
pub struct DecryptionKey(RsaPrivateKey);

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey(<redacted>)")
    }
}

impl DecryptionKey {
    /// Reads a PKCS#8 PEM `PRIVATE KEY`.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JweError> {
        RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .map(Self)
            .map_err(|_| JweError("the private key is not a PKCS#8 PEM RSA key"))
    }

    pub(crate) fn from_key(key: RsaPrivateKey) -> Self {
        Self(key)
    }

    /// Decrypts a compact JWE and checks its header (`alg`, `enc`, `cty`).
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, JweError> {
        self.decrypt_checked(compact, true)
            .map(|(_, plaintext)| plaintext)
    }

    /// Decrypts a compact JWE; returns its protected header and the plaintext.
    /// With `json_only`, the header must say `cty: application/json`.
    pub fn decrypt_checked(
        &self,
        compact: &str,
        json_only: bool,
    ) -> Result<(serde_json::Value, Vec<u8>), JweError> {
        let parts: Vec<&str> = compact.split('.').collect();
        let [header_b64, key_b64, iv_b64, ciphertext_b64, tag_b64] = parts[..] else {
            return Err(JweError("a compact JWE has five parts"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| JweError("a part is not base64url"))
        };
        let header: serde_json::Value = serde_json::from_slice(&decode(header_b64)?)
            .map_err(|_| JweError("the header is not JSON"))?;
        if header["alg"] != "RSA-OAEP-256" || header["enc"] != "A256GCM" {
            return Err(JweError("expected alg RSA-OAEP-256 and enc A256GCM"));
        }
        if json_only && header["cty"] != "application/json" {
            return Err(JweError("expected cty application/json"));
        }
        if header.get("zip").is_some() || header.get("crit").is_some() {
            return Err(JweError("zip and crit are not supported"));
        }
        let cek = self
            .0
            .decrypt(Oaep::new::<sha2::Sha256>(), &decode(key_b64)?)
            .map_err(|_| JweError("the content key does not decrypt with this key"))?;
        let iv = decode(iv_b64)?;
        if iv.len() != 12 || cek.len() != 32 {
            return Err(JweError("wrong IV or content key length"));
        }
        let mut sealed = decode(ciphertext_b64)?;
        let tag = decode(tag_b64)?;
        if tag.len() != 16 {
            return Err(JweError("wrong tag length"));
        }
        sealed.extend_from_slice(&tag);
        let cipher =
            Aes256Gcm::new_from_slice(&cek).map_err(|_| JweError("wrong content key length"))?;
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: &sealed,
                    aad: header_b64.as_bytes(),
                },
            )
            .map_err(|_| JweError("the ciphertext or its header was altered"))?;
        Ok((header, plaintext))
    }
}
