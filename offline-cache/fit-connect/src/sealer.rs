//! Sealing at enqueue: FIT-Connect metadata (schema 2.x) with SHA-512 hashes
//! of the exact plaintext bytes, and the data, metadata and attachments as JWE
//! to the destination's cached encryption key.
//!
//! Why at enqueue: the kiosk stores only ciphertext and cannot decrypt it later,
//! but FIT-Connect's metadata carries the hash of the *unencrypted* data. A hash
//! stored in clear could be confirmed by guessing a citizen's answers (names and
//! birth dates are guessable), so the hash is never stored in clear: the whole
//! metadata is built and encrypted while the plaintext is still in memory.

use offline_cache::{
    CachedRecipientKey, NewAttachment, NewSubmission, SealError, Sealed, SealedPart, Sealer,
};
use sha2::{Digest, Sha512};
use uuid::Uuid;

use crate::config::{FitConnectRoute, METADATA_SCHEMA_URI};

/// The name of the sealed metadata part.
pub const METADATA_PART: &str = "metadata";
/// The prefix of sealed attachment parts (`attachment:<uuid>`).
pub const ATTACHMENT_PREFIX: &str = "attachment:";

/// Seals one route's submissions (registered per service id on the outbox).
#[derive(Debug, Clone)]
pub struct FitConnectSealer {
    route: FitConnectRoute,
    min_key_bits: usize,
}

impl FitConnectSealer {
    /// A sealer for `route` that refuses keys below `min_key_bits`.
    pub fn new(route: FitConnectRoute, min_key_bits: usize) -> Self {
        Self {
            route,
            min_key_bits,
        }
    }
}

fn sha512_hex(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const PURPOSES: [&str; 3] = ["form", "attachment", "report"];

impl Sealer for FitConnectSealer {
    fn key_scope(&self) -> String {
        self.route.key_scope()
    }

    fn seal(
        &self,
        key: &CachedRecipientKey,
        submission: &NewSubmission,
        attachments: &[NewAttachment],
    ) -> Result<Sealed, SealError> {
        // Prepared content keys for this destination key, when the outbox has some.
        let recipient = key
            .recipient_key()
            .map_err(|e| SealError(format!("the cached destination key is unusable: {e}")))?;
        if recipient.bits() < self.min_key_bits {
            return Err(SealError(format!(
                "the cached destination key has {} bits, at least {} are required",
                recipient.bits(),
                self.min_key_bits
            )));
        }
        if recipient.kid().is_none_or(str::is_empty) {
            return Err(SealError("the cached destination key has no kid".into()));
        }
        let seal_error = |_| SealError("encrypting for the destination failed".into());
        let mut parts = Vec::with_capacity(attachments.len() + 1);
        let mut attachment_entries = Vec::with_capacity(attachments.len());
        for attachment in attachments {
            if !PURPOSES.contains(&attachment.purpose.as_str()) {
                return Err(SealError(format!(
                    "attachment purpose '{}' is not one of form, attachment, report",
                    attachment.purpose
                )));
            }
            if attachment.mime_type.is_empty() || attachment.mime_type.len() > 255 {
                return Err(SealError("an attachment has no MIME type".into()));
            }
            // Sender-made attachment id, fixed here so announce, upload and
            // metadata agree after any number of crashes.
            let attachment_id = Uuid::new_v4();
            let mut entry = serde_json::json!({
                "hash": {"type": "sha512", "content": sha512_hex(&attachment.content)},
                "purpose": attachment.purpose,
                "mimeType": attachment.mime_type,
                "attachmentId": attachment_id,
            });
            if let Some(filename) = &attachment.filename {
                entry["filename"] = filename.clone().into();
            }
            if let Some(description) = &attachment.description {
                entry["description"] = description.clone().into();
            }
            attachment_entries.push(entry);
            parts.push(SealedPart {
                name: format!("{ATTACHMENT_PREFIX}{attachment_id}"),
                jwe: recipient
                    .encrypt_with_content_type(&attachment.content, Some(&attachment.mime_type))
                    .map_err(seal_error)?,
            });
        }
        let metadata = serde_json::json!({
            "$schema": METADATA_SCHEMA_URI,
            "publicService": {
                "identifier": self.route.leika_key,
                "name": self.route.service_name,
            },
            "contentStructure": {
                "data": {
                    "hash": {"type": "sha512", "content": sha512_hex(&submission.payload)},
                    "submissionSchema": {
                        "schemaUri": self.route.submission_schema_uri,
                        "mimeType": "application/json",
                    },
                },
                "attachments": attachment_entries,
            },
        });
        let metadata_bytes = serde_json::to_vec(&metadata)
            .map_err(|_| SealError("the metadata does not serialise".into()))?;
        parts.push(SealedPart {
            name: METADATA_PART.to_owned(),
            jwe: recipient.encrypt(&metadata_bytes).map_err(seal_error)?,
        });
        Ok(Sealed {
            encrypted_payload: recipient.encrypt(&submission.payload).map_err(seal_error)?,
            parts,
        })
    }
}
