//! The card-side trait every virtual card implements, and the in-process card that runs
//! an emulation behind [`kiosk_card::Card`].

use std::fmt;

use kiosk_card::{Card, Error, ErrorKind};

/// What a virtual card does with one command APDU.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer with these bytes (normally data followed by SW1 SW2).
    Respond(Vec<u8>),
    /// Never answer (a mute card).
    Silent,
    /// Leave the field now, without answering (card pulled away mid-read).
    Remove,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Respond(bytes) => write!(f, "Respond({} bytes)", bytes.len()),
            Self::Silent => f.write_str("Silent"),
            Self::Remove => f.write_str("Remove"),
        }
    }
}

impl Reply {
    /// A response with data and status word.
    pub fn data(data: &[u8], sw: u16) -> Self {
        let mut bytes = data.to_vec();
        bytes.extend_from_slice(&sw.to_be_bytes());
        Self::Respond(bytes)
    }

    /// A response with only a status word.
    pub fn status(sw: u16) -> Self {
        Self::Respond(sw.to_be_bytes().to_vec())
    }
}

/// A virtual card: an ATR and an APDU handler.
pub trait Emulation: Send {
    /// The ATR the reader reports for this card.
    fn atr(&self) -> Vec<u8>;

    /// Handles one command APDU.
    fn process(&mut self, command: &[u8]) -> Reply;

    /// The card lost power or was reset: forget session state (selected files, keys).
    fn reset(&mut self) {}
}

impl<E: Emulation + ?Sized> Emulation for Box<E> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn process(&mut self, command: &[u8]) -> Reply {
        (**self).process(command)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

/// Runs an [`Emulation`] in-process behind the [`Card`] trait (for demos and fast tests).
///
/// A silent card gives [`ErrorKind::Timeout`], a removed one [`ErrorKind::CardRemoved`],
/// as a reader would report them.
pub struct InProcessCard<E> {
    emulation: E,
    atr: Vec<u8>,
    removed: bool,
    commands: usize,
}

impl<E> fmt::Debug for InProcessCard<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessCard")
            .field("removed", &self.removed)
            .field("commands", &self.commands)
            .finish_non_exhaustive()
    }
}

impl<E: Emulation> InProcessCard<E> {
    /// Puts `emulation` on the in-process reader.
    pub fn new(emulation: E) -> Self {
        let atr = emulation.atr();
        Self {
            emulation,
            atr,
            removed: false,
            commands: 0,
        }
    }

    /// How many APDUs the card received (for APDU-count benchmarks).
    pub fn commands_received(&self) -> usize {
        self.commands
    }

    /// The emulation, e.g. to inspect its state after a read.
    pub fn emulation(&self) -> &E {
        &self.emulation
    }
}

impl<E: Emulation> Card for InProcessCard<E> {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn transmit_raw(&mut self, command: &[u8]) -> kiosk_card::Result<Vec<u8>> {
        if self.removed {
            return Err(Error::new(
                ErrorKind::CardRemoved,
                "the virtual card was removed",
            ));
        }
        self.commands += 1;
        match self.emulation.process(command) {
            Reply::Respond(bytes) => Ok(bytes),
            Reply::Silent => Err(Error::new(
                ErrorKind::Timeout,
                "the virtual card did not answer",
            )),
            Reply::Remove => {
                self.removed = true;
                Err(Error::new(
                    ErrorKind::CardRemoved,
                    "the virtual card was removed",
                ))
            }
        }
    }
}
