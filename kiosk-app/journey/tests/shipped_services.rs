//! Every shipped service, walked through in every language: once with valid
//! answers to submission and receipt, once with invalid answers on every page.

mod support;

use std::sync::Arc;

use kiosk_catalogue::{
    Catalogue, Field, FieldKind, FieldValue, IdentityAttribute, IdentityMethod,
    IdentityRequirement, Language, Service,
};
use kiosk_journey::{Event, IdentifyChoice, IdentifyStep, IdentityData, Step};
use support::{Harness, TODAY};
use zeroize::Zeroizing;

use kiosk_journey::samples::{OptionPick as Pick, sample_value};

fn valid_value(field: &Field, pick: Pick) -> FieldValue {
    sample_value(field, pick, TODAY)
}

fn invalid_value(field: &Field) -> Option<FieldValue> {
    Some(match &field.kind {
        FieldKind::Text { max_length, .. } | FieldKind::Multiline { max_length, .. } => {
            FieldValue::Text("x".repeat(*max_length as usize + 1))
        }
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => FieldValue::Text("zwölf".into()),
        FieldKind::Date { .. } => FieldValue::Text("31.02.2020".into()),
        FieldKind::Choice { .. } => FieldValue::Choice("no-such-option".into()),
        FieldKind::MultiChoice { .. } => FieldValue::Choices(vec!["no-such-option".into()]),
        FieldKind::Checkbox if field.required => FieldValue::Checked(false),
        FieldKind::Checkbox => return None,
        FieldKind::Email => FieldValue::Text("erika(at)example".into()),
        FieldKind::Phone => FieldValue::Text("call me".into()),
        FieldKind::PostalCode => FieldValue::Text("4587".into()),
        FieldKind::Iban => FieldValue::Text("DE00 3704 0044 0532 0130 00".into()),
        FieldKind::StreetAddress => FieldValue::Address {
            street: "Ebertstraße".into(),
            number: "elf".into(),
        },
        // A required group left empty.
        FieldKind::Group { .. } if field.required => FieldValue::Group(Vec::new()),
        FieldKind::Group { .. } => return None,
    })
}

fn identity_for(method: IdentityMethod) -> IdentityData {
    let attributes = [
        (IdentityAttribute::GivenNames, "ERIKA"),
        (IdentityAttribute::Surname, "MUSTERMANN"),
        (IdentityAttribute::DateOfBirth, "1964-08-12"),
        (IdentityAttribute::Nationality, "D"),
        (IdentityAttribute::Street, "Heidestraße"),
        (IdentityAttribute::HouseNumber, "17"),
        (IdentityAttribute::PostalCode, "45879"),
        (IdentityAttribute::City, "Gelsenkirchen"),
        (IdentityAttribute::PlaceOfBirth, "Berlin"),
        (IdentityAttribute::BirthName, "GABLER"),
    ];
    IdentityData {
        method,
        verified: true,
        attributes: attributes
            .iter()
            .map(|(a, v)| (*a, Zeroizing::new((*v).to_owned())))
            .collect(),
    }
}

fn start(h: &mut Harness, service: &Service, language: &Language) {
    h.send(Event::Start);
    h.send(Event::ChooseLanguage(language.clone()));
    h.send(Event::ChooseService(service.id.clone()));
    match service.identity {
        IdentityRequirement::NotOffered => {}
        IdentityRequirement::Optional => {
            h.send(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
        }
        IdentityRequirement::Required => {
            let method = if service.identity_methods.contains(&IdentityMethod::Passport) {
                IdentityMethod::Passport
            } else {
                service.identity_methods[0]
            };
            h.send(Event::ChooseIdentification(IdentifyChoice::Method(method)));
            if method == IdentityMethod::Passport {
                h.send(Event::EnterCan("123456".into()));
            }
            assert_eq!(
                h.journey.step(),
                &Step::Identify(IdentifyStep::Waiting(method))
            );
            h.send(Event::IdentityRead(identity_for(method)));
        }
    }
    assert!(
        matches!(h.journey.step(), Step::Form { .. }),
        "{}: {:?}",
        service.id,
        h.journey.step()
    );
}

/// Answers every visible, unanswered field of the current page.
fn fill_page(h: &mut Harness, service: &Service, page: usize, pick: Pick) {
    // Answering one field can reveal the next, so repeat until nothing changes.
    for _ in 0..service.pages[page].fields.len() + 1 {
        let mut changed = false;
        for field in &service.pages[page].fields {
            if !h.journey.field_visible(field) || h.journey.answer(&field.id).is_some() {
                continue;
            }
            h.send(Event::SetAnswer {
                field: field.id.clone(),
                value: valid_value(field, pick),
            });
            changed = true;
        }
        if !changed {
            break;
        }
    }
}

fn shipped() -> Arc<Catalogue> {
    Arc::new(Catalogue::embedded_default())
}

#[test]
fn the_shipped_catalogue_offers_the_five_services_in_five_languages() {
    let catalogue = shipped();
    let codes: Vec<&str> = catalogue.languages.iter().map(|l| l.code()).collect();
    assert_eq!(codes, ["de", "en", "tr", "ar", "uk"]);
    let ids: Vec<&str> = catalogue.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "library-card",
            "residence-certificate",
            "bulky-waste",
            "dog-tax",
            "lost-property"
        ]
    );
    // Completeness is the checker's job; spot-check that translations differ from German.
    for service in &catalogue.services {
        for language in &catalogue.languages[1..] {
            assert_ne!(
                service.title.get(language),
                service.title.get(&Language::german()),
                "{} title in {language} is untranslated",
                service.id
            );
        }
    }
}

