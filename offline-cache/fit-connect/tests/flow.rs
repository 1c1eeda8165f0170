//! The FIT-Connect flow against the loopback server on 127.0.0.1: hand-over
//! with verified hashes, acceptance, rejection to a dead letter, key checks,
//! and resumption after lost answers at every step.

mod common;

use std::time::Duration;

use common::*;
use offline_cache::{EnqueueError, NewAttachment, ReceiptState};
use offline_cache_receiver::Fault;
use offline_cache_receiver::fit_connect::FitConnectServer;
use zeroize::Zeroizing;

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_through_the_whole_flow_and_keeps_records_until_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let mut server_config = server_config();
    server_config.decide_after_reads = 3;
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let transport = transport(&outbox, &server, &server_config);

    // Without the destination's key the kiosk refuses clearly instead of sealing wrongly.
    let refused = outbox.enqueue(submission(0)).unwrap_err();
    assert!(
        matches!(refused, EnqueueError::NoRecipientKey { .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("connect the kiosk"),
        "{refused}"
    );

    let refreshed = transport.refresh_keys().await;
    assert_eq!(refreshed.len(), 1);
    assert_eq!(refreshed[0].1.as_deref(), Ok("enc-test-1"));

    let mut saved = Vec::new();
    for n in 0..4 {
        saved.push((
            outbox.enqueue(submission(n)).unwrap(),
            sha256(&payload(n)),
            0,
        ));
    }
    let pdf = b"%PDF-1.7 test form for Erika Mustermann".to_vec();
    let with_attachment = outbox
        .enqueue_with_attachments(
            submission(9),
            vec![NewAttachment {
                purpose: "form".into(),
                mime_type: "application/pdf".into(),
                filename: Some("antrag.pdf".into()),
                description: Some("Antrag als PDF".into()),
                content: Zeroizing::new(pdf.clone()),
            }],
        )
        .unwrap();
    saved.push((with_attachment.clone(), sha256(&payload(9)), 1));

    // Only ciphertext on disk: neither the answers nor the attachment appear in any file.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(MARKER) && !text.contains("PDF-1.7"));
    }

    let summary = drain(&outbox, transport, fast_sync(), LIMIT).await;
    assert_eq!(summary.delivered, 5, "{summary:?}");
    assert!(
        summary.awaiting_acceptance >= 5,
        "records waited for acceptance: {summary:?}"
    );

    assert_eq!(server.violations(), Vec::<String>::new());
    let received = server.received();
    assert_eq!(received.len(), 5);
    for (enqueued, hash, attachments) in &saved {
        let got = received
            .iter()
            .find(|r| r.data_sha256 == *hash)
            .expect("arrived");
        assert_eq!(got.attachments_sha256.len(), *attachments);
        assert_eq!(got.leika_key, LEIKA);
        assert_eq!(
            got.metadata["contentStructure"]["data"]["submissionSchema"]["schemaUri"],
            SCHEMA
        );
        assert_eq!(
            outbox.receipt(&enqueued.reference).unwrap(),
            Some(ReceiptState::Delivered {
                server_reference: got.submission_id.to_string()
            })
        );
    }
    let attached = received
        .iter()
        .find(|r| r.data_sha256 == sha256(&payload(9)))
        .unwrap();
    assert_eq!(attached.attachments_sha256, vec![sha256(&pdf)]);
    let stats = server.stats();
    assert_eq!(
        (stats.submits, stats.accepted, stats.repeated_submits),
        (5, 5, 0)
    );
    assert_eq!(stats.tokens_issued, 1, "the token is cached: {stats:?}");
    let status = outbox.status().unwrap();
    assert_eq!((status.undelivered(), status.delivered), (0, 5));
    // Purged with everything that belonged to them.
    let conn = rusqlite::Connection::open(dir.path().join("outbox.sqlite")).unwrap();
    for table in ["submissions", "submission_parts", "delivery_progress"] {
        let left: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_waits_as_awaiting_acceptance_and_a_reject_becomes_a_dead_letter_for_staff() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let mut server_config = server_config();
    server_config.decide_after_reads = 1_000_000; // the office never decides in phase 1
    server_config.reject_when_data_contains = Some("Rex".into());
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let t = transport(&outbox, &server, &server_config);
    t.refresh_keys().await;
    let rejected = outbox
        .enqueue(offline_cache::NewSubmission {
            service_id: "dog-tax".into(),
            service_version: 1,
            payload: Zeroizing::new(format!(r#"{{"name":"{MARKER}","dog":"Rex"}}"#).into_bytes()),
        })
        .unwrap();
    // Phase 1: handed over, not yet accepted: kept, shown as awaiting.
    let summary = drain(&outbox, t, fast_sync(), Duration::from_millis(600)).await;
    assert_eq!(summary.delivered, 0);
    assert_eq!(
        outbox.receipt(&rejected.reference).unwrap(),
        Some(ReceiptState::AwaitingAcceptance)
    );
    assert_eq!(outbox.status().unwrap().awaiting_acceptance, 1);
    assert_eq!(server.stats().submits, 1);
    drop(server);

    // Phase 2: a new server process state cannot be recreated, so run a fresh
    // flow where the office decides at once and rejects.
    let dir2 = tempfile::tempdir().unwrap();
    let outbox = open(&dir2.path().join("outbox.sqlite"));
    let mut server_config = server_config.clone();
    server_config.decide_after_reads = 1;
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let t = transport(&outbox, &server, &server_config);
    t.refresh_keys().await;
    let rejected = outbox
        .enqueue(offline_cache::NewSubmission {
            service_id: "dog-tax".into(),
            service_version: 1,
            payload: Zeroizing::new(format!(r#"{{"name":"{MARKER}","dog":"Rex"}}"#).into_bytes()),
        })
        .unwrap();
    let good = outbox.enqueue(submission(1)).unwrap();
    drain(&outbox, t, fast_sync(), LIMIT).await;
    assert_eq!(
        outbox.receipt(&rejected.reference).unwrap(),
        Some(ReceiptState::DeadLetter)
    );
    assert!(matches!(
        outbox.receipt(&good.reference).unwrap(),
        Some(ReceiptState::Delivered { .. })
    ));
    let letters = outbox.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    let reason = letters[0].last_error.clone().unwrap_or_default();
    assert!(reason.contains("rejected by the office"), "{reason}");
    assert!(reason.contains("invalid-data"), "{reason}");
    // The office's free text echoes the citizen's name: never kept.
    assert!(
        !reason.contains(MARKER) && !reason.contains("Angabe"),
        "{reason}"
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_chain_does_not_lead_to_the_configured_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let mut server_config = server_config();
    server_config.untrusted_encryption_certificate = true;
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let t = transport(&outbox, &server, &server_config);
    let refreshed = t.refresh_keys().await;
    let error = refreshed[0].1.clone().unwrap_err().to_string();
    assert!(error.contains("certificate chain"), "{error}");
    let refused = outbox.enqueue(submission(1)).unwrap_err();
    assert!(matches!(refused, EnqueueError::NoRecipientKey { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_at_every_step_neither_repeat_an_announce_nor_duplicate_a_submission() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let server_config = server_config();
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let t = transport(&outbox, &server, &server_config);
    t.refresh_keys().await;
    // Fault-injectable requests in order for one record with one attachment:
    // announce, upload, submit, event reads.
    server.push_faults([
        Fault::ResetAfterCommit, // announce stored, answer lost: an orphan, never submitted
        Fault::ResetBeforeCommit, // second announce dropped before storing
        Fault::Delay(Duration::ZERO), // third announce stored and answered
        Fault::ResetAfterCommit, // upload stored, answer lost
        Fault::Status500,        // upload again: 500
        Fault::Delay(Duration::ZERO), // upload again: stored
        Fault::ResetAfterCommit, // submit stored, answer lost
        Fault::Status503 {
            retry_after_secs: 0,
        }, // the event log check before a resubmit fails
    ]);
    let saved = outbox
        .enqueue_with_attachments(
            submission(3),
            vec![NewAttachment {
                purpose: "attachment".into(),
                mime_type: "image/png".into(),
                filename: None,
                description: None,
                content: Zeroizing::new(vec![0x89, b'P', b'N', b'G']),
            }],
        )
        .unwrap();
    drain(&outbox, t, fast_sync(), LIMIT).await;
    assert!(matches!(
        outbox.receipt(&saved.reference).unwrap(),
        Some(ReceiptState::Delivered { .. })
    ));
    let stats = server.stats();
    assert_eq!(server.received().len(), 1, "{stats:?}");
    assert_eq!(
        stats.repeated_submits, 0,
        "the lost submit answer was resolved from the event log"
    );
    assert_eq!(
        stats.announces, 2,
        "one orphan from the lost announce answer: {stats:?}"
    );
    assert_eq!(server.unsubmitted(), 1);
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_acceptance_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let mut server_config = server_config();
    server_config.decide_after_reads = 1_000_000;
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let t = transport(&outbox, &server, &server_config);
    t.refresh_keys().await;
    let saved = outbox.enqueue(submission(4)).unwrap();
    drain(&outbox, t, fast_sync(), Duration::from_millis(400)).await;
    let submission_id = server.received()[0].submission_id;
    server.forge_accept(submission_id);
    let t = transport(&outbox, &server, &server_config);
    outbox.sync_now();
    drain(&outbox, t, fast_sync(), Duration::from_millis(400)).await;
    assert_eq!(
        outbox.receipt(&saved.reference).unwrap(),
        Some(ReceiptState::AwaitingAcceptance)
    );
}
