//! `EidLoginClient` against the reference receiver's eID login API. The card read that
//! AusweisApp would do is played by posting to the receiver's eID server stand-in, as
//! the virtual AusweisApp does (`drivers/eid/tests/virtual_app.rs` runs the whole
//! login).

use std::time::Duration;

use kiosk_catalogue::IdentityAttribute;
use offline_cache::{
    ClientCredentials, EidLoginClient, EidLoginError, EidSession, HttpTransportConfig, spki_sha256,
};
use offline_cache_receiver::{
    EID_ATTRIBUTES, EID_SESSION_LIFETIME, ReceiverConfig, ReceiverHandle, ReferenceReceiver,
    TlsIdentity, test_keys,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::SecretString;

const WANTED: [IdentityAttribute; 4] = [
    IdentityAttribute::GivenNames,
    IdentityAttribute::Surname,
    IdentityAttribute::DateOfBirth,
    IdentityAttribute::City,
];

async fn receiver(config: ReceiverConfig) -> ReceiverHandle {
    ReferenceReceiver::start(config).await.expect("receiver")
}

fn client(base_url: &str) -> EidLoginClient {
    let mut config = HttpTransportConfig::new(base_url);
    config.request_timeout = Duration::from_secs(5);
    EidLoginClient::new(&config).expect("client")
}

/// A plain reqwest client for what AusweisApp (or a foreign caller) does.
fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The element `name` of the TcToken XML.
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {name} in {xml}"))
        + open.len();
    let end = start + xml[start..].find(&format!("</{name}>")).unwrap();
    &xml[start..end]
}

