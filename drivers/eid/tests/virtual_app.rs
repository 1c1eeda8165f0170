//! The virtual AusweisApp against the kiosk's own eID stack: `LoginFlow` driven through
//! `EidLink`/`EidClient`, with the reference receiver as the portal and
//! `offline_cache::EidLoginClient` completing the login. Covers the login paths a
//! citizen can take (right PIN, wrong PINs, CAN, blocked PIN, cancel, card removed,
//! switched-off card), the supervisor finding the virtual app, the protocol's refusals,
//! and that no PIN or personal data reaches the logs. Last, the real AusweisApp (when
//! installed) fetches the receiver's TcToken and ends in a clear error.

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kiosk_catalogue::IdentityAttribute;
use kiosk_eid::protocol::{Command, Message, RunAuth, RunChangePin};
use kiosk_eid::virtual_app::{self, VirtualAppConfig, VirtualAusweisApp, VirtualIdCard};
use kiosk_eid::{
    Advice, Awaiting, CanReason, CancelReason, CardProblem, ClientConfig, ClientError, Conditions,
    EidClient, EidLink, Failure, FlowConfig, Launch, LoginEffect, LoginEvent, LoginFlow,
    LoginState, Messages, Outcome, Secret, Supervisor, SupervisorConfig,
};
use offline_cache::{
    ClientCredentials, EidLoginClient, EidLoginError, EidSession, HttpTransportConfig,
};
use offline_cache_receiver::test_keys;
use offline_cache_receiver::{ReceiverConfig, ReceiverHandle, ReferenceReceiver, TlsIdentity};
use secrecy::SecretString;
use tokio_tungstenite::tungstenite::Message as Frame;

/// The longest any one wait in these tests may take (a bound, not a timing check).
const WAIT: Duration = Duration::from_secs(20);

const CLIENT: ClientConfig = ClientConfig {
    connect_timeout: Duration::from_secs(5),
    request_timeout: Duration::from_secs(10),
    heartbeat: Duration::from_secs(15),
};

const ADDRESS: [IdentityAttribute; 7] = [
    IdentityAttribute::GivenNames,
    IdentityAttribute::Surname,
    IdentityAttribute::DateOfBirth,
    IdentityAttribute::Street,
    IdentityAttribute::HouseNumber,
    IdentityAttribute::PostalCode,
    IdentityAttribute::City,
];

/// The reference receiver as the portal, and the kiosk's client for it.
struct Portal {
    receiver: ReceiverHandle,
    client: EidLoginClient,
    /// The test CA, when the portal speaks https.
    roots: Option<String>,
}

impl Portal {
    /// Over https with the receiver's test CA and OAuth2 credentials, as in production.
    async fn https() -> Self {
        let receiver = ReferenceReceiver::start(ReceiverConfig {
            tls: Some(TlsIdentity::test_only()),
            credentials: Some(("kiosk-k27".into(), "k27-secret".into())),
            ..ReceiverConfig::with_test_key()
        })
        .await
        .expect("receiver");
        let mut config = HttpTransportConfig::new(receiver.base_url());
        config.public_roots = false;
        config.extra_roots_pem = Some(test_keys::TLS_CA_PEM.to_owned());
        config.credentials = Some(ClientCredentials {
            token_url: format!("{}/oauth/token", receiver.base_url()),
            client_id: "kiosk-k27".into(),
            client_secret: SecretString::from("k27-secret"),
            scope: None,
        });
        let client = EidLoginClient::new(&config).expect("eID login client");
        Self {
            receiver,
            client,
            roots: Some(test_keys::TLS_CA_PEM.to_owned()),
        }
    }

    /// Over plain http on loopback (AusweisApp then needs developer mode).
    async fn http() -> Self {
        let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
            .await
            .expect("receiver");
        let client = EidLoginClient::new(&HttpTransportConfig::new(receiver.base_url()))
            .expect("eID login client");
        Self {
            receiver,
            client,
            roots: None,
        }
    }

    async fn start(&self) -> EidSession {
        self.client
            .start("residence-certificate", "K27", &ADDRESS)
            .await
            .expect("the portal starts a login")
    }

    async fn app(&self, card: Option<VirtualIdCard>) -> VirtualAusweisApp {
        VirtualAusweisApp::start(VirtualAppConfig {
            card,
            extra_roots_pem: self.roots.clone(),
            ..VirtualAppConfig::default()
        })
        .await
        .expect("virtual AusweisApp")
    }
}

