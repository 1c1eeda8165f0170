//! Settings: the per-service routes and the transport's connection settings.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use uuid::Uuid;

/// The metadata schema version the kiosk writes (FIT-Connect metadata 2.x).
pub const METADATA_SCHEMA_URI: &str =
    "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json";

/// Where submissions of one catalogue service go in FIT-Connect.
///
/// Plain data the caller supplies per service id, e.g. from a TOML table
/// `[routing.<service_id>]` with exactly these keys (see `docs/sync-api.md`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FitConnectRoute {
    /// The office's destination (Zustellpunkt) id.
    pub destination_id: Uuid,
    /// The service's LeiKa key (Leistungsschlüssel), sent as
    /// `publicService.identifier`, e.g. `urn:de:fim:leika:leistung:99108008000000`.
    pub leika_key: String,
    /// The service's name as the office knows it (`publicService.name`).
    pub service_name: String,
    /// The region the citizen's application belongs to (FIT-Connect `region`,
    /// e.g. an ARS such as `DE05513000`); `None` when the destination needs none.
    #[serde(default)]
    pub region: Option<String>,
    /// The URI of the submission (Fachdaten) schema the answers follow; must be
    /// one the destination offers for this service.
    pub submission_schema_uri: String,
}

/// A route that cannot be used; says which key is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("routing.{service_id}.{key}: {message}")]
pub struct RouteError {
    /// The catalogue service id.
    pub service_id: String,
    /// The offending key.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl FitConnectRoute {
    /// Checks the route for `service_id` without any network access.
    pub fn validate(&self, service_id: &str) -> Result<(), RouteError> {
        let error = |key: &'static str, message: &str| RouteError {
            service_id: service_id.to_owned(),
            key,
            message: message.to_owned(),
        };
        if self.destination_id.is_nil() {
            return Err(error(
                "destination_id",
                "is the nil UUID; copy the destination id from the office's Self-Service-Portal",
            ));
        }
        let leika_ok = self
            .leika_key
            .strip_prefix("urn:de:fim:leika:leistung:")
            .is_some_and(|digits| {
                (1..=14).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            });
        if !leika_ok {
            return Err(error(
                "leika_key",
                "must look like urn:de:fim:leika:leistung:<up to 14 digits>",
            ));
        }
        if self.service_name.trim().is_empty() || self.service_name.len() > 255 {
            return Err(error("service_name", "must have 1 to 255 characters"));
        }
        if let Some(region) = &self.region
            && (region.is_empty()
                || region.len() > 255
                || region.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(error(
                "region",
                "must be a non-empty region key without spaces, or left out",
            ));
        }
        match url::Url::parse(&self.submission_schema_uri) {
            Ok(uri) if !uri.cannot_be_a_base() || uri.scheme() == "urn" => Ok(()),
            _ => Err(error(
                "submission_schema_uri",
                "must be an absolute URI (the schema URI the destination lists for this service)",
            )),
        }
    }

    /// The key-cache scope of this route's destination.
    pub fn key_scope(&self) -> String {
        key_scope(self.destination_id)
    }
}

pub(crate) fn key_scope(destination_id: Uuid) -> String {
    format!("fit-connect:{destination_id}")
}

/// Everything the FIT-Connect transport needs.
#[derive(Clone)]
pub struct FitConnectConfig {
    /// Base URL of the Submission API, e.g.
    /// `https://test.fit-connect.fitko.dev/submission-api` (the kiosk appends `/v2/...`).
    /// Must be `https://`, except for a loopback host (tests).
    pub submission_api_url: String,
    /// The OAuth2 token endpoint of the same environment.
    pub token_url: String,
    /// The sender client's id (from the Self-Service-Portal).
    pub client_id: String,
    /// The sender client's secret.
    pub client_secret: SecretString,
    /// Requested scope, if the environment wants one.
    pub scope: Option<String>,
    /// Trusted root certificates (PEM) for the destination keys' `x5c` chains:
    /// the Verwaltungs-PKI root (or the test environment's root).
    pub key_roots_pem: String,
    /// The smallest accepted destination key (FIT-Connect: 4096 bits).
    pub min_key_bits: usize,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// First wait between event-log checks after hand-over.
    pub poll_interval_min: Duration,
    /// Longest wait between event-log checks.
    pub poll_interval_max: Duration,
    /// A cached destination key older than this is fetched and validated again
    /// before the next delivery to that destination.
    pub key_max_age: Duration,
    /// TLS: trust the Mozilla root store for the HTTPS connection.
    pub tls_public_roots: bool,
    /// TLS: extra trusted roots (PEM) for the HTTPS connection.
    pub tls_extra_roots_pem: Option<String>,
    /// TLS: pinned SubjectPublicKeyInfo hashes (see `offline_cache::spki_sha256`).
    pub tls_pinned_spki_sha256: Vec<[u8; 32]>,
    /// Catalogue service id -> route. Services without a route are not sent
    /// through FIT-Connect.
    pub routes: HashMap<String, FitConnectRoute>,
}

