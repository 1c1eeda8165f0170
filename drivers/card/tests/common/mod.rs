//! Shared helpers for tests on the real pcscd + vpcd stack.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use kiosk_card::{ErrorKind, PcscCard, ReaderManager};
use kiosk_virtual_cards::TestPcscd;

/// Starts the private pcscd, or returns `None` (after a loud notice) when pcscd/vpcd are
/// not installed.
pub fn pcscd(test: &str) -> Option<TestPcscd> {
    TestPcscd::start_or_skip(test).expect("pcscd harness")
}

/// Connects to the card on `reader`, waiting up to 5 s for pcscd to notice it.
pub fn connect(manager: &ReaderManager, reader: &str) -> PcscCard {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match manager.connect(reader) {
            Ok(card) => return card,
            Err(error) if Instant::now() < deadline => {
                assert!(
                    matches!(
                        error.kind(),
                        ErrorKind::NoCard | ErrorKind::CardRemoved | ErrorKind::Other
                    ),
                    "unexpected error while waiting for the card: {error}"
                );
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(error) => panic!("no card on {reader} within 5 s: {error}"),
        }
    }
}

/// Waits until pcscd reports the reader empty again (bounded to 5 s).
///
/// pcscd's event thread polls vpcd every 400 ms and only notices a new card after it has
/// noticed the old one leave; a card put on within one polling period would be taken for
/// the old one. So after the reader reads empty we wait out two polling periods.
pub fn wait_until_empty(_manager: &ReaderManager, reader: &str) {
    let context = pcsc::Context::establish(pcsc::Scope::User).expect("pcscd context");
    let name = std::ffi::CString::new(reader).expect("reader name");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let mut states = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
        if context
            .get_status_change(Some(Duration::ZERO), &mut states)
            .is_ok()
            && states[0].event_state().contains(pcsc::State::EMPTY)
        {
            std::thread::sleep(Duration::from_millis(900));
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{reader} still reports a card after 5 s");
}
