//! Card identification from the ATR and by probing applications, and UID reading.

use std::fmt;

use crate::apdu::{Command, StatusWord, transmit};
use crate::card::Card;
use crate::error::{Error, ErrorKind, Result};

/// ICAO 9303 eMRTD application (passports, ID cards with a travel-document chip).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];
/// BSI TR-03110 eID application of the German identity card (nPA).
pub const GERMAN_EID_AID: [u8; 9] = [0xE8, 0x07, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x02];
/// NFC Forum Type 4 tag NDEF application.
pub const NDEF_AID: [u8; 7] = [0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01];
/// The kiosk's own HCE application (proprietary AID: `F0` + "KIOSK" + version 1).
pub const KIOSK_PHONE_AID: [u8; 7] = [0xF0, 0x4B, 0x49, 0x4F, 0x53, 0x4B, 0x01];

/// PC/SC Part 3 registered application provider (RID) in contactless storage-card ATRs.
const PCSC_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x06];

/// A card's UID (anti-collision identifier). Random per tap on phones: never an identity
/// for them. `Debug` shows only its length because a fixed UID is a pseudonymous identifier.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uid(Vec<u8>);

impl Uid {
    /// The UID bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The UID as upper-case hex, the form library systems store.
    pub fn to_hex(&self) -> String {
        crate::reader::hex(&self.0)
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uid({} bytes, redacted)", self.0.len())
    }
}

/// What kind of card is on the reader.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardKind {
    /// An ICAO eMRTD: passport or an ID card with a travel-document chip.
    Emrtd,
    /// A German eID card (nPA); online login is handed to the eID client (AusweisApp).
    GermanEid,
    /// An NFC Forum Type 4 tag (or a phone emulating one).
    Type4Tag,
    /// An NFC Forum Type 2 tag (NTAG, Ultralight).
    Type2Tag,
    /// A phone running the kiosk app (our HCE AID answered).
    Phone,
    /// A card that only offers its UID (library card, staff card).
    UidOnly {
        /// The UID the reader reported.
        uid: Uid,
    },
    /// None of the above.
    Unknown {
        /// Log-safe explanation for staff, e.g. which probes failed.
        reason: String,
    },
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Emrtd => f.write_str("passport or ID card (eMRTD)"),
            Self::GermanEid => f.write_str("German eID card"),
            Self::Type4Tag => f.write_str("NFC Forum Type 4 tag"),
            Self::Type2Tag => f.write_str("NFC Forum Type 2 tag"),
            Self::Phone => f.write_str("phone with the kiosk app"),
            Self::UidOnly { .. } => f.write_str("card with UID only"),
            Self::Unknown { reason } => write!(f, "unknown card: {reason}"),
        }
    }
}

/// The card family a contactless storage card announces in its PC/SC Part 3 ATR.
fn storage_card_name(atr: &[u8]) -> Option<u16> {
    // 3B 8F 80 01 80 4F 0C <RID 5> <standard> <name 2> 00 00 00 00 TCK
    if atr.len() >= 15 && atr[4] == 0x80 && atr[5] == 0x4F && atr[7..12] == PCSC_RID {
        Some(u16::from_be_bytes([atr[13], atr[14]]))
    } else {
        None
    }
}