impl std::fmt::Debug for FitConnectConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitConnectConfig")
            .field("submission_api_url", &self.submission_api_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl FitConnectConfig {
    /// Defaults: 4096-bit keys, 30 s request timeout, event-log checks from
    /// every 30 s up to every 15 min, keys re-validated after 24 h, public TLS roots.
    pub fn new(
        submission_api_url: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
        key_roots_pem: impl Into<String>,
    ) -> Self {
        Self {
            submission_api_url: submission_api_url.into(),
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret,
            scope: None,
            key_roots_pem: key_roots_pem.into(),
            min_key_bits: 4096,
            request_timeout: Duration::from_secs(30),
            poll_interval_min: Duration::from_secs(30),
            poll_interval_max: Duration::from_secs(15 * 60),
            key_max_age: Duration::from_secs(24 * 60 * 60),
            tls_public_roots: true,
            tls_extra_roots_pem: None,
            tls_pinned_spki_sha256: Vec::new(),
            routes: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> FitConnectRoute {
        FitConnectRoute {
            destination_id: Uuid::from_u128(0x879e_e109_a690_4db8_ab32_4242_8418_4d7d),
            leika_key: "urn:de:fim:leika:leistung:99108008000000".into(),
            service_name: "Hundesteuer Anmeldung".into(),
            region: Some("DE05513000".into()),
            submission_schema_uri: "https://schema.example.org/dog-tax/1.0.0/schema.json".into(),
        }
    }

    #[test]
    fn a_complete_route_is_valid_and_each_bad_key_is_named() {
        assert_eq!(route().validate("dog-tax"), Ok(()));
        let bad = [
            (
                FitConnectRoute {
                    leika_key: "99108008000000".into(),
                    ..route()
                },
                "leika_key",
            ),
            (
                FitConnectRoute {
                    destination_id: Uuid::nil(),
                    ..route()
                },
                "destination_id",
            ),
            (
                FitConnectRoute {
                    service_name: " ".into(),
                    ..route()
                },
                "service_name",
            ),
            (
                FitConnectRoute {
                    region: Some("DE 05".into()),
                    ..route()
                },
                "region",
            ),
            (
                FitConnectRoute {
                    submission_schema_uri: "schema.json".into(),
                    ..route()
                },
                "submission_schema_uri",
            ),
        ];
        for (route, key) in bad {
            let error = route.validate("dog-tax").unwrap_err();
            assert_eq!(error.key, key);
            assert!(error.to_string().starts_with("routing.dog-tax."), "{error}");
        }
    }

    #[test]
    fn routes_parse_from_the_documented_toml_shape_as_json_too() {
        // The keys are the documented `[routing.<service_id>]` keys; any serde format works.
        let parsed: FitConnectRoute = serde_json::from_value(serde_json::json!({
            "destination_id": "879ee109-a690-4db8-ab32-424284184d7d",
            "leika_key": "urn:de:fim:leika:leistung:99108008000000",
            "service_name": "Hundesteuer Anmeldung",
            "region": "DE05513000",
            "submission_schema_uri": "https://schema.example.org/dog-tax/1.0.0/schema.json"
        }))
        .unwrap();
        assert_eq!(parsed, route());
        let unknown = serde_json::from_value::<FitConnectRoute>(serde_json::json!({
            "destination_id": "879ee109-a690-4db8-ab32-424284184d7d",
            "leika": "x"
        }));
        assert!(unknown.is_err());
    }
}
