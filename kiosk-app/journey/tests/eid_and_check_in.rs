//! The eID login inside the identify step, and the appointment check-in, on the
//! fixture catalogue. AusweisApp's messages are the SDK documentation's examples.

mod support;

use kiosk_catalogue::{IdentityAttribute, IdentityMethod};
use kiosk_journey::eid::protocol::{Command, Message};
use kiosk_journey::eid::{Advice, CancelReason, Failure, LoginState, NotOffered, Outcome, Secret};
use kiosk_journey::{
    Appointment, AppointmentTiming, Capabilities, EidPhase, Event, IdentifyChoice, IdentifyStep,
    IdentityData, PrintState, SessionOutcome, Step,
};
use support::Harness;
use zeroize::Zeroizing;

const TC_TOKEN_URL: &str = "https://eid.example/tc?session=1";

fn message(json: &str) -> Event {
    Event::EidMessage(Message::parse(json).expect("SDK message"))
}

fn enter_pin(retry_counter: u8) -> Event {
    message(&format!(
        r#"{{"msg":"ENTER_PIN","reader":{{"name":"NFC","insertable":false,"attached":true,"keypad":false,"card":{{"inoperative":false,"deactivated":false,"retryCounter":{retry_counter}}}}}}}"#
    ))
}

fn enter_can() -> Event {
    message(
        r#"{"msg":"ENTER_CAN","reader":{"name":"NFC","insertable":false,"attached":true,"keypad":false,"card":{"inoperative":false,"deactivated":false,"retryCounter":1}}}"#,
    )
}

const ACCESS_RIGHTS: &str = r#"{"msg":"ACCESS_RIGHTS","chat":{"effective":["Address","FamilyName","DateOfBirth"],"optional":[],"required":["Address","FamilyName","DateOfBirth"]}}"#;
const CERTIFICATE: &str = r#"{"msg":"CERTIFICATE","description":{"issuerName":"Test DVCA","issuerUrl":"https://dvca.example","subjectName":"Stadt Musterstadt","subjectUrl":"https://portal.example","termsOfUsage":"Anschrift: Rathausplatz 1","purpose":"Anmeldung im Bürgerportal"},"validity":{"effectiveDate":"2026-11-01","expirationDate":"2026-12-01"}}"#;
const AUTH_OK: &str = r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#ok"},"url":"https://portal.example/eid/refresh/1?ResultMajor=ok"}"#;

/// On the identify screen of the fixture service, online, with AusweisApp.
fn at_identify() -> Harness {
    let mut h = Harness::fixture();
    h.send(Event::Start);
    h.language("de");
    h.send(Event::ChooseService("pet-test".into()));
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
    h
}

fn commands(effects: &[String]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| e.strip_prefix("eid:"))
        .collect()
}

/// Chooses eID, gets a portal session and walks to the PIN screen.
fn at_pin_screen(h: &mut Harness) {
    let effects = h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    assert_eq!(effects, ["eid-session:pet-test"]);
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Eid(EidPhase::Preparing))
    );
    let effects = h.send(Event::EidSessionReady {
        tc_token_url: TC_TOKEN_URL.into(),
    });
    assert_eq!(commands(&effects), ["RUN_AUTH"]);
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Eid(EidPhase::Login))
    );
    h.send(message(r#"{"msg":"AUTH"}"#));
    let effects = h.send(message(ACCESS_RIGHTS));
    assert_eq!(commands(&effects), ["GET_CERTIFICATE"]);
    h.send(message(CERTIFICATE));
    let Some(LoginState::Consent(consent)) = h.journey.eid_login() else {
        panic!("consent screen: {:?}", h.journey.eid_login());
    };
    assert_eq!(consent.provider.name, "Stadt Musterstadt");
    assert_eq!(consent.rights.required.len(), 3);
    let effects = h.send(Event::EidAccept);
    assert_eq!(commands(&effects), ["ACCEPT"]);
    h.send(enter_pin(3));
    assert!(matches!(
        h.journey.eid_login(),
        Some(LoginState::EnterPin(pin)) if pin.attempts_left == Some(3) && !pin.last_was_wrong
    ));
}

fn sent_pins(h: &Harness) -> Vec<String> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            kiosk_journey::Effect::EidCommand(command @ Command::SetPin { .. }) => {
                // The PIN leaves the kiosk only inside the command sent to AusweisApp.
                let json = serde_json::to_value(command).unwrap();
                Some(json["value"].as_str().unwrap().to_owned())
            }
            _ => None,
        })
        .collect()
}

