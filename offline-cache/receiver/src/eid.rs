//! eID login: the portal side of `docs/sync-api.md` § "eID login", plus a stand-in for
//! the portal's eID server.
//!
//! The kiosk API (bearer token as for `/v1/submissions`):
//!
//! - `POST /v1/eid/sessions` `{"service_id", "kiosk_id", "attributes": [...]}` starts a
//!   login and answers `201 {"session_id", "tc_token_url", "expires_in"}`.
//! - `POST /v1/eid/sessions/{id}/complete` `{"result_url"}` hands out the verified
//!   attributes once (`200 {"attributes": {...}}`) and forgets them.
//!
//! What AusweisApp talks to (no token: the unguessable session id is the capability):
//!
//! - `GET /eid/tc-token/{id}`: the TcToken (XML) naming the eID server and the
//!   RefreshAddress of the session.
//! - `GET /eid/server/{id}` and `POST /eid/server/{id}`: a JSON stand-in for the eID
//!   server's PAOS exchange, used only by `kiosk_eid::virtual_app`. `GET` says which
//!   attributes the provider asks for (in PAOS: the CHAT of `EAC1InputType`); `POST`
//!   delivers what the virtual card holds (in PAOS: the data read from the chip after
//!   PACE with the citizen's PIN). A real portal's eID server speaks PAOS over TLS-PSK
//!   with the PSK of the TcToken; the real AusweisApp fails against this stand-in.
//! - `GET /eid/refresh/{id}`: the RefreshAddress. A browser would land here; the
//!   kiosk instead hands the URL to `/complete`.
//!
//! Personal data (the attributes) lives only in memory, only until `/complete` answers
//! (or the session ends), and is never logged.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::time::Instant;

use crate::{Body, Shared, json, lock, read_body, respond};

/// How long a login session may take from start to `/complete` (`expires_in`).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(600);

/// The attribute names a kiosk may ask for: `kiosk_catalogue::IdentityAttribute::name()`.
pub const ATTRIBUTES: [&str; 10] = [
    "given_names",
    "surname",
    "birth_name",
    "date_of_birth",
    "place_of_birth",
    "nationality",
    "street",
    "house_number",
    "postal_code",
    "city",
];

/// The longest `service_id` accepted.
const MAX_SERVICE_ID: usize = 100;
/// The longest `kiosk_id` accepted.
const MAX_KIOSK_ID: usize = 64;
/// The longest attribute value the eID server stand-in stores.
const MAX_VALUE: usize = 500;

/// Counters of the eID login endpoints, for assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EidStats {
    /// Sessions started (`201` on `POST /v1/eid/sessions`).
    pub sessions_started: u64,
    /// TcTokens served (`GET /eid/tc-token/{id}` answered `200`).
    pub tc_tokens_served: u64,
    /// Cards read through the eID server stand-in (`POST /eid/server/{id}` stored).
    pub card_reads: u64,
    /// Sessions completed with attributes (`200` on `/complete`).
    pub sessions_completed: u64,
    /// `/complete` calls refused with `422` (failed login or foreign result URL).
    pub completions_refused: u64,
}

/// All eID login sessions of one receiver.
pub(crate) struct EidState {
    /// `http://127.0.0.1:<port>` (or `https://`): where AusweisApp reaches this receiver.
    base_url: String,
    sessions: HashMap<String, Session>,
    stats: EidStats,
}

struct Session {
    /// The attributes asked for at start, in the kiosk's order, without repeats.
    requested: Vec<String>,
    /// The TcToken's pre-shared key (hex); a real eID server uses it for TLS-PSK.
    psk: String,
    expires_at: Instant,
    phase: Phase,
}

enum Phase {
    /// Waiting for the card.
    Waiting,
    /// The card was read; the attributes wait for `/complete`.
    CardRead(BTreeMap<String, String>),
    /// Completed, failed or refused for good: nothing is kept but the fact.
    Finished,
}

impl EidState {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            sessions: HashMap::new(),
            stats: EidStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> EidStats {
        self.stats
    }

