//! Personal data never reaches logs, errors, `last_error` or `Debug` output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use offline_cache_receiver::{Fault, ReceiverConfig, ReferenceReceiver};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cycle_logs_no_personal_data() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        rejected_services: vec!["unknown-service".into()],
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    receiver.push_faults([Fault::Status500, Fault::ResetAfterCommit]);
    let good = outbox.enqueue(submission("dog-tax", 1)).unwrap();
    outbox.enqueue(submission("dog-tax", 2)).unwrap();
    let refused = outbox.enqueue(submission("unknown-service", 3)).unwrap();
    let check = outbox.clone();
    run_until(
        &outbox,
        http(&receiver.base_url()),
        fast_sync(),
        Duration::from_secs(30),
        move || {
            check
                .status()
                .map(|s| s.delivered == 2 && s.dead_letters == 1)
                .unwrap_or(false)
        },
    )
    .await;

    let mut everything = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    everything.push_str(&format!(
        "{:?}{:?}{:?}{:?}{good:?}{refused:?}{outbox:?}",
        outbox.status().unwrap(),
        outbox.dead_letters().unwrap(),
        outbox.alerts().unwrap(),
        submission("dog-tax", 4),
    ));
    // The cycle did log (ids, references, reasons) ...
    assert!(everything.contains("submission saved"), "{everything}");
    assert!(everything.contains(&good.id.to_string()));
    assert!(
        everything.contains("moved to the dead letters"),
        "{everything}"
    );
    // ... and never the answers, although the server echoed them in its 422 body.
    for personal in [MARKER, "1964-08-12", "Bello"] {
        assert!(
            !everything.contains(personal),
            "'{personal}' leaked:\n{everything}"
        );
    }
    assert!(receiver.received().iter().any(|r| {
        r.plaintext
            .windows(MARKER.len())
            .any(|w| w == MARKER.as_bytes())
    }));
}
