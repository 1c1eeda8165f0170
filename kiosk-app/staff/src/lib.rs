//! Staff mode: how town-hall staff get into a kiosk and what they can do
//! there, as a pure state machine with no I/O and no clock.
//!
//! Staff open it with a hidden gesture on the attract screen and a PIN, or by
//! placing a staff card or a phone with a signed staff token on the reader.
//! The dashboard shows the queue, dead letters, sync, printer, reader,
//! catalogue and kiosk id, and offers: sync now, print a test page, reload the
//! catalogue, out of service / back in service, retry or discard a dead
//! letter (discarding and going out of service ask for confirmation).
//!
//! - [`StaffMode::handle`] takes a [`StaffEvent`] and the time ([`Now`]) and
//!   returns [`StaffEffect`]s, exactly like the citizen journey does. Every
//!   login, logout, lock-out and action yields an [`AuditEntry`] (effect
//!   [`StaffEffect::Audit`]) with a pseudonymous [`StaffIdentity`].
//! - Credentials ([`StaffCredentials`]): the PIN only as an Argon2id PHC
//!   string ([`hash_pin`]), staff cards as the SHA-256 of their UID compared in
//!   constant time, phone tokens signed with Ed25519 ([`sign_token`]; format in
//!   the crate's README). Wrong PINs lock the pad ([`LockoutPolicy`]).
//! - [`AuditLog`] (module `audit_log`, the crate's only I/O) appends entries
//!   as JSON lines and fsyncs each.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use kiosk_staff::*;
//!
//! // A cheap hash for the example; real configurations use `hash_pin`'s output.
//! let credentials = StaffCredentials::new(None, Vec::new(), vec![TokenKey::from_seed(&[7; 32])]);
//! let mut staff = StaffMode::new(StaffConfig::default(), credentials);
//! let now = Now { elapsed: Duration::ZERO, wall: SystemTime::now() };
//!
//! staff.handle(StaffEvent::OpenRequested, now);
//! assert_eq!(staff.state(), StaffState::PinPad);
//! let token = sign_token(&[7; 32], "ka-0815", now.wall + Duration::from_secs(3600)).unwrap();
//! let effects = staff.handle(StaffEvent::TokenPresented(PresentedToken::new(token)), now);
//! assert_eq!(staff.state(), StaffState::Dashboard);
//! assert!(effects.iter().any(|e| matches!(e, StaffEffect::Audit(entry)
//!     if entry.staff == StaffIdentity::Token("ka-0815".into()) && entry.outcome == AuditOutcome::Ok)));
//!
//! // Going out of service asks first.
//! staff.handle(StaffEvent::ActionRequested(StaffAction::OutOfService), now);
//! assert_eq!(staff.state(), StaffState::Confirming(StaffAction::OutOfService));
//! staff.handle(StaffEvent::Confirm, now);
//! staff.handle(StaffEvent::Exit, now);
//! assert_eq!(staff.state(), StaffState::OutOfService);
//! ```
//!
//! Nothing personal passes through here: a PIN, a card UID and a token are
//! secrets with redacted `Debug` (zeroised on drop), and dead letters are
//! known by id, reference, service and error class only.

#![deny(missing_docs)]

mod audit;
pub mod audit_log;
mod auth;
mod hex;
mod machine;
mod status;

pub use audit::{AuditAction, AuditEntry, AuditOutcome, StaffIdentity};
pub use audit_log::{AuditLog, AuditLogError};
pub use auth::{
    CardHash, CardUid, CredentialError, Pin, PinDigit, PinError, PinHash, PinHashError,
    PresentedToken, StaffCredentials, StaffIdError, TOKEN_PREFIX, TokenKey, TokenRejection,
    VerifiedToken, hash_pin, sign_token,
};
pub use machine::{
    ActionOutcome, LockoutPolicy, Now, PinPadNotice, StaffAction, StaffConfig, StaffEffect,
    StaffEvent, StaffMode, StaffScreen, StaffState,
};
pub use status::{DeadLetterInfo, EidClientState, PrinterState, ReaderState, StaffStatus};
