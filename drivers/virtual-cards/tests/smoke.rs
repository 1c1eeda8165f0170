//! The harness and vpcd client work against the real pcscd.

use std::time::Duration;

use kiosk_card::{Card, ReaderManager};
use kiosk_virtual_cards::{TestPcscd, UidCard, VpcdCard};

#[test]
fn uid_card_answers_through_pcscd() {
    let Some(pcscd) = TestPcscd::start_or_skip("uid_card_answers_through_pcscd").unwrap() else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let readers = manager.readers().unwrap();
    assert!(readers.contains(&pcscd.reader_name(0)), "{readers:?}");
    let _card = VpcdCard::insert(pcscd.port(0), UidCard::new(&[0xDE, 0xAD, 0xBE, 0xEF])).unwrap();
    let mut connected = None;
    for _ in 0..100 {
        if let Ok(card) = manager.connect(&pcscd.reader_name(0)) {
            connected = Some(card);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut card = connected.expect("card shows up within 5 s");
    assert_eq!(card.atr()[..4], [0x3B, 0x8F, 0x80, 0x01]);
    let response = card.transmit_raw(&[0xFF, 0xCA, 0, 0, 0]).unwrap();
    assert_eq!(response, [0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00]);
}

#[tokio::test(flavor = "current_thread")]
async fn in_process_reader_speaks_the_same_traits_and_events() {
    use kiosk_card::{CardReader, ErrorKind, ReaderEvent, read_uid};
    use kiosk_virtual_cards::{InProcessReader, RemovedMidRead};

    let reader = InProcessReader::new("Demo reader");
    let mut events = reader.watch();
    assert_eq!(
        events.next().await,
        Some(ReaderEvent::ReaderAdded {
            reader: "Demo reader".into()
        })
    );
    assert_eq!(reader.connect().unwrap_err().kind(), ErrorKind::NoCard);

    reader.insert(UidCard::new(&[1, 2, 3, 4]));
    assert!(matches!(
        events.next().await,
        Some(ReaderEvent::CardInserted { .. })
    ));
    let mut card = reader.connect().unwrap();
    assert_eq!(read_uid(&mut card).unwrap().as_bytes(), [1, 2, 3, 4]);

    // A connection to a card that was swapped stays dead.
    reader.insert(RemovedMidRead::new(UidCard::new(&[5, 6, 7, 8]), 2));
    assert!(matches!(
        events.next().await,
        Some(ReaderEvent::CardRemoved { .. })
    ));
    assert!(matches!(
        events.next().await,
        Some(ReaderEvent::CardInserted { .. })
    ));
    assert_eq!(
        read_uid(&mut card).unwrap_err().kind(),
        ErrorKind::CardRemoved
    );

    let mut card = reader.connect().unwrap();
    assert_eq!(read_uid(&mut card).unwrap().as_bytes(), [5, 6, 7, 8]);
    assert_eq!(
        read_uid(&mut card).unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    assert!(matches!(
        events.next().await,
        Some(ReaderEvent::CardRemoved { .. })
    ));
    reader.remove();
    assert!(events.try_next().is_none());
}
