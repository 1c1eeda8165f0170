//! What every check produces: a verdict with a reason, facts, whether it was required, and
//! how long it took against its time-out.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::lang::Lang;
use crate::text::{Fact, Reason};

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The part works.
    Pass,
    /// The part does not work (or the technician said so); the reason says what to do.
    Fail,
    /// Not checked; the reason says why (nothing to check, needs a person, blocked).
    Skipped,
}

impl Verdict {
    /// `pass`, `fail` or `skipped` (the JSON value).
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        }
    }

    /// The tag in the human report.
    pub fn word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Verdict::Pass, Lang::De) => "OK",
            (Verdict::Fail, Lang::De) => "FEHLER",
            (Verdict::Skipped, Lang::De) => "ÜBERSPRUNGEN",
            (Verdict::Pass, Lang::En) => "PASS",
            (Verdict::Fail, Lang::En) => "FAIL",
            (Verdict::Skipped, Lang::En) => "SKIPPED",
        }
    }
}

/// The part of the kiosk a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Card reader, cards, NFC phones.
    Reader,
    /// Receipt printer.
    Printer,
    /// Touch screen input.
    Touch,
    /// Screen output.
    Display,
    /// Network and portal.
    Network,
}

impl Group {
    /// Every group in report order.
    pub const ALL: [Group; 5] = [
        Group::Reader,
        Group::Printer,
        Group::Touch,
        Group::Display,
        Group::Network,
    ];

    /// `reader`, `printer`, ... (the JSON value and the subcommand name).
    pub fn code(self) -> &'static str {
        match self {
            Group::Reader => "reader",
            Group::Printer => "printer",
            Group::Touch => "touch",
            Group::Display => "display",
            Group::Network => "network",
        }
    }

    /// The heading in the human report.
    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            Group::Reader => lang.pick("Kartenleser", "Card reader"),
            Group::Printer => lang.pick("Belegdrucker", "Receipt printer"),
            Group::Touch => lang.pick("Touchscreen", "Touch screen"),
            Group::Display => lang.pick("Bildschirm", "Display"),
            Group::Network => lang.pick("Netzwerk", "Network"),
        }
    }
}

/// Which check a result belongs to. The ids are stable: tools read them from the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// pcscd answers.
    ReaderService,
    /// A (matching) reader is connected.
    ReaderPresent,
    /// The card on the reader answers: ATR, type, UID.
    ReaderCard,
    /// NDEF content of an NFC tag.
    ReaderNdef,
    /// eMRTD chip opened with PACE (document type and expiry only).
    ReaderEmrtd,
    /// A phone with the kiosk app answers the HCE protocol.
    ReaderPhone,
    /// The printer connection opens.
    PrinterConnection,
    /// The printer answers `DLE EOT` and can print.
    PrinterStatus,
    /// The test page printed.
    PrinterTestPage,
    /// Every touch grid cell reacted.
    TouchGrid,
    /// Test patterns shown and confirmed.
    DisplayPatterns,
    /// The portal's host name resolves.
    NetworkDns,
    /// TLS handshake with the portal.
    NetworkTls,
    /// Clock difference to the portal's `Date`.
    NetworkClock,
}

impl CheckId {
    /// The stable id, e.g. `printer.status`.
    pub fn code(self) -> &'static str {
        match self {
            CheckId::ReaderService => "reader.service",
            CheckId::ReaderPresent => "reader.present",
            CheckId::ReaderCard => "reader.card",
            CheckId::ReaderNdef => "reader.ndef",
            CheckId::ReaderEmrtd => "reader.emrtd",
            CheckId::ReaderPhone => "reader.phone",
            CheckId::PrinterConnection => "printer.connection",
            CheckId::PrinterStatus => "printer.status",
            CheckId::PrinterTestPage => "printer.test_page",
            CheckId::TouchGrid => "touch.grid",
            CheckId::DisplayPatterns => "display.patterns",
            CheckId::NetworkDns => "network.dns",
            CheckId::NetworkTls => "network.tls",
            CheckId::NetworkClock => "network.clock",
        }
    }

    /// The group the check belongs to.
    pub fn group(self) -> Group {
        match self {
            CheckId::ReaderService
            | CheckId::ReaderPresent
            | CheckId::ReaderCard
            | CheckId::ReaderNdef
            | CheckId::ReaderEmrtd
            | CheckId::ReaderPhone => Group::Reader,
            CheckId::PrinterConnection | CheckId::PrinterStatus | CheckId::PrinterTestPage => {
                Group::Printer
            }
            CheckId::TouchGrid => Group::Touch,
            CheckId::DisplayPatterns => Group::Display,
            CheckId::NetworkDns | CheckId::NetworkTls | CheckId::NetworkClock => Group::Network,
        }
    }

    /// The check's name in the human report.
    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            CheckId::ReaderService => lang.pick("PC/SC-Dienst", "PC/SC service"),
            CheckId::ReaderPresent => lang.pick("Leser angeschlossen", "Reader connected"),
            CheckId::ReaderCard => lang.pick("Karte lesen", "Card read"),
            CheckId::ReaderNdef => lang.pick("NFC-Tag (NDEF)", "NFC tag (NDEF)"),
            CheckId::ReaderEmrtd => lang.pick("Ausweis-Chip (PACE)", "Passport chip (PACE)"),
            CheckId::ReaderPhone => lang.pick("Telefon (Kiosk-App)", "Phone (kiosk app)"),
            CheckId::PrinterConnection => lang.pick("Verbindung", "Connection"),
            CheckId::PrinterStatus => lang.pick("Druckerstatus", "Printer status"),
            CheckId::PrinterTestPage => lang.pick("Testseite", "Test page"),
            CheckId::TouchGrid => lang.pick("Berührungsraster", "Touch grid"),
            CheckId::DisplayPatterns => lang.pick("Testbilder", "Test patterns"),
            CheckId::NetworkDns => lang.pick("Namensauflösung (DNS)", "Name lookup (DNS)"),
            CheckId::NetworkTls => lang.pick("TLS zum Portal", "TLS to the portal"),
            CheckId::NetworkClock => lang.pick("Uhrzeit", "Clock"),
        }
    }
}