async fn connect(app: &VirtualAusweisApp) -> EidClient {
    EidClient::connect("127.0.0.1", app.port(), CLIENT)
        .await
        .expect("connected to the virtual AusweisApp")
}

const READY: Conditions = Conditions {
    online: true,
    eid_client: true,
    card_reader: true,
};

fn pin(digits: &str) -> LoginEvent {
    LoginEvent::Pin(Secret::pin(digits).unwrap())
}

fn can(digits: &str) -> LoginEvent {
    LoginEvent::Can(Secret::can(digits).unwrap())
}

/// One login: the flow, its link to AusweisApp, and the events not yet handled. The
/// test plays the citizen between [`Login::until`] calls.
struct Login {
    flow: LoginFlow,
    link: EidLink,
    events: VecDeque<LoginEvent>,
    outcome: Option<Outcome>,
}

impl Login {
    /// Waits for the consent screen and gives the citizen's consent.
    async fn accept_consent(&mut self) {
        self.until("the consent screen", |state| {
            matches!(state, LoginState::Consent(_))
        })
        .await;
        self.citizen(LoginEvent::Accept);
    }

    fn start(client: &EidClient, session: &EidSession, config: FlowConfig) -> Self {
        let link = EidLink::new(client, Duration::from_secs(30));
        let mut login = Self {
            flow: LoginFlow::new(config),
            link,
            events: VecDeque::new(),
            outcome: None,
        };
        login.citizen(LoginEvent::Start {
            tc_token_url: session.tc_token_url.clone(),
            conditions: READY,
        });
        login
    }

    fn citizen(&mut self, event: LoginEvent) {
        self.events.push_back(event);
    }

    async fn handle(&mut self, event: LoginEvent) {
        for effect in self.flow.handle(event) {
            match effect {
                LoginEffect::Finished(outcome) => self.outcome = Some(outcome),
                effect => {
                    if let Some(event) = self.link.perform(effect).await {
                        self.events.push_back(event);
                    }
                }
            }
        }
    }

    /// Handles events and AusweisApp's messages until `done` holds for the state.
    async fn until(&mut self, what: &str, done: impl Fn(&LoginState) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(event) = self.events.pop_front() {
                self.handle(event).await;
                continue;
            }
            if done(self.flow.state()) {
                return;
            }
            assert!(
                !self.flow.is_ended(),
                "the login ended before {what}: {:?}",
                self.flow.state()
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what}; the login is in {:?}",
                self.flow.state()
            );
            let awaiting = self.flow.awaiting();
            if let Some(event) = self
                .link
                .next_event(awaiting, Duration::from_millis(200))
                .await
            {
                self.events.push_back(event);
            }
        }
    }

    async fn outcome(&mut self) -> Outcome {
        self.until("the end", |state| matches!(state, LoginState::Ended(_)))
            .await;
        self.outcome.clone().expect("a Finished effect")
    }

    async fn pin_request(&mut self, attempts: u8, last_was_wrong: bool) {
        self.until(
            &format!("a PIN request with {attempts} attempts"),
            |state| {
                matches!(state, LoginState::EnterPin(request)
                if request.attempts_left == Some(attempts)
                    && request.last_was_wrong == last_was_wrong
                    && !request.keypad)
            },
        )
        .await;
    }

    async fn consent_then_pin(&mut self) {
        self.until("the consent screen", |state| {
            matches!(state, LoginState::Consent(_))
        })
        .await;
        self.citizen(LoginEvent::Accept);
        self.pin_request(3, false).await;
    }
}

fn result_url(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded { result_url } => result_url.clone(),
        other => panic!("the login did not succeed: {other:?}"),
    }
}

