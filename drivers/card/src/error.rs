//! The one error type of this crate and the shared [`ErrorKind`] generic code reacts to.

use std::fmt;

/// What went wrong, coarse enough for the app to decide what to show and do.
///
/// Drivers keep their detailed message in [`Error`]; the journey only matches on this.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No card is on the reader.
    NoCard,
    /// The card left the reader (or stopped answering) in the middle of an operation.
    CardRemoved,
    /// The named reader is not connected.
    NoReader,
    /// The PC/SC service (pcscd) is not running or was restarted.
    ServiceUnavailable,
    /// The card does not support what was asked (wrong card type, missing application).
    Unsupported,
    /// The card or reader did not answer in time.
    Timeout,
    /// Access keys, signatures or challenges did not check out.
    AuthenticationFailed,
    /// The card answered with bytes that break the protocol.
    InvalidResponse,
    /// A token or document is past its validity.
    Expired,
    /// The operation was cancelled by the caller.
    Cancelled,
    /// Anything else reported by the reader stack.
    Other,
}

impl ErrorKind {
    /// A short sentence for staff logs and the technician report (never personal data).
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoCard => "no card on the reader",
            Self::CardRemoved => "the card was removed during the operation",
            Self::NoReader => "the card reader is not connected",
            Self::ServiceUnavailable => "the PC/SC service (pcscd) is not available",
            Self::Unsupported => "the card does not support this operation",
            Self::Timeout => "the card did not answer in time",
            Self::AuthenticationFailed => "authentication failed",
            Self::InvalidResponse => "the card sent an invalid answer",
            Self::Expired => "the token or document has expired",
            Self::Cancelled => "the operation was cancelled",
            Self::Other => "card reader error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// An error from the card layer: a kind plus a message saying what happened and what to do.
///
/// Messages are built only from protocol facts (status words, lengths, tags), never from
/// data read off a card, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Creates an error of `kind` with a message explaining it.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The coarse kind for generic handling.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The detailed, log-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Shorthand for an [`ErrorKind::InvalidResponse`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidResponse, message)
    }

    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
}

impl From<pcsc::Error> for Error {
    fn from(error: pcsc::Error) -> Self {
        use pcsc::Error as P;
        let kind = match error {
            P::NoSmartcard => ErrorKind::NoCard,
            P::RemovedCard
            | P::ResetCard
            | P::UnpoweredCard
            | P::UnresponsiveCard
            | P::NotTransacted => ErrorKind::CardRemoved,
            P::UnknownReader | P::ReaderUnavailable | P::NoReadersAvailable => ErrorKind::NoReader,
            P::NoService | P::ServiceStopped | P::InvalidHandle | P::CommError => {
                ErrorKind::ServiceUnavailable
            }
            P::Timeout => ErrorKind::Timeout,
            P::Cancelled => ErrorKind::Cancelled,
            P::UnsupportedCard | P::UnsupportedFeature | P::CardUnsupported => {
                ErrorKind::Unsupported
            }
            _ => ErrorKind::Other,
        };
        Self::new(kind, format!("PC/SC reported: {error}"))
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
