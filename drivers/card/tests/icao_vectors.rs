//! ICAO 9303 Part 11 worked examples (Appendix D: BAC, Appendix G.1: PACE ECDH generic
//! mapping on brainpoolP256r1) and ICAO 9303 Parts 4/5 MRZ specimens.
//!
//! The terminal's random values (RND.IFD, K.IFD) are inputs of the protocol steps, so the
//! published values can be injected.

use chrono::NaiveDate;
use dmrtd::crypto::aes::{AesCipher, BlockCipherMode};
use dmrtd::crypto::kdf::DeriveKey;
use dmrtd::lds::asn1_object_identifiers::{CipherAlgorithm, KeyLength};
use dmrtd::proto::access_key::AccessKey as _;
use dmrtd::proto::bac_session::{BacAction, BacSession};
use dmrtd::proto::dba_key::DBAKey;
use hex_literal::hex;
use kiosk_card::emrtd::{Authenticity, parse_mrz};
use secrecy::ExposeSecret;

fn icao_dba_key() -> DBAKey {
    // MRZ information "L898902C<369080619406236": document L898902C<, born 1969-08-06,
    // expires 1994-06-23.
    DBAKey::new(
        "L898902C",
        NaiveDate::from_ymd_opt(1969, 8, 6).unwrap(),
        NaiveDate::from_ymd_opt(1994, 6, 23).unwrap(),
        false,
    )
    .unwrap()
}

#[test]
fn appendix_d2_bac_key_derivation() {
    let key = icao_dba_key();
    assert_eq!(key.key_seed(), hex!("239AB9CB282DAF66231DC5A4DF6BFBAE"));
    assert_eq!(key.enc_key(), hex!("AB94FDECF2674FDFB9B391F85D7F76F2"));
    assert_eq!(key.mac_key(), hex!("7962D9ECE03D1ACD4C76089DCE131543"));
}

#[test]
fn appendix_d3_bac_mutual_authentication_and_session_keys() {
    let key = icao_dba_key();
    let rnd_ic = hex!("4608F91988702212");
    let rnd_ifd = hex!("781723860C06C226");
    let k_ifd = hex!("0B795240CB7049B01C19B33E32804F0B");
    // The terminal's randomness is injected; the session produces the APDUs.
    let mut session = BacSession::with_random_bytes(key, rnd_ifd, k_ifd);
    let BacAction::SendApdu(get_challenge) = session.next().unwrap() else {
        panic!("GET CHALLENGE expected");
    };
    assert_eq!(get_challenge, hex!("0084000008"));
    session
        .feed_response(&[&rnd_ic[..], &[0x90, 0x00]].concat())
        .unwrap();
    let BacAction::SendApdu(external_authenticate) = session.next().unwrap() else {
        panic!("EXTERNAL AUTHENTICATE expected");
    };
    // E.IFD || M.IFD from Appendix D.3.
    assert_eq!(
        external_authenticate[5..45],
        hex!(
            "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
            "5F1448EEA8AD90A7"
        )
    );
    // The chip's answer E.IC || M.IC from Appendix D.3 completes the handshake.
    session
        .feed_response(&hex!(
            "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F"
            "2F2D235D074D7449" "9000"
        ))
        .unwrap();
    assert!(matches!(session.next().unwrap(), BacAction::Done(_)));

    let k_ic = hex!("0B4F80323EB3191CB04970CB4052790B");
    let seed: Vec<u8> = k_ifd.iter().zip(k_ic).map(|(a, b)| a ^ b).collect();
    assert_eq!(seed, hex!("0036D272F5C350ACAC50C3F572D23600"));
    assert_eq!(
        DeriveKey::des_ede(&seed, false),
        hex!("979EC13B1CBFE9DCD01AB0FED307EAE5")
    );
    assert_eq!(
        DeriveKey::iso9797_mac_alg3(&seed),
        hex!("F1CB1F1FB5ADF208806B89DC579DC1F8")
    );
}

#[test]
fn appendix_g1_pace_password_key_nonce_and_session_keys() {
    // G.1 uses the MRZ password "T22000129364081251010318": document T22000129,
    // born 1964-08-12, expires 2010-10-31.
    let mrz_key = DBAKey::new(
        "T22000129",
        NaiveDate::from_ymd_opt(1964, 8, 12).unwrap(),
        NaiveDate::from_ymd_opt(2010, 10, 31).unwrap(),
        true,
    )
    .unwrap();
    let k_pi = mrz_key.kpi(CipherAlgorithm::Aes, KeyLength::S128).unwrap();
    assert_eq!(k_pi, hex!("89DED1B26624EC1E634C1989302849DD"));

    let nonce = AesCipher::new(KeyLength::S128)
        .decrypt(
            &hex!("95A3A016522EE98D01E76CB6B98B42C3"),
            &k_pi,
            Some(&[0; 16]),
            BlockCipherMode::Cbc,
        )
        .unwrap();
    assert_eq!(nonce, hex!("3F00C4D39D153F2B2A214A078D899B22"));

    // x-coordinate of the shared point K after the ephemeral key agreement.
    let shared = hex!("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925");
    assert_eq!(
        DeriveKey::aes128(&shared, false),
        hex!("F5F0E35C0D7161EE6724EE513A0D9A7F")
    );
    assert_eq!(
        DeriveKey::cmac128(&shared),
        hex!("FE251C7858B356B24514B3BD5F4297D1")
    );
}

#[test]
fn td3_passport_specimen_is_parsed() {
    let mrz = concat!(
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    );
    let data = parse_mrz(mrz.as_bytes()).unwrap();
    assert_eq!(data.document_code, "P");
    assert_eq!(data.surname.expose_secret(), "ERIKSSON");
    assert_eq!(data.given_names.expose_secret(), "ANNA MARIA");
    assert_eq!(data.document_number.expose_secret(), "L898902C3");
    assert_eq!(data.nationality.expose_secret(), "UTO");
    assert_eq!(data.issuing_state.expose_secret(), "UTO");
    assert_eq!(data.date_of_birth.expose_secret(), "1974-08-12");
    assert_eq!(data.sex.expose_secret(), "F");
    assert_eq!(data.date_of_expiry.expose_secret(), "2012-04-15");
    assert!(matches!(
        data.authenticity,
        Authenticity::NotVerified { .. }
    ));
    let debug = format!("{data:?}");
    for secret in ["ERIKSSON", "ANNA", "L898902C3", "1974", "UTO"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
}

#[test]
fn td1_id_card_specimen_is_parsed() {
    let mrz = concat!(
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    );
    let data = parse_mrz(mrz.as_bytes()).unwrap();
    assert_eq!(data.document_code, "I");
    assert_eq!(data.document_number.expose_secret(), "D23145890");
    assert_eq!(data.surname.expose_secret(), "ERIKSSON");
    assert_eq!(data.date_of_expiry.expose_secret(), "2012-04-15");
}

#[test]
fn broken_mrz_is_a_clean_error() {
    for bad in [
        &b""[..],
        b"P<UTO",
        &[0xFF; 88],
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<19"
            .as_bytes(),
    ] {
        let error = parse_mrz(bad).unwrap_err();
        assert!(!error.message().contains("ERIKSSON"), "{error}");
    }
}