fn verified_eid_identity() -> IdentityData {
    IdentityData {
        method: IdentityMethod::Eid,
        verified: true,
        attributes: vec![
            (
                IdentityAttribute::Surname,
                Zeroizing::new("MUSTERMANN".into()),
            ),
            (
                IdentityAttribute::DateOfBirth,
                Zeroizing::new("1964-08-12".into()),
            ),
            (
                IdentityAttribute::Street,
                Zeroizing::new("HEIDESTRASSE".into()),
            ),
            (IdentityAttribute::HouseNumber, Zeroizing::new("17".into())),
        ],
    }
}

#[test]
fn an_eid_login_prefills_the_form_with_verified_data() {
    let mut h = at_identify();
    at_pin_screen(&mut h);
    let effects = h.send(Event::EidPin(Secret::pin("123456").unwrap()));
    assert_eq!(commands(&effects), ["SET_PIN"]);
    assert_eq!(sent_pins(&h), ["123456"]);
    let effects = h.send(message(AUTH_OK));
    assert_eq!(effects, ["eid-complete"]);
    let result_url = h.effects.iter().find_map(|e| match e {
        kiosk_journey::Effect::CompleteEidLogin { result_url } => Some(result_url.clone()),
        _ => None,
    });
    assert_eq!(
        result_url.as_deref(),
        Some("https://portal.example/eid/refresh/1?ResultMajor=ok")
    );
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Eid(EidPhase::Completing))
    );
    h.send(Event::IdentityRead(verified_eid_identity()));
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    assert_eq!(h.journey.eid_login(), None, "the login is forgotten");
    let surname = h.journey.answer("surname").expect("pre-filled");
    assert_eq!(
        surname.origin,
        kiosk_journey::Origin::Identity {
            method: IdentityMethod::Eid,
            verified: true
        }
    );
}

#[test]
fn the_portal_is_asked_for_the_attributes_the_form_can_prefill() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    let attributes = h.effects.iter().find_map(|e| match e {
        kiosk_journey::Effect::StartEidSession { attributes, .. } => Some(attributes.clone()),
        _ => None,
    });
    let mut names: Vec<&str> = attributes.unwrap().iter().map(|a| a.name()).collect();
    names.sort();
    assert_eq!(
        names,
        ["date_of_birth", "house_number", "street", "surname"]
    );
}

#[test]
fn two_wrong_pins_ask_for_the_can_and_a_third_blocks_with_advice() {
    let mut h = at_identify();
    at_pin_screen(&mut h);
    h.send(Event::EidPin(Secret::pin("111111").unwrap()));
    h.send(enter_pin(2));
    assert!(matches!(
        h.journey.eid_login(),
        Some(LoginState::EnterPin(pin)) if pin.last_was_wrong && pin.attempts_left == Some(2)
    ));
    h.send(Event::EidPin(Secret::pin("222222").unwrap()));
    h.send(enter_can());
    assert!(
        matches!(h.journey.eid_login(), Some(LoginState::EnterCan(_))),
        "{:?}",
        h.journey.eid_login()
    );
    let effects = h.send(Event::EidCan(Secret::can("123456").unwrap()));
    assert_eq!(commands(&effects), ["SET_CAN"]);
    h.send(enter_pin(1));
    assert!(matches!(
        h.journey.eid_login(),
        Some(LoginState::EnterPin(pin)) if pin.last_attempt()
    ));
    h.send(Event::EidPin(Secret::pin("333333").unwrap()));
    // A blocked PIN: AusweisApp asks for the PUK, which the kiosk never takes.
    let effects = h.send(message(
        r#"{"msg":"ENTER_PUK","reader":{"name":"NFC","insertable":false,"attached":true,"keypad":false,"card":{"inoperative":false,"deactivated":false,"retryCounter":0}}}"#,
    ));
    assert_eq!(commands(&effects), ["CANCEL"]);
    h.send(message(
        r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error","minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/sal#cancellationByUser"},"url":"https://portal.example/eid/refresh/1?ResultMajor=error"}"#,
    ));
    let Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))) = h.journey.step() else {
        panic!("ended: {:?}", h.journey.step());
    };
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
    // The citizen can still identify another way.
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
}

