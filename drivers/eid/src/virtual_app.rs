//! A virtual AusweisApp with a virtual ID card, for tests and the demo.
//!
//! [`VirtualAusweisApp`] is a WebSocket server on 127.0.0.1 (`ws://127.0.0.1:<port>/eID-Kernel`)
//! that speaks AusweisApp's SDK protocol (API level 2, levels 1 and 2 available) the way
//! AusweisApp 1.26 does, so the kiosk's [`EidClient`](crate::EidClient),
//! [`EidLink`](crate::EidLink), [`LoginFlow`](crate::LoginFlow) and
//! [`Supervisor`](crate::Supervisor) (with [`Launch::Never`](crate::Launch::Never)) work
//! against it unchanged. It serves one client at a time (a second one gets HTTP 429)
//! and has one reader, [`READER_NAME`], without a keypad, on which the test or the demo
//! puts a [`VirtualIdCard`].
//!
//! `RUN_AUTH` fetches the TcToken from the tcTokenURL (loopback only; plain `http` only
//! with `developerMode`, as AusweisApp), asks the portal's eID server which data it wants
//! (`GET` on the TcToken's `ServerAddress`, the JSON stand-in of the reference receiver
//! in `offline-cache/receiver`), sends `ACCESS_RIGHTS` (the rights for those data as
//! required, `DocumentType` as optional), `CERTIFICATE` on request, and after `ACCEPT`
//! asks for the card and its PIN. The card behaves like a German ID card: three PIN
//! attempts, the CAN before the third, the PUK after it, a switched-off online function.
//! With the right PIN it delivers the card's data for the accepted rights to the
//! `ServerAddress` (`POST`) and ends with `AUTH` (major `ok`) and the RefreshAddress plus
//! `?ResultMajor=ok`. A real eID server speaks PAOS over TLS-PSK instead; that part is
//! what this double leaves out.
//!
//! PINs, CANs and PUKs are [`Secret`]s, compared and never logged; the text frame that
//! carried one is wiped after use when nothing else holds it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kiosk_eid::virtual_app::VirtualAppError> {
//! use kiosk_eid::virtual_app::{VirtualAppConfig, VirtualAusweisApp, VirtualIdCard};
//!
//! let app = VirtualAusweisApp::start(VirtualAppConfig::default()).await?;
//! println!("AusweisApp SDK at {}", app.ws_url());
//! app.insert_card(VirtualIdCard::erika_mustermann());
//! // ... a login through EidClient / Supervisor on app.port() ...
//! let card = app.remove_card();
//! app.shutdown().await;
//! # let _ = card; Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Message as Frame, Utf8Bytes};
use zeroize::{Zeroize, Zeroizing};

use crate::protocol::{AccessRight, PATH};
use crate::secret::{Secret, SecretKind};

/// The name of the virtual app's only reader.
pub const READER_NAME: &str = "Virtual eID reader";

/// `Name` in `INFO`: says plainly that this is not the real AusweisApp.
pub const NAME: &str = "AusweisApp2 virtual";

/// `Implementation-Version` in `INFO`: the AusweisApp version whose behaviour it follows.
pub const VERSION: &str = "1.26.2-virtual";

/// The provider the virtual `CERTIFICATE` names.
pub const PROVIDER_NAME: &str = "Stadt Musterstadt – Bürgerportal";

/// API levels the virtual app speaks.
const LEVELS: [u32; 2] = [1, 2];

const MAJOR: &str = "http://www.bsi.bund.de/ecard/api/1.1/resultmajor";
const MINOR: &str = "http://www.bsi.bund.de/ecard/api/1.1/resultminor";

/// How long a WebSocket handshake or the sending of one message may take.
const SOCKET_LIMIT: Duration = Duration::from_secs(5);

/// The largest TcToken or eID server answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// A virtual German ID card (Personalausweis) with its secrets, PIN retry counter and
/// data. `Debug` shows the counter, the flags and the names of the data, never a value.
#[derive(Clone)]
pub struct VirtualIdCard {
    /// The six-digit PIN (default `123456`).
    pub pin: Secret,
    /// The card access number printed on the card (default `123456`).
    pub can: Secret,
    /// The PUK from the PIN letter (default `1234567890`).
    pub puk: Secret,
    /// PIN attempts left: 3 normally, 1 needs the CAN first, 0 needs the PUK.
    pub retry_counter: u8,
    /// The online function is switched off (the Bürgerbüro switches it on).
    pub deactivated: bool,
    /// The PUK is used up: the PIN cannot be unblocked any more.
    pub puk_inoperative: bool,
    /// The data on the chip by attribute name (`kiosk_catalogue::IdentityAttribute`
    /// names, plus `document_type`).
    pub attributes: BTreeMap<String, Zeroizing<String>>,
}

impl VirtualIdCard {
    /// The BSI's test identity: ERIKA MUSTERMANN (born GABLER), born 1964-08-12 in
    /// BERLIN, HEIDESTRASSE 17, 51147 KÖLN; PIN and CAN `123456`, PUK `1234567890`.
    pub fn erika_mustermann() -> Self {
        let attributes = [
            ("given_names", "ERIKA"),
            ("surname", "MUSTERMANN"),
            ("birth_name", "GABLER"),
            ("date_of_birth", "1964-08-12"),
            ("place_of_birth", "BERLIN"),
            ("nationality", "D"),
            ("street", "HEIDESTRASSE"),
            ("house_number", "17"),
            ("postal_code", "51147"),
            ("city", "KÖLN"),
            ("document_type", "ID"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Zeroizing::new(value.to_owned())))
        .collect();
        Self {
            pin: Secret::pin("123456").expect("the default PIN has six digits"),
            can: Secret::can("123456").expect("the default CAN has six digits"),
            puk: Secret::puk("1234567890").expect("the default PUK has ten digits"),
            retry_counter: 3,
            deactivated: false,
            puk_inoperative: false,
            attributes,
        }
    }

    /// The same card with `retry_counter` attempts left.
    pub fn with_retry_counter(mut self, retry_counter: u8) -> Self {
        self.retry_counter = retry_counter.min(3);
        self
    }

