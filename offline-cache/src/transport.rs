//! The boundary to the office: one small async trait.

use std::future::Future;
use std::time::Duration;

use crate::outbox::Envelope;

/// Delivers one submission to the office.
///
/// Implementations: [`crate::HttpTransport`] (the kiosk sync API) and, in its
/// own crate, FIT-Connect. An implementation must be idempotent per
/// [`Envelope::id`]: the engine sends the same envelope again after any doubt
/// (timeout, lost answer, crash), and the server must treat it as the same
/// submission.
pub trait Transport: Send + Sync + 'static {
    /// Tries to deliver `envelope` once. Never panics on a bad server answer;
    /// the reason strings must not contain payload content.
    fn deliver(&self, envelope: &Envelope) -> impl Future<Output = DeliveryOutcome> + Send;
}

/// What one delivery attempt achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The office has it. The record is purged at once.
    Delivered {
        /// The office's own reference for the submission.
        server_reference: String,
    },
    /// Not delivered this time; try again later.
    Retry {
        /// The server's `Retry-After`, if it sent one (the engine waits at least this long).
        after: Option<Duration>,
        /// What went wrong, for staff (no personal data).
        reason: String,
        /// Whether the problem is this record or the connection as a whole.
        scope: RetryScope,
    },
    /// Handed over to the office, which has not confirmed acceptance yet
    /// (multi-step protocols such as FIT-Connect). The record is kept and
    /// offered to the transport again after `check_again_after`, which then
    /// reports `Delivered` (accepted), `Reject` or `Submitted` again.
    Submitted {
        /// The office's reference for the handed-over submission.
        server_reference: String,
        /// When to look again.
        check_again_after: Duration,
        /// What the kiosk is waiting for, for staff (no personal data).
        note: String,
    },
    /// The office refused this record for good: it becomes a dead letter for staff.
    Reject {
        /// Why (no personal data).
        reason: String,
    },
}

/// Whether a retryable failure concerns one record or every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryScope {
    /// Only this record (e.g. a 500 for it, a 409 while it is in flight).
    Record,
    /// The office is unreachable or overloaded: the engine pauses all sending
    /// with a growing back-off instead of hammering the network.
    Connection,
}
