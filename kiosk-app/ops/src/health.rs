//! What `/healthz` reports: the kiosk's components and one overall verdict.
//!
//! The app feeds component states into a [`Health`] handle as it learns them; the
//! endpoint turns them into a [`HealthReport`]. The rules, from the citizen's view:
//!
//! | component | ok | degraded | failing |
//! | --- | --- | --- | --- |
//! | outbox | writable | not reported yet | not writable (nothing can be saved) |
//! | printer | ready, not installed | paper low/out, cover open, offline, error (receipts become QR codes) | - |
//! | reader | present, not installed | absent, error (citizens type their data in) | - |
//! | sync | a success within `sync_stale_after` | no success for longer (submissions queue) | - |
//! | catalogue | current | last good copy (server down), not reported yet | none loaded |
//! | service | in service | out of service (staff) | - |
//!
//! The overall status is the worst component status: `failing` means the kiosk
//! cannot serve citizens, and `/healthz` answers 503 only then.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::labels::{CatalogueVersion, PrinterState, ReaderState};

/// A component's or the whole kiosk's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Working as intended.
    Ok,
    /// Serving citizens, with a fallback or a warning for staff.
    Degraded,
    /// Not able to serve citizens.
    Failing,
}

impl Status {
    /// `ok`, `degraded` or `failing`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Failing => "failing",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Thresholds for the health verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Sync is degraded when its last success (or the start, if none yet) is
    /// older than this. Default: 30 minutes.
    pub sync_stale_after: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            sync_stale_after: Duration::from_secs(30 * 60),
        }
    }
}

/// Where the service catalogue in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueHealth {
    /// The current catalogue is loaded.
    Current(CatalogueVersion),
    /// The catalogue server could not be reached: the last good copy is in use.
    LastGood(CatalogueVersion),
    /// No catalogue could be loaded at all.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device<T> {
    Unknown,
    NotInstalled,
    State(T),
}

#[derive(Debug)]
struct State {
    outbox_writable: Option<bool>,
    printer: Device<PrinterState>,
    reader: Device<ReaderState>,
    last_sync_success: Option<SystemTime>,
    catalogue: Option<CatalogueHealth>,
    in_service: bool,
}

/// A handle the app feeds component states into: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    config: HealthConfig,
    started: Instant,
    state: Mutex<State>,
}

/// One component's check in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The component's verdict.
    pub status: Status,
    /// What the component reported, e.g. `paper_out` or `not_reported`.
    pub state: &'static str,
    /// The catalogue's version (catalogue only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Seconds since the last successful sync (sync only; `null` if none since start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_age_seconds: Option<Option<u64>>,
}

impl Check {
    fn new(status: Status, state: &'static str) -> Self {
        Self {
            status,
            state,
            version: None,
            last_success_age_seconds: None,
        }
    }
}

/// The body of `/healthz`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// The worst status of all checks.
    pub status: Status,
    /// One check per component: `outbox`, `printer`, `reader`, `sync`, `catalogue`, `service`.
    pub checks: BTreeMap<&'static str, Check>,
}

impl HealthReport {
    /// The HTTP status `/healthz` answers with: 503 when failing, else 200.
    pub fn http_status(&self) -> u16 {
        if self.status == Status::Failing {
            503
        } else {
            200
        }
    }
}

