//! An in-process reader slot: put virtual cards on it and take them off, with the same
//! [`CardReader`] trait and [`ReaderWatcher`] event stream as PC/SC readers (for the demo
//! and for tests above the card layer that need no pcscd).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use kiosk_card::{Card, CardReader, Error, ErrorKind, ReaderEvent, ReaderWatcher};
use tokio::sync::mpsc;

use crate::emulation::{Emulation, Reply};

struct Slot {
    name: String,
    card: Option<Box<dyn Emulation>>,
    /// Increases with every insertion, so a connection to a removed card stays dead even
    /// when another card is put on.
    generation: u64,
    watchers: Vec<mpsc::UnboundedSender<ReaderEvent>>,
}

/// A reader slot living in this process.
#[derive(Clone)]
pub struct InProcessReader {
    name: String,
    slot: Arc<Mutex<Slot>>,
}

impl fmt::Debug for InProcessReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl InProcessReader {
    /// An empty reader called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            slot: Arc::new(Mutex::new(Slot {
                name: name.to_owned(),
                card: None,
                generation: 0,
                watchers: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn notify(slot: &mut Slot, event: &ReaderEvent) {
        slot.watchers
            .retain(|watcher| watcher.send(event.clone()).is_ok());
    }

    /// Puts `emulation` on the reader (replacing a card already there).
    pub fn insert(&self, emulation: impl Emulation + 'static) {
        let mut slot = self.lock();
        if slot.card.take().is_some() {
            Self::notify(
                &mut slot,
                &ReaderEvent::CardRemoved {
                    reader: self.name.clone(),
                },
            );
        }
        let atr = emulation.atr();
        slot.card = Some(Box::new(emulation));
        slot.generation += 1;
        Self::notify(
            &mut slot,
            &ReaderEvent::CardInserted {
                reader: self.name.clone(),
                atr,
            },
        );
    }

    /// Takes the card off the reader (a no-op when it is empty).
    pub fn remove(&self) {
        let mut slot = self.lock();
        if slot.card.take().is_some() {
            Self::notify(
                &mut slot,
                &ReaderEvent::CardRemoved {
                    reader: self.name.clone(),
                },
            );
        }
    }

    /// Events of this reader: first `ReaderAdded` (and `CardInserted` if a card is on it),
    /// then every change.
    pub fn watch(&self) -> ReaderWatcher {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut slot = self.lock();
        let _ = sender.send(ReaderEvent::ReaderAdded {
            reader: self.name.clone(),
        });
        if let Some(card) = &slot.card {
            let _ = sender.send(ReaderEvent::CardInserted {
                reader: self.name.clone(),
                atr: card.atr(),
            });
        }
        slot.watchers.push(sender);
        ReaderWatcher::from_events(receiver)
    }
}

impl CardReader for InProcessReader {
    type Card = InProcessConnection;

    fn name(&self) -> &str {
        &self.name
    }

    fn connect(&self) -> kiosk_card::Result<InProcessConnection> {
        let slot = self.lock();
        let card = slot
            .card
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::NoCard, format!("no card on {}", self.name)))?;
        Ok(InProcessConnection {
            atr: card.atr(),
            generation: slot.generation,
            slot: Arc::clone(&self.slot),
        })
    }
}

/// A connection to the card on an [`InProcessReader`].
pub struct InProcessConnection {
    atr: Vec<u8>,
    generation: u64,
    slot: Arc<Mutex<Slot>>,
}

impl fmt::Debug for InProcessConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessConnection")
            .finish_non_exhaustive()
    }
}

impl Card for InProcessConnection {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn transmit_raw(&mut self, command: &[u8]) -> kiosk_card::Result<Vec<u8>> {
        let removed = || Error::new(ErrorKind::CardRemoved, "the virtual card was removed");
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if slot.generation != self.generation {
            return Err(removed());
        }
        let card = slot.card.as_mut().ok_or_else(removed)?;
        match card.process(command) {
            Reply::Respond(bytes) => Ok(bytes),
            Reply::Silent => Err(Error::new(
                ErrorKind::Timeout,
                "the virtual card did not answer",
            )),
            Reply::Remove => {
                slot.card = None;
                let event = ReaderEvent::CardRemoved {
                    reader: slot.name.clone(),
                };
                InProcessReader::notify(&mut slot, &event);
                Err(removed())
            }
        }
    }
}
