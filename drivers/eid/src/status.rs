//! [`EidStatus`]: AusweisApp's state as plain data, for staff mode and `/metrics`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::flow::Conditions;
use crate::protocol::Reader;

/// AusweisApp as the kiosk sees it. No personal data: reader names are hardware names,
/// and only whether a card lies on a reader is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EidStatus {
    /// The connection.
    pub connection: Connection,
    /// Why AusweisApp is not available, while it is not.
    pub problem: Option<StatusProblem>,
    /// AusweisApp's version (`Implementation-Version`), once connected.
    pub version: Option<String>,
    /// The API level in use.
    pub api_level: Option<u32>,
    /// The readers AusweisApp sees.
    pub readers: Vec<ReaderStatus>,
    /// Whether the kiosk started this AusweisApp (rather than finding one running).
    pub managed: bool,
    /// The process id of the AusweisApp the kiosk started, while it runs.
    pub pid: Option<u32>,
    /// AusweisApp processes the kiosk started after the first (each one a crash or hang).
    pub restarts: u32,
    /// Connections after the first.
    pub reconnects: u32,
}

/// The state of the connection to AusweisApp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// The supervisor is starting AusweisApp or connecting for the first time.
    #[default]
    Starting,
    /// Connected.
    Connected,
    /// The connection was lost; the supervisor is reconnecting (with back-off).
    Reconnecting,
    /// The supervisor was stopped.
    Stopped,
}

/// Why AusweisApp is not available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusProblem {
    /// Neither `AusweisApp` nor `AusweisApp2` is installed.
    BinaryMissing,
    /// Nothing listens on the port and the supervisor may not start AusweisApp.
    NotRunning,
    /// Another client is connected (AusweisApp serves one at a time).
    Busy,
    /// Starting the process failed.
    StartFailed,
    /// The process started but did not accept connections in time.
    StartTimeout,
    /// Connecting or the first questions (version, readers) failed.
    ConnectFailed,
}

impl StatusProblem {
    /// A stable code for staff mode (translated there) and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::BinaryMissing => "eid.status.binary_missing",
            Self::NotRunning => "eid.status.not_running",
            Self::Busy => "eid.status.busy",
            Self::StartFailed => "eid.status.start_failed",
            Self::StartTimeout => "eid.status.start_timeout",
            Self::ConnectFailed => "eid.status.connect_failed",
        }
    }
}

/// One reader as AusweisApp sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReaderStatus {
    /// The reader's name.
    pub name: String,
    /// Whether a card lies on it.
    pub card: bool,
    /// Whether it has a keypad.
    pub keypad: bool,
    /// Whether it is AusweisApp's built-in `Simulator` (or another insertable reader).
    pub simulator: bool,
}

impl ReaderStatus {
    /// The status line of an attached reader.
    pub fn from_reader(reader: &Reader) -> Self {
        Self {
            name: reader.name.clone(),
            card: reader.card.is_some(),
            keypad: reader.keypad.unwrap_or(false),
            simulator: !reader.is_physical(),
        }
    }
}

impl EidStatus {
    /// Whether AusweisApp is connected.
    pub fn is_connected(&self) -> bool {
        self.connection == Connection::Connected
    }

    /// Whether a real card reader is attached (the `Simulator` does not count).
    pub fn has_card_reader(&self) -> bool {
        self.card_readers() > 0
    }

    /// How many real card readers AusweisApp sees (its simulator not counted).
    pub fn card_readers(&self) -> usize {
        self.readers
            .iter()
            .filter(|reader| !reader.simulator)
            .count()
    }

    /// The conditions for offering eID login, given whether the kiosk is online.
    pub fn conditions(&self, online: bool) -> Conditions {
        Conditions {
            online,
            eid_client: self.is_connected(),
            card_reader: self.has_card_reader(),
        }
    }

    /// Applies a `READER` message: adds, updates or (when detached) removes the reader.
    pub fn update_reader(&mut self, reader: &Reader) {
        self.readers.retain(|known| known.name != reader.name);
        if reader.attached {
            self.readers.push(ReaderStatus::from_reader(reader));
            self.readers.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }

    /// Replaces the readers with a `READER_LIST`.
    pub fn set_readers(&mut self, readers: &[Reader]) {
        self.readers = readers
            .iter()
            .filter(|reader| reader.attached)
            .map(ReaderStatus::from_reader)
            .collect();
        self.readers.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// The status in the Prometheus text format, for the kiosk's `/metrics`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let up = u8::from(self.is_connected());
        let physical = self.readers.iter().filter(|r| !r.simulator).count();
        let cards = self
            .readers
            .iter()
            .filter(|r| !r.simulator && r.card)
            .count();
        let mut gauge = |name: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            "kiosk_eid_client_up",
            "Whether AusweisApp is connected (1) or not (0).",
            up.to_string(),
        );
        gauge(
            "kiosk_eid_card_readers",
            "Card readers AusweisApp sees (without its simulator).",
            physical.to_string(),
        );
        gauge(
            "kiosk_eid_cards_present",
            "Readers with a card on them.",
            cards.to_string(),
        );
        let mut counter = |name: &str, help: &str, value: u32| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "kiosk_eid_client_restarts_total",
            "AusweisApp processes started after the first.",
            self.restarts,
        );
        counter(
            "kiosk_eid_client_reconnects_total",
            "Connections to AusweisApp after the first.",
            self.reconnects,
        );
        let version = self.version.as_deref().unwrap_or("");
        let problem = self.problem.map(StatusProblem::code).unwrap_or("");
        let _ = writeln!(
            out,
            "# HELP kiosk_eid_client_info AusweisApp version and current problem.\n\
             # TYPE kiosk_eid_client_info gauge\n\
             kiosk_eid_client_info{{version=\"{}\",problem=\"{}\"}} 1",
            escape_label(version),
            escape_label(problem)
        );
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, attached: bool, insertable: bool, card: bool) -> Reader {
        Reader {
            name: name.into(),
            insertable: Some(insertable),
            attached,
            keypad: Some(false),
            card: card.then(Default::default),
            unknown: Default::default(),
        }
    }

    #[test]
    fn readers_are_added_updated_and_removed() {
        let mut status = EidStatus::default();
        status.update_reader(&reader("Simulator", true, true, false));
        assert!(!status.has_card_reader());
        status.update_reader(&reader("Virtual PCD 00 00", true, false, false));
        assert!(status.has_card_reader());
        status.update_reader(&reader("Virtual PCD 00 00", true, false, true));
        assert_eq!(status.readers.len(), 2);
        assert!(status.readers.iter().any(|r| r.card));
        status.update_reader(&reader("Virtual PCD 00 00", false, false, false));
        assert!(!status.has_card_reader());
        status.set_readers(&[
            reader("A", true, false, false),
            reader("B", false, false, false),
        ]);
        assert_eq!(status.readers.len(), 1);
    }

    #[test]
    fn prometheus_text_has_every_metric() {
        let mut status = EidStatus {
            connection: Connection::Connected,
            version: Some("1.26.2".into()),
            restarts: 2,
            ..Default::default()
        };
        status.update_reader(&reader("Virtual PCD 00 00", true, false, true));
        let text = status.prometheus();
        assert!(text.contains("kiosk_eid_client_up 1"));
        assert!(text.contains("kiosk_eid_card_readers 1"));
        assert!(text.contains("kiosk_eid_cards_present 1"));
        assert!(text.contains("kiosk_eid_client_restarts_total 2"));
        assert!(text.contains("kiosk_eid_client_info{version=\"1.26.2\",problem=\"\"} 1"));
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