/// What a check found, before it is stamped with its id and timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Pass, fail or skipped.
    pub verdict: Verdict,
    /// Why (rendered in the report's language).
    pub reason: Reason,
    /// What was measured (rendered in the report's language).
    pub facts: Vec<Fact>,
}

impl Outcome {
    /// A pass.
    pub fn pass(reason: Reason) -> Self {
        Self {
            verdict: Verdict::Pass,
            reason,
            facts: Vec::new(),
        }
    }

    /// A failure.
    pub fn fail(reason: Reason) -> Self {
        Self {
            verdict: Verdict::Fail,
            reason,
            facts: Vec::new(),
        }
    }

    /// A skipped check.
    pub fn skipped(reason: Reason) -> Self {
        Self {
            verdict: Verdict::Skipped,
            reason,
            facts: Vec::new(),
        }
    }

    /// Adds facts.
    pub fn with_facts(mut self, facts: impl IntoIterator<Item = Fact>) -> Self {
        self.facts.extend(facts);
        self
    }
}

/// One check's entry in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Which check.
    pub id: CheckId,
    /// What was checked when there can be several (reader name, printer address, host).
    pub subject: Option<String>,
    /// Whether the overall result depends on it (see the README for the rules).
    pub required: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason,
    /// What was measured.
    pub facts: Vec<Fact>,
    /// The check's time limit.
    pub timeout: Duration,
    /// How long it took.
    pub elapsed: Duration,
}

impl CheckResult {
    /// Whether this result lets the whole run pass: not required, or passed.
    pub fn acceptable(&self) -> bool {
        !self.required || self.verdict == Verdict::Pass
    }
}

/// Stamps outcomes with ids, subjects and timing; collects them in order.
#[derive(Debug, Default)]
pub struct Recorder {
    results: Vec<CheckResult>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `outcome` of check `id`.
    pub fn record(
        &mut self,
        id: CheckId,
        subject: Option<&str>,
        required: bool,
        timeout: Duration,
        started: Instant,
        outcome: Outcome,
    ) -> Verdict {
        let verdict = outcome.verdict;
        self.results.push(CheckResult {
            id,
            subject: subject.map(str::to_owned),
            required,
            verdict,
            reason: outcome.reason,
            facts: outcome.facts,
            timeout,
            elapsed: started.elapsed(),
        });
        verdict
    }

    /// Records a check that was not run because `by` did not pass.
    pub fn blocked(&mut self, id: CheckId, subject: Option<&str>, by: CheckId) {
        self.record(
            id,
            subject,
            false,
            Duration::ZERO,
            Instant::now(),
            Outcome::skipped(Reason::Blocked { by }),
        );
    }

    /// The results so far.
    pub fn results(&self) -> &[CheckResult] {
        &self.results
    }

    /// Takes the results.
    pub fn into_results(self) -> Vec<CheckResult> {
        self.results
    }
}

/// Why [`bounded`] work gave no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// It did not finish within the limit.
    TimedOut(Duration),
    /// It panicked (or its thread could not start).
    Crashed,
}

impl Overrun {
    /// The failure outcome for a check that overran.
    pub fn outcome(self) -> Outcome {
        match self {
            Overrun::TimedOut(timeout) => Outcome::fail(Reason::TimedOut { timeout }),
            Overrun::Crashed => Outcome::fail(Reason::Internal {
                message: "the check stopped unexpectedly (a panic in a driver)".into(),
            }),
        }
    }
}

/// Runs blocking `work` on its own thread and waits at most `timeout` for its value.
///
/// Work that overruns is given up: its thread is left behind (it is blocked in a driver
/// call that has its own limit, and the process ends after the run), so a hanging device
/// never hangs the technician's run.
pub fn bounded<T, F>(timeout: Duration, work: F) -> Result<T, Overrun>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("hwtest-check".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|_| Overrun::Crashed)?;
    match receiver.recv_timeout(timeout) {
        Ok(value) => Ok(value),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Overrun::TimedOut(timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Overrun::Crashed),
    }
}

/// [`bounded`] for work that produces an [`Outcome`]; overrunning is a failure.
pub fn with_timeout<F>(timeout: Duration, work: F) -> Outcome
where
    F: FnOnce() -> Outcome + Send + 'static,
{
    bounded(timeout, work).unwrap_or_else(Overrun::outcome)
}
