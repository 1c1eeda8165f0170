//! eMRTD reading (ICAO 9303): PACE with CAN or MRZ (BAC when the chip has no PACE),
//! secure messaging, EF.COM, DG1 and EF.SOD with passive authentication.
//!
//! The protocols come from the `dmrtd` crate (pure Rust, RustCrypto based: BAC, PACE
//! ECDH-GM on NIST and Brainpool curves, secure messaging, LDS parsing, CMS passive
//! authentication). This module adapts it to [`Card`], keeps card errors (removed,
//! timeout) intact, and moves everything personal into redacted, zeroizing types.

mod files;
mod master_list;
mod x509;

use std::fmt;

use chrono::NaiveDate;
use dmrtd::auth::passive::{self, ChainStatus, DataGroup, TrustAnchor};
use dmrtd::lds::df1::efcom::EfCOM;
use dmrtd::lds::df1::efdg1::EfDG1;
use dmrtd::lds::ef::ElementaryFile;
use dmrtd::lds::efcard_access::EfCardAccess;
use dmrtd::lds::mrz::Mrz;
use dmrtd::proto::access_key::AccessKey as PaceKey;
use dmrtd::proto::bac_session::{BacAction, BacSession};
use dmrtd::proto::can_key::CanKey;
use dmrtd::proto::dba_key::DBAKey;
use dmrtd::proto::pace_session::{PaceAction, PaceSession};
use secrecy::{ExposeSecret, SecretString};

use self::files::Channel;
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

/// The CSCA certificates (country signing CAs) the kiosk trusts: single certificates
/// ([`CscaStore::add_der`]) or a whole CSCA master list such as the German one the BSI
/// publishes ([`CscaStore::add_master_list`]).
#[derive(Clone, Default)]
pub struct CscaStore {
    anchors: Vec<TrustAnchor>,
    /// The DER of every anchor, so a certificate is not added twice.
    certificates: Vec<Vec<u8>>,
    /// The DER of the certificates added on their own ([`CscaStore::add_der`]): only
    /// these may vouch for a master list's signer.
    configured: Vec<Vec<u8>>,
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
        self.certificates.push(der.to_vec());
        self.configured.push(der.to_vec());
        Ok(self)
    }

    /// Adds the CSCA certificates of an ICAO Doc 9303-12 CSCA master list (`.ml`: CMS
    /// SignedData of content type id-icao-cscaMasterList, 2.23.136.1.1.2) and returns
    /// how many were added.
    ///
    /// Nothing is added unless the list checks out: the signed attributes bind its
    /// content, the master list signer certificate it carries was issued by a CSCA
    /// certificate already added with [`CscaStore::add_der`] (e.g. Germany's, published
    /// by the BSI) and is a master list signer's (extended key usage
    /// id-icao-cscaMasterListSigningKey 2.23.136.1.1.3, digitalSignature if it has a key
    /// usage, not a CA, valid now by the system clock), and the list's signature
    /// verifies with that signer certificate. A
    /// list cannot vouch for itself: CSCAs inside it, or from other lists, do not count,
    /// so add the issuing CSCA first or the list is refused with advice. Signatures are
    /// checked by RustCrypto: ECDSA on NIST P-256/P-384/P-521 and brainpoolP256r1/P384r1
    /// (named or explicit curve parameters), RSA PKCS#1 v1.5 and PSS with SHA-2;
    /// brainpoolP512r1 and SHA-1 are refused ([`ErrorKind::Unsupported`]). Certificates
    /// whose key `dmrtd` cannot use for passive authentication are skipped (logged by
    /// count), as are certificates already in the store.
    pub fn add_master_list(&mut self, der: &[u8]) -> Result<usize> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let list = master_list::check(der, &self.configured, now)?;
        let mut added = 0;
        let mut unusable = 0;
        for certificate in list.certificates {
            if self.certificates.iter().any(|known| known == certificate) {
                continue;
            }
            match TrustAnchor::from_certificate(certificate) {
                Ok(anchor) => {
                    self.anchors.push(anchor);
                    self.certificates.push(certificate.to_vec());
                    added += 1;
                }
                Err(_) => unusable += 1,
            }
        }
        if unusable > 0 {
            tracing::warn!(
                unusable,
                added,
                "master list: certificates with keys passive authentication cannot use were skipped"
            );
        }
        Ok(added)
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
///
/// Sends the minimum number of APDUs (`docs/performance.md`, "Card reading"): EF.CardAccess
/// is read by short file identifier without selecting the master file, and EF.COM, DG1 and
/// EF.SOD each in `ceil(length / 223)` (PACE, AES) or `ceil(length / 231)` (BAC, 3DES)
/// READ BINARY commands, the first of which selects the file by its short identifier.
pub fn read_passport<C: Card + ?Sized>(
    card: &mut C,
    key: &AccessKey,
    cscas: &CscaStore,
) -> Result<PassportData> {
    let mut channel = Channel::new(card);
    let result = read_document(&mut channel, key, cscas);
    LAST_APDU_COUNT.with(|count| count.set(channel.commands()));
    result
}

