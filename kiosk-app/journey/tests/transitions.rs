//! Every transition of the journey state machine, on a small fixture catalogue.

mod support;

use kiosk_catalogue::{FieldValue, GroupItem, IdentityAttribute, IdentityMethod, Invalid};
use kiosk_journey::{
    Capabilities, Event, IdentifyChoice, IdentifyStep, IdentityFailure, Origin, PrintState,
    SessionOutcome, Step,
};
use support::{Harness, passport};

fn at_identify(h: &mut Harness) {
    h.send(Event::Start);
    h.language("de");
    h.send(Event::ChooseService("pet-test".into()));
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
}

fn fill_person_page(h: &mut Harness) {
    h.text("surname", "Musterfrau");
    h.text("birth_date", "12.08.1964");
    h.send(Event::SetAnswer {
        field: "address".into(),
        value: FieldValue::Address {
            street: "Ebertstraße".into(),
            number: "11".into(),
        },
    });
    h.choose("contact", "none");
}

fn fill_pets_page(h: &mut Harness, size: &str) {
    h.send(Event::AddGroupItem {
        group: "pets".into(),
    });
    h.group_answer("pets", 0, "name", FieldValue::Text("Bello".into()));
    h.group_answer("pets", 0, "kind", FieldValue::Choice("dog".into()));
    h.text("pickup", "01.12.2026");
    h.choose("size", size);
}

/// Walks to the review screen by typing everything in.
fn at_review(h: &mut Harness) {
    at_identify(h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(h);
    h.send(Event::Next);
    assert_eq!(
        h.journey.step(),
        &Step::Form { page: 1 },
        "{:?}",
        h.journey.problems()
    );
    fill_pets_page(h, "small");
    h.send(Event::Next);
    assert_eq!(
        h.journey.step(),
        &Step::Review,
        "{:?}",
        h.journey.problems()
    );
}

#[test]
fn a_whole_journey_ends_on_the_attract_screen_with_nothing_left() {
    let mut h = Harness::fixture();
    assert_eq!(h.journey.step(), &Step::Attract);
    at_review(&mut h);
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Consent);
    h.send(Event::SetConsent {
        id: "privacy".into(),
        given: true,
    });
    h.send(Event::SetConsent {
        id: "terms".into(),
        given: true,
    });
    assert_eq!(h.send(Event::Next), vec!["submit:pet-test"]);
    assert_eq!(h.journey.step(), &Step::Submitting);
    assert_eq!(
        h.send(Event::Submitted {
            reference: "GE-K07-4F7Q-9X".into(),
            queued_offline: true,
        }),
        vec!["print:GE-K07-4F7Q-9X"]
    );
    assert!(
        h.journey.answer("surname").is_none(),
        "answers are wiped once saved"
    );
    let receipt = h.journey.receipt().expect("receipt content").clone();
    assert!(receipt.queued_offline);
    assert_eq!(
        receipt.lines,
        vec![
            ("Termin".to_owned(), "01.12.2026".to_owned()),
            ("Größe".to_owned(), "Klein".to_owned())
        ]
    );
    assert_eq!(receipt.next_steps, "Wir melden uns.");
    h.send(Event::ReceiptPrinted);
    h.send(Event::Finish);
    assert_eq!(h.journey.step(), &Step::Goodbye);
    assert_eq!(h.advance(8), vec!["ended:Completed"]);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert!(h.journey.receipt().is_none());
    assert!(h.journey.service().is_none());
}

#[test]
fn back_walks_every_step_in_reverse() {
    let mut h = Harness::fixture();
    at_review(&mut h);
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Consent);
    let expected = [
        Step::Review,
        Step::Form { page: 1 },
        Step::Form { page: 0 },
        Step::Identify(IdentifyStep::Choosing),
        Step::Service,
        Step::Language,
        Step::Attract,
    ];
    for step in expected {
        h.send(Event::Back);
        assert_eq!(h.journey.step(), &step);
    }
    assert!(
        h.journey.service().is_none(),
        "back to the start wipes the session"
    );
    assert_eq!(h.outcomes(), vec![SessionOutcome::Cancelled]);
}

