//! Identification routes: reads documents with the card drivers and turns
//! what they return into the journey's plain `IdentityData`.

use kiosk_card::{
    AccessKey, Authenticity, CardReader, CscaStore, ErrorKind, PassportData, TrustedIssuers,
};
use kiosk_catalogue::{IdentityAttribute, IdentityMethod};
use kiosk_journey::{
    Appointment, AppointmentTiming, CardAccessNumber, IdentityData, IdentityFailure,
};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Reads what a citizen puts on the card reader: a passport or ID card chip
/// with the CAN they typed, or the kiosk app on their phone.
pub trait DocumentReader: Send {
    /// Reads the chip on the reader.
    fn read_passport(&mut self, can: &CardAccessNumber) -> Result<IdentityData, IdentityFailure>;

    /// Reads and verifies the identity credential of a phone held to the reader
    /// (`docs/nfc-phone-protocol.md`).
    fn read_phone(&mut self) -> Result<IdentityData, IdentityFailure>;
}

/// A [`DocumentReader`] over any PC/SC-style reader of the card driver.
pub struct ChipReader<R> {
    reader: R,
    cscas: CscaStore,
    phone_issuers: TrustedIssuers,
    card_wait: std::time::Duration,
}

/// How long a read waits for the document to be put on the reader: the
/// citizen types the CAN first and then places the document.
pub const CARD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl<R> ChipReader<R> {
    /// Reads chips on `reader`, verifying them against `cscas` (passive authentication).
    pub fn new(reader: R, cscas: CscaStore) -> Self {
        Self {
            reader,
            cscas,
            phone_issuers: TrustedIssuers::new(),
            card_wait: CARD_WAIT,
        }
    }

    /// Accepts phone credentials signed by `issuers`.
    pub fn with_phone_issuers(mut self, issuers: TrustedIssuers) -> Self {
        self.phone_issuers = issuers;
        self
    }
}

impl<R: CardReader> ChipReader<R> {
    /// Connects to the card, waiting up to `card_wait` for one to be put on
    /// the reader (pcscd notices a new card within about half a second).
    fn connect_when_present(&self) -> Result<R::Card, ErrorKind> {
        let deadline = std::time::Instant::now() + self.card_wait;
        loop {
            match self.reader.connect() {
                Ok(card) => return Ok(card),
                Err(error)
                    if matches!(error.kind(), ErrorKind::NoCard | ErrorKind::CardRemoved)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(error) => {
                    tracing::warn!(kind = ?error.kind(), "no document on the reader");
                    return Err(error.kind());
                }
            }
        }
    }
}

impl<R> DocumentReader for ChipReader<R>
where
    R: CardReader + Send,
{
    fn read_passport(&mut self, can: &CardAccessNumber) -> Result<IdentityData, IdentityFailure> {
        let mut card = self.connect_when_present().map_err(failure)?;
        let key = AccessKey::Can(SecretString::from(can.digits().to_owned()));
        let data = kiosk_card::read_passport(&mut card, &key, &self.cscas).map_err(|e| {
            tracing::warn!(kind = ?e.kind(), "reading the passport chip failed");
            failure(e.kind())
        })?;
        Ok(identity_from_passport(&data))
    }

    fn read_phone(&mut self) -> Result<IdentityData, IdentityFailure> {
        let mut card = self.connect_when_present().map_err(failure)?;
        let token = kiosk_card::read_phone_token(
            &mut card,
            &self.phone_issuers,
            std::time::SystemTime::now(),
        )
        .map_err(|e| {
            tracing::warn!(kind = ?e.kind(), "reading the phone credential failed");
            match e.kind() {
                ErrorKind::AuthenticationFailed | ErrorKind::Expired => {
                    IdentityFailure::InvalidToken
                }
                other => failure(other),
            }
        })?;
        match token.subject {
            kiosk_card::phone::Subject::Identity(attributes) => {
                Ok(identity_from_phone(&attributes))
            }
            kiosk_card::phone::Subject::Appointment { .. } => {
                // An appointment credential says nothing about who holds it.
                tracing::info!("a phone showed an appointment, not an identity credential");
                Err(IdentityFailure::UnsupportedCard)
            }
        }
    }
}

