//! The only values a metric label can take.
//!
//! Every label value is either a variant of a closed enum below or a configured,
//! checked identifier ([`KioskId`], [`CatalogueVersion`]). No metric method takes a
//! `&str`, so free text (a name, a document number, an error message that quotes
//! input) has no way into `/metrics`.

use std::fmt;

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

/// Writes `as_str()` as the label value, so the text in `/metrics` is exactly the
/// documented snake_case name.
macro_rules! closed_label {
    ($ty:ident) => {
        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
                fmt::Write::write_str(encoder, self.as_str())
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Why a delivery attempt failed, as the sync engine classifies it (the app
/// maps `offline_cache::FailureClass` onto these one to one; this crate knows
/// nothing of the outbox). The `class` label of `kiosk_delivery_failures_total`
/// and `kiosk_dead_letters_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// No usable connection: refused, reset, unresolvable, or the answer broke
    /// off. The kiosk is offline or the portal is down.
    Network,
    /// The request did not complete within the transport's time limit.
    Timeout,
    /// The TLS handshake failed: untrusted or expired certificate, or no
    /// pinned key matched. Needs a certificate or configuration fix.
    Tls,
    /// The portal answered with a temporary error (5xx, or still processing).
    Server,
    /// The portal asked the kiosk to slow down (429, or 503 with `Retry-After`).
    RateLimited,
    /// The kiosk's credentials were refused (token endpoint, 401/403).
    Auth,
    /// The portal answered something the kiosk cannot use (not the expected JSON).
    InvalidAnswer,
    /// The portal or office refused the submission for good: a dead letter.
    Rejected,
    /// A fault on the kiosk itself (its database, a failed delivery task, a
    /// submission that cannot be sent the configured way).
    Local,
}

impl FailureClass {
    /// Every class, in the order `/metrics` lists them.
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

    /// The label value.
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
}
closed_label!(FailureClass);

/// What the receipt printer last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrinterState {
    /// Ready to print.
    Ready,
    /// Paper near end: still prints, staff should refill soon.
    PaperLow,
    /// Out of paper: receipts are shown as QR codes instead.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// Does not answer the status query.
    Offline,
    /// Any other printer error.
    Error,
}

impl PrinterState {
    /// Every state, in the order `/metrics` lists them.
    pub const ALL: [Self; 6] = [
        Self::Ready,
        Self::PaperLow,
        Self::PaperOut,
        Self::CoverOpen,
        Self::Offline,
        Self::Error,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::PaperLow => "paper_low",
            Self::PaperOut => "paper_out",
            Self::CoverOpen => "cover_open",
            Self::Offline => "offline",
            Self::Error => "error",
        }
    }
}
closed_label!(PrinterState);

/// Whether the configured card reader is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReaderState {
    /// The reader is connected.
    Present,
    /// The reader is not connected (citizens can still type their data in).
    Absent,
    /// The reader or PC/SC reports an error.
    Error,
}

impl ReaderState {
    /// Every state, in the order `/metrics` lists them.
    pub const ALL: [Self; 3] = [Self::Present, Self::Absent, Self::Error];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Error => "error",
        }
    }
}
closed_label!(ReaderState);

/// Why a citizen journey ended without a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbandonReason {
    /// The citizen cancelled.
    Cancel,
    /// The idle time-out ended the session.
    Timeout,
}

impl AbandonReason {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [Self; 2] = [Self::Cancel, Self::Timeout];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Timeout => "timeout",
        }
    }
}
closed_label!(AbandonReason);

/// Something staff did (counted in metrics and written to the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffAction {
    /// Staff mode opened (staff card, phone token or PIN).
    Enter,
    /// A staff card, token or PIN was refused.
    EnterRefused,
    /// Too many refused attempts: staff mode locked for a while.
    Lockout,
    /// Staff mode closed.
    Exit,
    /// "Sync now".
    SyncNow,
    /// "Print test page".
    PrintTestPage,
    /// "Reload catalogue".
    ReloadCatalogue,
    /// "Out of service".
    OutOfService,
    /// "Back in service".
    BackInService,
    /// A dead letter was queued for another delivery attempt.
    RetryDeadLetter,
    /// A dead letter was discarded (after confirmation).
    DiscardDeadLetter,
}

impl StaffAction {
    /// Every action, in the order `/metrics` lists them.
    pub const ALL: [Self; 11] = [
        Self::Enter,
        Self::EnterRefused,
        Self::Lockout,
        Self::Exit,
        Self::SyncNow,
        Self::PrintTestPage,
        Self::ReloadCatalogue,
        Self::OutOfService,
        Self::BackInService,
        Self::RetryDeadLetter,
        Self::DiscardDeadLetter,
    ];