#[test]
fn choosing_the_same_service_again_keeps_the_answers() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    h.text("surname", "Musterfrau");
    h.send(Event::Back);
    h.send(Event::Back);
    assert_eq!(h.journey.step(), &Step::Service);
    h.send(Event::ChooseService("pet-test".into()));
    assert!(h.journey.answer("surname").is_some());
    h.send(Event::Back);
    h.send(Event::ChooseService("anonymous-test".into()));
    assert!(
        h.journey.answer("surname").is_none(),
        "another service starts afresh"
    );
}

#[test]
fn back_from_a_card_wait_stops_the_reader() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    assert_eq!(
        h.send(Event::ChooseIdentification(IdentifyChoice::Method(
            IdentityMethod::Phone
        ))),
        vec!["start-identification:phone:false"]
    );
    assert_eq!(h.send(Event::Back), vec!["stop-identification"]);
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
}

#[test]
fn cancel_wipes_from_every_cancellable_step() {
    let cancellable_paths: Vec<fn(&mut Harness)> = vec![
        |h| h.send(Event::Start).clear(),
        |h| {
            h.send(Event::Start);
            h.language("en");
        },
        at_identify,
        |h| {
            at_identify(h);
            h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
            fill_person_page(h);
        },
        at_review,
        |h| {
            at_review(h);
            h.send(Event::Next);
        },
    ];
    for (i, walk) in cancellable_paths.into_iter().enumerate() {
        let mut h = Harness::fixture();
        walk(&mut h);
        let before = h.journey.step().clone();
        assert_eq!(
            h.send(Event::Cancel),
            vec!["ended:Cancelled"],
            "path {i} at {before:?}"
        );
        assert_eq!(h.journey.step(), &Step::Attract);
        assert!(h.journey.answer("surname").is_none());
        assert_eq!(
            h.journey.language().code(),
            "de",
            "language resets for the next citizen"
        );
    }
}

#[test]
fn cancel_is_ignored_while_submitting_and_on_the_receipt() {
    let mut h = Harness::fixture();
    at_review(&mut h);
    h.send(Event::Next);
    h.consent_to_all();
    h.send(Event::Next);
    assert!(h.send(Event::Cancel).is_empty());
    assert_eq!(h.journey.step(), &Step::Submitting);
    h.send(Event::Submitted {
        reference: "R".into(),
        queued_offline: false,
    });
    assert!(h.send(Event::Cancel).is_empty());
    assert!(matches!(h.journey.step(), Step::Receipt(_)));
}

#[test]
fn idle_time_out_warns_then_wipes() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    h.text("surname", "Musterfrau");
    h.advance(89);
    assert_eq!(h.journey.idle_warning(h.elapsed), None);
    h.advance(1);
    assert_eq!(
        h.journey.idle_warning(h.elapsed),
        Some(std::time::Duration::from_secs(30))
    );
    // "Mehr Zeit" keeps everything.
    h.send(Event::MoreTime);
    assert_eq!(h.journey.idle_warning(h.elapsed), None);
    assert!(h.journey.answer("surname").is_some());
    h.advance(90);
    assert!(h.journey.idle_warning(h.elapsed).is_some());
    h.advance(29);
    assert!(h.journey.answer("surname").is_some());
    assert_eq!(h.advance(1), vec!["ended:TimedOut"]);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert!(h.journey.answer("surname").is_none());
}

#[test]
fn typing_resets_the_idle_timer_and_hides_the_warning() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.advance(90);
    assert!(h.journey.idle_warning(h.elapsed).is_some());
    h.send(Event::Activity);
    assert_eq!(h.journey.idle_warning(h.elapsed), None);
    h.advance(89);
    assert_eq!(h.journey.idle_warning(h.elapsed), None);
}

#[test]
fn the_attract_screen_never_times_out() {
    let mut h = Harness::fixture();
    assert!(h.advance(100_000).is_empty());
    assert_eq!(h.journey.idle_warning(h.elapsed), None);
}

#[test]
fn time_out_while_waiting_for_a_card_stops_the_reader() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Phone,
    )));
    h.advance(90);
    assert_eq!(h.advance(30), vec!["stop-identification", "ended:TimedOut"]);
}

