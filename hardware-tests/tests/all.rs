//! The issue's acceptance run: `kiosk-hwtest all --json report.json` against the virtual
//! devices on real parts (pcscd + vpcd with a virtual passport and a virtual phone, the
//! virtual TCP printer, the reference receiver over HTTPS as the portal) passes, in German
//! and English, and no personal data from the cards reaches any output.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Printer, assert_absent, hwtest, insert, pcscd};
use ed25519_dalek::SigningKey;
use kiosk_card::phone::{self, CredentialClaims, IdentityAttributes, Subject};
use kiosk_printer::virtual_printer::VirtualState;
use kiosk_virtual_cards::{PhoneBehaviour, PhoneHce, TestPki, VirtualPassport};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, TlsIdentity, test_keys};

const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);
const CAN: &str = "123456";

/// Everything from the cards that must never be printed or written.
const PERSONAL: [&str; 11] = [
    "ERIKSSON",
    "ANNA",
    "MARIA",
    "L898902C3",
    "740812",
    "1974-08-12",
    "Erika",
    "Mustermann",
    "1964-08-12",
    // The virtual phone's UID.
    "083A915C",
    CAN,
];

fn phone() -> (PhoneHce, String) {
    let issuer = SigningKey::from_bytes(&[0x11; 32]);
    let device = SigningKey::from_bytes(&[0x22; 32]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let kid = phone::key_id(&issuer.verifying_key());
    let credential = phone::issue_credential(
        &issuer,
        &kid,
        &CredentialClaims {
            issuer: "https://termine.gelsenkirchen.de".into(),
            not_before: now - 60,
            expires: now + 3600,
            device_key: device.verifying_key(),
            subject: Subject::Identity(IdentityAttributes {
                given_names: "Erika".into(),
                family_name: "Mustermann".into(),
                date_of_birth: "1964-08-12".into(),
            }),
        },
    );
    let issuer_hex = issuer
        .verifying_key()
        .to_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (
        PhoneHce::new(device, credential, PhoneBehaviour::Honest),
        issuer_hex,
    )
}

#[test]
fn all_passes_against_the_virtual_devices_without_personal_data() {
    let Some(pcscd) = pcscd("all_passes_against_the_virtual_devices_without_personal_data") else {
        return;
    };
    let pki = TestPki::generate("Utopia");
    let _passport = insert(
        &pcscd,
        0,
        VirtualPassport::with_pace(MRZ, CAN, &pki).unwrap(),
    );
    let (phone, issuer_hex) = phone();
    let _phone = insert(&pcscd, 1, phone);
    let printer = Printer::start(VirtualState::Ready);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime.block_on(async {
        let mut config = ReceiverConfig::with_test_key();
        config.tls = Some(TlsIdentity::test_only());
        ReferenceReceiver::start(config).await.unwrap()
    });

    // The kiosk's configuration file, with paths relative to it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("csca")).unwrap();
    std::fs::write(dir.path().join("csca/utopia.der"), pki.csca_certificate()).unwrap();
    // A master list next to it, signed under the Utopian CSCA, as the kiosk takes it.
    let foreign = TestPki::generate("Freedonia");
    std::fs::write(
        dir.path().join("csca/a-master-list.ml"),
        pki.master_list(
            &[pki.csca_certificate(), foreign.csca_certificate()],
            kiosk_virtual_cards::MasterListFlaw::None,
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("roots.pem"), test_keys::TLS_CA_PEM).unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nid = \"K27\"\n\n[reader]\nenabled = true\ncsca_dir = \"csca\"\n\n\
             [printer]\nenabled = true\nconnection = \"{}\"\nmodel = \"generic-80mm\"\n\n\
             [portal]\nurl = \"https://localhost:{}\"\nextra_roots = \"roots.pem\"\n",
            printer.connection(),
            receiver.addr().port()
        ),
    )
    .unwrap();
    let json = dir.path().join("report.json");
    let args = [
        "all",
        "--yes",
        "--config",
        config.to_str().unwrap(),
        "--phone-issuer",
        &issuer_hex,
        "--json",
        json.to_str().unwrap(),
        "--print-report",
    ];
    let de = hwtest(&args, &[("KIOSK_HWTEST_CAN", CAN), ("LANG", "de_DE.UTF-8")]);
    assert_eq!(de.code, 0, "{de:#?}");
    assert!(
        !de.stdout.contains("a-master-list.ml"),
        "the master list was refused: {de:#?}"
    );
    de.expect_stdout("Ergebnis: BESTANDEN – alle Pflichtprüfungen bestanden");
    de.expect_stdout("Virtual PCD 00 00 — Treiber: libifdvpcd.so — Karte aufgelegt, ATR 3B8F8001");
    de.expect_stdout(
        "Ausweis-Chip (PACE) (Virtual PCD 00 00) – Chip mit PACE geöffnet und gelesen; \
         angezeigt werden nur Dokumentart und Ablaufdatum.",
    );
    de.expect_stdout("Dokumentart: Reisepass (P)");
    de.expect_stdout("Gültig bis: 2012-04-15 (abgelaufen)");
    de.expect_stdout("Echtheit (Chip): bestätigt");
    de.expect_stdout(
        "Telefon (Kiosk-App) (Virtual PCD 00 01) – Das Telefon antwortet über NFC; sein \
         Nachweis ist gültig (Aussteller: key ",
    );
    de.expect_stdout("Nachweis: Identitätsdaten (Inhalt nicht angezeigt)");
    de.expect_stdout("Testseite gedruckt.");
    de.expect_stdout("TLS-Verbindung zum Portal aufgebaut");
    de.expect_stdout("Die Uhr stimmt mit dem Portal überein");
    assert!(de.line_of("Berührungsraster").contains("[ÜBERSPRUNGEN]"));
    assert!(de.line_of("Testbilder").contains("[ÜBERSPRUNGEN]"));
    de.expect_stdout("Braucht einen Techniker vor dem Kiosk");
    assert!(de.stderr.contains("Zusammenfassung gedruckt."), "{de:#?}");

    let report = common::json(&json);
    assert_eq!(report["schema"], "kiosk-hwtest-report");
    assert_eq!(report["schema_version"], kiosk_hwtest::SCHEMA_VERSION);
    assert_eq!(report["command"], "all");
    assert_eq!(report["interactive"], false);
    assert_eq!(report["language"], "de");
    assert_eq!(report["summary"]["result"], "pass");
    assert_eq!(report["summary"]["exit_code"], 0);
    assert_eq!(report["inventory"]["pcsc_available"], true);
    let checks = report["checks"].as_array().unwrap();
    for id in [
        "reader.service",
        "reader.present",
        "reader.card",
        "reader.ndef",
        "reader.emrtd",
        "reader.phone",
        "printer.connection",
        "printer.status",
        "printer.test_page",
        "touch.grid",
        "display.patterns",
        "network.dns",
        "network.tls",
        "network.clock",
    ] {
        assert!(checks.iter().any(|check| check["id"] == id), "{id} missing");
    }
    for check in checks {
        assert!(
            ["pass", "fail", "skipped"].contains(&check["verdict"].as_str().unwrap()),
            "{check:#}"
        );
        assert!(!check["reason"].as_str().unwrap().is_empty(), "{check:#}");
        assert!(
            !check["reason_code"].as_str().unwrap().is_empty(),
            "{check:#}"
        );
        if check["verdict"] != "skipped" {
            assert!(check["timeout_ms"].as_u64().unwrap() > 0, "{check:#}");
        }
        if check["required"] == true {
            assert_eq!(check["verdict"], "pass", "{check:#}");
        }
    }
    let emrtd = common::check(&report, "reader.emrtd", Some("Virtual PCD 00 00"));
    let keys: Vec<&str> = emrtd["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fact| fact["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["document_type", "document_expiry", "chip_authenticity"]
    );

    let en = hwtest(&args, &[("KIOSK_HWTEST_CAN", CAN), ("LANG", "en_GB.UTF-8")]);
    assert_eq!(en.code, 0, "{en:#?}");
    en.expect_stdout("Result: PASSED – every required check passed");
    en.expect_stdout("Passport chip (PACE) (Virtual PCD 00 00) – Chip opened with PACE and read");
    en.expect_stdout("Document type: passport (P)");
    en.expect_stdout("Valid until: 2012-04-15 (expired)");
    en.expect_stdout("Credential: identity data (content not shown)");
    assert!(en.line_of("Touch grid").contains("[SKIPPED]"));
    let report_en = common::json(&json);
    assert_eq!(report_en["language"], "en");

    let receipts = printer.receipts(4);
    assert_eq!(
        receipts.len(),
        4,
        "two test pages and two printed summaries"
    );
    let text = |index: usize| receipts[index].text_lines().join("\n");
    let summaries = format!("{}\n{}", text(1), text(3));
    assert!(summaries.contains("Ergebnis: BESTANDEN"), "{summaries}");
    assert!(summaries.contains("Result: PASSED"), "{summaries}");
    // The test pages' character ruler counts 1234567890..., so the CAN is left out there.
    let test_pages = format!("{}\n{}", text(0), text(2));
    assert_absent(&test_pages, &PERSONAL[..PERSONAL.len() - 1], "test pages");

    let json_text = std::fs::read_to_string(&json).unwrap();
    for (what, text) in [
        ("German output", format!("{}\n{}", de.stdout, de.stderr)),
        ("English output", format!("{}\n{}", en.stdout, en.stderr)),
        ("JSON report", json_text),
        ("printed summaries", summaries),
    ] {
        assert_absent(&text, &PERSONAL, what);
    }
    drop(receiver);
}
