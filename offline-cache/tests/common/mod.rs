//! Shared helpers for the integration tests (real SQLite files, real receiver on 127.0.0.1).

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use offline_cache::{
    HttpTransport, HttpTransportConfig, NewSubmission, Outbox, OutboxConfig, RecipientKey,
    ReferenceFormat, SyncConfig, SyncEngine, SyncSummary, Transport,
};
use offline_cache_receiver::test_keys;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub fn config() -> OutboxConfig {
    OutboxConfig::new(
        RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, Some("test-key-1".into()))
            .expect("test key"),
        ReferenceFormat::new("GE", "K27").expect("format"),
    )
}

pub fn open(path: &Path) -> Outbox {
    Outbox::open(path, config()).expect("open outbox")
}

/// A JSON payload with a personal-looking marker that must never leak.
pub fn payload(n: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        format!(r#"{{"name":"Erika Mustermann-{n}","birth_date":"1964-08-12","dog":"Bello"}}"#)
            .into_bytes(),
    )
}

pub const MARKER: &str = "Erika Mustermann";

pub fn submission(service: &str, n: usize) -> NewSubmission {
    NewSubmission {
        service_id: service.into(),
        service_version: 1,
        payload: payload(n),
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Fast back-off for tests against the real receiver.
pub fn fast_sync() -> SyncConfig {
    SyncConfig {
        concurrency: 4,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(2),
    }
}

pub fn http(base_url: &str) -> HttpTransport {
    let mut config = HttpTransportConfig::new(base_url);
    config.request_timeout = Duration::from_secs(5);
    HttpTransport::new(config).expect("transport")
}

/// Runs the engine until `done` says so (checked every 10 ms) or `limit` passes.
pub async fn run_until<T: Transport>(
    outbox: &Outbox,
    transport: T,
    sync: SyncConfig,
    limit: Duration,
    mut done: impl FnMut() -> bool + Send + 'static,
) -> SyncSummary {
    let engine = SyncEngine::new(outbox.clone(), transport, sync);
    let deadline = tokio::time::Instant::now() + limit;
    let stop = async move {
        while !done() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    engine.run(stop).await
}

pub fn until_empty(outbox: &Outbox) -> impl FnMut() -> bool + Send + 'static {
    let outbox = outbox.clone();
    move || {
        outbox
            .status()
            .map(|s| s.queued + s.sending == 0)
            .unwrap_or(false)
    }
}

pub async fn with_timeout<F: Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .expect("test step took too long")
}

/// Every byte of the database and its WAL/SHM files.
pub fn raw_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            all.extend(std::fs::read(&path).expect("read"));
        }
    }
    all
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
