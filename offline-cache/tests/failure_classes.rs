//! Every failed delivery attempt is reported to the engine's observer with the
//! class of its cause, against real servers on 127.0.0.1: nothing listening,
//! the reference receiver with injected faults, a refused token, a garbled
//! answer, an untrusted TLS certificate. Nothing personal is in a report.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use offline_cache::{
    ClientCredentials, FailureClass, HttpTransport, HttpTransportConfig, Outbox, SyncEngine,
    SyncReport, Transport,
};
use offline_cache_receiver::{Fault, ReceiverConfig, ReferenceReceiver, TlsIdentity, test_keys};
use secrecy::SecretString;

const LIMIT: Duration = Duration::from_secs(30);

/// Runs the engine with an observer until `done` holds for the reports so far
/// (checked every 10 ms) or `limit` passes; returns every report.
async fn observe<T: Transport>(
    outbox: &Outbox,
    transport: T,
    limit: Duration,
    done: impl Fn(&[SyncReport]) -> bool + Send + 'static,
) -> Vec<SyncReport> {
    let reports: Arc<Mutex<Vec<SyncReport>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let engine = SyncEngine::new(outbox.clone(), transport, fast_sync())
        .with_observer(move |report: &SyncReport| sink.lock().unwrap().push(report.clone()));
    let seen = Arc::clone(&reports);
    let deadline = tokio::time::Instant::now() + limit;
    engine
        .run(async move {
            while tokio::time::Instant::now() < deadline {
                let finished = {
                    let reports = seen.lock().unwrap();
                    done(&reports)
                };
                if finished {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    let reports = reports.lock().unwrap().clone();
    assert!(
        !format!("{reports:?}").contains(MARKER),
        "personal data in a report: {reports:?}"
    );
    reports
}

fn failed(class: FailureClass, will_retry: bool) -> SyncReport {
    SyncReport::Failed { class, will_retry }
}

fn delivered(service_id: &str) -> SyncReport {
    SyncReport::Delivered {
        service_id: service_id.into(),
    }
}

fn any_failure(reports: &[SyncReport]) -> bool {
    reports
        .iter()
        .any(|r| matches!(r, SyncReport::Failed { .. }))
}

fn any_delivery(reports: &[SyncReport]) -> bool {
    reports
        .iter()
        .any(|r| matches!(r, SyncReport::Delivered { .. }))
}

/// The only record's `last_error` as stored.
fn last_error(outbox_file: &std::path::Path) -> String {
    rusqlite::Connection::open(outbox_file)
        .unwrap()
        .query_row("SELECT last_error FROM submissions", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
}

async fn receiver() -> offline_cache_receiver::ReceiverHandle {
    ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap()
}

/// A failure the receiver injects once, then the delivery that follows it:
/// exactly one failure of `class`, then the delivery, and nothing duplicated.
async fn fails_once_then_delivers(fault: Fault, class: FailureClass) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = receiver().await;
    receiver.push_faults([fault]);
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    let reports = observe(&outbox, http(&receiver.base_url()), LIMIT, any_delivery).await;
    assert_eq!(
        reports,
        vec![failed(class, true), delivered("dog-tax")],
        "{fault:?}"
    );
    assert_eq!(receiver.received_count(), 1, "{fault:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_a_network_failure_recorded_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outbox.sqlite");
    let outbox = open(&file);
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    // A port nobody listens on any more: the connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let reports = observe(
        &outbox,
        http(&format!("http://{closed}")),
        LIMIT,
        any_failure,
    )
    .await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Network, true)),
        "{reports:?}"
    );
    let error = last_error(&file);
    assert!(error.starts_with("network: "), "{error}");
    let status = outbox.status().unwrap();
    assert_eq!((status.queued, status.dead_letters), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_is_a_network_failure() {
    fails_once_then_delivers(Fault::ResetBeforeCommit, FailureClass::Network).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_is_a_server_failure() {
    fails_once_then_delivers(Fault::Status500, FailureClass::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_and_503_with_retry_after_are_rate_limiting() {
    fails_once_then_delivers(
        Fault::Status429 {
            retry_after_secs: 1,
        },
        FailureClass::RateLimited,
    )
    .await;
    fails_once_then_delivers(
        Fault::Status503 {
            retry_after_secs: 0,
        },
        FailureClass::RateLimited,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_answer_is_an_invalid_answer_and_the_retry_is_no_duplicate() {
    // The receiver stored the submission before garbling the answer: the
    // retry gets the stored answer, and the office still has it once.
    fails_once_then_delivers(Fault::GarbledAnswer, FailureClass::InvalidAnswer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_later_than_the_request_timeout_is_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = receiver().await;
    receiver.push_faults([Fault::Delay(Duration::from_secs(3))]);
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    let mut config = HttpTransportConfig::new(receiver.base_url());
    config.request_timeout = Duration::from_millis(300);
    let transport = HttpTransport::new(config).unwrap();
    let reports = observe(&outbox, transport, LIMIT, any_delivery).await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Timeout, true)),
        "{reports:?}"
    );
    // The delayed request may still be in flight at the receiver (409 for the
    // retry), but the record is delivered once in the end.
    assert_eq!(reports.last(), Some(&delivered("dog-tax")), "{reports:?}");
    assert_eq!(receiver.received_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_submission_is_dead_lettered_as_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        rejected_services: vec!["unknown-service".into()],
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    outbox.enqueue(submission("unknown-service", 1)).unwrap();
    let reports = observe(&outbox, http(&receiver.base_url()), LIMIT, any_failure).await;
    assert_eq!(reports, vec![failed(FailureClass::Rejected, false)]);
    let letters = outbox.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].failure_class, Some(FailureClass::Rejected));
    let error = letters[0].last_error.clone().unwrap();
    assert!(error.starts_with("rejected: HTTP 422"), "{error}");
    // The receiver echoed the answers in its error text; none of it is kept.
    assert!(!error.contains(MARKER), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_auth_failures_and_never_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        credentials: Some(("kiosk-27".into(), "s3cret".into())),
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    outbox.enqueue(submission("dog-tax", 1)).unwrap();

    // No token at all: the API answers 401.
    let reports = observe(&outbox, http(&receiver.base_url()), LIMIT, any_failure).await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Auth, true)),
        "{reports:?}"
    );
    assert!(receiver.stats().unauthorized >= 1);

    // A wrong secret: the token endpoint answers 401.
    let mut config = HttpTransportConfig::new(receiver.base_url());
    config.credentials = Some(ClientCredentials {
        token_url: format!("{}/oauth/token", receiver.base_url()),
        client_id: "kiosk-27".into(),
        client_secret: SecretString::from("wrong".to_owned()),
        scope: None,
    });
    outbox.sync_now();
    let reports = observe(
        &outbox,
        HttpTransport::new(config).unwrap(),
        LIMIT,
        any_failure,
    )
    .await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Auth, true)),
        "{reports:?}"
    );
    assert_eq!(receiver.stats().tokens_issued, 0);
    let status = outbox.status().unwrap();
    assert_eq!((status.queued, status.dead_letters), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_or_unpinned_certificate_is_a_tls_failure() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        tls: Some(TlsIdentity::test_only()),
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    outbox.enqueue(submission("dog-tax", 1)).unwrap();

    // Only public roots: the test CA is not trusted.
    let untrusted = HttpTransport::new(HttpTransportConfig::new(receiver.base_url())).unwrap();
    let reports = observe(&outbox, untrusted, LIMIT, any_failure).await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Tls, true)),
        "{reports:?}"
    );

    // The CA is trusted, but the server's key is not the pinned one.
    let mut pinned = HttpTransportConfig::new(receiver.base_url());
    pinned.public_roots = false;
    pinned.extra_roots_pem = Some(test_keys::TLS_CA_PEM.to_owned());
    pinned.pinned_spki_sha256 = vec![[0x11; 32]];
    outbox.sync_now();
    let reports = observe(
        &outbox,
        HttpTransport::new(pinned).unwrap(),
        LIMIT,
        any_failure,
    )
    .await;
    assert_eq!(
        reports.first(),
        Some(&failed(FailureClass::Tls, true)),
        "{reports:?}"
    );
    assert_eq!(receiver.stats().submission_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_reported_only_once_it_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = receiver().await;
    for n in 0..5 {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
    }
    // The observer looks at the outbox when it hears of a delivery.
    let recorded: Arc<Mutex<Vec<u64>>> = Arc::default();
    let (check, sink) = (outbox.clone(), Arc::clone(&recorded));
    let engine = SyncEngine::new(outbox.clone(), http(&receiver.base_url()), fast_sync())
        .with_observer(move |report: &SyncReport| {
            if matches!(report, SyncReport::Delivered { .. }) {
                sink.lock().unwrap().push(check.status().unwrap().delivered);
            }
        });
    let done = until_empty(&outbox);
    let summary = with_timeout(
        LIMIT,
        engine.run(async move {
            let mut done = done;
            while !done() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }),
    )
    .await;
    assert_eq!(summary.delivered, 5);
    let recorded = recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 5, "one report per delivery");
    // The n-th report saw at least n deliveries in the file.
    for (n, delivered) in recorded.iter().enumerate() {
        assert!(*delivered > n as u64, "{recorded:?}");
    }
}
