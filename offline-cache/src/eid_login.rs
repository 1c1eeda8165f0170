//! eID login through the portal (`docs/sync-api.md` § "eID login").
//!
//! The kiosk asks the portal for a login session and gets the tcTokenURL that
//! AusweisApp's `RUN_AUTH` needs ([`EidLoginClient::start`]); when AusweisApp reports
//! success, the kiosk hands the result URL from AusweisApp's `AUTH` message to the
//! portal and gets the verified identity attributes once ([`EidLoginClient::complete`]).
//!
//! The client talks to the same portal as [`HttpTransport`](crate::HttpTransport), with
//! the same [`HttpTransportConfig`]: base URL (`https://`, or plain `http://` to a
//! loopback host), OAuth2 client credentials, trusted roots and pins. A citizen waits
//! on every call, so each one (token included) ends within
//! `min(request_timeout, 15 s)`.
//!
//! The attributes are personal data: they arrive as [`VerifiedAttributes`], whose
//! values are zeroised on drop and whose `Debug` shows only the attribute names.
//! Errors ([`EidLoginError`]) carry HTTP statuses and error codes, never a value.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kiosk_catalogue::IdentityAttribute;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::de::{Deserializer, Visitor};
use zeroize::Zeroizing;

use crate::http::{
    HttpTransportConfig, TokenError, TokenSource, describe, https_or_loopback_url, read_capped,
};

/// The longest a citizen waits for one call to the portal, whatever `request_timeout`
/// says (the sync engine may wait longer; a person at the kiosk should not).
pub const EID_CALL_LIMIT: Duration = Duration::from_secs(15);

/// The largest answer read from the portal.
const MAX_ANSWER: usize = 64 * 1024;

/// The longest attribute value accepted (a long German street name has ~60 characters).
const MAX_VALUE: usize = 500;

/// The eID login settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("eID login settings: {0}")]
pub struct EidLoginConfigError(String);

/// Why an eID login call failed, in classes the kiosk can explain. Messages carry
/// statuses and codes only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EidLoginError {
    /// The portal (or its token endpoint) could not be reached, did not answer in time,
    /// or said it is down (502, 503, 504). eID login needs the portal: offer the other
    /// routes.
    #[error("the portal cannot be reached: {reason}")]
    Offline {
        /// What went wrong (no URL query, no body).
        reason: String,
    },
    /// The portal refused the request (wrong credentials, unknown session, a
    /// configuration the portal does not accept, a result URL of another session).
    /// A kiosk problem: staff should look at the logs.
    #[error(
        "the portal refused the request with HTTP {status}{}",
        code_suffix(code)
    )]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The portal's error code (`{"error": code}`), if it is a plain token.
        code: Option<String>,
    },
    /// The login session ran out or was already completed (`410`): start a new login.
    #[error("the eID login session expired or was already completed; start a new login")]
    SessionExpired,
    /// The portal has no verified identity for this login (`422 login_failed`):
    /// AusweisApp reported a failure, or the card was never read. The citizen may try
    /// again.
    #[error("the eID login did not succeed; the portal holds no verified identity for it")]
    LoginFailed,
    /// The portal's answer is not what the API promises.
    #[error("the portal's answer is unusable: {what}")]
    InvalidAnswer {
        /// What was wrong with it.
        what: &'static str,
    },
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

impl EidLoginError {
    /// A stable code for logs, metrics and the UI's texts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Offline { .. } => "eid_login.offline",
            Self::Rejected { .. } => "eid_login.rejected",
            Self::SessionExpired => "eid_login.session_expired",
            Self::LoginFailed => "eid_login.login_failed",
            Self::InvalidAnswer { .. } => "eid_login.invalid_answer",
        }
    }
}

/// A login session at the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EidSession {
    /// The portal's id of the session (opaque; letters, digits, `-`, `_`, `.`, `~`).
    pub session_id: String,
    /// What AusweisApp's `RUN_AUTH` needs.
    pub tc_token_url: String,
    /// How long the portal keeps the session, from its answer.
    pub expires_in: Duration,
    /// What the kiosk asked for; [`EidLoginClient::complete`] keeps only these.
    requested: Vec<IdentityAttribute>,
}

impl EidSession {
    /// The attributes asked for at start.
    pub fn requested(&self) -> &[IdentityAttribute] {
        &self.requested
    }
}

/// The identity attributes the portal verified with the citizen's ID card. Values are
/// zeroised on drop; `Debug` shows only which attributes there are.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct VerifiedAttributes {
    values: BTreeMap<IdentityAttribute, Zeroizing<String>>,
}

