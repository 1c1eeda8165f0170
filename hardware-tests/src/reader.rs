//! The card reader checks: pcscd, the reader, the card on it (ATR, type, UID), NDEF, the
//! eMRTD probe and the NFC phone protocol, all through `kiosk-card`.
//!
//! Personal data never reaches the report: the UID is hashed with a per-run salt, NDEF
//! content is reduced to record types and URI origins, a passport shows only its document
//! type and expiry, a phone credential only its kind.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kiosk_card::ndef::Content;
use kiosk_card::phone::Subject;
use kiosk_card::{
    AccessKey, Authenticity, CardKind, CscaStore, ErrorKind, PcscCard, ReaderManager,
    TrustedIssuers, identify, read_ndef, read_passport, read_phone_token, read_uid,
};
use secrecy::{ExposeSecret, SecretString};

use crate::check::{CheckId, Outcome, Recorder, bounded, with_timeout};
use crate::inventory::reader_driver;
use crate::privacy::UidSalt;
use crate::prompt::Prompter;
use crate::settings::ReaderSettings;
use crate::text::{CardType, Fact, NdefSummary, Reason};

/// Time limit for reaching pcscd and listing readers.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an interactive run waits for the technician to put a card on.
const INTERACTIVE_CARD_WAIT: Duration = Duration::from_secs(30);
/// How long a non-interactive run looks for a card that is already there.
const UNATTENDED_CARD_WAIT: Duration = Duration::from_secs(2);
/// How long the technician has to type the CAN.
const CAN_PROMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs every reader check and records the results.
pub fn run(
    settings: &ReaderSettings,
    prompter: &Prompter,
    salt: &Arc<UidSalt>,
    recorder: &mut Recorder,
) {
    if !settings.enabled {
        recorder.record(
            CheckId::ReaderService,
            None,
            false,
            Duration::ZERO,
            Instant::now(),
            Outcome::skipped(Reason::ReaderDisabled),
        );
        return;
    }
    let started = Instant::now();
    let connected = bounded(SERVICE_TIMEOUT, || {
        ReaderManager::new().and_then(|manager| {
            let readers = manager.readers()?;
            Ok((manager, readers))
        })
    });
    let (manager, readers) = match connected {
        Ok(Ok(found)) => {
            recorder.record(
                CheckId::ReaderService,
                None,
                true,
                SERVICE_TIMEOUT,
                started,
                Outcome::pass(Reason::PcscAvailable),
            );
            found
        }
        Ok(Err(error)) => {
            let outcome = if error.kind() == ErrorKind::ServiceUnavailable {
                Outcome::fail(Reason::PcscUnavailable)
            } else {
                Outcome::fail(Reason::CardError { kind: error.kind() })
                    .with_facts([Fact::DriverMessage(error.message().to_owned())])
            };
            recorder.record(
                CheckId::ReaderService,
                None,
                true,
                SERVICE_TIMEOUT,
                started,
                outcome,
            );
            recorder.blocked(CheckId::ReaderPresent, None, CheckId::ReaderService);
            return;
        }
        Err(overrun) => {
            recorder.record(
                CheckId::ReaderService,
                None,
                true,
                SERVICE_TIMEOUT,
                started,
                overrun.outcome(),
            );
            recorder.blocked(CheckId::ReaderPresent, None, CheckId::ReaderService);
            return;
        }
    };
    let manager = Arc::new(manager);

    let started = Instant::now();
    let selected: Vec<String> = match &settings.name {
        Some(filter) => {
            let needle = filter.to_lowercase();
            readers
                .iter()
                .filter(|name| name.to_lowercase().contains(&needle))
                .cloned()
                .collect()
        }
        None => readers.clone(),
    };
    if selected.is_empty() {
        let reason = match &settings.name {
            Some(filter) if !readers.is_empty() => Reason::ReaderNotFound {
                filter: filter.clone(),
                available: readers,
            },
            Some(filter) => Reason::ReaderNotFound {
                filter: filter.clone(),
                available: Vec::new(),
            },
            None => Reason::NoReader,
        };
        recorder.record(
            CheckId::ReaderPresent,
            settings.name.as_deref(),
            true,
            SERVICE_TIMEOUT,
            started,
            Outcome::fail(reason),
        );
        recorder.blocked(CheckId::ReaderCard, None, CheckId::ReaderPresent);
        return;
    }
    for reader in &selected {
        let driver = reader_driver(reader);
        recorder.record(
            CheckId::ReaderPresent,
            Some(reader),
            true,
            SERVICE_TIMEOUT,
            started,
            Outcome::pass(Reason::ReaderFound).with_facts(driver.map(Fact::Driver)),
        );
    }
    for reader in &selected {
        check_card(&manager, reader, settings, prompter, salt, recorder);
    }
}

