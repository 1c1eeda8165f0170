//! eMRTD reading against the virtual passport, in-process and on pcscd + vpcd.

mod common;

use kiosk_card::emrtd::last_read_apdu_count;
use kiosk_card::{
    AccessKey, Authenticity, CardKind, CscaStore, ErrorKind, ReaderManager, identify, read_passport,
};
use kiosk_virtual_cards::{InProcessCard, RemovedMidRead, TestPki, VirtualPassport, VpcdCard};
use secrecy::ExposeSecret;

const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);
const OTHER_MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122M1204159ZE184226B<<<<<10"
);

fn mrz_key(document_number: &str) -> AccessKey {
    AccessKey::Mrz {
        document_number: document_number.into(),
        date_of_birth: "740812".into(),
        date_of_expiry: "120415".into(),
    }
}

fn trusting(pki: &TestPki) -> CscaStore {
    let mut store = CscaStore::new();
    store.add_der(pki.csca_certificate()).unwrap();
    store
}

#[test]
fn bac_passport_is_read_and_passively_authenticated() {
    let pki = TestPki::generate("Utopia");
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    assert_eq!(identify(&mut card).unwrap(), CardKind::Emrtd);
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap();
    assert_eq!(data.authenticity, Authenticity::Verified);
    assert_eq!(data.surname.expose_secret(), "ERIKSSON");
    assert_eq!(data.given_names.expose_secret(), "ANNA MARIA");
    assert_eq!(data.document_number.expose_secret(), "L898902C3");
    assert_eq!(data.date_of_birth.expose_secret(), "1974-08-12");
    assert_eq!(data.sex.expose_secret(), "F");
    let debug = format!("{data:?}");
    assert!(
        !debug.contains("ERIKSSON") && !debug.contains("L898902C3"),
        "{debug}"
    );
    let passport = VirtualPassport::new(MRZ, &pki).unwrap();
    assert_eq!(last_read_apdu_count(), minimum_apdus(&passport, false));
}

/// The minimum number of APDUs a read needs (docs/performance.md, "Card reading"):
/// EF.CardAccess by short file identifier (one command; `6A82` on a BAC-only chip), then
/// PACE (MSE:Set AT, four GENERAL AUTHENTICATE, SELECT application) or BAC (SELECT
/// application, GET CHALLENGE, EXTERNAL AUTHENTICATE), then EF.COM, DG1 and EF.SOD in
/// reads of the largest plain length whose protected answer fits a short response APDU:
/// 223 bytes with AES (PACE), 231 with 3DES (BAC).
fn minimum_apdus(passport: &VirtualPassport, pace: bool) -> usize {
    let card_access = passport.file_len(0x1C).map_or(1, |len| len.div_ceil(256));
    let (handshake, chunk) = if pace { (6, 223) } else { (3, 231) };
    let files: usize = [0x1E, 0x01, 0x1D]
        .into_iter()
        .map(|sfi| passport.file_len(sfi).unwrap().div_ceil(chunk))
        .sum();
    card_access + handshake + files
}

#[test]
fn reads_send_exactly_the_minimum_number_of_apdus() {
    let pki = TestPki::generate("Utopia");
    let bac = VirtualPassport::new(MRZ, &pki).unwrap();
    // EF.SOD of the test PKI is 682 bytes: three protected reads with 3DES (231 bytes
    // each), four with AES (223 bytes each).
    assert_eq!(bac.file_len(0x1D), Some(682));
    assert_eq!(minimum_apdus(&bac, false), 9);
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap();
    assert_eq!(last_read_apdu_count(), 9);
    assert_unchanged(&data);

    let pace = VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap();
    assert_eq!(minimum_apdus(&pace, true), 13);
    for key in [AccessKey::Can("123456".into()), mrz_key("L898902C3")] {
        let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
        let data = read_passport(&mut card, &key, &trusting(&pki)).unwrap();
        assert_eq!(last_read_apdu_count(), 13);
        assert_unchanged(&data);
    }
}

#[test]
fn a_card_left_in_the_emrtd_application_is_still_read_with_its_can() {
    let pki = TestPki::generate("Utopia");
    let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
    // Identifying selects the application and then the master file again, so the read
    // that follows still sends only the minimum.
    assert_eq!(identify(&mut card).unwrap(), CardKind::Emrtd);
    let can = AccessKey::Can("123456".into());
    let data = read_passport(&mut card, &can, &trusting(&pki)).unwrap();
    assert_unchanged(&data);
    assert_eq!(last_read_apdu_count(), 13);

    // That read left the application selected (as a read on another connection would:
    // PC/SC leaves the card as it is). The next read selects the master file itself.
    let data = read_passport(&mut card, &can, &trusting(&pki)).unwrap();
    assert_unchanged(&data);
    assert_eq!(
        last_read_apdu_count(),
        13 + 2,
        "EF.CardAccess not found, SELECT MF, again"
    );
}

#[test]
fn a_card_left_in_the_emrtd_application_is_still_read_with_its_mrz() {
    let pki = TestPki::generate("Utopia");
    let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
    let key = mrz_key("L898902C3");
    let data = read_passport(&mut card, &key, &trusting(&pki)).unwrap();
    assert_unchanged(&data);
    assert_eq!(last_read_apdu_count(), 13);

    // The read left the application selected with PACE's secure messaging running: the
    // plain READ BINARY of EF.CardAccess ends it (6987), so the reader selects the master
    // file and reads again, and PACE runs with the MRZ instead of falling back to BAC.
    let data = read_passport(&mut card, &key, &trusting(&pki)).unwrap();
    assert_unchanged(&data);
    assert_eq!(
        last_read_apdu_count(),
        13 + 2,
        "EF.CardAccess refused, SELECT MF, again"
    );
}

