//! The command line, with help texts in the technician's language.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

use crate::lang::Lang;
use crate::settings::{CommandLine, PRINTER_MODELS};

/// What to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcommand {
    /// Show what is connected.
    List,
    /// Card reader checks.
    Reader,
    /// Printer checks.
    Printer,
    /// Touch grid.
    Touch,
    /// Display patterns.
    Display,
    /// Network checks.
    Network,
    /// Everything, guided.
    All,
}

impl Subcommand {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Subcommand::List => "list",
            Subcommand::Reader => "reader",
            Subcommand::Printer => "printer",
            Subcommand::Touch => "touch",
            Subcommand::Display => "display",
            Subcommand::Network => "network",
            Subcommand::All => "all",
        }
    }

    /// Whether it asks the technician questions (and so needs a terminal without `--yes`).
    pub fn asks(self) -> bool {
        !matches!(self, Subcommand::List | Subcommand::Network)
    }
}

/// `--lang` from the arguments (before clap runs, so the help is in that language), else
/// the locale.
pub fn language(args: &[OsString]) -> Lang {
    let mut iter = args.iter().map(|arg| arg.to_string_lossy());
    while let Some(arg) = iter.next() {
        if let Some(value) = arg.strip_prefix("--lang=") {
            if let Some(lang) = Lang::parse(value) {
                return lang;
            }
        } else if arg == "--lang"
            && let Some(lang) = iter.next().as_deref().and_then(Lang::parse)
        {
            return lang;
        }
    }
    Lang::from_env()
}

