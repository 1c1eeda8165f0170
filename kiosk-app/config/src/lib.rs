//! The kiosk's configuration file, `kiosk.toml`.
//!
//! One TOML file (default `/etc/kiosk/kiosk.toml`) says which kiosk this is,
//! which languages and services it offers, its time-outs, which card reader
//! and printer it uses, where the portal is and how staff get in. This crate
//! parses it, checks every value, and reports every problem at once with the
//! key it concerns, so an administrator can fix the file in one go.
//!
//! Secrets never live in the TOML: the portal's client secret is read from a
//! file only its owner may read, or from a systemd credential
//! (`LoadCredential=`), see [`SecretSource`].
//!
//! Checks that need other parts of the kiosk (is the kiosk id valid in a
//! receipt reference, are the enabled services in the catalogue) are done by
//! the binary at start-up and by `kiosk-app config check`, which report
//! them against the same keys.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod secret;

pub use secret::{SecretError, SecretSource, read_secret_file};

/// Where the kiosk looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/kiosk/kiosk.toml";

/// The configuration the demo runs with: virtual hardware on loopback.
/// Also the reference for every key (`docs/configuration.md`).
pub const DEMO_TOML: &str = include_str!("../demo.toml");

/// A checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskConfig {
    /// Identity of this kiosk and where it keeps its data.
    pub kiosk: KioskSection,
    /// Languages offered to citizens.
    pub languages: LanguagesSection,
    /// The service catalogue and which services are offered.
    pub services: ServicesSection,
    /// Session time-outs.
    pub timeouts: TimeoutsSection,
    /// The card reader.
    pub reader: ReaderSection,
    /// The receipt printer.
    pub printer: PrinterSection,
    /// The municipal portal that receives applications, and the office's key.
    pub portal: PortalSection,
    /// FIT-Connect, the federal route to the offices, for the services in `routing`.
    pub fit_connect: Option<FitConnectSection>,
    /// `[routing.<service id>]`: the services delivered through FIT-Connect.
    pub routing: std::collections::BTreeMap<String, RouteSection>,
    /// Metrics and health endpoint.
    pub metrics: MetricsSection,
    /// How staff get into staff mode.
    pub staff: StaffSection,
    /// Log output.
    pub logging: LoggingSection,
    /// eID login with the online ID function, through AusweisApp.
    pub eid: EidSection,
    /// Appointment check-in with a phone.
    pub check_in: CheckInSection,
}

/// How the kiosk reaches AusweisApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AusweisAppLaunch {
    /// Start AusweisApp headless when none runs (found on `PATH`, or this binary).
    Start(Option<PathBuf>),
    /// Only connect to an AusweisApp that runs already (e.g. its own systemd unit).
    Connect,
}

/// `[eid]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EidSection {
    /// Offer eID login (services that list it, while online with a reader).
    pub enabled: bool,
    /// Start AusweisApp or only connect to a running one.
    pub launch: AusweisAppLaunch,
    /// AusweisApp's SDK port on 127.0.0.1.
    pub port: u16,
    /// AusweisApp's developer mode: plain-http tcTokenURLs and test certificates.
    /// For test systems only; the kiosk logs a warning at start when it is on.
    pub developer_mode: bool,
}

impl Default for EidSection {
    fn default() -> Self {
        Self {
            enabled: true,
            launch: AusweisAppLaunch::Start(None),
            port: 24727,
            developer_mode: false,
        }
    }
}

/// `[check_in]`: when a phone's appointment can be checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInSection {
    /// How long before the appointment check-in opens.
    pub opens_before: Duration,
    /// How long after the start a late citizen can still check in.
    pub closes_after: Duration,
}

impl Default for CheckInSection {
    fn default() -> Self {
        Self {
            opens_before: Duration::from_secs(30 * 60),
            closes_after: Duration::from_secs(15 * 60),
        }
    }
}

/// `[kiosk]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskSection {
    /// Kiosk id, part of every receipt reference (e.g. `K07`).
    pub id: String,
    /// Town prefix of receipt references (e.g. `GE`).
    pub town_prefix: String,
    /// The office's name and address, printed at the top of receipts.
    pub office: Vec<String>,
    /// Folder for the outbox database, the audit log and the catalogue cache.
    pub data_dir: PathBuf,
}

/// `[languages]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguagesSection {
    /// ISO 639-1 codes offered, in the order shown; empty means every language of the catalogue.
    pub enabled: Vec<String>,
}