    /// The same card with its online function switched off.
    pub fn with_eid_deactivated(mut self) -> Self {
        self.deactivated = true;
        self
    }

    /// One value of the card's data.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|value| value.as_str())
    }

    /// Sets one value of the card's data.
    pub fn set_attribute(&mut self, name: impl Into<String>, value: &str) {
        self.attributes
            .insert(name.into(), Zeroizing::new(value.to_owned()));
    }
}

impl Default for VirtualIdCard {
    fn default() -> Self {
        Self::erika_mustermann()
    }
}

impl fmt::Debug for VirtualIdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.attributes.keys().map(String::as_str).collect();
        f.debug_struct("VirtualIdCard")
            .field("retry_counter", &self.retry_counter)
            .field("deactivated", &self.deactivated)
            .field("puk_inoperative", &self.puk_inoperative)
            .field("attributes", &names)
            .finish_non_exhaustive()
    }
}

/// Settings of the virtual app.
#[derive(Clone, Debug)]
pub struct VirtualAppConfig {
    /// The port on 127.0.0.1; `0` picks a free one.
    pub port: u16,
    /// A card on the reader from the start.
    pub card: Option<VirtualIdCard>,
    /// Roots (PEM) trusted for `https` tcTokenURLs and eID servers, e.g. the reference
    /// receiver's test CA. There are no others: the virtual app talks only to loopback.
    pub extra_roots_pem: Option<String>,
    /// Time limit of each HTTP request to the portal.
    pub http_timeout: Duration,
}

impl Default for VirtualAppConfig {
    fn default() -> Self {
        Self {
            port: 0,
            card: None,
            extra_roots_pem: None,
            http_timeout: Duration::from_secs(10),
        }
    }
}

/// The virtual app could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VirtualAppError {
    /// The port cannot be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
    /// `extra_roots_pem` holds no usable certificate.
    #[error("extra_roots_pem holds no usable CERTIFICATE block: {0}")]
    Roots(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// A running virtual AusweisApp; dropping it stops the server and closes the connection.
pub struct VirtualAusweisApp {
    port: u16,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for VirtualAusweisApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualAusweisApp")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

struct Shared {
    slot: Mutex<CardSlot>,
    /// The card slot's generation, bumped on every insert and removal.
    changed: watch::Sender<u64>,
    /// A client is connected (AusweisApp serves one at a time).
    busy: AtomicBool,
    http: reqwest::Client,
}

#[derive(Default)]
struct CardSlot {
    card: Option<VirtualIdCard>,
    generation: u64,
}

fn lock(shared: &Shared) -> MutexGuard<'_, CardSlot> {
    shared.slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl VirtualAusweisApp {
    /// Binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn start(config: VirtualAppConfig) -> Result<Self, VirtualAppError> {
        let http = http_client(&config)?;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))
            .await
            .map_err(|source| VirtualAppError::Bind {
                port: config.port,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| VirtualAppError::Bind {
                port: config.port,
                source,
            })?
            .port();
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            slot: Mutex::new(CardSlot {
                card: config.card,
                generation: 0,
            }),
            changed,
            busy: AtomicBool::new(false),
            http,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept(listener, Arc::clone(&shared), stopped));
        tracing::info!(port, "virtual AusweisApp listening on 127.0.0.1");
        Ok(Self {
            port,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ws://127.0.0.1:<port>/eID-Kernel`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}{PATH}", self.port)
    }

    /// Puts `card` on the reader (replacing one that lies there). A connected client
    /// gets a `READER` message; a workflow waiting for a card goes on.
    pub fn insert_card(&self, card: VirtualIdCard) {
        let mut slot = lock(&self.shared);
        slot.card = Some(card);
        slot.generation += 1;
        self.shared.changed.send_replace(slot.generation);
        tracing::debug!("virtual card put on the reader");
    }

    /// Takes the card off the reader and returns it (with its current retry counter).
    /// A connected client gets a `READER` message; a workflow that was using the card
    /// ends as AusweisApp ends it for a removed card.
    pub fn remove_card(&self) -> Option<VirtualIdCard> {
        let mut slot = lock(&self.shared);
        let card = slot.card.take();
        if card.is_some() {
            slot.generation += 1;
            self.shared.changed.send_replace(slot.generation);
            tracing::debug!("virtual card taken off the reader");
        }
        card
    }

    /// A copy of the card on the reader, if any (to look at its retry counter).
    pub fn card(&self) -> Option<VirtualIdCard> {
        lock(&self.shared).card.clone()
    }

    /// Whether a client is connected.
    pub fn is_connected(&self) -> bool {
        self.shared.busy.load(Ordering::SeqCst)
    }

    /// Stops the server and closes the connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(SOCKET_LIMIT * 2, task).await;
        }
    }
}

impl Drop for VirtualAusweisApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn http_client(config: &VirtualAppConfig) -> Result<reqwest::Client, VirtualAppError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .no_proxy()
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout)
        // Redirects are followed as AusweisApp does, but never off the machine.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 || !is_loopback(attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!(
            "kiosk-eid-virtual-ausweisapp/",
            env!("CARGO_PKG_VERSION")
        ));
    if let Some(pem) = &config.extra_roots_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|error| VirtualAppError::Roots(error.to_string()))?;
        if roots.is_empty() {
            return Err(VirtualAppError::Roots("no certificate found".into()));
        }
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    builder
        .build()
        .map_err(|error| VirtualAppError::Http(error.to_string()))
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let address = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    // Connections live in this set: when the loop ends, they are aborted with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, Arc::clone(&shared), stop.clone()));
                }
                // Out of file descriptors and the like: breathe, then go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    // Let open connections send their close frame (they watch `stop` too).
    let _ = tokio::time::timeout(SOCKET_LIMIT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Marks the app free again when the connection that claimed it ends.
struct Claim(Arc<Shared>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

fn refuse(status: StatusCode, text: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(text.to_owned()));
    *response.status_mut() = status;
    response
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let claimed = AtomicBool::new(false);
    // tungstenite's `Callback` trait fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        if request.uri().path() != PATH {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "the SDK lives at /eID-Kernel",
            ));
        }
        if shared
            .busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "another client is connected",
            ));
        }
        claimed.store(true, Ordering::SeqCst);
        Ok(response)
    };
    let handshake = tokio::time::timeout(
        SOCKET_LIMIT,
        tokio_tungstenite::accept_hdr_async(stream, callback),
    )
    .await;
    let _claim = claimed
        .load(Ordering::SeqCst)
        .then(|| Claim(Arc::clone(&shared)));
    let Ok(Ok(socket)) = handshake else {
        return;
    };
    tracing::debug!("client connected to the virtual AusweisApp");
    serve(socket, shared, stop).await;
    tracing::debug!("client left the virtual AusweisApp");
}

