//! Chaos and kill tests of the FIT-Connect flow: faults on every step, engine
//! restarts, and a child process SIGKILLed at random moments. 0 lost, 0 duplicated.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use offline_cache::SyncConfig;
use offline_cache_receiver::Faults;
use offline_cache_receiver::fit_connect::{FitConnectServer, FitConnectServerConfig};
use rand::{Rng, SeedableRng};

const SUBMISSIONS: usize = 120;

/// `max_repeated_submits`: a sender killed while its submit is on the wire
/// cannot know whether it arrived; its repeat is refused (409) and must never
/// become a second hand-over. Without kills there is no excuse for one.
fn assert_exactly_once(
    server: &FitConnectServer,
    expected: &HashMap<[u8; 32], uuid::Uuid>,
    max_repeated_submits: u64,
) {
    let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
    for r in server.received() {
        *seen.entry(r.data_sha256).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a submission was handed over twice"
    );
    for (hash, id) in expected {
        assert_eq!(seen.get(hash), Some(&1), "{id} lost");
    }
    assert!(
        server.stats().repeated_submits <= max_repeated_submits,
        "{} repeated submits",
        server.stats().repeated_submits
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_and_twenty_submissions_through_faults_and_restarts_none_lost_none_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let mut server_config = server_config();
    server_config.decide_after_reads = 2;
    let server = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    server.set_faults(Faults {
        max_delay: Duration::from_millis(3),
        status_500: 0.05,
        status_503: 0.03,
        reset_before_commit: 0.05,
        reset_after_commit: 0.08,
        slow_body: 0.03,
        slow_body_pause: Duration::from_millis(2),
    });
    transport(&outbox, &server, &server_config)
        .refresh_keys()
        .await;
    let mut expected = HashMap::new();
    for n in 0..SUBMISSIONS {
        let saved = outbox.enqueue(submission(n)).unwrap();
        expected.insert(sha256(&payload(n)), saved.id);
    }
    let sync = SyncConfig {
        concurrency: 8,
        backoff_base: Duration::from_millis(2),
        backoff_cap: Duration::from_millis(40),
        shutdown_grace: Duration::from_millis(10),
    };
    let started = Instant::now();
    for round in 0..5u64 {
        let engine = offline_cache::SyncEngine::new(
            outbox.clone(),
            transport(&outbox, &server, &server_config),
            sync.clone(),
        );
        engine
            .run(tokio::time::sleep(Duration::from_millis(120 + 31 * round)))
            .await;
    }
    drain(
        &outbox,
        transport(&outbox, &server, &server_config),
        sync,
        Duration::from_secs(90),
    )
    .await;
    let status = outbox.status().unwrap();
    assert_eq!(status.undelivered(), 0, "{status:?}");
    assert_eq!(status.delivered, SUBMISSIONS as u64);
    assert_exactly_once(&server, &expected, 0);
    let stats = server.stats();
    assert!(
        stats.faults >= 30,
        "too few faults to mean anything: {stats:?}"
    );
    eprintln!(
        "fit-connect chaos: {SUBMISSIONS} accepted in {:?}, {} orphaned announces, {stats:?}",
        started.elapsed(),
        server.unsubmitted()
    );
}

const CHILD_SPEC: &str = "KIOSK_FIT_CONNECT_KILL_CHILD";
const KILLS: usize = 80;
const KILL_PHASE_LIMIT: Duration = Duration::from_secs(90);

/// In the child: enqueue and deliver through FIT-Connect until killed.
/// `ENQ <sha256>` is printed only after `enqueue` returned.
#[test]
fn child_process_entry_point() {
    let Ok(spec) = std::env::var(CHILD_SPEC) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let (db, base, first) = (parts[0], parts[1], parts[2].parse::<usize>().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outbox = open(std::path::Path::new(db));
    let server_config = server_config();
    let mut config = kiosk_fit_connect::FitConnectConfig::new(
        base,
        format!("{base}/token"),
        server_config.client_id.clone(),
        server_config.client_secret.clone().into(),
        offline_cache_receiver::test_keys::fit_connect::ROOT_PEM,
    );
    config.poll_interval_min = Duration::from_millis(5);
    config.poll_interval_max = Duration::from_millis(20);
    config.routes = HashMap::from([("dog-tax".to_owned(), route(&server_config))]);
    let transport = kiosk_fit_connect::FitConnectTransport::new(config, outbox.clone()).unwrap();
    let transport = runtime.block_on(async {
        transport.refresh_keys().await;
        transport
    });
    let engine = offline_cache::SyncEngine::new(outbox.clone(), transport, fast_sync());
    runtime.spawn(engine.run(std::future::pending::<()>()));
    let mut out = std::io::stdout();
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in first..first + 2_000 {
        if Instant::now() > deadline {
            break;
        }
        let hash = sha256(&payload(n));
        if outbox.enqueue(submission(n)).is_err() {
            continue; // no key yet (killed before the first refresh): nothing was saved
        }
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        out.write_all(format!("ENQ {hex}\n").as_bytes()).unwrap();
        out.flush().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn every_confirmed_submission_is_handed_over_exactly_once_despite_sigkill() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server_config: FitConnectServerConfig = server_config();
    server_config.decide_after_reads = 2;
    let server = runtime
        .block_on(FitConnectServer::start(server_config.clone()))
        .unwrap();
    server.set_faults(Faults {
        max_delay: Duration::from_millis(3),
        reset_after_commit: 0.05,
        reset_before_commit: 0.03,
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.sqlite");
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xf17c);
    let mut confirmed: HashMap<[u8; 32], uuid::Uuid> = HashMap::new();
    let started = Instant::now();
    for kill in 0..KILLS {
        assert!(
            started.elapsed() < KILL_PHASE_LIMIT,
            "only {kill} kills in {KILL_PHASE_LIMIT:?}"
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
                format!("{}|{}|{}", db.display(), server.base_url(), kill * 100_000),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stdout.read_to_string(&mut all);
            all
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..=120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for line in reader.join().unwrap().lines() {
            if let Some(hex) = line.strip_prefix("ENQ ")
                && hex.len() == 64
            {
                let mut hash = [0u8; 32];
                for (i, byte) in hash.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
                }
                confirmed.insert(hash, uuid::Uuid::nil());
            }
        }
    }
    assert!(
        confirmed.len() >= KILLS / 2,
        "too few confirmed enqueues: {}",
        confirmed.len()
    );
    let outbox = open(&db);
    server.set_faults(Faults::default());
    runtime.block_on(async {
        let t = transport(&outbox, &server, &server_config);
        drain(&outbox, t, fast_sync(), Duration::from_secs(60)).await
    });
    let status = outbox.status().unwrap();
    assert_eq!(status.undelivered(), 0, "{status:?}");
    assert_exactly_once(&server, &confirmed, KILLS as u64);
    assert_eq!(server.received().len() as u64, status.delivered);
    eprintln!(
        "fit-connect kill test: {KILLS} kills in {:?}, {} confirmed, {} handed over, {} orphaned announces",
        started.elapsed(),
        confirmed.len(),
        server.received().len(),
        server.unsubmitted()
    );
}
