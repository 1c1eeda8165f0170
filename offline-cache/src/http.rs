//! The HTTPS JSON transport for the kiosk sync API (`docs/sync-api.md`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

use crate::outbox::Envelope;
use crate::transport::{DeliveryOutcome, FailureClass, RetryScope, Transport};

/// OAuth2 client credentials (`client_secret_post`, RFC 6749 section 4.4).
#[derive(Clone)]
pub struct ClientCredentials {
    /// The token endpoint, e.g. `https://auth.example.org/token`.
    pub token_url: String,
    /// The kiosk's client id.
    pub client_id: String,
    /// The kiosk's client secret.
    pub client_secret: SecretString,
    /// Requested scope, if the server wants one.
    pub scope: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// Settings of the HTTPS transport.
#[derive(Debug, Clone)]
pub struct HttpTransportConfig {
    /// Base URL of the sync API; `POST {base_url}/v1/submissions`. Must be
    /// `https://`, except for a loopback host (tests, demo).
    pub base_url: String,
    /// OAuth2 client credentials; `None` sends no `Authorization` header.
    pub credentials: Option<ClientCredentials>,
    /// Whole-request timeout (connect, send, answer).
    pub request_timeout: Duration,
    /// Trust the Mozilla root store (`webpki-roots`).
    pub public_roots: bool,
    /// Extra trusted roots as PEM (e.g. the Verwaltungs-PKI root).
    pub extra_roots_pem: Option<String>,
    /// SHA-256 of the SubjectPublicKeyInfo of a certificate in the server's
    /// chain; when not empty, one of them must match (in addition to normal validation).
    pub pinned_spki_sha256: Vec<[u8; 32]>,
}

impl HttpTransportConfig {
    /// Defaults: public roots, 30 s timeout, no credentials, no pins.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            credentials: None,
            request_timeout: Duration::from_secs(30),
            public_roots: true,
            extra_roots_pem: None,
            pinned_spki_sha256: Vec::new(),
        }
    }
}

/// The transport settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sync transport settings: {0}")]
pub struct HttpConfigError(String);

/// Delivers envelopes with `POST /v1/submissions` and an `Idempotency-Key`.
pub struct HttpTransport {
    client: reqwest::Client,
    submissions_url: Url,
    token: TokenSource,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.submissions_url.as_str())
            .finish_non_exhaustive()
    }
}

struct CachedToken {
    value: SecretString,
    valid_until: tokio::time::Instant,
}

/// OAuth2 client-credentials tokens for one portal, fetched when needed and
/// cached until shortly before they expire. Shared by the sync transport and
/// the eID login client, which map its errors to their own.
pub(crate) struct TokenSource {
    credentials: Option<(ClientCredentials, Url)>,
    cached: tokio::sync::Mutex<Option<CachedToken>>,
}

/// Why no token could be had.
pub(crate) enum TokenError {
    /// The token endpoint could not be reached (or the answer broke off).
    Unreachable(reqwest::Error),
    /// It answered with an error status.
    Status {
        /// The HTTP status.
        status: u16,
        /// It sent `Retry-After`.
        retry_after: bool,
    },
    /// Its answer has no usable `access_token`.
    NoAccessToken,
}

/// The largest token endpoint answer read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

