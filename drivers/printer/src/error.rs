//! Driver errors and the shared [`ErrorKind`] generic code reacts to.

use std::time::Duration;

use crate::encode::EncodeError;
use crate::status::{MalformedStatus, PrinterStatus, StatusRequest};

/// What went wrong, in terms the app can act on (embedded-hal style: every driver error maps
/// to one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No paper: staff must load a roll.
    PaperOut,
    /// The cover is open: staff must close it.
    CoverOpen,
    /// The auto-cutter failed: staff must clear the jam.
    CutterError,
    /// An error the printer cannot recover from without service or a power cycle.
    HardwareFault,
    /// The printer is reachable but offline, or did not answer a status request in time.
    Offline,
    /// The connection to the printer is gone or could not be opened.
    Disconnected,
    /// The printer answered something that is not ESC/POS.
    Protocol,
    /// The receipt could not be encoded for this printer (a bug or bad receipt data).
    InvalidReceipt,
    /// Anything else.
    Other,
}

/// A driver error that can say which [`ErrorKind`] it is.
pub trait Error: std::error::Error {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;
}

/// The ESC/POS driver's detailed error. Never contains receipt text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrinterError {
    /// The printer's status says it cannot print; the job was not sent.
    #[error("the printer cannot print now ({kind:?}); the receipt was not sent")]
    NotReady {
        /// Why.
        kind: ErrorKind,
        /// The full status.
        status: PrinterStatus,
    },
    /// The printer stopped while the job was being sent.
    #[error(
        "the printer stopped during the job ({kind:?}) after {sent_bytes} of {total_bytes} bytes; \
         the receipt is incomplete and must be printed again"
    )]
    Interrupted {
        /// Why.
        kind: ErrorKind,
        /// The full status.
        status: PrinterStatus,
        /// Bytes sent before the problem was seen.
        sent_bytes: usize,
        /// Bytes of the whole job.
        total_bytes: usize,
    },
    /// No answer to a status request within the time-out: the printer is treated as offline.
    #[error(
        "the printer did not answer DLE EOT {} within {timeout:?}; it is treated as offline \
         (check power, cable and that it is an ESC/POS printer)",
        request.number()
    )]
    NoAnswer {
        /// The unanswered request.
        request: StatusRequest,
        /// The time-out that passed.
        timeout: Duration,
    },
    /// The printer answered a status request with garbage.
    #[error(transparent)]
    MalformedStatus(#[from] MalformedStatus),
    /// Sending did not finish within the time-out.
    #[error("sending to the printer took longer than {timeout:?}; it is treated as offline")]
    WriteTimedOut {
        /// The time-out that passed.
        timeout: Duration,
    },
    /// The connection failed or closed.
    #[error("the connection to the printer ({endpoint}) failed while {action}: {source}")]
    Io {
        /// Where the printer is (address or device path).
        endpoint: String,
        /// What the driver was doing.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The receipt could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl Error for PrinterError {
    fn kind(&self) -> ErrorKind {
        match self {
            PrinterError::NotReady { kind, .. } | PrinterError::Interrupted { kind, .. } => *kind,
            PrinterError::NoAnswer { .. } | PrinterError::WriteTimedOut { .. } => {
                ErrorKind::Offline
            }
            PrinterError::MalformedStatus(_) => ErrorKind::Protocol,
            PrinterError::Io { .. } => ErrorKind::Disconnected,
            PrinterError::Encode(_) => ErrorKind::InvalidReceipt,
        }
    }
}
