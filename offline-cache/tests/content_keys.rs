//! Content keys prepared ahead of time: every stored JWE still decrypts with
//! the office's key, no two JWEs share a content key, and a FIT-Connect-style
//! sealer's destination key never gets a content key wrapped to another key.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use offline_cache::{
    CachedRecipientKey, NewAttachment, NewSubmission, Outbox, OutboxConfig, SealError, Sealed,
    SealedPart, Sealer,
};
use offline_cache_receiver::{DecryptionKey, test_keys};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey};

/// More than the default 8 prepared keys, so bursts also wrap inline.
const BURST: usize = 20;

fn office() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(test_keys::PRIVATE_KEY_PEM).unwrap()
}

fn destination() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(test_keys::fit_connect::DEST_ENC_KEY_PEM).unwrap()
}

/// The stored JWEs: the payload of every record and its sealed parts.
fn stored(path: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let column = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    (
        column("SELECT jwe FROM submissions ORDER BY created_at_ms"),
        column("SELECT jwe FROM submission_parts"),
    )
}

fn part(jwe: &str, index: usize) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(jwe.split('.').nth(index).unwrap())
        .unwrap()
}

/// The content key inside a JWE, unwrapped with `key` (`None`: not wrapped to it).
fn content_key(key: &RsaPrivateKey, jwe: &str) -> Option<Vec<u8>> {
    key.decrypt(Oaep::new::<sha2::Sha256>(), &part(jwe, 1)).ok()
}

#[test]
fn every_stored_jwe_decrypts_and_none_shares_a_content_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    // Two bursts longer than the pool (prepared keys first, then inline
    // wraps), the second by a new outbox on the same file, whose pool starts
    // afresh at open.
    for round in 0..2 {
        let outbox = open(&path);
        for n in round * BURST..(round + 1) * BURST {
            outbox.enqueue(submission("dog-tax", n)).unwrap();
        }
    }

    let (payloads, _) = stored(&path);
    assert_eq!(payloads.len(), 2 * BURST);
    let receiver = DecryptionKey::from_pkcs8_pem(test_keys::PRIVATE_KEY_PEM).unwrap();
    let office = office();
    let (mut ceks, mut wrapped, mut ivs) = (HashSet::new(), HashSet::new(), HashSet::new());
    for (n, jwe) in payloads.iter().enumerate() {
        // Byte for byte the format the office decrypts: the same header and
        // part sizes as a key wrapped inline (RSA-2048, 96-bit IV, 128-bit tag).
        assert_eq!(
            part(jwe, 0),
            br#"{"alg":"RSA-OAEP-256","cty":"application/json","enc":"A256GCM","kid":"test-key-1"}"#
        );
        assert_eq!(part(jwe, 1).len(), office.size());
        assert_eq!(part(jwe, 2).len(), 12);
        assert_eq!(part(jwe, 4).len(), 16);
        assert_eq!(receiver.decrypt(jwe).unwrap(), payload(n).to_vec());
        let cek = content_key(&office, jwe).expect("wrapped to the office key");
        assert_eq!(cek.len(), 32);
        assert!(ceks.insert(cek), "record {n} reuses a content key");
        assert!(
            wrapped.insert(part(jwe, 1)),
            "record {n} reuses a wrapped key"
        );
        assert!(ivs.insert(part(jwe, 2)), "record {n} reuses an IV");
    }
    // Content keys only ever reach the disk wrapped.
    let files = raw_files(dir.path());
    for cek in &ceks {
        assert!(
            !files.windows(cek.len()).any(|w| w == cek.as_slice()),
            "a content key is on disk in clear"
        );
    }
}

/// Seals like the FIT-Connect sealer: payload and metadata to the cached
/// destination key, through the key the outbox hands over.
struct DestinationSealer;

impl Sealer for DestinationSealer {
    fn key_scope(&self) -> String {
        "test:destination".into()
    }

    fn seal(
        &self,
        key: &CachedRecipientKey,
        submission: &NewSubmission,
        _attachments: &[NewAttachment],
    ) -> Result<Sealed, SealError> {
        let recipient = key
            .recipient_key()
            .map_err(|e| SealError(format!("unusable key: {e}")))?;
        let fail = |_| SealError("encrypting failed".into());
        Ok(Sealed {
            parts: vec![SealedPart {
                name: "metadata".into(),
                jwe: recipient.encrypt(br#"{"meta":true}"#).map_err(fail)?,
            }],
            encrypted_payload: recipient.encrypt(&submission.payload).map_err(fail)?,
        })
    }
}

fn jwk(key: &RsaPrivateKey, kid: &str) -> String {
    let public = key.to_public_key();
    serde_json::json!({
        "kty": "RSA",
        "alg": "RSA-OAEP-256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    })
    .to_string()
}

#[test]
fn a_destination_key_and_the_office_key_never_share_content_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let outbox = Outbox::open(
        &path,
        OutboxConfig {
            // Small, so both keys run out of prepared keys and refill.
            prepared_content_keys: 2,
            ..config()
        },
    )
    .unwrap();
    let (office, destination) = (office(), destination());
    outbox
        .cache_recipient_key("test:destination", "dest-1", &jwk(&destination, "dest-1"))
        .unwrap();
    outbox.set_sealer("fit-service", Arc::new(DestinationSealer));
    for n in 0..BURST {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
        outbox.enqueue(submission("fit-service", n)).unwrap();
    }

    let (payloads, parts) = stored(&path);
    assert_eq!((payloads.len(), parts.len()), (2 * BURST, BURST));
    let (mut for_office, mut for_destination) = (0, 0);
    let mut ceks = HashSet::new();
    for jwe in payloads.iter().chain(&parts) {
        let header: serde_json::Value = serde_json::from_slice(&part(jwe, 0)).unwrap();
        let (to, other) = if header["kid"] == "dest-1" {
            for_destination += 1;
            (&destination, &office)
        } else {
            assert_eq!(header["kid"], "test-key-1");
            for_office += 1;
            (&office, &destination)
        };
        let cek = content_key(to, jwe).expect("wrapped to the key its header names");
        assert!(
            content_key(other, jwe).is_none(),
            "a content key was wrapped to the other recipient"
        );
        assert!(ceks.insert(cek), "a content key was used twice");
    }
    assert_eq!((for_office, for_destination), (BURST, 2 * BURST));
    let office_receiver = DecryptionKey::from_pkcs8_pem(test_keys::PRIVATE_KEY_PEM).unwrap();
    let destination_receiver =
        DecryptionKey::from_pkcs8_pem(test_keys::fit_connect::DEST_ENC_KEY_PEM).unwrap();
    for jwe in &parts {
        assert_eq!(
            destination_receiver.decrypt(jwe).unwrap(),
            br#"{"meta":true}"#
        );
        assert!(office_receiver.decrypt(jwe).is_err());
    }
}

#[test]
fn without_prepared_keys_every_key_is_wrapped_inline_and_still_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let outbox = Outbox::open(
        &path,
        OutboxConfig {
            prepared_content_keys: 0,
            ..config()
        },
    )
    .unwrap();
    for n in 0..4 {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
    }
    let receiver = DecryptionKey::from_pkcs8_pem(test_keys::PRIVATE_KEY_PEM).unwrap();
    let (payloads, _) = stored(&path);
    for (n, jwe) in payloads.iter().enumerate() {
        assert_eq!(receiver.decrypt(jwe).unwrap(), payload(n).to_vec());
    }
}
