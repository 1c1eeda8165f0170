//! `kiosk-hwtest reader` and `list` on the real PC/SC stack: a private pcscd with the vpcd
//! driver and virtual cards (the harness of `drivers/virtual-cards`, serialised by its
//! lock like the `drivers/card` tests). Failure modes: no reader, pcscd not running, mute
//! card, wrong CAN; wording in German and English; no UID or NDEF content in any output.

mod common;

use common::{assert_absent, hwtest, insert, pcscd};
use kiosk_card::ndef::{self, Record};
use kiosk_virtual_cards::{MuteCard, TestPki, Type4Tag, UidCard, VirtualPassport};

const UID: [u8; 7] = [0x04, 0xA2, 0x3B, 0x19, 0x6E, 0x51, 0x80];
const UID_HEX: &str = "04A23B196E5180";

#[test]
fn uid_card_and_tag_are_read_without_their_content() {
    let Some(pcscd) = pcscd("uid_card_and_tag_are_read_without_their_content") else {
        return;
    };
    let message = ndef::encode_message(&[
        Record::uri("https://www.gelsenkirchen.de/termin?name=Erika+Mustermann"),
        Record::text("de", "Erika Mustermann, Ebertstraße 11"),
    ]);
    let _library_card = insert(&pcscd, 0, UidCard::new(&UID));
    let _tag = insert(
        &pcscd,
        1,
        Type4Tag::new(&[0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66], &message, 59),
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("reader.json");
    let en = hwtest(
        &[
            "reader",
            "--yes",
            "--lang",
            "en",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(en.code, 0, "{en:#?}");
    en.expect_stdout("[PASS]    PC/SC service – The PC/SC service (pcscd) answers.");
    en.expect_stdout("Reader connected (Virtual PCD 00 00) – Card reader found.");
    en.expect_stdout("Driver: libifdvpcd.so");
    en.expect_stdout(
        "Card read (Virtual PCD 00 00) – The card answers: card with a serial number (UID) \
         only, e.g. a library card.",
    );
    en.expect_stdout("UID: 7 bytes read; shown only as a hash with a one-time salt: ");
    en.expect_stdout("Card read (Virtual PCD 00 01) – The card answers: NFC Forum Type 4 tag.");
    en.expect_stdout("NFC tag (NDEF) (Virtual PCD 00 01) – NDEF message read (2 records).");
    en.expect_stdout("NDEF record: URI https://www.gelsenkirchen.de/…");
    en.expect_stdout("NDEF record: text (de, 32 characters)");
    assert!(
        en.line_of("NFC tag (NDEF) (Virtual PCD 00 00)")
            .contains("[SKIPPED]")
    );
    en.expect_stdout("Result: PASSED");

    let report = common::json(&json);
    let card = common::check(&report, "reader.card", Some("Virtual PCD 00 00"));
    assert_eq!(card["verdict"], "pass");
    assert_eq!(card["reason_code"], "card_identified");
    let uid = card["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fact| fact["key"] == "uid")
        .expect("uid fact");
    let hash = uid["value"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(hash.len(), 16, "{uid:#}");

    let de = hwtest(&["reader", "--yes"], &[]);
    assert_eq!(de.code, 0, "{de:#?}");
    de.expect_stdout("[OK]");
    de.expect_stdout(
        "Karte lesen (Virtual PCD 00 00) – Karte antwortet: Karte nur mit Seriennummer (UID), \
         z. B. Bibliotheksausweis.",
    );
    de.expect_stdout("UID: 7 Bytes gelesen; nur als Hash mit Einmal-Salz: ");
    de.expect_stdout("NDEF-Datensatz: Text (de, 32 Zeichen)");
    // The salt lives for one run only: the same card hashes differently next time.
    assert!(
        !de.stdout.contains(&hash),
        "the salt must differ between runs"
    );

    let list = hwtest(&["list", "--lang", "en"], &[]);
    assert_eq!(list.code, 0, "{list:#?}");
    list.expect_stdout(
        "Virtual PCD 00 00 — driver: libifdvpcd.so — card present, ATR 3B8F8001804F0C",
    );
    list.expect_stdout("Virtual PCD 00 01 — driver: libifdvpcd.so — card present, ATR 3B80800101");
    list.expect_stdout("No checks were run.");

    let personal = [
        UID_HEX,
        "Mustermann",
        "Erika",
        "Ebertstra",
        "termin",
        "name=",
    ];
    let json_text = std::fs::read_to_string(&json).unwrap();
    for (what, text) in [
        ("English output", format!("{}{}", en.stdout, en.stderr)),
        ("German output", format!("{}{}", de.stdout, de.stderr)),
        ("list output", list.stdout.clone()),
        ("JSON report", json_text),
    ] {
        assert_absent(&text, &personal, what);
    }
}

#[test]
fn mute_card_fails_as_not_answering() {
    let Some(pcscd) = pcscd("mute_card_fails_as_not_answering") else {
        return;
    };
    // One mute card per slot: a mute card keeps its slot busy until it is taken away.
    let _first = insert(&pcscd, 0, MuteCard);
    let _second = insert(&pcscd, 1, MuteCard);
    let de = hwtest(
        &[
            "reader",
            "--yes",
            "--reader",
            "00 00",
            "--apdu-timeout-ms",
            "700",
        ],
        &[],
    );
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(
        de.line_of("Karte lesen (Virtual PCD 00 00)")
            .contains("[FEHLER]")
    );
    de.expect_stdout(
        "Die Karte wird erkannt, antwortet aber nicht (keine Antwort innerhalb von 0,7 s). \
         Nehmen Sie die Karte ab und legen Sie sie neu auf",
    );
    de.expect_stdout("ATR: 3B8480014D555445");
    assert!(
        de.line_of("NFC-Tag (NDEF) (Virtual PCD 00 00)")
            .contains("[ÜBERSPRUNGEN]")
    );
    de.expect_stdout(
        "Ergebnis: NICHT BESTANDEN – 1 Pflichtprüfung(en) nicht bestanden: Kartenleser: \
         Karte lesen (Virtual PCD 00 00)",
    );

    let en = hwtest(
        &[
            "reader",
            "--yes",
            "--lang",
            "en",
            "--reader",
            "00 01",
            "--apdu-timeout-ms",
            "700",
        ],
        &[],
    );
    assert_eq!(en.code, 1, "{en:#?}");
    assert!(
        en.line_of("Card read (Virtual PCD 00 01)")
            .contains("[FAIL]")
    );
    en.expect_stdout("The card is detected but does not answer (no answer within 0.7 s).");
}

#[test]
fn no_reader_and_no_pcscd_fail_with_what_to_do() {
    let Some(mut pcscd) = pcscd("no_reader_and_no_pcscd_fail_with_what_to_do") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "[reader]\nenabled = true\nname = \"REINER SCT\"\n").unwrap();
    let de = hwtest(
        &["reader", "--yes", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(de.line_of("Leser angeschlossen").contains("[FEHLER]"));
    de.expect_stdout(
        "Kein Kartenleser mit „REINER SCT“ im Namen gefunden (angeschlossen: „Virtual PCD 00 \
         00“, „Virtual PCD 00 01“).",
    );
    let en = hwtest(
        &["reader", "--yes", "--lang", "en", "--reader", "cyberJack"],
        &[],
    );
    assert_eq!(en.code, 1);
    en.expect_stdout("No card reader with “cyberJack” in its name (connected:");

    // Empty readers are fine unattended: nobody could put a card on.
    let empty = hwtest(
        &["reader", "--yes", "--lang", "en", "--card-wait", "1"],
        &[],
    );
    assert_eq!(empty.code, 0, "{empty:#?}");
    assert!(
        empty
            .line_of("Card read (Virtual PCD 00 00)")
            .contains("[SKIPPED]")
    );
    empty.expect_stdout("No card on the reader. Put a test card on it");

    pcscd.stop();
    let de = hwtest(&["reader", "--yes"], &[]);
    assert_eq!(de.code, 1, "{de:#?}");
    assert!(de.line_of("PC/SC-Dienst").contains("[FEHLER]"));
    de.expect_stdout(
        "Der PC/SC-Dienst (pcscd) läuft nicht oder ist nicht erreichbar. Starten Sie ihn mit \
         „systemctl start pcscd“.",
    );
    let en = hwtest(&["reader", "--yes", "--lang", "en"], &[]);
    en.expect_stdout("The PC/SC service (pcscd) is not running or cannot be reached.");
    let list = hwtest(&["list"], &[]);
    assert_eq!(list.code, 0);
    list.expect_stdout("PC/SC-Dienst (pcscd) nicht erreichbar");
}

#[test]
fn wrong_can_fails_pace_and_a_missing_can_skips_the_chip() {
    let Some(pcscd) = pcscd("wrong_can_fails_pace_and_a_missing_can_skips_the_chip") else {
        return;
    };
    let mrz = concat!(
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    );
    let pki = TestPki::generate("Utopia");
    let _passport = insert(
        &pcscd,
        0,
        VirtualPassport::with_pace(mrz, "123456", &pki).unwrap(),
    );
    let wrong = hwtest(
        &["reader", "--yes", "--reader", "00 00"],
        &[("KIOSK_HWTEST_CAN", "654321")],
    );
    assert_eq!(wrong.code, 1, "{wrong:#?}");
    assert!(wrong.line_of("Ausweis-Chip (PACE)").contains("[FEHLER]"));
    wrong.expect_stdout("PACE hat den Chip nicht geöffnet. Ist die CAN richtig");

    let missing = hwtest(
        &["reader", "--yes", "--lang", "en", "--reader", "00 00"],
        &[],
    );
    assert_eq!(missing.code, 0, "{missing:#?}");
    assert!(
        missing
            .line_of("Passport chip (PACE)")
            .contains("[SKIPPED]")
    );
    missing.expect_stdout("No CAN given");

    let malformed = hwtest(
        &["reader", "--yes", "--lang", "en", "--reader", "00 00"],
        &[("KIOSK_HWTEST_CAN", "12ab")],
    );
    assert_eq!(malformed.code, 1, "{malformed:#?}");
    malformed.expect_stdout("The CAN must be exactly 6 digits.");

    // Interactively the CAN is asked for when a passport is on the reader.
    let asked = common::hwtest_on_terminal(
        &[
            "reader",
            "--lang",
            "en",
            "--reader",
            "00 00",
            "--card-wait",
            "5",
        ],
        "123456\n",
        &[],
    );
    assert_eq!(asked.code, 0, "{asked:#?}");
    assert!(
        asked.stdout.contains("Please put a test card"),
        "{asked:#?}"
    );
    assert!(
        asked.stdout.contains("CAN of the test document"),
        "{asked:#?}"
    );
    assert!(asked.line_of("Passport chip (PACE)").contains("[PASS]"));
    assert!(asked.stdout.contains("Valid until: 2012-04-15 (expired)"));
    assert_absent(
        &asked.stdout,
        &["ERIKSSON", "L898902C3", "740812"],
        "output",
    );

    for run in [&wrong, &missing, &malformed] {
        assert_absent(
            &run.stdout,
            &["ERIKSSON", "L898902C3", "740812", "654321"],
            "output",
        );
    }
}
