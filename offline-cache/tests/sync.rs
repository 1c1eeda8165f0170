//! The sync engine against the reference receiver on 127.0.0.1, and its
//! timing rules (back-off, Retry-After, offline pause) under paused tokio time.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use offline_cache::{
    ClientCredentials, DeliveryOutcome, Envelope, FailureClass, HttpTransport, HttpTransportConfig,
    Outbox, ReceiptState, RetryScope, StaffAlert, SyncConfig, SyncEngine, Transport,
};
use offline_cache_receiver::{Fault, ReceiverConfig, ReferenceReceiver};
use secrecy::SecretString;

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_purges_and_keeps_only_the_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let saved: Vec<_> = (0..10)
        .map(|n| outbox.enqueue(submission("dog-tax", n)).unwrap())
        .collect();

    let summary = run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        LIMIT,
        until_empty(&outbox),
    )
    .await;
    assert_eq!(summary.delivered, 10);

    let received = receiver.received();
    assert_eq!(received.len(), 10);
    for (n, s) in saved.iter().enumerate() {
        let got = received.iter().find(|r| r.id == s.id).unwrap();
        assert_eq!(got.plaintext_sha256, sha256(&payload(n)));
        assert_eq!(got.service_id, "dog-tax");
        let receipt = outbox.receipt(&s.reference).unwrap().unwrap();
        assert_eq!(
            receipt,
            ReceiptState::Delivered {
                server_reference: got.server_reference.clone()
            }
        );
    }
    let status = outbox.status().unwrap();
    assert_eq!((status.undelivered(), status.delivered), (0, 10));
    assert!(status.last_delivery_at.is_some() && status.last_attempt_at.is_some());
    // Purged: no ciphertext is left in the file.
    let conn = rusqlite::Connection::open(dir.path().join("outbox.sqlite")).unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM submissions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_after_commit_is_not_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    receiver.push_faults([
        Fault::ResetAfterCommit,
        Fault::ResetAfterCommit,
        Fault::ResetBeforeCommit,
    ]);
    let saved = outbox.enqueue(submission("dog-tax", 1)).unwrap();

    run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        LIMIT,
        until_empty(&outbox),
    )
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "stored exactly once");
    assert_eq!(received[0].id, saved.id);
    let stats = receiver.stats();
    assert!(stats.replays >= 1, "{stats:?}");
    assert_eq!(
        outbox.receipt(&saved.reference).unwrap(),
        Some(ReceiptState::Delivered {
            server_reference: received[0].server_reference.clone()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_record_does_not_delay_the_others_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        rejected_services: vec!["unknown-service".into()],
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    // One delivery at a time, oldest first: the poisoned record goes out first,
    // then a record that fails with a 500 (and waits up to 5 s), then 20 good ones.
    let poisoned = outbox.enqueue(submission("unknown-service", 0)).unwrap();
    let failing = outbox.enqueue(submission("dog-tax", 99)).unwrap();
    receiver.push_faults([Fault::Delay(Duration::ZERO), Fault::Status500]);
    let good: Vec<_> = (1..=20)
        .map(|n| outbox.enqueue(submission("dog-tax", n)).unwrap())
        .collect();

    let started = std::time::Instant::now();
    let sync = SyncConfig {
        concurrency: 1,
        backoff_base: Duration::from_secs(5),
        backoff_cap: Duration::from_secs(5),
        ..fast_sync()
    };
    let (check, references) = (
        outbox.clone(),
        good.iter().map(|g| g.reference.clone()).collect::<Vec<_>>(),
    );
    run_until(
        &outbox,
        http(&receiver.base_url()),
        sync,
        LIMIT,
        move || {
            references
                .iter()
                .all(|r| matches!(check.receipt(r), Ok(Some(ReceiptState::Delivered { .. }))))
        },
    )
    .await;
    // Neither the refused nor the failing record held the others up.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(outbox.status().unwrap().dead_letters, 1);
    assert!(outbox.receipt(&failing.reference).unwrap() != Some(ReceiptState::DeadLetter));

    let letters = outbox.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, poisoned.id);
    assert_eq!(letters[0].attempts, 1);
    let error = letters[0].last_error.clone().unwrap();
    assert!(
        error.contains("422") && error.contains("unknown-service"),
        "{error}"
    );
    assert!(
        !error.contains(MARKER) && !error.contains("1964"),
        "personal data in last_error: {error}"
    );
    assert!(!format!("{letters:?}").contains(MARKER));
    assert!(
        outbox
            .alerts()
            .unwrap()
            .contains(&StaffAlert::DeadLetters { count: 1 })
    );
    assert_eq!(
        outbox.receipt(&poisoned.reference).unwrap(),
        Some(ReceiptState::DeadLetter)
    );
    assert!(
        good.iter()
            .any(|g| receiver.received().iter().any(|r| r.id == g.id))
    );

    // Staff retry it: refused again. Then staff discard it.
    outbox.retry_dead_letter(poisoned.id).unwrap();
    assert_eq!(outbox.status().unwrap().dead_letters, 0);
    let check = outbox.clone();
    run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        LIMIT,
        move || {
            check
                .status()
                .map(|s| s.dead_letters == 1 && s.queued == 0)
                .unwrap_or(false)
        },
    )
    .await;
    assert_eq!(outbox.dead_letters().unwrap()[0].attempts, 2);
    outbox.discard_dead_letter(poisoned.id).unwrap();
    assert!(outbox.discard_dead_letter(poisoned.id).is_err());
    assert_eq!(
        outbox.receipt(&poisoned.reference).unwrap(),
        Some(ReceiptState::Discarded)
    );
    let status = outbox.status().unwrap();
    assert_eq!(
        (status.undelivered(), status.delivered, status.discarded),
        (0, 21, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_fetched_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        credentials: Some(("kiosk-27".into(), "s3cret".into())),
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    for n in 0..12 {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
    }
    let credentials = |secret: &str| ClientCredentials {
        token_url: format!("{}/oauth/token", receiver.base_url()),
        client_id: "kiosk-27".into(),
        client_secret: SecretString::from(secret.to_owned()),
        scope: None,
    };
    assert!(!format!("{:?}", credentials("s3cret")).contains("s3cret"));

    // Wrong secret: nothing is dead-lettered, everything waits.
    let mut config = HttpTransportConfig::new(receiver.base_url());
    config.credentials = Some(credentials("wrong"));
    let transport = HttpTransport::new(config).unwrap();
    run_until(
        &outbox,
        transport,
        fast_sync(),
        Duration::from_millis(300),
        || false,
    )
    .await;
    let status = outbox.status().unwrap();
    assert_eq!((status.queued, status.dead_letters), (12, 0));

    let mut config = HttpTransportConfig::new(receiver.base_url());
    config.credentials = Some(credentials("s3cret"));
    let transport = HttpTransport::new(config).unwrap();
    outbox.sync_now();
    run_until(&outbox, transport, fast_sync(), LIMIT, until_empty(&outbox)).await;
    assert_eq!(receiver.received().len(), 12);
    assert_eq!(receiver.stats().tokens_issued, 1);
    assert_eq!(receiver.stats().unauthorized, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_delivery_in_flight_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    receiver.push_faults([Fault::Delay(Duration::from_millis(1500))]);
    let saved = outbox.enqueue(submission("dog-tax", 1)).unwrap();

    let sync = SyncConfig {
        shutdown_grace: Duration::from_millis(100),
        ..fast_sync()
    };
    let engine = SyncEngine::new(outbox.clone(), http(&receiver.base_url()), sync);
    let summary = engine
        .run(tokio::time::sleep(Duration::from_millis(300)))
        .await;
    assert_eq!(summary.requeued, 1, "{summary:?}");
    let status = outbox.status().unwrap();
    assert_eq!((status.queued, status.sending), (1, 0));

    // The next run delivers it exactly once, whatever the server did with the first try.
    run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        LIMIT,
        until_empty(&outbox),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].id, saved.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_except_to_loopback() {
    let err = HttpTransport::new(HttpTransportConfig::new("http://sync.example.org")).unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
    assert!(HttpTransport::new(HttpTransportConfig::new("https://sync.example.org")).is_ok());
    assert!(HttpTransport::new(HttpTransportConfig::new("http://127.0.0.1:9")).is_ok());
}

/// A transport that follows a script and records when it was called (for timing rules).
#[derive(Clone, Default)]
struct Scripted {
    calls: Arc<Mutex<Vec<(uuid::Uuid, tokio::time::Instant)>>>,
    answer: Arc<Mutex<Vec<DeliveryOutcome>>>,
    fallback: Arc<Mutex<Option<DeliveryOutcome>>>,
    /// How long each delivery takes (e.g. a connect timeout).
    latency: Arc<Mutex<Duration>>,
}

impl Scripted {
    fn calls(&self) -> Vec<(uuid::Uuid, tokio::time::Instant)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Transport for Scripted {
    async fn deliver(&self, envelope: &Envelope) -> DeliveryOutcome {
        self.calls
            .lock()
            .unwrap()
            .push((envelope.id, tokio::time::Instant::now()));
        let latency = *self.latency.lock().unwrap();
        tokio::time::sleep(latency).await;
        let scripted = {
            let mut answers = self.answer.lock().unwrap();
            if answers.is_empty() {
                None
            } else {
                Some(answers.remove(0))
            }
        };
        scripted
            .or_else(|| self.fallback.lock().unwrap().clone())
            .unwrap_or(DeliveryOutcome::Delivered {
                server_reference: format!("S-{}", envelope.id.simple()),
            })
    }
}

fn offline() -> DeliveryOutcome {
    DeliveryOutcome::Retry {
        after: None,
        class: FailureClass::Network,
        reason: "cannot connect".into(),
        scope: RetryScope::Connection,
    }
}

fn production_like() -> SyncConfig {
    SyncConfig {
        concurrency: 4,
        backoff_base: Duration::from_secs(2),
        backoff_cap: Duration::from_secs(300),
        shutdown_grace: Duration::from_secs(1),
    }
}

/// Runs the engine for `span` of (paused) tokio time.
async fn run_for(outbox: &Outbox, transport: Scripted, config: SyncConfig, span: Duration) {
    SyncEngine::new(outbox.clone(), transport, config)
        .run(tokio::time::sleep(span))
        .await;
}

#[tokio::test(start_paused = true)]
async fn offline_the_engine_probes_with_one_record_and_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    for n in 0..50 {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
    }
    let transport = Scripted::default();
    *transport.fallback.lock().unwrap() = Some(offline());
    run_for(
        &outbox,
        transport.clone(),
        production_like(),
        Duration::from_secs(3600),
    )
    .await;
    let calls = transport.calls();
    // One hour offline: a few dozen probes at most, never 50 records per round.
    assert!(
        calls.len() <= 60,
        "{} attempts in an hour offline",
        calls.len()
    );
    assert!(calls.len() >= 5, "stopped trying: {} attempts", calls.len());
    for pair in calls.windows(2).skip(6) {
        assert!(
            pair[1].1 - pair[0].1 >= Duration::from_secs(2),
            "probes too close: {:?}",
            pair[1].1 - pair[0].1
        );
    }
    let status = outbox.status().unwrap();
    assert_eq!(
        (status.queued, status.dead_letters),
        (50, 0),
        "nothing lost, nothing dead-lettered"
    );

    // Back online and staff press "sync now": everything goes at once.
    let transport = Scripted::default();
    outbox.sync_now();
    run_for(
        &outbox,
        transport.clone(),
        production_like(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outbox.status().unwrap().delivered, 50);
    assert_eq!(transport.calls().len(), 50);
}

#[tokio::test(start_paused = true)]
async fn a_slow_offline_probe_does_not_make_the_engine_spin() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    for n in 0..20 {
        outbox.enqueue(submission("dog-tax", n)).unwrap();
    }
    let transport = Scripted::default();
    *transport.fallback.lock().unwrap() = Some(offline());
    *transport.latency.lock().unwrap() = Duration::from_secs(10);
    let wall = std::time::Instant::now();
    // Watchdog in real time: a spinning engine polls its shutdown future on every turn.
    let expired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&expired);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let watchdog = std::future::poll_fn(move |_| {
        if expired.load(std::sync::atomic::Ordering::SeqCst) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    });
    let span = tokio::time::sleep(Duration::from_secs(1800));
    let stop = async move {
        tokio::select! {
            () = span => {}
            () = watchdog => {}
        }
    };
    SyncEngine::new(outbox.clone(), transport.clone(), production_like())
        .run(stop)
        .await;
    // A busy loop would keep paused time from advancing and take ages in real time.
    assert!(
        wall.elapsed() < Duration::from_secs(20),
        "took {:?}",
        wall.elapsed()
    );
    let calls = transport.calls();
    assert!((2..=60).contains(&calls.len()), "{} probes", calls.len());
    assert_eq!(outbox.status().unwrap().queued, 20);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_back_off_grows_with_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    let transport = Scripted::default();
    transport
        .answer
        .lock()
        .unwrap()
        .push(DeliveryOutcome::Retry {
            after: Some(Duration::from_secs(120)),
            class: FailureClass::RateLimited,
            reason: "HTTP 429".into(),
            scope: RetryScope::Record,
        });
    run_for(
        &outbox,
        transport.clone(),
        production_like(),
        Duration::from_secs(600),
    )
    .await;
    let calls = transport.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].1 - calls[0].1 >= Duration::from_secs(120),
        "{:?}",
        calls[1].1 - calls[0].1
    );

    // A record failing again and again: the gaps stay below the cap, attempts are counted.
    outbox.enqueue(submission("dog-tax", 2)).unwrap();
    let transport = Scripted::default();
    *transport.fallback.lock().unwrap() = Some(DeliveryOutcome::Retry {
        after: None,
        class: FailureClass::Server,
        reason: "HTTP 500".into(),
        scope: RetryScope::Record,
    });
    let config = SyncConfig {
        backoff_cap: Duration::from_secs(60),
        ..production_like()
    };
    run_for(
        &outbox,
        transport.clone(),
        config,
        Duration::from_secs(1800),
    )
    .await;
    let calls = transport.calls();
    assert!(
        calls.len() >= 20,
        "only {} attempts in 30 min with a 60 s cap",
        calls.len()
    );
    for pair in calls.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 <= Duration::from_secs(61),
            "gap {:?} above the cap",
            pair[1].1 - pair[0].1
        );
    }
    let status = outbox.status().unwrap();
    assert_eq!(status.queued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_renewed_before_it_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    // 31 s lifetime: the kiosk renews 30 s early, so the token is good for 1 s.
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        credentials: Some(("kiosk-27".into(), "s3cret".into())),
        token_lifetime: Duration::from_secs(31),
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    let mut config = HttpTransportConfig::new(receiver.base_url());
    config.credentials = Some(ClientCredentials {
        token_url: format!("{}/oauth/token", receiver.base_url()),
        client_id: "kiosk-27".into(),
        client_secret: SecretString::from("s3cret".to_owned()),
        scope: Some("submissions".into()),
    });
    let transport = Arc::new(HttpTransport::new(config).unwrap());
    let engine_transport = SharedTransport(Arc::clone(&transport));
    outbox.enqueue(submission("dog-tax", 1)).unwrap();
    run_until(
        &outbox,
        engine_transport.clone(),
        fast_sync(),
        LIMIT,
        until_empty(&outbox),
    )
    .await;
    assert_eq!(receiver.stats().tokens_issued, 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    outbox.enqueue(submission("dog-tax", 2)).unwrap();
    run_until(
        &outbox,
        engine_transport,
        fast_sync(),
        LIMIT,
        until_empty(&outbox),
    )
    .await;
    let stats = receiver.stats();
    assert_eq!(
        (stats.tokens_issued, stats.unauthorized),
        (2, 0),
        "{stats:?}"
    );
    assert_eq!(receiver.received().len(), 2);
}

/// One transport (and its token cache) shared by several engine runs.
#[derive(Clone)]
struct SharedTransport(Arc<HttpTransport>);

impl Transport for SharedTransport {
    async fn deliver(&self, envelope: &Envelope) -> DeliveryOutcome {
        self.0.deliver(envelope).await
    }
}
