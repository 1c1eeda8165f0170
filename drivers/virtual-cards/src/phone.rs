//! A phone running the kiosk app in Host Card Emulation, speaking the kiosk's NFC phone
//! protocol (`docs/nfc-phone-protocol.md`).

use ed25519_dalek::SigningKey;
use kiosk_card::KIOSK_PHONE_AID;
use kiosk_card::phone::{INS_GET_TOKEN, answer_challenge};

use crate::cards::iso14443_4_atr;
use crate::command::CommandApdu;
use crate::emulation::{Emulation, Reply};

/// How the virtual phone answers GET TOKEN.
#[derive(Debug, Clone)]
pub enum PhoneBehaviour {
    /// Signs each challenge with its device key (a genuine phone).
    Honest,
    /// Always sends this recorded answer, whatever the challenge (a replay attack).
    Replay(Vec<u8>),
}

/// A phone with the kiosk app holding one credential.
pub struct PhoneHce {
    device_key: SigningKey,
    credential: Vec<u8>,
    behaviour: PhoneBehaviour,
    uid: [u8; 4],
    selected: bool,
    pending: Vec<u8>,
}

impl std::fmt::Debug for PhoneHce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneHce")
            .field("behaviour", &self.behaviour)
            .finish_non_exhaustive()
    }
}

impl PhoneHce {
    /// A phone holding `credential` (from `kiosk_card::phone::issue_credential`) bound to
    /// `device_key`.
    pub fn new(device_key: SigningKey, credential: Vec<u8>, behaviour: PhoneBehaviour) -> Self {
        Self {
            device_key,
            credential,
            behaviour,
            // Phones use a random UID per tap starting with 08.
            uid: [0x08, 0x3A, 0x91, 0x5C],
            selected: false,
            pending: Vec::new(),
        }
    }

    /// Sends the next chunk of a pending answer, with 61xx while more follows.
    fn next_chunk(&mut self, ne: usize) -> Reply {
        let take = ne.min(256).min(self.pending.len());
        let chunk: Vec<u8> = self.pending.drain(..take).collect();
        let sw = match self.pending.len() {
            0 => 0x9000,
            left if left >= 256 => 0x6100,
            left => 0x6100 | left as u16,
        };
        Reply::data(&chunk, sw)
    }
}

impl Emulation for PhoneHce {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[])
    }

    fn reset(&mut self) {
        self.selected = false;
        self.pending.clear();
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        match (command.cla, command.ins) {
            (0xFF, 0xCA) => Reply::data(&self.uid, 0x9000),
            (0x00, 0xA4) if command.p1 == 0x04 => {
                self.selected = command.data == KIOSK_PHONE_AID;
                self.pending.clear();
                if self.selected {
                    Reply::data(&[0x01], 0x9000)
                } else {
                    Reply::status(0x6A82)
                }
            }
            (0x80, INS_GET_TOKEN) if self.selected => {
                if command.data.is_empty() || command.data.len() > 64 {
                    return Reply::status(0x6700);
                }
                self.pending = match &self.behaviour {
                    PhoneBehaviour::Honest => {
                        answer_challenge(&self.device_key, &self.credential, command.data)
                    }
                    PhoneBehaviour::Replay(recorded) => recorded.clone(),
                };
                self.next_chunk(command.ne.unwrap_or(256))
            }
            (0x00, 0xC0) if !self.pending.is_empty() => self.next_chunk(command.ne.unwrap_or(256)),
            (_, 0xC0) => Reply::status(0x6985),
            (0x80, INS_GET_TOKEN) => Reply::status(0x6985),
            _ => Reply::status(0x6D00),
        }
    }
}
