//! `/metrics` tells what the sync engine went through: a citizen's application
//! is saved while the portal (the reference receiver on 127.0.0.1) is down,
//! the failed attempts show up as `network` failures, and the delivery once
//! the portal is up. Journeys are counted when they start and end. No label
//! carries anything the citizen typed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

mod common;

use kiosk_app::kiosk::{Happened, Kiosk};
use kiosk_app::run::Station;
use kiosk_journey::{Event, SessionOutcome};
use kiosk_ops::{AbandonReason, FailureClass, PrinterState, ReaderState, StaffAction};
use offline_cache::{HttpTransport, HttpTransportConfig};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver};

/// An address on 127.0.0.1 where nothing listens (until the test starts the portal there).
fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// GET `/metrics` on the ops endpoint; the body.
fn scrape(address: SocketAddr) -> String {
    let answer = common::http_get(address, "/metrics");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample written exactly as `series` (name and labels).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

/// Scrapes until `ready` holds (every 50 ms, at most 400 times); the last scrape.
async fn scrape_until(address: SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let mut metrics = scrape(address);
    for _ in 0..400 {
        if ready(&metrics) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        metrics = scrape(address);
    }
    metrics
}

const NETWORK_FAILURES: &str = r#"kiosk_delivery_failures_total{class="network"}"#;
const DELIVERIES: &str = "kiosk_deliveries_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_network_failures_while_the_portal_is_down_and_the_delivery_after() {
    let dir = tempfile::tempdir().unwrap();
    let portal = free_address();
    let config = common::test_config(dir.path(), None, &portal.to_string(), "");
    let transport =
        HttpTransport::new(HttpTransportConfig::new(config.portal.url.clone())).unwrap();
    let station = Station::start_with(&config, transport).await.unwrap();
    let ops_address = station.ops_address();
    let before = scrape(ops_address);
    assert_eq!(sample(&before, NETWORK_FAILURES), 0.0);
    assert_eq!(sample(&before, DELIVERIES), 0.0);

    // A citizen saves an application while the portal is down. The window
    // hands everything that happened to `Operations::observe`; here the test does.
    let performer = station.performer(None);
    let mut kiosk = Kiosk::new(station.catalogue.clone(), station.journey_config, performer);
    // The touch on the attract screen starts the session (`submit` touches
    // again, which the language screen ignores).
    let mut happened = kiosk.dispatch(Event::Start).await;
    assert!(
        happened
            .iter()
            .any(|h| matches!(h, Happened::SessionStarted)),
        "{happened:?}"
    );
    happened.extend(common::submit(&mut kiosk, "dog-tax").await);
    assert!(
        happened.iter().any(|h| matches!(
            h,
            Happened::Saved {
                queued_offline: true,
                ..
            }
        )),
        "{happened:?}"
    );
    for _ in 0..3 {
        if happened
            .iter()
            .any(|h| matches!(h, Happened::SessionEnded(_)))
        {
            break;
        }
        happened.extend(kiosk.dispatch(Event::Finish).await);
    }
    for h in &happened {
        station.ops.observe(h);
    }
    assert!(
        happened
            .iter()
            .any(|h| matches!(h, Happened::SessionEnded(SessionOutcome::Completed))),
        "{happened:?}"
    );

    let down = scrape_until(ops_address, |m| sample(m, NETWORK_FAILURES) >= 1.0).await;
    assert!(sample(&down, NETWORK_FAILURES) >= 1.0, "{down}");
    assert_eq!(sample(&down, DELIVERIES), 0.0, "{down}");
    assert_eq!(
        sample(&down, r#"kiosk_dead_letters_total{class="network"}"#),
        0.0,
        "an unreachable portal never makes a dead letter"
    );
    assert_eq!(sample(&down, "kiosk_journeys_started_total"), 1.0);
    assert_eq!(sample(&down, "kiosk_journeys_completed_total"), 1.0);
    assert_eq!(
        sample(&down, r#"kiosk_journeys_abandoned_total{reason="cancel"}"#),
        0.0
    );

    // The portal comes up where the kiosk expects it; staff press "sync now"
    // rather than wait out the back-off.
    let receiver = ReferenceReceiver::start(ReceiverConfig {
        bind: portal,
        ..ReceiverConfig::with_test_key()
    })
    .await
    .unwrap();
    station.outbox.sync_now();
    let up = scrape_until(ops_address, |m| sample(m, DELIVERIES) >= 1.0).await;
    assert_eq!(sample(&up, DELIVERIES), 1.0, "{up}");
    assert_eq!(receiver.received_count(), 1);
    let failures = sample(&up, NETWORK_FAILURES);
    assert!(failures >= sample(&down, NETWORK_FAILURES), "{up}");

    // Labels hold only closed sets and configured ids, never the answers.
    let allowed: BTreeSet<String> = FailureClass::ALL
        .iter()
        .map(|v| v.as_str())
        .chain(PrinterState::ALL.iter().map(|v| v.as_str()))
        .chain(ReaderState::ALL.iter().map(|v| v.as_str()))
        .chain(AbandonReason::ALL.iter().map(|v| v.as_str()))
        .chain(StaffAction::ALL.iter().map(|v| v.as_str()))
        .chain(["K27", env!("CARGO_PKG_VERSION"), &station.catalogue.version])
        .map(str::to_owned)
        .collect();
    let mut labelled = 0;
    for line in up.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, labels)) = line.split_once('{') else {
            continue;
        };
        for value in labels.split('"').skip(1).step_by(2) {
            assert!(allowed.contains(value), "label value {value:?} in {line}");
            labelled += 1;
        }
    }
    assert!(labelled > 20, "{up}");
}