impl TokenSource {
    /// Checks the token URL (https, or http on loopback) of `credentials`.
    pub(crate) fn new(credentials: Option<&ClientCredentials>) -> Result<Self, HttpConfigError> {
        let credentials = match credentials {
            Some(c) => Some((c.clone(), parse_url("token_url", &c.token_url)?)),
            None => None,
        };
        Ok(Self {
            credentials,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The current token (`None` without credentials), fetched with `client` when
    /// there is none or it is about to expire.
    pub(crate) async fn bearer(
        &self,
        client: &reqwest::Client,
    ) -> Result<Option<SecretString>, TokenError> {
        let Some((credentials, token_url)) = &self.credentials else {
            return Ok(None);
        };
        // Holding the lock while fetching: concurrent callers wait for one token request.
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.valid_until > tokio::time::Instant::now())
        {
            return Ok(Some(token.value.clone()));
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose_secret()),
        ];
        if let Some(scope) = &credentials.scope {
            form.push(("scope", scope.as_str()));
        }
        let mut response = client
            .post(token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(TokenError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(TokenError::Status {
                status: status.as_u16(),
                retry_after: response
                    .headers()
                    .contains_key(reqwest::header::RETRY_AFTER),
            });
        }
        // The answer holds a secret: read into a zeroised buffer, capped.
        let body = read_capped(&mut response, MAX_TOKEN_ANSWER)
            .await
            .map_err(TokenError::Unreachable)?
            .ok_or(TokenError::NoAccessToken)?;
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: SecretString,
            expires_in: Option<u64>,
        }
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| TokenError::NoAccessToken)?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(300));
        *cached = Some(CachedToken {
            value: token.access_token.clone(),
            valid_until: tokio::time::Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(Some(token.access_token))
    }

    /// Drops the cached token (the server refused it).
    pub(crate) async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

/// Tokens are renewed this long before they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// A `Retry-After` larger than this is capped (a broken server must not park the queue for days).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl HttpTransport {
    /// Builds the transport (TLS roots, pins, HTTP client).
    pub fn new(config: HttpTransportConfig) -> Result<Self, HttpConfigError> {
        let base = parse_url("base_url", &config.base_url)?;
        let mut submissions_url = base.clone();
        let path = format!("{}/v1/submissions", base.path().trim_end_matches('/'));
        submissions_url.set_path(&path);
        let token = TokenSource::new(config.credentials.as_ref())?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(&config)?)
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("kiosk-offline-cache/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpConfigError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            submissions_url,
            token,
        })
    }

    async fn bearer_token(&self) -> Result<Option<SecretString>, DeliveryOutcome> {
        // Whatever goes wrong with the token concerns every record.
        let retry = |class: FailureClass, reason: String| DeliveryOutcome::Retry {
            after: None,
            class,
            reason,
            scope: RetryScope::Connection,
        };
        self.token
            .bearer(&self.client)
            .await
            .map_err(|error| match error {
                TokenError::Unreachable(e) => retry(
                    FailureClass::of_request_error(&e),
                    format!("token endpoint unreachable: {}", describe(&e)),
                ),
                TokenError::Status {
                    status,
                    retry_after,
                } => {
                    let class = match FailureClass::of_http_status(status, retry_after) {
                        // A refusal by the token endpoint is a credentials problem, not a
                        // refused record (RFC 6749 answers `invalid_client` with 400 or 401).
                        FailureClass::Rejected => FailureClass::Auth,
                        other => other,
                    };
                    retry(class, format!("token endpoint answered HTTP {status}"))
                }
                TokenError::NoAccessToken => retry(
                    FailureClass::InvalidAnswer,
                    "token endpoint sent no access_token".to_owned(),
                ),
            })
    }

    async fn forget_token(&self) {
        self.token.forget().await;
    }
}

impl Transport for HttpTransport {
    async fn deliver(&self, envelope: &Envelope) -> DeliveryOutcome {
        let token = match self.bearer_token().await {
            Ok(token) => token,
            Err(outcome) => return outcome,
        };
        let created_at = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(envelope.created_at_ms) * 1_000_000,
        )
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
        let body = serde_json::json!({
            "id": envelope.id,
            "reference": envelope.reference.as_str(),
            "serviceId": envelope.service_id,
            "serviceVersion": envelope.service_version,
            "createdAt": created_at,
            "encryptedData": envelope.encrypted_payload,
        });
        let mut request = self
            .client
            .post(self.submissions_url.clone())
            .header("Idempotency-Key", envelope.id.to_string())
            .json(&body);
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return DeliveryOutcome::Retry {
                    after: None,
                    class: FailureClass::of_request_error(&e),
                    reason: format!("no answer from the server: {}", describe(&e)),
                    scope: RetryScope::Connection,
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        if status.is_success() {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Accepted {
                server_reference: String,
            }
            // The server may have stored it in either failure case below;
            // asking again with the same key is safe.
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    return DeliveryOutcome::Retry {
                        after: retry_after,
                        class: FailureClass::of_request_error(&e),
                        reason: format!(
                            "HTTP {}, then the answer broke off: {}",
                            status.as_u16(),
                            describe(&e)
                        ),
                        scope: RetryScope::Record,
                    };
                }
            };
            return match serde_json::from_slice::<Accepted>(&body) {
                Ok(accepted) if !accepted.server_reference.is_empty() => {
                    DeliveryOutcome::Delivered {
                        server_reference: accepted.server_reference,
                    }
                }
                _ => DeliveryOutcome::Retry {
                    after: retry_after,
                    class: FailureClass::InvalidAnswer,
                    reason: format!(
                        "HTTP {} without a serverReference in the answer",
                        status.as_u16()
                    ),
                    scope: RetryScope::Record,
                },
            };
        }
        let has_retry_after = response
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER);
        let class = FailureClass::of_http_status(status.as_u16(), has_retry_after);
        let code = error_code(response).await;
        classify(status, class, retry_after, &code, self).await
    }
}

/// What to do about a non-success answer; `class` is
/// [`FailureClass::of_http_status`] of it.
async fn classify(
    status: StatusCode,
    class: FailureClass,
    retry_after: Option<Duration>,
    code: &str,
    transport: &HttpTransport,
) -> DeliveryOutcome {
    let n = status.as_u16();
    let reason = format!("HTTP {n}{code}");
    match n {
        401 | 403 => {
            // A credentials problem concerns every record: never dead-letter for it.
            transport.forget_token().await;
            DeliveryOutcome::Retry {
                after: retry_after,
                class,
                reason: format!("{reason}: the server refused the kiosk's credentials"),
                scope: RetryScope::Connection,
            }
        }
        409 => DeliveryOutcome::Retry {
            after: Some(retry_after.unwrap_or(Duration::from_secs(1))),
            class,
            reason: format!("{reason}: still being processed by the server"),
            scope: RetryScope::Record,
        },
        408 | 425 => DeliveryOutcome::Retry {
            after: retry_after,
            class,
            reason,
            scope: RetryScope::Record,
        },
        429 | 502..=504 => DeliveryOutcome::Retry {
            after: retry_after,
            class,
            reason,
            scope: RetryScope::Connection,
        },
        400..=499 => DeliveryOutcome::Reject {
            class,
            reason: format!("{reason}: refused by the server"),
        },
        _ => DeliveryOutcome::Retry {
            after: retry_after,
            class,
            reason,
            scope: RetryScope::Record,
        },
    }
}