    /// The label value (also the `action` field of audit log lines).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enter => "enter",
            Self::EnterRefused => "enter_refused",
            Self::Lockout => "lockout",
            Self::Exit => "exit",
            Self::SyncNow => "sync_now",
            Self::PrintTestPage => "print_test_page",
            Self::ReloadCatalogue => "reload_catalogue",
            Self::OutOfService => "out_of_service",
            Self::BackInService => "back_in_service",
            Self::RetryDeadLetter => "retry_dead_letter",
            Self::DiscardDeadLetter => "discard_dead_letter",
        }
    }
}
closed_label!(StaffAction);

/// A configured identifier was refused as a label value.
///
/// The message names the rule, never the value: a value that breaks the rule
/// may be something that must not be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} is not usable as a metric label: it must be 1 to {max} characters from A-Z, a-z, 0-9 and {extra} \
     (the given value has {len} characters{bad}); fix it in the configuration"
)]
pub struct LabelError {
    what: &'static str,
    max: usize,
    extra: &'static str,
    len: usize,
    bad: &'static str,
}

fn check_id(
    what: &'static str,
    value: &str,
    max: usize,
    extra_chars: &'static str,
    extra: &'static str,
) -> Result<String, LabelError> {
    let len = value.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || extra_chars.contains(c);
    let bad = if value.chars().all(allowed) {
        ""
    } else {
        ", some of them not allowed"
    };
    if len == 0 || len > max || !bad.is_empty() {
        return Err(LabelError {
            what,
            max,
            extra,
            len,
            bad,
        });
    }
    Ok(value.to_owned())
}

/// This kiosk's configured id (e.g. `K27`): an `info` label, not personal data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KioskId(String);

impl KioskId {
    /// Checks a configured kiosk id: 1 to 32 characters from `A-Z a-z 0-9 - _ .`.
    pub fn new(id: &str) -> Result<Self, LabelError> {
        check_id("the kiosk id", id, 32, "-_.", "'-', '_', '.'").map(Self)
    }

    /// The id as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KioskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KioskId").field(&self.0).finish()
    }
}

impl fmt::Display for KioskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl EncodeLabelValue for KioskId {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, &self.0)
    }
}

/// The loaded service catalogue's version (e.g. `2026.11.24`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CatalogueVersion(String);

impl CatalogueVersion {
    /// Checks a catalogue version: 1 to 64 characters from `A-Z a-z 0-9 - _ . +`.
    pub fn new(version: &str) -> Result<Self, LabelError> {
        check_id(
            "the catalogue version",
            version,
            64,
            "-_.+",
            "'-', '_', '.', '+'",
        )
        .map(Self)
    }

    /// The version as the catalogue states it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CatalogueVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CatalogueVersion").field(&self.0).finish()
    }
}

impl fmt::Display for CatalogueVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl EncodeLabelValue for CatalogueVersion {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_ids_from_the_configuration_are_accepted() {
        for id in ["K27", "k-07", "rathaus.eg_1", &"A".repeat(32)] {
            assert_eq!(KioskId::new(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn free_text_is_refused_and_the_error_does_not_repeat_it() {
        for value in [
            "",
            "Erika Mustermann",
            "T22000129\n",
            "K27\"} 1",
            "Ölprüfung",
            &"A".repeat(33),
        ] {
            let error = KioskId::new(value).unwrap_err().to_string();
            assert!(error.contains("kiosk id"), "{error}");
            assert!(error.contains("fix it in the configuration"), "{error}");
            if !value.is_empty() {
                assert!(!error.contains(value), "{error} repeats the value");
            }
        }
        let error = CatalogueVersion::new("Erika Mustermann")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("Mustermann"), "{error}");
        assert!(
            error.contains("16 characters, some of them not allowed"),
            "{error}"
        );
    }

    #[test]
    fn catalogue_versions_allow_build_metadata() {
        assert_eq!(
            CatalogueVersion::new("2026.11.24+gelsenkirchen")
                .unwrap()
                .as_str(),
            "2026.11.24+gelsenkirchen"
        );
    }

    #[test]
    fn label_values_are_snake_case_and_distinct() {
        let all = FailureClass::ALL
            .iter()
            .map(|v| v.as_str())
            .chain(PrinterState::ALL.iter().map(|v| v.as_str()))
            .chain(ReaderState::ALL.iter().map(|v| v.as_str()))
            .chain(AbandonReason::ALL.iter().map(|v| v.as_str()))
            .chain(StaffAction::ALL.iter().map(|v| v.as_str()));
        for value in all {
            assert!(
                value.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{value}"
            );
        }
        let mut staff: Vec<_> = StaffAction::ALL.iter().map(|a| a.as_str()).collect();
        staff.sort_unstable();
        staff.dedup();
        assert_eq!(staff.len(), StaffAction::ALL.len());
    }
}
