//! eMRTD reading (ICAO 9303): PACE with CAN or MRZ (BAC when the chip has no PACE),
//! secure messaging, EF.COM, DG1 and EF.SOD with passive authentication.
//!
//! The protocols come from the `dmrtd` crate (pure Rust, RustCrypto based: BAC, PACE
//! ECDH-GM on NIST and Brainpool curves, secure messaging, LDS parsing, CMS passive
//! authentication). This module adapts it to [`Card`], keeps card errors (removed,
//! timeout) intact, and moves everything personal into redacted, zeroizing types.

use std::cell::RefCell;
use std::fmt;

use chrono::NaiveDate;
use dmrtd::auth::passive::{self, ChainStatus, DataGroup, TrustAnchor};
use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::ef::ElementaryFile;
use dmrtd::lds::mrz::Mrz;
use dmrtd::passport::{Passport, PassportError};
use dmrtd::proto::can_key::CanKey;
use dmrtd::proto::dba_key::DBAKey;
use secrecy::{ExposeSecret, SecretString};

use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};

/// The key that opens the chip: the 6-digit CAN printed on the card, or the MRZ fields.
/// Personal: `Debug` is redacted, memory is zeroed on drop.
#[derive(Clone)]
pub enum AccessKey {
    /// Card Access Number (6 digits, front of ID cards and newer passports).
    Can(SecretString),
    /// Document number, date of birth and date of expiry from the MRZ.
    Mrz {
        /// Document number as in the MRZ (without check digit).
        document_number: SecretString,
        /// Date of birth, `YYMMDD` as in the MRZ.
        date_of_birth: SecretString,
        /// Date of expiry, `YYMMDD` as in the MRZ.
        date_of_expiry: SecretString,
    },
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Can(_) => f.write_str("AccessKey::Can([REDACTED])"),
            Self::Mrz { .. } => f.write_str("AccessKey::Mrz([REDACTED])"),
        }
    }
}

fn yymmdd(value: &SecretString, what: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.expose_secret(), "%y%m%d").map_err(|_| {
        Error::new(
            ErrorKind::AuthenticationFailed,
            format!("the {what} must be 6 digits YYMMDD as printed in the MRZ"),
        )
    })
}

impl AccessKey {
    /// The BAC / PACE-MRZ key (`pace` selects the 20-byte PACE seed).
    fn dba_key(&self, pace: bool) -> Result<Option<DBAKey>> {
        let Self::Mrz {
            document_number,
            date_of_birth,
            date_of_expiry,
        } = self
        else {
            return Ok(None);
        };
        let key = DBAKey::new(
            document_number.expose_secret().to_owned(),
            yymmdd(date_of_birth, "date of birth")?,
            yymmdd(date_of_expiry, "date of expiry")?,
            pace,
        )
        .map_err(|_| {
            Error::new(
                ErrorKind::AuthenticationFailed,
                "the document number may only contain A-Z, 0-9 and <",
            )
        })?;
        Ok(Some(key))
    }
}

/// Outcome of passive authentication (ICAO 9303-11 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticity {
    /// DG1 matches EF.SOD, the SOD signature is valid and the document signer chains to
    /// a configured CSCA.
    Verified,
    /// The data could not be shown to be genuine; `reason` says why (log-safe).
    NotVerified {
        /// Why, e.g. "the document signer does not chain to a configured CSCA".
        reason: String,
    },
}

/// The CSCA certificates (country signing CAs) the kiosk trusts, e.g. from the German
/// master list.
#[derive(Clone, Default)]
pub struct CscaStore {
    anchors: Vec<TrustAnchor>,
}

impl fmt::Debug for CscaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CscaStore({} anchors)", self.anchors.len())
    }
}

impl CscaStore {
    /// An empty store: every document reads as "not verified".
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a DER-encoded CSCA certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<&mut Self> {
        let anchor = TrustAnchor::from_certificate(der).map_err(|error| {
            Error::invalid(format!("the CSCA certificate cannot be used: {error}"))
        })?;
        self.anchors.push(anchor);
        Ok(self)
    }