#[test]
fn every_service_can_be_completed_in_every_language() {
    let catalogue = shipped();
    for service in &catalogue.services {
        for language in &catalogue.languages {
            for pick in [Pick::First, Pick::Last] {
                let mut h = Harness::new(catalogue.clone());
                start(&mut h, service, language);
                let mut pages_seen = 0;
                while let Step::Form { page } = h.journey.step().clone() {
                    fill_page(&mut h, service, page, pick);
                    h.send(Event::Next);
                    assert!(
                        h.journey.problems().is_empty(),
                        "{} ({language}) page '{}': {:?}",
                        service.id,
                        service.pages[page].id,
                        h.journey.problems()
                    );
                    pages_seen += 1;
                    assert!(
                        pages_seen <= service.pages.len(),
                        "{}: pages loop",
                        service.id
                    );
                }
                assert_eq!(h.journey.step(), &Step::Review, "{}", service.id);
                h.send(Event::Next);
                for consent in &service.consents {
                    h.send(Event::SetConsent {
                        id: consent.id.clone(),
                        given: true,
                    });
                }
                h.send(Event::Next);
                assert_eq!(
                    h.journey.step(),
                    &Step::Submitting,
                    "{} ({language})",
                    service.id
                );
                let payload = h.last_submission().expect("a submission");
                assert_eq!(payload["service"]["id"], service.id.as_str());
                assert_eq!(payload["language"], language.code());
                assert!(!payload["answers"].as_object().unwrap().is_empty());
                if service.identity == IdentityRequirement::Required {
                    assert_eq!(payload["identity"]["verified"], true);
                }
                h.send(Event::Submitted {
                    reference: "GE-K07-4F7Q-9X".into(),
                    queued_offline: false,
                });
                let receipt = h.journey.receipt().unwrap();
                assert_eq!(receipt.service_title, service.title.get(language));
                assert_eq!(receipt.next_steps, service.next_steps.get(language));
                for (label, value) in &receipt.lines {
                    let field = service.fields().find(|f| f.label.get(language) == label);
                    let field =
                        field.unwrap_or_else(|| panic!("{}: receipt label {label}", service.id));
                    assert!(field.on_receipt);
                    assert!(!value.is_empty());
                }
            }
        }
    }
}

#[test]
fn invalid_answers_are_explained_in_the_citizens_language() {
    let catalogue = shipped();
    for service in &catalogue.services {
        for language in &catalogue.languages {
            let mut h = Harness::new(catalogue.clone());
            start(&mut h, service, language);
            while let Step::Form { page } = h.journey.step().clone() {
                // First everything valid (to reveal conditional fields), then break
                // every field that can be broken.
                fill_page(&mut h, service, page, Pick::Last);
                let mut broken = Vec::new();
                for field in &service.pages[page].fields {
                    if !h.journey.field_visible(field) {
                        continue;
                    }
                    if let Some(value) = invalid_value(field) {
                        h.send(Event::SetAnswer {
                            field: field.id.clone(),
                            value,
                        });
                        broken.push(field.id.clone());
                    }
                }
                // Breaking a choice can hide fields; only those still visible must complain.
                broken.retain(|id| {
                    service.pages[page]
                        .fields
                        .iter()
                        .any(|f| &f.id == id && h.journey.field_visible(f))
                });
                h.send(Event::Next);
                assert_eq!(
                    h.journey.step(),
                    &Step::Form { page },
                    "{} stays on the page",
                    service.id
                );
                for id in &broken {
                    let problem = h
                        .journey
                        .problems()
                        .iter()
                        .find(|p| &p.path == id)
                        .unwrap_or_else(|| {
                            panic!(
                                "{} ({language}): no problem for '{id}': {:?}",
                                service.id,
                                h.journey.problems()
                            )
                        });
                    let message = h.journey.message(&problem.invalid);
                    assert!(!message.trim().is_empty());
                    assert!(!message.contains('{'), "unfilled placeholder: {message}");
                    if language.code() != "de" {
                        let german = catalogue.message(&problem.invalid, &Language::german());
                        assert_ne!(
                            message,
                            german,
                            "{} message untranslated in {language}",
                            problem.invalid.code()
                        );
                    }
                }
                // Repair the page and go on.
                for field in &service.pages[page].fields {
                    h.send(Event::SetAnswer {
                        field: field.id.clone(),
                        value: valid_value(field, Pick::Last),
                    });
                }
                h.send(Event::Next);
                if let Step::Form { page: next } = h.journey.step()
                    && *next == page
                {
                    panic!(
                        "{}: page '{}' could not be repaired: {:?}",
                        service.id,
                        service.pages[page].id,
                        h.journey.problems()
                    );
                }
            }
        }
    }
}
