//! Degraded modes on real parts (SQLite file, virtual printer and reference
//! receiver on 127.0.0.1, `/metrics` and `/healthz` over HTTP): what a citizen
//! and staff get when a part of the kiosk is missing or broken.

use std::time::Duration;

mod common;

use common::{closed_port, http_get, test_config};

use kiosk_app::kiosk::{Happened, Kiosk};
use kiosk_app::run::{CatalogueSource, Station, current_catalogue};
use kiosk_catalogue::{IdentityMethod, Language};
use kiosk_journey::{Event, IdentifyChoice, Step};
use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
use offline_cache::{HttpTransport, HttpTransportConfig};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_reader_citizens_type_it_in() {
    let dir = tempfile::tempdir().unwrap();
    let printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    let config = test_config(
        dir.path(),
        Some(&printer.addr().to_string()),
        &closed_port(),
        "",
    );
    let transport =
        HttpTransport::new(HttpTransportConfig::new(config.portal.url.clone())).unwrap();
    let station = Station::start_with(&config, transport).await.unwrap();
    let performer = station.performer(None);
    let mut kiosk = Kiosk::new(station.catalogue.clone(), station.journey_config, performer);
    kiosk.dispatch(Event::Start).await;
    kiosk
        .dispatch(Event::ChooseLanguage(Language::german()))
        .await;
    kiosk.dispatch(Event::ChooseService("dog-tax".into())).await;
    // A passport route without a reader is refused, typing in works.
    kiosk
        .dispatch(Event::ChooseIdentification(IdentifyChoice::Method(
            IdentityMethod::Passport,
        )))
        .await;
    assert!(
        !matches!(kiosk.journey().step(), Step::Form { .. }),
        "no passport read without a reader: {:?}",
        kiosk.journey().step()
    );
    kiosk.dispatch(Event::Cancel).await;
    let happened = common::submit(&mut kiosk, "dog-tax").await;
    assert!(
        happened.iter().any(|h| matches!(h, Happened::Saved { .. })),
        "{happened:?}"
    );
    assert!(
        happened.iter().any(|h| matches!(h, Happened::Printed)),
        "{happened:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_out_shows_the_qr_code_and_alerts_staff_through_metrics_and_health() {
    let dir = tempfile::tempdir().unwrap();
    let printer = VirtualPrinter::start(VirtualState::PaperOut).await.unwrap();
    let config = test_config(
        dir.path(),
        Some(&printer.addr().to_string()),
        &closed_port(),
        "",
    );
    let transport =
        HttpTransport::new(HttpTransportConfig::new(config.portal.url.clone())).unwrap();
    let station = Station::start_with(&config, transport).await.unwrap();
    let ops_address = station.ops_address();
    let performer = station.performer(None);
    let mut kiosk = Kiosk::new(station.catalogue.clone(), station.journey_config, performer);
    let happened = common::submit(&mut kiosk, "lost-property").await;
    assert!(
        happened
            .iter()
            .any(|h| matches!(h, Happened::NotPrinted(_))),
        "{happened:?}"
    );
    assert!(
        matches!(kiosk.journey().step(), Step::Receipt(_)),
        "the receipt screen shows the QR code instead"
    );
    // The printer service publishes what the job found; the ops tasks pick it up.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = http_get(ops_address, "/metrics");
        if metrics.contains("paper_out")
            && metrics
                .lines()
                .any(|l| l.contains("paper_out") && l.trim_end().ends_with(" 1"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("paper_out") && l.trim_end().ends_with(" 1")),
        "{metrics}"
    );
    let health = http_get(ops_address, "/healthz");
    assert!(
        health.contains("paper_out") || health.contains("paper-out"),
        "{health}"
    );
    assert!(
        !health.starts_with("HTTP/1.1 200") || health.contains("degraded"),
        "{health}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_catalogue_server_down_the_last_good_catalogue_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let signing_key = [7u8; 32];
    let publisher = offline_cache::publisher_public_key(&signing_key);
    let publisher_hex: String = publisher.iter().map(|b| format!("{b:02x}")).collect();
    let files: Vec<(String, String)> = kiosk_catalogue::Catalogue::embedded_default_files()
        .into_iter()
        .map(|(name, text)| {
            if name == "catalogue.toml" {
                let version_line = text
                    .lines()
                    .find(|l| l.trim_start().starts_with("version"))
                    .unwrap()
                    .to_owned();
                (
                    name,
                    text.replace(&version_line, "version = \"2099.01.01\""),
                )
            } else {
                (name, text)
            }
        })
        .collect();
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    receiver.set_catalogue(offline_cache::sign_bundle(&files, 1, &signing_key), "\"1\"");
    let updates = format!(
        "\n[services]\ncatalogue_url = \"{}/v1/catalogue\"\ncatalogue_publisher_key = \"{publisher_hex}\"\n",
        receiver.base_url()
    );
    let config = test_config(dir.path(), Some(&closed_port()), &closed_port(), &updates);
    std::fs::create_dir_all(&config.kiosk.data_dir).unwrap();
    let outbox = offline_cache::Outbox::open(
        config.outbox_path(),
        kiosk_app::setup::outbox_config(&config).unwrap(),
    )
    .unwrap();
    let (catalogue, source) = current_catalogue(&config, &outbox).await.unwrap();
    assert_eq!(source, CatalogueSource::Fetched);
    assert_eq!(catalogue.version, "2099.01.01");

    receiver.shutdown().await;
    let (catalogue, source) = current_catalogue(&config, &outbox).await.unwrap();
    assert_eq!(source, CatalogueSource::LastGood);
    assert_eq!(
        catalogue.version, "2099.01.01",
        "the last good catalogue, not the built-in one"
    );
}