impl VerifiedAttributes {
    /// The value of `attribute`, if the portal gave it (a card may lack, e.g., a birth
    /// name).
    pub fn get(&self, attribute: IdentityAttribute) -> Option<&str> {
        self.values.get(&attribute).map(|value| value.as_str())
    }

    /// The attributes present, in catalogue order.
    pub fn attributes(&self) -> impl Iterator<Item = IdentityAttribute> + '_ {
        self.values.keys().copied()
    }

    /// Attribute and value pairs, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = (IdentityAttribute, &str)> + '_ {
        self.values
            .iter()
            .map(|(attribute, value)| (*attribute, value.as_str()))
    }

    /// How many attributes there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, to move into the journey's session without a copy.
    pub fn into_values(self) -> BTreeMap<IdentityAttribute, Zeroizing<String>> {
        self.values
    }
}

impl fmt::Debug for VerifiedAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.values.keys().map(|a| a.name()).collect();
        f.debug_struct("VerifiedAttributes")
            .field("attributes", &names)
            .finish()
    }
}

/// The kiosk side of the portal's eID login API.
#[derive(Clone)]
pub struct EidLoginClient {
    client: reqwest::Client,
    sessions_url: Url,
    token: Arc<TokenSource>,
    call_limit: Duration,
}

impl fmt::Debug for EidLoginClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EidLoginClient")
            .field("url", &self.sessions_url.as_str())
            .finish_non_exhaustive()
    }
}

