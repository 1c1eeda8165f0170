//! Shared set-up: a real SQLite outbox, the loopback FIT-Connect on 127.0.0.1,
//! and the transport configured against it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use kiosk_fit_connect::{FitConnectConfig, FitConnectRoute, FitConnectTransport};
use offline_cache::{
    NewSubmission, Outbox, OutboxConfig, RecipientKey, ReferenceFormat, SyncConfig, SyncEngine,
    SyncSummary,
};
use offline_cache_receiver::fit_connect::{
    FitConnectServer, FitConnectServerConfig, OfferedService,
};
use offline_cache_receiver::test_keys;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const LEIKA: &str = "urn:de:fim:leika:leistung:99108008000000";
pub const SCHEMA: &str = "https://schema.example.org/dog-tax/1.0.0/schema.json";
pub const REGION: &str = "DE05513000";
pub const MARKER: &str = "Erika Mustermann";

pub fn offered() -> Vec<OfferedService> {
    vec![OfferedService {
        identifier: LEIKA.into(),
        name: "Hundesteuer Anmeldung".into(),
        submission_schema_uri: SCHEMA.into(),
        regions: vec![REGION.into()],
    }]
}

pub fn server_config() -> FitConnectServerConfig {
    FitConnectServerConfig::new(offered())
}

pub fn route(server: &FitConnectServerConfig) -> FitConnectRoute {
    FitConnectRoute {
        destination_id: server.destination_id,
        leika_key: LEIKA.into(),
        service_name: "Hundesteuer Anmeldung".into(),
        region: Some(REGION.into()),
        submission_schema_uri: SCHEMA.into(),
    }
}

pub fn open(path: &Path) -> Outbox {
    let config = OutboxConfig::new(
        RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, Some("default".into()))
            .expect("test key"),
        ReferenceFormat::new("GE", "K27").expect("format"),
    );
    Outbox::open(path, config).expect("open outbox")
}

pub fn config(
    server: &FitConnectServer,
    server_config: &FitConnectServerConfig,
) -> FitConnectConfig {
    let mut config = FitConnectConfig::new(
        server.base_url(),
        server.token_url(),
        server_config.client_id.clone(),
        server_config.client_secret.clone().into(),
        test_keys::fit_connect::ROOT_PEM,
    );
    config.request_timeout = Duration::from_secs(5);
    config.poll_interval_min = Duration::from_millis(5);
    config.poll_interval_max = Duration::from_millis(50);
    config.routes = HashMap::from([("dog-tax".to_owned(), route(server_config))]);
    config
}

pub fn transport(
    outbox: &Outbox,
    server: &FitConnectServer,
    server_config: &FitConnectServerConfig,
) -> FitConnectTransport {
    FitConnectTransport::new(config(server, server_config), outbox.clone()).expect("transport")
}

pub fn payload(n: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        format!(r#"{{"name":"{MARKER}-{n}","birth_date":"1964-08-12","dog":"Bello"}}"#)
            .into_bytes(),
    )
}

pub fn submission(n: usize) -> NewSubmission {
    NewSubmission {
        service_id: "dog-tax".into(),
        service_version: 1,
        payload: payload(n),
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn fast_sync() -> SyncConfig {
    SyncConfig {
        concurrency: 4,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(2),
    }
}

/// Runs the engine until nothing is left to send or wait for, or `limit` passes.
pub async fn drain(
    outbox: &Outbox,
    transport: FitConnectTransport,
    sync: SyncConfig,
    limit: Duration,
) -> SyncSummary {
    let engine = SyncEngine::new(outbox.clone(), transport, sync);
    let deadline = tokio::time::Instant::now() + limit;
    let watched = outbox.clone();
    engine
        .run(async move {
            while tokio::time::Instant::now() < deadline {
                let done = watched
                    .status()
                    .map(|s| s.queued + s.sending + s.awaiting_acceptance == 0)
                    .unwrap_or(false);
                if done {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
}