/// `[services]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicesSection {
    /// A catalogue folder; `None` uses the catalogue built into the binary.
    pub catalogue_dir: Option<PathBuf>,
    /// Service ids offered, in the order shown; empty means every service of the catalogue.
    pub enabled: Vec<String>,
    /// Where signed catalogue updates come from; `None`: only the local catalogue.
    pub updates: Option<CatalogueUpdates>,
}

/// `services.catalogue_url` and `services.catalogue_publisher_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueUpdates {
    /// URL of the signed catalogue bundle.
    pub url: String,
    /// The publisher's Ed25519 public key.
    pub publisher_key: [u8; 32],
}

/// `[timeouts]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutsSection {
    /// Inactivity before the "are you still there?" warning.
    pub idle: Duration,
    /// How long the warning counts down before the session is wiped.
    pub warning: Duration,
    /// How long the receipt screen stays.
    pub receipt: Duration,
    /// How long the goodbye screen stays.
    pub goodbye: Duration,
}

/// `[reader]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSection {
    /// Whether the kiosk has a card reader at all.
    pub enabled: bool,
    /// Part of the PC/SC reader name to use (e.g. `REINER SCT`); `None` takes the first reader.
    pub name: Option<String>,
    /// Folder of trusted country signing CA certificates (DER), for passive
    /// authentication of passport chips; `None` reads chips unverified.
    pub csca_dir: Option<PathBuf>,
    /// Issuers whose signed phone credentials the kiosk accepts.
    pub phone_issuers: Vec<PhoneIssuer>,
}

/// `[[reader.phone_issuers]]`: who may vouch for a citizen's identity on a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneIssuer {
    /// Shown to staff and in logs, e.g. "Stadt Gelsenkirchen Bürger-App".
    pub name: String,
    /// The issuer's Ed25519 public key.
    pub public_key: [u8; 32],
}

/// How the printer is connected (the printer driver's endpoint syntax).
pub use kiosk_printer::transport::Endpoint as PrinterConnection;

/// Printer models the kiosk has a profile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterModel {
    /// Any 80 mm, 203 dpi ESC/POS printer.
    Generic80mm,
    /// Epson TM-T88 (80 mm, 180 dpi).
    EpsonTmT88,
    /// Any 58 mm, 203 dpi ESC/POS printer.
    Generic58mm,
}

impl PrinterModel {
    const NAMES: [(&'static str, PrinterModel); 3] = [
        ("generic-80mm", PrinterModel::Generic80mm),
        ("epson-tm-t88", PrinterModel::EpsonTmT88),
        ("generic-58mm", PrinterModel::Generic58mm),
    ];

    /// The name used in `printer.model`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, model)| *model == self)
            .map_or("generic-80mm", |(name, _)| name)
    }

    fn parse(value: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, model)| *model)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(name, _)| *name).collect();
                format!(
                    "unknown model '{value}'; known models: {}",
                    names.join(", ")
                )
            })
    }
}

/// `[printer]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSection {
    /// Whether the kiosk has a receipt printer; without one receipts are shown as QR codes.
    pub enabled: bool,
    /// How it is connected.
    pub connection: PrinterConnection,
    /// Its profile (paper width, resolution, code pages).
    pub model: PrinterModel,
    /// How long to wait for a status answer before calling it offline.
    pub status_timeout: Duration,
}

/// `[portal]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSection {
    /// Base URL of the sync API (`https://`, or `http://` on loopback only).
    pub url: String,
    /// OAuth2 token endpoint; `None` when the portal needs no token.
    pub token_url: Option<String>,
    /// OAuth2 client id.
    pub client_id: Option<String>,
    /// Where the client secret comes from (never the TOML itself).
    pub client_secret: Option<SecretSource>,
    /// The office's public key (PEM) that payloads are encrypted to.
    pub recipient_key: PathBuf,
    /// Extra trusted root certificates (PEM), e.g. the Verwaltungs-PKI.
    pub extra_roots: Option<PathBuf>,
    /// SHA-256 of pinned SubjectPublicKeyInfos, as 64 hex digits each.
    pub pinned_spki_sha256: Vec<[u8; 32]>,
}

/// `[fit_connect]`: the sender client of the FIT-Connect Submission API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitConnectSection {
    /// Base URL of the Submission API (`https://`, `http://` only on loopback).
    pub submission_api_url: String,
    /// OAuth2 token endpoint of the same environment.
    pub token_url: String,
    /// The sender client's id.
    pub client_id: String,
    /// Where the client secret comes from.
    pub client_secret: SecretSource,
    /// Trusted root certificates (PEM) for the destinations' key chains.
    pub key_roots: PathBuf,
    /// Requested OAuth2 scope, if the environment wants one.
    pub scope: Option<String>,
    /// Extra trusted roots (PEM) for the HTTPS connection.
    pub tls_extra_roots: Option<PathBuf>,
    /// First and longest wait between checks of a handed-over submission's event log.
    pub poll_interval: (Duration, Duration),
}