impl EidLoginClient {
    /// Builds the client from the portal settings the sync transport uses.
    pub fn new(config: &HttpTransportConfig) -> Result<Self, EidLoginConfigError> {
        let base =
            https_or_loopback_url("base_url", &config.base_url).map_err(EidLoginConfigError)?;
        let mut sessions_url = base.clone();
        let path = format!("{}/v1/eid/sessions", base.path().trim_end_matches('/'));
        sessions_url.set_path(&path);
        let token = TokenSource::new(config.credentials.as_ref())
            .map_err(|error| EidLoginConfigError(error.to_string()))?;
        let call_limit = config.request_timeout.min(EID_CALL_LIMIT);
        let tls = crate::http::tls_client_config(config)
            .map_err(|error| EidLoginConfigError(error.to_string()))?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(call_limit)
            .connect_timeout(call_limit.min(Duration::from_secs(10)))
            // Only the answer counts: a redirect would hand the token to another place.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kiosk-offline-cache/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EidLoginConfigError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            sessions_url,
            token: Arc::new(token),
            call_limit,
        })
    }

    /// Starts a login for `service_id` on kiosk `kiosk_id` that reads `attributes`:
    /// `POST /v1/eid/sessions`. The session's tcTokenURL goes into `RUN_AUTH`.
    pub async fn start(
        &self,
        service_id: &str,
        kiosk_id: &str,
        attributes: &[IdentityAttribute],
    ) -> Result<EidSession, EidLoginError> {
        let mut requested = attributes.to_vec();
        requested.sort();
        requested.dedup();
        let names: Vec<&str> = requested.iter().map(|a| a.name()).collect();
        let body = serde_json::json!({
            "service_id": service_id,
            "kiosk_id": kiosk_id,
            "attributes": names,
        });
        let url = self.sessions_url.clone();
        let (status, answer) = self.limited(self.post(url, &body)).await?;
        if status != 200 && status != 201 {
            return Err(refusal(status, &answer));
        }
        #[derive(serde::Deserialize)]
        struct Started {
            session_id: String,
            tc_token_url: String,
            expires_in: u64,
        }
        let started: Started =
            serde_json::from_slice(&answer).map_err(|_| EidLoginError::InvalidAnswer {
                what: "expected {session_id, tc_token_url, expires_in}",
            })?;
        if !valid_session_id(&started.session_id) {
            return Err(EidLoginError::InvalidAnswer {
                what: "session_id is empty, too long or has characters other than letters, digits, '-', '_', '.', '~'",
            });
        }
        if https_or_loopback_url("tc_token_url", &started.tc_token_url).is_err() {
            return Err(EidLoginError::InvalidAnswer {
                what: "tc_token_url is not an https URL",
            });
        }
        if started.expires_in == 0 {
            return Err(EidLoginError::InvalidAnswer {
                what: "expires_in is 0",
            });
        }
        tracing::info!(
            service = service_id,
            attributes = requested.len(),
            "eID login session started at the portal"
        );
        Ok(EidSession {
            session_id: started.session_id,
            tc_token_url: started.tc_token_url,
            expires_in: Duration::from_secs(started.expires_in),
            requested,
        })
    }

    /// Completes `session` with the result URL of AusweisApp's successful `AUTH`
    /// message: `POST /v1/eid/sessions/{id}/complete`. The portal answers once; a
    /// second call is [`EidLoginError::SessionExpired`]. Attributes the kiosk did not
    /// ask for, or does not know, are dropped (logged by count only).
    pub async fn complete(
        &self,
        session: &EidSession,
        result_url: &str,
    ) -> Result<VerifiedAttributes, EidLoginError> {
        if !valid_session_id(&session.session_id) {
            return Err(EidLoginError::InvalidAnswer {
                what: "session_id is empty, too long or has characters other than letters, digits, '-', '_', '.', '~'",
            });
        }
        let mut url = self.sessions_url.clone();
        // Checked above: only unreserved characters, so the path stays as it is.
        let path = format!("{}/{}/complete", url.path(), session.session_id);
        url.set_path(&path);
        let body = serde_json::json!({ "result_url": result_url });
        let (status, answer) = self.limited(self.post(url, &body)).await?;
        if status != 200 {
            return Err(refusal(status, &answer));
        }
        parse_attributes(&answer, &session.requested)
    }

    async fn limited<T>(
        &self,
        call: impl Future<Output = Result<T, EidLoginError>>,
    ) -> Result<T, EidLoginError> {
        match tokio::time::timeout(self.call_limit, call).await {
            Ok(result) => result,
            Err(_) => Err(EidLoginError::Offline {
                reason: format!("no answer within {} s", self.call_limit.as_secs_f32()),
            }),
        }
    }

    /// Posts `body` with the bearer token; after a `401`/`403` fetches a new token and
    /// tries once more (a token revoked early should not fail a citizen's login).
    async fn post(
        &self,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<(u16, Zeroizing<Vec<u8>>), EidLoginError> {
        let mut retried = false;
        loop {
            let token = self.bearer_token().await?;
            let mut request = self.client.post(url.clone()).json(body);
            if let Some(token) = &token {
                request = request.bearer_auth(token.expose_secret());
            }
            let response = request.send().await.map_err(offline)?;
            let status = response.status().as_u16();
            if matches!(status, 401 | 403) && token.is_some() && !retried {
                self.token.forget().await;
                retried = true;
                continue;
            }
            if matches!(status, 401 | 403) {
                self.token.forget().await;
            }
            let answer = read_limited(response).await?;
            return Ok((status, answer));
        }
    }

    async fn bearer_token(&self) -> Result<Option<SecretString>, EidLoginError> {
        self.token
            .bearer(&self.client)
            .await
            .map_err(|error| match error {
                TokenError::Unreachable(e) => EidLoginError::Offline {
                    reason: format!("token endpoint unreachable: {}", describe(&e)),
                },
                // A refusal (RFC 6749: 400 or 401 `invalid_client`) is a credentials
                // problem; a failing token endpoint means the portal is not available.
                TokenError::Status { status, .. } if status >= 500 => EidLoginError::Offline {
                    reason: format!("token endpoint answered HTTP {status}"),
                },
                TokenError::Status { status, .. } => EidLoginError::Rejected {
                    status,
                    code: Some("token_refused".to_owned()),
                },
                TokenError::NoAccessToken => EidLoginError::InvalidAnswer {
                    what: "the token endpoint sent no access_token",
                },
            })
    }
}

/// Session ids go into a URL path: only unreserved characters (RFC 3986), at most 128.
fn valid_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        && id != "."
        && id != ".."
}

/// Reads an answer of at most [`MAX_ANSWER`] bytes into a buffer wiped on drop.
async fn read_limited(
    mut response: reqwest::Response,
) -> Result<Zeroizing<Vec<u8>>, EidLoginError> {
    read_capped(&mut response, MAX_ANSWER)
        .await
        .map_err(offline)?
        .ok_or(EidLoginError::InvalidAnswer {
            what: "the answer is larger than 64 KiB",
        })
}

fn offline(error: reqwest::Error) -> EidLoginError {
    EidLoginError::Offline {
        reason: describe(&error),
    }
}

/// The error for a non-success answer.
fn refusal(status: u16, answer: &[u8]) -> EidLoginError {
    let code = error_code(answer);
    match (status, code.as_deref()) {
        (410, _) => EidLoginError::SessionExpired,
        (422, Some("login_failed")) => EidLoginError::LoginFailed,
        (502..=504, _) => EidLoginError::Offline {
            reason: format!("the portal answered HTTP {status}"),
        },
        _ => EidLoginError::Rejected { status, code },
    }
}