#[test]
fn switching_language_mid_form_keeps_every_answer() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.language("en");
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    assert_eq!(h.journey.language().code(), "en");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 1 });
    assert_eq!(
        *h.journey.answer("surname").unwrap().value,
        FieldValue::Text("Musterfrau".into())
    );
    // Languages the catalogue does not offer are ignored.
    h.language("fr");
    assert_eq!(h.journey.language().code(), "en");
}

#[test]
fn validation_messages_follow_the_language() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    h.send(Event::Next);
    let problem = h.journey.problems()[0].clone();
    assert_eq!(problem.path, "surname");
    assert_eq!(h.journey.message(&problem.invalid), "DE required ");
    h.language("en");
    assert_eq!(h.journey.message(&problem.invalid), "EN required ");
}

#[test]
fn passport_prefill_remembers_its_verified_origin_until_edited() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Passport,
    )));
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::EnterCan { invalid: false })
    );
    h.send(Event::EnterCan("12345".into()));
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::EnterCan { invalid: true })
    );
    assert_eq!(
        h.send(Event::EnterCan("123 456".into())),
        vec!["start-identification:passport:true"]
    );
    let data = passport(
        &[
            (IdentityAttribute::Surname, "MUSTERMANN"),
            (IdentityAttribute::DateOfBirth, "1964-08-12"),
        ],
        true,
    );
    assert_eq!(
        h.send(Event::IdentityRead(data)),
        vec!["stop-identification"]
    );
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    let chip = Origin::Identity {
        method: IdentityMethod::Passport,
        verified: true,
    };
    assert_eq!(h.journey.answer("surname").unwrap().origin, chip);
    assert_eq!(h.journey.answer("birth_date").unwrap().origin, chip);
    assert!(
        h.journey.answer("address").is_none(),
        "passports carry no address"
    );
    h.text("surname", "Mustermann");
    assert_eq!(h.journey.answer("surname").unwrap().origin, Origin::Typed);
    assert_eq!(h.journey.answer("birth_date").unwrap().origin, chip);
}

#[test]
fn a_failed_read_offers_another_try() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Phone,
    )));
    assert_eq!(
        h.send(Event::IdentityFailed(IdentityFailure::InvalidToken)),
        vec!["stop-identification"]
    );
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Failed {
            method: IdentityMethod::Phone,
            reason: IdentityFailure::InvalidToken
        })
    );
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
}

#[test]
fn identity_read_for_another_route_is_ignored() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Phone,
    )));
    h.send(Event::IdentityRead(passport(
        &[(IdentityAttribute::Surname, "X")],
        true,
    )));
    assert_eq!(
        h.journey.step(),
        &Step::Identify(IdentifyStep::Waiting(IdentityMethod::Phone))
    );
}

#[test]
fn offered_routes_follow_connectivity_and_reader() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    let (methods, type_it_in) = h.journey.identification_offer();
    assert_eq!(
        methods,
        vec![
            IdentityMethod::Eid,
            IdentityMethod::Passport,
            IdentityMethod::Phone
        ]
    );
    assert!(type_it_in);
    h.send(Event::Capabilities(Capabilities {
        online: false,
        card_reader: true,
        eid_client: true,
    }));
    let (methods, _) = h.journey.identification_offer();
    assert_eq!(
        methods,
        vec![IdentityMethod::Passport, IdentityMethod::Phone],
        "eID is online-only"
    );
    h.send(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
    h.send(Event::Capabilities(Capabilities {
        online: false,
        card_reader: false,
        eid_client: false,
    }));
    let (methods, type_it_in) = h.journey.identification_offer();
    assert!(methods.is_empty());
    assert!(type_it_in, "without a reader, typing it in still works");
}

#[test]
fn services_without_identity_skip_the_identify_step() {
    let mut h = Harness::fixture();
    h.send(Event::Start);
    h.language("de");
    h.send(Event::ChooseService("anonymous-test".into()));
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    h.send(Event::Back);
    assert_eq!(h.journey.step(), &Step::Service);
}

#[test]
fn invalid_answers_keep_the_citizen_on_the_page() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.text("birth_date", "25.11.2010");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    let problems = h.journey.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "birth_date");
    assert_eq!(problems[0].invalid, Invalid::TooYoung { min_age: 16 });
    h.text("birth_date", "24.11.2010");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 1 });
    assert_eq!(
        *h.journey.answer("birth_date").unwrap().value,
        FieldValue::Text("2010-11-24".into()),
        "answers are stored normalised"
    );
}

