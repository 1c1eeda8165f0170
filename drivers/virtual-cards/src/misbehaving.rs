//! Virtual cards that break the rules, to prove the reader layer never hangs or panics.

use crate::cards::{NDEF_AID, iso14443_4_atr};
use crate::command::CommandApdu;
use crate::emulation::{Emulation, Reply};

/// A card that is detected (it has an ATR) but never answers an APDU.
#[derive(Debug, Clone, Default)]
pub struct MuteCard;

impl Emulation for MuteCard {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[0x4D, 0x55, 0x54, 0x45])
    }

    fn process(&mut self, _command: &[u8]) -> Reply {
        Reply::Silent
    }
}

/// A card whose answers have impossible lengths: a single status byte to every SELECT,
/// and far more data than asked for to everything else.
#[derive(Debug, Clone, Default)]
pub struct WrongLengthCard;

impl Emulation for WrongLengthCard {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[0x4C, 0x45, 0x4E])
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        match CommandApdu::parse(command) {
            Some(command) if command.ins == 0xA4 => Reply::Respond(vec![0x90]),
            Some(command) => {
                let too_much = command.ne.unwrap_or(0) + 17;
                Reply::data(&vec![0xA5; too_much.min(1000)], 0x9000)
            }
            None => Reply::Respond(Vec::new()),
        }
    }
}

/// A Type 4 tag whose capability container and NDEF file are garbage: lengths that point
/// past the end, nonsense TLVs, truncated records.
#[derive(Debug, Clone)]
pub struct GarbageTlvTag {
    selected: Option<u16>,
    /// The bytes served as the NDEF file (after a plausible length prefix).
    pub ndef_garbage: Vec<u8>,
}

impl GarbageTlvTag {
    /// A tag serving `ndef_garbage` as its NDEF message.
    pub fn new(ndef_garbage: &[u8]) -> Self {
        Self {
            selected: None,
            ndef_garbage: ndef_garbage.to_vec(),
        }
    }
}

impl Emulation for GarbageTlvTag {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[])
    }

    fn reset(&mut self) {
        self.selected = None;
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        match (command.ins, command.p1) {
            (0xA4, 0x04) if command.data == NDEF_AID => Reply::status(0x9000),
            (0xA4, 0x00) => {
                self.selected = Some(u16::from_be_bytes([
                    command.data.first().copied().unwrap_or(0),
                    command.data.get(1).copied().unwrap_or(0),
                ]));
                Reply::status(0x9000)
            }
            (0xB0, _) => {
                let offset = usize::from(u16::from_be_bytes([command.p1, command.p2]));
                let file: Vec<u8> = match self.selected {
                    // CC: the NDEF file control TLV claims 200 bytes of value.
                    Some(0xE103) => vec![0x00, 0x0F, 0x20, 0x00, 0x3B, 0x00, 0x34, 0x04, 0xC8],
                    _ => {
                        let mut file = ((self.ndef_garbage.len() + 40) as u16)
                            .to_be_bytes()
                            .to_vec();
                        file.extend_from_slice(&self.ndef_garbage);
                        file
                    }
                };
                crate::command::read_binary(&file, offset, command.ne.unwrap_or(256))
            }
            _ => Reply::status(0x6A82),
        }
    }
}

/// Wraps a card and pulls it off the reader when it receives its `after`-th command
/// (counting from 1), without answering it.
#[derive(Debug, Clone)]
pub struct RemovedMidRead<E> {
    inner: E,
    after: usize,
    seen: usize,
}

impl<E> RemovedMidRead<E> {
    /// `inner` answers the first `after - 1` commands, then the card leaves.
    pub fn new(inner: E, after: usize) -> Self {
        Self {
            inner,
            after,
            seen: 0,
        }
    }
}

impl<E: Emulation> Emulation for RemovedMidRead<E> {
    fn atr(&self) -> Vec<u8> {
        self.inner.atr()
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        self.seen += 1;
        if self.seen >= self.after {
            return Reply::Remove;
        }
        self.inner.process(command)
    }
}
