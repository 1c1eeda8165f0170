//! The receipt printer checks through `kiosk-printer`: open the connection, ask the
//! `DLE EOT` status and say every bit in words, print the test page; and printing the
//! report summary.

use std::io;
use std::time::{Duration, Instant};

use kiosk_printer::error::Error as _;
use kiosk_printer::transport::AnyTransport;
use kiosk_printer::{
    EscPosPrinter, PaperLevel, PrintJob, PrinterError, PrinterStatus, ReceiptPrinter, Timeouts,
};

use crate::check::{CheckId, Outcome, Recorder, Verdict};
use crate::lang::Lang;
use crate::prompt::{Answer, Prompter};
use crate::settings::{PrinterConnection, PrinterSettings};
use crate::testpage::{PaperLine, report_job, test_page};
use crate::text::{Fact, IoCause, Reason};

/// Time limit for opening the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time limit for sending one piece of a job.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit for the whole test page.
const TEST_PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the technician has to judge the test page.
const JUDGE_TIMEOUT: Duration = Duration::from_secs(300);

/// Opens the printer connection, giving up after 5 s.
pub async fn open(connection: &PrinterConnection) -> io::Result<AnyTransport> {
    kiosk_printer::transport::open(connection, CONNECT_TIMEOUT).await
}

fn status_facts(status: &PrinterStatus) -> Vec<Fact> {
    vec![
        Fact::Online(!status.offline),
        Fact::CoverOpen(status.cover_open),
        Fact::Paper(status.paper),
        Fact::CutterError(status.cutter_error),
        Fact::UnrecoverableError(status.unrecoverable_error),
        Fact::AutoRecoverableError(status.auto_recoverable_error),
    ]
}

fn problem_reason(kind: kiosk_printer::ErrorKind, status_timeout: Duration) -> Reason {
    use kiosk_printer::ErrorKind as K;
    match kind {
        K::PaperOut => Reason::PaperOut,
        K::CoverOpen => Reason::CoverOpen,
        K::CutterError => Reason::CutterError,
        K::HardwareFault => Reason::HardwareFault,
        K::Offline => Reason::PrinterMute {
            timeout: status_timeout,
        },
        K::Protocol => Reason::PrinterProtocol,
        K::Disconnected => Reason::PrinterDisconnected,
        _ => Reason::PrinterOffline,
    }
}

/// The status outcome: a blocking problem fails, near-end paper passes with its reason.
pub fn status_outcome(status: &PrinterStatus) -> Outcome {
    let facts = status_facts(status);
    let outcome = match status.blocking_problem() {
        Some(kiosk_printer::ErrorKind::Offline) => Outcome::fail(Reason::PrinterOffline),
        Some(kind) => Outcome::fail(problem_reason(kind, Duration::ZERO)),
        None if status.paper == PaperLevel::NearEnd => Outcome::pass(Reason::PaperNearEnd),
        None => Outcome::pass(Reason::PrinterReady),
    };
    outcome.with_facts(facts)
}

fn error_outcome(error: &PrinterError, status_timeout: Duration) -> Outcome {
    match error {
        PrinterError::NotReady { status, .. } => status_outcome(status),
        PrinterError::Interrupted { kind, status, .. } => {
            Outcome::fail(Reason::PrintInterrupted { kind: *kind }).with_facts(status_facts(status))
        }
        PrinterError::NoAnswer { timeout, .. } => {
            Outcome::fail(Reason::PrinterMute { timeout: *timeout })
        }
        PrinterError::WriteTimedOut { .. } => Outcome::fail(Reason::PrinterOffline),
        other => Outcome::fail(problem_reason(other.kind(), status_timeout)),
    }
}

