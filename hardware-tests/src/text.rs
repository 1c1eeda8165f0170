//! Every sentence the tool writes, in German and English side by side.
//!
//! A check returns a [`Reason`] (why it passed, failed or was skipped) and [`Fact`]s (what it
//! measured). Both are plain data with a stable machine code; the words are chosen only when
//! the report is rendered, so the JSON report carries the code *and* the sentence, and a
//! missing translation is a compile error, not a blank line.

use std::time::Duration;

use kiosk_printer::PaperLevel;

use crate::check::CheckId;
use crate::lang::Lang;
use crate::touch::DeadZone;

/// Why an I/O connection failed, in words a technician can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoCause {
    /// Nothing listens on the port.
    Refused,
    /// No answer at all.
    TimedOut,
    /// The device or host does not exist.
    NotFound,
    /// The kiosk user may not open it.
    PermissionDenied,
    /// Anything else; the operating system's message (log-safe, no card data).
    Other(String),
}

impl IoCause {
    /// Classifies an I/O error.
    pub fn from_io(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::ConnectionRefused => IoCause::Refused,
            std::io::ErrorKind::TimedOut => IoCause::TimedOut,
            std::io::ErrorKind::NotFound => IoCause::NotFound,
            std::io::ErrorKind::PermissionDenied => IoCause::PermissionDenied,
            _ => IoCause::Other(error.to_string()),
        }
    }

    fn text(&self, lang: Lang) -> String {
        match self {
            IoCause::Refused => lang
                .pick(
                    "Verbindung abgelehnt (nichts antwortet auf diesem Port)",
                    "connection refused (nothing answers on this port)",
                )
                .into(),
            IoCause::TimedOut => lang.pick("keine Antwort", "no answer").into(),
            IoCause::NotFound => lang.pick("Gerät nicht vorhanden", "no such device").into(),
            IoCause::PermissionDenied => lang
                .pick(
                    "keine Berechtigung (ist der Benutzer in der Gruppe lp bzw. dialout?)",
                    "permission denied (is the user in group lp or dialout?)",
                )
                .into(),
            IoCause::Other(message) => message.clone(),
        }
    }
}

/// The card types the reader check names (without the UID a UID-only card carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardType {
    /// Passport or ID card with an ICAO chip.
    Emrtd,
    /// German eID card.
    GermanEid,
    /// NFC Forum Type 4 tag.
    Type4Tag,
    /// NFC Forum Type 2 tag.
    Type2Tag,
    /// Phone with the kiosk app.
    Phone,
    /// A card that only has a UID (library card).
    UidOnly,
    /// Something else.
    Unknown,
}

impl CardType {
    /// The card layer's kind, without its data.
    pub fn of(kind: &kiosk_card::CardKind) -> Self {
        match kind {
            kiosk_card::CardKind::Emrtd => CardType::Emrtd,
            kiosk_card::CardKind::GermanEid => CardType::GermanEid,
            kiosk_card::CardKind::Type4Tag => CardType::Type4Tag,
            kiosk_card::CardKind::Type2Tag => CardType::Type2Tag,
            kiosk_card::CardKind::Phone => CardType::Phone,
            kiosk_card::CardKind::UidOnly { .. } => CardType::UidOnly,
            _ => CardType::Unknown,
        }
    }

    /// The card type in words.
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            CardType::Emrtd => lang.pick(
                "Reisepass oder Ausweis mit Chip (eMRTD)",
                "passport or ID card with chip (eMRTD)",
            ),
            CardType::GermanEid => lang.pick("Personalausweis (eID)", "German eID card"),
            CardType::Type4Tag => lang.pick("NFC-Tag Typ 4", "NFC Forum Type 4 tag"),
            CardType::Type2Tag => lang.pick("NFC-Tag Typ 2", "NFC Forum Type 2 tag"),
            CardType::Phone => lang.pick("Telefon mit Kiosk-App", "phone with the kiosk app"),
            CardType::UidOnly => lang.pick(
                "Karte nur mit Seriennummer (UID), z. B. Bibliotheksausweis",
                "card with a serial number (UID) only, e.g. a library card",
            ),
            CardType::Unknown => lang.pick("unbekannte Karte", "unknown card"),
        }
    }
}

fn card_error_text(kind: kiosk_card::ErrorKind, lang: Lang) -> &'static str {
    use kiosk_card::ErrorKind as K;
    match kind {
        K::NoCard => lang.pick("keine Karte auf dem Leser", "no card on the reader"),
        K::CardRemoved => lang.pick(
            "die Karte wurde während des Lesens entfernt",
            "the card was removed while it was read",
        ),
        K::NoReader => lang.pick(
            "der Leser ist nicht angeschlossen",
            "the reader is not connected",
        ),
        K::ServiceUnavailable => lang.pick(
            "der PC/SC-Dienst (pcscd) ist nicht erreichbar",
            "the PC/SC service (pcscd) cannot be reached",
        ),
        K::Unsupported => lang.pick("die Karte kann das nicht", "the card does not support this"),
        K::Timeout => lang.pick("die Karte antwortet nicht", "the card does not answer"),
        K::AuthenticationFailed => lang.pick(
            "Schlüssel oder Signatur passen nicht",
            "keys or signatures do not match",
        ),
        K::InvalidResponse => lang.pick(
            "die Karte schickt ungültige Antworten",
            "the card sends invalid answers",
        ),
        K::Expired => lang.pick("abgelaufen", "expired"),
        K::Cancelled => lang.pick("abgebrochen", "cancelled"),
        _ => lang.pick("Fehler im Kartenleser", "card reader error"),
    }
}

fn printer_problem_text(kind: kiosk_printer::ErrorKind, lang: Lang) -> &'static str {
    use kiosk_printer::ErrorKind as K;
    match kind {
        K::PaperOut => lang.pick("kein Papier", "out of paper"),
        K::CoverOpen => lang.pick("Deckel offen", "cover open"),
        K::CutterError => lang.pick("Schneidwerk-Fehler", "cutter error"),
        K::HardwareFault => lang.pick("Gerätefehler", "hardware fault"),
        K::Offline => lang.pick("offline", "offline"),
        K::Disconnected => lang.pick("Verbindung getrennt", "disconnected"),
        K::Protocol => lang.pick("unverständliche Antwort", "unintelligible answer"),
        K::InvalidReceipt => lang.pick("Druckauftrag ungültig", "invalid print job"),
        _ => lang.pick("Druckerfehler", "printer error"),
    }
}

