//! Card readers over PC/SC for the kiosk: a reader manager with hot-plug events, an APDU
//! layer, card identification, NDEF, eMRTD (passports and ID cards) and NFC phone tokens.
//!
//! Only this crate knows PC/SC and APDU bytes. Everything above the hardware boundary works
//! on the small [`Card`] trait, implemented by [`PcscCard`] and by the virtual cards of the
//! `kiosk-virtual-cards` crate, so the same code runs against real readers, against
//! virtual cards on pcscd (vpcd), and in-process in demos and tests.
//!
//! ```no_run
//! use kiosk_card::{ReaderManager, identify, read_uid};
//!
//! # fn main() -> Result<(), kiosk_card::Error> {
//! let manager = ReaderManager::new()?;
//! for reader in manager.readers()? {
//!     let mut card = manager.connect(&reader)?;
//!     let kind = identify(&mut card)?;
//!     println!("{reader}: {kind}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Layout:
//! - [`ReaderManager`], [`ReaderWatcher`], [`PcscCard`]: PC/SC readers, hot-plug events as an
//!   async stream (blocking `SCardGetStatusChange` on its own thread, cancellable), recovery
//!   after pcscd restarts, a per-APDU timeout against mute cards.
//! - [`apdu`]: command/response APDUs (short and extended), `61xx`/`6Cxx` chaining, status
//!   word meanings. [`tlv`]: BER-TLV.
//! - [`identify`] / [`CardKind`]: eMRTD, German eID, Type 4 / Type 2 tags, kiosk phone app,
//!   UID-only cards, unknown cards with a reason.
//! - [`ndef`]: NDEF messages from Type 4 and Type 2 tags.
//! - [`phone`]: the kiosk's NFC phone protocol (`docs/nfc-phone-protocol.md`).
//! - [`emrtd`]: passports and ID cards: PACE/BAC (via `dmrtd`), DG1 read with the minimum of
//!   APDUs, passive authentication against CSCAs from certificates or CSCA master lists.
//!
//! Every error carries an [`ErrorKind`] for generic handling. Personal data (MRZ contents,
//! identity attributes, access keys) only travels in types whose `Debug` output is redacted
//! and whose memory is zeroed on drop; errors and logs never contain card data.
#![deny(missing_docs)]

pub mod apdu;
mod card;
pub mod emrtd;
mod error;
mod identify;
pub mod ndef;
pub mod phone;
mod reader;
pub mod tlv;

pub use card::{Card, CardReader};
pub use emrtd::{AccessKey, Authenticity, CscaStore, PassportData, read_passport};
pub use error::{Error, ErrorKind, Result};
pub use identify::{
    CardKind, EMRTD_AID, GERMAN_EID_AID, KIOSK_PHONE_AID, NDEF_AID, Uid, identify, read_uid, select,
};
pub use ndef::read_ndef;
pub use phone::{TrustedIssuers, VerifiedToken, read_phone_token};
pub use reader::{PcscCard, PcscReader, ReaderEvent, ReaderManager, ReaderWatcher, WatchConfig};