async fn serve(
    mut socket: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut changes = shared.changed.subscribe();
    let mut session = Session::new(Arc::clone(&shared), *changes.borrow_and_update());
    let mut jobs: JoinSet<JobDone> = JoinSet::new();
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    session.command(text.as_str());
                    wipe(text);
                }
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => break,
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => {}
            },
            Some(done) = jobs.join_next(), if !jobs.is_empty() => {
                if let Ok(done) = done {
                    session.job_done(done);
                }
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                session.card_changed();
            }
            _ = stop.changed() => {
                let _ = tokio::time::timeout(SOCKET_LIMIT, socket.close(None)).await;
                break;
            }
        }
        if std::mem::take(&mut session.abort_jobs) {
            jobs.abort_all();
        }
        for job in session.jobs.drain(..) {
            jobs.spawn(run_job(Arc::clone(&shared), job));
        }
        for message in std::mem::take(&mut session.out) {
            let text = Frame::text(message.to_string());
            if !matches!(
                tokio::time::timeout(SOCKET_LIMIT, socket.send(text)).await,
                Ok(Ok(()))
            ) {
                return;
            }
        }
    }
}

/// Overwrites a received frame's text when nothing else holds it (it may carry a PIN).
fn wipe(text: Utf8Bytes) {
    if let Ok(mut bytes) = Bytes::from(text).try_into_mut() {
        bytes.as_mut().zeroize();
    }
}

// ---------------------------------------------------------------------------------------
// The protocol: one session per connection.

/// A command as AusweisApp's JSON parser sees it. `value` borrows from the frame, so a
/// PIN is never copied into another string before it becomes a [`Secret`].
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default, borrow)]
    value: Option<&'a str>,
    #[serde(default, rename = "tcTokenURL")]
    tc_token_url: Option<String>,
    #[serde(default, rename = "developerMode")]
    developer_mode: Option<bool>,
    #[serde(default)]
    status: Option<bool>,
    #[serde(default)]
    level: Option<u32>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    chat: Option<Vec<AccessRight>>,
}

/// Any JSON object, with whether it has a `cmd` (every field skipped unread).
#[derive(Deserialize)]
struct AnyObject {
    #[serde(default)]
    cmd: Option<serde::de::IgnoredAny>,
}

/// The command name, when it is a string (other fields skipped unread).
#[derive(Deserialize)]
struct CommandName {
    cmd: String,
}

/// Where a workflow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Fetching the TcToken and the eID server's request.
    Fetching,
    /// `ACCESS_RIGHTS` sent; waiting for `ACCEPT`.
    AccessRights,
    /// `INSERT_CARD` sent; waiting for a usable card.
    InsertCard,
    EnterPin,
    EnterCan,
    EnterPuk,
    EnterNewPin,
    /// Delivering the card's data to the eID server.
    Sending,
}

impl Step {
    /// The message the workflow waits on, for `STATUS`.
    fn waits_on(self) -> Option<&'static str> {
        match self {
            Self::Fetching | Self::Sending => None,
            Self::AccessRights => Some("ACCESS_RIGHTS"),
            Self::InsertCard => Some("INSERT_CARD"),
            Self::EnterPin => Some("ENTER_PIN"),
            Self::EnterCan => Some("ENTER_CAN"),
            Self::EnterPuk => Some("ENTER_PUK"),
            Self::EnterNewPin => Some("ENTER_NEW_PIN"),
        }
    }
}

struct Workflow {
    /// Tells job results of this workflow from those of an earlier one.
    id: u64,
    auth: Option<AuthRun>,
    /// `STATUS` messages on progress.
    status: bool,
    progress: u32,
    step: Step,
    /// The card generation this workflow took; it ends when that card goes.
    card: Option<u64>,
    /// The CAN unlocked the last PIN attempt.
    can_verified: bool,
}

impl Workflow {
    fn name(&self) -> &'static str {
        if self.auth.is_some() {
            "AUTH"
        } else {
            "CHANGE_PIN"
        }
    }
}

struct AuthRun {
    tc_token_url: Url,
    provider: Option<Provider>,
    required: Vec<AccessRight>,
    optional: Vec<AccessRight>,
    enabled: Vec<AccessRight>,
}

impl AuthRun {
    fn effective(&self) -> Vec<AccessRight> {
        let mut effective = self.required.clone();
        effective.extend(self.enabled.iter().cloned());
        effective
    }

    /// The RefreshAddress with `query` appended (AusweisApp's result redirect).
    fn result_url(&self, query: &str) -> Option<String> {
        let refresh = &self.provider.as_ref()?.refresh_address;
        let separator = if refresh.contains('?') { '&' } else { '?' };
        Some(format!("{refresh}{separator}{query}"))
    }
}

/// What the TcToken and the eID server said.
struct Provider {
    server_address: Url,
    refresh_address: String,
    /// Attribute names the eID server asks for.
    requested: Vec<String>,
}

enum Job {
    Provider {
        workflow: u64,
        url: Url,
        developer_mode: bool,
    },
    Card {
        workflow: u64,
        server: Url,
        body: Bytes,
    },
}

enum JobDone {
    Provider {
        workflow: u64,
        result: Result<Provider, String>,
    },
    Card {
        workflow: u64,
        result: Result<(), String>,
    },
}

struct Session {
    shared: Arc<Shared>,
    level: u32,
    /// The card generation the client last heard about.
    seen: u64,
    workflow: Option<Workflow>,
    next_workflow: u64,
    /// Messages to send, in order.
    out: Vec<Value>,
    /// Jobs to start.
    jobs: Vec<Job>,
    /// Abort running jobs (their workflow ended).
    abort_jobs: bool,
}