#[tokio::test]
async fn a_login_with_the_right_pin_gives_the_portal_the_card_data_once() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal.app(Some(VirtualIdCard::erika_mustermann())).await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());

    login
        .until("the consent screen", |state| {
            matches!(state, LoginState::Consent(_))
        })
        .await;
    let LoginState::Consent(consent) = login.flow.state().clone() else {
        unreachable!()
    };
    assert_eq!(consent.provider.name, virtual_app::PROVIDER_NAME);
    assert_eq!(
        consent.provider.url,
        portal.receiver.base_url(),
        "the provider is the portal that handed out the tcTokenURL"
    );
    assert!(!consent.provider.purpose.is_empty());
    assert!(consent.provider.terms_of_usage.contains("Datenschutz"));
    use kiosk_eid::protocol::AccessRight as R;
    assert_eq!(
        consent.rights.required,
        [R::FamilyName, R::GivenNames, R::DateOfBirth, R::Address]
    );
    assert_eq!(consent.rights.optional, [R::DocumentType]);
    assert_eq!(consent.rights.enabled_optional, [R::DocumentType]);

    // The citizen switches the optional right off; AusweisApp confirms.
    login.citizen(LoginEvent::ChooseOptionalRights(Vec::new()));
    login
        .until(
            "the optional right off",
            |state| matches!(state, LoginState::Consent(c) if c.rights.enabled_optional.is_empty()),
        )
        .await;
    login.citizen(LoginEvent::Accept);
    login.pin_request(3, false).await;
    login.citizen(pin("123456"));
    let outcome = login.outcome().await;
    let url = result_url(&outcome);
    assert!(url.ends_with("?ResultMajor=ok"), "{url}");
    let stats = portal.receiver.eid_stats();
    assert_eq!((stats.tc_tokens_served, stats.card_reads), (1, 1));

    let attributes = portal
        .client
        .complete(&session, &url)
        .await
        .expect("the portal hands out the verified attributes");
    let expected = [
        (IdentityAttribute::GivenNames, "ERIKA"),
        (IdentityAttribute::Surname, "MUSTERMANN"),
        (IdentityAttribute::DateOfBirth, "1964-08-12"),
        (IdentityAttribute::Street, "HEIDESTRASSE"),
        (IdentityAttribute::HouseNumber, "17"),
        (IdentityAttribute::PostalCode, "51147"),
        (IdentityAttribute::City, "KÖLN"),
    ];
    assert_eq!(attributes.iter().collect::<Vec<_>>(), expected);
    assert_eq!(attributes.get(IdentityAttribute::BirthName), None);
    let debug = format!("{attributes:?}");
    assert!(
        !debug.contains("ERIKA") && debug.contains("given_names"),
        "{debug}"
    );

    // Exactly once: the portal forgot the attributes after answering.
    assert_eq!(
        portal.client.complete(&session, &url).await,
        Err(EidLoginError::SessionExpired)
    );
    assert_eq!(portal.receiver.eid_sessions_completed(), 1);
    assert_eq!(app.card().unwrap().retry_counter, 3);
    assert_eq!(client.get_status().await.unwrap().workflow, None);
    app.shutdown().await;
}

#[tokio::test]
async fn one_wrong_pin_then_the_right_one() {
    // Plain http on loopback: only in AusweisApp's developer mode (tests only).
    let portal = Portal::http().await;
    let session = portal.start().await;
    let app = portal.app(Some(VirtualIdCard::default())).await;
    let client = connect(&app).await;
    let mut login = Login::start(
        &client,
        &session,
        FlowConfig {
            developer_mode: true,
        },
    );
    login.consent_then_pin().await;
    login.citizen(pin("654321"));
    login.pin_request(2, true).await;
    assert_eq!(app.card().unwrap().retry_counter, 2);
    login.citizen(pin("123456"));
    let url = result_url(&login.outcome().await);
    assert_eq!(
        app.card().unwrap().retry_counter,
        3,
        "a right PIN resets it"
    );
    let attributes = portal.client.complete(&session, &url).await.unwrap();
    assert_eq!(
        attributes.get(IdentityAttribute::Surname),
        Some("MUSTERMANN")
    );
}

#[tokio::test]
async fn two_wrong_pins_need_the_can_before_the_last_attempt() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal.app(Some(VirtualIdCard::default())).await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.consent_then_pin().await;
    login.citizen(pin("111111"));
    login.pin_request(2, true).await;
    login.citizen(pin("222222"));
    login
        .until("the CAN request", |state| {
            matches!(state, LoginState::EnterCan(request)
                if request.reason == CanReason::PinSuspended && !request.last_was_wrong)
        })
        .await;
    login.citizen(can("999999"));
    login
        .until(
            "the CAN request again",
            |state| matches!(state, LoginState::EnterCan(request) if request.last_was_wrong),
        )
        .await;
    login.citizen(can("123456"));
    login.pin_request(1, false).await;
    let LoginState::EnterPin(request) = login.flow.state() else {
        unreachable!()
    };
    assert!(
        request.last_attempt(),
        "the UI warns before the last attempt"
    );
    login.citizen(pin("123456"));
    let url = result_url(&login.outcome().await);
    assert_eq!(app.card().unwrap().retry_counter, 3);
    assert!(portal.client.complete(&session, &url).await.is_ok());
}

