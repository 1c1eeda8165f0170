//! A reference receiver for the kiosk sync API, with fault injection.
//!
//! A real HTTP/1.1 server on 127.0.0.1 that implements `docs/sync-api.md`:
//! `POST /v1/submissions` with `Idempotency-Key` (201 on first delivery, the
//! identical answer on a replay, 409 while the same key is in flight, 422 when
//! a key comes back with a different body), `POST /oauth/token` (client
//! credentials) and `GET /v1/catalogue` (ETag). It decrypts every submission
//! with its private key and checks that the content is JSON, so tests see what
//! the office would see. Faults (delays, 500s, 503 and 429 with `Retry-After`,
//! connections reset (RST) before or after the commit, slow or garbled answers)
//! can be scripted or drawn at random.
//!
//! It also plays the portal for eID login (`docs/sync-api.md` § "eID login"):
//! `POST /v1/eid/sessions`, `POST /v1/eid/sessions/{id}/complete`, the TcToken
//! AusweisApp fetches, and a JSON stand-in for the eID server that the virtual
//! AusweisApp (`kiosk_eid::virtual_app`) delivers its virtual card's data to.
//!
//! It is for tests and the demo, never for production: everything lives in memory.
//!
//! ```
//! use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key()).await.unwrap();
//! println!("POST {}/v1/submissions", receiver.base_url());
//! assert!(receiver.received().is_empty());
//! # }
//! ```

#![deny(missing_docs)]

mod eid;
pub mod fit_connect;
mod jwe;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use eid::{ATTRIBUTES as EID_ATTRIBUTES, EidStats, SESSION_LIFETIME as EID_SESSION_LIFETIME};
pub use jwe::{DecryptionKey, JweError};

/// The test-only key pair the receiver decrypts with. Never use it for real data.
pub mod test_keys {
    /// PKCS#8 PEM private key (RSA 2048), TEST ONLY.
    pub const PRIVATE_KEY_PEM: &str = include_str!("../test-keys/test-recipient-private-key.pem");
    /// The matching SubjectPublicKeyInfo PEM, for the kiosk's `RecipientKey`.
    pub const PUBLIC_KEY_PEM: &str = include_str!("../test-keys/test-recipient-public-key.pem");
    /// A TEST ONLY certificate authority (P-256) that signed [`TLS_SERVER_CERT_PEM`].
    pub const TLS_CA_PEM: &str = include_str!("../test-keys/test-ca.pem");
    /// TEST ONLY FIT-Connect key material: a two-level test PKI (root, intermediate),
    /// the destination's encryption and signature keys with certificates
    /// (RSA 4096, RSASSA-PSS/SHA-512 signed), the delivery service's signing key,
    /// and an unrelated root plus a certificate from it for negative tests.
    pub mod fit_connect {
        /// The test "Verwaltungs-PKI" root certificate.
        pub const ROOT_PEM: &str = include_str!("../test-keys/fit-connect/root.pem");
        /// The intermediate CA that issued the destination certificates.
        pub const INTERMEDIATE_PEM: &str = include_str!("../test-keys/fit-connect/inter.pem");
        /// The destination's encryption certificate.
        pub const DEST_ENC_CERT_PEM: &str = include_str!("../test-keys/fit-connect/dest-enc.pem");
        /// The destination's encryption private key (PKCS#8), TEST ONLY.
        pub const DEST_ENC_KEY_PEM: &str =
            include_str!("../test-keys/fit-connect/dest-enc-key.pem");
        /// The destination's signature certificate.
        pub const DEST_SIG_CERT_PEM: &str = include_str!("../test-keys/fit-connect/dest-sig.pem");
        /// The destination's signature private key (PKCS#8), TEST ONLY.
        pub const DEST_SIG_KEY_PEM: &str =
            include_str!("../test-keys/fit-connect/dest-sig-key.pem");
        /// The delivery service's SET signing key (PKCS#8), TEST ONLY.
        pub const SERVICE_SIG_KEY_PEM: &str =
            include_str!("../test-keys/fit-connect/service-sig-key.pem");
        /// A root nobody trusts.
        pub const OTHER_ROOT_PEM: &str = include_str!("../test-keys/fit-connect/other-root.pem");
        /// The destination's encryption key, certified by [`OTHER_ROOT_PEM`] instead.
        pub const DEST_ENC_UNTRUSTED_CERT_PEM: &str =
            include_str!("../test-keys/fit-connect/dest-enc-untrusted.pem");
    }
    /// TEST ONLY server certificate for `127.0.0.1` and `localhost`.
    pub const TLS_SERVER_CERT_PEM: &str = include_str!("../test-keys/test-server.pem");
    /// Its PKCS#8 private key, TEST ONLY.
    pub const TLS_SERVER_KEY_PEM: &str = include_str!("../test-keys/test-server-key.pem");
}

