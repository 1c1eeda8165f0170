//! What to test and how: command-line options, merged over the few keys read from the
//! kiosk's configuration file (`--config`).
//!
//! Keys read from the TOML file (everything else in it is ignored, so the kiosk's full
//! `kiosk.toml` can be passed as it is):
//!
//! | table | key | meaning |
//! | --- | --- | --- |
//! | `[reader]` | `enabled` | `false`: the kiosk has no reader, reader checks are skipped |
//! | `[reader]` | `name` | part of the PC/SC reader name to test (default: every reader) |
//! | `[reader]` | `csca_dir` | folder of CSCA certificates (DER) for the chip authenticity fact |
//! | `[printer]` | `enabled` | `false`: the kiosk has no printer, printer checks are skipped |
//! | `[printer]` | `connection` | `tcp://HOST:PORT`, a device path, or `serial:DEVICE:BAUD` |
//! | `[printer]` | `model` | `generic-80mm`, `epson-tm-t88` or `generic-58mm` |
//! | `[printer]` | `status_timeout_ms` | how long to wait for a status answer |
//! | `[portal]` | `url` | the portal's base URL |
//! | `[portal]` | `extra_roots` | PEM file of extra trusted root certificates |
//! | `[portal]` | `pinned_spki_sha256` | pinned key hashes (64 hex digits each) |
//!
//! A command-line option always wins over the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use kiosk_printer::PrinterProfile;
use secrecy::SecretString;

use crate::lang::Lang;

/// How the receipt printer is connected (the printer driver's endpoint syntax).
pub use kiosk_printer::transport::Endpoint as PrinterConnection;
use kiosk_printer::transport::EndpointError;

/// Parses the connection syntax of `--printer` and `[printer] connection`; the
/// error says what is wrong and shows the right form, in the technician's language.
pub fn parse_connection(value: &str, lang: Lang) -> Result<PrinterConnection, String> {
    PrinterConnection::parse(value).map_err(|error| match (lang, error) {
        (Lang::En, error) => error.to_string(),
        (Lang::De, EndpointError::Tcp(value)) => format!(
            "„{value}“ ist keine Druckeradresse; richtig ist tcp://HOST:PORT mit \
             einem Port von 1 bis 65535, z. B. tcp://192.168.1.50:9100"
        ),
        (Lang::De, EndpointError::Serial(value)) => format!(
            "„{value}“ ist kein serieller Anschluss; richtig ist serial:GERÄT:BAUD mit einer \
             üblichen Baudrate ({}), z. B. serial:/dev/ttyS0:19200",
            PrinterConnection::BAUD_RATES
                .map(|rate| rate.to_string())
                .join(", ")
        ),
        (Lang::De, EndpointError::Unknown(value)) => format!(
            "„{value}“ ist kein Druckeranschluss; möglich sind tcp://HOST:PORT, ein \
             Gerätepfad wie /dev/usb/lp0 oder serial:/dev/ttyS0:19200"
        ),
    })
}

/// The printer profiles by their configuration names.
pub const PRINTER_MODELS: [&str; 3] = ["generic-80mm", "epson-tm-t88", "generic-58mm"];

/// The profile for a model name.
pub fn printer_profile(model: &str, lang: Lang) -> Result<PrinterProfile, String> {
    match model.trim() {
        "generic-80mm" => Ok(PrinterProfile::generic_80mm()),
        "epson-tm-t88" => Ok(PrinterProfile::epson_tm_t88()),
        "generic-58mm" => Ok(PrinterProfile::generic_58mm()),
        other => Err(match lang {
            Lang::De => format!(
                "unbekanntes Druckermodell „{other}“; bekannt sind: {}",
                PRINTER_MODELS.join(", ")
            ),
            Lang::En => format!(
                "unknown printer model '{other}'; known models: {}",
                PRINTER_MODELS.join(", ")
            ),
        }),
    }
}

