//! HTTPS with rustls and certificate pinning against the receiver serving TLS.

mod common;

use std::time::Duration;

use common::*;
use offline_cache::{HttpTransport, HttpTransportConfig, spki_sha256};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, TlsIdentity, test_keys};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

fn transport(url: &str, pins: Vec<[u8; 32]>) -> HttpTransport {
    let mut config = HttpTransportConfig::new(url);
    config.public_roots = false;
    config.extra_roots_pem = Some(test_keys::TLS_CA_PEM.to_owned());
    config.pinned_spki_sha256 = pins;
    config.request_timeout = Duration::from_secs(5);
    HttpTransport::new(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_delivers_with_the_right_pin_and_refuses_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        tls: Some(TlsIdentity::test_only()),
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    assert!(receiver.base_url().starts_with("https://127.0.0.1:"));
    let server_cert =
        CertificateDer::from_pem_slice(test_keys::TLS_SERVER_CERT_PEM.as_bytes()).unwrap();
    let right_pin = spki_sha256(server_cert.as_ref()).unwrap();

    // A wrong pin: the handshake fails, nothing is sent, nothing is dead-lettered.
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    run_until(
        &outbox,
        transport(&receiver.base_url(), vec![[0x11; 32]]),
        fast_sync(),
        Duration::from_millis(400),
        || false,
    )
    .await;
    assert_eq!(receiver.stats().submission_requests, 0);
    let status = outbox.status().unwrap();
    assert_eq!((status.queued, status.dead_letters), (1, 0));
    let error = rusqlite::Connection::open(dir.path().join("outbox.sqlite"))
        .unwrap()
        .query_row("SELECT last_error FROM submissions", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    assert!(error.contains("pinned"), "{error}");

    // Untrusted CA (only public roots): refused as well.
    let untrusted = HttpTransport::new(HttpTransportConfig::new(receiver.base_url())).unwrap();
    outbox.sync_now();
    run_until(
        &outbox,
        untrusted,
        fast_sync(),
        Duration::from_millis(300),
        || false,
    )
    .await;
    assert_eq!(receiver.stats().submission_requests, 0);

    // The right pin (next to a backup pin): delivered.
    outbox.sync_now();
    run_until(
        &outbox,
        transport(&receiver.base_url(), vec![[0x22; 32], right_pin]),
        fast_sync(),
        Duration::from_secs(20),
        until_empty(&outbox),
    )
    .await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(outbox.status().unwrap().delivered, 1);
}