/// A certificate chain and key for serving HTTPS.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Server certificate first, then intermediates (PEM).
    pub cert_chain_pem: String,
    /// PKCS#8 private key (PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// The [`test_keys`] server certificate (trusted via [`test_keys::TLS_CA_PEM`]).
    pub fn test_only() -> Self {
        Self {
            cert_chain_pem: test_keys::TLS_SERVER_CERT_PEM.to_owned(),
            key_pem: test_keys::TLS_SERVER_KEY_PEM.to_owned(),
        }
    }
}

/// The largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How the receiver behaves.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The office's private key (PKCS#8 PEM).
    pub private_key_pem: String,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// When set, `/v1/submissions` needs a bearer token from `/oauth/token`
    /// issued for this `(client_id, client_secret)`.
    pub credentials: Option<(String, String)>,
    /// Lifetime of issued tokens (`expires_in`).
    pub token_lifetime: Duration,
    /// Service ids the office does not know: answered 422 with a detail that
    /// echoes the decrypted answers (to prove the kiosk never stores server texts).
    pub rejected_services: Vec<String>,
    /// Seed for random faults, so a failing run can be repeated.
    pub seed: u64,
    /// Serve HTTPS with this identity instead of plain HTTP.
    pub tls: Option<TlsIdentity>,
    /// Decrypt and check every submission (default). Switched off only by
    /// throughput benchmarks, where the office's RSA decryption would compete
    /// with the kiosk for the same CPU; stored submissions then have an empty
    /// `plaintext`.
    pub check_content: bool,
}

impl ReceiverConfig {
    /// A receiver on 127.0.0.1 (free port) with the given private key.
    pub fn new(private_key_pem: impl Into<String>) -> Self {
        Self {
            private_key_pem: private_key_pem.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: None,
            token_lifetime: Duration::from_secs(1800),
            rejected_services: Vec::new(),
            seed: 1,
            tls: None,
            check_content: true,
        }
    }

    /// A receiver with the [`test_keys`] pair.
    pub fn with_test_key() -> Self {
        Self::new(test_keys::PRIVATE_KEY_PEM)
    }
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Wait this long before handling the request.
    Delay(Duration),
    /// Answer 500 without storing anything.
    Status500,
    /// Answer 503 with `Retry-After: <seconds>` without storing anything.
    Status503 {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// Answer 429 Too Many Requests with `Retry-After: <seconds>` without
    /// storing anything.
    Status429 {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// Reset the connection (RST, the client sees `ECONNRESET`) without an
    /// answer, before storing.
    ResetBeforeCommit,
    /// Store the submission, then reset the connection (RST) without an
    /// answer (the classic duplicate maker).
    ResetAfterCommit,
    /// Store, then send the answer a few bytes at a time with this pause between them.
    SlowBody(Duration),
    /// Store, then answer with the real status but a body that is not JSON
    /// (a broken proxy); a retry with the same key gets the stored answer.
    GarbledAnswer,
}

/// Random faults; each request draws at most one (scripted faults come first).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Upper bound of a random delay added to every request (zero: none).
    pub max_delay: Duration,
    /// Probability of [`Fault::Status500`].
    pub status_500: f64,
    /// Probability of [`Fault::Status503`] (with `Retry-After: 0`... `1`).
    pub status_503: f64,
    /// Probability of [`Fault::ResetBeforeCommit`].
    pub reset_before_commit: f64,
    /// Probability of [`Fault::ResetAfterCommit`].
    pub reset_after_commit: f64,
    /// Probability of [`Fault::SlowBody`].
    pub slow_body: f64,
    /// Pause between the pieces of a slow answer.
    pub slow_body_pause: Duration,
}

/// A submission as the office stored it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedSubmission {
    /// Idempotency key and id.
    pub id: Uuid,
    /// The kiosk's receipt reference.
    pub reference: String,
    /// Catalogue service id.
    pub service_id: String,
    /// Service version.
    pub service_version: u32,
    /// The decrypted answers (test data).
    pub plaintext: Vec<u8>,
    /// SHA-256 of the decrypted answers.
    pub plaintext_sha256: [u8; 32],
    /// The reference the receiver answered with.
    pub server_reference: String,
}