/// Pause before the second look at a card that seemed unknown: longer than pcscd needs to
/// finish resetting a card (tens of milliseconds, also over vpcd).
const SECOND_LOOK_DELAY: Duration = Duration::from_millis(400);

/// Whether identification may have run into a reset by another program's disconnect
/// (every command then fails with a PC/SC error of kind `Other`, and the card looks unknown).
fn needs_second_look(identified: &kiosk_card::Result<CardKind>) -> bool {
    match identified {
        Ok(CardKind::Unknown { .. }) => true,
        Err(error) => error.kind() == ErrorKind::Other,
        Ok(_) => false,
    }
}

/// Why waiting for a card produced none.
enum NoCard {
    /// Nothing usable appeared; the last connection error, if any, says what pcscd saw.
    Nothing {
        last_error: Option<kiosk_card::Error>,
    },
    /// The reader or pcscd went away.
    Failed(kiosk_card::Error),
}

fn wait_for_card(
    manager: &ReaderManager,
    reader: &str,
    wait: Duration,
) -> Result<PcscCard, NoCard> {
    let deadline = Instant::now() + wait;
    let mut last_error;
    loop {
        match manager.connect(reader) {
            Ok(card) => return Ok(card),
            Err(error) => match error.kind() {
                ErrorKind::NoReader | ErrorKind::ServiceUnavailable => {
                    return Err(NoCard::Failed(error));
                }
                ErrorKind::NoCard => last_error = None,
                _ => last_error = Some(error),
            },
        }
        if Instant::now() >= deadline {
            return Err(NoCard::Nothing { last_error });
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Maps a card-layer error to the reason a technician understands.
fn card_failure(error: &kiosk_card::Error, apdu_timeout: Duration) -> Outcome {
    match error.kind() {
        ErrorKind::Timeout => Outcome::fail(Reason::CardMute {
            timeout: apdu_timeout,
        }),
        ErrorKind::CardRemoved | ErrorKind::NoCard => Outcome::fail(Reason::CardRemoved),
        ErrorKind::ServiceUnavailable => Outcome::fail(Reason::PcscUnavailable),
        kind => Outcome::fail(Reason::CardError { kind })
            .with_facts([Fact::DriverMessage(error.message().to_owned())]),
    }
}

/// Whether the card type is one that is only ever contactless, so the reader's UID
/// pseudo-APDU is safe to send (a contact card could take it as a real command).
fn contactless(card: CardType) -> bool {
    matches!(
        card,
        CardType::Emrtd
            | CardType::GermanEid
            | CardType::Type4Tag
            | CardType::Type2Tag
            | CardType::Phone
    )
}

fn check_card(
    manager: &Arc<ReaderManager>,
    reader: &str,
    settings: &ReaderSettings,
    prompter: &Prompter,
    salt: &Arc<UidSalt>,
    recorder: &mut Recorder,
) {
    let interactive = prompter.interactive();
    let wait = settings.card_wait.unwrap_or(if interactive {
        INTERACTIVE_CARD_WAIT
    } else {
        UNATTENDED_CARD_WAIT
    });
    if interactive {
        let lang = prompter.lang();
        prompter.say(&match lang {
            crate::lang::Lang::De => format!(
                "Bitte eine Testkarte (oder Testausweis, NFC-Tag, Telefon mit Kiosk-App) auf \
                 den Leser „{reader}“ legen; ich warte bis zu {}.",
                lang.duration(wait)
            ),
            crate::lang::Lang::En => format!(
                "Please put a test card (or test passport, NFC tag, phone with the kiosk app) \
                 on the reader “{reader}”; waiting up to {}.",
                lang.duration(wait)
            ),
        });
    }
    let apdu_timeout = settings.apdu_timeout;
    let card_timeout = wait + apdu_timeout * 8 + Duration::from_secs(5);
    let started = Instant::now();
    let waiting_manager = Arc::clone(manager);
    let waiting_reader = reader.to_owned();
    let salt_for_card = Arc::clone(salt);
    let first = bounded(card_timeout, move || {
        let mut card = match wait_for_card(&waiting_manager, &waiting_reader, wait) {
            Ok(card) => card,
            Err(none) => return (None, no_card_outcome(none, wait, apdu_timeout, interactive)),
        };
        card.set_apdu_timeout(apdu_timeout);
        let mut identified = identify(&mut card);
        if needs_second_look(&identified) {
            // Another program's disconnect may have reset the card just after we connected
            // (pcscd then refuses every command of our handle); a fresh connection after the
            // reset has settled sees the card as it is.
            drop(card);
            std::thread::sleep(SECOND_LOOK_DELAY);
            card = match wait_for_card(&waiting_manager, &waiting_reader, SECOND_LOOK_DELAY) {
                Ok(card) => card,
                Err(none) => {
                    return (None, no_card_outcome(none, wait, apdu_timeout, interactive));
                }
            };
            card.set_apdu_timeout(apdu_timeout);
            identified = identify(&mut card);
        }
        let atr = hex(kiosk_card::Card::atr(&card));
        match identified {
            Ok(kind) => {
                let card_type = CardType::of(&kind);
                let mut facts = vec![Fact::Atr(atr), Fact::Card(card_type)];
                let uid = match &kind {
                    CardKind::UidOnly { uid } => Some(uid.clone()),
                    _ if contactless(card_type) => read_uid(&mut card).ok(),
                    _ => None,
                };
                if let Some(uid) = uid {
                    facts.push(Fact::Uid {
                        length: uid.as_bytes().len(),
                        salted_hash: salt_for_card.hash(uid.as_bytes()),
                    });
                }
                if let CardKind::Unknown { reason } = &kind {
                    // Built from protocol facts only (ATR, status words): log-safe.
                    facts.push(Fact::DriverMessage(reason.clone()));
                }
                (
                    Some((card, card_type)),
                    Outcome::pass(Reason::CardIdentified { card: card_type }).with_facts(facts),
                )
            }
            Err(error) => (
                None,
                card_failure(&error, apdu_timeout).with_facts([Fact::Atr(atr)]),
            ),
        }
    });
    let (card, outcome) = match first {
        Ok(result) => result,
        Err(overrun) => (None, overrun.outcome()),
    };
    // Unattended, an empty reader is not a failure of the run: nobody could put a card on.
    let required = interactive || outcome.reason != Reason::NoCardPresent;
    recorder.record(
        CheckId::ReaderCard,
        Some(reader),
        required,
        card_timeout,
        started,
        outcome,
    );
    let Some((card, card_type)) = card else {
        for id in [
            CheckId::ReaderNdef,
            CheckId::ReaderEmrtd,
            CheckId::ReaderPhone,
        ] {
            recorder.blocked(id, Some(reader), CheckId::ReaderCard);
        }
        return;
    };

    let card = check_ndef(card, card_type, reader, apdu_timeout, recorder);
    let card = match card {
        Some(card) => check_emrtd(card, card_type, reader, settings, prompter, recorder),
        None => None,
    };
    match card {
        Some(card) => check_phone(card, card_type, reader, settings, recorder),
        None => recorder.blocked(CheckId::ReaderPhone, Some(reader), CheckId::ReaderCard),
    }
}

fn no_card_outcome(
    none: NoCard,
    wait: Duration,
    apdu_timeout: Duration,
    interactive: bool,
) -> Outcome {
    match none {
        NoCard::Failed(error) => match error.kind() {
            ErrorKind::NoReader => Outcome::fail(Reason::NoReader),
            _ => card_failure(&error, apdu_timeout),
        },
        // pcscd sees a card that gives no ATR (a mute or broken card).
        NoCard::Nothing {
            last_error: Some(error),
        } if error.kind() == ErrorKind::CardRemoved => {
            Outcome::fail(Reason::CardMute { timeout: wait })
                .with_facts([Fact::DriverMessage(error.message().to_owned())])
        }
        NoCard::Nothing { .. } if interactive => {
            Outcome::fail(Reason::NoCardPresented { waited: wait })
        }
        NoCard::Nothing { .. } => Outcome::skipped(Reason::NoCardPresent),
    }
}

fn check_ndef(
    card: PcscCard,
    card_type: CardType,
    reader: &str,
    apdu_timeout: Duration,
    recorder: &mut Recorder,
) -> Option<PcscCard> {
    let started = Instant::now();
    if !matches!(card_type, CardType::Type4Tag | CardType::Type2Tag) {
        recorder.record(
            CheckId::ReaderNdef,
            Some(reader),
            false,
            Duration::ZERO,
            started,
            Outcome::skipped(Reason::NotATag),
        );
        return Some(card);
    }
    let timeout = apdu_timeout * 40 + Duration::from_secs(5);
    let mut card = card;
    let result = bounded(timeout, move || {
        let records = read_ndef(&mut card);
        (card, records)
    });
    let (card, outcome) = match result {
        Ok((card, Ok(records))) => {
            let facts: Vec<Fact> = records
                .iter()
                .map(|record| Fact::NdefRecord(summarise(record)))
                .collect();
            let reason = if records.is_empty() {
                Reason::NdefEmpty
            } else {
                Reason::NdefRead {
                    records: records.len(),
                }
            };
            (Some(card), Outcome::pass(reason).with_facts(facts))
        }
        Ok((card, Err(error))) => (Some(card), card_failure(&error, apdu_timeout)),
        Err(overrun) => (None, overrun.outcome()),
    };
    recorder.record(
        CheckId::ReaderNdef,
        Some(reader),
        true,
        timeout,
        started,
        outcome,
    );
    card
}

/// A record's type and size; of a URI only the origin (the path could identify someone).
fn summarise(record: &kiosk_card::ndef::Record) -> NdefSummary {
    match record.content() {
        Ok(Content::Uri(uri)) => {
            let origin = match url::Url::parse(&uri) {
                Ok(url) if url.host_str().is_some() => {
                    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
                }
                Ok(url) => format!("{}:", url.scheme()),
                Err(_) => "?".into(),
            };
            NdefSummary::Uri { origin }
        }
        Ok(Content::Text { language, text }) => NdefSummary::Text {
            language,
            chars: text.chars().count(),
        },
        Ok(Content::Mime { media_type, data }) => NdefSummary::Mime {
            media_type,
            bytes: data.len(),
        },
        Ok(Content::External { record_type, data }) => NdefSummary::External {
            record_type,
            bytes: data.len(),
        },
        Ok(Content::Empty) => NdefSummary::Empty,
        _ => NdefSummary::Other,
    }
}

fn load_cscas(settings: &ReaderSettings) -> (CscaStore, Vec<Fact>) {
    let mut store = CscaStore::new();
    let mut problems = Vec::new();
    let Some(dir) = &settings.csca_dir else {
        return (store, problems);
    };
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let is_master_list = |path: &std::path::Path| {
                path.extension()
                    .and_then(|ext| ext.to_str())
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("ml"))
            };
            let mut paths: Vec<_> = entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect();
            // As the kiosk loads them: single certificates first, since a master list is
            // only taken when one of them issued its signer.
            paths.sort_by_key(|path| (is_master_list(path), path.clone()));
            for path in paths {
                let added = std::fs::read(&path)
                    .map_err(|error| error.to_string())
                    .and_then(|bytes| {
                        let added = if is_master_list(&path) {
                            store.add_master_list(&bytes).map(|_| ())
                        } else {
                            store.add_der(&bytes).map(|_| ())
                        };
                        added.map_err(|error| error.message().to_owned())
                    });
                if let Err(error) = added {
                    problems.push(Fact::DriverMessage(format!(
                        "CSCA {}: {error}",
                        path.display()
                    )));
                }
            }
        }
        Err(error) => problems.push(Fact::DriverMessage(format!(
            "csca_dir {}: {error}",
            dir.display()
        ))),
    }
    (store, problems)
}

