//! A loopback FIT-Connect delivery service and office for tests.
//!
//! Implements the subset of the Submission API v2 a sender uses (see
//! `offline-cache/fit-connect/fit-connect-subset.openapi.yaml`): the OAuth2
//! token endpoint (`client_secret_post`), `GET /v2/destinations/{id}`,
//! `GET /v2/destinations/{id}/keys/{kid}` (JWKs with `x5c` chains of the test
//! PKI), `GET /.well-known/jwks.json`, `POST /v2/submissions`,
//! `PUT /v2/submissions/{id}/attachments/{aid}`, `PUT /v2/submissions/{id}` and
//! `GET /v2/cases/{caseId}/events`. Every request is checked against that
//! subset; a request that does not conform is answered 400/422 and recorded
//! as a *violation* (tests assert there are none). On submit it decrypts
//! metadata, data and attachments with the destination's test private key and
//! checks the metadata (schema 2.x, SHA-512 hashes, schema URI, announced
//! attachments). Events are Security Event Tokens signed PS512: the delivery
//! service signs `submit-submission`, the office (destination signature key)
//! signs `accept-submission` or `reject-submission`. Faults from
//! [`crate::Faults`] are injected on announce, uploads, submit and event reads.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::traits::PublicKeyParts;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256, Sha512};
use uuid::Uuid;

use crate::test_keys::fit_connect as keys;
use crate::{Body, DecryptionKey, Dropped, Fault, Faults, json, read_body, respond};

/// The key ids the test destination and delivery service use.
pub const ENCRYPTION_KID: &str = "enc-test-1";
/// The destination's signature key id.
pub const SIGNATURE_KID: &str = "sig-test-1";
/// The delivery service's SET signing key id.
pub const SERVICE_KID: &str = "zsd-test-1";

/// A public service the test destination offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedService {
    /// LeiKa key (`urn:de:fim:leika:leistung:...`).
    pub identifier: String,
    /// Its name.
    pub name: String,
    /// The submission schema URI it accepts.
    pub submission_schema_uri: String,
    /// Regions it serves (empty: any).
    pub regions: Vec<String>,
}

/// How the loopback FIT-Connect behaves.
#[derive(Debug, Clone)]
pub struct FitConnectServerConfig {
    /// Where to listen (127.0.0.1, port 0 picks one).
    pub bind: SocketAddr,
    /// The sender client's credentials.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// `expires_in` of issued tokens (FIT-Connect: 1,800 s).
    pub token_lifetime: Duration,
    /// The destination id.
    pub destination_id: Uuid,
    /// The destination's `status`.
    pub destination_status: String,
    /// What it offers.
    pub services: Vec<OfferedService>,
    /// The office decides (accepts or rejects) at the n-th event-log read after submit.
    pub decide_after_reads: u32,
    /// The office rejects submissions whose decrypted data contains this text.
    pub reject_when_data_contains: Option<String>,
    /// Serve the encryption key with a certificate from an untrusted root.
    pub untrusted_encryption_certificate: bool,
    /// Seed for random faults.
    pub seed: u64,
}

impl FitConnectServerConfig {
    /// A destination with the [`keys`] material offering `services`.
    pub fn new(services: Vec<OfferedService>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "kiosk-sender".into(),
            client_secret: "test-secret".into(),
            token_lifetime: Duration::from_secs(1800),
            destination_id: Uuid::from_u128(0x879e_e109_a690_4db8_ab32_4242_8418_4d7d),
            destination_status: "active".into(),
            services,
            decide_after_reads: 1,
            reject_when_data_contains: None,
            untrusted_encryption_certificate: false,
            seed: 7,
        }
    }
}

/// One submission the office received (test data).
#[derive(Clone, PartialEq, Eq)]
pub struct FitConnectReceived {
    /// The server's submission id.
    pub submission_id: Uuid,
    /// The case id.
    pub case_id: Uuid,
    /// `publicService.identifier`.
    pub leika_key: String,
    /// The decrypted data.
    pub data: Vec<u8>,
    /// SHA-256 of the decrypted data (to compare with what the kiosk saved).
    pub data_sha256: [u8; 32],
    /// SHA-256 of each decrypted attachment, in announce order.
    pub attachments_sha256: Vec<[u8; 32]>,
    /// The decrypted metadata.
    pub metadata: serde_json::Value,
}

impl std::fmt::Debug for FitConnectReceived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitConnectReceived")
            .field("submission_id", &self.submission_id)
            .field("leika_key", &self.leika_key)
            .finish_non_exhaustive()
    }
}