    /// Lets every session run out (for tests of the `410` path without waiting).
    pub(crate) fn expire_all(&mut self) {
        let now = Instant::now();
        for session in self.sessions.values_mut() {
            session.expires_at = now;
        }
    }

    fn refresh_address(&self, id: &str) -> String {
        format!("{}/eid/refresh/{id}", self.base_url)
    }
}

/// Whether `path` belongs to the eID login endpoints.
pub(crate) fn routes(path: &str) -> bool {
    path.starts_with("/v1/eid/") || path.starts_with("/eid/")
}

pub(crate) async fn handle(state: Shared, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::POST, ["v1", "eid", "sessions"]) => start(&state, request).await,
        (&Method::POST, ["v1", "eid", "sessions", id, "complete"]) => {
            complete(&state, id, request).await
        }
        (&Method::GET, ["eid", "tc-token", id]) => tc_token(&state, id),
        (&Method::GET, ["eid", "server", id]) => server_request(&state, id),
        (&Method::POST, ["eid", "server", id]) => card_read(&state, id, request).await,
        (&Method::GET, ["eid", "refresh", id]) => refresh(&state, id),
        _ => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such eID login endpoint",
        ),
    }
}

/// `{"error": code, "message": text}`; texts never carry personal data.
fn problem(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let (status, body) = json(
        status,
        &serde_json::json!({"error": code, "message": message}),
    );
    respond(status, body)
}

/// The bearer token check of `/v1/submissions`, for the kiosk endpoints.
fn authorized(state: &Shared, request: &Request<Incoming>) -> bool {
    let mut s = lock(state);
    if s.config.credentials.is_none() {
        return true;
    }
    let bearer = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let now = Instant::now();
    let ok = bearer
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|until| *until > now);
    if !ok {
        s.stats.unauthorized += 1;
    }
    ok
}

fn unauthorized() -> Response<Body> {
    problem(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a valid bearer token from /oauth/token is needed",
    )
}

/// `bytes` random bytes as lowercase hex (session ids and PSKs).
fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(serde::Deserialize)]
struct StartBody {
    service_id: String,
    kiosk_id: String,
    attributes: Vec<String>,
}

async fn start(state: &Shared, request: Request<Incoming>) -> Response<Body> {
    if !authorized(state, &request) {
        return unauthorized();
    }
    let Some(body) = read_body(request).await else {
        return problem(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the body could not be read",
        );
    };
    let Ok(body) = serde_json::from_slice::<StartBody>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "expected JSON {\"service_id\", \"kiosk_id\", \"attributes\": [...]}",
        );
    };
    if body.service_id.is_empty() || body.service_id.chars().count() > MAX_SERVICE_ID {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "service_id must have 1 to 100 characters",
        );
    }
    if body.kiosk_id.is_empty() || body.kiosk_id.chars().count() > MAX_KIOSK_ID {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "kiosk_id must have 1 to 64 characters",
        );
    }
    if body.attributes.is_empty() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "attributes must name at least one attribute",
        );
    }
    let mut requested: Vec<String> = Vec::new();
    for name in body.attributes {
        if !ATTRIBUTES.contains(&name.as_str()) {
            // Attribute names are catalogue vocabulary, not personal data.
            let message = format!(
                "attribute '{}' is not one the portal hands out ({})",
                name.chars().take(40).collect::<String>(),
                ATTRIBUTES.join(", ")
            );
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_attribute",
                &message,
            );
        }
        if !requested.contains(&name) {
            requested.push(name);
        }
    }
    let id = random_hex(16);
    let mut s = lock(state);
    let now = Instant::now();
    // Forget sessions that ran out long ago, so a demo that runs for days stays small.
    s.eid
        .sessions
        .retain(|_, session| session.expires_at + SESSION_LIFETIME > now);
    s.eid.sessions.insert(
        id.clone(),
        Session {
            requested,
            psk: random_hex(32),
            expires_at: now + SESSION_LIFETIME,
            phase: Phase::Waiting,
        },
    );
    s.eid.stats.sessions_started += 1;
    let tc_token_url = format!("{}/eid/tc-token/{id}", s.eid.base_url);
    tracing::info!(service = %body.service_id, "eID login session started");
    let (status, body) = json(
        StatusCode::CREATED,
        &serde_json::json!({
            "session_id": id,
            "tc_token_url": tc_token_url,
            "expires_in": SESSION_LIFETIME.as_secs(),
        }),
    );
    respond(status, body)
}