#[test]
fn conditional_fields_are_validated_only_when_visible() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.choose("contact", "phone");
    h.send(Event::Next);
    assert_eq!(h.journey.problems()[0].path, "phone");
    h.text("phone", "0209 1690");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 1 });
    assert_eq!(
        *h.journey.answer("phone").unwrap().value,
        FieldValue::Text("+492091690".into())
    );
}

#[test]
fn hidden_answers_are_not_submitted() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.choose("contact", "phone");
    h.text("phone", "0209 1690");
    h.choose("contact", "none");
    h.send(Event::Next);
    fill_pets_page(&mut h, "small");
    h.send(Event::Next);
    h.send(Event::Next);
    h.consent_to_all();
    h.send(Event::Next);
    let payload = h.last_submission().expect("submitted");
    let answers = payload["answers"].as_object().unwrap();
    assert!(!answers.contains_key("phone"), "{payload}");
    assert_eq!(answers["contact"]["value"], "none");
    assert_eq!(answers["surname"]["origin"]["source"], "typed");
    assert_eq!(answers["address"]["value"]["street"], "Ebertstraße");
    assert_eq!(answers["pets"]["value"][0]["name"], "Bello");
    assert_eq!(payload["service"]["version"], 2);
    assert_eq!(payload["consents"], serde_json::json!(["privacy", "terms"]));
    assert_eq!(payload["identity"], serde_json::Value::Null);
}

#[test]
fn a_conditional_page_appears_only_when_its_condition_holds() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.send(Event::Next);
    fill_pets_page(&mut h, "large");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 2 });
    h.send(Event::Next);
    assert_eq!(h.journey.problems()[0].invalid, Invalid::MustBeChecked);
    h.send(Event::SetAnswer {
        field: "insured".into(),
        value: FieldValue::Checked(true),
    });
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Review);
    h.send(Event::Back);
    assert_eq!(h.journey.step(), &Step::Form { page: 2 });
}

#[test]
fn groups_add_remove_and_respect_their_bounds() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
    fill_person_page(&mut h);
    h.send(Event::Next);
    h.text("pickup", "01.12.2026");
    h.choose("size", "small");
    h.send(Event::Next);
    assert_eq!(h.journey.problems()[0].path, "pets");
    assert_eq!(h.journey.problems()[0].invalid, Invalid::Required);
    for _ in 0..3 {
        h.send(Event::AddGroupItem {
            group: "pets".into(),
        });
    }
    let count = |h: &Harness| match &*h.journey.answer("pets").unwrap().value {
        FieldValue::Group(items) => items.len(),
        _ => panic!("not a group"),
    };
    assert_eq!(count(&h), 2, "max_items is 2");
    h.group_answer("pets", 1, "kind", FieldValue::Choice("other".into()));
    h.send(Event::Next);
    let paths: Vec<_> = h
        .journey
        .problems()
        .iter()
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(
        paths,
        vec![
            "pets[0].name",
            "pets[0].kind",
            "pets[1].name",
            "pets[1].kind_other"
        ]
    );
    h.send(Event::RemoveGroupItem {
        group: "pets".into(),
        index: 0,
    });
    assert_eq!(count(&h), 1);
    h.group_answer("pets", 0, "name", FieldValue::Text("Hansi".into()));
    h.group_answer(
        "pets",
        0,
        "kind_other",
        FieldValue::Text("Wellensittich".into()),
    );
    h.send(Event::Next);
    assert_eq!(
        h.journey.step(),
        &Step::Review,
        "{:?}",
        h.journey.problems()
    );
    let FieldValue::Group(items) = &*h.journey.answer("pets").unwrap().value else {
        panic!()
    };
    let mut expected = GroupItem::default();
    expected.set("name", FieldValue::Text("Hansi".into()));
    expected.set("kind", FieldValue::Choice("other".into()));
    expected.set("kind_other", FieldValue::Text("Wellensittich".into()));
    assert_eq!(items[0].get("kind_other"), expected.get("kind_other"));
}