/// How an interactive screen test ended without a full result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// The time limit passed.
    Timeout(Duration),
    /// The technician pressed Escape.
    Cancelled,
}

/// Why a check passed, failed or was skipped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    // --- any check -------------------------------------------------------------------
    /// The check did not finish within its time limit.
    TimedOut {
        /// The limit.
        timeout: Duration,
    },
    /// Not run because an earlier check did not pass.
    Blocked {
        /// The check it depends on.
        by: CheckId,
    },
    /// The check needs a person at the kiosk; the run was non-interactive.
    NeedsTechnician,
    /// Something in the tool itself went wrong.
    Internal {
        /// What (log-safe).
        message: String,
    },
    // --- reader ----------------------------------------------------------------------
    /// pcscd answers.
    PcscAvailable,
    /// pcscd is not running.
    PcscUnavailable,
    /// The kiosk has no reader according to its configuration.
    ReaderDisabled,
    /// A reader is connected.
    ReaderFound,
    /// No reader at all.
    NoReader,
    /// No reader matches the configured name.
    ReaderNotFound {
        /// The configured name part.
        filter: String,
        /// The readers that are there.
        available: Vec<String>,
    },
    /// The card answered and was identified.
    CardIdentified {
        /// Its type.
        card: CardType,
    },
    /// Interactive run: no card was put on within the wait.
    NoCardPresented {
        /// How long the tool waited.
        waited: Duration,
    },
    /// Non-interactive run: no card on the reader.
    NoCardPresent,
    /// The card is detected but does not answer APDUs.
    CardMute {
        /// The per-APDU limit.
        timeout: Duration,
    },
    /// The card left during the check.
    CardRemoved,
    /// Another card-layer error.
    CardError {
        /// The card layer's kind.
        kind: kiosk_card::ErrorKind,
    },
    /// The NDEF message was read.
    NdefRead {
        /// Number of records.
        records: usize,
    },
    /// The tag holds no NDEF records.
    NdefEmpty,
    /// Not an NFC tag: nothing to read.
    NotATag,
    /// The chip opened with PACE and DG1 was read.
    DocumentRead,
    /// PACE did not open the chip.
    PaceFailed,
    /// The document only does BAC, which needs the MRZ.
    BacOnly,
    /// No CAN given for a passport/ID card.
    NoCan,
    /// The given CAN is not 6 digits.
    InvalidCan,
    /// Not a passport/ID card.
    NotADocument,
    /// The phone's token checked out against a trusted issuer.
    PhoneVerified {
        /// The issuer's configured name.
        issuer: String,
    },
    /// The phone answered the protocol; no trusted issuer was configured to verify it.
    PhoneAnsweredUntrusted,
    /// The phone's token was rejected.
    PhoneRejected,
    /// The phone's credential has expired.
    PhoneExpired,
    /// No kiosk app on the card.
    NotAPhone,
    // --- printer ---------------------------------------------------------------------
    /// The printer connection is open.
    PrinterConnected,
    /// No printer given.
    NoPrinterConfigured,
    /// The kiosk has no printer according to its configuration.
    PrinterDisabled,
    /// The connection could not be opened.
    PrinterUnreachable {
        /// Address or device.
        endpoint: String,
        /// Why.
        cause: IoCause,
    },
    /// Ready to print.
    PrinterReady,
    /// Ready, but the paper roll is nearly used up.
    PaperNearEnd,
    /// No paper.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// Cutter jammed.
    CutterError,
    /// Error that needs service or a power cycle.
    HardwareFault,
    /// Reports itself offline for another reason.
    PrinterOffline,
    /// No answer to `DLE EOT`.
    PrinterMute {
        /// The per-request limit.
        timeout: Duration,
    },
    /// Garbage status bytes.
    PrinterProtocol,
    /// The connection dropped.
    PrinterDisconnected,
    /// The job stopped half-way.
    PrintInterrupted {
        /// Why.
        kind: kiosk_printer::ErrorKind,
    },
    /// The test page was sent and the printer reported no problem.
    TestPagePrinted,
    /// The technician confirmed the test page.
    TestPageConfirmed,
    /// The technician reported the test page faulty.
    TestPageRejected,
    /// The test page was not wanted.
    TestPageNotWanted,
    // --- touch / display ---------------------------------------------------------------
    /// Every cell of the grid reacted.
    AllCellsTapped {
        /// Number of cells.
        cells: usize,
    },
    /// Some cells never reacted.
    TouchIncomplete {
        /// Cells without a tap.
        untapped: usize,
        /// All cells.
        total: usize,
        /// Connected areas of untapped cells.
        zones: usize,
        /// How the test ended.
        end: EndCause,
    },
    /// No screen could be opened.
    NoDisplay {
        /// The windowing system's message.
        message: String,
    },
    /// The technician saw no display fault.
    DisplayConfirmed,
    /// The technician reported a display fault.
    DisplayFaultReported,
    /// The technician did not answer in time.
    NoAnswer {
        /// The limit.
        timeout: Duration,
    },
    /// The technician cancelled the screen test.
    Cancelled,
    // --- network ---------------------------------------------------------------------
    /// No portal URL given.
    NoPortal,
    /// The host name resolved.
    Resolved,
    /// The portal is given as an IP address.
    IpLiteral,
    /// The host name does not resolve.
    DnsFailed {
        /// The host name.
        host: String,
    },
    /// TLS handshake done, certificate valid.
    TlsOk,
    /// Nothing listens on the portal's port.
    ConnectionRefused {
        /// host:port.
        address: String,
    },
    /// The TCP connection failed otherwise.
    ConnectFailed {
        /// host:port.
        address: String,
        /// Why.
        cause: IoCause,
    },
    /// The certificate did not validate.
    CertificateUntrusted {
        /// rustls' explanation.
        message: String,
    },
    /// The handshake failed for another reason.
    TlsFailed {
        /// rustls' explanation.
        message: String,
    },
    /// `http://` on loopback (demo): nothing to encrypt.
    PlainHttpLoopback,
    /// The clock is within the limit.
    ClockOk {
        /// Kiosk minus server, seconds.
        skew_seconds: i64,
    },
    /// The clock is off.
    ClockSkew {
        /// Kiosk minus server, seconds.
        skew_seconds: i64,
        /// The allowed difference.
        max: Duration,
    },
    /// The answer had no usable `Date` header.
    NoDateHeader,
    /// No HTTP answer after the handshake.
    NoHttpAnswer {
        /// Why.
        message: String,
    },
}

