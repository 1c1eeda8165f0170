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
/// submission. Every failed attempt names its [`FailureClass`]; transports
/// that speak HTTP use [`FailureClass::of_http_status`] and
/// [`FailureClass::of_request_error`] so the classes mean the same everywhere.
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
        /// What kind of failure it was, for monitoring.
        class: FailureClass,
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
        /// What kind of failure it was, for monitoring (usually
        /// [`FailureClass::Rejected`]).
        class: FailureClass,
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

/// Why a delivery attempt failed, in classes an operator can act on
/// (`kiosk_delivery_failures_total{class=...}` on `/metrics`).
///
/// Derived only from the kind of failure (an HTTP status, a connection error),
/// never from what a server wrote, so a class never carries personal data.
/// Deliberately not `#[non_exhaustive]`: every user maps each class to
/// something (a metric label), and a new class must show up there as a
/// compile error instead of falling into a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// No usable connection: the host does not resolve, refuses or resets the
    /// connection, or the answer broke off. Usually the kiosk is offline or
    /// the office's server is down. Retried with a connection-wide pause.
    Network,
    /// The connection or the answer took longer than the transport's request
    /// timeout (or the server answered `408`). A slow or overloaded link.
    Timeout,
    /// The TLS handshake failed: the server's certificate is not trusted,
    /// expired or for another name, or none of the pinned keys matched.
    /// Nothing was sent; retrying helps only after the certificate, the
    /// trusted roots or the pins are fixed.
    Tls,
    /// The server answered with a temporary error: `5xx` (except `503` with
    /// `Retry-After`), `409`/`425` (the same submission is still being
    /// processed), or for FIT-Connect an inactive destination or an
    /// unfinished submission the server dropped. Retried.
    Server,
    /// The server asked the kiosk to slow down: `429`, or `503` with
    /// `Retry-After`. Retried no sooner than the server said.
    RateLimited,
    /// The kiosk's credentials were refused: the token endpoint said no, or the
    /// API answered `401`/`403`. Concerns every record; never a dead letter.
    Auth,
    /// The server answered something the kiosk cannot use: a success without
    /// a server reference, a body that is not the expected JSON, an answer
    /// about something else, a token endpoint without `access_token`, or for
    /// FIT-Connect a destination key that fails validation.
    InvalidAnswer,
    /// The office refused this submission for good (other `4xx`, a
    /// FIT-Connect `reject-submission`, a destination that does not take the
    /// service): the record becomes a dead letter for staff.
    Rejected,
    /// A fault on the kiosk itself: its database could not record the
    /// delivery's progress, a delivery task failed, or the record cannot be
    /// sent the configured way (e.g. a service without a FIT-Connect route).
    Local,
}

impl FailureClass {
    /// Every class, in the order monitoring lists them.
    pub const ALL: [Self; 9] = [
        Self::Network,
        Self::Timeout,
        Self::Tls,
        Self::Server,
        Self::RateLimited,
        Self::Auth,
        Self::InvalidAnswer,
        Self::Rejected,
        Self::Local,
    ];

    /// The stable snake_case name (a metric label value, the prefix of a
    /// record's `last_error`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Server => "server",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::InvalidAnswer => "invalid_answer",
            Self::Rejected => "rejected",
            Self::Local => "local",
        }
    }

    /// The class of a non-success HTTP answer, whatever the transport does
    /// about it (retry or dead letter): `401`/`403` auth, `408` timeout, `409`
    /// and `425` server (still processing), `429` and `503` with `Retry-After`
    /// rate limited, other `4xx` rejected, `5xx` server, anything else (an
    /// unexpected `1xx`/`3xx`) an invalid answer.
    pub fn of_http_status(status: u16, has_retry_after: bool) -> Self {
        match status {
            401 | 403 => Self::Auth,
            408 => Self::Timeout,
            409 | 425 => Self::Server,
            429 => Self::RateLimited,
            503 if has_retry_after => Self::RateLimited,
            400..=499 => Self::Rejected,
            500..=599 => Self::Server,
            _ => Self::InvalidAnswer,
        }
    }

    /// The class of a request that got no (complete) answer: [`Self::Tls`]
    /// when the handshake was refused, [`Self::Timeout`] when it ran out of
    /// time, else [`Self::Network`].
    pub fn of_request_error(error: &reqwest::Error) -> Self {
        // A refused certificate also counts as a connect error: look for TLS first.
        if tls_failure(error) {
            Self::Tls
        } else if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Network
        }
    }

    /// The class a record's stored `last_error` starts with (`"network: ..."`),
    /// if it was written by a release that records classes.
    pub fn from_error_text(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|class| {
            text.strip_prefix(class.as_str())
                .is_some_and(|rest| rest.starts_with(": "))
        })
    }
}

impl std::fmt::Display for FailureClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether rustls refused the handshake somewhere in `error`'s source chain.
///
/// rustls' error reaches reqwest wrapped in `io::Error`s, whose `source()`
/// skips the error they wrap, so an `io::Error` is looked into instead.
fn tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    // Bounded: real chains are a handful of links deep.
    for _ in 0..16 {
        let Some(e) = current else { return false };
        if e.is::<rustls::Error>() {
            return true;
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::FailureClass::{self, *};

    #[test]
    fn http_statuses_map_to_the_documented_classes() {
        let cases = [
            (400, false, Rejected),
            (401, false, Auth),
            (403, true, Auth),
            (404, false, Rejected),
            (408, false, Timeout),
            (409, true, Server),
            (422, false, Rejected),
            (425, false, Server),
            (429, false, RateLimited),
            (429, true, RateLimited),
            (500, false, Server),
            (502, false, Server),
            (503, false, Server),
            (503, true, RateLimited),
            (504, true, Server),
            (302, false, InvalidAnswer),
        ];
        for (status, retry_after, class) in cases {
            assert_eq!(
                FailureClass::of_http_status(status, retry_after),
                class,
                "HTTP {status}, Retry-After: {retry_after}"
            );
        }
    }

    #[test]
    fn the_class_is_read_back_from_a_stored_error() {
        for class in FailureClass::ALL {
            let stored = format!("{class}: HTTP 500 (injected)");
            assert_eq!(FailureClass::from_error_text(&stored), Some(class));
        }
        // Errors stored by earlier releases carry no class.
        assert_eq!(FailureClass::from_error_text("HTTP 422: refused"), None);
        assert_eq!(FailureClass::from_error_text("networking"), None);
        assert_eq!(FailureClass::from_error_text(""), None);
    }

    #[test]
    fn class_names_are_distinct_snake_case() {
        let mut names: Vec<&str> = FailureClass::ALL.iter().map(|c| c.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FailureClass::ALL.len());
    }
}