/// The server's machine-readable error code (`{"error": "..."}`), only if it is a
/// plain token: server texts may echo answers and must not reach `last_error`.
async fn error_code(response: reqwest::Response) -> String {
    #[derive(serde::Deserialize)]
    struct Problem {
        error: Option<String>,
    }
    let Ok(bytes) = response.bytes().await else {
        return String::new();
    };
    let code = serde_json::from_slice::<Problem>(&bytes)
        .ok()
        .and_then(|p| p.error);
    match code {
        Some(code)
            if (1..=64).contains(&code.len())
                && code.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                }) =>
        {
            format!(" ({code})")
        }
        _ => String::new(),
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A short description of a network error without the URL's query or any body.
/// Reads an answer of at most `max` bytes into a buffer wiped on drop (`None`
/// when it is larger). The buffer grows by hand, so no reallocation leaves a
/// copy of a secret or of personal data behind.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, reqwest::Error> {
    let mut answer = zeroize::Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await? {
        if answer.len() + chunk.len() > max {
            return Ok(None);
        }
        if answer.capacity() < answer.len() + chunk.len() {
            let mut bigger = zeroize::Zeroizing::new(Vec::with_capacity(
                (answer.len() + chunk.len()).max(answer.capacity() * 2),
            ));
            bigger.extend_from_slice(&answer);
            answer = bigger;
        }
        answer.extend_from_slice(&chunk);
    }
    Ok(Some(answer))
}

/// A request error in a few words, without URL queries or bodies.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({detail})")
    }
}

fn parse_url(what: &str, text: &str) -> Result<Url, HttpConfigError> {
    https_or_loopback_url(what, text).map_err(HttpConfigError)
}

/// Parses `text` (the setting `what`) as an `https://` URL, or a plain
/// `http://` one to a loopback host (tests, the demo); the error names the
/// setting and the value. Shared by every transport of the kiosk.
pub fn https_or_loopback_url(what: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{what} '{text}' is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "{what} '{text}' must start with https:// (plain http is only allowed to 127.0.0.1)"
        )),
    }
}

/// The TLS client settings [`HttpTransport`] uses (trusted roots from
/// `public_roots` and `extra_roots_pem`, plus the pins of
/// `pinned_spki_sha256`), for other transports that talk HTTPS the same way
/// (e.g. FIT-Connect). Only those three fields of `config` are read.
pub fn tls_client_config(
    config: &HttpTransportConfig,
) -> Result<rustls::ClientConfig, HttpConfigError> {
    tls_config(config)
}

fn tls_config(config: &HttpTransportConfig) -> Result<rustls::ClientConfig, HttpConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if config.public_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(pem) = &config.extra_roots_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert =
                cert.map_err(|e| HttpConfigError(format!("extra_roots_pem is not PEM: {e}")))?;
            roots.add(cert).map_err(|e| {
                HttpConfigError(format!(
                    "extra_roots_pem holds an unusable certificate: {e}"
                ))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(HttpConfigError(
                "extra_roots_pem holds no CERTIFICATE block".to_owned(),
            ));
        }
    }
    if roots.is_empty() {
        return Err(HttpConfigError(
            "no trusted roots: enable public_roots or set extra_roots_pem".to_owned(),
        ));
    }
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| HttpConfigError(format!("cannot build the certificate verifier: {e}")))?;
    let verifier = PinningVerifier {
        inner: webpki,
        pins: config.pinned_spki_sha256.clone(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpConfigError(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Normal WebPKI validation, then (if pins are set) one certificate of the
/// chain must have a pinned SubjectPublicKeyInfo.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pins: Vec<[u8; 32]>,
}

/// SHA-256 of a DER certificate's SubjectPublicKeyInfo (the value to pin).
pub fn spki_sha256(certificate_der: &[u8]) -> Option<[u8; 32]> {
    let cert = x509_cert::Certificate::from_der(certificate_der).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    Some(Sha256::digest(&spki).into())
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pins.is_empty() {
            return Ok(verified);
        }
        let pinned = std::iter::once(end_entity)
            .chain(intermediates)
            .filter_map(|c| spki_sha256(c.as_ref()))
            .any(|hash| self.pins.contains(&hash));
        if pinned {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "the server's key is not one of the pinned keys".to_owned(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