fn skew_words(skew_seconds: i64, lang: Lang) -> String {
    let amount = lang.duration(Duration::from_secs(skew_seconds.unsigned_abs()));
    match (skew_seconds.signum(), lang) {
        (0, Lang::De) => "0 s".into(),
        (0, Lang::En) => "0 s".into(),
        (1, Lang::De) => format!("{amount} vor"),
        (1, Lang::En) => format!("{amount} ahead"),
        (_, Lang::De) => format!("{amount} nach"),
        (_, Lang::En) => format!("{amount} behind"),
    }
}

impl Reason {
    /// The stable code for the JSON report.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::TimedOut { .. } => "timed_out",
            Reason::Blocked { .. } => "blocked",
            Reason::NeedsTechnician => "needs_technician",
            Reason::Internal { .. } => "internal_error",
            Reason::PcscAvailable => "pcsc_available",
            Reason::PcscUnavailable => "pcsc_unavailable",
            Reason::ReaderDisabled => "reader_disabled",
            Reason::ReaderFound => "reader_found",
            Reason::NoReader => "no_reader",
            Reason::ReaderNotFound { .. } => "reader_not_found",
            Reason::CardIdentified { .. } => "card_identified",
            Reason::NoCardPresented { .. } => "no_card_presented",
            Reason::NoCardPresent => "no_card_present",
            Reason::CardMute { .. } => "card_mute",
            Reason::CardRemoved => "card_removed",
            Reason::CardError { .. } => "card_error",
            Reason::NdefRead { .. } => "ndef_read",
            Reason::NdefEmpty => "ndef_empty",
            Reason::NotATag => "not_a_tag",
            Reason::DocumentRead => "document_read",
            Reason::PaceFailed => "pace_failed",
            Reason::BacOnly => "bac_only",
            Reason::NoCan => "no_can",
            Reason::InvalidCan => "invalid_can",
            Reason::NotADocument => "not_a_document",
            Reason::PhoneVerified { .. } => "phone_verified",
            Reason::PhoneAnsweredUntrusted => "phone_answered_untrusted",
            Reason::PhoneRejected => "phone_rejected",
            Reason::PhoneExpired => "phone_expired",
            Reason::NotAPhone => "not_a_phone",
            Reason::PrinterConnected => "printer_connected",
            Reason::NoPrinterConfigured => "no_printer_configured",
            Reason::PrinterDisabled => "printer_disabled",
            Reason::PrinterUnreachable { .. } => "printer_unreachable",
            Reason::PrinterReady => "printer_ready",
            Reason::PaperNearEnd => "paper_near_end",
            Reason::PaperOut => "paper_out",
            Reason::CoverOpen => "cover_open",
            Reason::CutterError => "cutter_error",
            Reason::HardwareFault => "hardware_fault",
            Reason::PrinterOffline => "printer_offline",
            Reason::PrinterMute { .. } => "printer_mute",
            Reason::PrinterProtocol => "printer_protocol",
            Reason::PrinterDisconnected => "printer_disconnected",
            Reason::PrintInterrupted { .. } => "print_interrupted",
            Reason::TestPagePrinted => "test_page_printed",
            Reason::TestPageConfirmed => "test_page_confirmed",
            Reason::TestPageRejected => "test_page_rejected",
            Reason::TestPageNotWanted => "test_page_not_wanted",
            Reason::AllCellsTapped { .. } => "all_cells_tapped",
            Reason::TouchIncomplete { .. } => "touch_incomplete",
            Reason::NoDisplay { .. } => "no_display",
            Reason::DisplayConfirmed => "display_confirmed",
            Reason::DisplayFaultReported => "display_fault_reported",
            Reason::NoAnswer { .. } => "no_answer",
            Reason::Cancelled => "cancelled",
            Reason::NoPortal => "no_portal",
            Reason::Resolved => "resolved",
            Reason::IpLiteral => "ip_literal",
            Reason::DnsFailed { .. } => "dns_failed",
            Reason::TlsOk => "tls_ok",
            Reason::ConnectionRefused { .. } => "connection_refused",
            Reason::ConnectFailed { .. } => "connect_failed",
            Reason::CertificateUntrusted { .. } => "certificate_untrusted",
            Reason::TlsFailed { .. } => "tls_failed",
            Reason::PlainHttpLoopback => "plain_http_loopback",
            Reason::ClockOk { .. } => "clock_ok",
            Reason::ClockSkew { .. } => "clock_skew",
            Reason::NoDateHeader => "no_date_header",
            Reason::NoHttpAnswer { .. } => "no_http_answer",
        }
    }

    /// The sentence for the report.
    pub fn text(&self, lang: Lang) -> String {
        let d = |duration: &Duration| lang.duration(*duration);
        match self {
            Reason::TimedOut { timeout } => match lang {
                Lang::De => format!("Keine Rückmeldung innerhalb von {} (Zeitlimit).", d(timeout)),
                Lang::En => format!("No result within {} (time limit).", d(timeout)),
            },
            Reason::Blocked { by } => match lang {
                Lang::De => format!(
                    "Nicht geprüft, weil „{}“ nicht bestanden wurde.",
                    by.title(lang)
                ),
                Lang::En => format!("Not checked because “{}” did not pass.", by.title(lang)),
            },
            Reason::NeedsTechnician => lang
                .pick(
                    "Braucht einen Techniker vor dem Kiosk; dieser Lauf stellt keine Rückfragen \
                     (--yes). Ohne --yes im Terminal starten, um es zu prüfen.",
                    "Needs a technician in front of the kiosk; this run asks no questions \
                     (--yes). Run it in a terminal without --yes to check it.",
                )
                .into(),
            Reason::Internal { message } => match lang {
                Lang::De => format!("Interner Fehler des Prüfprogramms: {message}"),
                Lang::En => format!("Internal error of the test tool: {message}"),
            },
            Reason::PcscAvailable => lang
                .pick(
                    "Der PC/SC-Dienst (pcscd) antwortet.",
                    "The PC/SC service (pcscd) answers.",
                )
                .into(),
            Reason::PcscUnavailable => lang
                .pick(
                    "Der PC/SC-Dienst (pcscd) läuft nicht oder ist nicht erreichbar. \
                     Starten Sie ihn mit „systemctl start pcscd“.",
                    "The PC/SC service (pcscd) is not running or cannot be reached. \
                     Start it with `systemctl start pcscd`.",
                )
                .into(),
            Reason::ReaderDisabled => lang
                .pick(
                    "Der Kiosk hat laut Konfiguration keinen Kartenleser ([reader] enabled = false).",
                    "The kiosk has no card reader according to its configuration \
                     ([reader] enabled = false).",
                )
                .into(),
            Reason::ReaderFound => lang
                .pick("Kartenleser gefunden.", "Card reader found.")
                .into(),
            Reason::NoReader => lang
                .pick(
                    "Kein Kartenleser angeschlossen. Prüfen Sie das USB-Kabel des Lesers und \
                     ob der Leser leuchtet.",
                    "No card reader is connected. Check the reader's USB cable and whether the \
                     reader's light is on.",
                )
                .into(),
            Reason::ReaderNotFound { filter, available } => {
                let present = if available.is_empty() {
                    lang.pick("keiner", "none").to_owned()
                } else {
                    available
                        .iter()
                        .map(|name| format!("„{name}“"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match lang {
                    Lang::De => format!(
                        "Kein Kartenleser mit „{filter}“ im Namen gefunden (angeschlossen: \
                         {present}). Prüfen Sie das Kabel oder den Namen ([reader] name / \
                         --reader)."
                    ),
                    Lang::En => format!(
                        "No card reader with “{filter}” in its name (connected: {present}). \
                         Check the cable or the name ([reader] name / --reader)."
                    ),
                }
            }
            Reason::CardIdentified { card } => match lang {
                Lang::De => format!("Karte antwortet: {}.", card.text(lang)),
                Lang::En => format!("The card answers: {}.", card.text(lang)),
            },
            Reason::NoCardPresented { waited } => match lang {
                Lang::De => format!(
                    "Keine Karte innerhalb von {} aufgelegt. Legen Sie eine Testkarte mittig \
                     auf den Leser; wird sie nicht erkannt, ist das Funkfeld oder der Leser \
                     defekt.",
                    d(waited)
                ),
                Lang::En => format!(
                    "No card was put on within {}. Put a test card in the middle of the \
                     reader; if it is not detected, the reader or its antenna is faulty.",
                    d(waited)
                ),
            },
            Reason::NoCardPresent => lang
                .pick(
                    "Keine Karte auf dem Leser. Legen Sie eine Testkarte auf, um Karte und \
                     Funkfeld zu prüfen.",
                    "No card on the reader. Put a test card on it to check the card and the \
                     reader's field.",
                )
                .into(),
            Reason::CardMute { timeout } => match lang {
                Lang::De => format!(
                    "Die Karte wird erkannt, antwortet aber nicht (keine Antwort innerhalb von \
                     {}). Nehmen Sie die Karte ab und legen Sie sie neu auf; bleibt es so, ist \
                     die Karte oder der Leser defekt.",
                    d(timeout)
                ),
                Lang::En => format!(
                    "The card is detected but does not answer (no answer within {}). Take it \
                     off and put it back; if it stays like this, the card or the reader is \
                     faulty.",
                    d(timeout)
                ),
            },
            Reason::CardRemoved => lang
                .pick(
                    "Die Karte wurde während der Prüfung entfernt. Lassen Sie sie liegen, bis \
                     die Prüfung fertig ist.",
                    "The card was removed during the check. Leave it on the reader until the \
                     check has finished.",
                )
                .into(),
            Reason::CardError { kind } => match lang {
                Lang::De => format!("Fehler beim Lesen der Karte: {}.", card_error_text(*kind, lang)),
                Lang::En => format!("Error reading the card: {}.", card_error_text(*kind, lang)),
            },
            Reason::NdefRead { records } => match lang {
                Lang::De => format!("NDEF-Nachricht gelesen ({records} Datensätze)."),
                Lang::En => format!("NDEF message read ({records} records)."),
            },
            Reason::NdefEmpty => lang
                .pick(
                    "Das Tag ist lesbar, aber leer (keine NDEF-Datensätze).",
                    "The tag is readable but empty (no NDEF records).",
                )
                .into(),
            Reason::NotATag => lang
                .pick(
                    "Die Karte ist kein NFC-Tag; nichts zu lesen.",
                    "The card is not an NFC tag; nothing to read.",
                )
                .into(),
            Reason::DocumentRead => lang
                .pick(
                    "Chip mit PACE geöffnet und gelesen; angezeigt werden nur Dokumentart und \
                     Ablaufdatum.",
                    "Chip opened with PACE and read; only the document type and expiry are \
                     shown.",
                )
                .into(),
            Reason::PaceFailed => lang
                .pick(
                    "PACE hat den Chip nicht geöffnet. Ist die CAN richtig (6 Ziffern vorne \
                     auf dem Dokument)?",
                    "PACE did not open the chip. Is the CAN right (6 digits on the front of \
                     the document)?",
                )
                .into(),
            Reason::BacOnly => lang
                .pick(
                    "Das Dokument kann nur BAC, das die MRZ-Daten statt der CAN braucht; \
                     nehmen Sie ein Testdokument mit PACE.",
                    "The document only supports BAC, which needs the MRZ data instead of the \
                     CAN; use a test document with PACE.",
                )
                .into(),
            Reason::NoCan => lang
                .pick(
                    "Keine CAN angegeben (Eingabe im Dialog oder Umgebungsvariable \
                     KIOSK_HWTEST_CAN); der Chip wurde nicht geöffnet.",
                    "No CAN given (asked in the dialogue, or environment variable \
                     KIOSK_HWTEST_CAN); the chip was not opened.",
                )
                .into(),
            Reason::InvalidCan => lang
                .pick(
                    "Die CAN muss aus genau 6 Ziffern bestehen.",
                    "The CAN must be exactly 6 digits.",
                )
                .into(),
            Reason::NotADocument => lang
                .pick(
                    "Die Karte ist kein Reisepass oder Ausweis mit Chip.",
                    "The card is not a passport or ID card with a chip.",
                )
                .into(),
            Reason::PhoneVerified { issuer } => match lang {
                Lang::De => format!(
                    "Das Telefon antwortet über NFC; sein Nachweis ist gültig (Aussteller: \
                     {issuer})."
                ),
                Lang::En => format!(
                    "The phone answers over NFC; its credential is valid (issuer: {issuer})."
                ),
            },
            Reason::PhoneAnsweredUntrusted => lang
                .pick(
                    "Das Telefon antwortet über NFC mit einem Nachweis; dieser wurde nicht \
                     geprüft, weil kein Aussteller-Schlüssel angegeben ist (--phone-issuer).",
                    "The phone answers over NFC with a credential; it was not verified because \
                     no issuer key was given (--phone-issuer).",
                )
                .into(),
            Reason::PhoneRejected => lang
                .pick(
                    "Das Telefon antwortet, aber sein Nachweis wurde abgelehnt (siehe \
                     Treibermeldung).",
                    "The phone answers, but its credential was rejected (see the driver \
                     message).",
                )
                .into(),
            Reason::PhoneExpired => lang
                .pick(
                    "Der Nachweis auf dem Telefon ist abgelaufen; in der App erneuern.",
                    "The credential on the phone has expired; refresh it in the app.",
                )
                .into(),
            Reason::NotAPhone => lang
                .pick(
                    "Keine Kiosk-App auf der Karte bzw. dem Telefon.",
                    "No kiosk app on the card or phone.",
                )
                .into(),
            Reason::PrinterConnected => lang
                .pick("Verbindung zum Drucker steht.", "Connected to the printer.")
                .into(),
            Reason::NoPrinterConfigured => lang
                .pick(
                    "Kein Drucker angegeben. Geben Sie --printer tcp://HOST:9100, \
                     /dev/usb/lp0 oder serial:/dev/ttyS0:19200 an, oder --config mit \
                     [printer] connection.",
                    "No printer given. Pass --printer tcp://HOST:9100, /dev/usb/lp0 or \
                     serial:/dev/ttyS0:19200, or --config with [printer] connection.",
                )
                .into(),
            Reason::PrinterDisabled => lang
                .pick(
                    "Der Kiosk hat laut Konfiguration keinen Drucker ([printer] enabled = false).",
                    "The kiosk has no printer according to its configuration \
                     ([printer] enabled = false).",
                )
                .into(),
            Reason::PrinterUnreachable { endpoint, cause } => match lang {
                Lang::De => format!(
                    "Keine Verbindung zum Drucker {endpoint}: {}. Prüfen Sie Strom, Kabel und \
                     Adresse.",
                    cause.text(lang)
                ),
                Lang::En => format!(
                    "Cannot connect to the printer {endpoint}: {}. Check power, cable and \
                     address.",
                    cause.text(lang)
                ),
            },
            Reason::PrinterReady => lang
                .pick("Drucker ist bereit.", "The printer is ready.")
                .into(),
            Reason::PaperNearEnd => lang
                .pick(
                    "Drucker ist bereit, aber das Papier geht zu Ende: bald eine neue Rolle \
                     einlegen.",
                    "The printer is ready, but the paper is nearly used up: load a new roll \
                     soon.",
                )
                .into(),
            Reason::PaperOut => lang
                .pick(
                    "Kein Papier: Legen Sie eine neue Rolle ein.",
                    "Out of paper: load a new roll.",
                )
                .into(),
            Reason::CoverOpen => lang
                .pick(
                    "Der Deckel ist offen: Schließen Sie den Deckel.",
                    "The cover is open: close the cover.",
                )
                .into(),
            Reason::CutterError => lang
                .pick(
                    "Fehler im Schneidwerk: Papierstau beseitigen, Drucker aus- und \
                     einschalten.",
                    "Cutter error: clear the paper jam, switch the printer off and on.",
                )
                .into(),
            Reason::HardwareFault => lang
                .pick(
                    "Der Drucker meldet einen Fehler, der einen Neustart oder den Service \
                     braucht.",
                    "The printer reports an error that needs a restart or service.",
                )
                .into(),
            Reason::PrinterOffline => lang
                .pick(
                    "Der Drucker meldet sich offline (z. B. Taste „Vorschub“ gedrückt oder \
                     Druckkopf zu heiß).",
                    "The printer reports itself offline (e.g. feed button held or print head \
                     too hot).",
                )
                .into(),
            Reason::PrinterMute { timeout } => match lang {
                Lang::De => format!(
                    "Der Drucker antwortet nicht auf die Statusabfrage (DLE EOT) innerhalb von \
                     {}: Strom und Kabel prüfen; ist es ein ESC/POS-Drucker?",
                    d(timeout)
                ),
                Lang::En => format!(
                    "The printer does not answer the status request (DLE EOT) within {}: \
                     check power and cable; is it an ESC/POS printer?",
                    d(timeout)
                ),
            },
            Reason::PrinterProtocol => lang
                .pick(
                    "Der Drucker antwortet mit unverständlichen Statusbytes: Ist es ein \
                     ESC/POS-Drucker, und spricht kein anderes Programm mit ihm?",
                    "The printer answers with unintelligible status bytes: is it an ESC/POS \
                     printer, and is no other program talking to it?",
                )
                .into(),
            Reason::PrinterDisconnected => lang
                .pick(
                    "Die Verbindung zum Drucker ist abgebrochen.",
                    "The connection to the printer broke off.",
                )
                .into(),
            Reason::PrintInterrupted { kind } => match lang {
                Lang::De => format!(
                    "Der Druck wurde unterbrochen ({}); die Seite ist unvollständig.",
                    printer_problem_text(*kind, lang)
                ),
                Lang::En => format!(
                    "Printing stopped ({}); the page is incomplete.",
                    printer_problem_text(*kind, lang)
                ),
            },
            Reason::TestPagePrinted => lang
                .pick(
                    "Testseite gedruckt. Prüfen Sie: alle Zeichen lesbar, Lineal bis an beide \
                     Ränder, Logo, QR-Code lesbar, Papier abgeschnitten.",
                    "Test page printed. Check: every character readable, ruler reaches both \
                     edges, logo, QR code scans, paper cut.",
                )
                .into(),
            Reason::TestPageConfirmed => lang
                .pick(
                    "Testseite gedruckt und vom Techniker als einwandfrei bestätigt.",
                    "Test page printed and confirmed as flawless by the technician.",
                )
                .into(),
            Reason::TestPageRejected => lang
                .pick(
                    "Der Techniker hat die Testseite als fehlerhaft gemeldet (Druckkopf, \
                     Papier oder Schneidwerk prüfen).",
                    "The technician reported the test page as faulty (check print head, paper \
                     and cutter).",
                )
                .into(),
            Reason::TestPageNotWanted => lang
                .pick("Keine Testseite gewünscht.", "No test page wanted.")
                .into(),
            Reason::AllCellsTapped { cells } => match lang {
                Lang::De => format!("Alle {cells} Felder haben auf Berührung reagiert."),
                Lang::En => format!("All {cells} cells reacted to touch."),
            },
            Reason::TouchIncomplete {
                untapped,
                total,
                zones,
                end,
            } => {
                let ended = match (end, lang) {
                    (EndCause::Timeout(limit), Lang::De) => {
                        format!("Zeit abgelaufen ({})", d(limit))
                    }
                    (EndCause::Timeout(limit), Lang::En) => {
                        format!("time limit reached ({})", d(limit))
                    }
                    (EndCause::Cancelled, _) => lang
                        .pick("mit Esc abgebrochen", "cancelled with Esc")
                        .into(),
                };
                match lang {
                    Lang::De => format!(
                        "{untapped} von {total} Feldern haben nicht reagiert ({zones} \
                         Totzone(n); {ended}). Sind die Bereiche verschmutzt oder ist der \
                         Touch-Rahmen defekt?"
                    ),
                    Lang::En => format!(
                        "{untapped} of {total} cells did not react ({zones} dead zone(s); \
                         {ended}). Are those areas dirty, or is the touch frame faulty?"
                    ),
                }
            }
            Reason::NoDisplay { message } => match lang {
                Lang::De => format!(
                    "Kein Bildschirm verfügbar ({message}). Läuft eine grafische Sitzung \
                     (Wayland/X11) für dieses Programm?"
                ),
                Lang::En => format!(
                    "No screen available ({message}). Is a graphical session (Wayland/X11) \
                     running for this program?"
                ),
            },
            Reason::DisplayConfirmed => lang
                .pick(
                    "Der Techniker hat Farbbalken, Verläufe, Schwarz und Weiß als fehlerfrei \
                     bestätigt.",
                    "The technician confirmed colour bars, gradients, black and white as \
                     flawless.",
                )
                .into(),
            Reason::DisplayFaultReported => lang
                .pick(
                    "Der Techniker hat einen Anzeigefehler gemeldet (falsche Farben, Streifen \
                     oder Pixelfehler).",
                    "The technician reported a display fault (wrong colours, stripes or dead \
                     pixels).",
                )
                .into(),
            Reason::NoAnswer { timeout } => match lang {
                Lang::De => format!("Keine Antwort innerhalb von {}.", d(timeout)),
                Lang::En => format!("No answer within {}.", d(timeout)),
            },
            Reason::Cancelled => lang
                .pick("Mit Esc abgebrochen.", "Cancelled with Esc.")
                .into(),
            Reason::NoPortal => lang
                .pick(
                    "Keine Portal-Adresse angegeben: --portal https://… oder --config mit \
                     [portal] url.",
                    "No portal address given: --portal https://… or --config with \
                     [portal] url.",
                )
                .into(),
            Reason::Resolved => lang
                .pick("Der Name des Portals ist aufgelöst.", "The portal's name resolved.")
                .into(),
            Reason::IpLiteral => lang
                .pick(
                    "Die Portal-Adresse ist eine IP-Adresse; keine Namensauflösung nötig.",
                    "The portal address is an IP address; no name lookup needed.",
                )
                .into(),
            Reason::DnsFailed { host } => match lang {
                Lang::De => format!(
                    "Der Name {host} lässt sich nicht auflösen. Prüfen Sie Netzwerkkabel, \
                     DNS-Server und die Portal-Adresse."
                ),
                Lang::En => format!(
                    "The name {host} does not resolve. Check the network cable, the DNS \
                     server and the portal address."
                ),
            },
            Reason::TlsOk => lang
                .pick(
                    "TLS-Verbindung zum Portal aufgebaut; das Zertifikat ist gültig.",
                    "TLS connection to the portal established; the certificate is valid.",
                )
                .into(),
            Reason::ConnectionRefused { address } => match lang {
                Lang::De => format!(
                    "Verbindung zu {address} abgelehnt: Läuft das Portal, stimmt der Port, \
                     sperrt eine Firewall?"
                ),
                Lang::En => format!(
                    "Connection to {address} refused: is the portal running, is the port \
                     right, does a firewall block it?"
                ),
            },
            Reason::ConnectFailed { address, cause } => match lang {
                Lang::De => format!(
                    "Keine Verbindung zu {address}: {}. Netzwerkkabel, Router und Firewall \
                     prüfen.",
                    cause.text(lang)
                ),
                Lang::En => format!(
                    "Cannot connect to {address}: {}. Check the network cable, router and \
                     firewall.",
                    cause.text(lang)
                ),
            },
            Reason::CertificateUntrusted { message } => match lang {
                Lang::De => format!(
                    "Das Zertifikat des Portals wird nicht anerkannt ({message}). Stimmt die \
                     Uhrzeit? Fehlt das Stammzertifikat (--ca-file / [portal] extra_roots)? \
                     Fängt ein Proxy die Verbindung ab?"
                ),
                Lang::En => format!(
                    "The portal's certificate is not accepted ({message}). Is the clock \
                     right? Is the root certificate missing (--ca-file / [portal] \
                     extra_roots)? Does a proxy intercept the connection?"
                ),
            },
            Reason::TlsFailed { message } => match lang {
                Lang::De => format!("TLS-Verbindung gescheitert: {message}."),
                Lang::En => format!("TLS connection failed: {message}."),
            },
            Reason::PlainHttpLoopback => lang
                .pick(
                    "Das Portal ist unverschlüsseltes http auf diesem Rechner (Demo-Betrieb); \
                     es gibt kein TLS zu prüfen.",
                    "The portal is plain http on this machine (demo mode); there is no TLS to \
                     check.",
                )
                .into(),
            Reason::ClockOk { skew_seconds } => match lang {
                Lang::De => format!(
                    "Die Uhr stimmt mit dem Portal überein (Abweichung {}).",
                    skew_words(*skew_seconds, lang)
                ),
                Lang::En => format!(
                    "The clock agrees with the portal (difference {}).",
                    skew_words(*skew_seconds, lang)
                ),
            },
            Reason::ClockSkew { skew_seconds, max } => match lang {
                Lang::De => format!(
                    "Die Uhr des Kiosks geht {} (erlaubt sind {}). Zeitsynchronisation (NTP) \
                     prüfen: timedatectl.",
                    skew_words(*skew_seconds, lang),
                    d(max)
                ),
                Lang::En => format!(
                    "The kiosk's clock is {} (allowed: {}). Check time synchronisation \
                     (NTP): timedatectl.",
                    skew_words(*skew_seconds, lang),
                    d(max)
                ),
            },
            Reason::NoDateHeader => lang
                .pick(
                    "Das Portal hat kein lesbares Datum (Date-Kopfzeile) geschickt; die Uhr \
                     lässt sich nicht vergleichen.",
                    "The portal sent no readable date (Date header); the clock cannot be \
                     compared.",
                )
                .into(),
            Reason::NoHttpAnswer { message } => match lang {
                Lang::De => format!("Keine HTTP-Antwort vom Portal: {message}."),
                Lang::En => format!("No HTTP answer from the portal: {message}."),
            },
        }
    }
}

/// Summary of one NDEF record without content that could be personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdefSummary {
    /// A URI; only scheme and host are kept.
    Uri {
        /// `https://example.org` (or the scheme alone).
        origin: String,
    },
    /// A text; only its language and length.
    Text {
        /// Language code.
        language: String,
        /// Number of characters.
        chars: usize,
    },
    /// A media-type record.
    Mime {
        /// The media type.
        media_type: String,
        /// Payload length.
        bytes: usize,
    },
    /// An NFC Forum external type.
    External {
        /// The type name.
        record_type: String,
        /// Payload length.
        bytes: usize,
    },
    /// An empty record.
    Empty,
    /// Anything else, or a malformed record.
    Other,
}

/// The paper level in words.
fn paper_text(level: PaperLevel, lang: Lang) -> &'static str {
    match level {
        PaperLevel::Adequate => lang.pick("ausreichend", "adequate"),
        PaperLevel::NearEnd => lang.pick("geht zu Ende", "near end"),
        PaperLevel::Out => lang.pick("leer", "out"),
    }
}

