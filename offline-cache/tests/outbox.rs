//! Storage and outbox behaviour on real SQLite files.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use offline_cache::{
    EnqueueError, NewSubmission, OpenError, Outbox, OutboxConfig, ReceiptState, Reference,
    StaffAlert, StorageError,
};
use offline_cache_receiver::{DecryptionKey, ReceiverConfig, ReferenceReceiver, test_keys};
use zeroize::Zeroizing;

fn stored_jwe(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT jwe FROM submissions ORDER BY created_at_ms")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn enqueue_stores_only_ciphertext_the_office_can_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let outbox = open(&path);
    let saved = outbox.enqueue(submission("dog-tax", 1)).unwrap();
    assert!(saved.reference.as_str().starts_with("GE-K27-"));

    // The plaintext is nowhere in the database, its WAL or its shared memory file.
    let raw = raw_files(dir.path());
    assert!(!contains(&raw, MARKER), "plaintext found on disk");
    assert!(!contains(&raw, "1964-08-12"), "plaintext found on disk");

    let jwe = stored_jwe(&path);
    assert_eq!(jwe.len(), 1);
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwe[0].split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RSA-OAEP-256");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["cty"], "application/json");
    assert_eq!(header["kid"], "test-key-1");
    let key = DecryptionKey::from_pkcs8_pem(test_keys::PRIVATE_KEY_PEM).unwrap();
    assert_eq!(key.decrypt(&jwe[0]).unwrap(), payload(1).to_vec());

    // Tampering is detected by the office.
    let mut parts: Vec<String> = jwe[0].split('.').map(str::to_owned).collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, flipped);
    assert!(key.decrypt(&parts.join(".")).is_err());
}

#[test]
fn references_stay_unique_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let mut references = std::collections::HashSet::new();
    for round in 0..3 {
        let outbox = open(&path);
        for n in 0..5 {
            let saved = outbox
                .enqueue(submission("dog-tax", round * 10 + n))
                .unwrap();
            assert_eq!(
                Reference::parse(saved.reference.as_str()).unwrap(),
                saved.reference
            );
            assert!(references.insert(saved.reference), "reference reused");
        }
    }
    let status = open(&path).status().unwrap();
    assert_eq!(status.queued, 15);
    assert_eq!(status.undelivered(), 15);
}

#[test]
fn status_and_alerts_report_old_undelivered_records() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    assert!(outbox.alerts().unwrap().is_empty());
    let first = outbox.enqueue(submission("dog-tax", 1)).unwrap();
    outbox.enqueue(submission("dog-tax", 2)).unwrap();

    let status = outbox.status().unwrap();
    assert_eq!(
        (
            status.queued,
            status.sending,
            status.dead_letters,
            status.delivered
        ),
        (2, 0, 0, 0)
    );
    assert!(status.oldest_undelivered_age(SystemTime::now()).unwrap() < Duration::from_secs(60));
    assert_eq!(status.last_delivery_at, None);

    assert!(
        outbox
            .alerts_at(SystemTime::now() + Duration::from_secs(23 * 3600))
            .unwrap()
            .is_empty()
    );
    let alerts = outbox
        .alerts_at(SystemTime::now() + Duration::from_secs(25 * 3600))
        .unwrap();
    match &alerts[..] {
        [
            StaffAlert::UndeliveredTooLong {
                count: 2,
                oldest_reference,
                oldest_age,
            },
        ] => {
            assert_eq!(*oldest_reference, first.reference);
            assert!(*oldest_age >= Duration::from_secs(25 * 3600));
        }
        other => panic!("unexpected alerts {other:?}"),
    }
    assert_eq!(
        outbox.receipt(&first.reference).unwrap(),
        Some(ReceiptState::Pending)
    );
}

