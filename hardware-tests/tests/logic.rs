//! Plain-Rust logic without devices: dead zones of the touch grid, language choice and
//! number formats, settings and configuration file parsing with their error wording.

use std::time::Duration;

use kiosk_hwtest::settings::{CommandLine, PrinterConnection, parse_connection, parse_portal_url};
use kiosk_hwtest::touch::{Area, TouchGrid, parse_grid};
use kiosk_hwtest::{Lang, Settings};

fn tap_cell(grid: &mut TouchGrid, column: usize, row: usize) {
    let (width, height) = (1000.0, 500.0);
    let x = (column as f32 + 0.5) * width / grid.columns() as f32;
    let y = (row as f32 + 0.5) * height / grid.rows() as f32;
    grid.tap(x, y, width, height).expect("inside the screen");
}

#[test]
fn untouched_grid_is_one_dead_zone_over_the_whole_screen() {
    let grid = TouchGrid::new(8, 5).unwrap();
    let zones = grid.dead_zones();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0].cells, 40);
    assert_eq!(zones[0].area, Area::Whole);
    assert_eq!(
        zones[0].text(Lang::De),
        "40 Felder ganzer Bildschirm (Spalten 1–8, Zeilen 1–5; x 0–100 %, y 0–100 %)"
    );
    assert!(!grid.complete());
}

#[test]
fn separate_dead_areas_are_separate_zones_in_reading_order() {
    let mut grid = TouchGrid::new(6, 4).unwrap();
    for row in 0..4 {
        for column in 0..6 {
            let dead = (row == 0 && column == 0)
                // An L in the bottom right.
                || (row == 3 && column >= 4)
                || (row == 2 && column == 5)
                // Diagonal neighbour of the L: not connected (edges only).
                || (row == 1 && column == 3);
            if !dead {
                tap_cell(&mut grid, column, row);
            }
        }
    }
    let zones = grid.dead_zones();
    assert_eq!(zones.len(), 3, "{zones:?}");
    assert_eq!((zones[0].cells, zones[0].area), (1, Area::TopLeft));
    assert_eq!((zones[1].cells, zones[1].area), (1, Area::Centre));
    assert_eq!((zones[2].cells, zones[2].area), (3, Area::BottomRight));
    assert_eq!(
        zones[2].text(Lang::En),
        "3 cells bottom right (columns 5–6, rows 3–4; x 66–100 %, y 50–100 %)"
    );
    assert_eq!(grid.untouched(), 5);
    assert_eq!(grid.taps(), 19);
}

#[test]
fn taps_map_to_cells_at_the_edges_and_outside_is_ignored() {
    let mut grid = TouchGrid::new(4, 2).unwrap();
    assert_eq!(grid.cell_at(0.0, 0.0, 400.0, 200.0), Some(0));
    assert_eq!(grid.cell_at(99.9, 99.9, 400.0, 200.0), Some(0));
    assert_eq!(grid.cell_at(100.0, 100.0, 400.0, 200.0), Some(5));
    // The right and bottom edge belong to the last cell.
    assert_eq!(grid.cell_at(400.0, 200.0, 400.0, 200.0), Some(7));
    for (x, y) in [
        (-1.0, 10.0),
        (10.0, 200.5),
        (f32::NAN, 1.0),
        (1.0, f32::INFINITY),
    ] {
        assert_eq!(grid.tap(x, y, 400.0, 200.0), None, "({x}, {y})");
    }
    assert_eq!(
        grid.cell_at(1.0, 1.0, 0.0, 200.0),
        None,
        "no screen size yet"
    );
    assert_eq!(grid.taps(), 0);
    // Several taps on one cell count once towards completeness.
    grid.tap(10.0, 10.0, 400.0, 200.0);
    grid.tap(20.0, 20.0, 400.0, 200.0);
    assert_eq!((grid.taps(), grid.untouched()), (2, 7));
}

#[test]
fn grid_sizes_are_checked() {
    assert_eq!(parse_grid("8x5"), Ok((8, 5)));
    assert_eq!(parse_grid(" 3 X 2 "), Ok((3, 2)));
    assert_eq!(parse_grid("12×6"), Ok((12, 6)));
    for bad in ["0x5", "33x2", "8", "ax5", "8x"] {
        let error = parse_grid(bad).unwrap_err().to_string();
        assert!(error.contains("COLUMNSxROWS, e.g. 8x5"), "{bad}: {error}");
    }
    assert!(TouchGrid::new(32, 32).is_ok());
}

#[test]
fn language_comes_from_the_locale_with_german_first() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    };
    assert_eq!(Lang::from_env_values(env(&[])), Lang::De);
    assert_eq!(Lang::from_env_values(env(&[("LANG", "C.UTF-8")])), Lang::De);
    assert_eq!(
        Lang::from_env_values(env(&[("LANG", "en_GB.UTF-8")])),
        Lang::En
    );
    assert_eq!(
        Lang::from_env_values(env(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "de_DE.UTF-8")])),
        Lang::De
    );
    assert_eq!(
        Lang::from_env_values(env(&[("LANG", "de_DE"), ("LC_MESSAGES", "en")])),
        Lang::En
    );
    assert_eq!(
        Lang::from_env_values(env(&[("LC_ALL", ""), ("LANG", "en")])),
        Lang::En
    );
    assert_eq!(Lang::parse("tr"), None);
}