/// Why a session cannot be used any more, as the `410` answer.
fn gone(session: &Session, now: Instant) -> Option<Response<Body>> {
    if matches!(session.phase, Phase::Finished) {
        return Some(problem(
            StatusCode::GONE,
            "session_completed",
            "this eID login was already completed; start a new one",
        ));
    }
    if session.expires_at <= now {
        return Some(problem(
            StatusCode::GONE,
            "session_expired",
            "this eID login expired; start a new one",
        ));
    }
    None
}

fn unknown_session() -> Response<Body> {
    problem(
        StatusCode::NOT_FOUND,
        "unknown_session",
        "no eID login with this session id",
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn tc_token(state: &Shared, id: &str) -> Response<Body> {
    let mut s = lock(state);
    let now = Instant::now();
    let base = s.eid.base_url.clone();
    let refresh = s.eid.refresh_address(id);
    let Some(session) = s.eid.sessions.get(id) else {
        return unknown_session();
    };
    if let Some(answer) = gone(session, now) {
        return answer;
    }
    if !matches!(session.phase, Phase::Waiting) {
        return problem(
            StatusCode::GONE,
            "card_already_read",
            "the card was already read for this eID login",
        );
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <TCTokenType>\
         <ServerAddress>{server}</ServerAddress>\
         <SessionIdentifier>{id}</SessionIdentifier>\
         <RefreshAddress>{refresh}</RefreshAddress>\
         <Binding>urn:liberty:paos:2006-08</Binding>\
         <PathSecurity-Protocol>urn:ietf:rfc:4279</PathSecurity-Protocol>\
         <PathSecurity-Parameters><PSK>{psk}</PSK></PathSecurity-Parameters>\
         </TCTokenType>\n",
        server = xml_escape(&format!("{base}/eid/server/{id}")),
        id = xml_escape(id),
        refresh = xml_escape(&refresh),
        psk = session.psk,
    );
    s.eid.stats.tc_tokens_served += 1;
    let mut response = Response::new(Full::new(Bytes::from(xml)).boxed());
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    response
}

fn server_request(state: &Shared, id: &str) -> Response<Body> {
    let s = lock(state);
    let Some(session) = s.eid.sessions.get(id) else {
        return unknown_session();
    };
    if let Some(answer) = gone(session, Instant::now()) {
        return answer;
    }
    let (status, body) = json(
        StatusCode::OK,
        &serde_json::json!({"attributes": session.requested}),
    );
    respond(status, body)
}

#[derive(serde::Deserialize)]
struct CardBody {
    attributes: BTreeMap<String, String>,
}

async fn card_read(state: &Shared, id: &str, request: Request<Incoming>) -> Response<Body> {
    let body = read_body(request).await.unwrap_or_default();
    // The real AusweisApp sends PAOS XML here: refused like any other unreadable body.
    let Ok(card) = serde_json::from_slice::<CardBody>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "expected JSON {\"attributes\": {name: value}}; this stand-in speaks no PAOS",
        );
    };
    if card
        .attributes
        .values()
        .any(|value| value.len() > MAX_VALUE)
    {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "an attribute value is longer than 500 bytes",
        );
    }
    let mut s = lock(state);
    let Some(session) = s.eid.sessions.get_mut(id) else {
        return unknown_session();
    };
    if let Some(answer) = gone(session, Instant::now()) {
        return answer;
    }
    if !matches!(session.phase, Phase::Waiting) {
        return problem(
            StatusCode::CONFLICT,
            "card_already_read",
            "the card was already read for this eID login",
        );
    }
    session.phase = Phase::CardRead(card.attributes);
    s.eid.stats.card_reads += 1;
    respond(StatusCode::NO_CONTENT, Bytes::new())
}