#[test]
fn bad_payloads_are_refused_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let not_json = NewSubmission {
        service_id: "dog-tax".into(),
        service_version: 1,
        payload: Zeroizing::new(b"Erika Mustermann, 1964-08-12".to_vec()),
    };
    assert!(!format!("{not_json:?}").contains(MARKER));
    let err = outbox.enqueue(not_json).unwrap_err();
    assert!(matches!(err, EnqueueError::PayloadNotJson(_)), "{err:?}");
    assert!(!err.to_string().contains(MARKER) && !format!("{err:?}").contains(MARKER));
    let empty_service = NewSubmission {
        service_id: String::new(),
        service_version: 1,
        payload: payload(1),
    };
    assert_eq!(
        outbox.enqueue(empty_service).unwrap_err(),
        EnqueueError::InvalidServiceId
    );
    assert_eq!(outbox.status().unwrap().queued, 0);
}

fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_database_from_a_newer_release_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    open(&path).enqueue(submission("dog-tax", 1)).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = file_bytes(&path);
    let err = Outbox::open(&path, config()).unwrap_err();
    assert!(
        matches!(err, OpenError::NewerSchema { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer kiosk release"), "{err}");
    assert_eq!(file_bytes(&path), before, "the file was changed");
}

#[test]
fn a_corrupt_or_foreign_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = Outbox::open(&garbage, config()).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("damaged"), "{err}");
    assert_eq!(file_bytes(&garbage), vec![0x5a; 8192]);

    let foreign = dir.path().join("foreign.sqlite");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('x');")
            .unwrap();
    }
    let before = file_bytes(&foreign);
    let err = Outbox::open(&foreign, config()).unwrap_err();
    assert!(matches!(err, OpenError::ForeignDatabase { .. }), "{err:?}");
    assert_eq!(file_bytes(&foreign), before);

    // A valid outbox whose pages were overwritten in the middle.
    let damaged = dir.path().join("damaged.sqlite");
    {
        let outbox = open(&damaged);
        for n in 0..40 {
            outbox.enqueue(submission("dog-tax", n)).unwrap();
        }
    }
    {
        let conn = rusqlite::Connection::open(&damaged).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let mut bytes = file_bytes(&damaged);
    assert!(bytes.len() > 5 * 4096);
    for b in &mut bytes[3 * 4096..5 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let err = Outbox::open(&damaged, config()).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert_eq!(file_bytes(&damaged), bytes);
}

#[test]
fn records_left_sending_by_a_crash_are_queued_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    open(&path).enqueue(submission("dog-tax", 1)).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE submissions SET state = 'sending'", [])
        .unwrap();
    let status = open(&path).status().unwrap();
    assert_eq!((status.queued, status.sending), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_a_clear_error_and_keeps_earlier_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let config = OutboxConfig {
        max_page_count: Some(24),
        ..config()
    };
    let outbox = Outbox::open(&path, config.clone()).unwrap();
    let mut saved = Vec::new();
    let err = loop {
        match outbox.enqueue(submission("dog-tax", saved.len())) {
            Ok(s) => saved.push(s),
            Err(e) => break e,
        }
        assert!(saved.len() < 1000, "the size limit never hit");
    };
    assert_eq!(err, EnqueueError::Storage(StorageError::Full));
    assert!(err.to_string().contains("storage is full"), "{err}");
    assert!(saved.len() >= 3, "only {} fit", saved.len());
    // A second attempt fails the same way; nothing half-written.
    assert!(outbox.enqueue(submission("dog-tax", 9999)).is_err());
    assert_eq!(outbox.status().unwrap().queued, saved.len() as u64);
    drop(outbox);

    // The file is intact and everything saved before is delivered.
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Staff free space (here: lift the limit); everything saved before goes out.
    let outbox = Outbox::open(
        &path,
        OutboxConfig {
            max_page_count: None,
            ..config
        },
    )
    .unwrap();
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        Duration::from_secs(30),
        until_empty(&outbox),
    )
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), saved.len());
    for s in &saved {
        let got = received.iter().find(|r| r.id == s.id).expect("delivered");
        assert_eq!(got.reference, s.reference.as_str());
        assert!(got.plaintext.starts_with(br#"{"name":"Erika Mustermann-"#));
    }
}
