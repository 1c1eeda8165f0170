//! The catalogue cache against the reference receiver's `GET /v1/catalogue`.

mod common;

use std::time::Duration;

use common::*;
use kiosk_catalogue::Catalogue;
use offline_cache::{
    CatalogueCache, CatalogueCacheConfig, CatalogueError, FetchOutcome, publisher_public_key,
    sign_bundle,
};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver};

const PUBLISHER: [u8; 32] = [7; 32];
const STRANGER: [u8; 32] = [9; 32];

fn new_cache(outbox: &offline_cache::Outbox, url: String) -> CatalogueCache {
    CatalogueCache::new(
        outbox,
        CatalogueCacheConfig {
            url,
            publisher_key: publisher_public_key(&PUBLISHER),
            request_timeout: Duration::from_secs(5),
        },
    )
    .unwrap()
}

fn files_with_version(version: &str) -> Vec<(String, String)> {
    let mut files = Catalogue::embedded_default_files();
    let index = files
        .iter_mut()
        .find(|(name, _)| name == "catalogue.toml")
        .unwrap();
    let original = Catalogue::embedded_default().version;
    index.1 = index
        .1
        .replacen(&format!("\"{original}\""), &format!("\"{version}\""), 1);
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_verifies_stores_and_keeps_the_last_good_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let outbox = open(&path);
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let cache = new_cache(&outbox, format!("{}/v1/catalogue", receiver.base_url()));
    assert!(cache.current().unwrap().is_none());

    // Nothing published yet: a clear error, nothing stored.
    let err = cache.refresh().await.unwrap_err();
    assert!(
        matches!(err, CatalogueError::Fetch(_)) && err.to_string().contains("404"),
        "{err}"
    );

    receiver.set_catalogue(
        sign_bundle(&files_with_version("2026.11.1"), 1, &PUBLISHER),
        "\"v1\"",
    );
    assert_eq!(
        cache.refresh().await.unwrap(),
        FetchOutcome::Updated {
            sequence: 1,
            version: "2026.11.1".into()
        }
    );
    assert_eq!(
        cache.refresh().await.unwrap(),
        FetchOutcome::Unchanged,
        "ETag not used"
    );
    let current = cache.current().unwrap().unwrap();
    assert_eq!(current.version, "2026.11.1");
    assert!(current.service("dog-tax").is_some());

    // Signed by someone else: rejected, the last good one stays.
    receiver.set_catalogue(
        sign_bundle(&files_with_version("2026.11.2"), 2, &STRANGER),
        "\"v2\"",
    );
    assert_eq!(
        cache.refresh().await.unwrap_err(),
        CatalogueError::BadSignature
    );
    assert_eq!(cache.current().unwrap().unwrap().version, "2026.11.1");

    // Tampered after signing: rejected.
    let mut tampered: serde_json::Value = serde_json::from_slice(&sign_bundle(
        &files_with_version("2026.11.3"),
        3,
        &PUBLISHER,
    ))
    .unwrap();
    let other = sign_bundle(&files_with_version("2026.11.4"), 3, &PUBLISHER);
    tampered["payload"] =
        serde_json::from_slice::<serde_json::Value>(&other).unwrap()["payload"].clone();
    receiver.set_catalogue(tampered.to_string().into_bytes(), "\"v3\"");
    assert_eq!(
        cache.refresh().await.unwrap_err(),
        CatalogueError::BadSignature
    );

    // Properly signed but an invalid catalogue: rejected with the catalogue's own message.
    let mut broken = files_with_version("2026.11.5");
    broken.retain(|(name, _)| name != "catalogue.toml");
    receiver.set_catalogue(sign_bundle(&broken, 5, &PUBLISHER), "\"v5\"");
    let err = cache.refresh().await.unwrap_err();
    assert!(
        matches!(&err, CatalogueError::Invalid(m) if m.contains("catalogue.toml")),
        "{err}"
    );

    // Not JSON at all.
    receiver.set_catalogue(b"<html>proxy error</html>".to_vec(), "\"v6\"");
    assert!(matches!(
        cache.refresh().await.unwrap_err(),
        CatalogueError::Malformed(_)
    ));

    // An older signed bundle (a replay) is refused.
    receiver.set_catalogue(
        sign_bundle(&files_with_version("2026.10.9"), 0, &PUBLISHER),
        "\"v0\"",
    );
    assert_eq!(
        cache.refresh().await.unwrap_err(),
        CatalogueError::Rollback {
            offered: 0,
            stored: 1
        }
    );

    // A newer good one replaces it, and survives a restart.
    receiver.set_catalogue(
        sign_bundle(&files_with_version("2026.12.1"), 7, &PUBLISHER),
        "\"v7\"",
    );
    assert!(matches!(
        cache.refresh().await.unwrap(),
        FetchOutcome::Updated { sequence: 7, .. }
    ));
    drop(cache);
    drop(outbox);
    let outbox = open(&path);
    let cache = new_cache(&outbox, format!("{}/v1/catalogue", receiver.base_url()));
    let status = cache.status().unwrap().unwrap();
    assert_eq!((status.sequence, status.version.as_str()), (7, "2026.12.1"));

    // Tampering with the stored copy is caught on load.
    drop(cache);
    drop(outbox);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let bundle: Vec<u8> = conn
        .query_row("SELECT bundle FROM catalogue_cache", [], |r| r.get(0))
        .unwrap();
    let mut envelope: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    envelope["signature"] = serde_json::from_slice::<serde_json::Value>(&sign_bundle(
        &files_with_version("2026.12.1"),
        7,
        &STRANGER,
    ))
    .unwrap()["signature"]
        .clone();
    conn.execute(
        "UPDATE catalogue_cache SET bundle = ?1",
        [envelope.to_string().into_bytes()],
    )
    .unwrap();
    drop(conn);
    let outbox = open(&path);
    let cache = new_cache(&outbox, format!("{}/v1/catalogue", receiver.base_url()));
    assert_eq!(cache.current().unwrap_err(), CatalogueError::BadSignature);
    // ...and does not block its replacement.
    receiver.set_catalogue(
        sign_bundle(&files_with_version("2026.12.2"), 8, &PUBLISHER),
        "\"v8\"",
    );
    assert!(matches!(
        cache.refresh().await.unwrap(),
        FetchOutcome::Updated { sequence: 8, .. }
    ));
    assert_eq!(cache.current().unwrap().unwrap().version, "2026.12.2");
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir.path().join("outbox.sqlite"));
    // Port 9 (discard) is closed on the test machine's loopback.
    let cache = new_cache(&outbox, "http://127.0.0.1:9/v1/catalogue".into());
    let err = cache.refresh().await.unwrap_err();
    assert!(matches!(err, CatalogueError::Fetch(_)), "{err:?}");
    assert!(
        err.to_string().contains("last good catalogue stays in use"),
        "{err}"
    );
}