impl std::fmt::Debug for ReceivedSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedSubmission")
            .field("id", &self.id)
            .field("reference", &self.reference)
            .field("service_id", &self.service_id)
            .field("server_reference", &self.server_reference)
            .finish_non_exhaustive()
    }
}

/// Counters for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiverStats {
    /// Requests to `/v1/submissions`.
    pub submission_requests: u64,
    /// Replays answered from the stored answer.
    pub replays: u64,
    /// 409 answers (same key in flight).
    pub in_flight_conflicts: u64,
    /// 422 answers for a reused key with a different body.
    pub key_reuse_rejections: u64,
    /// Faults injected.
    pub faults: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: u64,
}

enum Entry {
    InFlight,
    Done {
        body_hash: [u8; 32],
        status: StatusCode,
        body: Bytes,
    },
}

struct State {
    key: DecryptionKey,
    config: ReceiverConfig,
    entries: HashMap<Uuid, Entry>,
    received: Vec<ReceivedSubmission>,
    stats: ReceiverStats,
    faults: Faults,
    script: VecDeque<Fault>,
    rng: rand::rngs::StdRng,
    tokens: HashMap<String, tokio::time::Instant>,
    catalogue: Option<(Bytes, String)>,
    eid: eid::EidState,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The receiver could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The private key is unusable.
    #[error(transparent)]
    Key(#[from] JweError),
    /// The TLS identity is unusable.
    #[error("TLS identity: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Starts receivers.
#[derive(Debug)]
pub struct ReferenceReceiver;

impl ReferenceReceiver {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(config: ReceiverConfig) -> Result<ReceiverHandle, StartError> {
        let key = DecryptionKey::from_pkcs8_pem(&config.private_key_pem)?;
        let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let https = acceptor.is_some();
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let base_url = format!("{}://{addr}", if https { "https" } else { "http" });
        let state: Shared = Arc::new(Mutex::new(State {
            key,
            rng: rand::rngs::StdRng::seed_from_u64(config.seed),
            config,
            entries: HashMap::new(),
            received: Vec::new(),
            stats: ReceiverStats::default(),
            faults: Faults::default(),
            script: VecDeque::new(),
            tokens: HashMap::new(),
            catalogue: None,
            eid: eid::EidState::new(base_url),
        }));
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Connections live in this set: aborting the accept task closes them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        let (stream, reset) = ResettableStream::new(stream);
                        let state = Arc::clone(&accept_state);
                        let acceptor = acceptor.clone();
                        connections.spawn(async move {
                            match acceptor {
                                Some(acceptor) => {
                                    if let Ok(tls) = acceptor.accept(stream).await {
                                        serve(TokioIo::new(tls), state, reset).await;
                                    }
                                }
                                None => serve(TokioIo::new(stream), state, reset).await,
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(ReceiverHandle {
            addr,
            https,
            state,
            task,
        })
    }
}

/// Serves one connection. When a request ends in [`Dropped`] (an injected
/// reset), `reset` is raised before hyper gives up the connection, so it is
/// closed with an RST instead of a FIN (see [`ResettableStream`]).
async fn serve<I>(io: I, state: Shared, reset: Arc<AtomicBool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let state = Arc::clone(&state);
        let reset = Arc::clone(&reset);
        async move {
            let answer = handle(state, request).await;
            if answer.is_err() {
                reset.store(true, Ordering::SeqCst);
            }
            answer
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// A TCP connection the fault injection can abort. Once its flag is raised,
/// shutting it down sends nothing and dropping it closes it with `SO_LINGER`
/// 0, so the kernel answers with an RST: the client sees `ECONNRESET`, as
/// when a server process dies or a middlebox kills the connection, not the
/// orderly end of stream (FIN) a plain close gives.
pub(crate) struct ResettableStream {
    inner: tokio::net::TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    /// Wraps an accepted connection; raise the returned flag to abort it.
    pub(crate) fn new(inner: tokio::net::TcpStream) -> (Self, Arc<AtomicBool>) {
        let reset = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                reset: Arc::clone(&reset),
            },
            reset,
        )
    }

    fn resetting(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.resetting() {
            // Zero linger makes close() discard the connection with an RST
            // (it never blocks, unlike a non-zero linger).
            if let Err(e) = self.inner.set_zero_linger() {
                tracing::warn!(error = %e, "cannot arm the injected reset; the connection closes normally");
            }
        }
    }
}

impl tokio::io::AsyncRead for ResettableStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.resetting() {
            // No FIN first: the client must see the reset, not an end of stream.
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn tls_acceptor(identity: &TlsIdentity) -> Result<tokio_rustls::TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(identity.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Tls(format!("certificate chain: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| StartError::Tls(format!("private key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StartError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| StartError::Tls(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A running receiver; dropping it stops the server.
pub struct ReceiverHandle {
    addr: SocketAddr,
    https: bool,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for ReceiverHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReceiverHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (or `https://` with TLS), the transport's base URL.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.addr
        )
    }

    /// Everything stored so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedSubmission> {
        lock(&self.state).received.clone()
    }

    /// How many submissions are stored (cheaper than [`Self::received`]).
    pub fn received_count(&self) -> usize {
        lock(&self.state).received.len()
    }

    /// Request counters.
    pub fn stats(&self) -> ReceiverStats {
        lock(&self.state).stats
    }

    /// Replaces the random faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.state).faults = faults;
    }

    /// Queues faults for the next submission requests, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state).script.extend(faults);
    }

    /// Serves `bundle` at `GET /v1/catalogue` with this ETag.
    pub fn set_catalogue(&self, bundle: Vec<u8>, etag: &str) {
        lock(&self.state).catalogue = Some((Bytes::from(bundle), etag.to_owned()));
    }

    /// Counters of the eID login endpoints.
    pub fn eid_stats(&self) -> EidStats {
        lock(&self.state).eid.stats()
    }

    /// eID login sessions started so far.
    pub fn eid_sessions_started(&self) -> u64 {
        self.eid_stats().sessions_started
    }

    /// eID login sessions completed with attributes so far.
    pub fn eid_sessions_completed(&self) -> u64 {
        self.eid_stats().sessions_completed
    }

    /// Lets every eID login session run out now (tests of the `410` answer).
    pub fn expire_eid_sessions(&self) {
        lock(&self.state).eid.expire_all();
    }

    /// Stops the server and closes its connections.
    pub async fn shutdown(self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// Returned to hyper to drop the connection without an answer; the
/// connection is then reset (RST), see [`ResettableStream`].
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose (fault injection)")]
struct Dropped;

fn json(status: StatusCode, value: &serde_json::Value) -> (StatusCode, Bytes) {
    (status, Bytes::from(value.to_string()))
}

fn respond(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(state: Shared, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    match (request.method(), request.uri().path()) {
        (&Method::POST, "/v1/submissions") => submission(state, request).await,
        (&Method::POST, "/oauth/token") => Ok(token(state, request).await),
        (&Method::GET, "/v1/catalogue") => Ok(catalogue(&state, &request)),
        (_, path) if eid::routes(path) => Ok(eid::handle(state, request).await),
        _ => {
            let (status, body) = json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"error": "not-found"}),
            );
            Ok(respond(status, body))
        }
    }
}

async fn read_body(request: Request<Incoming>) -> Option<Bytes> {
    Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .ok()
        .map(|c| c.to_bytes())
}

async fn token(state: Shared, request: Request<Incoming>) -> Response<Body> {
    let body = read_body(request).await.unwrap_or_default();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut s = lock(&state);
    let expected = s.config.credentials.clone();
    let valid = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && expected.is_some_and(|(id, secret)| {
            form.get("client_id") == Some(&id) && form.get("client_secret") == Some(&secret)
        });
    if !valid {
        let (status, body) = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "invalid_client"}),
        );
        return respond(status, body);
    }
    let token: String = format!("tok-{}", Uuid::new_v4().simple());
    let lifetime = s.config.token_lifetime;
    s.tokens
        .insert(token.clone(), tokio::time::Instant::now() + lifetime);
    s.stats.tokens_issued += 1;
    let (status, body) = json(
        StatusCode::OK,
        &serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime.as_secs()}),
    );
    respond(status, body)
}