impl Health {
    /// A handle with every component "not reported yet".
    pub fn new(config: HealthConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                started: Instant::now(),
                state: Mutex::new(State {
                    outbox_writable: None,
                    printer: Device::Unknown,
                    reader: Device::Unknown,
                    last_sync_success: None,
                    catalogue: None,
                    in_service: true,
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reports whether the outbox accepts new submissions.
    pub fn set_outbox_writable(&self, writable: bool) {
        self.state().outbox_writable = Some(writable);
    }

    /// Reports the printer's current state.
    pub fn set_printer(&self, state: PrinterState) {
        self.state().printer = Device::State(state);
    }

    /// Reports that this kiosk has no printer.
    pub fn set_printer_not_installed(&self) {
        self.state().printer = Device::NotInstalled;
    }

    /// Reports the card reader's current state.
    pub fn set_reader(&self, state: ReaderState) {
        self.state().reader = Device::State(state);
    }

    /// Reports that this kiosk has no card reader.
    pub fn set_reader_not_installed(&self) {
        self.state().reader = Device::NotInstalled;
    }

    /// Records a successful sync with the portal now.
    pub fn record_sync_success(&self) {
        self.set_last_sync_success(SystemTime::now());
    }

    /// Sets when the last successful sync happened (e.g. read back from the outbox after a restart).
    pub fn set_last_sync_success(&self, at: SystemTime) {
        self.state().last_sync_success = Some(at);
    }

    /// Reports which catalogue is in use.
    pub fn set_catalogue(&self, catalogue: CatalogueHealth) {
        self.state().catalogue = Some(catalogue);
    }

    /// Reports whether staff put the kiosk out of service.
    pub fn set_in_service(&self, in_service: bool) {
        self.state().in_service = in_service;
    }

    /// The current verdict.
    pub fn report(&self) -> HealthReport {
        let state = self.state();
        let mut checks = BTreeMap::new();

        checks.insert(
            "outbox",
            match state.outbox_writable {
                None => Check::new(Status::Degraded, "not_reported"),
                Some(true) => Check::new(Status::Ok, "writable"),
                Some(false) => Check::new(Status::Failing, "not_writable"),
            },
        );
        checks.insert(
            "printer",
            match state.printer {
                Device::Unknown => Check::new(Status::Degraded, "not_reported"),
                Device::NotInstalled => Check::new(Status::Ok, "not_installed"),
                Device::State(PrinterState::Ready) => Check::new(Status::Ok, "ready"),
                Device::State(other) => Check::new(Status::Degraded, other.as_str()),
            },
        );
        checks.insert(
            "reader",
            match state.reader {
                Device::Unknown => Check::new(Status::Degraded, "not_reported"),
                Device::NotInstalled => Check::new(Status::Ok, "not_installed"),
                Device::State(ReaderState::Present) => Check::new(Status::Ok, "present"),
                Device::State(other) => Check::new(Status::Degraded, other.as_str()),
            },
        );

        let age = state.last_sync_success.map(|at| {
            SystemTime::now()
                .duration_since(at)
                .unwrap_or(Duration::ZERO)
        });
        // Before the first success, the time since start counts: a kiosk that
        // has never synced is not degraded in its first minutes.
        let stale = age.unwrap_or_else(|| self.inner.started.elapsed())
            > self.inner.config.sync_stale_after;
        let mut sync = match (stale, age) {
            (false, Some(_)) => Check::new(Status::Ok, "recent"),
            (false, None) => Check::new(Status::Ok, "none_yet"),
            (true, Some(_)) => Check::new(Status::Degraded, "stale"),
            (true, None) => Check::new(Status::Degraded, "none_since_start"),
        };
        sync.last_success_age_seconds = Some(age.map(|a| a.as_secs()));
        checks.insert("sync", sync);

        checks.insert(
            "catalogue",
            match &state.catalogue {
                None => Check::new(Status::Degraded, "not_reported"),
                Some(CatalogueHealth::Current(version)) => Check {
                    version: Some(version.as_str().to_owned()),
                    ..Check::new(Status::Ok, "current")
                },
                Some(CatalogueHealth::LastGood(version)) => Check {
                    version: Some(version.as_str().to_owned()),
                    ..Check::new(Status::Degraded, "last_good")
                },
                Some(CatalogueHealth::Missing) => Check::new(Status::Failing, "missing"),
            },
        );
        checks.insert(
            "service",
            if state.in_service {
                Check::new(Status::Ok, "in_service")
            } else {
                Check::new(Status::Degraded, "out_of_service")
            },
        );

        let status = checks
            .values()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok);
        HealthReport { status, checks }
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new(HealthConfig::default())
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("config", &self.inner.config)
            .field("state", &*self.state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ok() -> Health {
        let health = Health::default();
        health.set_outbox_writable(true);
        health.set_printer(PrinterState::Ready);
        health.set_reader(ReaderState::Present);
        health.record_sync_success();
        health.set_catalogue(CatalogueHealth::Current(
            CatalogueVersion::new("2026.11.24").unwrap(),
        ));
        health
    }

    #[test]
    fn nothing_reported_yet_is_degraded_not_failing() {
        let report = Health::default().report();
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(report.http_status(), 200);
        assert_eq!(report.checks["outbox"].state, "not_reported");
        assert_eq!(report.checks["sync"].status, Status::Ok);
        assert_eq!(report.checks["sync"].state, "none_yet");
    }

    #[test]
    fn every_component_reported_fine_is_ok() {
        let report = all_ok().report();
        assert_eq!(report.status, Status::Ok, "{report:?}");
        assert_eq!(report.http_status(), 200);
        assert_eq!(report.checks.len(), 6);
    }

    #[test]
    fn hardware_problems_degrade_because_the_kiosk_has_fallbacks() {
        for state in [
            PrinterState::PaperLow,
            PrinterState::PaperOut,
            PrinterState::CoverOpen,
            PrinterState::Offline,
            PrinterState::Error,
        ] {
            let health = all_ok();
            health.set_printer(state);
            let report = health.report();
            assert_eq!(report.status, Status::Degraded);
            assert_eq!(report.checks["printer"].state, state.as_str());
        }
        let health = all_ok();
        health.set_reader(ReaderState::Absent);
        assert_eq!(health.report().status, Status::Degraded);
        health.set_reader_not_installed();
        health.set_printer_not_installed();
        assert_eq!(health.report().status, Status::Ok);
    }

    #[test]
    fn an_unwritable_outbox_or_no_catalogue_is_failing() {
        let health = all_ok();
        health.set_outbox_writable(false);
        assert_eq!(health.report().status, Status::Failing);
        assert_eq!(health.report().http_status(), 503);

        let health = all_ok();
        health.set_catalogue(CatalogueHealth::Missing);
        assert_eq!(health.report().status, Status::Failing);

        let health = all_ok();
        health.set_catalogue(CatalogueHealth::LastGood(
            CatalogueVersion::new("2026.10.01").unwrap(),
        ));
        let report = health.report();
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(
            report.checks["catalogue"].version.as_deref(),
            Some("2026.10.01")
        );
    }

    #[test]
    fn an_old_sync_success_degrades() {
        let health = all_ok();
        health.set_last_sync_success(SystemTime::now() - Duration::from_secs(2 * 3600));
        let report = health.report();
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(report.checks["sync"].state, "stale");
        let age = report.checks["sync"]
            .last_success_age_seconds
            .unwrap()
            .unwrap();
        assert!(age >= 2 * 3600, "{age}");
    }

    #[test]
    fn out_of_service_degrades() {
        let health = all_ok();
        health.set_in_service(false);
        assert_eq!(health.report().checks["service"].state, "out_of_service");
        assert_eq!(health.report().status, Status::Degraded);
    }
}