/// The DG1 fields and verification the reader gave before it was rewritten to send the
/// minimum of APDUs.
fn assert_unchanged(data: &kiosk_card::PassportData) {
    assert_eq!(data.authenticity, Authenticity::Verified);
    assert_eq!(data.document_code, "P");
    assert_eq!(data.issuing_state.expose_secret(), "UTO");
    assert_eq!(data.surname.expose_secret(), "ERIKSSON");
    assert_eq!(data.given_names.expose_secret(), "ANNA MARIA");
    assert_eq!(data.document_number.expose_secret(), "L898902C3");
    assert_eq!(data.nationality.expose_secret(), "UTO");
    assert_eq!(data.date_of_birth.expose_secret(), "1974-08-12");
    assert_eq!(data.sex.expose_secret(), "F");
    assert_eq!(data.date_of_expiry.expose_secret(), "2012-04-15");
}

#[test]
fn access_keys_do_not_leak_in_debug() {
    let debug = format!(
        "{:?} {:?}",
        mrz_key("L898902C3"),
        AccessKey::Can("123456".into())
    );
    for secret in ["L898902C3", "740812", "120415", "123456"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn wrong_mrz_is_an_authentication_failure() {
    let pki = TestPki::generate("Utopia");
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    let error = read_passport(&mut card, &mrz_key("L898902C4"), &trusting(&pki)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthenticationFailed, "{error}");
    assert!(!error.message().contains("L898902C"), "{error}");
}

#[test]
fn can_on_a_bac_only_passport_asks_for_the_mrz() {
    let pki = TestPki::generate("Utopia");
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    let error =
        read_passport(&mut card, &AccessKey::Can("123456".into()), &trusting(&pki)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
}

#[test]
fn untrusted_signer_and_forged_dg1_are_not_verified() {
    let pki = TestPki::generate("Utopia");
    let stranger = TestPki::generate("Elsewhere");
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&stranger)).unwrap();
    assert_eq!(
        data.authenticity,
        Authenticity::NotVerified {
            reason: "the document signer does not chain to a configured CSCA".into()
        }
    );
    let mut card = InProcessCard::new(VirtualPassport::new(MRZ, &pki).unwrap());
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &CscaStore::new()).unwrap();
    assert!(
        matches!(data.authenticity, Authenticity::NotVerified { ref reason } if reason.contains("no CSCA"))
    );

    let forged = VirtualPassport::with_forged_dg1(OTHER_MRZ, MRZ, &pki).unwrap();
    let mut card = InProcessCard::new(forged);
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap();
    let Authenticity::NotVerified { reason } = data.authenticity else {
        panic!("a forged DG1 must not verify");
    };
    assert!(reason.contains("data group 1"), "{reason}");
}

#[test]
fn passport_removed_mid_read_gives_card_removed() {
    let pki = TestPki::generate("Utopia");
    // Every one of the 9 (BAC) and 13 (PACE) commands, including each EF.SOD chunk.
    for after in 1..=9 {
        let passport = RemovedMidRead::new(VirtualPassport::new(MRZ, &pki).unwrap(), after);
        let mut card = InProcessCard::new(passport);
        let error = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::CardRemoved,
            "after {after}: {error}"
        );
    }
    for after in 1..=13 {
        let passport = VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap();
        let mut card = InProcessCard::new(RemovedMidRead::new(passport, after));
        let error = read_passport(&mut card, &AccessKey::Can("123456".into()), &trusting(&pki))
            .unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::CardRemoved,
            "after {after}: {error}"
        );
    }
}

#[test]
fn pace_with_can_or_mrz_opens_the_chip() {
    let pki = TestPki::generate("Utopia");
    let can = AccessKey::Can("123456".into());
    let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
    let data = read_passport(&mut card, &can, &trusting(&pki)).unwrap();
    assert_eq!(data.authenticity, Authenticity::Verified);
    assert_eq!(data.surname.expose_secret(), "ERIKSSON");
    // PACE: MSE:Set AT and four GENERAL AUTHENTICATE instead of the two BAC commands.
    let pace_apdus = last_read_apdu_count();

    let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap();
    assert_eq!(data.authenticity, Authenticity::Verified);
    assert_eq!(last_read_apdu_count(), pace_apdus);

    let mut card = InProcessCard::new(VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap());
    let error =
        read_passport(&mut card, &AccessKey::Can("654321".into()), &trusting(&pki)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthenticationFailed, "{error}");
    assert!(!error.message().contains("654321"), "{error}");
}

#[test]
fn passport_on_pcscd_is_read_and_verified() {
    let Some(pcscd) = common::pcscd("passport_on_pcscd_is_read_and_verified") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let pki = TestPki::generate("Utopia");
    let _passport =
        VpcdCard::insert(pcscd.port(1), VirtualPassport::new(MRZ, &pki).unwrap()).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(1));
    assert_eq!(identify(&mut card).unwrap(), CardKind::Emrtd);
    let data = read_passport(&mut card, &mrz_key("L898902C3"), &trusting(&pki)).unwrap();
    assert_eq!(data.authenticity, Authenticity::Verified);
    assert_eq!(data.nationality.expose_secret(), "UTO");

    let pace = VirtualPassport::with_pace(MRZ, "123456", &pki).unwrap();
    let _pace = VpcdCard::insert(pcscd.port(0), pace).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    let data = read_passport(&mut card, &AccessKey::Can("123456".into()), &trusting(&pki)).unwrap();
    assert_eq!(data.authenticity, Authenticity::Verified);
}
