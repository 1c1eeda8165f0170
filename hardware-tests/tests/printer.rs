//! `kiosk-hwtest printer` against the virtual ESC/POS printer on 127.0.0.1: every status
//! the issue names (ready, paper out, cover open, mute) plus near end and no connection,
//! with the verdicts and the wording in German and English, and the test page's content.

mod common;

use common::{Printer, closed_port, hwtest};
use kiosk_hwtest::testpage::QR_PAYLOAD;
use kiosk_printer::virtual_printer::{PrintedElement, VirtualState};

#[test]
fn ready_printer_passes_and_prints_a_complete_test_page() {
    let printer = Printer::start(VirtualState::Ready);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("printer.json");
    let run = hwtest(
        &[
            "printer",
            "--yes",
            "--printer",
            &printer.connection(),
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    // German is the default without a locale.
    assert!(run.line_of("Druckerstatus").contains("[OK]"));
    run.expect_stdout("Drucker ist bereit.");
    run.expect_stdout("Papier: ausreichend");
    run.expect_stdout("Deckel: geschlossen");
    run.expect_stdout("Schneidwerk: in Ordnung");
    run.expect_stdout("Testseite gedruckt.");
    run.expect_stdout("Ergebnis: BESTANDEN");

    let report = common::json(&json);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["command"], "printer");
    assert_eq!(report["summary"]["result"], "pass");
    let status = common::check(&report, "printer.status", None);
    assert_eq!(status["verdict"], "pass");
    assert_eq!(status["reason_code"], "printer_ready");

    let receipts = printer.receipts(1);
    assert_eq!(receipts.len(), 1, "one test page");
    let page = &receipts[0];
    assert!(page.cut, "the test page ends with a cut");
    assert!(page.is_complete());
    assert_eq!(page.undecodable_characters, 0, "{page:?}");
    assert!(page.unknown_commands.is_empty(), "{page:?}");
    let text = page.text_lines().join("\n");
    for expected in [
        "TESTSEITE",
        "ÄÖÜäöüß",
        "€",
        // The encoder keeps PC437 for Ç and switches once for the rest, as on receipts.
        "tr PC437: Ç",
        "tr PC857: ĞİÖŞÜçğıöşü",
        "АБВГ",
        "абвг",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        // The character ruler reaches column 48 of an 80 mm printer.
        "123456789012345678901234567890123456789012345678",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    // Logo, width ruler and the raster fallback (Arabic has no code page).
    let rasters = page.rasters();
    assert!(rasters.len() >= 3, "{} rasters", rasters.len());
    assert!(
        rasters
            .iter()
            .any(|bitmap| bitmap.width() == 576 && bitmap.get(0, 20) && bitmap.get(575, 20)),
        "a full-width ruler with both edge bars"
    );
    assert!(page.elements.iter().any(|element| matches!(
        element,
        PrintedElement::Qr { payload, .. } if payload == QR_PAYLOAD
    )));
}

#[test]
fn paper_out_fails_with_the_words_for_it() {
    let printer = Printer::start(VirtualState::PaperOut);
    let de = hwtest(
        &["printer", "--yes", "--printer", &printer.connection()],
        &[],
    );
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(de.line_of("Druckerstatus").contains("[FEHLER]"));
    de.expect_stdout("Kein Papier: Legen Sie eine neue Rolle ein.");
    de.expect_stdout("Papier: leer");
    de.expect_stdout("Online: offline");
    assert!(de.line_of("Testseite").contains("[ÜBERSPRUNGEN]"));
    de.expect_stdout("Ergebnis: NICHT BESTANDEN");

    let en = hwtest(
        &[
            "printer",
            "--yes",
            "--lang",
            "en",
            "--printer",
            &printer.connection(),
        ],
        &[],
    );
    assert_eq!(en.code, 1);
    assert!(en.line_of("Printer status").contains("[FAIL]"));
    en.expect_stdout("Out of paper: load a new roll.");
    en.expect_stdout("Paper: out");
    en.expect_stdout("Result: FAILED");
    assert!(
        printer.receipts(0).is_empty(),
        "nothing printed without paper"
    );
}

#[test]
fn cover_open_fails_with_the_words_for_it() {
    let printer = Printer::start(VirtualState::CoverOpen);
    let de = hwtest(
        &["printer", "--yes", "--printer", &printer.connection()],
        &[],
    );
    assert_eq!(de.code, 1);
    de.expect_stdout("Der Deckel ist offen: Schließen Sie den Deckel.");
    de.expect_stdout("Deckel: offen");
    let en = hwtest(
        &[
            "printer",
            "--yes",
            "--lang",
            "en",
            "--printer",
            &printer.connection(),
        ],
        &[],
    );
    assert_eq!(en.code, 1);
    en.expect_stdout("The cover is open: close the cover.");
    en.expect_stdout("Cover: open");
}

#[test]
fn mute_printer_fails_as_not_answering() {
    let printer = Printer::start(VirtualState::Mute);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("mute.json");
    let de = hwtest(
        &[
            "printer",
            "--yes",
            "--printer",
            &printer.connection(),
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(de.code, 1);
    // Connected (the socket opens) but silent: never "probably fine".
    assert!(de.line_of("Verbindung").contains("[OK]"));
    assert!(de.line_of("Druckerstatus").contains("[FEHLER]"));
    de.expect_stdout(
        "Der Drucker antwortet nicht auf die Statusabfrage (DLE EOT) innerhalb von 1,5 s",
    );
    let report = common::json(&json);
    assert_eq!(
        common::check(&report, "printer.status", None)["reason_code"],
        "printer_mute"
    );
    assert_eq!(report["summary"]["exit_code"], 1);

    let en = hwtest(
        &[
            "printer",
            "--yes",
            "--lang",
            "en",
            "--printer",
            &printer.connection(),
        ],
        &[],
    );
    en.expect_stdout("The printer does not answer the status request (DLE EOT) within 1.5 s");
}

#[test]
fn paper_near_end_passes_with_a_refill_warning() {
    let printer = Printer::start(VirtualState::PaperNearEnd);
    let run = hwtest(
        &[
            "printer",
            "--yes",
            "--no-test-page",
            "--printer",
            &printer.connection(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    run.expect_stdout("das Papier geht zu Ende: bald eine neue Rolle einlegen");
    run.expect_stdout("Papier: geht zu Ende");
    assert!(run.line_of("Testseite").contains("[ÜBERSPRUNGEN]"));
    run.expect_stdout("Keine Testseite gewünscht.");
}

#[test]
fn no_connection_and_no_printer_fail_with_what_to_do() {
    let port = closed_port();
    let refused = hwtest(
        &[
            "printer",
            "--yes",
            "--printer",
            &format!("tcp://127.0.0.1:{port}"),
        ],
        &[],
    );
    assert_eq!(refused.code, 1);
    assert!(refused.line_of("Verbindung").contains("[FEHLER]"));
    refused.expect_stdout(&format!(
        "Keine Verbindung zum Drucker tcp://127.0.0.1:{port}: Verbindung abgelehnt"
    ));
    let missing_device = hwtest(
        &[
            "printer",
            "--yes",
            "--lang",
            "en",
            "--printer",
            "/dev/usb/lp-does-not-exist",
        ],
        &[],
    );
    assert_eq!(missing_device.code, 1);
    missing_device
        .expect_stdout("Cannot connect to the printer /dev/usb/lp-does-not-exist: no such device");
    let none = hwtest(&["printer", "--yes", "--lang", "en"], &[]);
    assert_eq!(none.code, 1);
    none.expect_stdout("No printer given. Pass --printer tcp://HOST:9100");
}

#[test]
fn printer_comes_from_the_config_file_and_the_report_can_be_printed() {
    let printer = Printer::start(VirtualState::Ready);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nid = \"K27\"\n\n[printer]\nenabled = true\nconnection = \"{}\"\n\
             model = \"generic-58mm\"\nstatus_timeout_ms = 800\n",
            printer.connection()
        ),
    )
    .unwrap();
    let run = hwtest(
        &[
            "printer",
            "--yes",
            "--lang",
            "en",
            "--config",
            config.to_str().unwrap(),
            "--print-report",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    run.expect_stdout("Printer profile: Generic 58 mm 203 dpi");
    assert!(run.stderr.contains("Summary printed."), "{run:#?}");
    let receipts = printer.receipts(2);
    assert_eq!(receipts.len(), 2, "test page and report");
    let summary = receipts[1].text_lines().join("\n");
    assert!(summary.contains("PASS"), "{summary}");
    assert!(summary.contains("Result: PASSED"), "{summary}");
    // 58 mm: 32 columns, no cutter, QR as an image.
    let page = receipts[0].text_lines().join("\n");
    assert!(page.contains("12345678901234567890123456789012"), "{page}");
    assert!(
        !page.contains("123456789012345678901234567890123"),
        "{page}"
    );
}

#[test]
fn a_disabled_printer_is_skipped_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        "[printer]\nenabled = false\nconnection = \"/dev/usb/lp0\"\n",
    )
    .unwrap();
    let run = hwtest(
        &["printer", "--yes", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.line_of("Verbindung").contains("[ÜBERSPRUNGEN]"));
    run.expect_stdout("Der Kiosk hat laut Konfiguration keinen Drucker");
}

#[test]
fn interactively_the_technician_judges_the_test_page() {
    let printer = Printer::start(VirtualState::Ready);
    // Enter takes the default "yes, print a test page"; then "n": the page is faulty.
    let rejected = common::hwtest_on_terminal(
        &[
            "printer",
            "--lang",
            "en",
            "--printer",
            &printer.connection(),
        ],
        "\nn\n",
        &[],
    );
    assert_eq!(rejected.code, 1, "{rejected:#?}");
    assert!(
        rejected.stdout.contains("Print a test page? [Y/n]"),
        "{rejected:#?}"
    );
    assert!(
        rejected
            .stdout
            .contains("Is the test page complete and clean"),
        "{rejected:#?}"
    );
    assert!(rejected.line_of("Test page").contains("[FAIL]"));
    assert!(
        rejected
            .stdout
            .contains("The technician reported the test page as faulty")
    );

    let confirmed = common::hwtest_on_terminal(
        &["printer", "--printer", &printer.connection()],
        "j\nja\n",
        &[],
    );
    assert_eq!(confirmed.code, 0, "{confirmed:#?}");
    assert!(
        confirmed.stdout.contains("Testseite drucken? [J/n]"),
        "{confirmed:#?}"
    );
    assert!(
        confirmed
            .stdout
            .contains("Testseite gedruckt und vom Techniker als einwandfrei bestätigt.")
    );
    assert_eq!(printer.receipts(2).len(), 2);
}