/// What the command line said, before the configuration file is merged in.
#[derive(Debug, Default)]
pub struct CommandLine {
    /// `--yes` / `--non-interactive`.
    pub non_interactive: bool,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
    /// `--print-report`.
    pub print_report: bool,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--reader NAME`.
    pub reader: Option<String>,
    /// `--card-wait SECONDS`.
    pub card_wait: Option<u64>,
    /// `--apdu-timeout-ms MS`.
    pub apdu_timeout_ms: Option<u64>,
    /// `--phone-issuer HEX` (repeatable).
    pub phone_issuers: Vec<String>,
    /// `--printer CONNECTION`.
    pub printer: Option<String>,
    /// `--printer-model MODEL`.
    pub printer_model: Option<String>,
    /// `--no-test-page`.
    pub no_test_page: bool,
    /// `--portal URL`.
    pub portal: Option<String>,
    /// `--ca-file PEM`.
    pub ca_file: Option<PathBuf>,
    /// `--max-clock-skew SECONDS`.
    pub max_clock_skew: Option<u64>,
    /// `--grid COLSxROWS`.
    pub grid: Option<String>,
    /// `--touch-timeout SECONDS`.
    pub touch_timeout: Option<u64>,
    /// `--display-timeout SECONDS`.
    pub display_timeout: Option<u64>,
}

/// Card reader settings.
pub struct ReaderSettings {
    /// `false` when the configuration says the kiosk has no reader.
    pub enabled: bool,
    /// Part of the reader name; `None` tests every reader.
    pub name: Option<String>,
    /// How long to wait for a card; `None` = the mode's default.
    pub card_wait: Option<Duration>,
    /// Limit for one APDU (a mute card fails after this).
    pub apdu_timeout: Duration,
    /// CSCA certificates (DER) for the authenticity fact.
    pub csca_dir: Option<PathBuf>,
    /// CAN of the test document, from `KIOSK_HWTEST_CAN`.
    pub can: Option<SecretString>,
    /// Trusted phone credential issuers.
    pub phone_issuers: Vec<VerifyingKey>,
}

impl fmt::Debug for ReaderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderSettings")
            .field("enabled", &self.enabled)
            .field("name", &self.name)
            .field("card_wait", &self.card_wait)
            .field("apdu_timeout", &self.apdu_timeout)
            .field("csca_dir", &self.csca_dir)
            .field("can", &self.can.as_ref().map(|_| "[REDACTED]"))
            .field("phone_issuers", &self.phone_issuers.len())
            .finish()
    }
}

/// Printer settings.
#[derive(Debug, Clone)]
pub struct PrinterSettings {
    /// `false` when the configuration says the kiosk has no printer.
    pub enabled: bool,
    /// How it is connected; `None` when nothing was given.
    pub connection: Option<PrinterConnection>,
    /// Layout profile.
    pub profile: PrinterProfile,
    /// How long to wait for each status answer.
    pub status_timeout: Duration,
    /// Whether to print the test page.
    pub test_page: bool,
}

/// The portal the network check talks to.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// Base URL; `None` when nothing was given.
    pub url: Option<url::Url>,
    /// Extra trusted roots (PEM text).
    pub extra_roots_pem: Option<String>,
    /// Pinned SubjectPublicKeyInfo hashes.
    pub pins: Vec<[u8; 32]>,
    /// Allowed clock difference.
    pub max_clock_skew: Duration,
}

/// Touch test settings.
#[derive(Debug, Clone, Copy)]
pub struct TouchSettings {
    /// Grid columns.
    pub columns: usize,
    /// Grid rows.
    pub rows: usize,
    /// How long the technician has to touch every cell.
    pub timeout: Duration,
}

/// Everything a run needs.
#[derive(Debug)]
pub struct Settings {
    /// Output language.
    pub lang: Lang,
    /// Whether the technician is asked questions.
    pub interactive: bool,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Print the summary on the receipt printer.
    pub print_report: bool,
    /// Card reader.
    pub reader: ReaderSettings,
    /// Receipt printer.
    pub printer: PrinterSettings,
    /// Portal.
    pub portal: PortalSettings,
    /// Touch test.
    pub touch: TouchSettings,
    /// Time limit of the display test.
    pub display_timeout: Duration,
}

/// A setting that cannot be used; the message says which and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// The keys read from the configuration file.
#[derive(Debug, Default)]
struct FileSettings {
    reader_enabled: Option<bool>,
    reader_name: Option<String>,
    csca_dir: Option<PathBuf>,
    printer_enabled: Option<bool>,
    printer_connection: Option<String>,
    printer_model: Option<String>,
    status_timeout_ms: Option<u64>,
    portal_url: Option<String>,
    extra_roots: Option<PathBuf>,
    pins: Vec<String>,
}

fn read_file(path: &Path, lang: Lang) -> Result<FileSettings, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        SettingsError(match lang {
            Lang::De => format!(
                "Die Konfigurationsdatei {} lässt sich nicht lesen: {error}",
                path.display()
            ),
            Lang::En => format!(
                "cannot read the configuration file {}: {error}",
                path.display()
            ),
        })
    })?;
    let table: toml::Table = text.parse().map_err(|error: toml::de::Error| {
        SettingsError(match lang {
            Lang::De => format!(
                "Die Konfigurationsdatei {} ist kein gültiges TOML: {}",
                path.display(),
                error.message()
            ),
            Lang::En => format!(
                "the configuration file {} is not valid TOML: {}",
                path.display(),
                error.message()
            ),
        })
    })?;
    let wrong_type = |key: &str, expected: (&str, &str)| {
        let expected = lang.pick(expected.0, expected.1);
        SettingsError(match lang {
            Lang::De => format!(
                "{}: der Schlüssel {key} muss {expected} sein",
                path.display()
            ),
            Lang::En => format!("{}: the key {key} must be {expected}", path.display()),
        })
    };
    let section = |name: &str| -> Result<Option<&toml::Table>, SettingsError> {
        match table.get(name) {
            None => Ok(None),
            Some(toml::Value::Table(section)) => Ok(Some(section)),
            Some(_) => Err(wrong_type(
                &format!("[{name}]"),
                ("eine Tabelle", "a table"),
            )),
        }
    };
    let string = |section: Option<&toml::Table>, table_name: &str, key: &str| match section
        .and_then(|section| section.get(key))
    {
        None => Ok(None),
        Some(toml::Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(wrong_type(
            &format!("{table_name}.{key}"),
            ("ein Text in Anführungszeichen", "a string"),
        )),
    };
    let boolean = |section: Option<&toml::Table>, table_name: &str, key: &str| match section
        .and_then(|section| section.get(key))
    {
        None => Ok(None),
        Some(toml::Value::Boolean(value)) => Ok(Some(*value)),
        Some(_) => Err(wrong_type(
            &format!("{table_name}.{key}"),
            ("true oder false", "true or false"),
        )),
    };
    let reader = section("reader")?;
    let printer = section("printer")?;
    let portal = section("portal")?;
    let status_timeout_ms = match printer.and_then(|section| section.get("status_timeout_ms")) {
        None => None,
        Some(toml::Value::Integer(ms)) if (1..=60_000).contains(ms) => Some(*ms as u64),
        Some(_) => {
            return Err(wrong_type(
                "printer.status_timeout_ms",
                ("eine Zahl von 1 bis 60000", "a number from 1 to 60000"),
            ));
        }
    };
    let pins = match portal.and_then(|section| section.get("pinned_spki_sha256")) {
        None => Vec::new(),
        Some(toml::Value::Array(values)) => values
            .iter()
            .map(|value| match value {
                toml::Value::String(text) => Ok(text.clone()),
                _ => Err(wrong_type(
                    "portal.pinned_spki_sha256",
                    ("eine Liste von Texten", "a list of strings"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(wrong_type(
                "portal.pinned_spki_sha256",
                ("eine Liste von Texten", "a list of strings"),
            ));
        }
    };
    // Relative paths in the file are relative to the file, as the kiosk reads them.
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |value: Option<String>| value.map(|value| base.join(value));
    Ok(FileSettings {
        reader_enabled: boolean(reader, "reader", "enabled")?,
        reader_name: string(reader, "reader", "name")?,
        csca_dir: resolve(string(reader, "reader", "csca_dir")?),
        printer_enabled: boolean(printer, "printer", "enabled")?,
        printer_connection: string(printer, "printer", "connection")?,
        printer_model: string(printer, "printer", "model")?,
        status_timeout_ms,
        portal_url: string(portal, "portal", "url")?,
        extra_roots: resolve(string(portal, "portal", "extra_roots")?),
        pins,
    })
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

/// Checks a portal URL: `https://`, or `http://` only to this machine (the kiosk's rule).
pub fn parse_portal_url(value: &str, lang: Lang) -> Result<url::Url, SettingsError> {
    let invalid = |why: &str| {
        SettingsError(match lang {
            Lang::De => format!("Portal-Adresse „{value}“: {why}"),
            Lang::En => format!("portal address '{value}': {why}"),
        })
    };
    let url = url::Url::parse(value.trim()).map_err(|error| {
        invalid(&match lang {
            Lang::De => format!("keine gültige URL ({error}); z. B. https://portal.example.de"),
            Lang::En => format!("not a valid URL ({error}); e.g. https://portal.example.org"),
        })
    })?;
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(invalid(lang.pick(
            "unverschlüsseltes http ist nur für 127.0.0.1 erlaubt; nehmen Sie https://",
            "plain http is only allowed to 127.0.0.1; use https://",
        ))),
        _ => Err(invalid(
            lang.pick("muss mit https:// beginnen", "must start with https://"),
        )),
    }
}

