//! The durable, encrypted submission outbox and the sync engine.
//!
//! The promise to a citizen: once the kiosk says "saved", the application
//! reaches the office exactly once, however often the network, the power or
//! the server fails. This crate keeps it:
//!
//! - [`Outbox`]: an SQLite file (WAL, `synchronous=FULL`) where
//!   [`Outbox::enqueue`] encrypts the answers to the office's public key
//!   (JWE compact, RSA-OAEP-256 + A256GCM) and commits before it returns.
//!   The plaintext never touches the disk.
//! - [`Reference`]: the short, typo-proof receipt reference (`GE-K27-4F7Q9-X`).
//! - [`SyncEngine`]: drains the outbox through a [`Transport`] such as
//!   [`HttpTransport`] with per-record back-off, dead letters for refused
//!   records and a graceful shutdown that never loses an in-flight submission.
//!   It reports every attempt (delivered, or failed with a [`FailureClass`])
//!   to a [`SyncObserver`], e.g. the app's metrics.
//! - [`CatalogueCache`]: fetches the signed service catalogue and keeps the
//!   last good one.
//! - [`eid_login`]: the portal's eID login API ([`EidLoginClient`]): a
//!   tcTokenURL for AusweisApp, then the verified identity attributes once.
//!
//! Only this crate touches SQLite; payloads leave the journey only encrypted.
//! The wire protocol is documented in `docs/sync-api.md`.
//!
//! ```no_run
//! use offline_cache::{
//!     HttpTransport, HttpTransportConfig, NewSubmission, Outbox, OutboxConfig, RecipientKey,
//!     ReferenceFormat, SyncConfig, SyncEngine,
//! };
//! use zeroize::Zeroizing;
//!
//! # async fn demo(office_key_pem: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let config = OutboxConfig::new(
//!     RecipientKey::from_public_key_pem(office_key_pem, None)?,
//!     ReferenceFormat::new("GE", "K27")?,
//! );
//! let outbox = Outbox::open("/var/lib/kiosk/outbox.sqlite", config)?;
//! let saved = outbox.enqueue(NewSubmission {
//!     service_id: "dog-tax".into(),
//!     service_version: 1,
//!     payload: Zeroizing::new(br#"{"dog_name":"Bello"}"#.to_vec()),
//! })?;
//! println!("saved, reference {}", saved.reference);
//!
//! let transport = HttpTransport::new(HttpTransportConfig::new("https://sync.example.org"))?;
//! let engine = SyncEngine::new(outbox.clone(), transport, SyncConfig::default());
//! let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! // Runs until `_stop` is used or dropped; in-flight deliveries finish or are requeued.
//! engine.run(async { let _ = stopped.await; }).await;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod catalogue;
mod content_keys;
pub mod eid_login;
mod http;
mod jwe;
mod outbox;
mod reference;
mod sealing;
mod storage;
mod sync;
mod transport;

pub use catalogue::{
    CatalogueCache, CatalogueCacheConfig, CatalogueError, CatalogueStatus, FetchOutcome,
    publisher_public_key, sign_bundle,
};
pub use eid_login::{
    EidLoginClient, EidLoginConfigError, EidLoginError, EidSession, VerifiedAttributes,
};
pub use http::{
    ClientCredentials, HttpConfigError, HttpTransport, HttpTransportConfig, https_or_loopback_url,
    spki_sha256, tls_client_config,
};
pub use jwe::{EncryptError, RecipientKey, RecipientKeyError};
pub use outbox::{
    DeadLetter, EnqueueError, Enqueued, Envelope, NewSubmission, Outbox, OutboxConfig,
    OutboxStatus, ReceiptState, StaffActionError, StaffAlert,
};
pub use reference::{ALPHABET, Reference, ReferenceError, ReferenceFormat, ReferenceFormatError};
pub use sealing::{CachedRecipientKey, NewAttachment, SealError, Sealed, SealedPart, Sealer};
pub use storage::{OpenError, SCHEMA_VERSION, StorageError};
pub use sync::{SyncConfig, SyncEngine, SyncObserver, SyncReport, SyncSummary};
pub use transport::{DeliveryOutcome, FailureClass, RetryScope, Transport};
