//! From a checked `kiosk.toml` to the kiosk's parts: the catalogue as
//! configured, the outbox, the sync transport, the printer. Problems that
//! only show up here (a service the catalogue does not have, a kiosk id that
//! cannot be part of a receipt reference, an unreadable key file) are
//! reported against the configuration key they come from, like the config
//! crate's own checks.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kiosk_catalogue::{Catalogue, Language};
use kiosk_config::{KioskConfig, PortalSection, Problem};
use kiosk_journey::JourneyConfig;
use offline_cache::{
    ClientCredentials, HttpTransport, HttpTransportConfig, OutboxConfig, RecipientKey,
    ReferenceFormat,
};

/// Problems found while assembling the kiosk, each with its key.
#[derive(Debug)]
pub struct SetupProblems(pub Vec<Problem>);

impl std::fmt::Display for SetupProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the configuration cannot be used:")?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SetupProblems {}

fn problem(key: &str, message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The journey's time-outs from `[timeouts]`.
pub fn journey_config(config: &KioskConfig) -> JourneyConfig {
    JourneyConfig {
        idle_after: config.timeouts.idle,
        warning_for: config.timeouts.warning,
        receipt_for: config.timeouts.receipt,
        goodbye_for: config.timeouts.goodbye,
        eid_developer_mode: config.eid.developer_mode,
    }
}

/// The catalogue (built-in or `services.catalogue_dir`), narrowed to the
/// enabled languages and services in the configured order.
pub fn catalogue(config: &KioskConfig) -> Result<Catalogue, SetupProblems> {
    let full = match &config.services.catalogue_dir {
        None => Catalogue::embedded_default(),
        Some(dir) => Catalogue::load_dir(dir).map_err(|errors| {
            SetupProblems(vec![problem(
                "services.catalogue_dir",
                format!(
                    "the catalogue in {} is invalid; run `kiosk-app catalogue check {}` for every problem ({errors})",
                    dir.display(),
                    dir.display()
                ),
            )])
        })?,
    };
    narrow(full, &config.languages.enabled, &config.services.enabled).map_err(SetupProblems)
}

/// Keeps the enabled languages and services (empty lists keep everything).
pub fn narrow(
    mut catalogue: Catalogue,
    languages: &[String],
    services: &[String],
) -> Result<Catalogue, Vec<Problem>> {
    let mut problems = Vec::new();
    if !languages.is_empty() {
        let mut kept = Vec::new();
        for code in languages {
            match Language::new(code)
                .ok()
                .filter(|language| catalogue.languages.contains(language))
            {
                Some(language) => kept.push(language),
                None => problems.push(problem(
                    "languages.enabled",
                    format!(
                        "'{code}' is not a language of the catalogue; it has {}",
                        codes(&catalogue.languages)
                    ),
                )),
            }
        }
        catalogue.languages = kept;
    }
    if !services.is_empty() {
        let mut kept = Vec::new();
        for id in services {
            match catalogue.services.iter().find(|service| &service.id == id) {
                Some(service) => kept.push(service.clone()),
                None => problems.push(problem(
                    "services.enabled",
                    format!(
                        "'{id}' is not a service of the catalogue; it has {}",
                        catalogue
                            .services
                            .iter()
                            .map(|service| service.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        catalogue.services = kept;
    }
    if problems.is_empty() {
        Ok(catalogue)
    } else {
        Err(problems)
    }
}

fn codes(languages: &[Language]) -> String {
    languages
        .iter()
        .map(Language::code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The outbox's settings: recipient key file and reference format.
pub fn outbox_config(config: &KioskConfig) -> Result<OutboxConfig, SetupProblems> {
    let mut problems = Vec::new();
    let reference = ReferenceFormat::new(&config.kiosk.town_prefix, &config.kiosk.id)
        .map_err(|error| problems.push(problem("kiosk.id", error.to_string())))
        .ok();
    let recipient = recipient_key(&config.portal.recipient_key)
        .map_err(|message| problems.push(problem("portal.recipient_key", message)))
        .ok();
    match (reference, recipient) {
        (Some(reference), Some(recipient)) if problems.is_empty() => {
            Ok(OutboxConfig::new(recipient, reference))
        }
        _ => Err(SetupProblems(problems)),
    }
}

fn recipient_key(path: &Path) -> Result<RecipientKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read the office's public key {}: {error} (the office gives you this PEM file)",
            path.display()
        )
    })?;
    RecipientKey::from_public_key_pem(&pem, None).map_err(|error| {
        format!(
            "{} is not a usable RSA public key in PEM: {error}",
            path.display()
        )
    })
}

/// The HTTPS transport to the portal, with its client secret read from the
/// configured file or systemd credential.
pub fn transport(portal: &PortalSection) -> Result<HttpTransport, SetupProblems> {
    HttpTransport::new(portal_settings(portal)?)
        .map_err(|error| SetupProblems(vec![problem("portal.url", error.to_string())]))
}

/// The portal's eID session client: same address, credentials and TLS rules
/// as the submissions.
pub fn eid_login_client(
    portal: &PortalSection,
) -> Result<offline_cache::eid_login::EidLoginClient, SetupProblems> {
    offline_cache::eid_login::EidLoginClient::new(&portal_settings(portal)?)
        .map_err(|error| SetupProblems(vec![problem("portal.url", error.to_string())]))
}

/// How the kiosk talks to the portal: URL, pinning, extra roots, OAuth2 credentials.
fn portal_settings(portal: &PortalSection) -> Result<HttpTransportConfig, SetupProblems> {
    let mut problems = Vec::new();
    let mut settings = HttpTransportConfig::new(portal.url.clone());
    settings.pinned_spki_sha256 = portal.pinned_spki_sha256.clone();
    if let Some(path) = &portal.extra_roots {
        match std::fs::read_to_string(path) {
            Ok(pem) => settings.extra_roots_pem = Some(pem),
            Err(error) => problems.push(problem(
                "portal.extra_roots",
                format!("cannot read {}: {error}", path.display()),
            )),
        }
    }
    if let (Some(token_url), Some(client_id), Some(source)) =
        (&portal.token_url, &portal.client_id, &portal.client_secret)
    {
        match source.read_from_environment() {
            Ok(client_secret) => {
                settings.credentials = Some(ClientCredentials {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret,
                    scope: None,
                });
            }
            Err(error) => problems.push(problem(
                match source {
                    kiosk_config::SecretSource::File(_) => "portal.client_secret_file",
                    kiosk_config::SecretSource::SystemdCredential(_) => {
                        "portal.client_secret_credential"
                    }
                },
                error.to_string(),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(SetupProblems(problems));
    }
    Ok(settings)
}

/// FIT-Connect's settings from `[fit_connect]` and `[routing.*]`, with the
/// client secret and the key roots read; `None` without `[fit_connect]`.
pub fn fit_connect_config(
    config: &KioskConfig,
) -> Result<Option<kiosk_fit_connect::FitConnectConfig>, SetupProblems> {
    let Some(fit) = &config.fit_connect else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let secret = fit
        .client_secret
        .read_from_environment()
        .map_err(|error| {
            problems.push(problem("fit_connect.client_secret_file", error.to_string()))
        })
        .ok();
    let roots = std::fs::read_to_string(&fit.key_roots)
        .map_err(|error| {
            problems.push(problem(
                "fit_connect.key_roots",
                format!(
                    "cannot read {}: {error} (the Verwaltungs-PKI root certificate as PEM)",
                    fit.key_roots.display()
                ),
            ))
        })
        .ok();
    let mut routes = std::collections::HashMap::new();
    for (service_id, route) in &config.routing {
        let Ok(destination_id) = uuid::Uuid::parse_str(&route.destination_id) else {
            problems.push(problem(
                &format!("routing.{service_id}.destination_id"),
                format!("'{}' is not a UUID", route.destination_id),
            ));
            continue;
        };
        let route = kiosk_fit_connect::FitConnectRoute {
            destination_id,
            leika_key: route.leika_key.clone(),
            service_name: route.service_name.clone(),
            region: route.region.clone(),
            submission_schema_uri: route.submission_schema_uri.clone(),
        };
        if let Err(error) = route.validate(service_id) {
            problems.push(problem(&format!("routing.{service_id}"), error.to_string()));
        }
        routes.insert(service_id.clone(), route);
    }
    let (Some(secret), Some(roots)) = (secret, roots) else {
        return Err(SetupProblems(problems));
    };
    if !problems.is_empty() {
        return Err(SetupProblems(problems));
    }
    let mut settings = kiosk_fit_connect::FitConnectConfig::new(
        fit.submission_api_url.clone(),
        fit.token_url.clone(),
        fit.client_id.clone(),
        secret,
        roots,
    );
    settings.scope = fit.scope.clone();
    (settings.poll_interval_min, settings.poll_interval_max) = fit.poll_interval;
    if let Some(path) = &fit.tls_extra_roots {
        settings.tls_extra_roots_pem = Some(std::fs::read_to_string(path).map_err(|error| {
            SetupProblems(vec![problem(
                "fit_connect.tls_extra_roots",
                format!("cannot read {}: {error}", path.display()),
            )])
        })?);
    }
    settings.routes = routes;
    Ok(Some(settings))
}

/// Routed services must be services of the catalogue.
fn check_routes(config: &KioskConfig, catalogue: &Catalogue) -> Vec<Problem> {
    config
        .routing
        .keys()
        .filter(|service| catalogue.service(service).is_none())
        .map(|service| {
            problem(
                &format!("routing.{service}"),
                format!("'{service}' is not a service this kiosk offers"),
            )
        })
        .collect()
}

/// Staff credentials from `[staff]`.
pub fn staff_credentials(
    config: &KioskConfig,
) -> Result<kiosk_staff::StaffCredentials, SetupProblems> {
    kiosk_staff::StaffCredentials::from_config(
        config.staff.pin_hash.as_deref(),
        &config.staff.card_uid_sha256,
        &config.staff.token_public_keys,
    )
    .map_err(|error| SetupProblems(vec![problem("staff", error.to_string())]))
}

/// How often the printer's status is asked while it is idle.
pub const PRINTER_POLL: Duration = Duration::from_secs(20);

/// Checks everything `kiosk-app run` would set up, without opening devices or
/// the network: for `kiosk-app config check`.
pub fn check(config: &KioskConfig) -> Result<Arc<Catalogue>, SetupProblems> {
    let mut problems = Vec::new();
    let catalogue = catalogue(config).map_err(|p| problems.extend(p.0)).ok();
    if let Err(found) = outbox_config(config) {
        problems.extend(found.0);
    }
    if let Err(found) = transport(&config.portal) {
        problems.extend(found.0);
    }
    if let Err(found) = staff_credentials(config) {
        problems.extend(found.0);
    }
    if let Err(found) = fit_connect_config(config) {
        problems.extend(found.0);
    }
    if let Some(catalogue) = &catalogue {
        problems.extend(check_routes(config, catalogue));
    }
    match catalogue {
        Some(catalogue) if problems.is_empty() => Ok(Arc::new(catalogue)),
        _ => Err(SetupProblems(problems)),
    }
}