fn check_emrtd(
    card: PcscCard,
    card_type: CardType,
    reader: &str,
    settings: &ReaderSettings,
    prompter: &Prompter,
    recorder: &mut Recorder,
) -> Option<PcscCard> {
    let started = Instant::now();
    let skip = |recorder: &mut Recorder, reason: Reason| {
        recorder.record(
            CheckId::ReaderEmrtd,
            Some(reader),
            false,
            Duration::ZERO,
            started,
            Outcome::skipped(reason),
        );
    };
    if !matches!(card_type, CardType::Emrtd | CardType::GermanEid) {
        skip(recorder, Reason::NotADocument);
        return Some(card);
    }
    let lang = prompter.lang();
    let can: Option<SecretString> = match &settings.can {
        Some(can) => Some(can.clone()),
        None => prompter
            .line(
                lang.pick(
                    "Ausweis erkannt. CAN des Testdokuments (6 Ziffern vorne; leer = \
                     überspringen):",
                    "Passport/ID card detected. CAN of the test document (6 digits on the \
                     front; empty = skip):",
                ),
                CAN_PROMPT_TIMEOUT,
            )
            .filter(|line| !line.trim().is_empty())
            .map(|line| SecretString::from(line.trim().to_owned())),
    };
    let Some(can) = can else {
        skip(recorder, Reason::NoCan);
        return Some(card);
    };
    let timeout = Duration::from_secs(20) + settings.apdu_timeout * 10;
    let valid = {
        let digits = can.expose_secret();
        digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())
    };
    if !valid {
        recorder.record(
            CheckId::ReaderEmrtd,
            Some(reader),
            true,
            timeout,
            started,
            Outcome::fail(Reason::InvalidCan),
        );
        return Some(card);
    }
    let (cscas, problems) = load_cscas(settings);
    let apdu_timeout = settings.apdu_timeout;
    let mut card = card;
    let result = bounded(timeout, move || {
        let read = read_passport(&mut card, &AccessKey::Can(can), &cscas);
        // Only the document type, the expiry and the authenticity leave this closure; the
        // personal fields are zeroed when `data` is dropped here.
        let summary = read.map(|data| {
            (
                data.document_code.clone(),
                data.date_of_expiry.expose_secret().to_owned(),
                data.authenticity == Authenticity::Verified,
            )
        });
        (card, summary)
    });
    let today = time::OffsetDateTime::now_utc().date();
    let (card, outcome) = match result {
        Ok((card, Ok((document_code, expiry, verified)))) => {
            let expired = time::Date::parse(
                &expiry,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .is_ok_and(|date| date < today);
            (
                Some(card),
                Outcome::pass(Reason::DocumentRead)
                    .with_facts([
                        Fact::DocumentType(document_code),
                        Fact::DocumentExpiry {
                            date: expiry,
                            expired,
                        },
                        Fact::ChipAuthenticity { verified },
                    ])
                    .with_facts(problems),
            )
        }
        Ok((card, Err(error))) => {
            let outcome = match error.kind() {
                ErrorKind::AuthenticationFailed => Outcome::fail(Reason::PaceFailed),
                ErrorKind::Unsupported => Outcome::fail(Reason::BacOnly),
                _ => card_failure(&error, apdu_timeout),
            };
            (Some(card), outcome)
        }
        Err(overrun) => (None, overrun.outcome()),
    };
    recorder.record(
        CheckId::ReaderEmrtd,
        Some(reader),
        true,
        timeout,
        started,
        outcome,
    );
    card
}