#[test]
fn editing_from_review_returns_to_review() {
    let mut h = Harness::fixture();
    at_review(&mut h);
    h.send(Event::EditPage(0));
    assert_eq!(h.journey.step(), &Step::Form { page: 0 });
    h.text("surname", "Neumann");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Review);
    // An edit that reveals a page with open questions leads there first.
    h.send(Event::EditPage(1));
    h.choose("size", "large");
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Form { page: 2 });
    h.send(Event::SetAnswer {
        field: "insured".into(),
        value: FieldValue::Checked(true),
    });
    h.send(Event::Next);
    assert_eq!(h.journey.step(), &Step::Review);
    // Editing a hidden page is refused.
    h.send(Event::EditPage(7));
    assert_eq!(h.journey.step(), &Step::Review);
}

#[test]
fn every_consent_is_needed_and_a_failed_save_can_be_retried() {
    let mut h = Harness::fixture();
    at_review(&mut h);
    h.send(Event::Next);
    h.send(Event::SetConsent {
        id: "privacy".into(),
        given: true,
    });
    assert!(h.send(Event::Next).is_empty());
    assert_eq!(h.journey.missing_consents(), ["terms"]);
    h.send(Event::SetConsent {
        id: "terms".into(),
        given: true,
    });
    assert!(h.journey.missing_consents().is_empty());
    h.send(Event::Next);
    h.send(Event::SubmissionFailed);
    assert_eq!(h.journey.step(), &Step::Consent);
    assert!(h.journey.submit_failed());
    assert!(h.journey.answer("surname").is_some(), "nothing is lost");
    assert_eq!(h.send(Event::Next), vec!["submit:pet-test"]);
}

#[test]
fn the_receipt_waits_for_the_printer_and_falls_back_to_a_qr_code() {
    let mut h = Harness::fixture();
    at_review(&mut h);
    h.send(Event::Next);
    h.consent_to_all();
    h.send(Event::Next);
    h.send(Event::Submitted {
        reference: "R-1".into(),
        queued_offline: false,
    });
    h.send(Event::Finish);
    assert!(
        matches!(h.journey.step(), Step::Receipt(_)),
        "not while printing"
    );
    h.advance(600);
    assert!(matches!(h.journey.step(), Step::Receipt(_)));
    h.send(Event::ReceiptNotPrinted);
    let Step::Receipt(receipt) = h.journey.step() else {
        panic!()
    };
    assert_eq!(receipt.print, PrintState::ShowQrCode);
    assert_eq!(receipt.reference, "R-1");
    h.advance(59);
    assert!(matches!(h.journey.step(), Step::Receipt(_)));
    h.advance(1);
    assert_eq!(h.journey.step(), &Step::Goodbye);
    h.send(Event::Start);
    assert_eq!(h.journey.step(), &Step::Attract);
    assert_eq!(h.outcomes(), vec![SessionOutcome::Completed]);
}

#[test]
fn call_staff_is_raised_once_until_answered() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    assert_eq!(h.send(Event::CallStaff), vec!["call-staff"]);
    assert!(h.send(Event::CallStaff).is_empty());
    assert!(h.journey.staff_called());
    h.send(Event::StaffCallEnded);
    assert!(!h.journey.staff_called());
    assert_eq!(h.journey.step(), &Step::Identify(IdentifyStep::Choosing));
}

#[test]
fn a_new_catalogue_waits_for_the_session_to_end() {
    let mut h = Harness::fixture();
    at_identify(&mut h);
    let mut newer = (*support::fixture_catalogue()).clone();
    newer.version = "test-2".into();
    h.journey.replace_catalogue(std::sync::Arc::new(newer));
    assert_eq!(h.journey.catalogue().version, "test-1");
    h.send(Event::Cancel);
    assert_eq!(h.journey.catalogue().version, "test-2");
}

#[test]
fn unknown_services_and_stray_events_change_nothing() {
    let mut h = Harness::fixture();
    h.send(Event::Start);
    h.language("de");
    h.send(Event::ChooseService("no-such-service".into()));
    assert_eq!(h.journey.step(), &Step::Service);
    for stray in [
        Event::Next,
        Event::Finish,
        Event::ReceiptPrinted,
        Event::EditPage(0),
    ] {
        assert!(h.send(stray).is_empty());
        assert_eq!(h.journey.step(), &Step::Service);
    }
}
