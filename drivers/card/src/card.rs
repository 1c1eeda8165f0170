//! The hardware boundary: a card that answers APDUs, and a reader that hands out cards.

use crate::error::Result;

/// A card on a reader, ready to exchange APDUs.
///
/// Implemented by the PC/SC card ([`crate::PcscCard`]) and by in-process virtual cards
/// (crate `kiosk-virtual-cards`). Higher layers ([`crate::apdu::transmit`], identification,
/// NDEF, eMRTD, phone tokens) only use this trait.
pub trait Card {
    /// The Answer To Reset (for contactless cards: the reader's pseudo-ATR).
    fn atr(&self) -> &[u8];

    /// Sends one command APDU and returns the raw response (data followed by SW1 SW2).
    ///
    /// Implementations pass bytes through; checking the response is the APDU layer's job.
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>>;
}

impl<C: Card + ?Sized> Card for &mut C {
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit_raw(command)
    }
}

impl<C: Card + ?Sized> Card for Box<C> {
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }

    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit_raw(command)
    }
}

/// A reader slot a card can be put on.
pub trait CardReader {
    /// The card type this reader hands out.
    type Card: Card;

    /// The reader's display name (as PC/SC lists it).
    fn name(&self) -> &str;

    /// Connects to the card currently on the reader.
    ///
    /// Fails with [`crate::ErrorKind::NoCard`] when the reader is empty.
    fn connect(&self) -> Result<Self::Card>;
}
