//! The FIT-Connect sender flow as an `offline_cache::Transport`, resumable at
//! every step from the outbox's delivery progress.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use offline_cache::{
    DeliveryOutcome, Envelope, FailureClass, HttpTransportConfig, Outbox, RetryScope, SealedPart,
    Transport,
};
use reqwest::{Method, StatusCode, Url};
use rsa::RsaPublicKey;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::{FitConnectConfig, key_scope};
use crate::events::{EVENT_ACCEPT, EVENT_REJECT, EVENT_SUBMIT, SecurityEventToken};
use crate::keys::{KeyPurpose, TrustedRoots, ValidatedKey, validate_jwk};
use crate::sealer::{ATTACHMENT_PREFIX, FitConnectSealer, METADATA_PART};

/// The transport cannot be set up, or a key refresh failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("FIT-Connect: {0}")]
pub struct FitConnectError(pub String);

/// Tokens are renewed this long before they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// A `Retry-After` larger than this is capped.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Destination information is reused this long between deliveries.
const DESTINATION_TTL: Duration = Duration::from_secs(300);
/// At most this many event-log pages are read per check.
const MAX_EVENT_PAGES: usize = 20;
const EVENT_PAGE: usize = 500;

/// What the transport recorded for one record (non-personal: server ids only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Progress {
    destination_id: Option<Uuid>,
    submission_id: Option<Uuid>,
    case_id: Option<Uuid>,
    #[serde(default)]
    uploaded: Vec<Uuid>,
    #[serde(default)]
    submit_attempted: bool,
    submitted_at_ms: Option<i64>,
    #[serde(default)]
    rejected: bool,
}

struct CachedToken {
    value: SecretString,
    valid_until: tokio::time::Instant,
}

#[derive(Clone)]
struct Destination {
    fetched: tokio::time::Instant,
    encryption_kid: String,
    /// Validated encryption keys of this destination by kid.
    keys: HashMap<String, RsaPublicKey>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DestinationDoc {
    destination_id: Uuid,
    status: String,
    encryption_kid: String,
    #[serde(default)]
    metadata_versions: Vec<String>,
    #[serde(default)]
    public_services: Vec<PublicServiceDoc>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicServiceDoc {
    identifier: String,
    #[serde(default)]
    submission_schemas: Vec<SchemaDoc>,
    #[serde(default)]
    regions: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaDoc {
    schema_uri: String,
}

/// Delivers outbox records through FIT-Connect (Submission API v2).
///
/// Steps per record, each recorded in the outbox before the next one starts:
/// destination check and key validation, announce (`POST /v2/submissions`,
/// the `submissionId` is stored before anything else), attachment uploads,
/// submit (`PUT /v2/submissions/{id}`), then event-log checks until the
/// office accepts (record purged) or rejects (dead letter with the reason).
pub struct FitConnectTransport {
    client: reqwest::Client,
    base: String,
    token_url: Url,
    config: FitConnectConfig,
    roots: TrustedRoots,
    outbox: Outbox,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    destinations: tokio::sync::Mutex<HashMap<Uuid, Destination>>,
    service_keys: tokio::sync::Mutex<HashMap<String, RsaPublicKey>>,
}

impl std::fmt::Debug for FitConnectTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitConnectTransport")
            .field("base", &self.base)
            .field("routes", &self.config.routes.len())
            .finish_non_exhaustive()
    }
}

fn parse_url(what: &str, text: &str) -> Result<Url, FitConnectError> {
    offline_cache::https_or_loopback_url(what, text).map_err(FitConnectError)
}

fn retry(class: FailureClass, reason: impl Into<String>, scope: RetryScope) -> DeliveryOutcome {
    DeliveryOutcome::Retry {
        after: None,
        class,
        reason: reason.into(),
        scope,
    }
}

fn reject(class: FailureClass, reason: impl Into<String>) -> DeliveryOutcome {
    DeliveryOutcome::Reject {
        class,
        reason: reason.into(),
    }
}

fn storage_retry(e: offline_cache::StorageError) -> DeliveryOutcome {
    retry(
        FailureClass::Local,
        format!("cannot record delivery progress: {e}"),
        RetryScope::Record,
    )
}

struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// A `Retry-After` was sent (even one [`retry_after`] cannot read): it
    /// tells rate limiting from an outage for [`FailureClass::of_http_status`].
    has_retry_after: bool,
    body: Vec<u8>,
}

