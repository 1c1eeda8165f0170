//! Identification routes: reads documents with the card drivers and turns
//! what they return into the journey's plain `IdentityData`.

use kiosk_card::{AccessKey, Authenticity, CardReader, CscaStore, ErrorKind, PassportData};
use kiosk_catalogue::{IdentityAttribute, IdentityMethod};
use kiosk_journey::{CardAccessNumber, IdentityData, IdentityFailure};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Reads a passport or ID card chip with the CAN the citizen typed.
pub trait DocumentReader: Send {
    /// Reads the chip on the reader.
    fn read_passport(&mut self, can: &CardAccessNumber) -> Result<IdentityData, IdentityFailure>;
}

/// A [`DocumentReader`] over any PC/SC-style reader of the card driver.
pub struct ChipReader<R> {
    reader: R,
    cscas: CscaStore,
}

impl<R> ChipReader<R> {
    /// Reads chips on `reader`, verifying them against `cscas` (passive authentication).
    pub fn new(reader: R, cscas: CscaStore) -> Self {
        Self { reader, cscas }
    }
}

impl<R> DocumentReader for ChipReader<R>
where
    R: CardReader + Send,
{
    fn read_passport(&mut self, can: &CardAccessNumber) -> Result<IdentityData, IdentityFailure> {
        let mut card = self.reader.connect().map_err(|e| failure(e.kind()))?;
        let key = AccessKey::Can(SecretString::from(can.digits().to_owned()));
        let data = kiosk_card::read_passport(&mut card, &key, &self.cscas).map_err(|e| {
            tracing::warn!(kind = ?e.kind(), "reading the passport chip failed");
            failure(e.kind())
        })?;
        Ok(identity_from_passport(&data))
    }
}

/// Maps the driver's error kinds onto what the citizen is told.
fn failure(kind: ErrorKind) -> IdentityFailure {
    match kind {
        ErrorKind::CardRemoved => IdentityFailure::CardRemoved,
        ErrorKind::AuthenticationFailed => IdentityFailure::WrongCode,
        ErrorKind::Expired => IdentityFailure::DocumentExpired,
        ErrorKind::Timeout => IdentityFailure::Timeout,
        ErrorKind::NoCard | ErrorKind::NoReader | ErrorKind::ServiceUnavailable => {
            IdentityFailure::Unavailable
        }
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