/// An eCard-API error result as AusweisApp sends it in `AUTH`.
fn error_result(minor: &str, description: &str, message: &str, reason: Option<&str>) -> Value {
    let mut result = json!({
        "major": format!("{MAJOR}#error"),
        "minor": format!("{MINOR}{minor}"),
        "language": "en",
        "description": description,
        "message": message,
    });
    if let Some(reason) = reason {
        result["reason"] = json!(reason);
    }
    result
}

fn card_json(card: &VirtualIdCard) -> Value {
    json!({
        "inoperative": card.puk_inoperative,
        "deactivated": card.deactivated,
        "retryCounter": card.retry_counter,
    })
}

fn reader_json(card: Option<&VirtualIdCard>) -> Value {
    json!({
        "name": READER_NAME,
        "insertable": false,
        "attached": true,
        "keypad": false,
        "card": card.map(card_json),
    })
}

fn with_msg(msg: &str, mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert("msg".into(), json!(msg));
    }
    value
}

/// The right that reads an attribute (`kiosk_catalogue::IdentityAttribute` names).
fn right_for(attribute: &str) -> Option<AccessRight> {
    Some(match attribute {
        "given_names" => AccessRight::GivenNames,
        "surname" => AccessRight::FamilyName,
        "birth_name" => AccessRight::BirthName,
        "date_of_birth" => AccessRight::DateOfBirth,
        "place_of_birth" => AccessRight::PlaceOfBirth,
        "nationality" => AccessRight::Nationality,
        "street" | "house_number" | "postal_code" | "city" => AccessRight::Address,
        "document_type" => AccessRight::DocumentType,
        _ => return None,
    })
}

impl Session {
    fn new(shared: Arc<Shared>, seen: u64) -> Self {
        Self {
            shared,
            level: 2,
            seen,
            workflow: None,
            next_workflow: 1,
            out: Vec::new(),
            jobs: Vec::new(),
            abort_jobs: false,
        }
    }

    fn send(&mut self, msg: &str, body: Value) {
        self.out.push(with_msg(msg, body));
    }

    fn bad_state(&mut self, command: &str) {
        self.send("BAD_STATE", json!({ "error": command }));
    }

    fn step(&self) -> Option<Step> {
        self.workflow.as_ref().map(|workflow| workflow.step)
    }

    fn set_step(&mut self, step: Step) {
        if let Some(workflow) = &mut self.workflow {
            workflow.step = step;
        }
    }

