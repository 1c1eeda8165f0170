//! One run of the tool: the chosen checks in order, then the report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::check::{CheckId, Outcome, Recorder};
use crate::cli::Subcommand;
use crate::inventory::Inventory;
use crate::lang::Lang;
use crate::privacy::UidSalt;
use crate::prompt::{Answer, Prompter};
use crate::report::{Report, host_name, human_time};
use crate::settings::Settings;
use crate::text::Reason;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No async runtime (threads or timers unavailable).
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
    /// No randomness for the UID salt.
    #[error("no randomness for the UID salt: {0}")]
    Random(getrandom::Error),
}

fn announce(prompter: &Prompter, lang: Lang, de: &str, en: &str) {
    prompter.say(&format!("==> {}", lang.pick(de, en)));
}

/// Runs `subcommand` and returns its report (nothing is printed to standard output here).
pub fn run(subcommand: Subcommand, settings: &Settings) -> Result<Report, RunError> {
    let lang = settings.lang;
    let started_at = OffsetDateTime::now_utc();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let salt = Arc::new(UidSalt::random().map_err(RunError::Random)?);
    // Only subcommands that ask read standard input; `list` and `network` never do.
    let interactive = settings.interactive && subcommand.asks();
    let prompter = Prompter::new(interactive, lang);
    let stamp = human_time(started_at);
    let mut recorder = Recorder::new();
    let mut inventory = None;

    let all = subcommand == Subcommand::All;
    if matches!(subcommand, Subcommand::List | Subcommand::All) {
        announce(
            &prompter,
            lang,
            "Bestandsaufnahme …",
            "Looking at the hardware …",
        );
        inventory = Some(Inventory::collect(settings, &runtime));
    }
    if all || subcommand == Subcommand::Reader {
        announce(
            &prompter,
            lang,
            "Prüfe Kartenleser …",
            "Checking the card reader …",
        );
        crate::reader::run(&settings.reader, &prompter, &salt, &mut recorder);
    }
    if all || subcommand == Subcommand::Printer {
        announce(
            &prompter,
            lang,
            "Prüfe Belegdrucker …",
            "Checking the receipt printer …",
        );
        runtime.block_on(crate::printer::run(
            &settings.printer,
            &prompter,
            &stamp,
            &mut recorder,
        ));
    }
    if all || subcommand == Subcommand::Touch {
        announce(&prompter, lang, "Touch-Test …", "Touch test …");
        screen_check(
            &prompter,
            &mut recorder,
            CheckId::TouchGrid,
            settings.touch.timeout,
            || {
                crate::screens::run_touch(
                    settings.touch.columns,
                    settings.touch.rows,
                    settings.touch.timeout,
                    lang,
                )
            },
        );
    }
    if all || subcommand == Subcommand::Display {
        announce(&prompter, lang, "Bildschirmtest …", "Display test …");
        screen_check(
            &prompter,
            &mut recorder,
            CheckId::DisplayPatterns,
            settings.display_timeout,
            || crate::screens::run_display(settings.display_timeout, lang),
        );
    }
    if all || subcommand == Subcommand::Network {
        announce(
            &prompter,
            lang,
            "Prüfe Netzwerk …",
            "Checking the network …",
        );
        runtime.block_on(crate::network::run(&settings.portal, &mut recorder));
    }
    let report = Report {
        command: subcommand.name().to_owned(),
        interactive,
        unattended: !settings.interactive,
        lang,
        host: host_name(),
        started_at,
        finished_at: OffsetDateTime::now_utc(),
        inventory,
        checks: recorder.into_results(),
    };

    let print = settings.print_report
        || (all
            && prompter.yes_no(
                lang.pick(
                    "Zusammenfassung auf dem Belegdrucker ausdrucken?",
                    "Print the summary on the receipt printer?",
                ),
                false,
                Duration::from_secs(120),
            ) == Answer::Yes);
    if print && subcommand != Subcommand::List {
        let (title, lines) = report.paper();
        match runtime.block_on(crate::printer::print_report(
            &settings.printer,
            &title,
            &lines,
        )) {
            Ok(()) => prompter.say(lang.pick("Zusammenfassung gedruckt.", "Summary printed.")),
            Err(error) => prompter.say(&error.text(lang)),
        }
    }
    Ok(report)
}

/// Screen checks need a person at the kiosk: unattended runs skip them (not required).
fn screen_check(
    prompter: &Prompter,
    recorder: &mut Recorder,
    id: CheckId,
    timeout: Duration,
    run: impl FnOnce() -> Outcome,
) {
    let started = Instant::now();
    if !prompter.interactive() {
        recorder.record(
            id,
            None,
            false,
            timeout,
            started,
            Outcome::skipped(Reason::NeedsTechnician),
        );
        return;
    }
    let outcome = run();
    recorder.record(id, None, true, timeout, started, outcome);
}