fn refresh(state: &Shared, id: &str) -> Response<Body> {
    let s = lock(state);
    if !s.eid.sessions.contains_key(id) {
        return unknown_session();
    }
    let (status, body) = json(
        StatusCode::OK,
        &serde_json::json!({
            "message": "the kiosk completes this eID login with POST /v1/eid/sessions/{id}/complete"
        }),
    );
    respond(status, body)
}

#[derive(serde::Deserialize)]
struct CompleteBody {
    result_url: String,
}

/// Whether `result_url` is `refresh` plus nothing or a query, and its `ResultMajor`.
/// `None`: the URL does not belong to the session.
fn result_major(result_url: &str, refresh: &str) -> Option<Option<String>> {
    let rest = result_url.strip_prefix(refresh)?;
    let query = match rest.strip_prefix('?') {
        Some(query) => query,
        None if rest.is_empty() => "",
        None => return None,
    };
    let query = query.split('#').next().unwrap_or("");
    Some(
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "ResultMajor")
            .map(|(_, value)| value.into_owned()),
    )
}

async fn complete(state: &Shared, id: &str, request: Request<Incoming>) -> Response<Body> {
    if !authorized(state, &request) {
        return unauthorized();
    }
    let body = read_body(request).await.unwrap_or_default();
    let Ok(body) = serde_json::from_slice::<CompleteBody>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "expected JSON {\"result_url\": \"...\"}",
        );
    };
    let mut guard = lock(state);
    let eid = &mut guard.eid;
    let refresh = eid.refresh_address(id);
    let Some(session) = eid.sessions.get_mut(id) else {
        return unknown_session();
    };
    if let Some(answer) = gone(session, Instant::now()) {
        return answer;
    }
    let Some(major) = result_major(&body.result_url, &refresh) else {
        eid.stats.completions_refused += 1;
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "result_url_mismatch",
            "the result URL does not belong to this eID login",
        );
    };
    let phase = std::mem::replace(&mut session.phase, Phase::Finished);
    let attributes = match (major.as_deref(), phase) {
        (Some("ok"), Phase::CardRead(attributes)) => attributes,
        _ => {
            eid.stats.completions_refused += 1;
            tracing::info!("eID login completed without a verified identity");
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "login_failed",
                "AusweisApp reported a failure, or the card was never read",
            );
        }
    };
    // Only what the kiosk asked for; anything else the card gave is dropped here.
    let answer: serde_json::Map<String, serde_json::Value> = session
        .requested
        .iter()
        .filter_map(|name| {
            attributes
                .get(name)
                .map(|value| (name.clone(), serde_json::Value::String(value.clone())))
        })
        .collect();
    eid.stats.sessions_completed += 1;
    tracing::info!(
        attributes = answer.len(),
        "eID login completed; attributes handed out and forgotten"
    );
    let (status, body) = json(StatusCode::OK, &serde_json::json!({"attributes": answer}));
    respond(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_urls_must_extend_the_refresh_address() {
        let refresh = "http://127.0.0.1:1/eid/refresh/ab";
        assert_eq!(
            result_major("http://127.0.0.1:1/eid/refresh/ab?ResultMajor=ok", refresh),
            Some(Some("ok".into()))
        );
        assert_eq!(
            result_major(
                "http://127.0.0.1:1/eid/refresh/ab?ResultMajor=error&ResultMinor=x",
                refresh
            ),
            Some(Some("error".into()))
        );
        assert_eq!(result_major(refresh, refresh), Some(None));
        assert_eq!(
            result_major("http://127.0.0.1:1/eid/refresh/abc?ResultMajor=ok", refresh),
            None
        );
        assert_eq!(
            result_major("http://127.0.0.1:1/eid/refresh/a?ResultMajor=ok", refresh),
            None
        );
    }
}
