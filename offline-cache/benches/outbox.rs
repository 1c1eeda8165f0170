//! Outbox benchmark: durable enqueue latency against a raw fsync of the same
//! disk (measured interleaved in the same run), and draining 10,000 queued
//! submissions to the loopback reference receiver.
//!
//! `cargo bench -p offline-cache --bench outbox` (set `BENCH_DIR` to measure
//! another disk; `BENCH_ENQUEUES` / `BENCH_BURST` / `BENCH_DRAIN` to change
//! the counts; `BENCH_PREPARED_KEYS=0` wraps every content key inline).
//! Figures are recorded in `docs/performance.md`.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use offline_cache::{
    HttpTransport, HttpTransportConfig, NewSubmission, Outbox, OutboxConfig, RecipientKey,
    ReferenceFormat, SyncConfig, SyncEngine,
};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, test_keys};
use zeroize::Zeroizing;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident set size and its peak, from /proc/self/status (KiB).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The pause after each enqueue in the citizen-pace run: far shorter than the
/// minutes between two citizens, but long enough for what the outbox does
/// between them (re-wrapping a content key, a checkpoint at a quiet moment).
const CITIZEN_PAUSE: Duration = Duration::from_millis(150);

/// `count` rounds of: append 1.5 KiB to `raw` and `fdatasync` it (the
/// physical floor) and one durable enqueue, then `pause`. The order
/// alternates, so both are first after the pause equally often (the first
/// write after an idle moment is the slowest). Returns both latencies, sorted.
fn interleaved(
    outbox: &Outbox,
    raw: &mut std::fs::File,
    count: usize,
    pause: Duration,
) -> (Vec<Duration>, Vec<Duration>) {
    let record = vec![0x42u8; 1500];
    let (mut fsync_times, mut enqueue_times) = (Vec::new(), Vec::new());
    for n in 0..count {
        let mut fsync = || {
            let started = Instant::now();
            raw.write_all(&record).expect("write");
            raw.sync_data().expect("fsync");
            fsync_times.push(started.elapsed());
        };
        let mut enqueue = || {
            let started = Instant::now();
            outbox.enqueue(submission(n)).expect("enqueue");
            enqueue_times.push(started.elapsed());
        };
        if n % 2 == 0 {
            fsync();
            enqueue();
        } else {
            enqueue();
            fsync();
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    fsync_times.sort();
    enqueue_times.sort();
    (fsync_times, enqueue_times)
}

/// Prints p50, p99, p99.9 and max of both, and the ratios.
fn report(label: &str, fsync_times: Vec<Duration>, enqueue_times: Vec<Duration>) {
    let line = |what: &str, times: &[Duration]| {
        println!(
            "  {what:<36} p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.99)),
            ms(percentile(times, 0.999)),
            ms(times[times.len() - 1]),
        );
    };
    println!("{label}, {} rounds:", enqueue_times.len());
    line("raw write+fdatasync (1.5 KiB append)", &fsync_times);
    line("durable enqueue (encrypt + commit)", &enqueue_times);
    println!(
        "  ratio enqueue/fsync: p50 {:.2}x  p99 {:.2}x  (target p99 <= 1.5x)",
        ms(percentile(&enqueue_times, 0.5)) / ms(percentile(&fsync_times, 0.5)),
        ms(percentile(&enqueue_times, 0.99)) / ms(percentile(&fsync_times, 0.99)),
    );
}

fn submission(n: usize) -> NewSubmission {
    // About the size of a real form: 1 KiB of answers.
    let filler = "x".repeat(900);
    NewSubmission {
        service_id: "dog-tax".into(),
        service_version: 1,
        payload: Zeroizing::new(
            format!(r#"{{"n":{n},"name":"Erika Mustermann","notes":"{filler}"}}"#).into_bytes(),
        ),
    }
}

fn config() -> OutboxConfig {
    let mut config = OutboxConfig::new(
        RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, None).expect("test key"),
        ReferenceFormat::new("GE", "K27").expect("format"),
    );
    // 0 measures enqueue as it was before keys were prepared ahead of time.
    config.prepared_content_keys = env_usize("BENCH_PREPARED_KEYS", config.prepared_content_keys);
    config
}

fn main() {
    let base = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    let enqueues = env_usize("BENCH_ENQUEUES", 1000);
    let burst = env_usize("BENCH_BURST", 200);
    let drain = env_usize("BENCH_DRAIN", 10_000);
    println!(
        "outbox benchmark in {} ({} enqueues at citizen pace, a burst of {}, drain of {})",
        base.display(),
        enqueues,
        burst,
        drain
    );

    // 1. Enqueue latency vs raw fsync, interleaved so both see the same disk.
    let outbox = Outbox::open(dir.path().join("latency.sqlite"), config()).expect("open");
    let mut raw = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("raw-fsync.bin"))
        .expect("raw file");

    // a) At a citizen's pace: a pause after each enqueue stands in for the
    //    minutes between two citizens, in which the outbox's background threads
    //    wrap a content key for the next one (one RSA operation) and, every
    //    200 commits, checkpoint the WAL.
    let (fsync_times, enqueue_times) = interleaved(&outbox, &mut raw, enqueues, CITIZEN_PAUSE);
    report(
        &format!("a) citizen pace ({} ms pause)", CITIZEN_PAUSE.as_millis()),
        fsync_times,
        enqueue_times,
    );

    // b) A burst without pauses: the prepared keys run out after a few, each
    //    enqueue wraps its key inline again, and with no quiet moment the
    //    writer checkpoints inside its commits.
    let (fsync_times, enqueue_times) = interleaved(&outbox, &mut raw, burst, Duration::ZERO);
    report("b) burst, no pause", fsync_times, enqueue_times);

    // The CPU part enqueue no longer does inline when a prepared key is ready
    // (RSA-OAEP wrap + AES-GCM; measured apart so it does not compete with the
    // background thread above).
    let recipient =
        RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, None).expect("test key");
    let mut encrypt_times: Vec<Duration> = (0..enqueues)
        .map(|n| {
            let payload = submission(n).payload;
            let started = Instant::now();
            recipient.encrypt(&payload).expect("encrypt");
            started.elapsed()
        })
        .collect();
    encrypt_times.sort();
    println!(
        "encryption with an inline RSA wrap:   p50 {:.3} ms  p99 {:.3} ms",
        ms(percentile(&encrypt_times, 0.5)),
        ms(percentile(&encrypt_times, 0.99))
    );
    drop(outbox);

    // 2. Drain 10,000 queued submissions to the loopback receiver.
    let outbox = Outbox::open(dir.path().join("drain.sqlite"), config()).expect("open");
    let filled = Instant::now();
    for n in 0..drain {
        outbox.enqueue(submission(n)).expect("enqueue");
    }
    println!(
        "filled {drain} submissions in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for check_content in [false, true] {
        if check_content {
            // Queue the same amount again for the run with decryption.
            for n in 0..drain {
                outbox.enqueue(submission(n)).expect("enqueue");
            }
        }
        let (rss_before, _) = memory_kib();
        let (elapsed, rss_min, rss_max, received) = runtime.block_on(async {
            let receiver = ReferenceReceiver::start(ReceiverConfig {
                check_content,
                ..ReceiverConfig::with_test_key()
            })
            .await
            .expect("receiver");
            let mut transport = HttpTransportConfig::new(receiver.base_url());
            transport.request_timeout = Duration::from_secs(30);
            let engine = SyncEngine::new(
                outbox.clone(),
                HttpTransport::new(transport).expect("transport"),
                SyncConfig {
                    concurrency: 16,
                    ..SyncConfig::default()
                },
            );
            let watcher = outbox.clone();
            let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sampled = std::sync::Arc::clone(&samples);
            let started = Instant::now();
            engine
                .run(async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        sampled.lock().expect("samples").push(memory_kib().0);
                        let status = watcher.status().expect("status");
                        if status.queued + status.sending == 0 {
                            break;
                        }
                    }
                })
                .await;
            let elapsed = started.elapsed();
            let samples = samples.lock().expect("samples").clone();
            let received = receiver.received_count();
            (
                elapsed,
                samples.iter().copied().min().unwrap_or(0),
                samples.iter().copied().max().unwrap_or(0),
                received,
            )
        });
        assert_eq!(received, drain, "the receiver did not get everything");
        println!(
            "drain {drain} to loopback receiver ({}): {:.2} s = {:.0} submissions/s; RSS before {} MiB, during {}..{} MiB, peak (VmHWM) {} MiB",
            if check_content {
                "receiver decrypts and checks each"
            } else {
                "receiver stores without decrypting"
            },
            elapsed.as_secs_f64(),
            drain as f64 / elapsed.as_secs_f64(),
            rss_before / 1024,
            rss_min / 1024,
            rss_max / 1024,
            memory_kib().1 / 1024,
        );
    }
}