/// The journey's view of a verified phone identity credential.
pub fn identity_from_phone(attributes: &kiosk_card::phone::IdentityAttributes) -> IdentityData {
    let value = |secret: &SecretString| Zeroizing::new(secret.expose_secret().trim().to_owned());
    IdentityData {
        method: IdentityMethod::Phone,
        // The issuer's signature, the device binding and the challenge were checked.
        verified: true,
        attributes: vec![
            (
                IdentityAttribute::GivenNames,
                value(&attributes.given_names),
            ),
            (IdentityAttribute::Surname, value(&attributes.family_name)),
            (
                IdentityAttribute::DateOfBirth,
                value(&attributes.date_of_birth),
            ),
        ],
    }
}

/// Maps the driver's error kinds onto what the citizen is told.
fn failure(kind: ErrorKind) -> IdentityFailure {
    match kind {
        ErrorKind::CardRemoved => IdentityFailure::CardRemoved,
        ErrorKind::AuthenticationFailed => IdentityFailure::WrongCode,
        ErrorKind::Expired => IdentityFailure::DocumentExpired,
        // Nothing was put on the reader in time.
        ErrorKind::Timeout | ErrorKind::NoCard => IdentityFailure::Timeout,
        ErrorKind::NoReader | ErrorKind::ServiceUnavailable => IdentityFailure::Unavailable,
        _ => IdentityFailure::UnsupportedCard,
    }
}

/// The journey's view of a passport: the attributes forms may pre-fill.
pub fn identity_from_passport(data: &PassportData) -> IdentityData {
    let verified = matches!(data.authenticity, Authenticity::Verified);
    if let Authenticity::NotVerified { reason } = &data.authenticity {
        tracing::warn!(%reason, "passport data could not be verified");
    }
    let value = |secret: &SecretString| Zeroizing::new(title_case(secret.expose_secret().trim()));
    IdentityData {
        method: IdentityMethod::Passport,
        verified,
        attributes: vec![
            (IdentityAttribute::GivenNames, value(&data.given_names)),
            (IdentityAttribute::Surname, value(&data.surname)),
            (
                IdentityAttribute::DateOfBirth,
                Zeroizing::new(data.date_of_birth.expose_secret().to_owned()),
            ),
            (
                IdentityAttribute::Nationality,
                Zeroizing::new(data.nationality.expose_secret().to_owned()),
            ),
        ],
    }
}

/// MRZ names are upper case (`ERIKA`); forms read better with `Erika`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start_of_word = true;
    for c in name.chars() {
        if start_of_word {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start_of_word = c == ' ' || c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrz_names_read_naturally() {
        assert_eq!(title_case("ERIKA MARIA"), "Erika Maria");
        assert_eq!(title_case("MUELLER-LUEDENSCHEIDT"), "Mueller-Luedenscheidt");
    }
}

/// The configured PC/SC reader: the first reader whose name contains the
/// configured part (or the first reader at all), looked up at every read so a
/// reader plugged in after start-up is found.
#[derive(Debug, Clone)]
pub struct ConfiguredReader {
    manager: std::sync::Arc<kiosk_card::ReaderManager>,
    name_contains: Option<String>,
    chosen: String,
}

impl ConfiguredReader {
    /// Readers of `manager` whose name contains `name_contains`.
    pub fn new(
        manager: std::sync::Arc<kiosk_card::ReaderManager>,
        name_contains: Option<String>,
    ) -> Self {
        Self {
            manager,
            name_contains,
            chosen: "configured card reader".to_owned(),
        }
    }

    /// The reader to use now, if one is connected.
    pub fn find(&self) -> kiosk_card::Result<String> {
        let readers = self.manager.readers()?;
        readers
            .into_iter()
            .find(|name| {
                self.name_contains
                    .as_deref()
                    .is_none_or(|part| name.contains(part))
            })
            .ok_or_else(|| {
                kiosk_card::Error::new(
                    ErrorKind::NoReader,
                    match &self.name_contains {
                        Some(part) => {
                            format!("no card reader whose name contains '{part}' is connected")
                        }
                        None => "no card reader is connected".to_owned(),
                    },
                )
            })
    }
}

impl CardReader for ConfiguredReader {
    type Card = kiosk_card::PcscCard;

    fn name(&self) -> &str {
        &self.chosen
    }

    fn connect(&self) -> kiosk_card::Result<Self::Card> {
        let name = self.find()?;
        self.manager.connect(&name)
    }
}

/// When appointments can be checked in (`[check_in]` in `kiosk.toml`).
pub use kiosk_config::CheckInSection as CheckInWindow;

/// Reads an appointment from a phone held to the reader, if it shows one from a
/// trusted issuer. Anything else (a passport, a staff card, a phone with an
/// identity credential, an expired credential) is no appointment: `None`.
pub fn read_appointment<C: kiosk_card::Card + ?Sized>(
    card: &mut C,
    issuers: &TrustedIssuers,
    window: CheckInWindow,
    now: &jiff::ZonedDateTime,
) -> Option<Appointment> {
    let system_now = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(now.timestamp().as_second()).ok()?);
    let token = match kiosk_card::read_phone_token(card, issuers, system_now) {
        Ok(token) => token,
        Err(error) => {
            tracing::debug!(kind = ?error.kind(), "no appointment on the reader");
            return None;
        }
    };
    let kiosk_card::phone::Subject::Appointment { service, starts_at } = token.subject else {
        tracing::debug!("a phone showed an identity credential outside identification");
        return None;
    };
    let (starts_at, timing) = appointment_timing(starts_at, now, window)?;
    tracing::info!(issuer = %token.issuer, timing = ?timing, "a phone showed an appointment");
    use base64::Engine as _;
    Some(Appointment {
        service,
        starts_at,
        timing,
        credential: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&token.credential),
    })
}

