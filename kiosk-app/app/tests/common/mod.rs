//! Shared by the test binaries of the kiosk app.

#![allow(dead_code)]

use kiosk_app::kiosk::{Happened, Kiosk};
use kiosk_catalogue::Language;
use kiosk_journey::{Event, IdentifyChoice, Step};

/// A German citizen types everything in for `service`, ticks every consent
/// and submits; what the kiosk did on submitting.
pub async fn submit(kiosk: &mut Kiosk, service: &str) -> Vec<Happened> {
    kiosk.dispatch(Event::Start).await;
    kiosk
        .dispatch(Event::ChooseLanguage(Language::german()))
        .await;
    kiosk.dispatch(Event::ChooseService(service.into())).await;
    if matches!(kiosk.journey().step(), Step::Identify(_)) {
        kiosk
            .dispatch(Event::ChooseIdentification(IdentifyChoice::TypeItIn))
            .await;
    }
    let definition = kiosk.journey().service().expect("a service").clone();
    for _ in 0..definition.pages.len() {
        if !matches!(kiosk.journey().step(), Step::Form { .. }) {
            break;
        }
        kiosk.answer_page_with_samples(&[]).await;
        kiosk.dispatch(Event::Next).await;
    }
    kiosk.dispatch(Event::Next).await;
    for consent in &definition.consents {
        kiosk
            .dispatch(Event::SetConsent {
                id: consent.id.clone(),
                given: true,
            })
            .await;
    }
    kiosk.dispatch(Event::Next).await
}

/// The reference of the saved application among `happened`.
pub fn saved_reference(happened: &[Happened]) -> Option<String> {
    happened.iter().find_map(|h| match h {
        Happened::Saved { reference, .. } => Some(reference.clone()),
        _ => None,
    })
}

/// Captures every log line of the test process (installed once per test binary).
#[derive(Clone, Default)]
pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    /// Routes every `tracing` event at TRACE level into the shared capture.
    pub fn install() -> Self {
        static LOG: std::sync::OnceLock<CapturedLog> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = CapturedLog::default();
            let writer = log.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            log
        })
        .clone()
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A kiosk configuration for tests: no reader, no eID, metrics on a free port,
/// the printer at `printer` (`None`: no printer), the portal at `portal`
/// (`host:port`, plain http on loopback); `extra` goes into `[kiosk]`'s
/// neighbourhood (e.g. a `[services]` table).
pub fn test_config(
    dir: &std::path::Path,
    printer: Option<&str>,
    portal: &str,
    extra: &str,
) -> kiosk_config::KioskConfig {
    std::fs::write(
        dir.join("recipient.pem"),
        offline_cache_receiver::test_keys::PUBLIC_KEY_PEM,
    )
    .unwrap();
    let printer = match printer {
        Some(address) => format!("connection = \"tcp://{address}\""),
        None => "enabled = false\nconnection = \"tcp://127.0.0.1:9\"".to_owned(),
    };
    kiosk_config::KioskConfig::parse(
        &format!(
            r#"
[kiosk]
id = "K27"
town_prefix = "GE"
data_dir = "{data}"
{extra}
[reader]
enabled = false

[printer]
{printer}

[portal]
url = "http://{portal}"
recipient_key = "{recipient}"

[eid]
# Not about eID: no AusweisApp is started.
enabled = false

[metrics]
listen = "127.0.0.1:0"
"#,
            data = dir.join("data").display(),
            recipient = dir.join("recipient.pem").display(),
        ),
        "test configuration",
    )
    .unwrap()
}

/// An address on 127.0.0.1 where nothing listens (until a test starts something there).
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// `GET path` on `address` (the ops endpoint); the whole answer, head and body.
pub fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