/// Counters for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FitConnectStats {
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Announces stored (`POST /v2/submissions` answered 201, or dropped after storing).
    pub announces: u64,
    /// Attachment uploads stored.
    pub uploads: u64,
    /// Submissions handed over (submit stored).
    pub submits: u64,
    /// Submit requests for a submission that was already submitted.
    pub repeated_submits: u64,
    /// Accepted by the office.
    pub accepted: u64,
    /// Rejected by the office.
    pub rejected: u64,
    /// Event-log reads.
    pub event_reads: u64,
    /// Faults injected.
    pub faults: u64,
    /// Requests refused for a missing or expired token.
    pub unauthorized: u64,
    /// Requests that did not conform to the API subset.
    pub violations: u64,
}

#[derive(PartialEq, Eq)]
enum Status {
    Incomplete,
    Submitted,
}

struct Submission {
    case_id: Uuid,
    announced: Vec<Uuid>,
    public_service: (String, String),
    attachments: HashMap<Uuid, Vec<u8>>,
    status: Status,
    events: Vec<String>,
    reads_since_submit: u32,
    decided: bool,
    reject: bool,
}

struct State {
    config: FitConnectServerConfig,
    base_url: String,
    enc: DecryptionKey,
    enc_public: rsa::RsaPublicKey,
    dest_sig: RsaPrivateKey,
    service_sig: RsaPrivateKey,
    tokens: HashMap<String, tokio::time::Instant>,
    submissions: HashMap<Uuid, Submission>,
    cases: HashMap<Uuid, Uuid>,
    received: Vec<FitConnectReceived>,
    stats: FitConnectStats,
    violations: Vec<String>,
    faults: Faults,
    script: VecDeque<Fault>,
    rng: rand::rngs::StdRng,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The loopback server could not start.
#[derive(Debug, thiserror::Error)]
#[error("loopback FIT-Connect: {0}")]
pub struct FitConnectStartError(String);

/// A running loopback FIT-Connect; dropping it stops the server.
pub struct FitConnectServer {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FitConnectServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitConnectServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FitConnectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn private_key(pem: &str) -> Result<RsaPrivateKey, FitConnectStartError> {
    RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .map_err(|e| FitConnectStartError(format!("test key: {e}")))
}

fn x5c(pems: &[&str]) -> Vec<String> {
    pems.iter()
        .flat_map(|pem| CertificateDer::pem_slice_iter(pem.as_bytes()))
        .filter_map(Result::ok)
        .map(|der| STANDARD.encode(der.as_ref()))
        .collect()
}

fn jwk(
    key: &rsa::RsaPublicKey,
    kid: &str,
    alg: &str,
    op: &str,
    chain: Option<Vec<String>>,
) -> serde_json::Value {
    let mut jwk = serde_json::json!({
        "kty": "RSA",
        "kid": kid,
        "alg": alg,
        "key_ops": [op],
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    });
    if let Some(chain) = chain {
        jwk["x5c"] = chain.into();
    }
    jwk
}

impl FitConnectServer {
    /// Binds on 127.0.0.1 and serves on the current tokio runtime.
    pub async fn start(config: FitConnectServerConfig) -> Result<Self, FitConnectStartError> {
        let enc = private_key(keys::DEST_ENC_KEY_PEM)?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| FitConnectStartError(format!("cannot listen: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| FitConnectStartError(e.to_string()))?;
        let state: Shared = Arc::new(Mutex::new(State {
            base_url: format!("http://{addr}"),
            enc_public: enc.to_public_key(),
            enc: DecryptionKey::from_key(enc),
            dest_sig: private_key(keys::DEST_SIG_KEY_PEM)?,
            service_sig: private_key(keys::SERVICE_SIG_KEY_PEM)?,
            rng: rand::rngs::StdRng::seed_from_u64(config.seed),
            config,
            tokens: HashMap::new(),
            submissions: HashMap::new(),
            cases: HashMap::new(),
            received: Vec::new(),
            stats: FitConnectStats::default(),
            violations: Vec::new(),
            faults: Faults::default(),
            script: VecDeque::new(),
        }));
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        let state = Arc::clone(&accept_state);
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |request| handle(Arc::clone(&state), request));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:<port>`: the Submission API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Submissions the office received (submitted), in order.
    pub fn received(&self) -> Vec<FitConnectReceived> {
        lock(&self.state).received.clone()
    }

    /// Counters.
    pub fn stats(&self) -> FitConnectStats {
        lock(&self.state).stats
    }

    /// What each non-conforming request did wrong (empty when the kiosk followed the API).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state).violations.clone()
    }

    /// Announced submissions that were never submitted (orphans of lost answers).
    pub fn unsubmitted(&self) -> usize {
        lock(&self.state)
            .submissions
            .values()
            .filter(|s| s.status == Status::Incomplete)
            .count()
    }

    /// Replaces the random faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.state).faults = faults;
    }

    /// Queues faults for the next fault-injectable requests, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state).script.extend(faults);
    }

    /// Changes the destination's `status` (e.g. `inactive`).
    pub fn set_destination_status(&self, status: &str) {
        lock(&self.state).config.destination_status = status.to_owned();
    }

    /// Adds a SET to a case's log as if the delivery service wrote it, signed
    /// with a key that is *not* the service's (a forgery), for negative tests.
    pub fn forge_accept(&self, submission_id: Uuid) {
        let mut s = lock(&self.state);
        let forger = s.dest_sig.clone();
        let Some(sub) = s.submissions.get(&submission_id) else {
            return;
        };
        let case_id = sub.case_id;
        let base = s.base_url.clone();
        let token = sign_set(
            &forger,
            SERVICE_KID,
            &base,
            submission_id,
            case_id,
            "https://schema.fitko.de/fit-connect/events/accept-submission",
            serde_json::json!({}),
        );
        if let Some(sub) = s.submissions.get_mut(&submission_id) {
            sub.events.push(token);
        }
    }
}

fn sign_set(
    key: &RsaPrivateKey,
    kid: &str,
    issuer: &str,
    submission_id: Uuid,
    case_id: Uuid,
    event: &str,
    payload: serde_json::Value,
) -> String {
    let header = serde_json::json!({"typ": "secevent+jwt", "alg": "PS512", "kid": kid});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = serde_json::json!({
        "$schema": "https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json",
        "jti": Uuid::new_v4(),
        "iss": issuer,
        "iat": now,
        "sub": format!("submission:{submission_id}"),
        "txn": format!("case:{case_id}"),
        "events": { event: payload },
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signer = rsa::pss::BlindedSigningKey::<Sha512>::new(key.clone());
    let signature = signer.sign_with_rng(&mut rand::thread_rng(), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_vec()))
}

fn problem(status: StatusCode, code: &str) -> Response<Body> {
    let (status, body) = json(
        status,
        &serde_json::json!({
            "type": format!("https://schema.fitko.de/fit-connect/submission-api/problems/{code}"),
            "title": code,
            "status": status.as_u16(),
        }),
    );
    let mut response = respond(status, body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Records a request that broke the API subset and answers it.
fn violation(state: &Shared, status: StatusCode, code: &str, what: String) -> Response<Body> {
    let mut s = lock(state);
    s.stats.violations += 1;
    s.violations.push(format!("{code}: {what}"));
    drop(s);
    problem(status, code)
}

fn content_type(request: &Request<Incoming>) -> String {
    request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn authorized(state: &Shared, request: &Request<Incoming>) -> bool {
    let mut s = lock(state);
    let now = tokio::time::Instant::now();
    let ok = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|until| *until > now);
    if !ok {
        s.stats.unauthorized += 1;
    }
    ok
}

/// Draws a fault for a fault-injectable request; `Err` drops the connection.
async fn before(state: &Shared) -> Result<Option<Fault>, Option<Response<Body>>> {
    let fault = {
        let mut s = lock(state);
        let s = &mut *s;
        let fault = crate::draw(&mut s.script, s.faults, &mut s.rng);
        if fault.is_some_and(|f| !matches!(f, Fault::Delay(_))) {
            s.stats.faults += 1;
        }
        fault
    };
    match fault {
        Some(Fault::Delay(pause)) => {
            tokio::time::sleep(pause).await;
            Ok(None)
        }
        Some(Fault::Status500) => Err(Some(problem(StatusCode::INTERNAL_SERVER_ERROR, "injected"))),
        Some(Fault::Status503 { retry_after_secs }) => {
            let mut response = problem(StatusCode::SERVICE_UNAVAILABLE, "injected");
            if let Ok(value) = hyper::header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, value);
            }
            Err(Some(response))
        }
        Some(Fault::ResetBeforeCommit) => Err(None),
        other => Ok(other),
    }
}

/// Sends a ready answer, applying a post-commit fault.
fn after(fault: Option<Fault>, status: StatusCode, body: Bytes) -> Result<Response<Body>, Dropped> {
    match fault {
        Some(Fault::ResetAfterCommit) => Err(Dropped),
        Some(Fault::SlowBody(pause)) if !body.is_empty() => {
            Ok(crate::slow_response(status, body, pause))
        }
        _ => Ok(respond(status, body)),
    }
}

async fn handle(state: Shared, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    if method == Method::POST && segments == ["token"] {
        return Ok(token(&state, request).await);
    }
    if method == Method::GET && segments == [".well-known", "jwks.json"] {
        let s = lock(&state);
        let key = s.service_sig.to_public_key();
        let (status, body) = json(
            StatusCode::OK,
            &serde_json::json!({"keys": [jwk(&key, SERVICE_KID, "PS512", "verify", None)]}),
        );
        return Ok(respond(status, body));
    }
    if !authorized(&state, &request) {
        return Ok(problem(StatusCode::UNAUTHORIZED, "invalid-token"));
    }
    match (method, segments.as_slice()) {
        (Method::GET, ["v2", "destinations", id]) => Ok(destination(&state, id)),
        (Method::GET, ["v2", "destinations", id, "keys", kid]) => Ok(key(&state, id, kid)),
        (Method::POST, ["v2", "submissions"]) => announce(&state, request).await,
        (Method::PUT, ["v2", "submissions", sid, "attachments", aid]) => {
            let (sid, aid) = ((*sid).to_owned(), (*aid).to_owned());
            upload(&state, request, &sid, &aid).await
        }
        (Method::PUT, ["v2", "submissions", sid]) => {
            let sid = (*sid).to_owned();
            submit(&state, request, &sid).await
        }
        (Method::GET, ["v2", "cases", case, "events"]) => {
            let case = (*case).to_owned();
            events(&state, &request, &case).await
        }
        _ => Ok(violation(
            &state,
            StatusCode::NOT_FOUND,
            "unknown-endpoint",
            path.clone(),
        )),
    }
}

async fn token(state: &Shared, request: Request<Incoming>) -> Response<Body> {
    if content_type(&request) != "application/x-www-form-urlencoded" {
        return violation(
            state,
            StatusCode::BAD_REQUEST,
            "token-content-type",
            content_type(&request),
        );
    }
    let body = read_body(request).await.unwrap_or_default();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut s = lock(state);
    let valid = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id") == Some(&s.config.client_id)
        && form.get("client_secret") == Some(&s.config.client_secret);
    if !valid {
        drop(s);
        return problem(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let token = format!("fc-{}", Uuid::new_v4().simple());
    let lifetime = s.config.token_lifetime;
    s.tokens
        .insert(token.clone(), tokio::time::Instant::now() + lifetime);
    s.stats.tokens_issued += 1;
    let (status, body) = json(
        StatusCode::OK,
        &serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime.as_secs(), "scope": "send-submissions"}),
    );
    respond(status, body)
}

fn destination(state: &Shared, id: &str) -> Response<Body> {
    let s = lock(state);
    if Uuid::parse_str(id).ok() != Some(s.config.destination_id) {
        drop(s);
        return problem(StatusCode::NOT_FOUND, "destination-not-found");
    }
    let services: Vec<serde_json::Value> = s
        .config
        .services
        .iter()
        .map(|service| {
            serde_json::json!({
                "identifier": service.identifier,
                "name": service.name,
                "submissionSchemas": [{"schemaUri": service.submission_schema_uri, "mimeType": "application/json"}],
                "regions": service.regions,
            })
        })
        .collect();
    let (status, body) = json(
        StatusCode::OK,
        &serde_json::json!({
            "destinationId": s.config.destination_id,
            "status": s.config.destination_status,
            "encryptionKid": ENCRYPTION_KID,
            "metadataVersions": ["2.1.0"],
            "publicServices": services,
        }),
    );
    respond(status, body)
}

fn key(state: &Shared, id: &str, kid: &str) -> Response<Body> {
    let s = lock(state);
    if Uuid::parse_str(id).ok() != Some(s.config.destination_id) {
        drop(s);
        return problem(StatusCode::NOT_FOUND, "destination-not-found");
    }
    let body = match kid {
        ENCRYPTION_KID => {
            let chain = if s.config.untrusted_encryption_certificate {
                x5c(&[keys::DEST_ENC_UNTRUSTED_CERT_PEM])
            } else {
                x5c(&[keys::DEST_ENC_CERT_PEM, keys::INTERMEDIATE_PEM])
            };
            jwk(
                &s.enc_public,
                ENCRYPTION_KID,
                "RSA-OAEP-256",
                "wrapKey",
                Some(chain),
            )
        }
        SIGNATURE_KID => jwk(
            &s.dest_sig.to_public_key(),
            SIGNATURE_KID,
            "PS512",
            "verify",
            Some(x5c(&[keys::DEST_SIG_CERT_PEM, keys::INTERMEDIATE_PEM])),
        ),
        _ => {
            drop(s);
            return problem(StatusCode::NOT_FOUND, "key-not-found");
        }
    };
    let (status, body) = json(StatusCode::OK, &body);
    respond(status, body)
}

fn is_jwe_compact(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 5
        && parts.iter().enumerate().all(|(i, p)| {
            (i == 1 || !p.is_empty())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn only_keys(
    object: &serde_json::Map<String, serde_json::Value>,
    allowed: &[&str],
) -> Option<String> {
    object
        .keys()
        .find(|k| !allowed.contains(&k.as_str()))
        .cloned()
}

async fn announce(state: &Shared, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    if content_type(&request) != "application/json" {
        return Ok(violation(
            state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "announce-content-type",
            content_type(&request),
        ));
    }
    let body = read_body(request).await.unwrap_or_default();
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-not-json",
            String::new(),
        ));
    };
    if let Some(extra) = only_keys(
        &doc,
        &[
            "destinationId",
            "announcedAttachments",
            "publicService",
            "region",
        ],
    ) {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-unknown-field",
            extra,
        ));
    }
    let destination_ok = doc["destinationId"]
        .as_str()
        .and_then(|d| Uuid::parse_str(d).ok())
        == Some(lock(state).config.destination_id);
    if !destination_ok {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-destination",
            doc["destinationId"].to_string(),
        ));
    }
    let Some(attachments) = doc["announcedAttachments"].as_array().map(|a| {
        a.iter()
            .map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
            .collect::<Option<Vec<Uuid>>>()
    }) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-attachments",
            "missing".into(),
        ));
    };
    let Some(attachments) = attachments else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-attachments",
            "not UUIDs".into(),
        ));
    };
    if attachments.iter().collect::<HashSet<_>>().len() != attachments.len() {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-attachments",
            "duplicates".into(),
        ));
    }
    let Some(service) = doc["publicService"].as_object() else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-public-service",
            "missing".into(),
        ));
    };
    if let Some(extra) = only_keys(service, &["name", "identifier"]) {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-public-service",
            extra,
        ));
    }
    let (Some(name), Some(identifier)) = (
        service.get("name").and_then(|v| v.as_str()),
        service.get("identifier").and_then(|v| v.as_str()),
    ) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "announce-public-service",
            "name and identifier".into(),
        ));
    };
    let region = match doc.get("region") {
        None => None,
        Some(serde_json::Value::String(r)) => Some(r.clone()),
        Some(_) => {
            return Ok(violation(
                state,
                StatusCode::BAD_REQUEST,
                "announce-region",
                "not a string".into(),
            ));
        }
    };
    let offered = lock(state)
        .config
        .services
        .iter()
        .find(|s| s.identifier == identifier)
        .cloned();
    let Some(offered) = offered else {
        return Ok(violation(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "announce-service-not-offered",
            identifier.to_owned(),
        ));
    };
    if let Some(region) = &region
        && !offered.regions.is_empty()
        && !offered.regions.contains(region)
    {
        return Ok(violation(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "announce-region-not-served",
            region.clone(),
        ));
    }
    let fault = match before(state).await {
        Ok(fault) => fault,
        Err(Some(response)) => return Ok(response),
        Err(None) => return Err(Dropped),
    };
    let (submission_id, case_id) = (Uuid::new_v4(), Uuid::new_v4());
    let destination_id = {
        let mut s = lock(state);
        s.stats.announces += 1;
        s.cases.insert(case_id, submission_id);
        s.submissions.insert(
            submission_id,
            Submission {
                case_id,
                announced: attachments,
                public_service: (identifier.to_owned(), name.to_owned()),
                attachments: HashMap::new(),
                status: Status::Incomplete,
                events: Vec::new(),
                reads_since_submit: 0,
                decided: false,
                reject: false,
            },
        );
        s.config.destination_id
    };
    let (status, body) = json(
        StatusCode::CREATED,
        &serde_json::json!({"destinationId": destination_id, "submissionId": submission_id, "caseId": case_id}),
    );
    after(fault, status, body)
}

async fn upload(
    state: &Shared,
    request: Request<Incoming>,
    sid: &str,
    aid: &str,
) -> Result<Response<Body>, Dropped> {
    if content_type(&request) != "application/jose" {
        return Ok(violation(
            state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "upload-content-type",
            content_type(&request),
        ));
    }
    let (Ok(sid), Ok(aid)) = (Uuid::parse_str(sid), Uuid::parse_str(aid)) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "upload-ids",
            "not UUIDs".into(),
        ));
    };
    let body = read_body(request).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    if !is_jwe_compact(&text) {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "upload-not-jwe",
            String::new(),
        ));
    }
    {
        let s = lock(state);
        match s.submissions.get(&sid) {
            None => {
                drop(s);
                return Ok(problem(StatusCode::NOT_FOUND, "submission-not-found"));
            }
            Some(sub) if sub.status != Status::Incomplete => {
                drop(s);
                return Ok(violation(
                    state,
                    StatusCode::CONFLICT,
                    "upload-after-submit",
                    sid.to_string(),
                ));
            }
            Some(sub) if !sub.announced.contains(&aid) => {
                drop(s);
                return Ok(violation(
                    state,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "upload-not-announced",
                    aid.to_string(),
                ));
            }
            Some(_) => {}
        }
    }
    let key = lock(state).enc.clone();
    let plaintext = match key.decrypt_checked(&text, false) {
        Ok((header, plaintext)) if header["kid"] == ENCRYPTION_KID => plaintext,
        Ok(_) => {
            return Ok(violation(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "upload-wrong-kid",
                String::new(),
            ));
        }
        Err(e) => {
            return Ok(violation(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "upload-undecryptable",
                e.to_string(),
            ));
        }
    };
    let fault = match before(state).await {
        Ok(fault) => fault,
        Err(Some(response)) => return Ok(response),
        Err(None) => return Err(Dropped),
    };
    {
        let mut s = lock(state);
        s.stats.uploads += 1;
        if let Some(sub) = s.submissions.get_mut(&sid) {
            sub.attachments.insert(aid, plaintext);
        }
    }
    after(fault, StatusCode::NO_CONTENT, Bytes::new())
}

fn sha512_hex(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks decrypted metadata against the announce and the decrypted contents.
fn check_metadata(
    metadata: &serde_json::Value,
    data: &[u8],
    sub: &Submission,
    offered: &OfferedService,
) -> Result<(), String> {
    let schema = metadata["$schema"].as_str().unwrap_or_default();
    let schema_ok = schema
        .strip_prefix("https://schema.fitko.de/fit-connect/metadata/2.")
        .and_then(|rest| rest.strip_suffix("/metadata.schema.json"))
        .is_some_and(|v| {
            let parts: Vec<&str> = v.split('.').collect();
            parts.len() == 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    if !schema_ok {
        return Err(format!(
            "$schema '{schema}' is not a metadata 2.x schema URI"
        ));
    }
    let data_part = &metadata["contentStructure"]["data"];
    if data_part["hash"]["type"] != "sha512" {
        return Err("contentStructure.data.hash.type is not sha512".into());
    }
    if data_part["hash"]["content"] != sha512_hex(data) {
        return Err("contentStructure.data.hash.content does not match the data".into());
    }
    if data_part["submissionSchema"]["schemaUri"] != offered.submission_schema_uri
        || data_part["submissionSchema"]["mimeType"] != "application/json"
    {
        return Err("submissionSchema is not the one the destination offers".into());
    }
    if metadata["publicService"]["identifier"] != sub.public_service.0
        || metadata["publicService"]["name"] != sub.public_service.1
    {
        return Err("publicService differs from the announce".into());
    }
    let Some(entries) = metadata["contentStructure"]["attachments"].as_array() else {
        return Err("contentStructure.attachments is missing".into());
    };
    let mut seen = HashSet::new();
    for entry in entries {
        let id = entry["attachmentId"]
            .as_str()
            .and_then(|a| Uuid::parse_str(a).ok());
        let Some(id) = id.filter(|id| sub.announced.contains(id)) else {
            return Err("an attachment entry names an unannounced attachment".into());
        };
        seen.insert(id);
        let Some(content) = sub.attachments.get(&id) else {
            return Err("an attachment was not uploaded".into());
        };
        if entry["hash"]["type"] != "sha512" || entry["hash"]["content"] != sha512_hex(content) {
            return Err("an attachment hash does not match its content".into());
        }
        if !["form", "attachment", "report"]
            .contains(&entry["purpose"].as_str().unwrap_or_default())
            || !entry["mimeType"].is_string()
        {
            return Err("an attachment entry lacks purpose or mimeType".into());
        }
    }
    if seen.len() != sub.announced.len() {
        return Err("the metadata does not list every announced attachment".into());
    }
    Ok(())
}

async fn submit(
    state: &Shared,
    request: Request<Incoming>,
    sid: &str,
) -> Result<Response<Body>, Dropped> {
    if content_type(&request) != "application/json" {
        return Ok(violation(
            state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "submit-content-type",
            content_type(&request),
        ));
    }
    let Ok(sid) = Uuid::parse_str(sid) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "submit-id",
            "not a UUID".into(),
        ));
    };
    let body = read_body(request).await.unwrap_or_default();
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "submit-not-json",
            String::new(),
        ));
    };
    if let Some(extra) = only_keys(&doc, &["encryptedMetadata", "encryptedData"]) {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "submit-unknown-field",
            extra,
        ));
    }
    let (Some(metadata_jwe), Some(data_jwe)) = (
        doc.get("encryptedMetadata").and_then(|v| v.as_str()),
        doc.get("encryptedData").and_then(|v| v.as_str()),
    ) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "submit-fields",
            "encryptedMetadata and encryptedData are required".into(),
        ));
    };
    if !is_jwe_compact(metadata_jwe) || !is_jwe_compact(data_jwe) {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "submit-not-jwe",
            String::new(),
        ));
    }
    {
        let mut s = lock(state);
        match s.submissions.get(&sid) {
            None => {
                drop(s);
                return Ok(problem(StatusCode::NOT_FOUND, "submission-not-found"));
            }
            Some(sub) if sub.status == Status::Submitted => {
                // A state conflict, not a malformed request: a sender killed
                // while its submit was on the wire cannot know it arrived.
                // Counted, refused, and never a second hand-over.
                s.stats.repeated_submits += 1;
                drop(s);
                return Ok(problem(
                    StatusCode::CONFLICT,
                    "submission-already-submitted",
                ));
            }
            Some(sub)
                if sub
                    .announced
                    .iter()
                    .any(|a| !sub.attachments.contains_key(a)) =>
            {
                drop(s);
                return Ok(violation(
                    state,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "submit-missing-attachments",
                    sid.to_string(),
                ));
            }
            Some(_) => {}
        }
    }
    let key = lock(state).enc.clone();
    let decrypt = |jwe: &str, what: &str| match key.decrypt_checked(jwe, true) {
        Ok((header, plaintext)) if header["kid"] == ENCRYPTION_KID => Ok(plaintext),
        Ok(_) => Err(format!("{what}: wrong kid")),
        Err(e) => Err(format!("{what}: {e}")),
    };
    let (metadata, data) = match (decrypt(metadata_jwe, "metadata"), decrypt(data_jwe, "data")) {
        (Ok(m), Ok(d)) => (m, d),
        (Err(e), _) | (_, Err(e)) => {
            return Ok(violation(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "submit-undecryptable",
                e,
            ));
        }
    };
    let Ok(metadata) = serde_json::from_slice::<serde_json::Value>(&metadata) else {
        return Ok(violation(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "metadata-not-json",
            String::new(),
        ));
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&data).is_err() {
        return Ok(violation(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "data-not-json",
            String::new(),
        ));
    }
    let checked = {
        let s = lock(state);
        let sub = s.submissions.get(&sid);
        let offered = sub.and_then(|sub| {
            s.config
                .services
                .iter()
                .find(|o| o.identifier == sub.public_service.0)
        });
        match (sub, offered) {
            (Some(sub), Some(offered)) => check_metadata(&metadata, &data, sub, offered),
            _ => Err("unknown submission".into()),
        }
    };
    if let Err(what) = checked {
        return Ok(violation(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "metadata-invalid",
            what,
        ));
    }
    let fault = match before(state).await {
        Ok(fault) => fault,
        Err(Some(response)) => return Ok(response),
        Err(None) => return Err(Dropped),
    };
    let answer = {
        let mut s = lock(state);
        let s = &mut *s;
        let reject = s
            .config
            .reject_when_data_contains
            .as_ref()
            .is_some_and(|marker| data.windows(marker.len()).any(|w| w == marker.as_bytes()));
        let base = s.base_url.clone();
        let destination_id = s.config.destination_id;
        let Some(sub) = s.submissions.get_mut(&sid) else {
            return Ok(problem(StatusCode::NOT_FOUND, "submission-not-found"));
        };
        sub.status = Status::Submitted;
        sub.reject = reject;
        sub.events.push(sign_set(
            &s.service_sig,
            SERVICE_KID,
            &base,
            sid,
            sub.case_id,
            "https://schema.fitko.de/fit-connect/events/submit-submission",
            serde_json::json!({}),
        ));
        let received = FitConnectReceived {
            submission_id: sid,
            case_id: sub.case_id,
            leika_key: sub.public_service.0.clone(),
            data_sha256: Sha256::digest(&data).into(),
            attachments_sha256: sub
                .announced
                .iter()
                .filter_map(|a| sub.attachments.get(a))
                .map(|c| Sha256::digest(c).into())
                .collect(),
            data,
            metadata,
        };
        let case_id = sub.case_id;
        s.received.push(received);
        s.stats.submits += 1;
        serde_json::json!({"destinationId": destination_id, "submissionId": sid, "caseId": case_id})
    };
    let (status, body) = json(StatusCode::OK, &answer);
    after(fault, status, body)
}

async fn events(
    state: &Shared,
    request: &Request<Incoming>,
    case: &str,
) -> Result<Response<Body>, Dropped> {
    let Ok(case_id) = Uuid::parse_str(case) else {
        return Ok(violation(
            state,
            StatusCode::BAD_REQUEST,
            "events-case-id",
            "not a UUID".into(),
        ));
    };
    let query: HashMap<String, String> =
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let offset: usize = match query.get("offset").map(|v| v.parse()) {
        None => 0,
        Some(Ok(v)) => v,
        Some(Err(_)) => {
            return Ok(violation(
                state,
                StatusCode::BAD_REQUEST,
                "events-offset",
                String::new(),
            ));
        }
    };
    let limit: usize = match query.get("limit").map(|v| v.parse()) {
        None => 100,
        Some(Ok(v)) if (1..=500).contains(&v) => v,
        Some(_) => {
            return Ok(violation(
                state,
                StatusCode::BAD_REQUEST,
                "events-limit",
                String::new(),
            ));
        }
    };
    let fault = match before(state).await {
        Ok(fault) => fault,
        Err(Some(response)) => return Ok(response),
        Err(None) => return Err(Dropped),
    };
    let answer = {
        let mut s = lock(state);
        let s = &mut *s;
        s.stats.event_reads += 1;
        let Some(sid) = s.cases.get(&case_id).copied() else {
            return Ok(problem(StatusCode::NOT_FOUND, "case-not-found"));
        };
        let decide_after = s.config.decide_after_reads;
        let destination_id = s.config.destination_id;
        let Some(sub) = s.submissions.get_mut(&sid) else {
            return Ok(problem(StatusCode::NOT_FOUND, "case-not-found"));
        };
        if sub.status == Status::Submitted && !sub.decided {
            sub.reads_since_submit += 1;
            if sub.reads_since_submit >= decide_after {
                sub.decided = true;
                let (event, payload) = if sub.reject {
                    s.stats.rejected += 1;
                    (
                        "https://schema.fitko.de/fit-connect/events/reject-submission",
                        serde_json::json!({"problems": [{
                            "type": "https://schema.fitko.de/fit-connect/events/problems/invalid-data",
                            "title": "Fachdaten ungültig",
                            "detail": "Erika Mustermann: Angabe fehlt",
                            "instance": "data",
                        }]}),
                    )
                } else {
                    s.stats.accepted += 1;
                    (
                        "https://schema.fitko.de/fit-connect/events/accept-submission",
                        serde_json::json!({}),
                    )
                };
                let token = sign_set(
                    &s.dest_sig,
                    SIGNATURE_KID,
                    &destination_id.to_string(),
                    sid,
                    sub.case_id,
                    event,
                    payload,
                );
                sub.events.push(token);
            }
        }
        let page: Vec<&String> = sub.events.iter().skip(offset).take(limit).collect();
        serde_json::json!({"offset": offset, "count": page.len(), "totalCount": sub.events.len(), "eventLog": page})
    };
    let (status, body) = json(StatusCode::OK, &answer);
    after(fault, status, body)
}