/// The appointment's start as the citizen reads it (local `HH:MM`) and whether
/// it can be checked in at `now`.
pub fn appointment_timing(
    starts_at_unix: u64,
    now: &jiff::ZonedDateTime,
    window: CheckInWindow,
) -> Option<(String, AppointmentTiming)> {
    let starts = jiff::Timestamp::from_second(i64::try_from(starts_at_unix).ok()?)
        .ok()?
        .to_zoned_datetime(now.time_zone().clone());
    let start_text = starts.strftime("%H:%M").to_string();
    let opens = starts
        .checked_sub(jiff::SignedDuration::try_from(window.opens_before).ok()?)
        .ok()?;
    let closes = starts
        .checked_add(jiff::SignedDuration::try_from(window.closes_after).ok()?)
        .ok()?;
    let timing = if starts.date() < now.date() {
        AppointmentTiming::Missed
    } else if now.date() != starts.date() {
        AppointmentTiming::OtherDay {
            date: starts.strftime("%d.%m.%Y").to_string(),
        }
    } else if *now < opens {
        AppointmentTiming::TooEarly {
            opens_at: opens.strftime("%H:%M").to_string(),
        }
    } else if *now > closes {
        AppointmentTiming::Missed
    } else {
        AppointmentTiming::Due
    };
    Some((start_text, timing))
}

#[cfg(test)]
mod check_in_tests {
    use super::*;

    fn at(time: &str) -> jiff::ZonedDateTime {
        format!("2026-11-24T{time}[Europe/Berlin]").parse().unwrap()
    }

    #[test]
    fn appointments_are_due_within_the_check_in_window() {
        let window = CheckInWindow::default();
        let start = at("10:30").timestamp().as_second() as u64;
        let timing = |now: &str| appointment_timing(start, &at(now), window).unwrap();
        assert_eq!(timing("10:00").0, "10:30");
        assert_eq!(timing("10:00").1, AppointmentTiming::Due);
        assert_eq!(timing("10:45").1, AppointmentTiming::Due);
        assert_eq!(
            timing("09:59").1,
            AppointmentTiming::TooEarly {
                opens_at: "10:00".into()
            }
        );
        assert_eq!(timing("10:46").1, AppointmentTiming::Missed);
        let yesterday: jiff::ZonedDateTime = "2026-11-23T10:30[Europe/Berlin]".parse().unwrap();
        assert_eq!(
            appointment_timing(
                yesterday.timestamp().as_second() as u64,
                &at("10:30"),
                window
            )
            .unwrap()
            .1,
            AppointmentTiming::Missed
        );
        let tomorrow: jiff::ZonedDateTime = "2026-11-25T10:30[Europe/Berlin]".parse().unwrap();
        assert_eq!(
            appointment_timing(
                tomorrow.timestamp().as_second() as u64,
                &at("10:30"),
                window
            )
            .unwrap()
            .1,
            AppointmentTiming::OtherDay {
                date: "25.11.2026".into()
            }
        );
    }
}