/// Whether `error` means the card or reader is gone, rather than that the chip refused
/// or garbled something.
fn card_is_gone(error: &Error) -> bool {
    !matches!(
        error.kind(),
        ErrorKind::InvalidResponse | ErrorKind::Unsupported | ErrorKind::AuthenticationFailed
    )
}

/// Whether a failed first read of EF.CardAccess is worth a SELECT of the master file
/// and a second read (see `read_document`).
fn should_retry_card_access(error: &Error, key: &AccessKey) -> bool {
    if card_is_gone(error) {
        return false;
    }
    match key {
        AccessKey::Can(_) => true,
        // `read_file` reports 6A82 (file not found) as `Unsupported`.
        AccessKey::Mrz { .. } => error.kind() != ErrorKind::Unsupported,
    }
}

fn read_document<C: Card + ?Sized>(
    channel: &mut Channel<'_, C>,
    key: &AccessKey,
    cscas: &CscaStore,
) -> Result<PassportData> {
    // EF.CardAccess sits in the master file, which is selected after reset (and after
    // `identify`), so it is read by short file identifier straight away. A chip without
    // it only has BAC. A refusal may also mean that an earlier read left the chip in the
    // eMRTD application, perhaps with its secure messaging still running, which a plain
    // command ends (PC/SC leaves the card as it was between connections): then the
    // master file is selected and the read tried once more, rather than refusing the
    // citizen's key or falling back to BAC on a PACE-only document. With the MRZ key a
    // plain "file not found" (6A82) is what a fresh BAC-only chip answers, so only other
    // refusals (e.g. 6987/6988 from a stale session) are retried, keeping that read at
    // its minimum; with a CAN, which BAC cannot use, every refusal is.
    let mut read_card_access = || match channel.read_file(files::SFI_CARD_ACCESS, "EF.CardAccess") {
        Err(error) if should_retry_card_access(&error, key) => {
            channel.select_master_file()?;
            channel.read_file(files::SFI_CARD_ACCESS, "EF.CardAccess")
        }
        other => other,
    };
    let card_access = match read_card_access() {
        Ok(bytes) => EfCardAccess::from_bytes(bytes.as_slice())
            .ok()
            .filter(EfCardAccess::is_pace_info_set),
        Err(error) if card_is_gone(&error) => return Err(error),
        Err(error) => {
            tracing::debug!(%error, "no usable EF.CardAccess: using BAC");
            None
        }
    };
    match card_access {
        Some(card_access) => {
            match key {
                AccessKey::Can(can) => {
                    let can = CanKey::new(can.expose_secret()).map_err(|_| {
                        Error::new(
                            ErrorKind::AuthenticationFailed,
                            "the CAN must be the 6 digits printed on the document",
                        )
                    })?;
                    run_pace(channel, can, &card_access)?;
                }
                AccessKey::Mrz { .. } => {
                    let mrz_key = key.dba_key(true)?.ok_or_else(|| {
                        Error::new(ErrorKind::AuthenticationFailed, "MRZ key missing")
                    })?;
                    run_pace(channel, mrz_key, &card_access)?;
                }
            }
            // PACE runs at master file level; the LDS1 application is selected after it
            // (ICAO 9303-11 section 4.2).
            channel.select_application()?;
        }
        None => {
            let bac_key = key.dba_key(false)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "this document only supports BAC, which needs the MRZ data instead of \
                     the CAN; scan or type the MRZ",
                )
            })?;
            channel.select_application()?;
            run_bac(channel, bac_key)?;
        }
    }
    let com = channel.read_file(files::SFI_COM, "EF.COM")?;
    EfCOM::from_bytes(com.as_slice())
        .map_err(|_| Error::invalid("EF.COM is not a valid LDS EF.COM"))?;
    let mut dg1_bytes = channel.read_file(files::SFI_DG1, "DG1")?;
    // `EfDG1` needs its bytes owned: they are moved, not copied, and passive
    // authentication reads them back from it. (`dmrtd` does not zero its own copies of
    // the MRZ; they are dropped at the end of this function.)
    let dg1 = EfDG1::from_bytes(std::mem::take(&mut *dg1_bytes))
        .map_err(|_| Error::invalid("DG1 does not hold a valid TD1, TD2 or TD3 MRZ"))?;
    let sod = channel.read_file(files::SFI_SOD, "EF.SOD")?;
    let groups = [DataGroup {
        number: 1,
        bytes: dg1.to_bytes(),
    }];
    let authenticity = match passive::verify(&sod, &groups, &cscas.anchors) {
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
        apdus = channel.commands(),
        verified = matches!(authenticity, Authenticity::Verified),
        "document read"
    );
    Ok(from_mrz(dg1.mrz(), authenticity))
}