    fn command(&mut self, text: &str) {
        let object = match serde_json::from_str::<AnyObject>(text) {
            Ok(object) => object,
            Err(error) => {
                // Position only: serde's message could quote the input.
                let error = format!(
                    "not a JSON object (line {}, column {})",
                    error.line(),
                    error.column()
                );
                self.send("INVALID", json!({ "error": error }));
                return;
            }
        };
        if object.cmd.is_none() {
            self.send("INVALID", json!({ "error": "Command cannot be undefined" }));
            return;
        }
        let Ok(CommandName { cmd }) = serde_json::from_str::<CommandName>(text) else {
            self.send("INVALID", json!({ "error": "Command must be a string" }));
            return;
        };
        let incoming = match serde_json::from_str::<Incoming<'_>>(text) {
            Ok(incoming) => incoming,
            Err(_) => {
                self.malformed(&cmd);
                return;
            }
        };
        tracing::debug!(command = %cmd, "virtual AusweisApp got a command");
        match cmd.as_str() {
            "GET_INFO" => self.info(),
            "GET_STATUS" if self.level >= 2 => self.status_message(),
            "GET_API_LEVEL" => {
                let current = self.level;
                self.send(
                    "API_LEVEL",
                    json!({ "available": LEVELS, "current": current }),
                );
            }
            "SET_API_LEVEL" => self.set_api_level(incoming.level),
            "GET_READER" => self.get_reader(incoming.name.as_deref()),
            "GET_READER_LIST" => {
                let reader = self.reader();
                let key = if self.level >= 2 { "readers" } else { "reader" };
                self.send("READER_LIST", json!({ key: [reader] }));
            }
            "RUN_AUTH" => self.run_auth(
                incoming.tc_token_url.as_deref(),
                incoming.developer_mode.unwrap_or(false),
                incoming.status.unwrap_or(true),
            ),
            "RUN_CHANGE_PIN" => self.run_change_pin(incoming.status.unwrap_or(true)),
            "GET_ACCESS_RIGHTS" if self.auth_at_consent() => self.access_rights(None),
            "SET_ACCESS_RIGHTS" => self.set_access_rights(incoming.chat),
            "GET_CERTIFICATE" if self.auth_at_consent() => self.certificate(),
            "ACCEPT" if self.auth_at_consent() => {
                self.progress(20);
                self.need_card();
            }
            "GET_ACCESS_RIGHTS" | "GET_CERTIFICATE" | "ACCEPT" => self.bad_state(&cmd),
            "CANCEL" => self.cancel(),
            "SET_PIN" | "SET_CAN" | "SET_PUK" | "SET_NEW_PIN" => {
                self.secret(&cmd, incoming.value);
            }
            "SET_CARD" if self.level >= 2 => {
                if self.step() == Some(Step::InsertCard) {
                    // The virtual reader is not insertable (like a real reader).
                    self.send("INSERT_CARD", json!({ "error": "Unknown reader name" }));
                } else {
                    self.bad_state("SET_CARD");
                }
            }
            _ => {
                // As AusweisApp: the name echoed (shortened), whatever it was.
                let name: String = cmd.chars().take(40).collect();
                self.send("UNKNOWN_COMMAND", json!({ "error": name }));
            }
        }
    }

    /// A known command with a field of the wrong type.
    fn malformed(&mut self, cmd: &str) {
        let enter = match cmd {
            "SET_PIN" => Some((Step::EnterPin, "ENTER_PIN")),
            "SET_CAN" => Some((Step::EnterCan, "ENTER_CAN")),
            "SET_PUK" => Some((Step::EnterPuk, "ENTER_PUK")),
            "SET_NEW_PIN" => Some((Step::EnterNewPin, "ENTER_NEW_PIN")),
            _ => None,
        };
        match enter {
            Some((step, msg)) if self.step() == Some(step) => {
                self.enter(msg, Some("Value must be a string of digits"));
            }
            Some(_) => self.bad_state(cmd),
            None => self.send(
                "INVALID",
                json!({ "error": "A field of the command has the wrong type" }),
            ),
        }
    }

    fn info(&mut self) {
        self.send(
            "INFO",
            json!({
                "VersionInfo": {
                    "Name": NAME,
                    "Implementation-Title": "AusweisApp2",
                    "Implementation-Vendor": "kiosk-eid (virtual; not Governikus)",
                    "Implementation-Version": VERSION,
                    "Specification-Title": "TR-03124-1",
                    "Specification-Vendor": "Federal Office for Information Security",
                    "Specification-Version": "1.4",
                }
            }),
        );
    }

    fn status_message(&mut self) {
        let (workflow, progress, state) = match &self.workflow {
            Some(workflow) => (
                json!(workflow.name()),
                json!(workflow.progress),
                json!(workflow.step.waits_on()),
            ),
            None => (Value::Null, Value::Null, Value::Null),
        };
        self.send(
            "STATUS",
            json!({ "workflow": workflow, "progress": progress, "state": state }),
        );
    }

    /// Records progress and, if the client asked for it, reports it.
    fn progress(&mut self, percent: u32) {
        let Some(workflow) = &mut self.workflow else {
            return;
        };
        workflow.progress = percent;
        if workflow.status {
            self.status_message();
        }
    }

    fn set_api_level(&mut self, level: Option<u32>) {
        match level {
            Some(level) if LEVELS.contains(&level) => {
                self.level = level;
                self.send("API_LEVEL", json!({ "current": level }));
            }
            Some(_) => {
                let current = self.level;
                self.send(
                    "API_LEVEL",
                    json!({ "error": "Invalid level", "current": current }),
                );
            }
            None => {
                let current = self.level;
                self.send(
                    "API_LEVEL",
                    json!({ "error": "Level cannot be undefined", "current": current }),
                );
            }
        }
    }

    fn reader(&self) -> Value {
        reader_json(lock(&self.shared).card.as_ref())
    }

    fn get_reader(&mut self, name: Option<&str>) {
        match name {
            Some(READER_NAME) => {
                let reader = self.reader();
                self.send("READER", reader);
            }
            Some(other) => {
                self.send("READER", json!({ "name": other, "attached": false }));
            }
            None => self.send(
                "READER",
                json!({ "error": "Name cannot be undefined", "attached": false }),
            ),
        }
    }

    fn start_workflow(&mut self, auth: Option<AuthRun>, status: bool) -> u64 {
        let id = self.next_workflow;
        self.next_workflow += 1;
        self.workflow = Some(Workflow {
            id,
            auth,
            status,
            progress: 0,
            step: Step::Fetching,
            card: None,
            can_verified: false,
        });
        id
    }

    fn run_auth(&mut self, url: Option<&str>, developer_mode: bool, status: bool) {
        if self.workflow.is_some() {
            self.bad_state("RUN_AUTH");
            return;
        }
        let Some(url) = url else {
            self.send("AUTH", json!({ "error": "tcTokenURL cannot be undefined" }));
            return;
        };
        let url = match Url::parse(url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            _ => {
                self.send(
                    "AUTH",
                    json!({ "error": "Validation of tcTokenURL failed" }),
                );
                return;
            }
        };
        let run = AuthRun {
            tc_token_url: url.clone(),
            provider: None,
            required: Vec::new(),
            optional: Vec::new(),
            enabled: Vec::new(),
        };
        let id = self.start_workflow(Some(run), status);
        self.send("AUTH", json!({}));
        self.progress(0);
        if let Some(problem) = unreachable_reason(&url, developer_mode) {
            self.end_auth(
                error_result(
                    "/dp#trustedChannelEstablishmentFailed",
                    "A trusted channel could not be opened.",
                    problem,
                    None,
                ),
                None,
            );
            return;
        }
        self.jobs.push(Job::Provider {
            workflow: id,
            url,
            developer_mode,
        });
    }

    fn run_change_pin(&mut self, status: bool) {
        if self.workflow.is_some() {
            self.bad_state("RUN_CHANGE_PIN");
            return;
        }
        self.start_workflow(None, status);
        self.send("CHANGE_PIN", json!({}));
        self.progress(0);
        self.need_card();
    }

    /// Whether an authentication waits for the citizen's consent.
    fn auth_at_consent(&self) -> bool {
        self.workflow
            .as_ref()
            .is_some_and(|w| w.auth.is_some() && w.step == Step::AccessRights)
    }

    fn access_rights(&mut self, error: Option<&str>) {
        let Some(run) = self.workflow.as_ref().and_then(|w| w.auth.as_ref()) else {
            return;
        };
        let mut body = json!({
            "chat": {
                "effective": run.effective(),
                "optional": run.optional,
                "required": run.required,
            }
        });
        if let Some(error) = error {
            body["error"] = json!(error);
        }
        self.send("ACCESS_RIGHTS", body);
    }

    fn set_access_rights(&mut self, chat: Option<Vec<AccessRight>>) {
        if !self.auth_at_consent() {
            self.bad_state("SET_ACCESS_RIGHTS");
            return;
        }
        let Some(run) = self.workflow.as_mut().and_then(|w| w.auth.as_mut()) else {
            return;
        };
        let error = match chat {
            Some(chat) if chat.iter().all(|right| run.optional.contains(right)) => {
                run.enabled = run
                    .optional
                    .iter()
                    .filter(|right| chat.contains(right))
                    .cloned()
                    .collect();
                None
            }
            Some(_) => Some("Entry in chat is not an optional right"),
            None => Some("Chat cannot be undefined"),
        };
        self.access_rights(error);
    }

    fn certificate(&mut self) {
        let Some(run) = self.workflow.as_ref().and_then(|w| w.auth.as_ref()) else {
            return;
        };
        let origin = run.tc_token_url.origin().ascii_serialization();
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| i64::try_from(since.as_secs() / 86_400).unwrap_or(0))
            .unwrap_or(0);
        let terms = format!(
            "Name, Anschrift und E-Mail-Adresse des Diensteanbieters:\r\n\
             Stadt Musterstadt, Bürgerbüro\r\nRathausplatz 1\r\n12345 Musterstadt\r\n\
             buergerportal@musterstadt.example\r\n\r\n\
             Zweck des Auslesevorgangs:\r\nAnmeldung am Bürgerportal und Vorbelegung von Anträgen\r\n\r\n\
             Zuständige Datenschutzaufsicht:\r\n\
             Landesbeauftragte für Datenschutz und Informationsfreiheit Musterland\r\n\r\n\
             (Virtuelles Berechtigungszertifikat des virtuellen AusweisApp für Tests; {origin})"
        );
        self.send(
            "CERTIFICATE",
            json!({
                "description": {
                    "issuerName": "Virtuelle Test-DVCA (kein echtes Berechtigungszertifikat)",
                    "issuerUrl": "https://dvca.invalid",
                    "subjectName": PROVIDER_NAME,
                    "subjectUrl": origin,
                    "termsOfUsage": terms,
                    "purpose": "Anmeldung am Bürgerportal und Vorbelegung von Anträgen",
                },
                "validity": {
                    "effectiveDate": iso_date(days - 30),
                    "expirationDate": iso_date(days + 60),
                }
            }),
        );
    }

    /// Asks for the card, or takes the one on the reader.
    fn need_card(&mut self) {
        let (card, generation) = {
            let slot = lock(&self.shared);
            (
                slot.card
                    .as_ref()
                    .map(|card| (card.deactivated, reader_json(Some(card)))),
                slot.generation,
            )
        };
        match card {
            None => {
                self.set_step(Step::InsertCard);
                self.send("INSERT_CARD", json!({}));
            }
            Some((true, reader)) => {
                // AusweisApp waits for another card and says why this one does not do.
                self.set_step(Step::InsertCard);
                self.send("INSERT_CARD", json!({}));
                self.send("READER", reader);
            }
            Some((false, _)) => {
                if let Some(workflow) = &mut self.workflow {
                    workflow.card = Some(generation);
                }
                self.ask_for_secret(None);
            }
        }
    }

    /// Runs `f` on the workflow's card; `None` when that card is gone.
    fn with_card<R>(&self, f: impl FnOnce(&mut VirtualIdCard) -> R) -> Option<R> {
        let taken = self.workflow.as_ref()?.card?;
        let mut slot = lock(&self.shared);
        if slot.generation != taken {
            return None;
        }
        slot.card.as_mut().map(f)
    }

    /// `ENTER_PIN`, `ENTER_CAN` or `ENTER_PUK`, whichever the card's counter needs.
    fn ask_for_secret(&mut self, error: Option<&str>) {
        let can_verified = self.workflow.as_ref().is_some_and(|w| w.can_verified);
        let Some(counter) = self.with_card(|card| card.retry_counter) else {
            self.card_changed();
            return;
        };
        let (step, msg) = match counter {
            0 => (Step::EnterPuk, "ENTER_PUK"),
            1 if !can_verified => (Step::EnterCan, "ENTER_CAN"),
            _ => (Step::EnterPin, "ENTER_PIN"),
        };
        self.set_step(step);
        self.enter(msg, error);
    }

    /// An `ENTER_*` message with the reader and its card.
    fn enter(&mut self, msg: &str, error: Option<&str>) {
        let mut body = json!({ "reader": self.reader() });
        if let Some(error) = error {
            body["error"] = json!(error);
        }
        self.send(msg, body);
    }

    fn secret(&mut self, cmd: &str, value: Option<&str>) {
        let (step, kind, msg) = match cmd {
            "SET_PIN" => (Step::EnterPin, SecretKind::Pin, "ENTER_PIN"),
            "SET_CAN" => (Step::EnterCan, SecretKind::Can, "ENTER_CAN"),
            "SET_PUK" => (Step::EnterPuk, SecretKind::Puk, "ENTER_PUK"),
            _ => (Step::EnterNewPin, SecretKind::Pin, "ENTER_NEW_PIN"),
        };
        if self.step() != Some(step) {
            self.bad_state(cmd);
            return;
        }
        let Some(value) = value else {
            // The reader has no keypad: the value must come with the command.
            self.enter(msg, Some("Value cannot be undefined"));
            return;
        };
        let Ok(secret) = Secret::new(kind, value) else {
            let error = format!("You must provide {} digits", kind.digits());
            self.enter(msg, Some(&error));
            return;
        };
        match step {
            Step::EnterPin => self.check_pin(&secret),
            Step::EnterCan => self.check_can(&secret),
            Step::EnterPuk => self.check_puk(&secret),
            _ => self.set_new_pin(secret),
        }
    }

    fn check_pin(&mut self, pin: &Secret) {
        let right = self.with_card(|card| {
            let right = card.pin == *pin;
            // A right PIN resets the counter, a wrong one uses an attempt.
            card.retry_counter = if right {
                3
            } else {
                card.retry_counter.saturating_sub(1)
            };
            right
        });
        let Some(right) = right else {
            self.card_changed();
            return;
        };
        if let Some(workflow) = &mut self.workflow {
            workflow.can_verified = false;
        }
        tracing::debug!(right, "virtual card checked a PIN");
        if !right {
            self.ask_for_secret(None);
        } else if self.workflow.as_ref().is_some_and(|w| w.auth.is_some()) {
            self.deliver_card_data();
        } else {
            self.set_step(Step::EnterNewPin);
            self.progress(50);
            self.enter("ENTER_NEW_PIN", None);
        }
    }

    fn check_can(&mut self, can: &Secret) {
        let Some(right) = self.with_card(|card| card.can == *can) else {
            self.card_changed();
            return;
        };
        if right && let Some(workflow) = &mut self.workflow {
            workflow.can_verified = true;
        }
        self.ask_for_secret(None);
    }

    fn check_puk(&mut self, puk: &Secret) {
        let unblocked = self.with_card(|card| {
            let right = !card.puk_inoperative && card.puk == *puk;
            if right {
                card.retry_counter = 3;
            }
            right
        });
        if unblocked.is_none() {
            self.card_changed();
            return;
        }
        self.ask_for_secret(None);
    }

    fn set_new_pin(&mut self, pin: Secret) {
        if self.with_card(|card| card.pin = pin).is_none() {
            self.card_changed();
            return;
        }
        self.progress(100);
        self.workflow = None;
        self.send("CHANGE_PIN", json!({ "success": true }));
    }

    /// After the right PIN: the card's data for the accepted rights go to the eID
    /// server.
    fn deliver_card_data(&mut self) {
        let Some(workflow) = &self.workflow else {
            return;
        };
        let Some(run) = &workflow.auth else {
            return;
        };
        let Some(provider) = &run.provider else {
            return;
        };
        let id = workflow.id;
        let server = provider.server_address.clone();
        let effective = run.effective();
        let body = self.with_card(|card| {
            let attributes: serde_json::Map<String, Value> = card
                .attributes
                .iter()
                .filter(|(name, _)| right_for(name).is_some_and(|r| effective.contains(&r)))
                .map(|(name, value)| (name.clone(), json!(value.as_str())))
                .collect();
            let mut body = Zeroizing::new(Vec::with_capacity(4096));
            serde_json::to_writer(&mut *body, &json!({ "attributes": attributes })).map(|()| body)
        });
        match body {
            None => self.card_changed(),
            Some(Err(_)) => self.end_auth(
                error_result(
                    "/al/common#internalError",
                    "An internal error has occurred during processing.",
                    "The card's data could not be encoded.",
                    None,
                ),
                None,
            ),
            Some(Ok(body)) => {
                self.set_step(Step::Sending);
                self.progress(60);
                self.jobs.push(Job::Card {
                    workflow: id,
                    server,
                    body: Bytes::from_owner(body),
                });
            }
        }
    }

    fn cancel(&mut self) {
        let Some(workflow) = &self.workflow else {
            self.bad_state("CANCEL");
            return;
        };
        if workflow.auth.is_none() {
            self.workflow = None;
            self.abort_jobs = true;
            self.send(
                "CHANGE_PIN",
                json!({ "success": false, "reason": "User_Cancelled" }),
            );
            return;
        }
        let (result, minor) = if workflow.step == Step::EnterPuk {
            // The PUK was not given: the login ends on the blocked PIN.
            (
                error_result(
                    "/al/common#unknownError",
                    "An unknown error occurred.",
                    "The PIN was blocked after too many unsuccessful attempts.",
                    None,
                ),
                "clientError",
            )
        } else {
            (
                error_result(
                    "/sal#cancellationByUser",
                    "The user canceled the authentication.",
                    "The process has been cancelled by the user.",
                    Some("User_Cancelled"),
                ),
                "cancellationByUser",
            )
        };
        let url = self.auth_result_url(&format!("ResultMajor=error&ResultMinor={minor}"));
        self.end_auth(result, url);
    }

    fn auth_result_url(&self, query: &str) -> Option<String> {
        self.workflow.as_ref()?.auth.as_ref()?.result_url(query)
    }

    /// Ends the authentication with `AUTH` and this result.
    fn end_auth(&mut self, result: Value, url: Option<String>) {
        self.workflow = None;
        self.abort_jobs = true;
        let mut body = json!({ "result": result });
        if let Some(url) = url {
            body["url"] = json!(url);
        }
        self.send("AUTH", body);
    }

    /// The card on the reader changed (or may have): `READER`, and the workflow reacts.
    fn card_changed(&mut self) {
        let (generation, reader, usable) = {
            let slot = lock(&self.shared);
            (
                slot.generation,
                reader_json(slot.card.as_ref()),
                slot.card.as_ref().is_some_and(|card| !card.deactivated),
            )
        };
        if generation != self.seen {
            self.seen = generation;
            self.send("READER", reader);
        }
        let Some(workflow) = &mut self.workflow else {
            return;
        };
        match workflow.card {
            Some(taken) if taken != generation => self.card_removed(),
            Some(_) => {}
            None if workflow.step == Step::InsertCard && usable => {
                workflow.card = Some(generation);
                self.ask_for_secret(None);
            }
            None => {}
        }
    }

    /// The card the workflow used was taken off the reader.
    fn card_removed(&mut self) {
        let Some(workflow) = &self.workflow else {
            return;
        };
        tracing::debug!("the virtual card was removed during a workflow");
        if workflow.auth.is_none() {
            self.workflow = None;
            self.abort_jobs = true;
            self.send(
                "CHANGE_PIN",
                json!({ "success": false, "reason": "Card_Removed" }),
            );
            return;
        }
        let url = self.auth_result_url("ResultMajor=error&ResultMinor=clientError");
        self.end_auth(
            error_result(
                "/al/common#internalError",
                "An internal error has occurred during processing.",
                "The connection to the ID card has been lost. The process was aborted.",
                Some("Card_Removed"),
            ),
            url,
        );
    }

    fn job_done(&mut self, done: JobDone) {
        match done {
            JobDone::Provider { workflow, result } => {
                if !self.expects(workflow, Step::Fetching) {
                    return;
                }
                match result {
                    Ok(provider) => self.consent(provider),
                    Err(message) => self.end_auth(
                        error_result(
                            "/dp#trustedChannelEstablishmentFailed",
                            "A trusted channel could not be opened.",
                            &message,
                            None,
                        ),
                        None,
                    ),
                }
            }
            JobDone::Card { workflow, result } => {
                if !self.expects(workflow, Step::Sending) {
                    return;
                }
                match result {
                    Ok(()) => {
                        self.progress(100);
                        let url = self.auth_result_url("ResultMajor=ok");
                        self.workflow = None;
                        self.send(
                            "AUTH",
                            json!({ "result": { "major": format!("{MAJOR}#ok") }, "url": url }),
                        );
                    }
                    Err(message) => {
                        let url = self
                            .auth_result_url("ResultMajor=error&ResultMinor=communicationError");
                        self.end_auth(
                            error_result(
                                "/al/common#communicationError",
                                "A communication error occurred during processing.",
                                &message,
                                None,
                            ),
                            url,
                        );
                    }
                }
            }
        }
    }

    fn expects(&self, workflow: u64, step: Step) -> bool {
        self.workflow
            .as_ref()
            .is_some_and(|w| w.id == workflow && w.step == step)
    }

    /// The provider answered: the rights it asks for go to the citizen.
    fn consent(&mut self, provider: Provider) {
        let Some(run) = self.workflow.as_mut().and_then(|w| w.auth.as_mut()) else {
            return;
        };
        let mut required: Vec<AccessRight> = Vec::new();
        let mut unknown = 0usize;
        for name in &provider.requested {
            match right_for(name) {
                Some(right) if !required.contains(&right) => required.push(right),
                Some(_) => {}
                None => unknown += 1,
            }
        }
        if unknown > 0 {
            tracing::warn!(
                unknown,
                "the eID server asked for data no right covers; ignored"
            );
        }
        required.sort_by_key(AccessRight::display_order);
        let optional: Vec<AccessRight> = [AccessRight::DocumentType]
            .into_iter()
            .filter(|right| !required.contains(right))
            .collect();
        run.required = required;
        run.enabled = optional.clone();
        run.optional = optional;
        run.provider = Some(provider);
        self.set_step(Step::AccessRights);
        self.progress(10);
        self.access_rights(None);
    }
}