/// The portal's error code, only if it is a plain token (texts may echo data).
fn error_code(answer: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Problem {
        error: Option<String>,
    }
    let code = serde_json::from_slice::<Problem>(answer).ok()?.error?;
    let plain = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    plain.then_some(code)
}

/// An attribute value, straight into a zeroising buffer.
struct Value(Zeroizing<String>);

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Value, E> {
                let mut value = Zeroizing::new(String::with_capacity(text.len()));
                value.push_str(text);
                Ok(Value(value))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Value, E> {
                Ok(Value(Zeroizing::new(text)))
            }
        }
        deserializer.deserialize_string(Text)
    }
}

fn parse_attributes(
    answer: &[u8],
    requested: &[IdentityAttribute],
) -> Result<VerifiedAttributes, EidLoginError> {
    #[derive(serde::Deserialize)]
    struct Completed {
        attributes: BTreeMap<String, Value>,
    }
    // serde's error text may quote a value: it is never kept.
    let completed: Completed =
        serde_json::from_slice(answer).map_err(|_| EidLoginError::InvalidAnswer {
            what: "expected {\"attributes\": {name: text}}",
        })?;
    let mut values = BTreeMap::new();
    let mut ignored = 0usize;
    for (name, Value(value)) in completed.attributes {
        match IdentityAttribute::from_name(&name) {
            Some(attribute) if requested.contains(&attribute) => {
                if value.len() > MAX_VALUE {
                    return Err(EidLoginError::InvalidAnswer {
                        what: "an attribute value is longer than 500 bytes",
                    });
                }
                values.insert(attribute, value);
            }
            _ => ignored += 1,
        }
    }
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "the portal's answer had attributes the kiosk did not ask for or does not know; ignored"
        );
    }
    tracing::info!(
        attributes = values.len(),
        "eID login completed at the portal"
    );
    Ok(VerifiedAttributes { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_must_be_path_safe() {
        assert!(valid_session_id("9f8e7d6c5b4a39281706f5e4d3c2b1a0"));
        assert!(valid_session_id("a-b_c.d~e"));
        for bad in ["", ".", "..", "a/b", "a?b", "a b", "ä", &"x".repeat(129)] {
            assert!(!valid_session_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn unknown_and_unrequested_attributes_are_dropped() {
        let answer = br#"{"attributes":{"given_names":"ERIKA","surname":"MUSTERMANN","favourite_colour":"blue","city":"K\u00d6LN"}}"#;
        let requested = [IdentityAttribute::GivenNames, IdentityAttribute::City];
        let parsed = parse_attributes(answer, &requested).unwrap();
        assert_eq!(parsed.get(IdentityAttribute::GivenNames), Some("ERIKA"));
        assert_eq!(parsed.get(IdentityAttribute::City), Some("KÖLN"));
        assert_eq!(parsed.get(IdentityAttribute::Surname), None);
        assert_eq!(parsed.len(), 2);
        let debug = format!("{parsed:?}");
        assert_eq!(
            debug,
            r#"VerifiedAttributes { attributes: ["given_names", "city"] }"#
        );
    }

    #[test]
    fn a_non_text_value_is_an_invalid_answer_without_the_value() {
        let answer = br#"{"attributes":{"date_of_birth":19640812}}"#;
        let error = parse_attributes(answer, &[IdentityAttribute::DateOfBirth]).unwrap_err();
        assert!(matches!(error, EidLoginError::InvalidAnswer { .. }));
        assert!(!error.to_string().contains("1964"), "{error}");
    }

    #[test]
    fn refusals_map_to_classes() {
        assert_eq!(refusal(410, b"{}"), EidLoginError::SessionExpired);
        assert_eq!(
            refusal(422, br#"{"error":"login_failed","message":"x"}"#),
            EidLoginError::LoginFailed
        );
        assert_eq!(
            refusal(422, br#"{"error":"result_url_mismatch"}"#),
            EidLoginError::Rejected {
                status: 422,
                code: Some("result_url_mismatch".into())
            }
        );
        assert!(matches!(refusal(503, b""), EidLoginError::Offline { .. }));
        assert_eq!(
            refusal(404, br#"{"error":"Erika Mustermann"}"#),
            EidLoginError::Rejected {
                status: 404,
                code: None
            }
        );
    }
}
