//! Against the real AusweisApp, headless: version and API level, the reader list with
//! the vpcd readers, the change-PIN workflow with AusweisApp's Simulator card (with a
//! check that no PIN reaches the logs), a login to a loopback tcTokenURL that ends in a
//! clear error, and the supervisor restarting a killed AusweisApp, adopting a running
//! one and reporting it gone.

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Env, connected};
use kiosk_eid::protocol::{Command, Message, RunChangePin, SetCard};
use kiosk_eid::{
    Advice, ClientConfig, ClientError, Connection, EidClient, EidLink, Failure, FlowConfig, Launch,
    LoginEffect, LoginEvent, LoginFlow, Messages, Outcome, Secret, StatusProblem, Supervisor,
    SupervisorConfig,
};
use kiosk_virtual_cards::{UidCard, VpcdCard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

/// Waits for the first message that `wanted` accepts; panics with what came instead.
async fn expect(messages: &mut Messages, what: &str, wanted: impl Fn(&Message) -> bool) -> Message {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match messages.next(left).await {
            Ok(message) if wanted(&message) => return message,
            Ok(message) => seen.push(message.name().to_owned()),
            Err(error) => panic!("no {what} ({error}); saw {seen:?}"),
        }
    }
}

#[test]
fn info_api_level_and_one_client_at_a_time() {
    let Some(env) = Env::start("info_api_level_and_one_client_at_a_time") else {
        return;
    };
    env.run(async {
        let (supervisor, status) = connected(env.config()).await;
        assert!(status.managed);
        assert!(status.pid.is_some());
        assert_eq!(status.api_level, Some(2));
        let client = supervisor.client(WAIT).await.expect("client");
        let info = client.get_info().await.expect("INFO");
        let version = info.version_info.implementation_version.expect("version");
        assert!(
            version.starts_with("1.") || version.starts_with("2."),
            "{version}"
        );
        assert_eq!(status.version.as_deref(), Some(version.as_str()));
        assert!(info.version_info.name.unwrap().starts_with("AusweisApp"));
        let level = client.get_api_level().await.expect("API_LEVEL");
        assert!(level.available.unwrap().contains(&2));
        assert_eq!(level.current, Some(2));
        let idle = client.get_status().await.expect("STATUS");
        assert_eq!(idle.workflow, None);

        // Commands AusweisApp refuses come back as errors naming them.
        let refused = client
            .request(Command::GetCertificate)
            .await
            .expect("answer");
        assert_eq!(refused.rejected_command(), Some("GET_CERTIFICATE"));
        assert!(matches!(
            client.request(Command::Accept).await,
            Err(ClientError::NoReply("ACCEPT"))
        ));

        // AusweisApp serves one client at a time.
        let port: u16 = client
            .address()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let second = EidClient::connect("127.0.0.1", port, client.config()).await;
        assert!(
            matches!(second, Err(ClientError::Busy { .. })),
            "{second:?}"
        );
        assert!(
            client.get_info().await.is_ok(),
            "the first client still works"
        );
        supervisor.stop().await;
    });
}