#[test]
fn back_cancel_and_idle_time_out_send_cancel_to_ausweisapp() {
    let mut h = at_identify();
    at_pin_screen(&mut h);
    let effects = h.send(Event::Back);
    assert_eq!(commands(&effects), ["CANCEL"]);
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
    assert_eq!(h.journey.eid_login(), None);

    at_pin_screen(&mut h);
    let effects = h.send(Event::Cancel);
    assert_eq!(commands(&effects), ["CANCEL"]);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert_eq!(h.outcomes(), [SessionOutcome::Cancelled]);

    let mut h = at_identify();
    at_pin_screen(&mut h);
    h.advance(90);
    let effects = h.advance(30);
    assert_eq!(commands(&effects), ["CANCEL"]);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert_eq!(h.outcomes(), [SessionOutcome::TimedOut]);
    assert!(
        h.effects
            .iter()
            .all(|e| !matches!(e, kiosk_journey::Effect::CompleteEidLogin { .. })),
        "no login completes"
    );
}

#[test]
fn a_failed_portal_session_ends_with_advice_and_offers_a_retry() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    h.send(Event::EidSessionFailed(Failure::ServiceUnreachable));
    let Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))) = h.journey.step().clone()
    else {
        panic!("ended: {:?}", h.journey.step());
    };
    assert_eq!(outcome.code(), "eid.failed.service_unreachable");
    assert_eq!(outcome.advice(), Some(Advice::TryLater));
    let effects = h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    assert_eq!(effects, ["eid-session:pet-test"], "try again");
}

#[test]
fn losing_ausweisapp_mid_login_ends_it_with_a_clear_outcome() {
    let mut h = at_identify();
    at_pin_screen(&mut h);
    h.send(Event::EidClientLost);
    let Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))) = h.journey.step() else {
        panic!("ended: {:?}", h.journey.step());
    };
    assert_eq!(outcome.code(), "eid.failed.eid_client_lost");
}

#[test]
fn the_citizen_cancelling_on_the_consent_screen_is_a_cancellation() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    h.send(Event::EidSessionReady {
        tc_token_url: TC_TOKEN_URL.into(),
    });
    h.send(message(ACCESS_RIGHTS));
    h.send(message(CERTIFICATE));
    h.send(message(
        r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error","minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/sal#cancellationByUser"}}"#,
    ));
    let Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))) = h.journey.step() else {
        panic!("ended: {:?}", h.journey.step());
    };
    assert!(matches!(
        outcome,
        Outcome::Cancelled {
            reason: CancelReason::Citizen,
            ..
        }
    ));
}

#[test]
fn offline_the_identify_screen_says_why_eid_is_not_offered() {
    let mut h = at_identify();
    assert_eq!(h.journey.eid_not_offered(), None);
    h.send(Event::Capabilities(Capabilities {
        online: false,
        card_reader: true,
        eid_client: true,
    }));
    assert_eq!(h.journey.eid_not_offered(), Some(NotOffered::Offline));
    assert!(
        !h.journey
            .identification_offer()
            .0
            .contains(&IdentityMethod::Eid)
    );
    h.send(Event::Capabilities(Capabilities {
        online: true,
        card_reader: true,
        eid_client: false,
    }));
    assert_eq!(
        h.journey.eid_not_offered(),
        Some(NotOffered::EidClientUnavailable)
    );
    let effects = h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    assert!(effects.is_empty(), "not offered: {effects:?}");
}

#[test]
fn a_pin_never_appears_in_the_journeys_debug_output() {
    let mut h = at_identify();
    at_pin_screen(&mut h);
    let event = Event::EidPin(Secret::pin("918273").unwrap());
    assert!(!format!("{event:?}").contains("918273"));
    h.send(event);
    assert!(!format!("{:?}", h.journey).contains("918273"));
    assert!(!format!("{:?}", h.effects).contains("918273"));
}

fn appointment(timing: AppointmentTiming) -> Appointment {
    Appointment {
        service: "pet-test".into(),
        starts_at: "10:30".into(),
        timing,
        credential: "0oRDoQEn".into(),
    }
}

