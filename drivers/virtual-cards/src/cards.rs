//! Well-behaved virtual cards: a UID-only card, NFC Forum Type 2 and Type 4 tags.

use crate::command::{CommandApdu, read_binary};
use crate::emulation::{Emulation, Reply};

/// NFC Forum Type 4 tag NDEF application.
pub const NDEF_AID: [u8; 7] = [0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01];

/// The PC/SC Part 3 ATR of a contactless storage card (`name` from PC/SC Part 3
/// Supplement: `0x0001` MIFARE Classic 1K, `0x0003` MIFARE Ultralight / NTAG).
pub fn storage_card_atr(name: u16) -> Vec<u8> {
    let [hi, lo] = name.to_be_bytes();
    let mut atr = vec![
        0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, hi, lo, 0x00,
        0x00, 0x00, 0x00,
    ];
    atr.push(atr[1..].iter().fold(0, |acc, b| acc ^ b));
    atr
}

/// The PC/SC Part 3 ATR of an ISO 14443-4 card with the given historical bytes.
pub fn iso14443_4_atr(historical: &[u8]) -> Vec<u8> {
    let count = historical.len().min(15) as u8;
    let mut atr = vec![0x3B, 0x80 | count, 0x80, 0x01];
    atr.extend_from_slice(&historical[..usize::from(count)]);
    atr.push(atr[1..].iter().fold(0, |acc, b| acc ^ b));
    atr
}

/// Answers the PC/SC pseudo-APDU GET DATA (`FF CA 00 00 Le`) with `uid`.
fn get_uid(command: &CommandApdu<'_>, uid: &[u8]) -> Option<Reply> {
    if command.cla != 0xFF || command.ins != 0xCA {
        return None;
    }
    Some(match (command.p1, command.p2) {
        (0x00, 0x00) => Reply::data(uid, 0x9000),
        _ => Reply::status(0x6A81),
    })
}

/// A card that only has a UID (a library or staff card, e.g. MIFARE Classic).
#[derive(Debug, Clone)]
pub struct UidCard {
    uid: Vec<u8>,
}

impl UidCard {
    /// A card with this UID (4, 7 or 10 bytes).
    pub fn new(uid: &[u8]) -> Self {
        Self { uid: uid.to_vec() }
    }
}

impl Emulation for UidCard {
    fn atr(&self) -> Vec<u8> {
        storage_card_atr(0x0001)
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        get_uid(&command, &self.uid).unwrap_or(Reply::status(0x6D00))
    }
}

/// An NFC Forum Type 4 tag with one NDEF message (ISO 7816-4 file system: CC E103,
/// NDEF file E104).
#[derive(Debug, Clone)]
pub struct Type4Tag {
    uid: Vec<u8>,
    capability_container: Vec<u8>,
    ndef_file: Vec<u8>,
    application_selected: bool,
    selected: Option<u16>,
}

impl Type4Tag {
    /// A tag holding `ndef_message`, answering at most `max_le` bytes per READ BINARY.
    pub fn new(uid: &[u8], ndef_message: &[u8], max_le: u16) -> Self {
        let file_size = u16::try_from(ndef_message.len() + 2).unwrap_or(u16::MAX);
        let mut ndef_file = file_size.saturating_sub(2).to_be_bytes().to_vec();
        ndef_file.extend_from_slice(ndef_message);
        let mut capability_container = vec![0x00, 0x0F, 0x20];
        capability_container.extend_from_slice(&max_le.to_be_bytes());
        capability_container.extend_from_slice(&0x00FFu16.to_be_bytes());
        capability_container.extend_from_slice(&[0x04, 0x06, 0xE1, 0x04]);
        capability_container.extend_from_slice(&file_size.max(0x0100).to_be_bytes());
        capability_container.extend_from_slice(&[0x00, 0xFF]);
        Self {
            uid: uid.to_vec(),
            capability_container,
            ndef_file,
            application_selected: false,
            selected: None,
        }
    }
}

