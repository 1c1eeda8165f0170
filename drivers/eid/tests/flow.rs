//! The login flow's transitions, driven with AusweisApp messages as the SDK documents
//! them (no AusweisApp needed).

use kiosk_eid::protocol::{AccessRight, Command, Message, RunAuth};
use kiosk_eid::{
    Advice, Awaiting, CanReason, CancelReason, CardProblem, Conditions, Failure, FlowConfig,
    LoginEffect, LoginEvent, LoginFlow, LoginState, NotOffered, Outcome, PinRequest, Secret,
};
use proptest::prelude::*;

const TC_TOKEN_URL: &str = "https://portal.example/eid/tctoken?session=1";
const RESULT_URL: &str = "https://portal.example/eid/result?refID=_42";
const ONLINE: Conditions = Conditions {
    online: true,
    eid_client: true,
    card_reader: true,
};

fn sdk(json: &str) -> LoginEvent {
    LoginEvent::Sdk(Message::parse(json).expect("test message"))
}

fn reader(retry: i32, keypad: bool, inoperative: bool) -> String {
    format!(
        r#"{{"name":"REINER SCT cyberJack RFID basis 00 00","insertable":false,"attached":true,"keypad":{keypad},
            "card":{{"inoperative":{inoperative},"deactivated":false,"retryCounter":{retry}}}}}"#
    )
}

fn enter(kind: &str, retry: i32, keypad: bool) -> LoginEvent {
    sdk(&format!(
        r#"{{"msg":"{kind}","reader":{}}}"#,
        reader(retry, keypad, false)
    ))
}

const ACCESS_RIGHTS: &str = r#"{"msg":"ACCESS_RIGHTS","chat":{
    "effective":["Address","FamilyName","GivenNames","AgeVerification"],
    "optional":["GivenNames","AgeVerification"],
    "required":["Address","FamilyName"]},
    "transactionInfo":"Login Bürgerportal",
    "aux":{"requiredAge":16,"communityId":"02760400110000"}}"#;
const CERTIFICATE: &str = r#"{"msg":"CERTIFICATE","description":{
    "issuerName":"Governikus Test DVCA","issuerUrl":"http://www.governikus.de",
    "subjectName":"Stadt Gelsenkirchen","subjectUrl":"https://portal.example",
    "termsOfUsage":"Anschrift: …","purpose":"Anmeldung im Serviceportal"},
    "validity":{"effectiveDate":"2026-01-01","expirationDate":"2026-12-31"}}"#;

fn auth_ok() -> LoginEvent {
    sdk(&format!(
        r#"{{"msg":"AUTH","result":{{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#ok"}},"url":"{RESULT_URL}"}}"#
    ))
}

fn auth_failed(minor: &str) -> LoginEvent {
    sdk(&format!(
        r#"{{"msg":"AUTH","result":{{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error",
            "minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/{minor}",
            "language":"en","description":"d","message":"m"}},
            "url":"https://portal.example/eid/error"}}"#
    ))
}

fn sends(effects: &[LoginEffect]) -> Vec<&'static str> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            LoginEffect::Send(command) => Some(command.name()),
            LoginEffect::Finished(_) => None,
        })
        .collect()
}

fn finished(effects: &[LoginEffect]) -> Option<&Outcome> {
    effects.iter().find_map(|effect| match effect {
        LoginEffect::Finished(outcome) => Some(outcome),
        LoginEffect::Send(_) => None,
    })
}