#[test]
fn durations_read_naturally_in_both_languages() {
    let cases = [
        (Duration::from_millis(1500), "1,5 s", "1.5 s"),
        (Duration::from_secs(2), "2 s", "2 s"),
        (Duration::from_millis(700), "0,7 s", "0.7 s"),
        (Duration::from_secs(90), "1 min 30 s", "1 min 30 s"),
        (Duration::from_secs(120), "2 min", "2 min"),
        (Duration::from_secs(3725), "1 h 2 min", "1 h 2 min"),
    ];
    for (duration, de, en) in cases {
        assert_eq!(Lang::De.duration(duration), de);
        assert_eq!(Lang::En.duration(duration), en);
    }
    assert_eq!(
        Lang::De.list(&["a".into(), "b".into(), "c".into()]),
        "a, b und c"
    );
}

#[test]
fn printer_connections_parse_or_explain_the_right_form() {
    assert_eq!(
        parse_connection("tcp://192.168.1.50:9100", Lang::En),
        Ok(PrinterConnection::Tcp("192.168.1.50:9100".into()))
    );
    assert_eq!(
        parse_connection("/dev/usb/lp0", Lang::En),
        Ok(PrinterConnection::Device("/dev/usb/lp0".into()))
    );
    assert_eq!(
        parse_connection("serial:/dev/ttyS0:19200", Lang::En),
        Ok(PrinterConnection::Serial {
            path: "/dev/ttyS0".into(),
            baud: 19200
        })
    );
    assert_eq!(
        parse_connection("serial:/dev/ttyS0:19200", Lang::En)
            .unwrap()
            .to_string(),
        "serial:/dev/ttyS0:19200"
    );
    let error = parse_connection("tcp://printer", Lang::De).unwrap_err();
    assert!(error.contains("richtig ist tcp://HOST:PORT"), "{error}");
    let error = parse_connection("serial:/dev/ttyS0:1234", Lang::En).unwrap_err();
    assert!(error.contains("standard baud rate (4800, 9600"), "{error}");
    let error = parse_connection("lp0", Lang::En).unwrap_err();
    assert!(
        error.contains("write tcp://HOST:PORT, a device path"),
        "{error}"
    );
}

#[test]
fn portal_urls_follow_the_kiosks_rules() {
    assert!(parse_portal_url("https://portal.gelsenkirchen.de/sync", Lang::En).is_ok());
    assert!(parse_portal_url("http://127.0.0.1:8443", Lang::En).is_ok());
    assert!(parse_portal_url("http://localhost:8443", Lang::En).is_ok());
    assert!(parse_portal_url("http://[::1]:8443", Lang::En).is_ok());
    let error = parse_portal_url("http://10.0.0.5", Lang::De)
        .unwrap_err()
        .to_string();
    assert!(error.contains("nur für 127.0.0.1 erlaubt"), "{error}");
    let error = parse_portal_url("ftp://x", Lang::En)
        .unwrap_err()
        .to_string();
    assert!(error.contains("must start with https://"), "{error}");
    let error = parse_portal_url("not a url", Lang::En)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a valid URL"), "{error}");
}

#[test]
fn the_config_file_gives_defaults_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        "[kiosk]\nid = \"K27\"\n[reader]\nname = \"cyberJack\"\ncsca_dir = \"csca\"\n\
         [printer]\nconnection = \"serial:/dev/ttyUSB0:38400\"\nmodel = \"epson-tm-t88\"\n\
         status_timeout_ms = 900\n[portal]\nurl = \"https://portal.example.org\"\n\
         pinned_spki_sha256 = [\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]\n\
         [metrics]\nlisten = \"127.0.0.1:9464\"\n",
    )
    .unwrap();
    let from_file = Settings::resolve_with_can(
        CommandLine {
            config: Some(config.clone()),
            ..CommandLine::default()
        },
        Lang::En,
        None,
    )
    .unwrap();
    assert_eq!(from_file.reader.name.as_deref(), Some("cyberJack"));
    assert_eq!(from_file.reader.csca_dir, Some(dir.path().join("csca")));
    assert_eq!(
        from_file.printer.connection,
        Some(PrinterConnection::Serial {
            path: "/dev/ttyUSB0".into(),
            baud: 38400
        })
    );
    assert_eq!(from_file.printer.profile.dots_per_line, 512);
    assert_eq!(from_file.printer.status_timeout, Duration::from_millis(900));
    assert_eq!(from_file.portal.pins.len(), 1);
    assert!(from_file.interactive);

    let overridden = Settings::resolve_with_can(
        CommandLine {
            config: Some(config),
            reader: Some("ACR122".into()),
            printer: Some("tcp://127.0.0.1:9100".into()),
            non_interactive: true,
            ..CommandLine::default()
        },
        Lang::En,
        Some("123456".into()),
    )
    .unwrap();
    assert_eq!(overridden.reader.name.as_deref(), Some("ACR122"));
    assert_eq!(
        overridden.printer.connection,
        Some(PrinterConnection::Tcp("127.0.0.1:9100".into()))
    );
    assert!(!overridden.interactive);
    assert!(overridden.reader.can.is_some());
    // The CAN never shows in Debug output.
    assert!(!format!("{:?}", overridden.reader).contains("123456"));
}

