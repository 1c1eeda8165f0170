//! The kill test: a child process enqueues and syncs while this test SIGKILLs
//! it at random moments. Afterwards every submission whose enqueue returned
//! reaches the receiver exactly once with the same payload hash.
//!
//! The child is this test binary started again with a filter on
//! [`child_process_entry_point`] and the spec in an environment variable.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use offline_cache::{SyncConfig, SyncEngine};
use offline_cache_receiver::{Faults, ReceiverConfig, ReferenceReceiver};
use rand::{Rng, SeedableRng};

const CHILD_SPEC: &str = "OFFLINE_CACHE_KILL_CHILD";
const KILLS: usize = 200;
/// The whole kill phase must fit in this.
const KILL_PHASE_LIMIT: Duration = Duration::from_secs(120);

/// In the child: enqueue and sync until killed. Each line `ENQ <id> <sha256>`
/// is written only after `enqueue` returned. Without the variable (a normal
/// test run) there is no child to be.
#[test]
fn child_process_entry_point() {
    let Ok(spec) = std::env::var(CHILD_SPEC) else {
        return;
    };
    let mut parts = spec.split('|');
    let (db, url, first) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let first: usize = first.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outbox = open(std::path::Path::new(db));
    let engine = SyncEngine::new(
        outbox.clone(),
        runtime.block_on(async { http(url) }),
        SyncConfig {
            concurrency: 4,
            ..fast_sync()
        },
    );
    runtime.spawn(engine.run(std::future::pending::<()>()));
    let mut out = std::io::stdout();
    // Bounded even if nobody kills it: at most 5,000 enqueues or 60 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for n in first..first + 5_000 {
        if std::time::Instant::now() > deadline {
            break;
        }
        let payload_hash = sha256(&payload(n));
        let saved = outbox.enqueue(submission("dog-tax", n)).unwrap();
        let hex: String = payload_hash.iter().map(|b| format!("{b:02x}")).collect();
        out.write_all(format!("ENQ {} {hex}\n", saved.id).as_bytes())
            .unwrap();
        out.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn parse_lines(output: &str, confirmed: &mut HashMap<uuid::Uuid, String>) {
    for line in output.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let fields: Vec<&str> = line.trim_end().split(' ').collect();
        if let ["ENQ", id, hash] = fields[..]
            && let (Ok(id), 64) = (uuid::Uuid::parse_str(id), hash.len())
        {
            confirmed.insert(id, hash.to_owned());
        }
    }
}

#[test]
fn every_confirmed_submission_arrives_exactly_once_despite_sigkill() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime
        .block_on(ReferenceReceiver::start(ReceiverConfig::with_test_key()))
        .unwrap();
    // Lost answers and small delays make kills land mid-delivery too.
    receiver.set_faults(Faults {
        max_delay: Duration::from_millis(3),
        reset_after_commit: 0.05,
        reset_before_commit: 0.03,
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.sqlite");
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut confirmed: HashMap<uuid::Uuid, String> = HashMap::new();
    let started = Instant::now();

    let mut kills = 0;
    while kills < KILLS {
        assert!(
            started.elapsed() < KILL_PHASE_LIMIT,
            "only {kills} kills in {KILL_PHASE_LIMIT:?}"
        );
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_process_entry_point",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(
                CHILD_SPEC,
                format!(
                    "{}|{}|{}",
                    db.display(),
                    receiver.base_url(),
                    kills * 100_000
                ),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Kill at a random moment: during start-up, enqueue, delivery or bookkeeping.
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stdout.read_to_string(&mut all);
            all
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(15..=60)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        parse_lines(&reader.join().unwrap(), &mut confirmed);
        kills += 1;
    }
    let kill_phase = started.elapsed();
    assert!(
        confirmed.len() >= KILLS,
        "too few confirmed enqueues ({}) to mean anything",
        confirmed.len()
    );

    // Restart once more (in-process this time) and drain everything.
    let outbox = open(&db);
    receiver.set_faults(Faults::default());
    runtime.block_on(run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        Duration::from_secs(60),
        until_empty(&outbox),
    ));
    let status = outbox.status().unwrap();
    assert_eq!(status.undelivered(), 0, "{status:?}");

    let received = receiver.received();
    let mut by_id: HashMap<uuid::Uuid, usize> = HashMap::new();
    for r in &received {
        *by_id.entry(r.id).or_default() += 1;
    }
    assert!(
        by_id.values().all(|n| *n == 1),
        "a submission arrived twice"
    );
    // Exactly once, with the same content, for every confirmed enqueue.
    for (id, hash) in &confirmed {
        let got = received
            .iter()
            .find(|r| r.id == *id)
            .unwrap_or_else(|| panic!("{id} lost"));
        let got_hex: String = got
            .plaintext_sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&got_hex, hash, "{id} arrived with different content");
    }
    // Committed but unconfirmed ones (killed between commit and print) arrived too.
    assert_eq!(received.len() as u64, status.delivered);
    eprintln!(
        "kill test: {kills} kills in {kill_phase:?}, {} confirmed, {} delivered, {} replays",
        confirmed.len(),
        received.len(),
        receiver.stats().replays
    );
}
