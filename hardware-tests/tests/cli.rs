//! The command line as a technician meets it: help in their language, clear errors with
//! exit code 2, unattended runs of the screen tests, and an unwritable report file.

mod common;

use common::{Printer, hwtest};
use kiosk_printer::virtual_printer::VirtualState;

#[test]
fn help_is_in_the_technicians_language() {
    let de = hwtest(&["--help"], &[("LANG", "de_DE.UTF-8")]);
    assert_eq!(de.code, 0);
    for text in [
        "Hardwaretest für den Bürgerkiosk",
        "Prüft Kartenleser und aufgelegte Karte",
        "Keine Rückfragen",
        "Rückgabewert: 0 = alle Pflichtprüfungen bestanden",
        "KIOSK_HWTEST_CAN",
    ] {
        assert!(de.stdout.contains(text), "{text:?} missing:\n{}", de.stdout);
    }
    let en = hwtest(&["--help"], &[("LANG", "en_US.UTF-8")]);
    assert!(
        en.stdout.contains("Hardware test for the citizen kiosk"),
        "{}",
        en.stdout
    );
    assert!(
        en.stdout
            .contains("Exit code: 0 = every required check passed")
    );
    // --lang wins over the locale, also for the subcommand's help.
    let printer = hwtest(
        &["printer", "--help", "--lang", "en"],
        &[("LANG", "de_DE.UTF-8")],
    );
    assert!(
        printer
            .stdout
            .contains("Printer: tcp://HOST:9100, /dev/usb/lp0"),
        "{}",
        printer.stdout
    );
    let bare = hwtest(&[], &[]);
    assert_eq!(
        bare.code, 2,
        "no subcommand shows the help as a usage error"
    );
    assert!(
        bare.stderr.contains("Hardwaretest für den Bürgerkiosk"),
        "{bare:#?}"
    );
}

#[test]
fn interactive_tests_need_a_terminal_or_yes() {
    for command in ["all", "touch", "printer"] {
        let run = hwtest(&[command], &[]);
        assert_eq!(run.code, kiosk_hwtest::EXIT_USAGE, "{command}: {run:#?}");
        assert!(
            run.stderr
                .contains("braucht ein Terminal; für einen Lauf ohne Rückfragen --yes angeben"),
            "{run:#?}"
        );
    }
    let en = hwtest(&["display", "--lang", "en"], &[]);
    assert!(en.stderr.contains("needs a terminal; add --yes"), "{en:#?}");
}

#[test]
fn screen_tests_are_skipped_unattended_and_do_not_fail_the_run() {
    let touch = hwtest(&["touch", "--yes", "--lang", "en"], &[]);
    assert_eq!(touch.code, 0, "{touch:#?}");
    assert!(touch.line_of("Touch grid").contains("[SKIPPED]"));
    touch.expect_stdout("Needs a technician in front of the kiosk");
    let display = hwtest(&["display", "-y"], &[]);
    assert_eq!(display.code, 0);
    assert!(display.line_of("Testbilder").contains("[ÜBERSPRUNGEN]"));
    display.expect_stdout("Braucht einen Techniker vor dem Kiosk");
}

#[test]
fn bad_options_are_usage_errors_that_say_what_to_write() {
    let printer = hwtest(&["printer", "--yes", "--printer", "lp0"], &[]);
    assert_eq!(printer.code, 2);
    assert!(
        printer
            .stderr
            .contains("„lp0“ ist kein Druckeranschluss; möglich sind tcp://HOST:PORT"),
        "{printer:#?}"
    );
    let model = hwtest(&["printer", "--yes", "--printer-model", "tm-t20"], &[]);
    assert_eq!(model.code, 2);
    assert!(model.stderr.contains("generic-80mm"), "{model:#?}");
    let config = hwtest(
        &[
            "list",
            "--config",
            "/nonexistent/kiosk.toml",
            "--lang",
            "en",
        ],
        &[],
    );
    assert_eq!(config.code, 2);
    assert!(
        config
            .stderr
            .contains("cannot read the configuration file /nonexistent/kiosk.toml"),
        "{config:#?}"
    );
}

#[test]
fn an_unwritable_report_file_is_an_error_after_the_report_is_shown() {
    let printer = Printer::start(VirtualState::Ready);
    let run = hwtest(
        &[
            "printer",
            "--yes",
            "--no-test-page",
            "--lang",
            "en",
            "--printer",
            &printer.connection(),
            "--json",
            "/nonexistent/dir/report.json",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{run:#?}");
    run.expect_stdout("Result: PASSED");
    assert!(
        run.stderr
            .contains("cannot write the JSON report to /nonexistent/dir/report.json"),
        "{run:#?}"
    );
}

#[test]
fn screen_tests_without_a_display_fail_with_no_display() {
    let touch = common::hwtest_on_terminal(&["touch", "--lang", "en"], "", &[]);
    assert_eq!(touch.code, 1, "{touch:#?}");
    assert!(touch.line_of("Touch grid").contains("[FAIL]"));
    assert!(touch.stdout.contains("No screen available ("), "{touch:#?}");
    assert!(
        touch
            .stdout
            .contains("Is a graphical session (Wayland/X11) running for this program?"),
        "{touch:#?}"
    );
    let display = common::hwtest_on_terminal(&["display"], "", &[]);
    assert_eq!(display.code, 1, "{display:#?}");
    assert!(display.line_of("Testbilder").contains("[FEHLER]"));
    assert!(
        display.stdout.contains("Kein Bildschirm verfügbar ("),
        "{display:#?}"
    );
}