/// A flow at the consent screen.
fn at_consent() -> LoginFlow {
    let mut flow = LoginFlow::new(FlowConfig::default());
    let effects = flow.handle(LoginEvent::Start {
        tc_token_url: TC_TOKEN_URL.into(),
        conditions: ONLINE,
    });
    let [LoginEffect::Send(Command::RunAuth(run))] = effects.as_slice() else {
        panic!("expected RUN_AUTH, got {effects:?}");
    };
    assert_eq!(run.tc_token_url, TC_TOKEN_URL);
    assert_eq!(
        run.developer_mode, None,
        "never developer mode for citizens"
    );
    assert!(flow.handle(sdk(r#"{"msg":"AUTH"}"#)).is_empty());
    assert_eq!(flow.awaiting(), Awaiting::EidClient);
    assert_eq!(sends(&flow.handle(sdk(ACCESS_RIGHTS))), ["GET_CERTIFICATE"]);
    assert_eq!(flow.state(), &LoginState::LoadingProvider);
    assert!(flow.handle(sdk(CERTIFICATE)).is_empty());
    flow
}

/// A flow waiting for the PIN on the screen (card on a reader without keypad).
fn at_pin(retry: i32) -> LoginFlow {
    let mut flow = at_consent();
    assert_eq!(sends(&flow.handle(LoginEvent::Accept)), ["ACCEPT"]);
    flow.handle(sdk(r#"{"msg":"INSERT_CARD"}"#));
    flow.handle(enter("ENTER_PIN", retry, false));
    flow
}

#[test]
fn successful_login_shows_provider_and_rights_then_ends_with_the_result_url() {
    let mut flow = at_consent();
    let LoginState::Consent(consent) = flow.state() else {
        panic!("not at consent: {:?}", flow.state());
    };
    assert_eq!(consent.provider.name, "Stadt Gelsenkirchen");
    assert_eq!(consent.provider.purpose, "Anmeldung im Serviceportal");
    assert_eq!(consent.provider.valid_until, "2026-12-31");
    assert_eq!(
        consent.rights.required,
        [AccessRight::FamilyName, AccessRight::Address]
    );
    assert_eq!(
        consent.rights.optional,
        [AccessRight::GivenNames, AccessRight::AgeVerification]
    );
    assert_eq!(consent.rights.enabled_optional, consent.rights.optional);
    assert_eq!(consent.rights.required_age.as_deref(), Some("16"));
    assert_eq!(
        consent.rights.transaction_info.as_deref(),
        Some("Login Bürgerportal")
    );
    assert_eq!(flow.awaiting(), Awaiting::Citizen);

    assert_eq!(sends(&flow.handle(LoginEvent::Accept)), ["ACCEPT"]);
    assert_eq!(flow.state(), &LoginState::Working { progress: None });
    flow.handle(sdk(r#"{"msg":"INSERT_CARD"}"#));
    assert_eq!(flow.state(), &LoginState::InsertCard { problem: None });
    flow.handle(sdk(&format!(
        r#"{{"msg":"READER",{}"#,
        &reader(3, false, false)[1..]
    )));
    assert_eq!(flow.state(), &LoginState::InsertCard { problem: None });

    assert!(flow.handle(enter("ENTER_PIN", 3, false)).is_empty());
    assert_eq!(
        flow.state(),
        &LoginState::EnterPin(PinRequest {
            attempts_left: Some(3),
            keypad: false,
            last_was_wrong: false
        })
    );
    let effects = flow.handle(LoginEvent::Pin(Secret::pin("123456").unwrap()));
    let [LoginEffect::Send(Command::SetPin { value: Some(pin) })] = effects.as_slice() else {
        panic!("expected SET_PIN with the PIN, got {effects:?}");
    };
    assert_eq!(pin, &Secret::pin("123456").unwrap());
    flow.handle(sdk(
        r#"{"msg":"STATUS","workflow":"AUTH","progress":60,"state":null}"#,
    ));
    assert_eq!(flow.state(), &LoginState::Working { progress: Some(60) });

    let effects = flow.handle(auth_ok());
    let outcome = finished(&effects).expect("finished");
    assert_eq!(
        outcome,
        &Outcome::Succeeded {
            result_url: RESULT_URL.into()
        }
    );
    assert_eq!(outcome.code(), "eid.succeeded");
    assert_eq!(outcome.result_url(), Some(RESULT_URL));
    assert!(flow.is_ended());
    assert_eq!(flow.awaiting(), Awaiting::Nothing);
    assert!(flow.handle(auth_ok()).is_empty(), "nothing after the end");
}

#[test]
fn two_wrong_pins_ask_for_the_can_and_a_third_blocks_with_buergerbuero_advice() {
    let mut flow = at_pin(3);
    flow.handle(LoginEvent::Pin(Secret::pin("111111").unwrap()));
    flow.handle(enter("ENTER_PIN", 2, false));
    assert_eq!(
        flow.state(),
        &LoginState::EnterPin(PinRequest {
            attempts_left: Some(2),
            keypad: false,
            last_was_wrong: true
        })
    );
    flow.handle(LoginEvent::Pin(Secret::pin("222222").unwrap()));
    flow.handle(enter("ENTER_CAN", 1, false));
    let LoginState::EnterCan(can) = flow.state() else {
        panic!("expected the CAN after two wrong PINs: {:?}", flow.state());
    };
    assert_eq!(can.reason, CanReason::PinSuspended);
    assert!(!can.last_was_wrong);

    // A wrong CAN is asked again; the right one unlocks the last PIN attempt.
    assert_eq!(
        sends(&flow.handle(LoginEvent::Can(Secret::can("000000").unwrap()))),
        ["SET_CAN"]
    );
    flow.handle(enter("ENTER_CAN", 1, false));
    let LoginState::EnterCan(can) = flow.state() else {
        panic!("expected the CAN again");
    };
    assert!(can.last_was_wrong);
    flow.handle(LoginEvent::Can(Secret::can("654321").unwrap()));
    flow.handle(enter("ENTER_PIN", 1, false));
    let LoginState::EnterPin(pin) = flow.state() else {
        panic!("expected the last PIN attempt");
    };
    assert!(pin.last_attempt() && !pin.last_was_wrong);

    flow.handle(LoginEvent::Pin(Secret::pin("333333").unwrap()));
    let effects = flow.handle(enter("ENTER_PUK", 0, false));
    assert_eq!(
        sends(&effects),
        ["CANCEL"],
        "the kiosk never asks for the PUK"
    );
    let LoginState::Ending(outcome) = flow.state() else {
        panic!("expected ending");
    };
    assert_eq!(outcome.code(), "eid.failed.pin_blocked");
    assert_eq!(outcome.advice(), Some(Advice::VisitBuergerbuero));
    assert_eq!(flow.awaiting(), Awaiting::EidClient);

    let effects = flow.handle(auth_failed("sal#cancellationByUser"));
    assert_eq!(
        finished(&effects),
        Some(&Outcome::Failed {
            failure: Failure::PinBlocked,
            result_url: Some("https://portal.example/eid/error".into())
        })
    );
}

#[test]
fn inoperative_puk_and_a_card_blocked_from_the_start() {
    let mut flow = at_pin(3);
    flow.handle(sdk(&format!(
        r#"{{"msg":"ENTER_PUK","reader":{}}}"#,
        reader(0, false, true)
    )));
    assert_eq!(
        flow.outcome().map(Outcome::code),
        Some("eid.failed.puk_inoperative")
    );

    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    let effects = flow.handle(enter("ENTER_PUK", 0, false));
    assert_eq!(sends(&effects), ["CANCEL"]);
    assert_eq!(
        flow.outcome(),
        Some(&Outcome::Failed {
            failure: Failure::PinBlocked,
            result_url: None
        })
    );
    // AusweisApp already ended the workflow: CANCEL is refused, the flow ends anyway.
    let effects = flow.handle(sdk(r#"{"msg":"BAD_STATE","error":"CANCEL"}"#));
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.pin_blocked")
    );
}

#[test]
fn a_card_already_at_one_attempt_asks_for_the_can_first() {
    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    flow.handle(enter("ENTER_CAN", 1, false));
    assert!(matches!(
        flow.state(),
        LoginState::EnterCan(can) if can.reason == CanReason::PinSuspended
    ));
    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    flow.handle(enter("ENTER_CAN", 3, false));
    assert!(matches!(
        flow.state(),
        LoginState::EnterCan(can) if can.reason == CanReason::CanAllowed
    ));
}

#[test]
fn keypad_readers_get_set_pin_without_a_value_and_ignore_the_screen_pad() {
    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    let effects = flow.handle(enter("ENTER_PIN", 3, true));
    assert_eq!(
        effects,
        [LoginEffect::Send(Command::SetPin { value: None })]
    );
    assert!(matches!(flow.state(), LoginState::EnterPin(pin) if pin.keypad));
    assert!(
        flow.handle(LoginEvent::Pin(Secret::pin("123456").unwrap()))
            .is_empty()
    );
    // A wrong PIN typed on the keypad: AusweisApp asks again, again on the keypad.
    let effects = flow.handle(enter("ENTER_PIN", 2, true));
    assert_eq!(
        effects,
        [LoginEffect::Send(Command::SetPin { value: None })]
    );
    assert!(matches!(flow.state(), LoginState::EnterPin(pin) if pin.last_was_wrong));
    let effects = flow.handle(enter("ENTER_CAN", 1, true));
    assert_eq!(
        effects,
        [LoginEffect::Send(Command::SetCan { value: None })]
    );
    // A SET_PIN that AusweisApp refuses as malformed must not loop: the flow ends.
    let effects = flow.handle(sdk(&format!(
        r#"{{"msg":"ENTER_PIN","error":"Value cannot be defined","reader":{}}}"#,
        reader(1, true, false)
    )));
    assert_eq!(sends(&effects), ["CANCEL"]);
    assert_eq!(
        flow.outcome().map(Outcome::code),
        Some("eid.failed.eid_client_error")
    );
}

#[test]
fn cancel_and_idle_timeout_send_cancel_from_every_waiting_state() {
    type Setup = fn() -> LoginFlow;
    let setups: [(&str, Setup); 4] = [
        ("starting", || {
            let mut flow = LoginFlow::new(FlowConfig::default());
            flow.handle(LoginEvent::Start {
                tc_token_url: TC_TOKEN_URL.into(),
                conditions: ONLINE,
            });
            flow
        }),
        ("consent", at_consent),
        ("insert card", || {
            let mut flow = at_consent();
            flow.handle(LoginEvent::Accept);
            flow.handle(sdk(r#"{"msg":"INSERT_CARD"}"#));
            flow
        }),
        ("pin", || at_pin(3)),
    ];
    for (name, setup) in setups {
        for reason in [CancelReason::Citizen, CancelReason::IdleTimeout] {
            let event = match reason {
                CancelReason::Citizen => LoginEvent::Cancel,
                CancelReason::IdleTimeout => LoginEvent::IdleTimeout,
            };
            let mut flow = setup();
            assert_eq!(sends(&flow.handle(event)), ["CANCEL"], "{name}");
            assert_eq!(
                flow.state(),
                &LoginState::Ending(Outcome::Cancelled {
                    reason,
                    result_url: None
                }),
                "{name}"
            );
            assert!(
                flow.handle(LoginEvent::Cancel).is_empty(),
                "{name}: cancel once"
            );
            let effects = flow.handle(auth_failed("sal#cancellationByUser"));
            let outcome = finished(&effects).unwrap();
            assert_eq!(outcome.code(), reason.code(), "{name}");
            assert_eq!(
                outcome.result_url(),
                Some("https://portal.example/eid/error")
            );
        }
    }
}

#[test]
fn not_offered_offline_without_ausweisapp_or_without_reader() {
    let cases = [
        (
            Conditions {
                online: false,
                ..ONLINE
            },
            NotOffered::Offline,
        ),
        (
            Conditions {
                eid_client: false,
                ..ONLINE
            },
            NotOffered::EidClientUnavailable,
        ),
        (
            Conditions {
                card_reader: false,
                ..ONLINE
            },
            NotOffered::NoCardReader,
        ),
    ];
    for (conditions, reason) in cases {
        let mut flow = LoginFlow::new(FlowConfig::default());
        let effects = flow.handle(LoginEvent::Start {
            tc_token_url: TC_TOKEN_URL.into(),
            conditions,
        });
        assert_eq!(
            effects,
            [LoginEffect::Finished(Outcome::NotOffered { reason })]
        );
        let outcome = flow.outcome().unwrap();
        assert_eq!(outcome.advice(), Some(Advice::UseAnotherRoute));
        assert!(outcome.code().starts_with("eid.not_offered."));
    }
}

#[test]
fn unusable_tc_token_urls_fail_without_asking_ausweisapp() {
    for url in [
        "http://portal.example/tc",
        "portal.example/tc",
        "https://",
        "",
    ] {
        let mut flow = LoginFlow::new(FlowConfig::default());
        let effects = flow.handle(LoginEvent::Start {
            tc_token_url: url.into(),
            conditions: ONLINE,
        });
        assert_eq!(sends(&effects), Vec::<&str>::new(), "{url}");
        assert_eq!(
            flow.outcome().map(Outcome::code),
            Some("eid.failed.invalid_service_address"),
            "{url}"
        );
    }
    // Developer mode (tests only) accepts plain http and says so to AusweisApp.
    let mut flow = LoginFlow::new(FlowConfig {
        developer_mode: true,
    });
    let effects = flow.handle(LoginEvent::Start {
        tc_token_url: "http://127.0.0.1:8080/tc".into(),
        conditions: ONLINE,
    });
    assert_eq!(
        effects,
        [LoginEffect::Send(Command::RunAuth(RunAuth {
            developer_mode: Some(true),
            status: Some(true),
            ..RunAuth::new("http://127.0.0.1:8080/tc")
        }))]
    );
}

#[test]
fn ausweisapp_refusing_run_auth_or_busy_ends_the_flow() {
    let start = || {
        let mut flow = LoginFlow::new(FlowConfig::default());
        flow.handle(LoginEvent::Start {
            tc_token_url: TC_TOKEN_URL.into(),
            conditions: ONLINE,
        });
        flow
    };
    let mut flow = start();
    let effects = flow.handle(sdk(
        r#"{"msg":"AUTH","error":"Validation of tcTokenURL failed"}"#,
    ));
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.invalid_service_address")
    );
    let mut flow = start();
    let effects = flow.handle(sdk(r#"{"msg":"BAD_STATE","error":"RUN_AUTH"}"#));
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.eid_client_busy")
    );
    // A rejection of a command this flow did not send (staff mode's query) is ignored.
    let mut flow = start();
    assert!(
        flow.handle(sdk(r#"{"msg":"BAD_STATE","error":"GET_CERTIFICATE"}"#))
            .is_empty()
    );
    assert!(matches!(flow.state(), LoginState::Starting { .. }));
}

#[test]
fn failures_are_classified_with_advice() {
    let cases = [
        (
            "dp#trustedChannelEstablishmentFailed",
            Failure::ServiceUnreachable,
            Advice::TryLater,
        ),
        (
            "dp#timeoutError",
            Failure::ServiceUnreachable,
            Advice::TryLater,
        ),
        (
            "ifdl/common#timeoutError",
            Failure::CardTimeout,
            Advice::TryAgain,
        ),
        (
            "ifdl/terminal#noCard",
            Failure::CardRemoved,
            Advice::TryAgain,
        ),
        (
            "sal/mEAC#DocumentValidityVerificationFailed",
            Failure::DocumentNotValid,
            Advice::VisitBuergerbuero,
        ),
        (
            "il/signature#invalidCertificatePath",
            Failure::ServiceRejected,
            Advice::TryLater,
        ),
        ("al/common#internalError", Failure::Other, Advice::TryLater),
    ];
    for (minor, failure, advice) in cases {
        let mut flow = at_pin(3);
        flow.handle(LoginEvent::Pin(Secret::pin("123456").unwrap()));
        let effects = flow.handle(auth_failed(minor));
        let outcome = finished(&effects).unwrap();
        assert_eq!(
            outcome,
            &Outcome::Failed {
                failure,
                result_url: Some("https://portal.example/eid/error".into())
            },
            "{minor}"
        );
        assert_eq!(outcome.advice(), Some(advice), "{minor}");
    }
    // The citizen cancelled on the reader's keypad.
    let mut flow = at_pin(3);
    let effects = flow.handle(auth_failed("sal#cancellationByUser"));
    assert!(matches!(
        finished(&effects),
        Some(Outcome::Cancelled {
            reason: CancelReason::Citizen,
            ..
        })
    ));
    // AusweisApp's failure code (1.26.3+) wins over the generic minor code.
    let mut flow = at_pin(3);
    let recorded = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/recorded/sdk-docs/auth_error.json"
    ))
    .unwrap();
    let effects = flow.handle(sdk(&recorded));
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.card_removed")
    );
    // Success without a URL cannot complete a login.
    let mut flow = at_pin(3);
    let effects = flow.handle(sdk(
        r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#ok"}}"#,
    ));
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.eid_client_error")
    );
}

#[test]
fn silence_and_lost_connection() {
    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    assert_eq!(flow.awaiting(), Awaiting::EidClient);
    assert_eq!(sends(&flow.handle(LoginEvent::SdkSilent)), ["CANCEL"]);
    assert_eq!(
        flow.outcome().map(Outcome::code),
        Some("eid.failed.eid_client_not_responding")
    );
    let effects = flow.handle(LoginEvent::SdkSilent);
    assert_eq!(
        finished(&effects).map(Outcome::advice),
        Some(Some(Advice::CallStaff))
    );

    let mut flow = at_pin(3);
    let effects = flow.handle(LoginEvent::Disconnected);
    assert_eq!(sends(&effects), Vec::<&str>::new(), "nobody to cancel");
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.failed.eid_client_lost")
    );

    // Ending and then the connection drops: the decided outcome stands.
    let mut flow = at_pin(3);
    flow.handle(LoginEvent::Cancel);
    let effects = flow.handle(LoginEvent::Disconnected);
    assert_eq!(
        finished(&effects).map(Outcome::code),
        Some("eid.cancelled.citizen")
    );
}

#[test]
fn card_problems_while_waiting_for_the_card() {
    let mut flow = at_consent();
    flow.handle(LoginEvent::Accept);
    flow.handle(sdk(r#"{"msg":"INSERT_CARD"}"#));
    flow.handle(sdk(
        r#"{"msg":"READER","name":"R","attached":true,"keypad":false,"card":{}}"#,
    ));
    assert_eq!(
        flow.state(),
        &LoginState::InsertCard {
            problem: Some(CardProblem::NotAnEidCard)
        }
    );
    flow.handle(sdk(
        r#"{"msg":"READER","name":"R","attached":true,"keypad":false,"card":{"deactivated":true,"inoperative":false,"retryCounter":3}}"#,
    ));
    assert_eq!(
        flow.state(),
        &LoginState::InsertCard {
            problem: Some(CardProblem::EidDeactivated)
        }
    );
    assert_eq!(
        CardProblem::EidDeactivated.advice(),
        Advice::VisitBuergerbuero
    );
    flow.handle(sdk(
        r#"{"msg":"READER","name":"R","attached":true,"keypad":false,"card":null}"#,
    ));
    assert_eq!(flow.state(), &LoginState::InsertCard { problem: None });
}

#[test]
fn optional_rights_can_be_switched_off() {
    let mut flow = at_consent();
    let effects = flow.handle(LoginEvent::ChooseOptionalRights(vec![
        AccessRight::AgeVerification,
        AccessRight::Address, // required, not optional: not sent
    ]));
    assert_eq!(
        effects,
        [LoginEffect::Send(Command::SetAccessRights {
            chat: vec![AccessRight::AgeVerification]
        })]
    );
    flow.handle(sdk(
        r#"{"msg":"ACCESS_RIGHTS","chat":{"effective":["Address","FamilyName","AgeVerification"],
            "optional":["GivenNames","AgeVerification"],"required":["Address","FamilyName"]}}"#,
    ));
    let LoginState::Consent(consent) = flow.state() else {
        panic!("still at consent");
    };
    assert_eq!(
        consent.rights.enabled_optional,
        [AccessRight::AgeVerification]
    );
    assert_eq!(consent.provider.name, "Stadt Gelsenkirchen");
}

#[test]
fn unrelated_and_unknown_messages_are_ignored() {
    let mut flow = at_pin(3);
    let before = flow.state().clone();
    for json in [
        r#"{"msg":"PAUSE","cause":"BadCardPosition"}"#,
        r#"{"msg":"CHANGE_PIN","success":true}"#,
        r#"{"msg":"INFO","VersionInfo":{}}"#,
        r#"{"msg":"READER_LIST","readers":[]}"#,
        r#"{"msg":"API_LEVEL","current":2}"#,
    ] {
        assert!(flow.handle(sdk(json)).is_empty(), "{json}");
    }
    assert_eq!(flow.state(), &before);
    // The consent screen stays until the citizen decides.
    let mut flow = at_consent();
    flow.handle(sdk(r#"{"msg":"INSERT_CARD"}"#));
    assert!(matches!(flow.state(), LoginState::Consent(_)));
    // Messages before a start are ignored too.
    let mut idle = LoginFlow::new(FlowConfig::default());
    assert!(idle.handle(sdk(ACCESS_RIGHTS)).is_empty());
    assert_eq!(idle.state(), &LoginState::Idle);
}

#[test]
fn a_second_start_is_ignored_while_running_and_allowed_after_the_end() {
    let mut flow = at_consent();
    assert!(
        flow.handle(LoginEvent::Start {
            tc_token_url: TC_TOKEN_URL.into(),
            conditions: ONLINE
        })
        .is_empty()
    );
    flow.handle(LoginEvent::Disconnected);
    assert!(flow.is_ended());
    let effects = flow.handle(LoginEvent::Start {
        tc_token_url: TC_TOKEN_URL.into(),
        conditions: ONLINE,
    });
    assert_eq!(sends(&effects), ["RUN_AUTH"]);
}

#[test]
fn the_flow_keeps_no_pin_and_shows_none_in_debug() {
    let mut flow = at_pin(3);
    let effects = flow.handle(LoginEvent::Pin(Secret::pin("492817").unwrap()));
    let state = format!("{flow:?} {:?}", flow.state());
    let effects_debug = format!("{effects:?}");
    assert!(!state.contains("492817"), "{state}");
    assert!(!effects_debug.contains("492817"), "{effects_debug}");
    let json = serde_json::to_string(flow.state()).unwrap();
    assert!(!json.contains("492817"));
}

#[test]
fn ui_states_serialise_as_plain_data() {
    let flow = at_consent();
    let value = serde_json::to_value(flow.state()).unwrap();
    assert_eq!(value["state"], "consent");
    assert_eq!(value["provider"]["name"], "Stadt Gelsenkirchen");
    assert_eq!(value["rights"]["required"][0], "FamilyName");
    let mut flow = at_pin(3);
    flow.handle(enter("ENTER_PUK", 0, false));
    let value = serde_json::to_value(flow.state()).unwrap();
    assert_eq!(value["state"], "ending");
    assert_eq!(value["outcome"], "failed");
    assert_eq!(value["failure"], "pin_blocked");
}

fn any_event() -> impl Strategy<Value = LoginEvent> {
    let messages = [
        r#"{"msg":"AUTH"}"#.to_owned(),
        ACCESS_RIGHTS.to_owned(),
        CERTIFICATE.to_owned(),
        r#"{"msg":"INSERT_CARD"}"#.to_owned(),
        r#"{"msg":"READER","name":"R","attached":true,"card":{}}"#.to_owned(),
        r#"{"msg":"STATUS","workflow":"AUTH","progress":30}"#.to_owned(),
        r#"{"msg":"BAD_STATE","error":"CANCEL"}"#.to_owned(),
        r#"{"msg":"BAD_STATE","error":"ACCEPT"}"#.to_owned(),
        r#"{"msg":"INTERNAL_ERROR"}"#.to_owned(),
        format!(
            r#"{{"msg":"ENTER_PIN","reader":{}}}"#,
            reader(3, false, false)
        ),
        format!(
            r#"{{"msg":"ENTER_PIN","reader":{}}}"#,
            reader(2, true, false)
        ),
        format!(
            r#"{{"msg":"ENTER_CAN","reader":{}}}"#,
            reader(1, false, false)
        ),
        format!(
            r#"{{"msg":"ENTER_PUK","reader":{}}}"#,
            reader(0, false, false)
        ),
        format!(r#"{{"msg":"AUTH","result":{{"major":"x#ok"}},"url":"{RESULT_URL}"}}"#),
        r#"{"msg":"AUTH","result":{"major":"x#error","minor":"y#cancellationByUser"}}"#.to_owned(),
    ];
    prop_oneof![
        3 => proptest::sample::select(messages.to_vec()).prop_map(|json| sdk(&json)),
        1 => Just(()).prop_map(|_| LoginEvent::Start { tc_token_url: TC_TOKEN_URL.into(), conditions: ONLINE }),
        1 => Just(()).prop_map(|_| LoginEvent::Accept),
        1 => Just(()).prop_map(|_| LoginEvent::Pin(Secret::pin("492817").unwrap())),
        1 => Just(()).prop_map(|_| LoginEvent::Can(Secret::can("583920").unwrap())),
        1 => Just(()).prop_map(|_| LoginEvent::Cancel),
        1 => Just(()).prop_map(|_| LoginEvent::IdleTimeout),
        1 => Just(()).prop_map(|_| LoginEvent::SdkSilent),
        1 => Just(()).prop_map(|_| LoginEvent::Disconnected),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever happens: one `Finished` per start, a decided outcome is never replaced,
    /// `CANCEL` is sent at most once per attempt, and no state shows a PIN or CAN.
    #[test]
    fn random_event_sequences_keep_the_invariants(events in proptest::collection::vec(any_event(), 1..40)) {
        let mut flow = LoginFlow::new(FlowConfig::default());
        let mut finished_count = 0;
        let mut cancels = 0;
        let mut decided: Option<Outcome> = None;
        for event in events {
            let is_start = matches!(event, LoginEvent::Start { .. });
            let was_ended = flow.is_ended() || matches!(flow.state(), LoginState::Idle);
            if is_start && was_ended {
                finished_count = 0;
                cancels = 0;
                decided = None;
            }
            let effects = flow.handle(event);
            for effect in &effects {
                match effect {
                    LoginEffect::Finished(outcome) => {
                        finished_count += 1;
                        if let Some(decided) = &decided {
                            prop_assert_eq!(decided.code(), outcome.code());
                        }
                    }
                    LoginEffect::Send(Command::Cancel) => cancels += 1,
                    LoginEffect::Send(_) => {}
                }
            }
            prop_assert!(finished_count <= 1);
            prop_assert!(cancels <= 1);
            if let LoginState::Ending(outcome) = flow.state() {
                match &decided {
                    Some(decided) => prop_assert_eq!(decided.code(), outcome.code()),
                    None => decided = Some(outcome.clone()),
                }
            }
            if flow.is_ended() {
                prop_assert_eq!(flow.awaiting(), Awaiting::Nothing);
            }
            let debug = format!("{flow:?} {effects:?}");
            prop_assert!(!debug.contains("492817") && !debug.contains("583920"));
        }
    }
}