/// Something a check measured, shown as "label: value".
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fact {
    /// The PC/SC driver serving the reader.
    Driver(String),
    /// The card's ATR (hex; describes the card type, not the person).
    Atr(String),
    /// The card's type.
    Card(CardType),
    /// The UID: only its length and a hash salted per run.
    Uid {
        /// Length in bytes.
        length: usize,
        /// First 16 hex digits of SHA-256(salt ‖ UID).
        salted_hash: String,
    },
    /// One NDEF record.
    NdefRecord(NdefSummary),
    /// eMRTD document code (`P`, `ID`, ...).
    DocumentType(String),
    /// eMRTD date of expiry and whether it has passed.
    DocumentExpiry {
        /// `YYYY-MM-DD`.
        date: String,
        /// Past today.
        expired: bool,
    },
    /// Passive authentication result.
    ChipAuthenticity {
        /// Verified against a configured CSCA.
        verified: bool,
    },
    /// What a phone credential is about (appointment / identity), never its content.
    PhoneCredential {
        /// `true` for identity attributes, `false` for an appointment.
        identity: bool,
    },
    /// The driver's log-safe detail (English).
    DriverMessage(String),
    /// Printer address or device.
    Endpoint(String),
    /// Printer profile used for layout.
    Profile(String),
    /// DLE EOT 1 bit 3.
    Online(bool),
    /// DLE EOT 2 bit 2.
    CoverOpen(bool),
    /// DLE EOT 2 bit 5 / DLE EOT 4.
    Paper(PaperLevel),
    /// DLE EOT 3 bit 3.
    CutterError(bool),
    /// DLE EOT 3 bit 5.
    UnrecoverableError(bool),
    /// DLE EOT 3 bit 6.
    AutoRecoverableError(bool),
    /// Size of the test page job.
    JobBytes(usize),
    /// Code pages the test page used.
    CodePages(Vec<String>),
    /// Touch grid size.
    Grid {
        /// Columns.
        columns: usize,
        /// Rows.
        rows: usize,
    },
    /// Taps registered.
    Taps(usize),
    /// One dead zone.
    DeadZone(DeadZone),
    /// Portal host and port.
    Portal(String),
    /// Addresses a name resolved to.
    Addresses(Vec<String>),
    /// Negotiated TLS version.
    TlsVersion(String),
    /// Negotiated cipher suite.
    CipherSuite(String),
    /// HTTP status of the answer.
    HttpStatus(u16),
    /// The server's `Date`.
    ServerDate(String),
    /// The kiosk's time when the answer arrived.
    KioskDate(String),
}