/// A failed handshake step: the status word when the chip refused, else `what` alone.
fn handshake_failed(what: &str, response: &[u8]) -> Error {
    let sw = match response {
        [.., sw1, sw2] => u16::from_be_bytes([*sw1, *sw2]),
        _ => 0x9000,
    };
    if sw == 0x9000 {
        Error::new(ErrorKind::AuthenticationFailed, format!("{what} failed"))
    } else {
        Error::new(
            ErrorKind::AuthenticationFailed,
            format!(
                "{what} failed, the document answered {}",
                crate::apdu::StatusWord(sw)
            ),
        )
    }
}

/// Commands of a BAC or PACE handshake (PACE: MSE:Set AT and four GENERAL AUTHENTICATE).
const MAX_HANDSHAKE_STEPS: usize = 8;

/// PACE with `password` (CAN or MRZ), driven by `dmrtd`'s session over our channel.
fn run_pace<C: Card + ?Sized, K: PaceKey>(
    channel: &mut Channel<'_, C>,
    password: K,
    card_access: &EfCardAccess,
) -> Result<()> {
    const WHAT: &str = "PACE (is the CAN or MRZ right?)";
    let info = card_access
        .pace_info()
        .ok_or_else(|| Error::unsupported("EF.CardAccess announces no PACE protocol"))?;
    let parameter_id = info
        .parameter_id
        .and_then(|id| u32::try_from(id).ok())
        .ok_or_else(|| {
            Error::unsupported(
                "the document's PACE names no standardized domain parameters; use the MRZ \
                 with BAC",
            )
        })?;
    let mut session =
        PaceSession::new(password, info.protocol.clone(), parameter_id).map_err(|_| {
            Error::unsupported(
                "the document's PACE variant is not supported (the kiosk does ECDH or DH \
                 generic mapping with AES)",
            )
        })?;
    let mut last = Vec::new();
    for _ in 0..MAX_HANDSHAKE_STEPS {
        match session.next() {
            Ok(PaceAction::SendApdu(apdu)) => {
                last = channel.transmit(&apdu)?;
                session
                    .feed_response(&last)
                    .map_err(|_| handshake_failed(WHAT, &last))?;
            }
            Ok(PaceAction::Done(sm)) => {
                channel.start_secure_messaging(Box::new(sm), files::MAX_READ_AES);
                return Ok(());
            }
            Err(_) => return Err(handshake_failed(WHAT, &last)),
        }
    }
    Err(handshake_failed(WHAT, &last))
}

/// BAC with the MRZ key (the eMRTD application is already selected).
fn run_bac<C: Card + ?Sized>(channel: &mut Channel<'_, C>, key: DBAKey) -> Result<()> {
    const WHAT: &str = "BAC (is the MRZ data right?)";
    let mut session = BacSession::new(key);
    let mut last = Vec::new();
    for _ in 0..MAX_HANDSHAKE_STEPS {
        match session.next() {
            Ok(BacAction::SendApdu(apdu)) => {
                last = channel.transmit(&apdu)?;
                session
                    .feed_response(&last)
                    .map_err(|_| handshake_failed(WHAT, &last))?;
            }
            Ok(BacAction::Done(sm)) => {
                channel.start_secure_messaging(Box::new(sm), files::MAX_READ_3DES);
                return Ok(());
            }
            Err(_) => return Err(handshake_failed(WHAT, &last)),
        }
    }
    Err(handshake_failed(WHAT, &last))
}