impl Emulation for Type4Tag {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[])
    }

    fn reset(&mut self) {
        self.application_selected = false;
        self.selected = None;
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        if let Some(reply) = get_uid(&command, &self.uid) {
            return reply;
        }
        match (command.cla, command.ins, command.p1) {
            (0x00, 0xA4, 0x04) => {
                self.selected = None;
                self.application_selected = command.data == NDEF_AID;
                if self.application_selected {
                    Reply::status(0x9000)
                } else {
                    Reply::status(0x6A82)
                }
            }
            (0x00, 0xA4, 0x00) if self.application_selected => match command.data {
                [0xE1, 0x03] => {
                    self.selected = Some(0xE103);
                    Reply::status(0x9000)
                }
                [0xE1, 0x04] => {
                    self.selected = Some(0xE104);
                    Reply::status(0x9000)
                }
                _ => Reply::status(0x6A82),
            },
            (0x00, 0xB0, _) => {
                let file = match self.selected {
                    Some(0xE103) => &self.capability_container,
                    Some(0xE104) => &self.ndef_file,
                    _ => return Reply::status(0x6986),
                };
                let offset = usize::from(u16::from_be_bytes([command.p1, command.p2]));
                read_binary(file, offset, command.ne.unwrap_or(256))
            }
            (0x00, 0xA4, _) => Reply::status(0x6A82),
            _ => Reply::status(0x6D00),
        }
    }
}

/// An NFC Forum Type 2 tag (NTAG/Ultralight) read through the PC/SC `FF B0` pseudo-APDU.
#[derive(Debug, Clone)]
pub struct Type2Tag {
    memory: Vec<u8>,
}

impl Type2Tag {
    /// An NTAG215-like tag (504 bytes of user memory) holding `ndef_message`.
    pub fn new(uid: &[u8; 7], ndef_message: &[u8]) -> Self {
        let mut memory = vec![0u8; 16 + 504];
        // Pages 0-2: UID with check bytes, lock bytes; page 3: capability container.
        memory[..3].copy_from_slice(&uid[..3]);
        memory[3] = 0x88 ^ uid[0] ^ uid[1] ^ uid[2];
        memory[4..8].copy_from_slice(&uid[3..]);
        memory[8] = uid[3] ^ uid[4] ^ uid[5] ^ uid[6];
        memory[12..16].copy_from_slice(&[0xE1, 0x10, (504 / 8) as u8, 0x00]);
        let mut tlv = vec![0x03];
        if ndef_message.len() < 0xFF {
            tlv.push(ndef_message.len() as u8);
        } else {
            tlv.push(0xFF);
            tlv.extend_from_slice(&(ndef_message.len() as u16).to_be_bytes());
        }
        tlv.extend_from_slice(ndef_message);
        tlv.push(0xFE);
        let room = memory.len() - 16;
        memory[16..16 + tlv.len().min(room)].copy_from_slice(&tlv[..tlv.len().min(room)]);
        Self { memory }
    }

    /// A tag with this exact memory image (for malformed-tag tests).
    pub fn from_memory(memory: Vec<u8>) -> Self {
        Self { memory }
    }
}

impl Emulation for Type2Tag {
    fn atr(&self) -> Vec<u8> {
        storage_card_atr(0x0003)
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        let uid: Vec<u8> = self.memory[..3]
            .iter()
            .chain(&self.memory[4..8])
            .copied()
            .collect();
        if let Some(reply) = get_uid(&command, &uid) {
            return reply;
        }
        match (command.cla, command.ins) {
            (0xFF, 0xB0) => {
                let page = usize::from(command.p2);
                let start = page * 4;
                let len = command.ne.unwrap_or(16).min(16);
                if start + len > self.memory.len() {
                    return Reply::status(0x6B00);
                }
                Reply::data(&self.memory[start..start + len], 0x9000)
            }
            (0x00, 0xA4, ..) => Reply::status(0x6A82),
            _ => Reply::status(0x6D00),
        }
    }
}