    /// How many CSCA certificates are configured.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether no CSCA certificate is configured.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// The data of DG1 (the MRZ) as needed for form pre-fill. Personal: every field is a
/// [`SecretString`]; `Debug` is redacted.
#[derive(Clone)]
pub struct PassportData {
    /// Document code, e.g. `P` (passport), `ID` (identity card).
    pub document_code: String,
    /// Issuing state (ICAO three-letter code).
    pub issuing_state: SecretString,
    /// Surname(s), `<` fillers replaced by spaces.
    pub surname: SecretString,
    /// Given name(s), `<` fillers replaced by spaces.
    pub given_names: SecretString,
    /// Document number.
    pub document_number: SecretString,
    /// Nationality (ICAO three-letter code).
    pub nationality: SecretString,
    /// Date of birth `YYYY-MM-DD`.
    pub date_of_birth: SecretString,
    /// `M`, `F` or `X`.
    pub sex: SecretString,
    /// Date of expiry `YYYY-MM-DD`.
    pub date_of_expiry: SecretString,
    /// Result of passive authentication.
    pub authenticity: Authenticity,
}

impl fmt::Debug for PassportData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassportData")
            .field("document_code", &self.document_code)
            .field("personal_data", &"[REDACTED]")
            .field("authenticity", &self.authenticity)
            .finish()
    }
}

fn filler_to_spaces(field: &str) -> SecretString {
    field
        .replace('<', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

/// Parses an MRZ (TD1 90, TD2 72 or TD3 88 characters, without line breaks) into the
/// personal fields. Check digits are verified by the parser.
pub fn parse_mrz(mrz: &[u8]) -> Result<PassportData> {
    let parsed = Mrz::from_bytes(mrz.to_vec()).map_err(|_| {
        Error::invalid(format!(
            "the MRZ ({} characters) is not a valid TD1, TD2 or TD3 zone",
            mrz.len()
        ))
    })?;
    Ok(from_mrz(
        &parsed,
        Authenticity::NotVerified {
            reason: "passive authentication not performed".into(),
        },
    ))
}

fn from_mrz(mrz: &Mrz, authenticity: Authenticity) -> PassportData {
    PassportData {
        document_code: mrz.document_code.trim_end_matches('<').to_owned(),
        issuing_state: filler_to_spaces(&mrz.country),
        surname: filler_to_spaces(&mrz.last_name),
        given_names: filler_to_spaces(&mrz.first_name),
        document_number: filler_to_spaces(mrz.document_number()),
        nationality: filler_to_spaces(&mrz.nationality),
        date_of_birth: mrz.date_of_birth.format("%Y-%m-%d").to_string().into(),
        sex: mrz.gender.replace('<', "X").into(),
        date_of_expiry: mrz.date_of_expiry.format("%Y-%m-%d").to_string().into(),
        authenticity,
    }
}

/// What the transport saw, shared with `read_passport` while dmrtd owns the transport.
#[derive(Default)]
struct LinkLog {
    /// The last card-level error (removed, timeout), which wins over dmrtd's messages.
    card_error: Option<Error>,
    /// APDUs sent, for the log and the benchmark.
    commands: usize,
}

/// Adapts a [`Card`] to dmrtd's transport.
struct CardLink<'a, C: ?Sized> {
    card: &'a mut C,
    log: &'a RefCell<LinkLog>,
}

impl<C: Card + ?Sized> Transceiver for CardLink<'_, C> {
    fn transceive(&mut self, apdu: &[u8]) -> std::result::Result<Vec<u8>, TransceiveError> {
        let mut log = self.log.borrow_mut();
        log.commands += 1;
        let outcome = self.card.transmit_raw(apdu).and_then(|response| {
            if response.len() < 2 {
                Err(Error::new(
                    ErrorKind::CardRemoved,
                    format!(
                        "the document answered {} byte(s) instead of a status word; it was \
                         probably moved away, put it back on the reader",
                        response.len()
                    ),
                ))
            } else {
                Ok(response)
            }
        });
        outcome.map_err(|error| {
            let message = error.message().to_owned();
            log.card_error = Some(error);
            TransceiveError::new(message)
        })
    }
}

/// Maps a dmrtd failure during `step`: card errors win; otherwise a log-safe message
/// (dmrtd messages are not included because parse errors may quote card data).
fn step_error(log: &RefCell<LinkLog>, step: &str, kind: ErrorKind, error: &PassportError) -> Error {
    if let Some(card_error) = log.borrow_mut().card_error.take() {
        return card_error;
    }
    match error.code {
        Some(sw) => Error::new(
            kind,
            format!(
                "{step} failed, the document answered {}",
                crate::apdu::StatusWord(u16::from_be_bytes([sw.sw1, sw.sw2]))
            ),
        ),
        None => Error::new(kind, format!("{step} failed")),
    }
}

