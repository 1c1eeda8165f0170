//! The case event log: Security Event Tokens (RFC 8417) signed PS512.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Event URIs the kiosk acts on.
pub const EVENT_SUBMIT: &str = "https://schema.fitko.de/fit-connect/events/submit-submission";
/// The office accepted the submission.
pub const EVENT_ACCEPT: &str = "https://schema.fitko.de/fit-connect/events/accept-submission";
/// The office (or the delivery service) rejected the submission.
pub const EVENT_REJECT: &str = "https://schema.fitko.de/fit-connect/events/reject-submission";

/// A SET whose structure was checked; the signature is checked by the caller
/// with the issuer's key ([`SecurityEventToken::verify`]).
#[derive(Debug, Clone)]
pub struct SecurityEventToken {
    signing_input: String,
    signature: Vec<u8>,
    /// `kid` of the signing key.
    pub kid: String,
    /// `iss`: the delivery service's URL or the destination id.
    pub issuer: String,
    /// The single event URI.
    pub event: String,
    /// The event's payload object.
    pub payload: serde_json::Value,
}

/// Why a SET was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid security event token: {0}")]
pub struct SetError(pub String);

impl SecurityEventToken {
    /// Parses a compact JWS and checks header and claims: `typ` `secevent+jwt`,
    /// `alg` `PS512`, a `kid`; `jti`, `iss`, `iat`, `sub` = `submission:<id>`,
    /// `txn` = `case:<caseId>` and exactly one event.
    pub fn parse(compact: &str, submission_id: &str, case_id: &str) -> Result<Self, SetError> {
        let bad = |m: &str| SetError(m.to_owned());
        let parts: Vec<&str> = compact.split('.').collect();
        let [header_b64, payload_b64, signature_b64] = parts[..] else {
            return Err(bad("a compact JWS has three parts"));
        };
        let decode = |p: &str| {
            URL_SAFE_NO_PAD
                .decode(p)
                .map_err(|_| bad("a part is not base64url"))
        };
        let header: serde_json::Value = serde_json::from_slice(&decode(header_b64)?)
            .map_err(|_| bad("the header is not JSON"))?;
        if header["typ"] != "secevent+jwt" {
            return Err(bad("typ is not secevent+jwt"));
        }
        if header["alg"] != "PS512" {
            return Err(bad("alg is not PS512"));
        }
        let kid = header["kid"]
            .as_str()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("no kid"))?
            .to_owned();
        let claims: serde_json::Value = serde_json::from_slice(&decode(payload_b64)?)
            .map_err(|_| bad("the payload is not JSON"))?;
        for claim in ["jti", "iss", "sub", "txn"] {
            if !claims[claim].is_string() {
                return Err(SetError(format!("claim '{claim}' is missing")));
            }
        }
        if !claims["iat"].is_i64() && !claims["iat"].is_u64() {
            return Err(bad("claim 'iat' is missing"));
        }
        if claims["sub"] != format!("submission:{submission_id}") {
            return Err(bad("sub names another submission"));
        }
        if claims["txn"] != format!("case:{case_id}") {
            return Err(bad("txn names another case"));
        }
        let events = claims["events"]
            .as_object()
            .ok_or_else(|| bad("no events object"))?;
        if events.len() != 1 {
            return Err(bad("events must hold exactly one event"));
        }
        let (event, payload) = events.iter().next().ok_or_else(|| bad("no event"))?;
        Ok(Self {
            signing_input: format!("{header_b64}.{payload_b64}"),
            signature: decode(signature_b64)?,
            kid,
            issuer: claims["iss"].as_str().unwrap_or_default().to_owned(),
            event: event.clone(),
            payload: payload.clone(),
        })
    }

    /// Checks the signature with the issuer's key.
    pub fn verify(&self, key: &rsa::RsaPublicKey) -> bool {
        crate::keys::verify_ps512(key, self.signing_input.as_bytes(), &self.signature)
    }

    /// For a reject event: the problem types as short, non-personal codes
    /// (last path segment of each `type` URI, only `[a-z0-9-]`), for staff.
    pub fn problem_codes(&self) -> Vec<String> {
        self.payload["problems"]
            .as_array()
            .map(|problems| {
                problems
                    .iter()
                    .filter_map(|p| p["type"].as_str())
                    .filter_map(|t| t.rsplit('/').next())
                    .filter(|code| {
                        (1..=64).contains(&code.len())
                            && code
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
