//! The chaos test: 1,000 submissions through a receiver that delays, fails,
//! drops connections before and after committing and trickles its answers,
//! while the engine is also stopped and restarted: 0 lost, 0 duplicated.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use offline_cache::{SyncConfig, SyncEngine};
use offline_cache_receiver::{Faults, ReceiverConfig, ReferenceReceiver};

const SUBMISSIONS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_submissions_through_faults_none_lost_none_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    receiver.set_faults(Faults {
        max_delay: Duration::from_millis(4),
        status_500: 0.05,
        status_503: 0.03,
        reset_before_commit: 0.05,
        reset_after_commit: 0.08,
        slow_body: 0.04,
        slow_body_pause: Duration::from_millis(3),
    });

    // The citizen side keeps saving while the engine runs.
    let producer = {
        let outbox = outbox.clone();
        tokio::task::spawn_blocking(move || {
            (0..SUBMISSIONS)
                .map(|n| {
                    (
                        outbox.enqueue(submission("dog-tax", n)).unwrap().id,
                        sha256(&payload(n)),
                    )
                })
                .collect::<HashMap<_, _>>()
        })
    };
    let sync = SyncConfig {
        concurrency: 8,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(40),
        shutdown_grace: Duration::from_millis(20),
    };
    let started = Instant::now();
    // Stop and restart the engine a few times mid-flight (a short grace forces requeues).
    let mut requeued = 0;
    for round in 0..6u64 {
        let engine = SyncEngine::new(outbox.clone(), http(&receiver.base_url()), sync.clone());
        requeued += engine
            .run(tokio::time::sleep(Duration::from_millis(150 + 37 * round)))
            .await
            .requeued;
    }
    let expected = producer.await.unwrap();
    run_until(
        &outbox,
        http(&receiver.base_url()),
        sync,
        Duration::from_secs(90),
        until_empty(&outbox),
    )
    .await;

    let status = outbox.status().unwrap();
    assert_eq!(status.undelivered(), 0, "{status:?}");
    assert_eq!(status.delivered, SUBMISSIONS as u64);
    let received = receiver.received();
    let mut seen: HashMap<uuid::Uuid, [u8; 32]> = HashMap::new();
    for r in &received {
        assert!(
            seen.insert(r.id, r.plaintext_sha256).is_none(),
            "{} duplicated",
            r.id
        );
    }
    assert_eq!(seen, expected, "lost or altered submissions");
    let stats = receiver.stats();
    assert!(
        stats.faults >= 100,
        "too few faults injected to mean anything: {stats:?}"
    );
    assert!(stats.replays > 0, "no lost answer was replayed: {stats:?}");
    eprintln!(
        "chaos: {SUBMISSIONS} delivered in {:?}, {requeued} requeued at restarts, {stats:?}",
        started.elapsed()
    );
}
