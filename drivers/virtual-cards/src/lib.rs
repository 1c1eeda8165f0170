//! Virtual contactless cards for tests and demos of the kiosk's card layer.
//!
//! Each card is an [`Emulation`] (an ATR and an APDU handler). The same emulation runs
//! either on the real PC/SC stack, connected to pcscd's vpcd driver with [`VpcdCard`], or
//! in-process: directly behind [`kiosk_card::Card`] with [`InProcessCard`], or on an
//! [`InProcessReader`] (the [`kiosk_card::CardReader`] trait plus the same event stream as
//! PC/SC readers, for the demo). [`TestPcscd`] starts a private `pcscd -f` with vpcd.
//!
//! Cards: [`UidCard`] (library card), [`Type4Tag`], [`Type2Tag`], [`PhoneHce`] (kiosk app),
//! [`VirtualPassport`] (BAC, PACE on brainpoolP256r1, EF.SOD from a generated [`TestPki`]),
//! and misbehaving ones: [`MuteCard`], [`WrongLengthCard`], [`GarbageTlvTag`],
//! [`RemovedMidRead`].
//!
//! ```no_run
//! use kiosk_card::{ReaderManager, read_uid};
//! use kiosk_virtual_cards::{TestPcscd, UidCard, VpcdCard};
//!
//! let pcscd = TestPcscd::start().expect("pcscd with vpcd");
//! let _card = VpcdCard::insert(pcscd.port(0), UidCard::new(&[1, 2, 3, 4])).unwrap();
//! let manager = ReaderManager::new().unwrap();
//! # std::thread::sleep(std::time::Duration::from_millis(500));
//! let mut card = manager.connect(&pcscd.reader_name(0)).unwrap();
//! assert_eq!(read_uid(&mut card).unwrap().as_bytes(), [1, 2, 3, 4]);
//! ```
//!
//! vpcd listens on all interfaces: never install it on a production kiosk.
#![deny(missing_docs)]

mod cards;
pub mod command;
mod emulation;
mod misbehaving;
mod passport;
mod pcscd;
mod phone;
mod pki;
mod reader;
mod vpcd;

pub use cards::{NDEF_AID, Type2Tag, Type4Tag, UidCard, iso14443_4_atr, storage_card_atr};
pub use emulation::{Emulation, InProcessCard, Reply};
pub use misbehaving::{GarbageTlvTag, MuteCard, RemovedMidRead, WrongLengthCard};
pub use passport::{InvalidMrz, VirtualPassport};
pub use pcscd::{HarnessError, TestPcscd, VPCD_PORT};
pub use phone::{PhoneBehaviour, PhoneHce};
pub use pki::{CurveParameters, MasterListFlaw, SignatureAlgorithm, TestPki};
pub use reader::{InProcessConnection, InProcessReader};
pub use vpcd::VpcdCard;