/// Fetches the TcToken like AusweisApp: (ServerAddress, RefreshAddress).
async fn tc_token(session: &EidSession) -> (String, String) {
    let response = raw().get(&session.tc_token_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml");
    let xml = response.text().await.unwrap();
    assert_eq!(element(&xml, "Binding"), "urn:liberty:paos:2006-08");
    assert_eq!(element(&xml, "PathSecurity-Protocol"), "urn:ietf:rfc:4279");
    let psk = element(&xml, "PSK");
    assert!(
        psk.len() == 64 && psk.bytes().all(|b| b.is_ascii_hexdigit()),
        "{psk}"
    );
    assert_eq!(element(&xml, "SessionIdentifier"), session.session_id);
    (
        element(&xml, "ServerAddress").to_owned(),
        element(&xml, "RefreshAddress").to_owned(),
    )
}

/// What the card hands the eID server: more than the kiosk asked for.
async fn read_card(server_address: &str) {
    let card = serde_json::json!({"attributes": {
        "given_names": "ERIKA",
        "surname": "MUSTERMANN",
        "birth_name": "GABLER",
        "date_of_birth": "1964-08-12",
        "city": "KÖLN",
        "document_type": "ID",
    }});
    let stored = raw().post(server_address).json(&card).send().await.unwrap();
    assert_eq!(stored.status(), 204);
}

#[tokio::test]
async fn a_login_hands_out_what_was_asked_for_exactly_once() {
    let portal = receiver(ReceiverConfig::with_test_key()).await;
    let client = client(&portal.base_url());
    let session = client.start("dog-tax", "K27", &WANTED).await.unwrap();
    assert_eq!(session.expires_in, EID_SESSION_LIFETIME);
    assert_eq!(session.requested(), WANTED);
    assert!(
        session
            .tc_token_url
            .starts_with(&format!("{}/eid/tc-token/", portal.base_url())),
        "{}",
        session.tc_token_url
    );
    let (server, refresh) = tc_token(&session).await;
    assert_eq!(
        refresh,
        format!("{}/eid/refresh/{}", portal.base_url(), session.session_id)
    );
    // Where a browser would land; the kiosk calls /complete instead.
    let landing = raw().get(&refresh).send().await.unwrap();
    assert_eq!(landing.status(), 200);

    // The eID server stand-in says what the provider asks for (the PAOS CHAT).
    let asked: serde_json::Value = raw()
        .get(&server)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        asked,
        serde_json::json!({"attributes": ["given_names", "surname", "date_of_birth", "city"]})
    );
    read_card(&server).await;
    // The card is read once per login.
    let again = raw()
        .post(&server)
        .json(&serde_json::json!({"attributes": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);

    let attributes = client
        .complete(&session, &format!("{refresh}?ResultMajor=ok"))
        .await
        .unwrap();
    assert_eq!(
        attributes.iter().collect::<Vec<_>>(),
        [
            (IdentityAttribute::GivenNames, "ERIKA"),
            (IdentityAttribute::Surname, "MUSTERMANN"),
            (IdentityAttribute::DateOfBirth, "1964-08-12"),
            (IdentityAttribute::City, "KÖLN"),
        ]
    );
    assert_eq!(
        format!("{attributes:?}"),
        r#"VerifiedAttributes { attributes: ["given_names", "surname", "date_of_birth", "city"] }"#
    );
    assert_eq!(
        client
            .complete(&session, &format!("{refresh}?ResultMajor=ok"))
            .await,
        Err(EidLoginError::SessionExpired)
    );
    let stats = portal.eid_stats();
    assert_eq!(
        (
            stats.sessions_started,
            stats.tc_tokens_served,
            stats.card_reads,
            stats.sessions_completed
        ),
        (1, 1, 1, 1)
    );
    // After the login, AusweisApp's TcToken is gone too.
    let late = raw().get(&session.tc_token_url).send().await.unwrap();
    assert_eq!(late.status(), 410);
}

#[tokio::test]
async fn failed_foreign_and_unknown_results_are_refused() {
    let portal = receiver(ReceiverConfig::with_test_key()).await;
    let client = client(&portal.base_url());
    let first = client.start("dog-tax", "K27", &WANTED).await.unwrap();
    let second = client.start("dog-tax", "K27", &WANTED).await.unwrap();
    assert_ne!(first.session_id, second.session_id);
    let (server, refresh) = tc_token(&first).await;
    let (_, other_refresh) = tc_token(&second).await;
    read_card(&server).await;

    // Another session's result URL, or one from elsewhere: refused, the session stays.
    for foreign in [
        format!("{other_refresh}?ResultMajor=ok"),
        format!("{refresh}0?ResultMajor=ok"),
        "https://portal.example.org/refresh?ResultMajor=ok".to_owned(),
    ] {
        assert_eq!(
            client.complete(&first, &foreign).await,
            Err(EidLoginError::Rejected {
                status: 422,
                code: Some("result_url_mismatch".into())
            }),
            "{foreign}"
        );
    }
    // A failure reported by AusweisApp ends the session without attributes.
    let failed = format!(
        "{refresh}?ResultMajor=error&ResultMinor=http%3A%2F%2Fwww.bsi.bund.de%2Fecard%2Fapi%2F1.1%2Fresultminor%2Fsal%23cancellationByUser"
    );
    assert_eq!(
        client.complete(&first, &failed).await,
        Err(EidLoginError::LoginFailed)
    );
    assert_eq!(
        client
            .complete(&first, &format!("{refresh}?ResultMajor=ok"))
            .await,
        Err(EidLoginError::SessionExpired)
    );
    // "ok" without a card read is no login either.
    let (_, refresh) = tc_token(&second).await;
    assert_eq!(
        client
            .complete(&second, &format!("{refresh}?ResultMajor=ok"))
            .await,
        Err(EidLoginError::LoginFailed)
    );
    let mut unknown = second.clone();
    unknown.session_id = "0123456789abcdef".into();
    assert_eq!(
        client.complete(&unknown, "https://x/?ResultMajor=ok").await,
        Err(EidLoginError::Rejected {
            status: 404,
            code: Some("unknown_session".into())
        })
    );
    let stats = portal.eid_stats();
    assert_eq!(
        (stats.sessions_completed, stats.completions_refused),
        (0, 5)
    );
}

#[tokio::test]
async fn an_expired_session_is_refused_with_a_clear_error() {
    let portal = receiver(ReceiverConfig::with_test_key()).await;
    let client = client(&portal.base_url());
    let session = client.start("dog-tax", "K27", &WANTED).await.unwrap();
    let (server, refresh) = tc_token(&session).await;
    read_card(&server).await;
    portal.expire_eid_sessions();
    let error = client
        .complete(&session, &format!("{refresh}?ResultMajor=ok"))
        .await
        .unwrap_err();
    assert_eq!(error, EidLoginError::SessionExpired);
    assert_eq!(error.code(), "eid_login.session_expired");
    assert_eq!(
        raw()
            .get(&session.tc_token_url)
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
}

#[tokio::test]
async fn the_portal_checks_the_start_request() {
    let portal = receiver(ReceiverConfig::with_test_key()).await;
    let url = format!("{}/v1/eid/sessions", portal.base_url());
    let post = |body: serde_json::Value| {
        let url = url.clone();
        async move {
            let response = raw().post(url).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body)
        }
    };
    let (status, body) = post(serde_json::json!({
        "service_id": "dog-tax", "kiosk_id": "K27", "attributes": ["shoe_size"]
    }))
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "unknown_attribute");
    assert!(body["message"].as_str().unwrap().contains("given_names"));
    let (status, body) = post(serde_json::json!({
        "service_id": "dog-tax", "kiosk_id": "K27", "attributes": []
    }))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_request"))
    );
    let (status, body) = post(serde_json::json!({
        "service_id": "", "kiosk_id": "K27", "attributes": ["city"]
    }))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_request"))
    );
    let (status, body) = post(serde_json::json!({"kiosk_id": "K27"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_body"))
    );
    // Every catalogue attribute is one the portal hands out.
    let all: Vec<&str> = IdentityAttribute::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(all, EID_ATTRIBUTES);
    let client = client(&portal.base_url());
    assert!(
        client
            .start("dog-tax", "K27", &IdentityAttribute::ALL)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_kiosk_uses_its_token_and_is_refused_without_one() {
    let portal = receiver(ReceiverConfig {
        credentials: Some(("kiosk-k27".into(), "k27-secret".into())),
        ..ReceiverConfig::with_test_key()
    })
    .await;
    let anonymous = client(&portal.base_url());
    assert_eq!(
        anonymous.start("dog-tax", "K27", &WANTED).await,
        Err(EidLoginError::Rejected {
            status: 401,
            code: Some("invalid_token".into())
        })
    );
    let mut config = HttpTransportConfig::new(portal.base_url());
    config.credentials = Some(ClientCredentials {
        token_url: format!("{}/oauth/token", portal.base_url()),
        client_id: "kiosk-k27".into(),
        client_secret: SecretString::from("wrong"),
        scope: None,
    });
    let wrong = EidLoginClient::new(&config).unwrap();
    let refused = wrong.start("dog-tax", "K27", &WANTED).await.unwrap_err();
    assert_eq!(
        refused,
        EidLoginError::Rejected {
            status: 401,
            code: Some("token_refused".into())
        }
    );
    assert!(!refused.to_string().contains("wrong"), "{refused}");

    if let Some(credentials) = &mut config.credentials {
        credentials.client_secret = SecretString::from("k27-secret");
    }
    let kiosk = EidLoginClient::new(&config).unwrap();
    let session = kiosk.start("dog-tax", "K27", &WANTED).await.unwrap();
    let (server, refresh) = tc_token(&session).await;
    read_card(&server).await;
    let attributes = kiosk
        .complete(&session, &format!("{refresh}?ResultMajor=ok"))
        .await
        .unwrap();
    assert_eq!(attributes.len(), 4);
    assert_eq!(portal.stats().tokens_issued, 1, "one token for both calls");
}

#[tokio::test]
async fn https_with_the_pinned_key_works_and_a_portal_offline_is_reported_as_such() {
    let portal = receiver(ReceiverConfig {
        tls: Some(TlsIdentity::test_only()),
        ..ReceiverConfig::with_test_key()
    })
    .await;
    let server_cert =
        CertificateDer::from_pem_slice(test_keys::TLS_SERVER_CERT_PEM.as_bytes()).unwrap();
    let config = |pins: Vec<[u8; 32]>| {
        let mut config = HttpTransportConfig::new(portal.base_url());
        config.public_roots = false;
        config.extra_roots_pem = Some(test_keys::TLS_CA_PEM.to_owned());
        config.pinned_spki_sha256 = pins;
        config.request_timeout = Duration::from_secs(5);
        config
    };
    let pinned =
        EidLoginClient::new(&config(vec![spki_sha256(server_cert.as_ref()).unwrap()])).unwrap();
    let session = pinned.start("dog-tax", "K27", &WANTED).await.unwrap();
    assert!(session.tc_token_url.starts_with("https://127.0.0.1:"));

    let wrong_pin = EidLoginClient::new(&config(vec![[0x11; 32]])).unwrap();
    let error = wrong_pin
        .start("dog-tax", "K27", &WANTED)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EidLoginError::Offline { reason } if reason.contains("pinned")),
        "{error:?}"
    );
    assert_eq!(portal.eid_sessions_started(), 1);

    // Nothing listens: offline, within the time limit.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let offline = client(&format!("http://127.0.0.1:{port}"));
    let error = offline.start("dog-tax", "K27", &WANTED).await.unwrap_err();
    assert!(matches!(error, EidLoginError::Offline { .. }), "{error:?}");
    assert_eq!(error.code(), "eid_login.offline");
}

#[test]
fn settings_the_sync_transport_refuses_are_refused_here_too() {
    let error =
        EidLoginClient::new(&HttpTransportConfig::new("http://portal.example.org")).unwrap_err();
    assert!(error.to_string().contains("https://"), "{error}");
    let mut config = HttpTransportConfig::new("https://portal.example.org");
    config.public_roots = false;
    let error = EidLoginClient::new(&config).unwrap_err();
    assert!(error.to_string().contains("roots"), "{error}");
    assert!(EidLoginClient::new(&HttpTransportConfig::new("https://portal.example.org")).is_ok());
}

#[test]
fn the_reference_portal_knows_exactly_the_catalogues_identity_attributes() {
    let catalogue: Vec<&str> = kiosk_catalogue::IdentityAttribute::ALL
        .iter()
        .map(|attribute| attribute.name())
        .collect();
    assert_eq!(offline_cache_receiver::EID_ATTRIBUTES.to_vec(), catalogue);
}
