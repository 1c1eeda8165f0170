//! FIT-Connect sender transport for the kiosk's sync engine.
//!
//! Municipal back offices receive OZG applications through FIT-Connect. This
//! crate makes the kiosk a FIT-Connect sender (Submission API v2) without
//! middleware:
//!
//! - [`FitConnectRoute`]: per catalogue service, where its submissions go
//!   (destination id, LeiKa key, service name, region, submission schema URI).
//! - [`FitConnectSealer`]: at enqueue, while the answers are still in memory,
//!   builds the FIT-Connect metadata (schema 2.x, SHA-512 hashes of the exact
//!   plaintext) and encrypts data, metadata and attachments to the
//!   destination's cached key. Nothing derived from the answers is stored in clear.
//! - [`FitConnectTransport`]: an [`offline_cache::Transport`] that runs the
//!   sender flow (token, destination and key checks with `x5c` validation,
//!   announce, uploads, submit, signed event log) and records every step in
//!   the outbox, so a crash never repeats an announce and never loses a record;
//!   a record is kept until the office's `accept-submission`, and a
//!   `reject-submission` becomes a dead letter with the reason for staff.
//!
//! The flow and the configuration keys are documented in `docs/sync-api.md`.
//!
//! ```no_run
//! use std::collections::HashMap;
//! use kiosk_fit_connect::{FitConnectConfig, FitConnectRoute, FitConnectTransport};
//! use offline_cache::{Outbox, SyncConfig, SyncEngine};
//!
//! # async fn demo(outbox: Outbox, root_pem: String, route: FitConnectRoute)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = FitConnectConfig::new(
//!     "https://test.fit-connect.fitko.dev/submission-api",
//!     "https://auth-testing.fit-connect.fitko.dev/token",
//!     "sender-client-id",
//!     "sender-client-secret".to_owned().into(),
//!     root_pem,
//! );
//! config.routes = HashMap::from([("dog-tax".to_owned(), route)]);
//! // Registers the sealers: from now on `outbox.enqueue` seals dog-tax for FIT-Connect.
//! let transport = FitConnectTransport::new(config, outbox.clone())?;
//! // Online once: fetch and validate the destinations' keys so enqueue works offline.
//! for (destination, result) in transport.refresh_keys().await {
//!     if let Err(e) = result { eprintln!("{destination}: {e}"); }
//! }
//! let engine = SyncEngine::new(outbox, transport, SyncConfig::default());
//! engine.run(std::future::pending()).await;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod config;
mod events;
mod keys;
mod sealer;
mod transport;

pub use config::{FitConnectConfig, FitConnectRoute, METADATA_SCHEMA_URI, RouteError};
pub use events::{EVENT_ACCEPT, EVENT_REJECT, EVENT_SUBMIT, SecurityEventToken, SetError};
pub use keys::{KeyError, KeyPurpose, TrustedRoots, ValidatedKey, validate_jwk, verify_ps512};
pub use sealer::{ATTACHMENT_PREFIX, FitConnectSealer, METADATA_PART};
pub use transport::{FitConnectError, FitConnectTransport};
