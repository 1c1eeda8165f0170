//! What the staff dashboard shows: plain data the app fills from the outbox,
//! the printer, the card reader and the catalogue. No personal data: a dead
//! letter is known by its ids, its service and its error class only.

use std::time::{Duration, SystemTime};

use uuid::Uuid;

/// The kiosk's state for the staff dashboard, as the app last reported it.
///
/// From offline-cache's `OutboxStatus`: `queue_depth = queued + sending`,
/// `oldest_undelivered_at`, `last_sync_at = last_delivery_at`,
/// `last_sync_attempt_at = last_attempt_at`; from `Outbox::dead_letters()`
/// one [`DeadLetterInfo`] each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaffStatus {
    /// This kiosk's id from the configuration.
    pub kiosk_id: String,
    /// Submissions waiting for delivery (dead letters not included).
    pub queue_depth: u64,
    /// When the oldest undelivered submission (dead letters included) was saved.
    pub oldest_undelivered_at: Option<SystemTime>,
    /// Submissions the portal refused for good, oldest first.
    pub dead_letters: Vec<DeadLetterInfo>,
    /// When a submission was last delivered.
    pub last_sync_at: Option<SystemTime>,
    /// When a delivery was last attempted (successful or not).
    pub last_sync_attempt_at: Option<SystemTime>,
    /// The receipt printer.
    pub printer: PrinterState,
    /// The card reader(s).
    pub reader: ReaderState,
    /// The service catalogue in use (its version or content hash).
    pub catalogue_version: String,
    /// AusweisApp, the eID client.
    pub eid: EidClientState,
}

/// AusweisApp as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EidClientState {
    /// eID login is switched off in the configuration.
    #[default]
    NotConfigured,
    /// Not connected; the supervisor keeps trying.
    Disconnected,
    /// Connected.
    Connected {
        /// AusweisApp's version, e.g. `1.26.2`.
        version: String,
        /// Card readers AusweisApp sees (its simulator not counted).
        readers: u32,
    },
}

impl StaffStatus {
    /// How long the oldest undelivered submission has waited at `now`.
    pub fn oldest_undelivered_age(&self, now: SystemTime) -> Option<Duration> {
        self.oldest_undelivered_at
            .map(|at| now.duration_since(at).unwrap_or(Duration::ZERO))
    }

    /// The dead letter with this id.
    pub fn dead_letter(&self, id: Uuid) -> Option<&DeadLetterInfo> {
        self.dead_letters.iter().find(|d| d.id == id)
    }
}

/// A submission the portal refused for good, as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterInfo {
    /// Submission id (the idempotency key; not personal).
    pub id: Uuid,
    /// The receipt reference the citizen holds, so staff can answer
    /// "what happened to my application?".
    pub reference: String,
    /// Catalogue service id.
    pub service_id: String,
    /// When the citizen saved it.
    pub created_at: SystemTime,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed, as a class (e.g. `HTTP 422 (schema)`),
    /// never the server's free text.
    pub last_error_class: String,
}

/// The receipt printer as staff need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrinterState {
    /// Not asked yet.
    #[default]
    Unknown,
    /// Ready to print.
    Ready,
    /// Still prints; refill the roll soon.
    PaperNearEnd,
    /// No paper.
    PaperOut,
    /// The cover is open.
    CoverOpen,
    /// An error (cutter, print head) that needs staff.
    Error,
    /// Does not answer.
    Offline,
    /// No printer configured on this kiosk.
    NotConfigured,
}

impl PrinterState {
    /// Stable name for the UI and logs (`"paper-out"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ready => "ready",
            Self::PaperNearEnd => "paper-near-end",
            Self::PaperOut => "paper-out",
            Self::CoverOpen => "cover-open",
            Self::Error => "error",
            Self::Offline => "offline",
            Self::NotConfigured => "not-configured",
        }
    }

    /// Whether staff must do something.
    pub fn needs_attention(self) -> bool {
        !matches!(self, Self::Ready | Self::Unknown | Self::NotConfigured)
    }
}

/// The card reader(s) as staff need to know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReaderState {
    /// Not asked yet.
    #[default]
    Unknown,
    /// At least one reader is connected.
    Ready,
    /// The PC/SC service runs, but no reader is connected.
    NoReader,
    /// The PC/SC service (pcscd) does not answer.
    ServiceUnavailable,
    /// No reader configured on this kiosk.
    NotConfigured,
}

impl ReaderState {
    /// Stable name for the UI and logs (`"no-reader"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Ready => "ready",
            Self::NoReader => "no-reader",
            Self::ServiceUnavailable => "service-unavailable",
            Self::NotConfigured => "not-configured",
        }
    }

    /// Whether staff must do something.
    pub fn needs_attention(self) -> bool {
        matches!(self, Self::NoReader | Self::ServiceUnavailable)
    }
}