fn catalogue(state: &Shared, request: &Request<Incoming>) -> Response<Body> {
    let s = lock(state);
    let Some((bundle, etag)) = s.catalogue.clone() else {
        let (status, body) = json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "no-catalogue"}),
        );
        return respond(status, body);
    };
    let matches = request
        .headers()
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    let mut response = if matches {
        respond(StatusCode::NOT_MODIFIED, Bytes::new())
    } else {
        respond(StatusCode::OK, bundle)
    };
    if let Ok(value) = hyper::header::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(hyper::header::ETAG, value);
    }
    response
}

/// Removes an in-flight entry if the request ends without committing
/// (client gone, injected reset, error answer).
struct InFlightGuard {
    state: Shared,
    key: Uuid,
    armed: bool,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.armed {
            let mut s = lock(&self.state);
            if matches!(s.entries.get(&self.key), Some(Entry::InFlight)) {
                s.entries.remove(&self.key);
            }
        }
    }
}

fn draw_fault(s: &mut State) -> Option<Fault> {
    draw(&mut s.script, s.faults, &mut s.rng)
}

/// Draws the next fault: a scripted one first, else a random one.
fn draw(
    script: &mut VecDeque<Fault>,
    faults: Faults,
    rng: &mut rand::rngs::StdRng,
) -> Option<Fault> {
    if let Some(fault) = script.pop_front() {
        return Some(fault);
    }
    let f = faults;
    let roll: f64 = rng.r#gen();
    let mut edge = 0.0;
    let mut pick = |p: f64| {
        edge += p;
        roll < edge
    };
    let fault = if pick(f.status_500) {
        Some(Fault::Status500)
    } else if pick(f.status_503) {
        Some(Fault::Status503 {
            retry_after_secs: 0,
        })
    } else if pick(f.reset_before_commit) {
        Some(Fault::ResetBeforeCommit)
    } else if pick(f.reset_after_commit) {
        Some(Fault::ResetAfterCommit)
    } else if pick(f.slow_body) {
        Some(Fault::SlowBody(f.slow_body_pause))
    } else {
        None
    };
    if fault.is_none() && !f.max_delay.is_zero() {
        let ms = u64::try_from(f.max_delay.as_millis()).unwrap_or(u64::MAX);
        return Some(Fault::Delay(Duration::from_millis(rng.gen_range(0..=ms))));
    }
    fault
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubmissionBody {
    id: Uuid,
    reference: String,
    service_id: String,
    service_version: u32,
    created_at: String,
    encrypted_data: String,
}

async fn submission(state: Shared, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let authorized = {
        let mut s = lock(&state);
        s.stats.submission_requests += 1;
        if s.config.credentials.is_some() {
            let bearer = request
                .headers()
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            let now = tokio::time::Instant::now();
            let ok = bearer
                .and_then(|t| s.tokens.get(t))
                .is_some_and(|until| *until > now);
            if !ok {
                s.stats.unauthorized += 1;
            }
            ok
        } else {
            true
        }
    };
    if !authorized {
        let (status, body) = json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({"error": "invalid-token"}),
        );
        return Ok(respond(status, body));
    }
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    let Some(key) = key else {
        let (status, body) = json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "missing-idempotency-key"}),
        );
        return Ok(respond(status, body));
    };
    let Some(body) = read_body(request).await else {
        let (status, body) = json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "unreadable-body"}),
        );
        return Ok(respond(status, body));
    };
    let body_hash: [u8; 32] = Sha256::digest(&body).into();

    let fault = {
        let mut guard_state = lock(&state);
        let s = &mut *guard_state;
        match s.entries.get(&key) {
            Some(Entry::InFlight) => {
                s.stats.in_flight_conflicts += 1;
                let (status, body) = json(
                    StatusCode::CONFLICT,
                    &serde_json::json!({"error": "in-flight"}),
                );
                let mut response = respond(status, body);
                response.headers_mut().insert(
                    hyper::header::RETRY_AFTER,
                    hyper::header::HeaderValue::from_static("1"),
                );
                return Ok(response);
            }
            Some(Entry::Done {
                body_hash: stored,
                status,
                body,
            }) => {
                if *stored == body_hash {
                    let response = respond(*status, body.clone());
                    s.stats.replays += 1;
                    return Ok(response);
                }
                s.stats.key_reuse_rejections += 1;
                let (status, body) = json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &serde_json::json!({"error": "idempotency-key-reused"}),
                );
                return Ok(respond(status, body));
            }
            None => {
                s.entries.insert(key, Entry::InFlight);
            }
        }
        let fault = draw_fault(s);
        if fault.is_some_and(|f| !matches!(f, Fault::Delay(_))) {
            s.stats.faults += 1;
        }
        fault
    };
    let mut guard = InFlightGuard {
        state: Arc::clone(&state),
        key,
        armed: true,
    };

    match fault {
        Some(Fault::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Fault::Status500) => {
            let (status, body) = json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"error": "injected"}),
            );
            return Ok(respond(status, body));
        }
        Some(Fault::Status503 { retry_after_secs })
        | Some(Fault::Status429 { retry_after_secs }) => {
            let status = if matches!(fault, Some(Fault::Status429 { .. })) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let (status, body) = json(status, &serde_json::json!({"error": "injected"}));
            let mut response = respond(status, body);
            if let Ok(value) = hyper::header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, value);
            }
            return Ok(response);
        }
        Some(Fault::ResetBeforeCommit) => return Err(Dropped),
        _ => {}
    }

    let (status, answer) = process(&state, key, &body);
    {
        let mut s = lock(&state);
        s.entries.insert(
            key,
            Entry::Done {
                body_hash,
                status,
                body: answer.clone(),
            },
        );
    }
    guard.armed = false;
    match fault {
        Some(Fault::ResetAfterCommit) => Err(Dropped),
        Some(Fault::SlowBody(pause)) => Ok(slow_response(status, answer, pause)),
        Some(Fault::GarbledAnswer) => Ok(respond(
            status,
            Bytes::from_static(b"<html><body>proxy error</body></html>"),
        )),
        _ => Ok(respond(status, answer)),
    }
}