fn check_phone(
    card: PcscCard,
    card_type: CardType,
    reader: &str,
    settings: &ReaderSettings,
    recorder: &mut Recorder,
) {
    let started = Instant::now();
    if card_type != CardType::Phone {
        recorder.record(
            CheckId::ReaderPhone,
            Some(reader),
            false,
            Duration::ZERO,
            started,
            Outcome::skipped(Reason::NotAPhone),
        );
        return;
    }
    let mut trusted = TrustedIssuers::new();
    for key in &settings.phone_issuers {
        let kid = kiosk_card::phone::key_id(key);
        trusted.add(&kid, &format!("key {}", hex(&kid).to_lowercase()), *key);
    }
    let no_issuers = settings.phone_issuers.is_empty();
    let apdu_timeout = settings.apdu_timeout;
    let timeout = apdu_timeout * 20 + Duration::from_secs(5);
    let mut card = card;
    let outcome = with_timeout(timeout, move || {
        match read_phone_token(&mut card, &trusted, SystemTime::now()) {
            Ok(token) => Outcome::pass(Reason::PhoneVerified {
                issuer: token.issuer.clone(),
            })
            .with_facts([Fact::PhoneCredential {
                identity: matches!(token.subject, Subject::Identity(_)),
            }]),
            // With no issuer configured the first check that can fail is the trust
            // lookup: the phone did answer the protocol with a signed credential.
            Err(error) if no_issuers && error.kind() == ErrorKind::AuthenticationFailed => {
                Outcome::pass(Reason::PhoneAnsweredUntrusted)
            }
            Err(error) => match error.kind() {
                ErrorKind::Expired => Outcome::fail(Reason::PhoneExpired),
                ErrorKind::AuthenticationFailed
                | ErrorKind::InvalidResponse
                | ErrorKind::Unsupported => Outcome::fail(Reason::PhoneRejected)
                    .with_facts([Fact::DriverMessage(error.message().to_owned())]),
                _ => card_failure(&error, apdu_timeout),
            },
        }
    });
    recorder.record(
        CheckId::ReaderPhone,
        Some(reader),
        true,
        timeout,
        started,
        outcome,
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}