/// The command definition in `lang`.
pub fn command(lang: Lang) -> Command {
    let t = |de: &'static str, en: &'static str| -> &'static str { lang.pick(de, en) };
    let global = |arg: Arg| arg.global(true);
    Command::new("kiosk-hwtest")
        .version(env!("CARGO_PKG_VERSION"))
        .about(t(
            "Hardwaretest für den Bürgerkiosk: prüft Kartenleser, Belegdrucker, Touchscreen, \
             Bildschirm und Netzwerk und schreibt einen Bericht.",
            "Hardware test for the citizen kiosk: checks the card reader, receipt printer, \
             touch screen, display and network, and writes a report.",
        ))
        .after_help(t(
            "Beispiele:\n  kiosk-hwtest list\n  kiosk-hwtest all --config /etc/kiosk/kiosk.toml \
             --json bericht.json\n  kiosk-hwtest printer --printer tcp://192.168.1.50:9100\n  \
             kiosk-hwtest all --yes --json bericht.json   (ohne Rückfragen)\n\n\
             Rückgabewert: 0 = alle Pflichtprüfungen bestanden, 1 = mindestens eine nicht \
             bestanden, 2 = falscher Aufruf oder Datei nicht lesbar.\n\
             Die CAN eines Testausweises kann auch in KIOSK_HWTEST_CAN stehen.",
            "Examples:\n  kiosk-hwtest list\n  kiosk-hwtest all --config /etc/kiosk/kiosk.toml \
             --json report.json\n  kiosk-hwtest printer --printer tcp://192.168.1.50:9100\n  \
             kiosk-hwtest all --yes --json report.json   (no questions)\n\n\
             Exit code: 0 = every required check passed, 1 = at least one did not, 2 = wrong \
             call or unreadable file.\n\
             The CAN of a test ID card can also be given in KIOSK_HWTEST_CAN.",
        ))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(global(
            Arg::new("lang")
                .long("lang")
                .value_name("de|en")
                .value_parser(["de", "en"])
                .help(t(
                    "Sprache der Ausgabe (Standard: aus LANG, sonst Deutsch)",
                    "Output language (default: from LANG, otherwise German)",
                )),
        ))
        .arg(global(
            Arg::new("yes")
                .long("yes")
                .short('y')
                .visible_alias("non-interactive")
                .action(ArgAction::SetTrue)
                .help(t(
                    "Keine Rückfragen: Prüfungen, die einen Menschen brauchen, werden \
                     übersprungen (für Skripte)",
                    "Ask no questions: checks that need a person are skipped (for scripts)",
                )),
        ))
        .arg(global(
            Arg::new("json")
                .long("json")
                .value_name(t("DATEI", "FILE"))
                .value_parser(value_parser!(PathBuf))
                .help(t(
                    "Bericht zusätzlich als JSON in DATEI schreiben (Format: \
                     docs/report-schema.md)",
                    "Also write the report as JSON to FILE (format: docs/report-schema.md)",
                )),
        ))
        .arg(global(
            Arg::new("print-report")
                .long("print-report")
                .action(ArgAction::SetTrue)
                .help(t(
                    "Zusammenfassung am Ende auf dem Belegdrucker ausdrucken",
                    "Print the summary on the receipt printer at the end",
                )),
        ))
        .arg(global(
            Arg::new("config")
                .long("config")
                .value_name(t("DATEI", "FILE"))
                .value_parser(value_parser!(PathBuf))
                .help(t(
                    "Kiosk-Konfiguration (TOML) lesen: [reader], [printer], [portal]",
                    "Read the kiosk configuration (TOML): [reader], [printer], [portal]",
                )),
        ))
        .arg(global(
            Arg::new("reader").long("reader").value_name("NAME").help(t(
                "Nur Leser mit NAME im Namen prüfen (Standard: alle)",
                "Only test readers with NAME in their name (default: all)",
            )),
        ))
        .arg(global(
            Arg::new("card-wait")
                .long("card-wait")
                .value_name(t("SEKUNDEN", "SECONDS"))
                .value_parser(value_parser!(u64))
                .help(t(
                    "So lange auf eine Karte warten (Standard: 30, ohne Rückfragen 2)",
                    "Wait this long for a card (default: 30, without questions 2)",
                )),
        ))
        .arg(global(
            Arg::new("apdu-timeout-ms")
                .long("apdu-timeout-ms")
                .value_name("MS")
                .value_parser(value_parser!(u64))
                .help(t(
                    "Höchstdauer je Kartenbefehl, danach gilt die Karte als stumm (Standard: \
                     3000)",
                    "Longest time per card command before the card counts as mute (default: \
                     3000)",
                )),
        ))
        .arg(global(
            Arg::new("phone-issuer")
                .long("phone-issuer")
                .value_name("HEX")
                .action(ArgAction::Append)
                .help(t(
                    "Öffentlicher Ed25519-Schlüssel (64 Hex-Ziffern) eines Ausstellers, dessen \
                     Telefon-Nachweise geprüft werden (mehrfach möglich)",
                    "Public Ed25519 key (64 hex digits) of an issuer whose phone credentials \
                     are verified (repeatable)",
                )),
        ))
        .arg(global(
            Arg::new("printer")
                .long("printer")
                .value_name(t("ANSCHLUSS", "CONNECTION"))
                .help(t(
                    "Drucker: tcp://HOST:9100, /dev/usb/lp0 oder serial:/dev/ttyS0:19200",
                    "Printer: tcp://HOST:9100, /dev/usb/lp0 or serial:/dev/ttyS0:19200",
                )),
        ))
        .arg(global(
            Arg::new("printer-model")
                .long("printer-model")
                .value_name(t("MODELL", "MODEL"))
                .value_parser(PRINTER_MODELS)
                .help(t(
                    "Druckermodell für das Layout (Standard: generic-80mm)",
                    "Printer model for the layout (default: generic-80mm)",
                )),
        ))
        .arg(global(
            Arg::new("no-test-page")
                .long("no-test-page")
                .action(ArgAction::SetTrue)
                .help(t(
                    "Keine Testseite drucken (nur Verbindung und Status prüfen)",
                    "Do not print a test page (only check connection and status)",
                )),
        ))
        .arg(global(
            Arg::new("portal").long("portal").value_name("URL").help(t(
                "Adresse des Portals für den Netzwerktest (https://…)",
                "Portal address for the network check (https://…)",
            )),
        ))
        .arg(global(
            Arg::new("ca-file")
                .long("ca-file")
                .value_name("PEM")
                .value_parser(value_parser!(PathBuf))
                .help(t(
                    "Zusätzliche vertrauenswürdige Stammzertifikate (PEM), z. B. \
                     Verwaltungs-PKI",
                    "Extra trusted root certificates (PEM), e.g. the administration PKI",
                )),
        ))
        .arg(global(
            Arg::new("max-clock-skew")
                .long("max-clock-skew")
                .value_name(t("SEKUNDEN", "SECONDS"))
                .value_parser(value_parser!(u64))
                .help(t(
                    "Erlaubte Abweichung der Uhr vom Portal (Standard: 60)",
                    "Allowed clock difference to the portal (default: 60)",
                )),
        ))
        .arg(global(
            Arg::new("grid")
                .long("grid")
                .value_name(t("SPALTENxZEILEN", "COLUMNSxROWS"))
                .help(t(
                    "Raster des Touch-Tests (Standard: 8x5)",
                    "Grid of the touch test (default: 8x5)",
                )),
        ))
        .arg(global(
            Arg::new("touch-timeout")
                .long("touch-timeout")
                .value_name(t("SEKUNDEN", "SECONDS"))
                .value_parser(value_parser!(u64))
                .help(t(
                    "Zeit für den Touch-Test (Standard: 90)",
                    "Time for the touch test (default: 90)",
                )),
        ))
        .arg(global(
            Arg::new("display-timeout")
                .long("display-timeout")
                .value_name(t("SEKUNDEN", "SECONDS"))
                .value_parser(value_parser!(u64))
                .help(t(
                    "Zeit für den Bildschirmtest (Standard: 120)",
                    "Time for the display test (default: 120)",
                )),
        ))
        .subcommand(Command::new("list").about(t(
            "Zeigt angeschlossene Leser (mit Treiber und Karte), Drucker, Bildschirme und \
             Netzwerkschnittstellen",
            "Shows connected readers (with driver and card), printers, displays and network \
             interfaces",
        )))
        .subcommand(Command::new("reader").about(t(
            "Prüft Kartenleser und aufgelegte Karte: ATR, Kartentyp, UID (nur als Hash), \
             NDEF, Ausweis-Chip mit CAN (nur Dokumentart und Ablaufdatum), Telefon mit \
             Kiosk-App",
            "Checks the card reader and the card on it: ATR, card type, UID (hashed only), \
             NDEF, passport chip with CAN (document type and expiry only), phone with the \
             kiosk app",
        )))
        .subcommand(Command::new("printer").about(t(
            "Prüft den Belegdrucker: Status in Worten (Papier, Deckel, Schneidwerk) und \
             Testseite",
            "Checks the receipt printer: status in words (paper, cover, cutter) and a test \
             page",
        )))
        .subcommand(Command::new("touch").about(t(
            "Touch-Test: Raster im Vollbild antippen, nicht reagierende Bereiche werden \
             gemeldet",
            "Touch test: tap a full-screen grid; areas that do not react are reported",
        )))
        .subcommand(Command::new("display").about(t(
            "Bildschirmtest: Farbbalken, Verläufe, Schwarz und Weiß für Pixelfehler",
            "Display test: colour bars, gradients, black and white for dead pixels",
        )))
        .subcommand(Command::new("network").about(t(
            "Netzwerktest: DNS, TLS-Verbindung zum Portal, Abweichung der Uhr",
            "Network test: DNS, TLS connection to the portal, clock difference",
        )))
        .subcommand(Command::new("all").about(t(
            "Alle Prüfungen nacheinander, mit Anleitung und Rückfragen (ohne Rückfragen: \
             --yes)",
            "Every check in turn, guided with questions (no questions: --yes)",
        )))
}