#[tokio::test]
async fn three_wrong_pins_block_the_pin() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal.app(Some(VirtualIdCard::default())).await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.consent_then_pin().await;
    login.citizen(pin("111111"));
    login.pin_request(2, true).await;
    login.citizen(pin("222222"));
    login
        .until("the CAN request", |state| {
            matches!(state, LoginState::EnterCan(_))
        })
        .await;
    login.citizen(can("123456"));
    login.pin_request(1, false).await;
    login.citizen(pin("333333"));
    let outcome = login.outcome().await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                failure: Failure::PinBlocked,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(outcome.advice(), Some(Advice::VisitBuergerbuero));
    assert_eq!(app.card().unwrap().retry_counter, 0);
    assert_eq!(portal.receiver.eid_stats().card_reads, 0);
    // The error address AusweisApp reports is no login at the portal.
    let error_url = outcome.result_url().expect("the provider's error address");
    assert!(error_url.contains("ResultMajor=error"), "{error_url}");
    assert_eq!(
        portal.client.complete(&session, error_url).await,
        Err(EidLoginError::LoginFailed)
    );
    assert_eq!(client.get_status().await.unwrap().workflow, None);

    // The blocked card asks for the PUK at once the next time.
    let session = portal.start().await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.accept_consent().await;
    let outcome = login.outcome().await;
    assert_eq!(outcome.code(), Failure::PinBlocked.code());
}