/// Number of APDUs the last [`read_passport`] on this thread sent (for the benchmark).
pub fn last_read_apdu_count() -> usize {
    LAST_APDU_COUNT.with(std::cell::Cell::get)
}

thread_local! {
    static LAST_APDU_COUNT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Reads DG1 of a passport or ID card and checks it with passive authentication.
///
/// PACE is used when the chip announces it in EF.CardAccess (with the CAN, or with the
/// MRZ key); otherwise BAC, which needs the MRZ key. A wrong key gives
/// [`ErrorKind::AuthenticationFailed`]; a document moved away gives
/// [`ErrorKind::CardRemoved`].
pub fn read_passport<C: Card + ?Sized>(
    card: &mut C,
    key: &AccessKey,
    cscas: &CscaStore,
) -> Result<PassportData> {
    let log = RefCell::new(LinkLog::default());
    let result = read_with_log(card, key, cscas, &log);
    let commands = log.borrow().commands;
    LAST_APDU_COUNT.with(|count| count.set(commands));
    result
}

fn read_with_log<C: Card + ?Sized>(
    card: &mut C,
    key: &AccessKey,
    cscas: &CscaStore,
    log: &RefCell<LinkLog>,
) -> Result<PassportData> {
    let mut passport = Passport::new(CardLink { card, log });
    match passport.read_ef_card_access() {
        Ok(card_access) if card_access.is_pace_info_set() => {
            let outcome = match key {
                AccessKey::Can(can) => {
                    let can = CanKey::new(can.expose_secret()).map_err(|_| {
                        Error::new(
                            ErrorKind::AuthenticationFailed,
                            "the CAN must be the 6 digits printed on the document",
                        )
                    })?;
                    passport.start_session_pace(can, &card_access)
                }
                AccessKey::Mrz { .. } => {
                    let mrz_key = key.dba_key(true)?.ok_or_else(|| {
                        Error::new(ErrorKind::AuthenticationFailed, "MRZ key missing")
                    })?;
                    passport.start_session_pace(mrz_key, &card_access)
                }
            };
            outcome.map_err(|error| {
                step_error(
                    log,
                    "PACE (is the CAN or MRZ right?)",
                    ErrorKind::AuthenticationFailed,
                    &error,
                )
            })?;
        }
        _ => {
            let card_error = log.borrow_mut().card_error.take();
            if let Some(card_error) = card_error
                && card_error.kind() != ErrorKind::InvalidResponse
            {
                return Err(card_error);
            }
            let bac_key = key.dba_key(false)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "this document only supports BAC, which needs the MRZ data instead of \
                     the CAN; scan or type the MRZ",
                )
            })?;
            passport.start_session(bac_key).map_err(|error| {
                step_error(
                    log,
                    "BAC (is the MRZ data right?)",
                    ErrorKind::AuthenticationFailed,
                    &error,
                )
            })?;
        }
    }
    passport
        .read_ef_com()
        .map_err(|error| step_error(log, "reading EF.COM", ErrorKind::InvalidResponse, &error))?;
    let dg1 = passport
        .read_ef_dg1()
        .map_err(|error| step_error(log, "reading DG1", ErrorKind::InvalidResponse, &error))?;
    let sod = passport
        .read_ef_sod()
        .map_err(|error| step_error(log, "reading EF.SOD", ErrorKind::InvalidResponse, &error))?;
    let groups = [DataGroup {
        number: 1,
        bytes: dg1.to_bytes(),
    }];
    let authenticity = match passive::verify(sod.to_bytes(), &groups, &cscas.anchors) {
        Ok(result) if result.is_authentic() => Authenticity::Verified,
        Ok(result) => Authenticity::NotVerified {
            reason: match result.chain {
                ChainStatus::Unverified if cscas.is_empty() => {
                    "no CSCA certificates are configured".into()
                }
                _ => "the document signer does not chain to a configured CSCA".into(),
            },
        },
        Err(error) => Authenticity::NotVerified {
            reason: error.to_string(),
        },
    };
    tracing::info!(
        apdus = log.borrow().commands,
        verified = matches!(authenticity, Authenticity::Verified),
        "document read"
    );
    Ok(from_mrz(dg1.mrz(), authenticity))
}