/// Identifies the card by its ATR and by probing (at most about six APDUs).
///
/// Probe failures that only mean "not this kind" move on to the next probe; a removed card
/// or a dead reader ends identification with that error. A card that answers nothing
/// sensible is [`CardKind::Unknown`], not an error.
pub fn identify<C: Card + ?Sized>(card: &mut C) -> Result<CardKind> {
    let storage = storage_card_name(card.atr());
    if let Some(name) = storage {
        // Ultralight / NTAG family: a Type 2 tag if page 3 holds an NDEF capability container.
        if matches!(name, 0x0003 | 0x0026 | 0x003A | 0x003D) && is_type2_tag(card)? {
            return Ok(CardKind::Type2Tag);
        }
        return match read_uid(card) {
            Ok(uid) => Ok(CardKind::UidOnly { uid }),
            Err(error) if is_fatal(&error) => Err(error),
            Err(error) => Ok(CardKind::Unknown {
                reason: format!("storage card {name:04X} without readable UID ({error})"),
            }),
        };
    }
    let mut failures = Vec::new();
    for (aid, kind) in [
        (&KIOSK_PHONE_AID[..], CardKind::Phone),
        (&GERMAN_EID_AID[..], CardKind::GermanEid),
        (&EMRTD_AID[..], CardKind::Emrtd),
        (&NDEF_AID[..], CardKind::Type4Tag),
    ] {
        match select(card, aid) {
            Ok(true) if kind == CardKind::Emrtd => {
                back_to_master_file(card)?;
                return Ok(kind);
            }
            Ok(true) => return Ok(kind),
            Ok(false) => {}
            Err(error) if is_fatal(&error) => return Err(error),
            Err(error) => failures.push(error.message().to_owned()),
        }
    }
    if !is_contactless(card.atr()) {
        // `FF CA` is a pseudo-APDU of contactless readers (PC/SC Part 3); a contact card
        // would receive it as a real command, which some cards answer by crashing.
        return Ok(CardKind::Unknown {
            reason: format!(
                "contact card with ATR {} and no known application (passport, eID, NFC tag, \
                 kiosk app); {}",
                crate::reader::hex(card.atr()),
                failures.join("; ")
            ),
        });
    }
    match read_uid(card) {
        Ok(uid) => Ok(CardKind::UidOnly { uid }),
        Err(error) if is_fatal(&error) => Err(error),
        Err(error) => {
            failures.push(error.message().to_owned());
            Ok(CardKind::Unknown {
                reason: format!(
                    "no known application (passport, eID, NFC tag, kiosk app) and no UID; {}",
                    failures.join("; ")
                ),
            })
        }
    }
}

/// Whether the ATR is a contactless card's pseudo-ATR built by the reader (PC/SC Part 3:
/// `3B 8n 80 01 ...`).
fn is_contactless(atr: &[u8]) -> bool {
    matches!(atr, [0x3B, t0, 0x80, 0x01, ..] if t0 & 0xF0 == 0x80)
}

/// Errors that end identification: the card is gone or the reader stack is down.
fn is_fatal(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::CardRemoved
            | ErrorKind::NoCard
            | ErrorKind::NoReader
            | ErrorKind::ServiceUnavailable
            | ErrorKind::Timeout
            | ErrorKind::Cancelled
    )
}

/// Selects the master file again after the eMRTD probe selected the application: a
/// passport read starts with EF.CardAccess, which lives in the master file (selected after
/// reset), and PC/SC leaves the card as it is between connections. A chip that refuses is
/// still an eMRTD; the read then selects the master file itself.
fn back_to_master_file<C: Card + ?Sized>(card: &mut C) -> Result<()> {
    let command = Command::new(0x00, 0xA4, 0x00, 0x0C).with_data([0x3F, 0x00]);
    match transmit(card, &command) {
        Err(error) if is_fatal(&error) => Err(error),
        _ => Ok(()),
    }
}

/// SELECTs `aid`; `Ok(false)` when the card does not have it.
pub fn select<C: Card + ?Sized>(card: &mut C, aid: &[u8]) -> Result<bool> {
    let response = transmit(card, &Command::select_aid(aid))?;
    Ok(response.sw == StatusWord::OK || response.sw.sw1() == 0x62)
}

fn is_type2_tag<C: Card + ?Sized>(card: &mut C) -> Result<bool> {
    match transmit(card, &Command::new(0xFF, 0xB0, 0x00, 0x03).with_ne(4)) {
        Ok(response) => Ok(response.sw == StatusWord::OK && response.data.first() == Some(&0xE1)),
        Err(error) if is_fatal(&error) => Err(error),
        Err(_) => Ok(false),
    }
}

/// Reads the UID with the PC/SC Part 3 pseudo-APDU `FF CA 00 00 00`.
pub fn read_uid<C: Card + ?Sized>(card: &mut C) -> Result<Uid> {
    let response = transmit(card, &Command::new(0xFF, 0xCA, 0x00, 0x00).with_ne(256))?;
    let uid = response.into_ok("GET DATA (UID)")?;
    if !(4..=10).contains(&uid.len()) {
        return Err(Error::invalid(format!(
            "the reader reported a UID of {} bytes; UIDs have 4 to 10",
            uid.len()
        )));
    }
    Ok(Uid(uid))
}