#[test]
fn config_file_errors_name_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let resolve = |text: &str, lang: Lang| {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        Settings::resolve_with_can(
            CommandLine {
                config: Some(path),
                ..CommandLine::default()
            },
            lang,
            None,
        )
        .unwrap_err()
        .to_string()
    };
    let error = resolve("[printer]\nconnection = 9100\n", Lang::En);
    assert!(
        error.contains("bad.toml: the key printer.connection must be a string"),
        "{error}"
    );
    let error = resolve("[printer]\nstatus_timeout_ms = 0\n", Lang::De);
    assert!(
        error.contains("printer.status_timeout_ms muss eine Zahl von 1 bis 60000 sein"),
        "{error}"
    );
    let error = resolve("[reader\n", Lang::En);
    assert!(error.contains("is not valid TOML"), "{error}");
    let error = resolve("[printer]\nmodel = \"tm-t20\"\n", Lang::En);
    assert!(
        error.contains("unknown printer model 'tm-t20'; known models: generic-80mm"),
        "{error}"
    );
    let error = resolve("reader = 5\n", Lang::En);
    assert!(error.contains("[reader] must be a table"), "{error}");
    let error = Settings::resolve_with_can(
        CommandLine {
            config: Some(dir.path().join("missing.toml")),
            ..CommandLine::default()
        },
        Lang::De,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("Die Konfigurationsdatei"), "{error}");
    assert!(
        error.contains("missing.toml lässt sich nicht lesen"),
        "{error}"
    );
}

#[test]
fn option_values_are_checked() {
    let bad = |command_line: CommandLine| {
        Settings::resolve_with_can(command_line, Lang::En, None)
            .unwrap_err()
            .to_string()
    };
    assert!(
        bad(CommandLine {
            phone_issuers: vec!["abcd".into()],
            ..CommandLine::default()
        })
        .contains("--phone-issuer 'abcd' is not an Ed25519 key; expected 64 hex digits")
    );
    assert!(
        bad(CommandLine {
            grid: Some("0x0".into()),
            ..CommandLine::default()
        })
        .contains("--grid '0x0'")
    );
    assert!(
        bad(CommandLine {
            apdu_timeout_ms: Some(10),
            ..CommandLine::default()
        })
        .contains("--apdu-timeout-ms must be between 100 and 60000")
    );
    assert!(
        bad(CommandLine {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..CommandLine::default()
        })
        .contains("cannot read the root certificates /nonexistent/ca.pem")
    );
}

#[test]
fn every_printer_status_bit_has_a_verdict_and_words() {
    use kiosk_hwtest::Reason;
    use kiosk_hwtest::printer::status_outcome;
    use kiosk_printer::{PaperLevel, PrinterStatus};
    let ready = PrinterStatus::default();
    // States the virtual printer cannot take on, checked on the mapping itself.
    let cases = [
        (
            PrinterStatus {
                cutter_error: true,
                ..ready
            },
            Reason::CutterError,
            "Cutter error: clear the paper jam",
        ),
        (
            PrinterStatus {
                unrecoverable_error: true,
                ..ready
            },
            Reason::HardwareFault,
            "needs a restart or service",
        ),
        (
            PrinterStatus {
                auto_recoverable_error: true,
                ..ready
            },
            Reason::PrinterOffline,
            "print head too hot",
        ),
        (
            PrinterStatus {
                offline: true,
                ..ready
            },
            Reason::PrinterOffline,
            "reports itself offline",
        ),
        (
            PrinterStatus {
                paper: PaperLevel::Out,
                cover_open: true,
                ..ready
            },
            Reason::PaperOut,
            "Out of paper",
        ),
    ];
    for (status, reason, words) in cases {
        let outcome = status_outcome(&status);
        assert_eq!(outcome.verdict, kiosk_hwtest::Verdict::Fail, "{status:?}");
        assert_eq!(outcome.reason, reason, "{status:?}");
        assert!(outcome.reason.text(Lang::En).contains(words), "{status:?}");
        assert_eq!(outcome.facts.len(), 6, "every status bit is reported");
    }
    let values: Vec<String> = status_outcome(&PrinterStatus {
        cutter_error: true,
        ..ready
    })
    .facts
    .iter()
    .map(|fact| format!("{}: {}", fact.label(Lang::De), fact.value(Lang::De)))
    .collect();
    assert_eq!(
        values,
        [
            "Online: online",
            "Deckel: geschlossen",
            "Papier: ausreichend",
            "Schneidwerk: Fehler",
            "Schwerer Fehler: in Ordnung",
            "Vorübergehender Fehler (z. B. Kopf zu heiß): in Ordnung",
        ]
    );
}