#[test]
fn reader_list_shows_the_vpcd_readers_and_their_cards() {
    let Some(env) = Env::start("reader_list_shows_the_vpcd_readers_and_their_cards") else {
        return;
    };
    let slot0 = env.pcscd.reader_name(0);
    let slot1 = env.pcscd.reader_name(1);
    env.run(async {
        let (supervisor, _) = connected(env.config()).await;
        let both = supervisor
            .wait_for_status(WAIT, |status| {
                [&slot0, &slot1]
                    .iter()
                    .all(|name| status.readers.iter().any(|r| &r.name == *name))
            })
            .await
            .unwrap_or_else(|| panic!("vpcd readers not seen: {:?}", supervisor.status()));
        assert!(both.has_card_reader());
        assert!(
            both.readers
                .iter()
                .any(|r| r.simulator && r.name == "Simulator")
        );
        let client = supervisor.client(WAIT).await.expect("client");
        let readers = client.get_reader_list().await.expect("READER_LIST");
        let vpcd = readers
            .iter()
            .find(|r| r.name == slot0)
            .expect("slot 0 listed");
        assert!(vpcd.attached && vpcd.is_physical() && vpcd.card.is_none());
        let one = client.get_reader(&slot1).await.expect("READER");
        assert_eq!(one.name, slot1);

        // A card that is not an eID card: AusweisApp probes it on the vpcd reader (it
        // sees every PC/SC reader) and, in 1.26, then reports the reader as empty.
        let mut messages = client.subscribe();
        let port = env.pcscd.port(0);
        let card = tokio::task::spawn_blocking(move || {
            VpcdCard::insert(port, UidCard::new(&[1, 2, 3, 4]))
        })
        .await
        .unwrap()
        .expect("virtual card");
        let Message::Reader(after_probe) = expect(
            &mut messages,
            "READER for slot 0",
            |m| matches!(m, Message::Reader(r) if r.name == slot0),
        )
        .await
        else {
            unreachable!()
        };
        assert!(
            card.commands_received() > 0,
            "AusweisApp talked to the card"
        );
        assert!(
            after_probe.card.as_ref().is_none_or(|card| !card.is_eid()),
            "a UID card is no eID card: {after_probe:?}"
        );
        assert!(supervisor.status().has_card_reader());
        tokio::task::spawn_blocking(move || card.remove())
            .await
            .unwrap();
        supervisor.stop().await;
    });
}