#[tokio::test]
async fn cancel_while_waiting_for_the_card() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal.app(None).await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.accept_consent().await;
    login
        .until("the card request", |state| {
            matches!(state, LoginState::InsertCard { problem: None })
        })
        .await;
    assert_eq!(login.flow.awaiting(), Awaiting::Citizen);
    login.citizen(LoginEvent::Cancel);
    let outcome = login.outcome().await;
    assert!(
        matches!(
            outcome,
            Outcome::Cancelled {
                reason: CancelReason::Citizen,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(client.get_status().await.unwrap().workflow, None);
    assert_eq!(portal.receiver.eid_stats().card_reads, 0);
}

#[tokio::test]
async fn a_card_taken_off_mid_way_ends_the_login() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal.app(None).await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.accept_consent().await;
    login
        .until("the card request", |state| {
            matches!(state, LoginState::InsertCard { .. })
        })
        .await;
    // The card arrives while the flow waits for it.
    app.insert_card(VirtualIdCard::default());
    login.pin_request(3, false).await;
    let card = app.remove_card().expect("the card was on the reader");
    assert_eq!(card.retry_counter, 3);
    let outcome = login.outcome().await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                failure: Failure::CardRemoved,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(outcome.advice(), Some(Advice::TryAgain));
    assert_eq!(portal.receiver.eid_stats().card_reads, 0);
}

#[tokio::test]
async fn a_card_with_the_online_function_off_is_named_and_another_one_works() {
    let portal = Portal::https().await;
    let session = portal.start().await;
    let app = portal
        .app(Some(VirtualIdCard::default().with_eid_deactivated()))
        .await;
    let client = connect(&app).await;
    let mut login = Login::start(&client, &session, FlowConfig::default());
    login.accept_consent().await;
    login
        .until("the card problem", |state| {
            matches!(
                state,
                LoginState::InsertCard {
                    problem: Some(CardProblem::EidDeactivated)
                }
            )
        })
        .await;
    assert_eq!(
        CardProblem::EidDeactivated.advice(),
        Advice::VisitBuergerbuero
    );
    // The citizen puts another card on the reader: the login goes on with it.
    app.insert_card(VirtualIdCard::default());
    login.pin_request(3, false).await;
    login.citizen(LoginEvent::Cancel);
    let outcome = login.outcome().await;
    assert_eq!(outcome.code(), CancelReason::Citizen.code());
}

#[tokio::test]
async fn the_supervisor_finds_the_virtual_app_and_reports_its_reader() {
    let app = VirtualAusweisApp::start(VirtualAppConfig::default())
        .await
        .unwrap();
    let supervisor = Supervisor::start(SupervisorConfig {
        port: app.port(),
        launch: Launch::Never,
        client: CLIENT,
        ..SupervisorConfig::default()
    });
    let status = supervisor
        .wait_for_status(WAIT, |status| status.is_connected())
        .await
        .unwrap_or_else(|| panic!("not connected: {:?}", supervisor.status()));
    assert!(!status.managed);
    assert_eq!(status.version.as_deref(), Some(virtual_app::VERSION));
    assert_eq!(status.api_level, Some(2));
    assert_eq!(status.readers.len(), 1);
    let reader = &status.readers[0];
    assert_eq!(reader.name, virtual_app::READER_NAME);
    assert!(!reader.card && !reader.keypad && !reader.simulator);
    assert!(status.has_card_reader());
    assert_eq!(status.conditions(true), READY);

    app.insert_card(VirtualIdCard::default());
    supervisor
        .wait_for_status(WAIT, |status| status.readers.iter().any(|r| r.card))
        .await
        .expect("the card shows up");
    app.remove_card();
    supervisor
        .wait_for_status(WAIT, |status| {
            status.readers.len() == 1 && !status.readers[0].card
        })
        .await
        .expect("the card is gone again");

    // One client at a time, like AusweisApp.
    let second = EidClient::connect("127.0.0.1", app.port(), CLIENT).await;
    assert!(
        matches!(second, Err(ClientError::Busy { .. })),
        "{second:?}"
    );
    let client = supervisor.client(WAIT).await.expect("client");
    assert_eq!(
        client
            .get_info()
            .await
            .unwrap()
            .version_info
            .name
            .as_deref(),
        Some(virtual_app::NAME)
    );
    supervisor.stop().await;
    // The slot is free again once the supervisor has gone.
    let mut again = None;
    for _ in 0..100 {
        if !app.is_connected() {
            again = Some(connect(&app).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the virtual app stayed busy");
}

/// A raw WebSocket client, for what `EidClient` cannot send.
async fn raw_exchange(app: &VirtualAusweisApp, text: &str) -> serde_json::Value {
    let (mut socket, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .expect("WebSocket");
    socket.send(Frame::text(text)).await.unwrap();
    let answer = loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Frame::Text(answer)))) => break answer,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no answer to {text}: {other:?}"),
        }
    };
    let _ = socket.close(None).await;
    // Wait until the app has seen the close, so the next connection is not refused.
    for _ in 0..100 {
        if !app.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    serde_json::from_str(answer.as_str()).unwrap()
}

#[tokio::test]
async fn commands_out_of_place_are_refused_as_ausweisapp_does() {
    let app = VirtualAusweisApp::start(VirtualAppConfig::default())
        .await
        .unwrap();
    let unknown = raw_exchange(&app, r#"{"cmd":"FOO"}"#).await;
    assert_eq!(
        unknown,
        serde_json::json!({"msg": "UNKNOWN_COMMAND", "error": "FOO"})
    );
    let invalid = raw_exchange(&app, "{").await;
    assert_eq!(invalid["msg"], "INVALID");
    let undefined = raw_exchange(&app, r#"{"value":"123456"}"#).await;
    assert_eq!(undefined["msg"], "INVALID");

    let client = connect(&app).await;
    let level = client.get_api_level().await.unwrap();
    assert_eq!(level.available, Some(vec![1, 2]));
    assert!(client.set_api_level(3).await.is_err());
    for command in [Command::GetCertificate, Command::GetAccessRights] {
        let name = command.name();
        let answer = client.request(command).await.unwrap();
        assert_eq!(answer.rejected_command(), Some(name));
    }
    let mut messages = client.subscribe();
    client.send(Command::Cancel).await.unwrap();
    let refused = messages.next(WAIT).await.unwrap();
    assert_eq!(refused.rejected_command(), Some("CANCEL"));
    client
        .send(Command::SetPin {
            value: Some(Secret::pin("123456").unwrap()),
        })
        .await
        .unwrap();
    let refused = messages.next(WAIT).await.unwrap();
    assert_eq!(refused.rejected_command(), Some("SET_PIN"));

    // A tcTokenURL that is not https (without developer mode) or not on this machine
    // ends the login with a clear error, as AusweisApp's own checks do.
    for url in [
        "http://127.0.0.1:9/tc-token",
        "https://portal.example.org/tc-token",
    ] {
        let started = client
            .request(Command::RunAuth(RunAuth::new(url)))
            .await
            .unwrap();
        assert!(
            matches!(&started, Message::Auth(auth) if !auth.is_final()),
            "{started:?}"
        );
        let ended = loop {
            match messages.next(WAIT).await.unwrap() {
                Message::Auth(auth) if auth.is_final() => break auth,
                _ => {}
            }
        };
        let result = ended.result.unwrap();
        assert_eq!(
            result.minor_code(),
            Some("trustedChannelEstablishmentFailed")
        );
        assert_eq!(ended.url, None);
    }
    let not_a_url = client
        .request(Command::RunAuth(RunAuth::new("no url")))
        .await
        .unwrap();
    assert!(matches!(not_a_url, Message::Auth(auth) if auth.error.is_some()));
    app.shutdown().await;
}

/// The next message named `wanted` (others skipped).
async fn next(messages: &mut Messages, wanted: &str) -> Message {
    loop {
        let message = messages.next(WAIT).await.unwrap();
        if message.name() == wanted {
            return message;
        }
    }
}

/// Reads raw frames until one has `"msg": wanted`.
async fn raw_next<S>(socket: &mut S, wanted: &str) -> serde_json::Value
where
    S: futures_util::Stream<Item = Result<Frame, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Frame::Text(text)))) => {
                let message: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if message["msg"] == wanted {
                    return message;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no {wanted}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_pin_can_be_changed_and_a_second_workflow_waits() {
    let app = VirtualAusweisApp::start(VirtualAppConfig {
        card: Some(VirtualIdCard::default()),
        ..VirtualAppConfig::default()
    })
    .await
    .unwrap();

    // A PIN of the wrong form (only a raw client can send one) is refused without
    // using an attempt; CANCEL ends the workflow.
    let (mut raw, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    raw.send(Frame::text(r#"{"cmd":"RUN_CHANGE_PIN"}"#))
        .await
        .unwrap();
    let first = raw_next(&mut raw, "ENTER_PIN").await;
    assert_eq!(first["reader"]["card"]["retryCounter"], 3);
    raw.send(Frame::text(r#"{"cmd":"SET_PIN","value":"12"}"#))
        .await
        .unwrap();
    let refused = raw_next(&mut raw, "ENTER_PIN").await;
    assert_eq!(refused["error"], "You must provide 6 digits");
    assert_eq!(refused["reader"]["card"]["retryCounter"], 3);
    raw.send(Frame::text(r#"{"cmd":"SET_PIN","value":12}"#))
        .await
        .unwrap();
    let refused = raw_next(&mut raw, "ENTER_PIN").await;
    assert!(refused["error"].is_string());
    raw.send(Frame::text(r#"{"cmd":"CANCEL"}"#)).await.unwrap();
    let cancelled = raw_next(&mut raw, "CHANGE_PIN").await;
    assert_eq!(cancelled["success"], false);
    let _ = raw.close(None).await;
    for _ in 0..100 {
        if !app.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let client = connect(&app).await;
    let mut messages = client.subscribe();
    let started = client
        .request(Command::RunChangePin(RunChangePin::default()))
        .await
        .unwrap();
    assert!(matches!(started, Message::ChangePin(change) if change.success.is_none()));
    let busy = client
        .request(Command::RunAuth(RunAuth::new("https://127.0.0.1:9/")))
        .await
        .unwrap();
    assert_eq!(busy.rejected_command(), Some("RUN_AUTH"));
    let Message::EnterPin(request) = next(&mut messages, "ENTER_PIN").await else {
        unreachable!()
    };
    assert_eq!(request.retry_counter(), Some(3));
    assert!(!request.keypad());
    client
        .send(Command::SetPin {
            value: Some(Secret::pin("000000").unwrap()),
        })
        .await
        .unwrap();
    let Message::EnterPin(again) = next(&mut messages, "ENTER_PIN").await else {
        unreachable!()
    };
    assert_eq!(
        again.retry_counter(),
        Some(2),
        "a wrong PIN uses an attempt"
    );
    assert_eq!(again.error, None);
    client
        .send(Command::SetPin {
            value: Some(Secret::pin("123456").unwrap()),
        })
        .await
        .unwrap();
    next(&mut messages, "ENTER_NEW_PIN").await;
    client
        .send(Command::SetNewPin {
            value: Some(Secret::pin("480613").unwrap()),
        })
        .await
        .unwrap();
    let Message::ChangePin(done) = next(&mut messages, "CHANGE_PIN").await else {
        unreachable!()
    };
    assert_eq!(done.success, Some(true));
    let card = app.card().unwrap();
    assert_eq!(card.pin, Secret::pin("480613").unwrap());
    assert_eq!(card.retry_counter, 3);
}

/// Captures everything logged on this thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_pin_and_no_card_data_reach_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Everything (virtual app, receiver, client) runs on this thread's runtime, so the
    // thread-local subscriber sees all of it; `log` records are bridged into it.
    let _guard = tracing::subscriber::set_default(subscriber);
    let _ = tracing_log::LogTracer::init();
    const PIN: &str = "492817";
    const CAN: &str = "805133";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let portal = Portal::https().await;
        let session = portal.start().await;
        let card = VirtualIdCard {
            pin: Secret::pin(PIN).unwrap(),
            can: Secret::can(CAN).unwrap(),
            ..VirtualIdCard::default()
        };
        let app = portal.app(Some(card)).await;
        let client = connect(&app).await;
        // A callsite that another test thread was registering while `set_default` ran
        // can keep a cached "never" interest (tracing-core); recompute every interest now
        // that this thread's subscriber is known.
        tracing::callsite::rebuild_interest_cache();
        let mut login = Login::start(&client, &session, FlowConfig::default());
        login.consent_then_pin().await;
        login.citizen(pin("111111"));
        login.pin_request(2, true).await;
        login.citizen(pin("222222"));
        login
            .until("the CAN request", |state| {
                matches!(state, LoginState::EnterCan(_))
            })
            .await;
        login.citizen(can(CAN));
        login.pin_request(1, false).await;
        login.citizen(pin(PIN));
        let url = result_url(&login.outcome().await);
        let attributes = portal.client.complete(&session, &url).await.unwrap();
        tracing::info!(?attributes, ?session, "completed");
        assert_eq!(attributes.len(), ADDRESS.len());
        app.shutdown().await;
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("SET_PIN") && logs.contains("virtual card checked a PIN"),
        "TRACE logging was not captured:\n{logs}"
    );
    for secret in [
        PIN,
        CAN,
        "ERIKA",
        "MUSTERMANN",
        "HEIDESTRASSE",
        "51147",
        "1964",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} appears in the logs:\n{logs}"
        );
    }
}

#[test]
fn the_real_ausweisapp_fetches_the_receivers_tc_token_and_ends_in_a_clear_error() {
    let Some(env) = common::Env::start(
        "the_real_ausweisapp_fetches_the_receivers_tc_token_and_ends_in_a_clear_error",
    ) else {
        return;
    };
    env.run(async {
        let portal = Portal::http().await;
        let session = portal.start().await;
        let (supervisor, _) = common::connected(env.config()).await;
        let status = supervisor
            .wait_for_status(WAIT, |s| s.has_card_reader())
            .await
            .expect("vpcd readers");
        assert_eq!(status.conditions(true), READY);
        let client = supervisor.client(WAIT).await.expect("client");
        let mut login = Login::start(
            &client,
            &session,
            FlowConfig {
                developer_mode: true,
            },
        );
        let outcome = login.outcome().await;
        // It cannot speak PAOS over TLS-PSK with the JSON stand-in of the eID server.
        assert!(
            matches!(
                outcome,
                Outcome::Failed {
                    failure: Failure::ServiceUnreachable,
                    ..
                }
            ),
            "a clear failure: {outcome:?}"
        );
        if let Some(url) = outcome.result_url() {
            assert_eq!(
                portal.client.complete(&session, url).await,
                Err(EidLoginError::LoginFailed),
                "AusweisApp's error address completes no login"
            );
        }
        assert_eq!(
            portal.receiver.eid_stats().tc_tokens_served,
            1,
            "AusweisApp fetched the receiver's TcToken"
        );
        assert_eq!(portal.receiver.eid_stats().card_reads, 0);
        supervisor.stop().await;
    });
}
