//! The catalogue cache: a signed service catalogue, fetched with ETag, kept in SQLite.
//!
//! Bundle format (`docs/sync-api.md`, "Catalogue bundle"): a JSON envelope
//! `{"format": "kiosk-catalogue-bundle/1", "payload": <base64>, "signature": <base64>}`.
//! The payload is JSON `{"sequence": n, "files": {"catalogue.toml": "...",
//! "services/<id>.toml": "..."}}`; the signature is Ed25519 over
//! `"kiosk-catalogue-bundle/1\n"` followed by the payload bytes. A bundle is
//! only stored after its signature verified, its catalogue passed
//! [`Catalogue::from_files`] and its sequence is not older than the stored one,
//! so the last good catalogue stays in use after any failure.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use kiosk_catalogue::Catalogue;
use rusqlite::{OptionalExtension, params};

use crate::outbox::{Outbox, from_ms, now_ms};
use crate::storage::StorageError;

const FORMAT: &str = "kiosk-catalogue-bundle/1";
const SIGNING_CONTEXT: &[u8] = b"kiosk-catalogue-bundle/1\n";
/// A catalogue bundle larger than this is refused unread.
const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// Where the catalogue comes from and who signs it.
#[derive(Debug, Clone)]
pub struct CatalogueCacheConfig {
    /// URL of the bundle, e.g. `https://sync.example.org/v1/catalogue`.
    pub url: String,
    /// The publisher's Ed25519 public key (32 bytes).
    pub publisher_key: [u8; 32],
    /// Whole-request timeout.
    pub request_timeout: Duration,
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchOutcome {
    /// A new catalogue was verified and stored.
    Updated {
        /// Its sequence number.
        sequence: u64,
        /// The catalogue's own version text.
        version: String,
    },
    /// The server says nothing changed (HTTP 304).
    Unchanged,
}

/// The stored catalogue, for the staff screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueStatus {
    /// Sequence number of the stored bundle.
    pub sequence: u64,
    /// The catalogue's own version text.
    pub version: String,
    /// When it was fetched.
    pub fetched_at: SystemTime,
}