impl Settings {
    /// Merges the command line over the configuration file and checks everything.
    pub fn resolve(cli: CommandLine, lang: Lang) -> Result<Settings, SettingsError> {
        Self::resolve_with_can(cli, lang, std::env::var("KIOSK_HWTEST_CAN").ok())
    }

    /// [`Settings::resolve`] with the CAN given explicitly (for tests).
    pub fn resolve_with_can(
        cli: CommandLine,
        lang: Lang,
        can: Option<String>,
    ) -> Result<Settings, SettingsError> {
        let file = match &cli.config {
            Some(path) => read_file(path, lang)?,
            None => FileSettings::default(),
        };
        let error = SettingsError;

        let mut phone_issuers = Vec::new();
        for text in &cli.phone_issuers {
            let key = parse_hex(text)
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .and_then(|raw| VerifyingKey::from_bytes(&raw).ok())
                .ok_or_else(|| {
                    error(match lang {
                        Lang::De => format!(
                            "--phone-issuer „{text}“ ist kein Ed25519-Schlüssel; erwartet \
                             werden 64 Hex-Ziffern"
                        ),
                        Lang::En => format!(
                            "--phone-issuer '{text}' is not an Ed25519 key; expected 64 hex \
                             digits"
                        ),
                    })
                })?;
            phone_issuers.push(key);
        }

        let connection = match cli
            .printer
            .as_deref()
            .or(file.printer_connection.as_deref())
        {
            Some(value) => Some(parse_connection(value, lang).map_err(error)?),
            None => None,
        };
        let model = cli
            .printer_model
            .as_deref()
            .or(file.printer_model.as_deref())
            .unwrap_or("generic-80mm");
        let profile = printer_profile(model, lang).map_err(error)?;

        let url = match cli.portal.as_deref().or(file.portal_url.as_deref()) {
            Some(value) => Some(parse_portal_url(value, lang)?),
            None => None,
        };
        let roots_file = cli.ca_file.clone().or(file.extra_roots.clone());
        let extra_roots_pem = match &roots_file {
            Some(path) => {
                let pem = std::fs::read_to_string(path).map_err(|io| {
                    error(match lang {
                        Lang::De => format!(
                            "Die Stammzertifikate {} lassen sich nicht lesen: {io}",
                            path.display()
                        ),
                        Lang::En => {
                            format!("cannot read the root certificates {}: {io}", path.display())
                        }
                    })
                })?;
                Some(pem)
            }
            None => None,
        };
        let pins = file
            .pins
            .iter()
            .map(|text| {
                parse_hex(text)
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| {
                        error(match lang {
                            Lang::De => format!(
                                "portal.pinned_spki_sha256: „{text}“ sind keine 64 Hex-Ziffern"
                            ),
                            Lang::En => {
                                format!("portal.pinned_spki_sha256: '{text}' is not 64 hex digits")
                            }
                        })
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let (columns, rows) = match &cli.grid {
            Some(value) => crate::touch::parse_grid(value).map_err(|grid| {
                error(match lang {
                    Lang::De => format!(
                        "--grid „{value}“: 1 bis {} Spalten und Zeilen, geschrieben als \
                         SPALTENxZEILEN, z. B. 8x5",
                        crate::touch::MAX_CELLS_PER_SIDE
                    ),
                    Lang::En => format!("--grid '{value}': {grid}"),
                })
            })?,
            None => (8, 5),
        };
        let seconds = |value: Option<u64>, default: u64, name: &str| {
            let value = value.unwrap_or(default);
            if (1..=3600).contains(&value) {
                Ok(Duration::from_secs(value))
            } else {
                Err(error(match lang {
                    Lang::De => format!("{name} muss zwischen 1 und 3600 Sekunden liegen"),
                    Lang::En => format!("{name} must be between 1 and 3600 seconds"),
                }))
            }
        };
        let apdu_timeout_ms = cli.apdu_timeout_ms.unwrap_or(3000);
        if !(100..=60_000).contains(&apdu_timeout_ms) {
            return Err(error(
                lang.pick(
                    "--apdu-timeout-ms muss zwischen 100 und 60000 liegen",
                    "--apdu-timeout-ms must be between 100 and 60000",
                )
                .into(),
            ));
        }
        let card_wait = match cli.card_wait {
            Some(value) => Some(seconds(Some(value), 0, "--card-wait")?),
            None => None,
        };
        Ok(Settings {
            lang,
            interactive: !cli.non_interactive,
            json: cli.json,
            print_report: cli.print_report,
            reader: ReaderSettings {
                enabled: file.reader_enabled.unwrap_or(true),
                name: cli
                    .reader
                    .or(file.reader_name)
                    .filter(|name| !name.trim().is_empty()),
                card_wait,
                apdu_timeout: Duration::from_millis(apdu_timeout_ms),
                csca_dir: file.csca_dir,
                can: can
                    .filter(|can| !can.trim().is_empty())
                    .map(SecretString::from),
                phone_issuers,
            },
            printer: PrinterSettings {
                enabled: file.printer_enabled.unwrap_or(true),
                connection,
                profile,
                status_timeout: Duration::from_millis(file.status_timeout_ms.unwrap_or(1500)),
                test_page: !cli.no_test_page,
            },
            portal: PortalSettings {
                url,
                extra_roots_pem,
                pins,
                max_clock_skew: seconds(cli.max_clock_skew, 60, "--max-clock-skew")?,
            },
            touch: TouchSettings {
                columns,
                rows,
                timeout: seconds(cli.touch_timeout, 90, "--touch-timeout")?,
            },
            display_timeout: seconds(cli.display_timeout, 120, "--display-timeout")?,
        })
    }
}
