//! The real endpoint on 127.0.0.1 with real HTTP requests over TCP; `/metrics`
//! is parsed back with a strict reader of the text format 0.0.4.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use kiosk_ops::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

struct Running {
    addr: SocketAddr,
    metrics: Metrics,
    health: Health,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the server stops within the time-out")
            .unwrap();
    }
}

async fn start() -> Running {
    let metrics = Metrics::new(KioskId::new("K27").unwrap());
    let health = Health::new(HealthConfig::default());
    let config = OpsServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        allow_remote: false,
    };
    let server = OpsServer::bind(&config, metrics.clone(), health.clone())
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        metrics,
        health,
        stop: Some(stop),
        task,
    }
}

struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

async fn request(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> Reply {
    tokio::time::timeout(WAIT, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        parse_reply(&String::from_utf8(raw).unwrap())
    })
    .await
    .expect("the server answers within the time-out")
}

fn parse_reply(raw: &str) -> Reply {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("a complete HTTP response");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

#[derive(Debug)]
struct Family {
    kind: String,
    help: String,
    samples: BTreeMap<BTreeMap<String, String>, f64>,
}

/// A strict reader of the Prometheus text format 0.0.4: every family has HELP
/// then TYPE, samples carry the family's name, series are unique, names and
/// label names are valid, values are numbers.
fn parse_text_format(text: &str) -> BTreeMap<String, Family> {
    let valid_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut pending_help: Option<(String, String)> = None;
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(valid_name(name), "{line}");
            pending_help = Some((name.to_owned(), help.to_owned()));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "untyped", "histogram", "summary"].contains(&kind),
                "{line}: not a 0.0.4 type"
            );
            let (help_name, help) = pending_help.take().expect("HELP before TYPE");
            assert_eq!(help_name, name, "HELP and TYPE name the same family");
            assert!(!families.contains_key(name), "{name} declared twice");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} ends in _total");
            }
            families.insert(
                name.to_owned(),
                Family {
                    kind: kind.to_owned(),
                    help,
                    samples: BTreeMap::new(),
                },
            );
            current = Some(name.to_owned());
        } else if line.starts_with('#') {
            panic!("unexpected comment line {line:?}");
        } else {
            assert!(!line.is_empty(), "no blank lines");
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}: value"));
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
            };
            let family = current.as_deref().expect("TYPE before samples");
            assert_eq!(
                name, family,
                "sample {line} belongs to the family declared above it"
            );
            for label in labels.keys() {
                assert!(valid_name(label) && !label.starts_with("__"), "{line}");
            }
            let previous = families
                .get_mut(family)
                .unwrap()
                .samples
                .insert(labels, value);
            assert!(previous.is_none(), "duplicate series {line}");
        }
    }
    families
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("closed label value");
            match c {
                '\\' => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                other => value.push(other),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

fn value(families: &BTreeMap<String, Family>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let family = families
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"));
    let key: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    *family
        .samples
        .get(&key)
        .unwrap_or_else(|| panic!("{name}{labels:?} missing: {:?}", family.samples))
}

#[tokio::test]
async fn metrics_are_served_in_text_format_0_0_4_and_parse_back() {
    let server = start().await;
    let m = &server.metrics;
    m.set_queue_depth(3);
    m.set_dead_letters(1);
    m.set_oldest_undelivered(Some(SystemTime::now() - Duration::from_secs(90)));
    m.delivery_succeeded();
    m.delivery_succeeded();
    m.delivery_failed(FailureClass::Network);
    m.delivery_failed(FailureClass::Network);
    m.delivery_failed(FailureClass::Rejected);
    m.dead_lettered(FailureClass::Rejected);
    m.set_printer_state(PrinterState::PaperOut);
    m.set_reader_state(ReaderState::Present);
    for _ in 0..4 {
        m.journey_started();
    }
    m.journey_completed();
    m.journey_abandoned(AbandonReason::Timeout);
    m.journey_abandoned(AbandonReason::Timeout);
    m.journey_abandoned(AbandonReason::Cancel);
    m.staff_action(StaffAction::SyncNow);
    m.set_catalogue_version(CatalogueVersion::new("2026.11.24").unwrap());

    let reply = request(server.addr, "GET", "/metrics", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let families = parse_text_format(&reply.body);

    assert_eq!(value(&families, "kiosk_outbox_queue_depth", &[]), 3.0);
    assert_eq!(value(&families, "kiosk_outbox_dead_letters", &[]), 1.0);
    let age = value(
        &families,
        "kiosk_outbox_oldest_undelivered_age_seconds",
        &[],
    );
    assert!((90.0..3600.0).contains(&age), "{age}");
    assert_eq!(value(&families, "kiosk_deliveries_total", &[]), 2.0);
    assert_eq!(families["kiosk_deliveries_total"].kind, "counter");
    let failures = |class| {
        value(
            &families,
            "kiosk_delivery_failures_total",
            &[("class", class)],
        )
    };
    assert_eq!(failures("network"), 2.0);
    assert_eq!(failures("rejected"), 1.0);
    assert_eq!(failures("server"), 0.0);
    assert_eq!(failures("timeout"), 0.0);
    assert_eq!(failures("rate_limited"), 0.0);
    assert_eq!(families["kiosk_delivery_failures_total"].kind, "counter");
    assert_eq!(
        value(
            &families,
            "kiosk_dead_letters_total",
            &[("class", "rejected")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_dead_letters_total",
            &[("class", "network")]
        ),
        0.0
    );
    assert_eq!(families["kiosk_dead_letters_total"].kind, "counter");
    for state in PrinterState::ALL {
        let expected = if state == PrinterState::PaperOut {
            1.0
        } else {
            0.0
        };
        assert_eq!(
            value(
                &families,
                "kiosk_printer_state",
                &[("state", state.as_str())]
            ),
            expected
        );
    }
    assert_eq!(families["kiosk_printer_state"].kind, "gauge");
    assert_eq!(
        value(&families, "kiosk_reader_state", &[("state", "present")]),
        1.0
    );
    assert_eq!(
        value(&families, "kiosk_reader_state", &[("state", "absent")]),
        0.0
    );
    assert_eq!(value(&families, "kiosk_journeys_started_total", &[]), 4.0);
    assert_eq!(value(&families, "kiosk_journeys_completed_total", &[]), 1.0);
    assert_eq!(
        value(
            &families,
            "kiosk_journeys_abandoned_total",
            &[("reason", "timeout")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_journeys_abandoned_total",
            &[("reason", "cancel")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_staff_actions_total",
            &[("action", "sync_now")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_staff_actions_total",
            &[("action", "discard_dead_letter")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_info",
            &[("kiosk_id", "K27"), ("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(
        value(
            &families,
            "kiosk_catalogue_info",
            &[("version", "2026.11.24")]
        ),
        1.0
    );
    let started = value(&families, "kiosk_start_time_seconds", &[]);
    assert!(started > 1.7e9, "{started}");
    assert!(families.values().all(|f| !f.help.is_empty()));

    // A new catalogue replaces the old series instead of adding one.
    m.set_catalogue_version(CatalogueVersion::new("2026.12.01").unwrap());
    let families = parse_text_format(&request(server.addr, "GET", "/metrics", &[]).await.body);
    assert_eq!(families["kiosk_catalogue_info"].samples.len(), 1);
    assert_eq!(
        value(
            &families,
            "kiosk_catalogue_info",
            &[("version", "2026.12.01")]
        ),
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn label_values_only_come_from_closed_sets_and_configured_ids() {
    let server = start().await;
    let m = &server.metrics;
    // Every method that takes something, with every value it can take.
    for class in FailureClass::ALL {
        m.delivery_failed(class);
        m.dead_lettered(class);
    }
    for state in PrinterState::ALL {
        m.set_printer_state(state);
    }
    for state in ReaderState::ALL {
        m.set_reader_state(state);
    }
    for reason in AbandonReason::ALL {
        m.journey_abandoned(reason);
    }
    for action in StaffAction::ALL {
        m.staff_action(action);
    }
    m.set_catalogue_version(CatalogueVersion::new("2026.11.24").unwrap());
    let families = parse_text_format(&request(server.addr, "GET", "/metrics", &[]).await.body);

    let allowed: BTreeSet<&str> = FailureClass::ALL
        .iter()
        .map(|v| v.as_str())
        .chain(PrinterState::ALL.iter().map(|v| v.as_str()))
        .chain(ReaderState::ALL.iter().map(|v| v.as_str()))
        .chain(AbandonReason::ALL.iter().map(|v| v.as_str()))
        .chain(StaffAction::ALL.iter().map(|v| v.as_str()))
        .chain(["K27", env!("CARGO_PKG_VERSION"), "2026.11.24"])
        .collect();
    let mut seen = 0;
    for family in families.values() {
        for labels in family.samples.keys() {
            for value in labels.values() {
                assert!(
                    allowed.contains(value.as_str()),
                    "unexpected label value {value:?}"
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 25, "{seen}");
    server.stop().await;
}

#[tokio::test]
async fn prometheus_gets_openmetrics_when_it_asks_for_it() {
    let server = start().await;
    server.metrics.delivery_succeeded();
    // The Accept header Prometheus 2.x sends by default.
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let reply = request(server.addr, "GET", "/metrics", &[("Accept", accept)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(reply.body.ends_with("# EOF\n"));
    assert!(reply.body.contains("# TYPE kiosk_deliveries counter\n"));
    assert!(reply.body.contains("\nkiosk_deliveries_total 1\n"));

    let reply = request(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text;q=0, text/plain")],
    )
    .await;
    assert_eq!(
        reply.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    server.stop().await;
}

fn json(reply: &Reply) -> serde_json::Value {
    assert_eq!(reply.headers["content-type"], "application/json");
    serde_json::from_str(&reply.body).unwrap()
}

#[tokio::test]
async fn healthz_answers_ok_degraded_and_failing_with_the_right_status_codes() {
    let server = start().await;
    let health = &server.health;

    let reply = request(server.addr, "GET", "/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    let body = json(&reply);
    assert_eq!(body["status"], "degraded", "nothing reported yet: {body}");
    assert_eq!(body["checks"]["outbox"]["state"], "not_reported");

    health.set_outbox_writable(true);
    health.set_printer(PrinterState::Ready);
    health.set_reader(ReaderState::Present);
    health.record_sync_success();
    health.set_catalogue(CatalogueHealth::Current(
        CatalogueVersion::new("2026.11.24").unwrap(),
    ));
    let reply = request(server.addr, "GET", "/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    let body = json(&reply);
    assert_eq!(body["status"], "ok", "{body}");
    let checks = body["checks"].as_object().unwrap();
    let names: Vec<&str> = checks.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "catalogue",
            "outbox",
            "printer",
            "reader",
            "service",
            "sync"
        ]
    );
    assert_eq!(body["checks"]["catalogue"]["version"], "2026.11.24");
    let age = body["checks"]["sync"]["last_success_age_seconds"]
        .as_u64()
        .unwrap();
    assert!(age < 3600, "{age}");

    health.set_printer(PrinterState::PaperOut);
    health.set_last_sync_success(SystemTime::now() - Duration::from_secs(3 * 3600));
    let reply = request(server.addr, "GET", "/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    let body = json(&reply);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["printer"]["status"], "degraded");
    assert_eq!(body["checks"]["printer"]["state"], "paper_out");
    assert_eq!(body["checks"]["sync"]["state"], "stale");

    health.set_outbox_writable(false);
    let reply = request(server.addr, "GET", "/healthz", &[]).await;
    assert_eq!(reply.status, 503);
    let body = json(&reply);
    assert_eq!(body["status"], "failing");
    assert_eq!(body["checks"]["outbox"]["status"], "failing");
    assert_eq!(reply.headers["cache-control"], "no-store");

    health.set_outbox_writable(true);
    health.set_printer(PrinterState::Ready);
    health.record_sync_success();
    let reply = request(server.addr, "GET", "/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(json(&reply)["status"], "ok");
    server.stop().await;
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let server = start().await;
    for path in ["/", "/metrics/", "/health", "/favicon.ico"] {
        let reply = request(server.addr, "GET", path, &[]).await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.body.contains("GET /metrics"), "{}", reply.body);
    }
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        for path in ["/metrics", "/healthz"] {
            let reply = request(server.addr, method, path, &[("Content-Length", "0")]).await;
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.headers["allow"], "GET, HEAD");
        }
    }
    let reply = request(server.addr, "HEAD", "/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    let reply = request(server.addr, "GET", "/metrics?debug=1", &[]).await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_network_address_is_refused_unless_remote_access_is_allowed() {
    let metrics = Metrics::new(KioskId::new("K27").unwrap());
    let health = Health::default();
    let config = OpsServerConfig {
        listen: "0.0.0.0:9464".parse().unwrap(),
        allow_remote: false,
    };
    let error = OpsServer::bind(&config, metrics.clone(), health.clone())
        .await
        .unwrap_err();
    assert!(matches!(error, OpsServerError::NotLoopback(_)));
    let message = error.to_string();
    assert!(message.contains("0.0.0.0:9464"), "{message}");
    assert!(message.contains("allow_remote = true"), "{message}");

    // With allow_remote the loopback check passes and the bind itself is tried.
    // 192.0.2.1 (TEST-NET-1) is not on this machine, so nothing listens on a network.
    let config = OpsServerConfig {
        listen: "192.0.2.1:9464".parse().unwrap(),
        allow_remote: true,
    };
    // (Only a machine with net.ipv4.ip_nonlocal_bind=1 would bind it; that passes too.)
    match OpsServer::bind(&config, metrics, health).await {
        Err(error @ OpsServerError::Bind { .. }) => {
            assert!(error.to_string().contains("192.0.2.1:9464"), "{error}");
        }
        Err(error) => panic!("refused for the wrong reason: {error}"),
        Ok(server) => drop(server),
    }

    let default = OpsServerConfig::default();
    assert_eq!(default.listen.to_string(), "127.0.0.1:9464");
    assert!(!default.allow_remote);
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_and_stops_listening() {
    let server = start().await;
    let addr = server.addr;
    // A keep-alive connection that stays open after its first request.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

    server.stop().await;
    // The server closed the idle connection rather than waiting for it.
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