/// Why a catalogue could not be fetched or used. The last good catalogue stays in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The configuration is unusable.
    #[error("catalogue settings: {0}")]
    Config(String),
    /// The server could not be reached or answered with an error status.
    #[error("cannot fetch the catalogue: {0}; the last good catalogue stays in use")]
    Fetch(String),
    /// The bundle is not in the documented format.
    #[error("the catalogue bundle is malformed: {0}; the last good catalogue stays in use")]
    Malformed(String),
    /// The signature does not verify with the configured publisher key.
    #[error(
        "the catalogue bundle's signature is not valid for the configured publisher key; \
         it was rejected and the last good catalogue stays in use"
    )]
    BadSignature,
    /// Signed, but the catalogue inside is invalid.
    #[error("the catalogue in the bundle is invalid; the last good one stays in use:\n{0}")]
    Invalid(String),
    /// Signed, but older than the one in use (a replayed bundle).
    #[error(
        "the catalogue bundle has sequence {offered}, older than the {stored} in use; \
         it was rejected"
    )]
    Rollback {
        /// Sequence of the fetched bundle.
        offered: u64,
        /// Sequence of the stored one.
        stored: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Keeps the last good signed catalogue in the outbox's database file.
#[derive(Debug)]
pub struct CatalogueCache {
    outbox: Outbox,
    client: reqwest::Client,
    url: reqwest::Url,
    key: VerifyingKey,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Envelope {
    format: String,
    payload: String,
    signature: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    sequence: u64,
    files: BTreeMap<String, String>,
}

struct Verified {
    sequence: u64,
    catalogue: Catalogue,
}

impl CatalogueCache {
    /// A cache that stores into `outbox`'s database file.
    pub fn new(outbox: &Outbox, config: CatalogueCacheConfig) -> Result<Self, CatalogueError> {
        let url = reqwest::Url::parse(&config.url).map_err(|e| {
            CatalogueError::Config(format!("url '{}' is not a URL: {e}", config.url))
        })?;
        let key = VerifyingKey::from_bytes(&config.publisher_key).map_err(|_| {
            CatalogueError::Config("publisher_key is not an Ed25519 public key".to_owned())
        })?;
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| CatalogueError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            outbox: outbox.clone(),
            client,
            url,
            key,
        })
    }

    /// Fetches the bundle (with `If-None-Match`), verifies it and stores it.
    pub async fn refresh(&self) -> Result<FetchOutcome, CatalogueError> {
        let stored_etag: Option<String> = self.outbox.with_conn(|c| {
            c.query_row("SELECT etag FROM catalogue_cache WHERE slot = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(StorageError::from)
        })?;
        let mut request = self.client.get(self.url.clone());
        if let Some(etag) = &stored_etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CatalogueError::Fetch(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::Unchanged);
        }
        if !status.is_success() {
            return Err(CatalogueError::Fetch(format!(
                "the server answered HTTP {}",
                status.as_u16()
            )));
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BUNDLE_BYTES as u64)
        {
            return Err(CatalogueError::Malformed(format!(
                "larger than {MAX_BUNDLE_BYTES} bytes"
            )));
        }
        let bundle = response
            .bytes()
            .await
            .map_err(|e| CatalogueError::Fetch(e.without_url().to_string()))?;
        if bundle.len() > MAX_BUNDLE_BYTES {
            return Err(CatalogueError::Malformed(format!(
                "larger than {MAX_BUNDLE_BYTES} bytes"
            )));
        }
        let verified = verify(&self.key, &bundle)?;
        // A damaged stored copy must not block its replacement.
        let stored = match self.stored_sequence() {
            Ok(stored) => stored,
            Err(CatalogueError::Storage(e)) => return Err(CatalogueError::Storage(e)),
            Err(e) => {
                tracing::warn!(error = %e, "the stored catalogue is unusable; replacing it");
                None
            }
        };
        if let Some(stored) = stored.filter(|s| *s > verified.sequence) {
            return Err(CatalogueError::Rollback {
                offered: verified.sequence,
                stored,
            });
        }
        self.outbox.with_conn(|c| {
            c.execute(
                "INSERT INTO catalogue_cache (slot, etag, bundle, fetched_at_ms) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (slot) DO UPDATE SET etag = excluded.etag, bundle = excluded.bundle,
                                                  fetched_at_ms = excluded.fetched_at_ms",
                params![etag, bundle.as_ref(), now_ms()],
            )
            .map_err(StorageError::from)
        })?;
        tracing::info!(sequence = verified.sequence, version = %verified.catalogue.version, "catalogue updated");
        Ok(FetchOutcome::Updated {
            sequence: verified.sequence,
            version: verified.catalogue.version,
        })
    }

    /// The last good catalogue (verified again on load), or `None` before the first fetch.
    pub fn current(&self) -> Result<Option<Catalogue>, CatalogueError> {
        Ok(self.load()?.map(|(verified, _)| verified.catalogue))
    }

    /// What is stored, for the staff screen.
    pub fn status(&self) -> Result<Option<CatalogueStatus>, CatalogueError> {
        Ok(self.load()?.map(|(verified, fetched_at)| CatalogueStatus {
            sequence: verified.sequence,
            version: verified.catalogue.version,
            fetched_at,
        }))
    }

    fn stored_sequence(&self) -> Result<Option<u64>, CatalogueError> {
        Ok(self.load()?.map(|(verified, _)| verified.sequence))
    }

    fn load(&self) -> Result<Option<(Verified, SystemTime)>, CatalogueError> {
        let row: Option<(Vec<u8>, i64)> = self.outbox.with_conn(|c| {
            c.query_row(
                "SELECT bundle, fetched_at_ms FROM catalogue_cache WHERE slot = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StorageError::from)
        })?;
        match row {
            Some((bundle, fetched)) => Ok(Some((verify(&self.key, &bundle)?, from_ms(fetched)))),
            None => Ok(None),
        }
    }
}

fn verify(key: &VerifyingKey, bundle: &[u8]) -> Result<Verified, CatalogueError> {
    let envelope: Envelope = serde_json::from_slice(bundle)
        .map_err(|e| CatalogueError::Malformed(format!("not the JSON envelope ({e})")))?;
    if envelope.format != FORMAT {
        return Err(CatalogueError::Malformed(format!(
            "format '{}', expected '{FORMAT}'",
            envelope.format
        )));
    }
    let payload = STANDARD
        .decode(envelope.payload.as_bytes())
        .map_err(|_| CatalogueError::Malformed("payload is not base64".to_owned()))?;
    let signature = STANDARD
        .decode(envelope.signature.as_bytes())
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| CatalogueError::Malformed("signature is not 64 base64 bytes".to_owned()))?;
    let mut signed = SIGNING_CONTEXT.to_vec();
    signed.extend_from_slice(&payload);
    key.verify(&signed, &signature)
        .map_err(|_| CatalogueError::BadSignature)?;
    let payload: Payload = serde_json::from_slice(&payload).map_err(|e| {
        CatalogueError::Malformed(format!("signed payload is not the documented JSON ({e})"))
    })?;
    let files: Vec<(String, String)> = payload.files.into_iter().collect();
    let catalogue =
        Catalogue::from_files(&files).map_err(|e| CatalogueError::Invalid(e.to_string()))?;
    Ok(Verified {
        sequence: payload.sequence,
        catalogue,
    })
}

/// Builds a signed bundle (for the publishing tool and for tests).
///
/// `files` are `(relative path, contents)` as [`Catalogue::from_files`] takes them;
/// `signing_key` is the publisher's 32-byte Ed25519 secret seed.
pub fn sign_bundle(files: &[(String, String)], sequence: u64, signing_key: &[u8; 32]) -> Vec<u8> {
    let payload = Payload {
        sequence,
        files: files.iter().cloned().collect(),
    };
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let mut signed = SIGNING_CONTEXT.to_vec();
    signed.extend_from_slice(&payload);
    let signature = SigningKey::from_bytes(signing_key).sign(&signed);
    let envelope = Envelope {
        format: FORMAT.to_owned(),
        payload: STANDARD.encode(&payload),
        signature: STANDARD.encode(signature.to_bytes()),
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// The Ed25519 public key for a 32-byte secret seed (for configuring tests and tools).
pub fn publisher_public_key(signing_key: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(signing_key)
        .verifying_key()
        .to_bytes()
}