impl Fact {
    /// The stable key for the JSON report.
    pub fn key(&self) -> &'static str {
        match self {
            Fact::Driver(_) => "driver",
            Fact::Atr(_) => "atr",
            Fact::Card(_) => "card_type",
            Fact::Uid { .. } => "uid",
            Fact::NdefRecord(_) => "ndef_record",
            Fact::DocumentType(_) => "document_type",
            Fact::DocumentExpiry { .. } => "document_expiry",
            Fact::ChipAuthenticity { .. } => "chip_authenticity",
            Fact::PhoneCredential { .. } => "phone_credential",
            Fact::DriverMessage(_) => "driver_message",
            Fact::Endpoint(_) => "endpoint",
            Fact::Profile(_) => "profile",
            Fact::Online(_) => "status_online",
            Fact::CoverOpen(_) => "status_cover",
            Fact::Paper(_) => "status_paper",
            Fact::CutterError(_) => "status_cutter",
            Fact::UnrecoverableError(_) => "status_unrecoverable_error",
            Fact::AutoRecoverableError(_) => "status_auto_recoverable_error",
            Fact::JobBytes(_) => "job_bytes",
            Fact::CodePages(_) => "code_pages",
            Fact::Grid { .. } => "grid",
            Fact::Taps(_) => "taps",
            Fact::DeadZone(_) => "dead_zone",
            Fact::Portal(_) => "portal",
            Fact::Addresses(_) => "addresses",
            Fact::TlsVersion(_) => "tls_version",
            Fact::CipherSuite(_) => "cipher_suite",
            Fact::HttpStatus(_) => "http_status",
            Fact::ServerDate(_) => "server_date",
            Fact::KioskDate(_) => "kiosk_date",
        }
    }

    /// The label in the report.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Fact::Driver(_) => lang.pick("Treiber", "Driver"),
            Fact::Atr(_) => "ATR",
            Fact::Card(_) => lang.pick("Kartentyp", "Card type"),
            Fact::Uid { .. } => "UID",
            Fact::NdefRecord(_) => lang.pick("NDEF-Datensatz", "NDEF record"),
            Fact::DocumentType(_) => lang.pick("Dokumentart", "Document type"),
            Fact::DocumentExpiry { .. } => lang.pick("Gültig bis", "Valid until"),
            Fact::ChipAuthenticity { .. } => lang.pick("Echtheit (Chip)", "Authenticity (chip)"),
            Fact::PhoneCredential { .. } => lang.pick("Nachweis", "Credential"),
            Fact::DriverMessage(_) => lang.pick("Treibermeldung", "Driver message"),
            Fact::Endpoint(_) => lang.pick("Anschluss", "Connection"),
            Fact::Profile(_) => lang.pick("Druckerprofil", "Printer profile"),
            Fact::Online(_) => lang.pick("Online", "Online"),
            Fact::CoverOpen(_) => lang.pick("Deckel", "Cover"),
            Fact::Paper(_) => lang.pick("Papier", "Paper"),
            Fact::CutterError(_) => lang.pick("Schneidwerk", "Cutter"),
            Fact::UnrecoverableError(_) => lang.pick("Schwerer Fehler", "Unrecoverable error"),
            Fact::AutoRecoverableError(_) => lang.pick(
                "Vorübergehender Fehler (z. B. Kopf zu heiß)",
                "Temporary error (e.g. head too hot)",
            ),
            Fact::JobBytes(_) => lang.pick("Gesendet", "Sent"),
            Fact::CodePages(_) => lang.pick("Codepages", "Code pages"),
            Fact::Grid { .. } => lang.pick("Raster", "Grid"),
            Fact::Taps(_) => lang.pick("Berührungen", "Taps"),
            Fact::DeadZone(_) => lang.pick("Totzone", "Dead zone"),
            Fact::Portal(_) => "Portal",
            Fact::Addresses(_) => lang.pick("Adressen", "Addresses"),
            Fact::TlsVersion(_) => lang.pick("TLS-Version", "TLS version"),
            Fact::CipherSuite(_) => lang.pick("Verschlüsselung", "Cipher suite"),
            Fact::HttpStatus(_) => lang.pick("HTTP-Status", "HTTP status"),
            Fact::ServerDate(_) => lang.pick("Zeit des Portals", "Portal time"),
            Fact::KioskDate(_) => lang.pick("Zeit des Kiosks", "Kiosk time"),
        }
    }

    /// The value in the report.
    pub fn value(&self, lang: Lang) -> String {
        match self {
            Fact::Driver(text)
            | Fact::Atr(text)
            | Fact::DriverMessage(text)
            | Fact::Endpoint(text)
            | Fact::Profile(text)
            | Fact::Portal(text)
            | Fact::TlsVersion(text)
            | Fact::CipherSuite(text)
            | Fact::ServerDate(text)
            | Fact::KioskDate(text) => text.clone(),
            Fact::Card(card) => card.text(lang).into(),
            Fact::Uid {
                length,
                salted_hash,
            } => match lang {
                Lang::De => {
                    format!("{length} Bytes gelesen; nur als Hash mit Einmal-Salz: {salted_hash}")
                }
                Lang::En => {
                    format!(
                        "{length} bytes read; shown only as a hash with a one-time salt: {salted_hash}"
                    )
                }
            },
            Fact::NdefRecord(summary) => match summary {
                NdefSummary::Uri { origin } => format!("URI {origin}/…"),
                NdefSummary::Text { language, chars } => match lang {
                    Lang::De => format!("Text ({language}, {chars} Zeichen)"),
                    Lang::En => format!("text ({language}, {chars} characters)"),
                },
                NdefSummary::Mime { media_type, bytes } => {
                    format!("{media_type} ({bytes} Bytes)")
                }
                NdefSummary::External { record_type, bytes } => {
                    format!("{record_type} ({bytes} Bytes)")
                }
                NdefSummary::Empty => lang.pick("leer", "empty").into(),
                NdefSummary::Other => lang.pick("anderer Typ", "other type").into(),
            },
            Fact::DocumentType(code) => {
                let kind = match code.chars().next() {
                    Some('P') => lang.pick("Reisepass", "passport"),
                    Some('I' | 'A' | 'C') => lang.pick("Ausweis", "identity card"),
                    Some('V') => lang.pick("Visum", "visa"),
                    _ => lang.pick("Reisedokument", "travel document"),
                };
                format!("{kind} ({code})")
            }
            Fact::DocumentExpiry { date, expired } => {
                if *expired {
                    format!("{date} ({})", lang.pick("abgelaufen", "expired"))
                } else {
                    date.clone()
                }
            }
            Fact::ChipAuthenticity { verified } => if *verified {
                lang.pick(
                    "bestätigt (Signatur passt zu einem hinterlegten CSCA-Zertifikat)",
                    "verified (signature chains to a configured CSCA)",
                )
            } else {
                lang.pick(
                    "nicht bestätigt (kein passendes CSCA-Zertifikat hinterlegt)",
                    "not verified (no matching CSCA certificate configured)",
                )
            }
            .into(),
            Fact::PhoneCredential { identity } => if *identity {
                lang.pick(
                    "Identitätsdaten (Inhalt nicht angezeigt)",
                    "identity data (content not shown)",
                )
            } else {
                lang.pick(
                    "Termin (Inhalt nicht angezeigt)",
                    "appointment (content not shown)",
                )
            }
            .into(),
            Fact::Online(online) => if *online { "online" } else { "offline" }.into(),
            Fact::CoverOpen(open) => if *open {
                lang.pick("offen", "open")
            } else {
                lang.pick("geschlossen", "closed")
            }
            .into(),
            Fact::Paper(level) => paper_text(*level, lang).into(),
            Fact::CutterError(error)
            | Fact::UnrecoverableError(error)
            | Fact::AutoRecoverableError(error) => if *error {
                lang.pick("Fehler", "error")
            } else {
                lang.pick("in Ordnung", "ok")
            }
            .into(),
            Fact::JobBytes(bytes) => format!("{bytes} Bytes"),
            Fact::CodePages(pages) => pages.join(", "),
            Fact::Grid { columns, rows } => match lang {
                Lang::De => format!("{columns} Spalten × {rows} Zeilen"),
                Lang::En => format!("{columns} columns × {rows} rows"),
            },
            Fact::Taps(count) => count.to_string(),
            Fact::DeadZone(zone) => zone.text(lang),
            Fact::Addresses(addresses) => addresses.join(", "),
            Fact::HttpStatus(status) => status.to_string(),
        }
    }
}
