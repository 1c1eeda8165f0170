//! The kiosk as configured in `kiosk.toml` delivers a routed service through
//! FIT-Connect: the loopback FIT-Connect on 127.0.0.1 (which checks every
//! request against the API subset, decrypts with the destination's key and
//! verifies the metadata hashes) receives it exactly once and accepts it;
//! an unrouted service still goes to the portal.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

mod common;

use kiosk_app::kiosk::Kiosk;
use kiosk_app::run::Station;
use kiosk_config::KioskConfig;
use kiosk_journey::Event;
use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
use offline_cache_receiver::fit_connect::{
    FitConnectServer, FitConnectServerConfig, OfferedService,
};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, test_keys};

const LEIKA: &str = "urn:de:fim:leika:leistung:99108008000000";
const SCHEMA: &str = "https://schema.example.org/dog-tax/1.0.0/schema.json";
const REGION: &str = "DE05513000";

async fn submit(kiosk: &mut Kiosk, service: &str) -> String {
    let happened = common::submit(kiosk, service).await;
    kiosk.dispatch(Event::Finish).await;
    kiosk.dispatch(Event::Finish).await;
    common::saved_reference(&happened).unwrap_or_else(|| panic!("{service} was not saved"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_service_goes_through_fit_connect_and_the_rest_to_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let server_config = FitConnectServerConfig::new(vec![OfferedService {
        identifier: LEIKA.into(),
        name: "Hundesteuer Anmeldung".into(),
        submission_schema_uri: SCHEMA.into(),
        regions: vec![REGION.into()],
    }]);
    let fit = FitConnectServer::start(server_config.clone())
        .await
        .unwrap();
    let portal = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();

    let secret = dir.path().join("fit-connect-secret");
    std::fs::write(&secret, &server_config.client_secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        dir.path().join("root.pem"),
        test_keys::fit_connect::ROOT_PEM,
    )
    .unwrap();
    std::fs::write(dir.path().join("recipient.pem"), test_keys::PUBLIC_KEY_PEM).unwrap();
    let config = KioskConfig::parse(
        &format!(
            r#"
[kiosk]
id = "K27"
town_prefix = "GE"
data_dir = "{dir}/data"

[reader]
enabled = false

[printer]
connection = "tcp://{printer}"

[portal]
url = "{portal}"
recipient_key = "{dir}/recipient.pem"

[fit_connect]
submission_api_url = "{fit}"
token_url = "{token}"
client_id = "{client}"
client_secret_file = "{dir}/fit-connect-secret"
key_roots = "{dir}/root.pem"
poll_interval_min_seconds = 1
poll_interval_max_seconds = 2

[routing.dog-tax]
destination_id = "{destination}"
leika_key = "{LEIKA}"
service_name = "Hundesteuer Anmeldung"
region = "{REGION}"
submission_schema_uri = "{SCHEMA}"

[eid]
# This test is not about eID: no AusweisApp is started.
enabled = false

[metrics]
listen = "127.0.0.1:0"
"#,
            dir = dir.path().display(),
            printer = printer.addr(),
            portal = portal.base_url(),
            fit = fit.base_url(),
            token = fit.token_url(),
            client = server_config.client_id,
            destination = server_config.destination_id,
        ),
        "test configuration",
    )
    .unwrap();
    kiosk_app::setup::check(&config).expect("config check passes");

    let station = Station::start(&config).await.unwrap();
    let outbox = station.outbox.clone();
    let mut kiosk = Kiosk::new(
        station.catalogue.clone(),
        station.journey_config,
        station.performer(None),
    );
    // The destination's key is fetched at start; until then a routed
    // application cannot be sealed (bounded wait).
    let key_name = format!("fit-connect:{}", server_config.destination_id);
    for _ in 0..200 {
        if matches!(outbox.cached_recipient_key(&key_name), Ok(Some(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let routed = submit(&mut kiosk, "dog-tax").await;
    let unrouted = submit(&mut kiosk, "lost-property").await;
    outbox.sync_now();

    let mut delivered = 0;
    for _ in 0..400 {
        let status = outbox.status().unwrap();
        delivered = status.delivered;
        if delivered == 2 && status.undelivered() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outbox.sync_now();
    }
    assert_eq!(delivered, 2, "{:?}", outbox.status());
    let received = fit.received();
    assert_eq!(received.len(), 1, "exactly once through FIT-Connect");
    assert_eq!(received[0].leika_key, LEIKA);
    assert!(fit.violations().is_empty(), "{:?}", fit.violations());
    assert_eq!(fit.stats().accepted, 1);
    let portal_got = portal.received();
    assert_eq!(
        portal_got.len(),
        1,
        "the unrouted service went to the portal"
    );
    assert_eq!(portal_got[0].reference, unrouted);
    assert_ne!(routed, unrouted);
    portal.shutdown().await;
}
