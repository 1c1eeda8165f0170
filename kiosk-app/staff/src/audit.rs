//! What the audit log records about each thing staff do: when, who (as a
//! pseudonym), what, and how it ended. Never personal data: no PIN, no card
//! UID, no name, no citizen's answers.

use std::fmt;
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::machine::StaffAction;

/// Who did it, pseudonymously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffIdentity {
    /// Someone who knows the staff PIN (`"pin"`).
    Pin,
    /// A configured staff card, by the first 8 hex digits of its UID's
    /// SHA-256 (`"card:9f64a747"`).
    Card(String),
    /// A phone token's staff id (`"token:ka-0815"`).
    Token(String),
    /// A card that is not a staff card (`"card:unknown"`); nothing of it is kept.
    UnknownCard,
    /// A token whose signature did not check out (`"token:unverified"`):
    /// the id it claims is not trusted and not logged.
    UnverifiedToken,
}

impl fmt::Display for StaffIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pin => f.write_str("pin"),
            Self::Card(prefix) => write!(f, "card:{prefix}"),
            Self::Token(id) => write!(f, "token:{id}"),
            Self::UnknownCard => f.write_str("card:unknown"),
            Self::UnverifiedToken => f.write_str("token:unverified"),
        }
    }
}

impl Serialize for StaffIdentity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAction {
    /// Opening staff mode (PIN, card or token).
    Login,
    /// Leaving staff mode (by "Beenden" or the idle time-out).
    Logout,
    /// Too many wrong PINs: the PIN pad is locked (`detail`: for how long).
    PinLockOut,
    /// A dashboard action.
    Action(StaffAction),
}

impl AuditAction {
    /// Stable name (`"login"`, `"discard-dead-letter"`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Logout => "logout",
            Self::PinLockOut => "pin-lock-out",
            Self::Action(action) => action.name(),
        }
    }
}

impl Serialize for AuditAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditOutcome {
    /// Done.
    Ok,
    /// Tried and failed (`reason` says why).
    Failed,
    /// Handed to the kiosk to perform; a second entry tells how it ended.
    Started,
    /// Staff cancelled it at the confirmation.
    Cancelled,
    /// Ended by the idle time-out.
    TimedOut,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Wall-clock time (RFC 3339, UTC).
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    /// Who, as a pseudonym.
    pub staff: StaffIdentity,
    /// What.
    pub action: AuditAction,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// What it acted on: a dead letter's submission id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why it failed, or other non-personal detail (lock-out length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn rfc3339<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let at = OffsetDateTime::from(*at);
    match at.format(&Rfc3339) {
        Ok(text) => s.serialize_str(&text),
        Err(e) => Err(serde::ser::Error::custom(e)),
    }
}

impl AuditEntry {
    /// The entry as one line of JSON, without the newline.
    pub fn to_json_line(&self) -> String {
        // Every field serialises infallibly (strings, enums, an in-range date).
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                r#"{{"action":"{}","outcome":"unserialisable","reason":"{e}"}}"#,
                self.action.name()
            )
        })
    }
}

/// The longest reason kept, so an app error cannot flood the log.
const MAX_REASON: usize = 200;

/// A reason as the audit log keeps it: one line, at most 200 characters.
pub(crate) fn clean_reason(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn an_entry_is_one_line_of_json() {
        let entry = AuditEntry {
            at: UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            staff: StaffIdentity::Card("9f64a747".into()),
            action: AuditAction::Action(StaffAction::SyncNow),
            outcome: AuditOutcome::Failed,
            target: None,
            reason: Some(clean_reason("portal\nunreachable")),
        };
        assert_eq!(
            entry.to_json_line(),
            r#"{"at":"2026-11-18T11:06:40Z","staff":"card:9f64a747","action":"sync-now","outcome":"failed","reason":"portal unreachable"}"#
        );
    }
}