#[test]
fn a_due_appointment_checks_the_citizen_in_with_a_receipt() {
    let mut h = Harness::fixture();
    let effects = h.send(Event::AppointmentShown(appointment(AppointmentTiming::Due)));
    assert_eq!(effects, ["started", "submit:appointment-check-in"]);
    assert_eq!(h.journey.step(), &Step::Submitting);
    let payload = h.last_submission().unwrap();
    assert_eq!(payload["kind"], "appointment-check-in");
    assert_eq!(payload["service"], "pet-test");
    assert_eq!(payload["starts_at"], "10:30");
    assert_eq!(payload["credential"], "0oRDoQEn");
    let effects = h.send(Event::Submitted {
        reference: "GE-K07-4F7Q-9X".into(),
        queued_offline: true,
    });
    assert_eq!(effects, ["print:GE-K07-4F7Q-9X"]);
    let receipt = h.journey.receipt().unwrap();
    assert_eq!(receipt.appointment_at.as_deref(), Some("10:30"));
    assert!(receipt.queued_offline);
    assert!(!receipt.service_title.is_empty());
    h.send(Event::ReceiptPrinted);
    assert!(matches!(
        h.journey.step(),
        Step::Receipt(r) if r.print == PrintState::Printed
    ));
    h.send(Event::Finish);
    h.send(Event::Finish);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert_eq!(h.outcomes(), [SessionOutcome::Completed]);
}

#[test]
fn an_appointment_not_due_is_explained_and_not_saved() {
    let mut h = Harness::fixture();
    h.send(Event::Start);
    let effects = h.send(Event::AppointmentShown(appointment(
        AppointmentTiming::TooEarly {
            opens_at: "10:00".into(),
        },
    )));
    assert!(effects.is_empty(), "{effects:?}");
    let Step::AppointmentNotDue(not_due) = h.journey.step() else {
        panic!("{:?}", h.journey.step());
    };
    assert_eq!(not_due.starts_at, "10:30");
    assert_eq!(
        not_due.timing,
        AppointmentTiming::TooEarly {
            opens_at: "10:00".into()
        }
    );
    h.send(Event::Finish);
    assert_eq!(h.journey.step(), &Step::Attract);
    // The screen also goes away by itself.
    h.send(Event::AppointmentShown(appointment(
        AppointmentTiming::Missed,
    )));
    h.advance(60);
    assert_eq!(h.journey.step(), &Step::Attract);
}

#[test]
fn a_check_in_that_cannot_be_saved_sends_the_citizen_to_the_counter() {
    let mut h = Harness::fixture();
    h.send(Event::AppointmentShown(appointment(AppointmentTiming::Due)));
    h.send(Event::SubmissionFailed);
    let Step::AppointmentNotDue(not_due) = h.journey.step() else {
        panic!("{:?}", h.journey.step());
    };
    assert_eq!(not_due.timing, AppointmentTiming::NotSaved);
}

#[test]
fn an_appointment_in_the_middle_of_a_form_is_ignored() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    let effects = h.send(Event::AppointmentShown(appointment(AppointmentTiming::Due)));
    assert!(effects.is_empty());
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
}

#[test]
fn the_portals_late_answer_to_an_abandoned_login_is_not_taken_for_the_next() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    h.send(Event::Back);
    let effects = h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    assert_eq!(effects, ["eid-session:pet-test"]);
    // The first request's answer comes first: dropped.
    let effects = h.send(Event::EidSessionReady {
        tc_token_url: "https://eid.example/tc?session=stale".into(),
    });
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Eid(EidPhase::Preparing))
    );
    let effects = h.send(Event::EidSessionReady {
        tc_token_url: TC_TOKEN_URL.into(),
    });
    assert_eq!(commands(&effects), ["RUN_AUTH"]);
}

#[test]
fn ausweisapps_silence_while_the_citizen_reads_is_not_a_failure() {
    let mut h = at_identify();
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    h.send(Event::EidSessionReady {
        tc_token_url: TC_TOKEN_URL.into(),
    });
    h.send(message(ACCESS_RIGHTS));
    h.send(message(CERTIFICATE));
    h.send(Event::EidClientSilent);
    assert!(matches!(
        h.journey.eid_login(),
        Some(LoginState::Consent(_))
    ));
    h.send(Event::EidAccept);
    // Now AusweisApp has the turn: its silence ends the login (CANCEL, then the outcome).
    let effects = h.send(Event::EidClientSilent);
    assert_eq!(commands(&effects), ["CANCEL"]);
    let Some(LoginState::Ending(outcome)) = h.journey.eid_login() else {
        panic!("{:?}", h.journey.eid_login());
    };
    assert_eq!(outcome.code(), "eid.failed.eid_client_not_responding");
}