/// Decrypts and checks a submission; stores it when valid. Returns the answer to send.
fn process(state: &Shared, key: Uuid, body: &[u8]) -> (StatusCode, Bytes) {
    let reject = |code: &str| {
        json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!({"error": code}),
        )
    };
    let Ok(submission) = serde_json::from_slice::<SubmissionBody>(body) else {
        return json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "malformed-body"}),
        );
    };
    if submission.id != key {
        return reject("id-does-not-match-idempotency-key");
    }
    if submission.created_at.is_empty() || submission.reference.is_empty() {
        return reject("missing-metadata");
    }
    let (decryption_key, check_content) = {
        let s = lock(state);
        (s.key.clone(), s.config.check_content)
    };
    let plaintext = if check_content {
        let Ok(plaintext) = decryption_key.decrypt(&submission.encrypted_data) else {
            return reject("undecryptable");
        };
        if serde_json::from_slice::<serde_json::Value>(&plaintext).is_err() {
            return reject("payload-not-json");
        }
        plaintext
    } else {
        Vec::new()
    };
    let mut s = lock(state);
    if s.config.rejected_services.contains(&submission.service_id) {
        // Deliberately echoes the answers, like careless real servers do.
        let detail = String::from_utf8_lossy(&plaintext).into_owned();
        return json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!({"error": "unknown-service", "detail": detail}),
        );
    }
    let server_reference = format!("SRV-{:07}", s.received.len() + 1);
    let plaintext_sha256 = Sha256::digest(&plaintext).into();
    s.received.push(ReceivedSubmission {
        id: submission.id,
        reference: submission.reference.clone(),
        service_id: submission.service_id,
        service_version: submission.service_version,
        plaintext,
        plaintext_sha256,
        server_reference: server_reference.clone(),
    });
    json(
        StatusCode::CREATED,
        &serde_json::json!({"id": submission.id, "reference": submission.reference, "serverReference": server_reference}),
    )
}

fn slow_response(status: StatusCode, answer: Bytes, pause: Duration) -> Response<Body> {
    let chunks: Vec<Bytes> = answer.chunks(8).map(Bytes::copy_from_slice).collect();
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), rest))
    });
    let mut response = Response::new(StreamBody::new(stream).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
