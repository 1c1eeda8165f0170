//! Card identification with in-process virtual cards (fast; the same emulations run on
//! pcscd in `pcscd_stack.rs`).

use kiosk_card::{CardKind, EMRTD_AID, ErrorKind, GERMAN_EID_AID, identify};
use kiosk_virtual_cards::{
    Emulation, InProcessCard, MuteCard, Reply, Type4Tag, UidCard, WrongLengthCard,
    command::CommandApdu, iso14443_4_atr,
};

/// Answers SELECT for the given applications only, like the application directory of a
/// chip whose protocols are out of scope here.
struct Applications {
    atr: Vec<u8>,
    aids: Vec<Vec<u8>>,
}

impl Emulation for Applications {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        match CommandApdu::parse(command) {
            Some(c)
                if c.ins == 0xA4 && c.p1 == 0x04 && self.aids.iter().any(|aid| aid == c.data) =>
            {
                Reply::status(0x9000)
            }
            Some(c) if c.ins == 0xA4 => Reply::status(0x6A82),
            Some(_) => Reply::status(0x6D00),
            None => Reply::status(0x6700),
        }
    }
}

#[test]
fn german_eid_is_recognised_before_its_travel_application() {
    // The German ID card carries both the eID and the ICAO travel application.
    let card = Applications {
        atr: iso14443_4_atr(&[0x80, 0x31, 0xF8, 0x73, 0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00]),
        aids: vec![GERMAN_EID_AID.to_vec(), EMRTD_AID.to_vec()],
    };
    assert_eq!(
        identify(&mut InProcessCard::new(card)).unwrap(),
        CardKind::GermanEid
    );
    let passport = Applications {
        atr: iso14443_4_atr(&[]),
        aids: vec![EMRTD_AID.to_vec()],
    };
    assert_eq!(
        identify(&mut InProcessCard::new(passport)).unwrap(),
        CardKind::Emrtd
    );
}

#[test]
fn tags_and_uid_cards_are_identified() {
    let tag = Type4Tag::new(&[1; 7], &[0xD0, 0x00, 0x00], 255);
    assert_eq!(
        identify(&mut InProcessCard::new(tag)).unwrap(),
        CardKind::Type4Tag
    );
    let kind = identify(&mut InProcessCard::new(UidCard::new(&[9, 8, 7, 6]))).unwrap();
    assert!(matches!(kind, CardKind::UidOnly { ref uid } if uid.as_bytes() == [9, 8, 7, 6]));
}

#[test]
fn contact_card_without_known_application_is_unknown_with_a_reason() {
    let card = Applications {
        atr: vec![
            0x3B, 0xD6, 0x18, 0x00, 0x80, 0xB1, 0x80, 0x6D, 0x1F, 0x03, 0x80, 0x51, 0x00, 0x61,
            0x10, 0x30, 0x9E,
        ],
        aids: Vec::new(),
    };
    let mut card = InProcessCard::new(card);
    let CardKind::Unknown { reason } = identify(&mut card).unwrap() else {
        panic!("expected an unknown card");
    };
    assert!(reason.contains("3BD6180080B1806D1F0380510061"), "{reason}");
    // Four SELECTs, and no `FF CA`, which a contact card would receive as a real command.
    assert_eq!(card.commands_received(), 4);
}

#[test]
fn misbehaving_cards_end_in_errors_not_hangs() {
    let error = identify(&mut InProcessCard::new(MuteCard)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let kind = identify(&mut InProcessCard::new(WrongLengthCard));
    match kind {
        Ok(CardKind::Unknown { .. }) => {}
        Err(error) => assert_eq!(error.kind(), ErrorKind::CardRemoved, "{error}"),
        Ok(other) => panic!("taken for {other:?}"),
    }
}