impl FitConnectTransport {
    /// Builds the transport and registers a [`FitConnectSealer`] on `outbox`
    /// for every routed service, so [`Outbox::enqueue`] seals those services
    /// for FIT-Connect from now on.
    pub fn new(config: FitConnectConfig, outbox: Outbox) -> Result<Self, FitConnectError> {
        for (service_id, route) in &config.routes {
            route
                .validate(service_id)
                .map_err(|e| FitConnectError(e.to_string()))?;
        }
        let base_url = parse_url("submission_api_url", &config.submission_api_url)?;
        let token_url = parse_url("token_url", &config.token_url)?;
        let roots = TrustedRoots::from_pem(&config.key_roots_pem)
            .map_err(|e| FitConnectError(format!("key_roots_pem: {e}")))?;
        let mut tls = HttpTransportConfig::new(config.submission_api_url.clone());
        tls.public_roots = config.tls_public_roots;
        tls.extra_roots_pem = config.tls_extra_roots_pem.clone();
        tls.pinned_spki_sha256 = config.tls_pinned_spki_sha256.clone();
        let tls = offline_cache::tls_client_config(&tls)
            .map_err(|e| FitConnectError(format!("TLS settings: {e}")))?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("kiosk-fit-connect/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FitConnectError(format!("cannot build the HTTP client: {e}")))?;
        for (service_id, route) in &config.routes {
            outbox.set_sealer(
                service_id.clone(),
                Arc::new(FitConnectSealer::new(route.clone(), config.min_key_bits)),
            );
        }
        Ok(Self {
            client,
            base: base_url.as_str().trim_end_matches('/').to_owned(),
            token_url,
            config,
            roots,
            outbox,
            token: tokio::sync::Mutex::new(None),
            destinations: tokio::sync::Mutex::new(HashMap::new()),
            service_keys: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Fetches every routed destination and its current encryption key,
    /// validates the key (`x5c` chain to the configured root, size, use) and
    /// caches it in the outbox, so services can be sealed while offline.
    /// Call at start-up and whenever the kiosk comes online; deliveries also
    /// refresh a key that is older than `key_max_age` or was replaced.
    pub async fn refresh_keys(&self) -> Vec<(Uuid, Result<String, FitConnectError>)> {
        let destinations: HashSet<Uuid> = self
            .config
            .routes
            .values()
            .map(|r| r.destination_id)
            .collect();
        let mut results = Vec::new();
        for destination_id in destinations {
            let result = match self.destination(destination_id, true).await {
                Ok(destination) => Ok(destination.encryption_kid),
                Err(outcome) => Err(FitConnectError(match outcome {
                    DeliveryOutcome::Retry { reason, .. }
                    | DeliveryOutcome::Reject { reason, .. } => reason,
                    other => format!("{other:?}"),
                })),
            };
            results.push((destination_id, result));
        }
        results
    }

    async fn bearer(&self) -> Result<SecretString, DeliveryOutcome> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.valid_until > tokio::time::Instant::now())
        {
            return Ok(token.value.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
        ];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope.as_str()));
        }
        let response = self
            .client
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                retry(
                    FailureClass::of_request_error(&e),
                    format!("token endpoint unreachable: {}", describe(&e)),
                    RetryScope::Connection,
                )
            })?;
        let status = response.status();
        if !status.is_success() {
            let class = match FailureClass::of_http_status(
                status.as_u16(),
                response
                    .headers()
                    .contains_key(reqwest::header::RETRY_AFTER),
            ) {
                // A refusal by the token endpoint is a credentials problem, not a
                // refused record (RFC 6749 answers `invalid_client` with 400 or 401).
                FailureClass::Rejected => FailureClass::Auth,
                other => other,
            };
            // The body is never read: it may echo the secret.
            return Err(retry(
                class,
                format!("token endpoint answered HTTP {}", status.as_u16()),
                RetryScope::Connection,
            ));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: SecretString,
            expires_in: Option<u64>,
        }
        let body = response.bytes().await.map_err(|e| {
            retry(
                FailureClass::of_request_error(&e),
                format!("token endpoint answer broke off: {}", describe(&e)),
                RetryScope::Connection,
            )
        })?;
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            retry(
                FailureClass::InvalidAnswer,
                "token endpoint sent no access_token",
                RetryScope::Connection,
            )
        })?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(300));
        *cached = Some(CachedToken {
            value: token.access_token.clone(),
            valid_until: tokio::time::Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(token.access_token)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
        step: &str,
    ) -> Result<Answer, DeliveryOutcome> {
        let token = self.bearer().await?;
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .bearer_auth(token.expose_secret());
        if let Some((content_type, bytes)) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let response = request.send().await.map_err(|e| {
            retry(
                FailureClass::of_request_error(&e),
                format!("{step}: no answer from FIT-Connect: {}", describe(&e)),
                RetryScope::Connection,
            )
        })?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let has_retry_after = response
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER);
        let body = response.bytes().await.map_err(|e| {
            retry(
                FailureClass::of_request_error(&e),
                format!("{step}: the answer broke off: {}", describe(&e)),
                RetryScope::Connection,
            )
        })?;
        if matches!(status.as_u16(), 401 | 403) {
            *self.token.lock().await = None;
        }
        Ok(Answer {
            status,
            retry_after,
            has_retry_after,
            body: body.to_vec(),
        })
    }

    /// Maps a non-success answer of `step` to an outcome (no server text kept).
    fn failure(step: &str, answer: &Answer) -> DeliveryOutcome {
        let n = answer.status.as_u16();
        let code = problem_code(&answer.body);
        let reason = format!("{step}: HTTP {n}{code}");
        let class = FailureClass::of_http_status(n, answer.has_retry_after);
        match n {
            401 | 403 => DeliveryOutcome::Retry {
                after: answer.retry_after,
                class,
                reason: format!("{reason}: FIT-Connect refused the kiosk's credentials"),
                scope: RetryScope::Connection,
            },
            408 | 409 | 425 => DeliveryOutcome::Retry {
                after: answer.retry_after,
                class,
                reason,
                scope: RetryScope::Record,
            },
            429 | 502..=504 => DeliveryOutcome::Retry {
                after: answer.retry_after,
                class,
                reason,
                scope: RetryScope::Connection,
            },
            400..=499 => reject(class, format!("{reason}: refused by FIT-Connect")),
            _ => DeliveryOutcome::Retry {
                after: answer.retry_after,
                class,
                reason,
                scope: RetryScope::Record,
            },
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        step: &str,
    ) -> Result<T, DeliveryOutcome> {
        let answer = self.call(Method::GET, path, None, step).await?;
        if !answer.status.is_success() {
            return Err(Self::failure(step, &answer));
        }
        serde_json::from_slice(&answer.body).map_err(|_| {
            retry(
                FailureClass::InvalidAnswer,
                format!("{step}: the answer does not follow the API"),
                RetryScope::Record,
            )
        })
    }

    async fn fetch_key(
        &self,
        destination_id: Uuid,
        kid: &str,
        purpose: KeyPurpose,
    ) -> Result<ValidatedKey, DeliveryOutcome> {
        if kid.is_empty()
            || kid.len() > 128
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(reject(
                FailureClass::InvalidAnswer,
                "the key id is not a plain token",
            ));
        }
        let path = format!("/v2/destinations/{destination_id}/keys/{kid}");
        let answer = self.call(Method::GET, &path, None, "key").await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(reject(
                FailureClass::Rejected,
                format!("the destination no longer offers key '{kid}'"),
            ));
        }
        if !answer.status.is_success() {
            return Err(Self::failure("key", &answer));
        }
        let text = String::from_utf8(answer.body).map_err(|_| {
            retry(
                FailureClass::InvalidAnswer,
                "key: the answer is not UTF-8",
                RetryScope::Record,
            )
        })?;
        validate_jwk(
            &text,
            purpose,
            Some(kid),
            self.config.min_key_bits,
            Some(&self.roots),
            SystemTime::now(),
        )
        .map_err(|e| {
            // The kiosk cannot trust what the destination offers.
            reject(
                FailureClass::InvalidAnswer,
                format!("the destination's key '{kid}' failed validation: {}", e.0),
            )
        })
    }

    /// The destination, checked (`active`) and with its current encryption key
    /// validated and cached in the outbox.
    async fn destination(
        &self,
        destination_id: Uuid,
        force: bool,
    ) -> Result<Destination, DeliveryOutcome> {
        if !force
            && let Some(known) = self.destinations.lock().await.get(&destination_id)
            && known.fetched.elapsed() < DESTINATION_TTL
        {
            return Ok(known.clone());
        }
        let doc: DestinationDoc = self
            .get_json(&format!("/v2/destinations/{destination_id}"), "destination")
            .await?;
        if doc.destination_id != destination_id {
            return Err(retry(
                FailureClass::InvalidAnswer,
                "destination: the answer names another destination",
                RetryScope::Record,
            ));
        }
        if doc.status != "active" {
            return Err(DeliveryOutcome::Retry {
                after: Some(Duration::from_secs(15 * 60)),
                class: FailureClass::Server,
                reason: format!(
                    "the destination is '{}', not active; waiting for the office",
                    clip_token(&doc.status)
                ),
                scope: RetryScope::Record,
            });
        }
        if !doc.metadata_versions.is_empty()
            && !doc.metadata_versions.iter().any(|v| v.starts_with("2."))
        {
            return Err(reject(
                FailureClass::Rejected,
                "the destination accepts no metadata schema 2.x; ask the office to enable it",
            ));
        }
        // Check every route to this destination against what it offers.
        for (service_id, route) in &self.config.routes {
            if route.destination_id != destination_id {
                continue;
            }
            let Some(service) = doc
                .public_services
                .iter()
                .find(|s| s.identifier == route.leika_key)
            else {
                return Err(reject(
                    FailureClass::Rejected,
                    format!(
                        "routing.{service_id}: the destination does not offer LeiKa key {}",
                        route.leika_key
                    ),
                ));
            };
            if !service
                .submission_schemas
                .iter()
                .any(|s| s.schema_uri == route.submission_schema_uri)
            {
                return Err(reject(
                    FailureClass::Rejected,
                    format!(
                        "routing.{service_id}: the destination does not offer submission schema {}",
                        route.submission_schema_uri
                    ),
                ));
            }
            if let Some(region) = &route.region
                && !service.regions.is_empty()
                && !service.regions.contains(region)
            {
                return Err(reject(
                    FailureClass::Rejected,
                    format!("routing.{service_id}: the destination does not serve region {region}"),
                ));
            }
        }
        let mut keys = self
            .destinations
            .lock()
            .await
            .get(&destination_id)
            .map(|d| d.keys.clone())
            .unwrap_or_default();
        let scope = key_scope(destination_id);
        let cached = self
            .outbox
            .cached_recipient_key(&scope)
            .map_err(storage_retry)?;
        let cache_stale = cached.as_ref().is_none_or(|c| {
            c.kid != doc.encryption_kid
                || c.fetched_at.elapsed().unwrap_or(Duration::MAX) > self.config.key_max_age
        });
        if cache_stale || !keys.contains_key(&doc.encryption_kid) {
            let key = self
                .fetch_key(destination_id, &doc.encryption_kid, KeyPurpose::Encryption)
                .await?;
            self.outbox
                .cache_recipient_key(&scope, &key.kid, &key.jwk)
                .map_err(storage_retry)?;
            tracing::info!(%destination_id, kid = %key.kid, "destination key validated and cached");
            keys.insert(key.kid, key.key);
        }
        let destination = Destination {
            fetched: tokio::time::Instant::now(),
            encryption_kid: doc.encryption_kid,
            keys,
        };
        self.destinations
            .lock()
            .await
            .insert(destination_id, destination.clone());
        Ok(destination)
    }

    /// Makes sure the key the record was sealed to is a valid key of the destination.
    async fn check_sealed_key(
        &self,
        destination_id: Uuid,
        destination: &Destination,
        kid: &str,
    ) -> Result<(), DeliveryOutcome> {
        if destination.keys.contains_key(kid) {
            return Ok(());
        }
        // Sealed to an older key: still fine while the destination offers it.
        let key = self
            .fetch_key(destination_id, kid, KeyPurpose::Encryption)
            .await
            .map_err(|outcome| match outcome {
                DeliveryOutcome::Reject { class, reason } => reject(
                    class,
                    format!(
                        "the record was sealed to a key the destination no longer accepts ({reason}); \
                         the citizen must submit again"
                    ),
                ),
                other => other,
            })?;
        if let Some(known) = self.destinations.lock().await.get_mut(&destination_id) {
            known.keys.insert(key.kid, key.key);
        }
        Ok(())
    }

    fn save(&self, id: Uuid, progress: &Progress) -> Result<(), DeliveryOutcome> {
        let text = serde_json::to_string(progress).unwrap_or_default();
        match self.outbox.save_delivery_progress(id, &text) {
            Ok(true) => Ok(()),
            Ok(false) => Err(retry(
                FailureClass::Local,
                "the record is gone",
                RetryScope::Record,
            )),
            Err(e) => Err(storage_retry(e)),
        }
    }

    async fn run(&self, envelope: &Envelope) -> Result<DeliveryOutcome, DeliveryOutcome> {
        let Some(route) = self.config.routes.get(&envelope.service_id) else {
            return Err(reject(
                FailureClass::Local,
                format!(
                    "no FIT-Connect route for service '{}'; add [routing.{}]",
                    envelope.service_id, envelope.service_id
                ),
            ));
        };
        let mut progress: Progress = match self
            .outbox
            .delivery_progress(envelope.id)
            .map_err(storage_retry)?
        {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Progress::default(),
        };
        if progress.rejected {
            // Staff retried a rejected record: a deliberate new submission.
            progress = Progress::default();
            self.outbox
                .clear_delivery_progress(envelope.id)
                .map_err(storage_retry)?;
        }
        let destination_id = progress.destination_id.unwrap_or(route.destination_id);

        if progress.submitted_at_ms.is_none() {
            let destination = self
                .destination(destination_id, progress.submission_id.is_none())
                .await?;
            let kid = jwe_kid(&envelope.encrypted_payload)
                .ok_or_else(|| reject(FailureClass::Local, "the stored payload has no key id"))?;
            self.check_sealed_key(destination_id, &destination, &kid)
                .await?;
            let parts = self
                .outbox
                .sealed_parts(envelope.id)
                .map_err(storage_retry)?;
            let Some(metadata) = parts.iter().find(|p| p.name == METADATA_PART) else {
                return Err(reject(
                    FailureClass::Local,
                    "the record was saved before its service was routed to FIT-Connect \
                     (no sealed metadata); send it another way or discard it",
                ));
            };
            let attachments: Vec<(Uuid, &SealedPart)> = parts
                .iter()
                .filter_map(|p| {
                    let id = p.name.strip_prefix(ATTACHMENT_PREFIX)?;
                    Some((Uuid::parse_str(id).ok()?, p))
                })
                .collect();

            let (submission_id, case_id) = match (progress.submission_id, progress.case_id) {
                (Some(s), Some(c)) => (s, c),
                _ => {
                    let (s, c) = self.announce(destination_id, route, &attachments).await?;
                    progress.destination_id = Some(destination_id);
                    progress.submission_id = Some(s);
                    progress.case_id = Some(c);
                    // Stored before any upload: this record is never announced again.
                    self.save(envelope.id, &progress)?;
                    (s, c)
                }
            };

            for (attachment_id, part) in &attachments {
                if progress.uploaded.contains(attachment_id) {
                    continue;
                }
                let path = format!("/v2/submissions/{submission_id}/attachments/{attachment_id}");
                let answer = self
                    .call(
                        Method::PUT,
                        &path,
                        Some(("application/jose", part.jwe.clone().into_bytes())),
                        "attachment upload",
                    )
                    .await?;
                if answer.status == StatusCode::NOT_FOUND {
                    return Err(self.restart(envelope.id, "attachment upload")?);
                }
                if !answer.status.is_success() {
                    return Err(Self::failure("attachment upload", &answer));
                }
                progress.uploaded.push(*attachment_id);
                self.save(envelope.id, &progress)?;
            }

            let mut submitted = false;
            if progress.submit_attempted {
                // An earlier submit may have gone through with its answer lost.
                let log = self.events(destination_id, submission_id, case_id).await?;
                submitted = log.iter().any(|e| e.event == EVENT_SUBMIT);
            }
            if !submitted {
                progress.submit_attempted = true;
                self.save(envelope.id, &progress)?;
                let body = serde_json::json!({
                    "encryptedMetadata": metadata.jwe,
                    "encryptedData": envelope.encrypted_payload,
                });
                let answer = self
                    .call(
                        Method::PUT,
                        &format!("/v2/submissions/{submission_id}"),
                        Some(("application/json", body.to_string().into_bytes())),
                        "submit",
                    )
                    .await?;
                if answer.status == StatusCode::NOT_FOUND {
                    return Err(self.restart(envelope.id, "submit")?);
                }
                if answer.status == StatusCode::CONFLICT {
                    // Already submitted: an earlier submit (from before a crash)
                    // arrived after this attempt checked the event log.
                    let log = self.events(destination_id, submission_id, case_id).await?;
                    if !log.iter().any(|e| e.event == EVENT_SUBMIT) {
                        return Err(Self::failure("submit", &answer));
                    }
                } else if !answer.status.is_success() {
                    return Err(Self::failure("submit", &answer));
                }
            }
            progress.submitted_at_ms = Some(now_ms());
            self.save(envelope.id, &progress)?;
            tracing::info!(id = %envelope.id, %submission_id, "handed over to FIT-Connect");
        }

        let (Some(submission_id), Some(case_id), Some(submitted_at)) = (
            progress.submission_id,
            progress.case_id,
            progress.submitted_at_ms,
        ) else {
            return Err(retry(
                FailureClass::Local,
                "inconsistent delivery progress",
                RetryScope::Record,
            ));
        };
        let log = self.events(destination_id, submission_id, case_id).await?;
        if let Some(event) = log
            .iter()
            .find(|e| e.event == EVENT_ACCEPT || e.event == EVENT_REJECT)
        {
            if event.event == EVENT_ACCEPT {
                return Ok(DeliveryOutcome::Delivered {
                    server_reference: submission_id.to_string(),
                });
            }
            progress.rejected = true;
            self.save(envelope.id, &progress)?;
            let codes = event.problem_codes();
            let by = if event.issuer == destination_id.to_string() {
                "the office"
            } else {
                "the FIT-Connect delivery service"
            };
            return Ok(reject(
                FailureClass::Rejected,
                format!(
                    "rejected by {by} (reject-submission{}{}); submission {submission_id}",
                    if codes.is_empty() { "" } else { ": " },
                    codes.join(", ")
                ),
            ));
        }
        let waited = Duration::from_millis(u64::try_from(now_ms() - submitted_at).unwrap_or(0));
        let check_again_after = (waited / 4)
            .max(self.config.poll_interval_min)
            .min(self.config.poll_interval_max);
        Ok(DeliveryOutcome::Submitted {
            server_reference: submission_id.to_string(),
            check_again_after,
            note: format!(
                "handed over to FIT-Connect as submission {submission_id}; waiting for the office to accept"
            ),
        })
    }

    /// The server dropped an unfinished submission (FIT-Connect deletes them
    /// after a day): forget it and announce anew next time.
    fn restart(&self, id: Uuid, step: &str) -> Result<DeliveryOutcome, DeliveryOutcome> {
        self.outbox
            .clear_delivery_progress(id)
            .map_err(storage_retry)?;
        Ok(retry(
            // The server dropped state it had accepted: its side, and temporary.
            FailureClass::Server,
            format!(
                "{step}: FIT-Connect no longer knows the unfinished submission; announcing it again"
            ),
            RetryScope::Record,
        ))
    }

    async fn announce(
        &self,
        destination_id: Uuid,
        route: &crate::config::FitConnectRoute,
        attachments: &[(Uuid, &SealedPart)],
    ) -> Result<(Uuid, Uuid), DeliveryOutcome> {
        let mut body = serde_json::json!({
            "destinationId": destination_id,
            "announcedAttachments": attachments.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            "publicService": {"name": route.service_name, "identifier": route.leika_key},
        });
        if let Some(region) = &route.region {
            body["region"] = region.clone().into();
        }
        let answer = self
            .call(
                Method::POST,
                "/v2/submissions",
                Some(("application/json", body.to_string().into_bytes())),
                "announce",
            )
            .await?;
        if !answer.status.is_success() {
            return Err(Self::failure("announce", &answer));
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            submission_id: Uuid,
            case_id: Uuid,
        }
        let created: Created = serde_json::from_slice(&answer.body).map_err(|_| {
            retry(
                FailureClass::InvalidAnswer,
                "announce: the answer has no submissionId and caseId",
                RetryScope::Record,
            )
        })?;
        Ok((created.submission_id, created.case_id))
    }

    /// Reads the case's event log and returns the events whose structure and
    /// signature check out. A token that fails is not trusted (and logged).
    async fn events(
        &self,
        destination_id: Uuid,
        submission_id: Uuid,
        case_id: Uuid,
    ) -> Result<Vec<SecurityEventToken>, DeliveryOutcome> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct EventLog {
            total_count: usize,
            #[serde(default)]
            event_log: Vec<String>,
        }
        let mut tokens = Vec::new();
        let mut offset = 0;
        for _ in 0..MAX_EVENT_PAGES {
            let page: EventLog = self
                .get_json(
                    &format!("/v2/cases/{case_id}/events?offset={offset}&limit={EVENT_PAGE}"),
                    "event log",
                )
                .await?;
            let got = page.event_log.len();
            tokens.extend(page.event_log);
            offset += got;
            if got == 0 || offset >= page.total_count {
                break;
            }
        }
        let (submission, case) = (submission_id.to_string(), case_id.to_string());
        let mut verified = Vec::new();
        for token in tokens {
            let set = match SecurityEventToken::parse(&token, &submission, &case) {
                Ok(set) => set,
                Err(e) => {
                    tracing::warn!(%submission_id, error = %e, "ignoring an event of the case log");
                    continue;
                }
            };
            let from_destination = set.issuer == destination_id.to_string();
            let key = if from_destination {
                self.fetch_key(destination_id, &set.kid, KeyPurpose::Signature)
                    .await
                    .ok()
                    .map(|k| k.key)
            } else {
                self.service_key(&set.kid).await?
            };
            let trusted = key.is_some_and(|key| set.verify(&key));
            // Only the office itself may accept.
            let allowed = set.event != EVENT_ACCEPT || from_destination;
            if trusted && allowed {
                verified.push(set);
            } else {
                tracing::warn!(%submission_id, event = %set.event, "an event failed signature or issuer checks; not trusted");
            }
        }
        Ok(verified)
    }

    /// A delivery-service signing key from `/.well-known/jwks.json` by kid.
    async fn service_key(&self, kid: &str) -> Result<Option<RsaPublicKey>, DeliveryOutcome> {
        if let Some(key) = self.service_keys.lock().await.get(kid) {
            return Ok(Some(key.clone()));
        }
        #[derive(serde::Deserialize)]
        struct Jwks {
            keys: Vec<serde_json::Value>,
        }
        let jwks: Jwks = self.get_json("/.well-known/jwks.json", "jwks").await?;
        let mut found = None;
        let mut cache = self.service_keys.lock().await;
        for jwk in jwks.keys {
            let text = jwk.to_string();
            if let Ok(key) = validate_jwk(
                &text,
                KeyPurpose::Signature,
                None,
                self.config.min_key_bits,
                None,
                SystemTime::now(),
            ) {
                if key.kid == kid {
                    found = Some(key.key.clone());
                }
                cache.insert(key.kid, key.key);
            }
        }
        Ok(found)
    }
}

impl Transport for FitConnectTransport {
    async fn deliver(&self, envelope: &Envelope) -> DeliveryOutcome {
        match self.run(envelope).await {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The `kid` of a JWE compact serialisation's protected header.
fn jwe_kid(jwe: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jwe.split('.').next()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header["kid"].as_str().map(str::to_owned)
}

fn clip_token(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect()
}

/// A problem+json `type`'s last segment, if it is a plain token: server texts
/// (`title`, `detail`) may echo content and are never kept.
fn problem_code(body: &[u8]) -> String {
    let Ok(problem) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let code = problem["type"]
        .as_str()
        .or_else(|| problem["errorCode"].as_str())
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default();
    if (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    {
        format!(" ({code})")
    } else {
        String::new()
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    value
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "connection failed"
    }
}