/// Why the virtual app will not fetch `url`, if it will not.
fn unreachable_reason(url: &Url, developer_mode: bool) -> Option<&'static str> {
    if url.scheme() != "https" && !developer_mode {
        return Some("The tcTokenURL must use https (developer mode also allows http).");
    }
    if !is_loopback(url) {
        return Some("The virtual AusweisApp connects only to 127.0.0.1 and localhost.");
    }
    None
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (proleptic Gregorian calendar).
fn iso_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

async fn run_job(shared: Arc<Shared>, job: Job) -> JobDone {
    match job {
        Job::Provider {
            workflow,
            url,
            developer_mode,
        } => JobDone::Provider {
            workflow,
            result: fetch_provider(&shared.http, url, developer_mode).await,
        },
        Job::Card {
            workflow,
            server,
            body,
        } => JobDone::Card {
            workflow,
            result: deliver(&shared.http, server, body).await,
        },
    }
}

/// What went wrong on the network, in AusweisApp's words (no URL, no body).
fn network_problem(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "the server did not answer in time"
    } else if error.is_connect() {
        "the server could not be reached"
    } else {
        "the connection failed"
    };
    format!("It wasn't possible to connect to the server: {kind}.")
}

async fn read_answer(response: reqwest::Response) -> Result<Vec<u8>, String> {
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "The server answered with HTTP {}.",
            status.as_u16()
        ));
    }
    let mut response = response;
    let mut answer = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| network_problem(&error))?
    {
        if answer.len() + chunk.len() > MAX_ANSWER {
            return Err("The server's answer is too large.".into());
        }
        answer.extend_from_slice(&chunk);
    }
    Ok(answer)
}