/// The subcommand and the options.
pub fn parse(matches: &ArgMatches) -> (Subcommand, CommandLine) {
    let subcommand = match matches.subcommand_name() {
        Some("list") => Subcommand::List,
        Some("reader") => Subcommand::Reader,
        Some("printer") => Subcommand::Printer,
        Some("touch") => Subcommand::Touch,
        Some("display") => Subcommand::Display,
        Some("network") => Subcommand::Network,
        _ => Subcommand::All,
    };
    // Global options are visible from the subcommand's matches too; read them there.
    let matches = matches.subcommand().map(|(_, sub)| sub).unwrap_or(matches);
    let string = |name: &str| matches.get_one::<String>(name).cloned();
    let number = |name: &str| matches.get_one::<u64>(name).copied();
    let path = |name: &str| matches.get_one::<PathBuf>(name).cloned();
    let flag = |name: &str| matches.get_flag(name);
    let command_line = CommandLine {
        non_interactive: flag("yes"),
        json: path("json"),
        print_report: flag("print-report"),
        config: path("config"),
        reader: string("reader"),
        card_wait: number("card-wait"),
        apdu_timeout_ms: number("apdu-timeout-ms"),
        phone_issuers: matches
            .get_many::<String>("phone-issuer")
            .map(|values| values.cloned().collect())
            .unwrap_or_default(),
        printer: string("printer"),
        printer_model: string("printer-model"),
        no_test_page: flag("no-test-page"),
        portal: string("portal"),
        ca_file: path("ca-file"),
        max_clock_skew: number("max-clock-skew"),
        grid: string("grid"),
        touch_timeout: number("touch-timeout"),
        display_timeout: number("display-timeout"),
    };
    (subcommand, command_line)
}