/// Captures everything logged, `tracing` and `log` records alike.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn change_pin_with_the_simulator_card_and_no_pin_in_the_logs() {
    let Some(env) = Env::start("change_pin_with_the_simulator_card_and_no_pin_in_the_logs") else {
        return;
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The connection task runs on this thread (current-thread runtime), so the
    // thread-local subscriber sees its events; `log` records are bridged into it.
    let _guard = tracing::subscriber::set_default(subscriber);
    let _ = tracing_log::LogTracer::init();
    const PIN: &str = "492817";
    env.run(async {
        let (supervisor, _) = connected(env.config()).await;
        let client = supervisor.client(WAIT).await.expect("client");
        // Let AusweisApp finish its first reader scan (the vpcd readers show up) before
        // a workflow starts.
        supervisor
            .wait_for_status(WAIT, |s| s.has_card_reader())
            .await
            .expect("vpcd readers");
        let mut messages = client.subscribe();
        // AusweisApp 1.26.2 has a race: when the workflow connects to a just-inserted
        // Simulator card while the reader still checks that card, the workflow ends at
        // once ("Card is already connected") and reports CHANGE_PIN without asking for a
        // PIN. That is AusweisApp's, not the kiosk's: try again (bounded; a failed
        // attempt takes milliseconds, and under load several in a row were seen).
        let mut request = None;
        for attempt in 1..=10 {
            let started = client
                .request(Command::RunChangePin(RunChangePin::default()))
                .await
                .expect("RUN_CHANGE_PIN");
            assert!(
                matches!(started, Message::ChangePin(ref m) if m.success.is_none()),
                "{started:?}"
            );
            expect(&mut messages, "INSERT_CARD", |m| {
                matches!(m, Message::InsertCard(_))
            })
            .await;
            client
                .send(Command::SetCard(SetCard::simulator()))
                .await
                .expect("SET_CARD");
            match expect(&mut messages, "ENTER_PIN", |m| {
                matches!(m, Message::EnterPin(_))
                    || matches!(m, Message::ChangePin(c) if c.success.is_some())
            })
            .await
            {
                Message::EnterPin(enter) => {
                    request = Some(enter);
                    break;
                }
                _ => eprintln!("attempt {attempt}: AusweisApp ended the workflow before the PIN"),
            }
        }
        let request = request.expect("AusweisApp asked for the PIN within ten attempts");
        assert_eq!(request.retry_counter(), Some(3));
        assert!(request.keypad(), "the Simulator behaves as a keypad reader");
        assert_eq!(request.reader.as_ref().unwrap().name, "Simulator");

        // A PIN from the screen pad is refused for a keypad reader, but it does travel
        // to AusweisApp, which is what the log check below needs.
        let pin = Secret::pin(PIN).unwrap();
        client
            .send(Command::SetPin { value: Some(pin) })
            .await
            .expect("SET_PIN");
        let Message::EnterPin(refused) = expect(&mut messages, "ENTER_PIN again", |m| {
            matches!(m, Message::EnterPin(_))
        })
        .await
        else {
            unreachable!()
        };
        assert!(
            refused.error.is_some(),
            "AusweisApp refuses a value for a keypad reader"
        );
        assert_eq!(refused.retry_counter(), Some(3), "no attempt was used");

        client
            .send(Command::SetPin { value: None })
            .await
            .expect("SET_PIN");
        expect(&mut messages, "ENTER_NEW_PIN", |m| {
            matches!(m, Message::EnterNewPin(_))
        })
        .await;
        client
            .send(Command::SetNewPin { value: None })
            .await
            .expect("SET_NEW_PIN");
        let Message::ChangePin(done) = expect(
            &mut messages,
            "CHANGE_PIN result",
            |m| matches!(m, Message::ChangePin(c) if c.success.is_some()),
        )
        .await
        else {
            unreachable!()
        };
        assert_eq!(done.success, Some(true));
        assert_eq!(client.get_status().await.expect("STATUS").workflow, None);
        supervisor.stop().await;
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("SET_PIN"),
        "TRACE logging was not captured:\n{logs}"
    );
    assert!(
        logs.contains("handshake"),
        "`log` records (tungstenite) were not captured:\n{logs}"
    );
    let hex: String = PIN.bytes().map(|b| format!("{b:02x}")).collect();
    for form in [PIN.to_owned(), hex] {
        assert!(
            !logs.contains(&form),
            "the PIN appears in the logs as {form}:\n{logs}"
        );
    }
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with a TcToken whose eID
/// server address is a closed port, and remembers the request paths.
struct TcTokenServer {
    port: u16,
    paths: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcTokenServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        // A port nothing listens on: the eID server the TcToken names is unreachable.
        let closed = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let seen = paths.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024
                    {
                        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
                            .await
                        {
                            Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buffer[..n]),
                            _ => return,
                        }
                        // A TLS ClientHello (0x16) is no HTTP request: hang up at once.
                        if !request[0].is_ascii_uppercase() {
                            return;
                        }
                    }
                    let head = String::from_utf8_lossy(&request);
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    seen.lock().unwrap().push(path);
                    let body = format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><TCTokenType>\
                         <ServerAddress>https://127.0.0.1:{closed}/eid-server</ServerAddress>\
                         <SessionIdentifier>4D2F1A0B</SessionIdentifier>\
                         <RefreshAddress>https://127.0.0.1:{closed}/refresh</RefreshAddress>\
                         <Binding>urn:liberty:paos:2006-08</Binding>\
                         <PathSecurity-Protocol>urn:ietf:rfc:4279</PathSecurity-Protocol>\
                         <PathSecurity-Parameters><PSK>4BC1A0B5C3D2E1F0</PSK></PathSecurity-Parameters>\
                         </TCTokenType>"
                    );
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { port, paths, task }
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

impl Drop for TcTokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs a login flow against AusweisApp until it ends; the citizen is never asked.
async fn drive(flow: &mut LoginFlow, link: &mut EidLink, start: LoginEvent) -> Outcome {
    let mut events = VecDeque::from([start]);
    for _ in 0..200 {
        if let Some(event) = events.pop_front() {
            for effect in flow.handle(event) {
                if let LoginEffect::Finished(outcome) = effect {
                    return outcome;
                }
                if let Some(event) = link.perform(effect).await {
                    events.push_back(event);
                }
            }
            continue;
        }
        if let Some(event) = link
            .next_event(flow.awaiting(), Duration::from_secs(1))
            .await
        {
            events.push_back(event);
        } else {
            panic!("the login waits on the citizen in {:?}", flow.state());
        }
    }
    panic!("the login did not end: {:?}", flow.state());
}

#[test]
fn login_to_a_loopback_tc_token_url_ends_in_a_clear_error() {
    let Some(env) = Env::start("login_to_a_loopback_tc_token_url_ends_in_a_clear_error") else {
        return;
    };
    env.run(async {
        let server = TcTokenServer::start().await;
        let (supervisor, _) = connected(env.config()).await;
        let status = supervisor
            .wait_for_status(WAIT, |s| s.has_card_reader())
            .await
            .expect("vpcd readers");
        let conditions = status.conditions(true);
        let client = supervisor.client(WAIT).await.expect("client");

        // A workflow left over from an earlier session is cancelled before a login.
        client
            .request(Command::RunChangePin(RunChangePin::default()))
            .await
            .expect("RUN_CHANGE_PIN");
        assert_eq!(
            client.get_status().await.unwrap().workflow.as_deref(),
            Some("CHANGE_PIN")
        );
        client.ensure_idle(WAIT).await.expect("ensure_idle");
        assert_eq!(client.get_status().await.unwrap().workflow, None);

        // Developer mode (tests only) lets AusweisApp fetch the TcToken over plain http;
        // the eID server it names is unreachable.
        let mut link = EidLink::new(&client, Duration::from_secs(30));
        let mut flow = LoginFlow::new(FlowConfig {
            developer_mode: true,
        });
        let url = format!("http://127.0.0.1:{}/tctoken?session=1", server.port);
        let outcome = drive(
            &mut flow,
            &mut link,
            LoginEvent::Start {
                tc_token_url: url,
                conditions,
            },
        )
        .await;
        assert!(
            matches!(
                outcome,
                Outcome::Failed {
                    failure: Failure::ServiceUnreachable,
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.code(), "eid.failed.service_unreachable");
        assert_eq!(outcome.advice(), Some(Advice::TryLater));
        assert_eq!(
            server.paths(),
            ["/tctoken?session=1"],
            "AusweisApp fetched the TcToken"
        );

        // A citizen's login (no developer mode) to https on the same loopback server:
        // the TLS handshake with a plain HTTP server fails, again a clear error.
        let mut flow = LoginFlow::new(FlowConfig::default());
        let url = format!("https://127.0.0.1:{}/tctoken?session=2", server.port);
        let outcome = drive(
            &mut flow,
            &mut link,
            LoginEvent::Start {
                tc_token_url: url,
                conditions,
            },
        )
        .await;
        assert_eq!(
            outcome.code(),
            "eid.failed.service_unreachable",
            "{outcome:?}"
        );
        assert_eq!(outcome.result_url(), None);
        assert_eq!(client.get_status().await.unwrap().workflow, None);
        supervisor.stop().await;
    });
}

#[test]
fn supervisor_restarts_a_killed_ausweisapp_and_stops_it_at_the_end() {
    let Some(env) = Env::start("supervisor_restarts_a_killed_ausweisapp_and_stops_it_at_the_end")
    else {
        return;
    };
    env.run(async {
        let (supervisor, first) = connected(env.config()).await;
        let first_pid = first.pid.expect("pid");
        let old_client = supervisor.client(WAIT).await.expect("client");
        let killed = std::process::Command::new("kill")
            .arg("-KILL")
            .arg(first_pid.to_string())
            .status()
            .expect("kill");
        assert!(killed.success());
        tokio::time::timeout(WAIT, old_client.closed())
            .await
            .expect("the old connection closes");
        assert!(matches!(
            old_client.get_info().await,
            Err(ClientError::Disconnected)
        ));

        let again = supervisor
            .wait_for_status(Duration::from_secs(30), |s| {
                s.is_connected() && s.pid.is_some_and(|pid| pid != first_pid)
            })
            .await
            .unwrap_or_else(|| panic!("no restart: {:?}", supervisor.status()));
        assert_eq!(again.restarts, 1);
        assert_eq!(again.reconnects, 1);
        assert!(
            again
                .prometheus()
                .contains("kiosk_eid_client_restarts_total 1")
        );
        let client = supervisor.client(WAIT).await.expect("new client");
        assert!(client.get_info().await.is_ok());

        let second_pid = again.pid.unwrap();
        let status = supervisor.watch_status();
        supervisor.stop().await;
        assert_eq!(status.borrow().connection, Connection::Stopped);
        assert!(
            !std::path::Path::new(&format!("/proc/{second_pid}")).exists(),
            "the supervisor stops the AusweisApp it started"
        );
    });
}

#[test]
fn supervisor_restarts_a_hung_ausweisapp() {
    let Some(env) = Env::start("supervisor_restarts_a_hung_ausweisapp") else {
        return;
    };
    env.run(async {
        let mut config = env.config();
        config.client = ClientConfig {
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            heartbeat: Duration::from_millis(500),
        };
        config.startup_timeout = Duration::from_secs(3);
        let (supervisor, first) = connected(config).await;
        let hung_pid = first.pid.expect("pid");
        // SIGSTOP: the process lives on but answers nothing, like a hang.
        let stopped = std::process::Command::new("kill")
            .arg("-STOP")
            .arg(hung_pid.to_string())
            .status()
            .expect("kill -STOP");
        assert!(stopped.success());
        let again = supervisor
            .wait_for_status(Duration::from_secs(40), |s| {
                s.is_connected() && s.pid.is_some_and(|pid| pid != hung_pid)
            })
            .await
            .unwrap_or_else(|| panic!("hung AusweisApp not replaced: {:?}", supervisor.status()));
        assert_eq!(again.restarts, 1);
        for _ in 0..100 {
            if !std::path::Path::new(&format!("/proc/{hung_pid}")).exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            !std::path::Path::new(&format!("/proc/{hung_pid}")).exists(),
            "the hung AusweisApp was stopped"
        );
        supervisor.stop().await;
    });
}

#[test]
fn supervisor_adopts_a_running_ausweisapp_and_reports_it_gone() {
    let Some(env) = Env::start("supervisor_adopts_a_running_ausweisapp_and_reports_it_gone") else {
        return;
    };
    env.run(async {
        // An AusweisApp the test starts itself, as if started by the session.
        let dir = env.home.join("tmp");
        std::fs::create_dir_all(&dir).unwrap();
        let mut running = tokio::process::Command::new(&env.binary)
            .args([
                "--ui",
                "websocket",
                "--port",
                "0",
                "--address",
                "127.0.0.1",
                "--no-logfile",
            ])
            .env("QT_QPA_PLATFORM", "offscreen")
            .env("TMPDIR", &dir)
            .env("XDG_RUNTIME_DIR", &dir)
            .env("HOME", &env.home)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("AusweisApp");
        let pid = running.id().unwrap();
        let port_file = env
            .binary
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let port_file = dir.join(format!("{port_file}.{pid}.port"));
        let mut port = None;
        for _ in 0..400 {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Ok(found) = text.trim().parse::<u16>()
            {
                port = Some(found);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let port = port.expect("AusweisApp wrote its port file");

        let config = SupervisorConfig {
            port,
            launch: Launch::Never,
            ..env.config()
        };
        let supervisor = Supervisor::start(config);
        let adopted = supervisor
            .wait_for_status(Duration::from_secs(30), |s| s.is_connected())
            .await
            .unwrap_or_else(|| panic!("not adopted: {:?}", supervisor.status()));
        assert!(!adopted.managed);
        assert_eq!(adopted.pid, None);
        assert_eq!(adopted.restarts, 0);

        running.kill().await.expect("kill the test's AusweisApp");
        let gone = supervisor
            .wait_for_status(WAIT, |s| {
                !s.is_connected() && s.problem == Some(StatusProblem::NotRunning)
            })
            .await
            .unwrap_or_else(|| panic!("not reported gone: {:?}", supervisor.status()));
        assert_eq!(gone.connection, Connection::Reconnecting);
        assert!(
            supervisor
                .client(Duration::from_millis(100))
                .await
                .is_none()
        );
        assert!(gone.prometheus().contains("kiosk_eid_client_up 0"));
        assert!(gone.prometheus().contains("eid.status.not_running"));
        supervisor.stop().await;
    });
}
