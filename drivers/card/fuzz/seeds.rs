//! Writes seed inputs for the fuzz targets into `corpus/<target>/`, so fuzzing starts from
//! valid structures instead of random bytes. Run from `drivers/card/fuzz`:
//! `cargo +nightly run --bin seeds`.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use kiosk_card::ndef::{Record, Tnf, encode_message};
use kiosk_card::phone::{self, CredentialClaims, IdentityAttributes, Subject};
use kiosk_virtual_cards::TestPki;

const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);

fn write(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let pki = TestPki::generate("Fuzz");
    let dg1 = kiosk_card::tlv::encode(0x61, &kiosk_card::tlv::encode(0x5F1F, MRZ.as_bytes()));
    let sod = pki.sign_sod(&[(1, &dg1)]);
    write("sod", "sod", &sod)?;
    let foreign = TestPki::generate("Fuzz abroad");
    write(
        "master_list",
        "two-cscas",
        &pki.master_list(
            &[pki.csca_certificate(), foreign.csca_certificate()],
            kiosk_virtual_cards::MasterListFlaw::None,
        ),
    )?;
    write("tlv", "sod", &sod)?;
    write("tlv", "dg1", &dg1)?;
    write("mrz", "td3", MRZ.as_bytes())?;
    write(
        "ndef",
        "mixed",
        &encode_message(&[
            Record::uri("https://www.gelsenkirchen.de"),
            Record::text("de", "Bürgerbüro"),
            Record::new(Tnf::Mime, b"application/json", b"{}".to_vec()),
            Record::new(Tnf::External, b"gelsenkirchen.de:ticket", vec![1, 2, 3]),
        ]),
    )?;
    let issuer = SigningKey::from_bytes(&[7; 32]);
    let device = SigningKey::from_bytes(&[9; 32]);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let seconds = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    for (name, subject) in [
        (
            "appointment",
            Subject::Appointment {
                service: "meldebescheinigung".into(),
                starts_at: seconds + 600,
            },
        ),
        (
            "identity",
            Subject::Identity(IdentityAttributes {
                given_names: "Erika".into(),
                family_name: "Mustermann".into(),
                date_of_birth: "1964-08-12".into(),
            }),
        ),
    ] {
        let credential = phone::issue_credential(
            &issuer,
            &phone::key_id(&issuer.verifying_key()),
            &CredentialClaims {
                issuer: "fuzz".into(),
                not_before: seconds - 60,
                expires: seconds + 3600,
                device_key: device.verifying_key(),
                subject,
            },
        );
        let answer = phone::answer_challenge(&device, &credential, &[0x42; 32]);
        write("phone_token", name, &answer)?;
    }
    Ok(())
}