/// `[routing.<service id>]`: where one service's applications go in FIT-Connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSection {
    /// The office's destination id (a UUID).
    pub destination_id: String,
    /// The LeiKa key, e.g. `urn:de:fim:leika:leistung:99108008000000`.
    pub leika_key: String,
    /// The service's name as the office knows it.
    pub service_name: String,
    /// The region (e.g. an ARS such as `DE05513000`), if the destination needs one.
    pub region: Option<String>,
    /// The URI of the submission schema the answers follow.
    pub submission_schema_uri: String,
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSection {
    /// Address of `/metrics` and `/healthz`; loopback unless `allow_remote`.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address.
    pub allow_remote: bool,
}

/// `[staff]`
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaffSection {
    /// PHC string of the staff PIN's hash (`kiosk-app staff hash-pin` makes one).
    pub pin_hash: Option<String>,
    /// SHA-256 of staff cards' UIDs, as 64 hex digits each.
    pub card_uid_sha256: Vec<String>,
    /// Ed25519 public keys (64 hex digits) whose signed phone tokens open staff mode.
    pub token_public_keys: Vec<String>,
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (journald, log shippers).
    Json,
    /// Readable lines for a terminal.
    Pretty,
}

/// `[logging]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggingSection {
    /// Output format.
    pub format: LogFormat,
}

/// One problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key, e.g. `printer.connection`.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read the configuration {path}: {source} (give another file with --config, or create it from /usr/share/doc/buergerkiosk/examples/kiosk.toml)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is unknown.
    #[error("{origin}: {message}")]
    Syntax {
        /// File name or "built-in demo configuration".
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Values are out of range or inconsistent.
    #[error("{origin} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        /// File name or "built-in demo configuration".
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl KioskConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in demo configuration.
    pub fn demo() -> Self {
        // The test suite parses DEMO_TOML, so this cannot fail in a shipped binary.
        Self::parse(DEMO_TOML, "built-in demo configuration")
            .unwrap_or_else(|error| panic!("the built-in demo configuration is invalid: {error}"))
    }

    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let raw: raw::File = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            origin: origin.to_owned(),
            message: error.to_string().trim_end().to_owned(),
        })?;
        let mut problems = Vec::new();
        let config = raw.check(&mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }

    /// Where the outbox database lives.
    pub fn outbox_path(&self) -> PathBuf {
        self.kiosk.data_dir.join("outbox.sqlite")
    }

    /// Where staff actions are logged.
    pub fn audit_log_path(&self) -> PathBuf {
        self.kiosk.data_dir.join("audit.jsonl")
    }
}

/// The file as written, before checking. Every table denies unknown keys so a
/// typo is an error rather than a silently ignored setting.
mod raw {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct File {
        kiosk: Kiosk,
        #[serde(default)]
        languages: Languages,
        #[serde(default)]
        services: Services,
        #[serde(default)]
        timeouts: Timeouts,
        #[serde(default)]
        reader: Reader,
        printer: Option<Printer>,
        portal: Option<Portal>,
        fit_connect: Option<FitConnect>,
        #[serde(default)]
        routing: std::collections::BTreeMap<String, Route>,
        #[serde(default)]
        metrics: Metrics,
        #[serde(default)]
        staff: Staff,
        #[serde(default)]
        logging: Logging,
        #[serde(default)]
        eid: Eid,
        #[serde(default)]
        check_in: CheckIn,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Eid {
        enabled: bool,
        launch: String,
        binary: Option<PathBuf>,
        port: u16,
        developer_mode: bool,
    }

    impl Default for Eid {
        fn default() -> Self {
            Self {
                enabled: true,
                launch: "start".to_owned(),
                binary: None,
                port: 24727,
                developer_mode: false,
            }
        }
    }

