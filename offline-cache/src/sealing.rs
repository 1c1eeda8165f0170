//! Protocol-specific sealing at enqueue, for offices that want more than one
//! encrypted part per submission (FIT-Connect: encrypted metadata with the
//! hash of the answers, and attachments).
//!
//! The outbox stays protocol-agnostic: a [`Sealer`] registered for a service id
//! (see [`crate::Outbox::set_sealer`]) turns the plaintext into JWEs while it is
//! still in memory, and the outbox commits all of them in the enqueue
//! transaction. The plaintext never touches the disk, and nothing derived from
//! it (such as a hash, which could be confirmed by guessing the answers) is
//! stored in clear.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::content_keys::KeySupply;
use crate::jwe::{RecipientKey, RecipientKeyError};
use crate::outbox::NewSubmission;

/// A file the citizen hands in with a submission (for example a PDF of the form).
pub struct NewAttachment {
    /// What the file is for, in the office protocol's words (FIT-Connect:
    /// `form`, `attachment` or `report`).
    pub purpose: String,
    /// MIME type, e.g. `application/pdf`.
    pub mime_type: String,
    /// A file name to show the office (no personal data: it is sealed, but keep it plain).
    pub filename: Option<String>,
    /// A description to show the office.
    pub description: Option<String>,
    /// The bytes: personal data, wiped from memory when dropped.
    pub content: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment")
            .field("purpose", &self.purpose)
            .field("mime_type", &self.mime_type)
            .field(
                "content",
                &format_args!("<{} bytes, redacted>", self.content.len()),
            )
            .finish_non_exhaustive()
    }
}

/// A recipient key fetched from the office and kept in the outbox database,
/// so the kiosk can encrypt to it while offline.
#[derive(Debug, Clone)]
pub struct CachedRecipientKey {
    /// What the key is for, e.g. `fit-connect:<destination id>`.
    pub scope: String,
    /// Its key id.
    pub kid: String,
    /// The public key as a JWK (JSON text), already validated by whoever cached it.
    pub jwk: String,
    /// When it was fetched and validated.
    pub fetched_at: SystemTime,
    /// The outbox's prepared content keys, when the outbox hands this key to a
    /// [`Sealer`] (runtime only, not part of the stored value).
    pub(crate) supply: Option<KeySupply>,
}

impl PartialEq for CachedRecipientKey {
    fn eq(&self, other: &Self) -> bool {
        // The supply is where content keys come from, not part of the key.
        (&self.scope, &self.kid, &self.jwk, self.fetched_at)
            == (&other.scope, &other.kid, &other.jwk, other.fetched_at)
    }
}

impl Eq for CachedRecipientKey {}

impl CachedRecipientKey {
    /// The key to encrypt with. Given to a [`Sealer`] by the outbox, it takes
    /// content keys that were wrapped to this very key ahead of time (see
    /// [`crate::Outbox::enqueue`]), so sealing does no RSA work inline when
    /// some are ready; the JWEs are the same as with [`RecipientKey::from_jwk`].
    pub fn recipient_key(&self) -> Result<RecipientKey, RecipientKeyError> {
        let key = RecipientKey::from_jwk(&self.jwk)?;
        Ok(match &self.supply {
            Some(supply) => key.with_supply(supply.clone()),
            None => key,
        })
    }
}

/// One sealed part besides the main payload.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPart {
    /// Its name within the submission, e.g. `metadata` or `attachment:<uuid>`.
    pub name: String,
    /// JWE compact serialisation, readable only by the office.
    pub jwe: String,
}

impl std::fmt::Debug for SealedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedPart")
            .field("name", &self.name)
            .field("jwe", &format_args!("<{} bytes>", self.jwe.len()))
            .finish()
    }
}

/// What a [`Sealer`] made of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The answers as JWE compact (what [`crate::Envelope::encrypted_payload`] carries).
    pub encrypted_payload: String,
    /// Further sealed parts, stored with the record and handed to the transport
    /// by [`crate::Outbox::sealed_parts`].
    pub parts: Vec<SealedPart>,
}

/// Sealing failed; the message never contains personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(pub String);

/// Seals submissions of one service for its office protocol.
pub trait Sealer: Send + Sync + 'static {
    /// The [`CachedRecipientKey::scope`] of the key this sealer encrypts to.
    fn key_scope(&self) -> String;

    /// Encrypts the answers, and builds and encrypts whatever else the office
    /// protocol needs, to `key` (use [`CachedRecipientKey::recipient_key`] to
    /// get prepared content keys). Must not log or return any content.
    fn seal(
        &self,
        key: &CachedRecipientKey,
        submission: &NewSubmission,
        attachments: &[NewAttachment],
    ) -> Result<Sealed, SealError>;
}

/// Whether `text` is shaped like a JWE compact serialisation with a JSON
/// header naming `alg` and `enc` (a guard against storing plaintext by mistake).
pub(crate) fn looks_like_jwe(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 5 {
        return false;
    }
    let Ok(header) = URL_SAFE_NO_PAD.decode(parts[0]) else {
        return false;
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&header) else {
        return false;
    };
    header.get("alg").is_some_and(serde_json::Value::is_string)
        && header.get("enc").is_some_and(serde_json::Value::is_string)
        && !parts[4].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwe_shaped_text_passes_the_guard() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#);
        assert!(looks_like_jwe(&format!("{header}.a.b.c.d")));
        assert!(!looks_like_jwe(r#"{"name":"Erika"}"#));
        assert!(!looks_like_jwe(&format!("{header}.a.b.c.")));
        assert!(!looks_like_jwe("e30.a.b.c.d"));
    }
}