/// The text of the first `<name>…</name>` element, unescaped.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let text = xml[start..end]
        .trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(text)
}

/// Fetches the TcToken and asks the eID server (the JSON stand-in) what it wants.
async fn fetch_provider(
    http: &reqwest::Client,
    url: Url,
    developer_mode: bool,
) -> Result<Provider, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|error| network_problem(&error))?;
    let token = read_answer(response).await?;
    let token = String::from_utf8_lossy(&token);
    let (Some(server), Some(refresh)) = (
        xml_element(&token, "ServerAddress"),
        xml_element(&token, "RefreshAddress"),
    ) else {
        return Err("The TcToken has no ServerAddress or RefreshAddress.".into());
    };
    let server_address =
        Url::parse(&server).map_err(|_| "The TcToken's ServerAddress is not a URL.".to_owned())?;
    let refresh_url = Url::parse(&refresh)
        .map_err(|_| "The TcToken's RefreshAddress is not a URL.".to_owned())?;
    for address in [&server_address, &refresh_url] {
        if let Some(problem) = unreachable_reason(address, developer_mode) {
            return Err(problem.into());
        }
    }
    let response = http
        .get(server_address.clone())
        .send()
        .await
        .map_err(|error| network_problem(&error))?;
    let request = read_answer(response).await?;
    #[derive(Deserialize)]
    struct ServerRequest {
        attributes: Vec<String>,
    }
    let request: ServerRequest = serde_json::from_slice(&request)
        .map_err(|_| "The eID server sent an unreadable request.".to_owned())?;
    Ok(Provider {
        server_address,
        refresh_address: refresh,
        requested: request.attributes,
    })
}