/// Runs the printer checks.
pub async fn run(
    settings: &PrinterSettings,
    prompter: &Prompter,
    stamp: &str,
    recorder: &mut Recorder,
) {
    let started = Instant::now();
    let record = |recorder: &mut Recorder,
                  id: CheckId,
                  subject: Option<&str>,
                  required: bool,
                  timeout: Duration,
                  started: Instant,
                  outcome: Outcome| {
        recorder.record(id, subject, required, timeout, started, outcome)
    };
    if !settings.enabled {
        record(
            recorder,
            CheckId::PrinterConnection,
            None,
            false,
            Duration::ZERO,
            started,
            Outcome::skipped(Reason::PrinterDisabled),
        );
        return;
    }
    let Some(connection) = &settings.connection else {
        record(
            recorder,
            CheckId::PrinterConnection,
            None,
            true,
            Duration::ZERO,
            started,
            Outcome::fail(Reason::NoPrinterConfigured),
        );
        recorder.blocked(CheckId::PrinterStatus, None, CheckId::PrinterConnection);
        recorder.blocked(CheckId::PrinterTestPage, None, CheckId::PrinterConnection);
        return;
    };
    let endpoint = connection.to_string();
    let subject = Some(endpoint.as_str());
    let transport = match open(connection).await {
        Ok(transport) => {
            record(
                recorder,
                CheckId::PrinterConnection,
                subject,
                true,
                CONNECT_TIMEOUT,
                started,
                Outcome::pass(Reason::PrinterConnected)
                    .with_facts([Fact::Endpoint(endpoint.clone())]),
            );
            transport
        }
        Err(error) => {
            record(
                recorder,
                CheckId::PrinterConnection,
                subject,
                true,
                CONNECT_TIMEOUT,
                started,
                Outcome::fail(Reason::PrinterUnreachable {
                    endpoint: endpoint.clone(),
                    cause: IoCause::from_io(&error),
                }),
            );
            recorder.blocked(CheckId::PrinterStatus, subject, CheckId::PrinterConnection);
            recorder.blocked(
                CheckId::PrinterTestPage,
                subject,
                CheckId::PrinterConnection,
            );
            return;
        }
    };

    let timeouts = Timeouts {
        status_answer: settings.status_timeout,
        write: WRITE_TIMEOUT,
    };
    let mut printer = EscPosPrinter::new(transport, timeouts);
    let status_timeout = settings.status_timeout * 4 + Duration::from_secs(2);
    let started = Instant::now();
    let outcome = match tokio::time::timeout(status_timeout, printer.status()).await {
        Ok(Ok(status)) => status_outcome(&status),
        Ok(Err(error)) => error_outcome(&error, settings.status_timeout),
        Err(_) => Outcome::fail(Reason::TimedOut {
            timeout: status_timeout,
        }),
    };
    let status_ok = record(
        recorder,
        CheckId::PrinterStatus,
        subject,
        true,
        status_timeout,
        started,
        outcome.with_facts([Fact::Profile(settings.profile.name.clone())]),
    ) == Verdict::Pass;
    if !status_ok {
        recorder.blocked(CheckId::PrinterTestPage, subject, CheckId::PrinterStatus);
        return;
    }

    let started = Instant::now();
    let lang = prompter.lang();
    let wanted = settings.test_page
        && prompter.yes_no(
            lang.pick("Testseite drucken?", "Print a test page?"),
            true,
            JUDGE_TIMEOUT,
        ) != Answer::No;
    if !wanted {
        record(
            recorder,
            CheckId::PrinterTestPage,
            subject,
            false,
            Duration::ZERO,
            started,
            Outcome::skipped(Reason::TestPageNotWanted),
        );
        return;
    }
    let (job, pages) = match test_page(&settings.profile, lang, stamp) {
        Ok(built) => built,
        Err(error) => {
            record(
                recorder,
                CheckId::PrinterTestPage,
                subject,
                true,
                TEST_PAGE_TIMEOUT,
                started,
                Outcome::fail(Reason::Internal {
                    message: error.to_string(),
                }),
            );
            return;
        }
    };
    let facts = [
        Fact::JobBytes(job.bytes().len()),
        Fact::CodePages(pages.iter().map(ToString::to_string).collect()),
    ];
    let printed = tokio::time::timeout(TEST_PAGE_TIMEOUT, printer.print(&job)).await;
    let outcome = match printed {
        Ok(Ok(report)) => {
            let judged = prompter.yes_no(
                lang.pick(
                    "Ist die Testseite vollständig und sauber (alle Zeichen lesbar, Lineal bis \
                     an beide Ränder, QR-Code scannbar, abgeschnitten)?",
                    "Is the test page complete and clean (every character readable, ruler to \
                     both edges, QR code scans, cut)?",
                ),
                true,
                JUDGE_TIMEOUT,
            );
            let outcome = match judged {
                Answer::Yes => Outcome::pass(Reason::TestPageConfirmed),
                Answer::No => Outcome::fail(Reason::TestPageRejected),
                Answer::NoAnswer => Outcome::fail(Reason::NoAnswer {
                    timeout: JUDGE_TIMEOUT,
                }),
                Answer::NotAsked => Outcome::pass(Reason::TestPagePrinted),
            };
            let near_end = report.status_after.paper == PaperLevel::NearEnd;
            outcome.with_facts(near_end.then_some(Fact::Paper(PaperLevel::NearEnd)))
        }
        Ok(Err(error)) => error_outcome(&error, settings.status_timeout),
        Err(_) => Outcome::fail(Reason::TimedOut {
            timeout: TEST_PAGE_TIMEOUT,
        }),
    };
    record(
        recorder,
        CheckId::PrinterTestPage,
        subject,
        true,
        TEST_PAGE_TIMEOUT,
        started,
        outcome.with_facts(facts),
    );
}

/// Why the report could not be printed.
#[derive(Debug)]
pub enum PrintReportError {
    /// No printer is configured.
    NoPrinter,
    /// The printer could not print it (the reason says why).
    Failed(Reason),
}

impl PrintReportError {
    /// The message for the technician.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            PrintReportError::NoPrinter => lang
                .pick(
                    "Bericht nicht gedruckt: kein Drucker angegeben.",
                    "Report not printed: no printer given.",
                )
                .into(),
            PrintReportError::Failed(reason) => match lang {
                Lang::De => format!("Bericht nicht gedruckt: {}", reason.text(lang)),
                Lang::En => format!("Report not printed: {}", reason.text(lang)),
            },
        }
    }
}

/// Prints the report summary on a fresh connection (checks may have taken minutes).
pub async fn print_report(
    settings: &PrinterSettings,
    title: &str,
    lines: &[PaperLine],
) -> Result<(), PrintReportError> {
    let connection = settings
        .connection
        .as_ref()
        .ok_or(PrintReportError::NoPrinter)?;
    let job: PrintJob = report_job(title, lines, &settings.profile).map_err(|error| {
        PrintReportError::Failed(Reason::Internal {
            message: error.to_string(),
        })
    })?;
    let transport = open(connection).await.map_err(|error| {
        PrintReportError::Failed(Reason::PrinterUnreachable {
            endpoint: connection.to_string(),
            cause: IoCause::from_io(&error),
        })
    })?;
    let mut printer = EscPosPrinter::new(
        transport,
        Timeouts {
            status_answer: settings.status_timeout,
            write: WRITE_TIMEOUT,
        },
    );
    match tokio::time::timeout(TEST_PAGE_TIMEOUT, printer.print(&job)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(PrintReportError::Failed(
            error_outcome(&error, settings.status_timeout).reason,
        )),
        Err(_) => Err(PrintReportError::Failed(Reason::TimedOut {
            timeout: TEST_PAGE_TIMEOUT,
        })),
    }
}