    impl Eid {
        fn check(self, problems: &mut Vec<Problem>) -> EidSection {
            let launch = match self.launch.as_str() {
                "start" => AusweisAppLaunch::Start(self.binary),
                "connect" => {
                    if self.binary.is_some() {
                        problem(
                            problems,
                            "eid.binary",
                            "is only used with launch = \"start\"; remove it or set launch = \"start\"",
                        );
                    }
                    AusweisAppLaunch::Connect
                }
                other => {
                    problem(
                        problems,
                        "eid.launch",
                        format!(
                            "'{other}' is not a launch mode; use \"start\" (start AusweisApp when none runs) or \"connect\" (only use a running one)"
                        ),
                    );
                    AusweisAppLaunch::Connect
                }
            };
            if self.port == 0 {
                problem(
                    problems,
                    "eid.port",
                    "must be AusweisApp's SDK port (24727 unless AusweisApp was started with another --port)",
                );
            }
            EidSection {
                enabled: self.enabled,
                launch,
                port: self.port,
                developer_mode: self.developer_mode,
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct CheckIn {
        opens_minutes_before: u64,
        closes_minutes_after: u64,
    }

    impl Default for CheckIn {
        fn default() -> Self {
            Self {
                opens_minutes_before: 30,
                closes_minutes_after: 15,
            }
        }
    }

    impl CheckIn {
        fn check(self, problems: &mut Vec<Problem>) -> CheckInSection {
            for (key, minutes) in [
                ("check_in.opens_minutes_before", self.opens_minutes_before),
                ("check_in.closes_minutes_after", self.closes_minutes_after),
            ] {
                if minutes > 24 * 60 {
                    problem(
                        problems,
                        key,
                        format!("{minutes} minutes is more than a day; use at most 1440"),
                    );
                }
            }
            CheckInSection {
                opens_before: Duration::from_secs(self.opens_minutes_before.min(1440) * 60),
                closes_after: Duration::from_secs(self.closes_minutes_after.min(1440) * 60),
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kiosk {
        id: String,
        town_prefix: String,
        #[serde(default)]
        office: Vec<String>,
        data_dir: Option<PathBuf>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Languages {
        #[serde(default)]
        enabled: Vec<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Services {
        catalogue_dir: Option<PathBuf>,
        #[serde(default)]
        enabled: Vec<String>,
        catalogue_url: Option<String>,
        catalogue_publisher_key: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Timeouts {
        idle_seconds: u64,
        warning_seconds: u64,
        receipt_seconds: u64,
        goodbye_seconds: u64,
    }

    impl Default for Timeouts {
        fn default() -> Self {
            Self {
                idle_seconds: 90,
                warning_seconds: 30,
                receipt_seconds: 60,
                goodbye_seconds: 8,
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reader {
        #[serde(default = "yes")]
        enabled: bool,
        name: Option<String>,
        csca_dir: Option<PathBuf>,
        #[serde(default)]
        phone_issuers: Vec<PhoneIssuerRaw>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PhoneIssuerRaw {
        name: String,
        public_key: String,
    }

    impl Default for Reader {
        fn default() -> Self {
            Self {
                enabled: true,
                name: None,
                csca_dir: None,
                phone_issuers: Vec::new(),
            }
        }
    }

    fn yes() -> bool {
        true
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Printer {
        #[serde(default = "yes")]
        enabled: bool,
        connection: String,
        #[serde(default = "generic_80mm")]
        model: String,
        #[serde(default = "status_timeout_ms")]
        status_timeout_ms: u64,
    }

    fn generic_80mm() -> String {
        "generic-80mm".to_owned()
    }

    fn status_timeout_ms() -> u64 {
        1500
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Portal {
        url: String,
        token_url: Option<String>,
        client_id: Option<String>,
        /// Only here to give a helpful error: secrets are not allowed in the TOML.
        client_secret: Option<toml::Value>,
        client_secret_file: Option<PathBuf>,
        client_secret_credential: Option<String>,
        recipient_key: PathBuf,
        extra_roots: Option<PathBuf>,
        #[serde(default)]
        pinned_spki_sha256: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FitConnect {
        submission_api_url: String,
        token_url: String,
        client_id: String,
        /// Only here to give a helpful error: secrets are not allowed in the TOML.
        client_secret: Option<toml::Value>,
        client_secret_file: Option<PathBuf>,
        client_secret_credential: Option<String>,
        key_roots: PathBuf,
        scope: Option<String>,
        tls_extra_roots: Option<PathBuf>,
        #[serde(default = "poll_min")]
        poll_interval_min_seconds: u64,
        #[serde(default = "poll_max")]
        poll_interval_max_seconds: u64,
    }

    fn poll_min() -> u64 {
        30
    }

    fn poll_max() -> u64 {
        900
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Route {
        destination_id: String,
        leika_key: String,
        service_name: String,
        region: Option<String>,
        submission_schema_uri: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Metrics {
        #[serde(default = "metrics_listen")]
        listen: String,
        #[serde(default)]
        allow_remote: bool,
    }

    impl Default for Metrics {
        fn default() -> Self {
            Self {
                listen: metrics_listen(),
                allow_remote: false,
            }
        }
    }

    fn metrics_listen() -> String {
        "127.0.0.1:9464".to_owned()
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Staff {
        pin_hash: Option<String>,
        #[serde(default)]
        card_uid_sha256: Vec<String>,
        #[serde(default)]
        token_public_keys: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Logging {
        #[serde(default = "json")]
        format: String,
    }

    impl Default for Logging {
        fn default() -> Self {
            Self { format: json() }
        }
    }

    fn json() -> String {
        "json".to_owned()
    }

    fn problem(problems: &mut Vec<Problem>, key: &str, message: impl Into<String>) {
        problems.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn seconds(
        problems: &mut Vec<Problem>,
        key: &str,
        value: u64,
        range: std::ops::RangeInclusive<u64>,
        why: &str,
    ) -> Duration {
        if !range.contains(&value) {
            problem(
                problems,
                key,
                format!(
                    "{value} is outside {}..={} seconds ({why})",
                    range.start(),
                    range.end()
                ),
            );
        }
        Duration::from_secs(value)
    }

    fn is_hex(value: &str, digits: usize) -> bool {
        value.len() == digits && value.bytes().all(|b| b.is_ascii_hexdigit())
    }

    fn hex32(value: &str) -> Option<[u8; 32]> {
        if !is_hex(value, 64) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&value[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }

    fn is_loopback_url(url: &str) -> bool {
        let Some(rest) = url.strip_prefix("http://") else {
            return false;
        };
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    }

    fn check_url(problems: &mut Vec<Problem>, key: &str, url: &str) {
        if !(url.starts_with("https://") && url.len() > "https://".len() || is_loopback_url(url)) {
            problem(
                problems,
                key,
                format!(
                    "'{url}' must be an https:// URL (plain http:// is allowed only for 127.0.0.1 or localhost)"
                ),
            );
        }
    }

    impl File {
        pub(super) fn check(self, problems: &mut Vec<Problem>) -> KioskConfig {
            let kiosk = self.kiosk.check(problems);
            let languages = self.languages.check(problems);
            let services = self.services.check(problems);
            let timeouts = self.timeouts.check(problems);
            let reader = self.reader.check(problems);
            let printer = match self.printer {
                Some(printer) => printer.check(problems),
                None => {
                    problem(
                        problems,
                        "printer",
                        "the [printer] table is missing; add it with connection = \"tcp://HOST:9100\" or \"/dev/usb/lp0\", or set enabled = false for a kiosk without printer",
                    );
                    PrinterSection {
                        enabled: false,
                        connection: PrinterConnection::Device(PathBuf::from("/dev/null")),
                        model: PrinterModel::Generic80mm,
                        status_timeout: Duration::from_millis(status_timeout_ms()),
                    }
                }
            };
            let portal = match self.portal {
                Some(portal) => portal.check(problems),
                None => {
                    problem(
                        problems,
                        "portal",
                        "the [portal] table is missing; the kiosk needs the portal's url and the office's public key (recipient_key) to encrypt and send applications",
                    );
                    PortalSection {
                        url: String::new(),
                        token_url: None,
                        client_id: None,
                        client_secret: None,
                        recipient_key: PathBuf::new(),
                        extra_roots: None,
                        pinned_spki_sha256: Vec::new(),
                    }
                }
            };
            let fit_connect = self.fit_connect.map(|fit| fit.check(problems));
            if fit_connect.is_none() && !self.routing.is_empty() {
                problem(
                    problems,
                    "routing",
                    "services are routed to FIT-Connect but the [fit_connect] table is missing",
                );
            }
            let routing = self
                .routing
                .into_iter()
                .map(|(service, route)| {
                    if route.leika_key.trim().is_empty() || route.service_name.trim().is_empty() {
                        problem(
                            problems,
                            &format!("routing.{service}"),
                            "leika_key and service_name must not be empty",
                        );
                    }
                    (
                        service,
                        RouteSection {
                            destination_id: route.destination_id,
                            leika_key: route.leika_key,
                            service_name: route.service_name,
                            region: route.region,
                            submission_schema_uri: route.submission_schema_uri,
                        },
                    )
                })
                .collect();
            let metrics = self.metrics.check(problems);
            let staff = self.staff.check(problems);
            let logging = self.logging.check(problems);
            let eid = self.eid.check(problems);
            let check_in = self.check_in.check(problems);
            KioskConfig {
                kiosk,
                languages,
                services,
                timeouts,
                reader,
                printer,
                portal,
                fit_connect,
                routing,
                metrics,
                staff,
                logging,
                eid,
                check_in,
            }
        }
    }

    impl Kiosk {
        fn check(self, problems: &mut Vec<Problem>) -> KioskSection {
            if self.id.trim().is_empty() {
                problem(
                    problems,
                    "kiosk.id",
                    "is empty; give each kiosk of the town its own short id, e.g. \"K07\"",
                );
            }
            if self.town_prefix.trim().is_empty() {
                problem(
                    problems,
                    "kiosk.town_prefix",
                    "is empty; use the town's short prefix, e.g. \"GE\"",
                );
            }
            if self.office.len() > 4 || self.office.iter().any(|line| line.chars().count() > 48) {
                problem(
                    problems,
                    "kiosk.office",
                    "at most 4 lines of at most 48 characters each fit on a receipt",
                );
            }
            let data_dir = self
                .data_dir
                .unwrap_or_else(|| PathBuf::from("/var/lib/kiosk"));
            if !data_dir.is_absolute() {
                problem(
                    problems,
                    "kiosk.data_dir",
                    format!(
                        "'{}' must be an absolute path, e.g. /var/lib/kiosk",
                        data_dir.display()
                    ),
                );
            }
            KioskSection {
                id: self.id,
                town_prefix: self.town_prefix,
                office: self.office,
                data_dir,
            }
        }
    }

    impl Languages {
        fn check(self, problems: &mut Vec<Problem>) -> LanguagesSection {
            for code in &self.enabled {
                if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())) {
                    problem(
                        problems,
                        "languages.enabled",
                        format!("'{code}' is not a two-letter ISO 639-1 code such as \"de\""),
                    );
                }
            }
            if !self.enabled.is_empty() && self.enabled.first().map(String::as_str) != Some("de") {
                problem(
                    problems,
                    "languages.enabled",
                    "German (\"de\") must be enabled and come first: it is the kiosk's first language",
                );
            }
            if has_duplicates(&self.enabled) {
                problem(problems, "languages.enabled", "lists a language twice");
            }
            LanguagesSection {
                enabled: self.enabled,
            }
        }
    }

    fn has_duplicates(values: &[String]) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        values.iter().any(|value| !seen.insert(value))
    }

    impl Services {
        fn check(self, problems: &mut Vec<Problem>) -> ServicesSection {
            if has_duplicates(&self.enabled) {
                problem(problems, "services.enabled", "lists a service twice");
            }
            if let Some(dir) = &self.catalogue_dir
                && !dir.is_absolute()
            {
                problem(
                    problems,
                    "services.catalogue_dir",
                    format!("'{}' must be an absolute path", dir.display()),
                );
            }
            let updates = match (self.catalogue_url, self.catalogue_publisher_key) {
                (None, None) => None,
                (Some(url), Some(key)) => {
                    check_url(problems, "services.catalogue_url", &url);
                    match hex32(&key) {
                        Some(publisher_key) => Some(CatalogueUpdates { url, publisher_key }),
                        None => {
                            problem(
                                problems,
                                "services.catalogue_publisher_key",
                                format!("'{key}' is not an Ed25519 public key as 64 hex digits"),
                            );
                            None
                        }
                    }
                }
                _ => {
                    problem(
                        problems,
                        "services.catalogue_url",
                        "catalogue_url and catalogue_publisher_key go together: updates are accepted only when signed by the publisher",
                    );
                    None
                }
            };
            ServicesSection {
                catalogue_dir: self.catalogue_dir,
                enabled: self.enabled,
                updates,
            }
        }
    }

    impl Timeouts {
        fn check(self, problems: &mut Vec<Problem>) -> TimeoutsSection {
            TimeoutsSection {
                idle: seconds(
                    problems,
                    "timeouts.idle_seconds",
                    self.idle_seconds,
                    30..=600,
                    "shorter rushes citizens, longer leaves data on an abandoned screen",
                ),
                warning: seconds(
                    problems,
                    "timeouts.warning_seconds",
                    self.warning_seconds,
                    20..=120,
                    "WCAG 2.2.1 asks for at least 20 seconds to react",
                ),
                receipt: seconds(
                    problems,
                    "timeouts.receipt_seconds",
                    self.receipt_seconds,
                    10..=300,
                    "time to read or scan the receipt",
                ),
                goodbye: seconds(
                    problems,
                    "timeouts.goodbye_seconds",
                    self.goodbye_seconds,
                    3..=60,
                    "time to read the goodbye",
                ),
            }
        }
    }

    impl Reader {
        fn check(self, problems: &mut Vec<Problem>) -> ReaderSection {
            if self
                .name
                .as_deref()
                .is_some_and(|name| name.trim().is_empty())
            {
                problem(
                    problems,
                    "reader.name",
                    "is empty; leave it out to use the first reader, or give part of the reader's name (see `kiosk-hwtest list`)",
                );
            }
            if let Some(dir) = &self.csca_dir
                && !dir.is_absolute()
            {
                problem(
                    problems,
                    "reader.csca_dir",
                    format!(
                        "'{}' must be an absolute path, e.g. /etc/kiosk/csca",
                        dir.display()
                    ),
                );
            }
            let phone_issuers = self
                .phone_issuers
                .into_iter()
                .filter_map(|issuer| {
                    if issuer.name.trim().is_empty() {
                        problem(
                            problems,
                            "reader.phone_issuers.name",
                            "is empty; name the issuer so staff know whose credentials these are",
                        );
                    }
                    let key = hex32(&issuer.public_key);
                    if key.is_none() {
                        problem(
                            problems,
                            "reader.phone_issuers.public_key",
                            format!(
                                "'{}' is not an Ed25519 public key as 64 hex digits",
                                issuer.public_key
                            ),
                        );
                    }
                    Some(PhoneIssuer {
                        name: issuer.name,
                        public_key: key?,
                    })
                })
                .collect();
            ReaderSection {
                enabled: self.enabled,
                name: self.name,
                csca_dir: self.csca_dir,
                phone_issuers,
            }
        }
    }

    impl Printer {
        fn check(self, problems: &mut Vec<Problem>) -> PrinterSection {
            let connection = PrinterConnection::parse(&self.connection).unwrap_or_else(|error| {
                problem(problems, "printer.connection", error.to_string());
                PrinterConnection::Device(PathBuf::from("/dev/null"))
            });
            let model = PrinterModel::parse(&self.model).unwrap_or_else(|message| {
                problem(problems, "printer.model", message);
                PrinterModel::Generic80mm
            });
            if !(100..=10_000).contains(&self.status_timeout_ms) {
                problem(
                    problems,
                    "printer.status_timeout_ms",
                    format!(
                        "{} is outside 100..=10000 milliseconds",
                        self.status_timeout_ms
                    ),
                );
            }
            PrinterSection {
                enabled: self.enabled,
                connection,
                model,
                status_timeout: Duration::from_millis(self.status_timeout_ms),
            }
        }
    }

    impl Portal {
        fn check(self, problems: &mut Vec<Problem>) -> PortalSection {
            check_url(problems, "portal.url", &self.url);
            if let Some(token_url) = &self.token_url {
                check_url(problems, "portal.token_url", token_url);
            }
            if self.client_secret.is_some() {
                problem(
                    problems,
                    "portal.client_secret",
                    "secrets are never written into kiosk.toml; put the secret into a file only the kiosk user can read (chmod 600) and set portal.client_secret_file, or use systemd's LoadCredential= and portal.client_secret_credential",
                );
            }
            let client_secret = match (self.client_secret_file, self.client_secret_credential) {
                (Some(_), Some(_)) => {
                    problem(
                        problems,
                        "portal.client_secret_file",
                        "give either client_secret_file or client_secret_credential, not both",
                    );
                    None
                }
                (Some(path), None) => Some(SecretSource::File(path)),
                (None, Some(name)) => {
                    if name.is_empty() || name.contains('/') {
                        problem(
                            problems,
                            "portal.client_secret_credential",
                            format!(
                                "'{name}' is not a systemd credential name (the first part of LoadCredential=NAME:PATH)"
                            ),
                        );
                    }
                    Some(SecretSource::SystemdCredential(name))
                }
                (None, None) => None,
            };
            if self.token_url.is_some() != self.client_id.is_some()
                || (self.token_url.is_some() && client_secret.is_none())
            {
                problem(
                    problems,
                    "portal.token_url",
                    "token_url, client_id and a client secret (client_secret_file or client_secret_credential) go together; give all three or none",
                );
            }
            let pinned_spki_sha256 = self
                .pinned_spki_sha256
                .iter()
                .filter_map(|pin| {
                    let parsed = hex32(pin);
                    if parsed.is_none() {
                        problem(
                            problems,
                            "portal.pinned_spki_sha256",
                            format!("'{pin}' is not 64 hex digits (a SHA-256 of a certificate's public key)"),
                        );
                    }
                    parsed
                })
                .collect();
            PortalSection {
                url: self.url,
                token_url: self.token_url,
                client_id: self.client_id,
                client_secret,
                recipient_key: self.recipient_key,
                extra_roots: self.extra_roots,
                pinned_spki_sha256,
            }
        }
    }

    impl FitConnect {
        fn check(self, problems: &mut Vec<Problem>) -> FitConnectSection {
            check_url(
                problems,
                "fit_connect.submission_api_url",
                &self.submission_api_url,
            );
            check_url(problems, "fit_connect.token_url", &self.token_url);
            if self.client_secret.is_some() {
                problem(
                    problems,
                    "fit_connect.client_secret",
                    "secrets are never written into kiosk.toml; use fit_connect.client_secret_file (chmod 600) or fit_connect.client_secret_credential",
                );
            }
            let client_secret = match (self.client_secret_file, self.client_secret_credential) {
                (Some(path), None) => SecretSource::File(path),
                (None, Some(name)) => SecretSource::SystemdCredential(name),
                _ => {
                    problem(
                        problems,
                        "fit_connect.client_secret_file",
                        "give exactly one of client_secret_file and client_secret_credential",
                    );
                    SecretSource::File(PathBuf::new())
                }
            };
            let first = seconds(
                problems,
                "fit_connect.poll_interval_min_seconds",
                self.poll_interval_min_seconds,
                1..=3600,
                "how soon the office's decision is first asked for",
            );
            let longest = seconds(
                problems,
                "fit_connect.poll_interval_max_seconds",
                self.poll_interval_max_seconds,
                self.poll_interval_min_seconds.max(1)..=86_400,
                "at least the first wait, at most a day",
            );
            FitConnectSection {
                poll_interval: (first, longest),
                submission_api_url: self.submission_api_url,
                token_url: self.token_url,
                client_id: self.client_id,
                client_secret,
                key_roots: self.key_roots,
                scope: self.scope,
                tls_extra_roots: self.tls_extra_roots,
            }
        }
    }

    impl Metrics {
        fn check(self, problems: &mut Vec<Problem>) -> MetricsSection {
            let listen = match self.listen.parse::<SocketAddr>() {
                Ok(address) => {
                    if !address.ip().is_loopback() && !self.allow_remote {
                        problem(
                            problems,
                            "metrics.listen",
                            format!(
                                "{address} is reachable from the network; metrics stay on 127.0.0.1 unless you also set metrics.allow_remote = true"
                            ),
                        );
                    }
                    address
                }
                Err(_) => {
                    problem(
                        problems,
                        "metrics.listen",
                        format!("'{}' is not IP:PORT, e.g. 127.0.0.1:9464", self.listen),
                    );
                    SocketAddr::from(([127, 0, 0, 1], 9464))
                }
            };
            MetricsSection {
                listen,
                allow_remote: self.allow_remote,
            }
        }
    }

    impl Staff {
        fn check(self, problems: &mut Vec<Problem>) -> StaffSection {
            if let Some(hash) = &self.pin_hash
                && !hash.starts_with('$')
            {
                problem(
                    problems,
                    "staff.pin_hash",
                    "is not a password hash; never write the PIN itself here: run `kiosk-app staff hash-pin` and paste its output",
                );
            }
            for uid in &self.card_uid_sha256 {
                if !is_hex(uid, 64) {
                    problem(
                        problems,
                        "staff.card_uid_sha256",
                        "each entry must be 64 hex digits (the SHA-256 of a staff card's UID, as `kiosk-hwtest reader` shows it), never the UID itself",
                    );
                }
            }
            for key in &self.token_public_keys {
                if !is_hex(key, 64) {
                    problem(
                        problems,
                        "staff.token_public_keys",
                        format!("'{key}' is not an Ed25519 public key as 64 hex digits"),
                    );
                }
            }
            StaffSection {
                pin_hash: self.pin_hash,
                card_uid_sha256: self
                    .card_uid_sha256
                    .into_iter()
                    .map(|uid| uid.to_ascii_lowercase())
                    .collect(),
                token_public_keys: self.token_public_keys,
            }
        }
    }

    impl Logging {
        fn check(self, problems: &mut Vec<Problem>) -> LoggingSection {
            let format = match self.format.as_str() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                other => {
                    problem(
                        problems,
                        "logging.format",
                        format!("'{other}' is neither \"json\" nor \"pretty\""),
                    );
                    LogFormat::Json
                }
            };
            LoggingSection { format }
        }
    }
}