/// Delivers the card's data to the eID server.
async fn deliver(http: &reqwest::Client, server: Url, body: Bytes) -> Result<(), String> {
    let response = http
        .post(server)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|error| network_problem(&error))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "The eID server refused the card's data with HTTP {}.",
            status.as_u16()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(-1), "1969-12-31");
        assert_eq!(iso_date(11_016), "2000-02-29");
        assert_eq!(iso_date(20_454), "2026-01-01");
    }

    #[test]
    fn xml_elements_are_found_and_unescaped() {
        let xml = "<TCTokenType><ServerAddress> https://a/b?x=1&amp;y=2 </ServerAddress>\
                   <RefreshAddress>https://a/r</RefreshAddress></TCTokenType>";
        assert_eq!(
            xml_element(xml, "ServerAddress").as_deref(),
            Some("https://a/b?x=1&y=2")
        );
        assert_eq!(
            xml_element(xml, "RefreshAddress").as_deref(),
            Some("https://a/r")
        );
        assert_eq!(xml_element(xml, "PSK"), None);
    }

    #[test]
    fn the_card_debug_shows_no_secret_and_no_value() {
        let card = VirtualIdCard::erika_mustermann();
        let debug = format!("{card:?}");
        for secret in [
            "123456",
            "1234567890",
            "ERIKA",
            "MUSTERMANN",
            "1964",
            "KÖLN",
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("given_names") && debug.contains("retry_counter: 3"));
    }

    #[test]
    fn every_catalogue_attribute_has_a_right() {
        for attribute in kiosk_catalogue::IdentityAttribute::ALL {
            let name = attribute.name();
            assert!(right_for(name).is_some(), "{name}");
        }
    }
}
