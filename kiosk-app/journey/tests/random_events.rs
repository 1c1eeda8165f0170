//! Random event sequences: the journey never panics, and its invariants hold
//! after every event.

mod support;

use kiosk_catalogue::{FieldValue, IdentityAttribute, IdentityMethod};
use kiosk_journey::{Capabilities, Effect, Event, IdentifyChoice, IdentityFailure, Step};
use proptest::prelude::*;
use support::{Harness, passport};

fn event_strategy() -> impl Strategy<Value = Event> {
    let fields = prop::sample::select(vec![
        "surname",
        "birth_date",
        "contact",
        "phone",
        "pickup",
        "size",
        "insured",
        "pets",
        "note",
        "unknown",
    ]);
    prop_oneof![
        Just(Event::Start),
        prop::sample::select(vec!["de", "en", "fr"])
            .prop_map(|l| Event::ChooseLanguage(kiosk_catalogue::Language::new(l).unwrap())),
        prop::sample::select(vec!["pet-test", "anonymous-test", "nope"])
            .prop_map(|s| Event::ChooseService(s.into())),
        prop::sample::select(vec![
            IdentifyChoice::TypeItIn,
            IdentifyChoice::Method(IdentityMethod::Passport),
            IdentifyChoice::Method(IdentityMethod::Phone),
            IdentifyChoice::Method(IdentityMethod::Eid),
        ])
        .prop_map(Event::ChooseIdentification),
        "[0-9 ]{0,8}".prop_map(Event::EnterCan),
        Just(Event::IdentityRead(passport(
            &[(IdentityAttribute::Surname, "X")],
            false
        ))),
        Just(Event::IdentityFailed(IdentityFailure::CardRemoved)),
        (fields.clone(), ".{0,12}").prop_map(|(f, v)| Event::SetAnswer {
            field: f.into(),
            value: FieldValue::Text(v),
        }),
        (
            fields,
            prop::sample::select(vec!["none", "phone", "small", "large", "x"])
        )
            .prop_map(|(f, v)| Event::SetAnswer {
                field: f.into(),
                value: FieldValue::Choice(v.into())
            }),
        Just(Event::AddGroupItem {
            group: "pets".into()
        }),
        (0usize..3).prop_map(|index| Event::RemoveGroupItem {
            group: "pets".into(),
            index
        }),
        (
            0usize..3,
            prop::sample::select(vec!["name", "kind", "kind_other"])
        )
            .prop_map(|(index, field)| Event::SetGroupAnswer {
                group: "pets".into(),
                index,
                field: field.into(),
                value: FieldValue::Text("Rex".into()),
            }),
        Just(Event::Next),
        Just(Event::Next),
        Just(Event::Back),
        Just(Event::Cancel),
        (0usize..4).prop_map(Event::EditPage),
        prop::sample::select(vec!["privacy", "terms", "other"]).prop_map(|id| Event::SetConsent {
            id: id.into(),
            given: true
        }),
        Just(Event::Submitted {
            reference: "R".into(),
            queued_offline: true
        }),
        Just(Event::SubmissionFailed),
        Just(Event::ReceiptPrinted),
        Just(Event::ReceiptNotPrinted),
        Just(Event::Finish),
        Just(Event::CallStaff),
        Just(Event::StaffCallEnded),
        Just(Event::MoreTime),
        Just(Event::Tick),
        any::<bool>().prop_map(|online| Event::Capabilities(Capabilities {
            online,
            card_reader: true,
            eid_client: online,
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn invariants_hold_after_every_event(
        events in prop::collection::vec((event_strategy(), 0u64..70), 1..80)
    ) {
        let mut h = Harness::fixture();
        for (event, seconds) in events {
            h.elapsed += std::time::Duration::from_secs(seconds);
            let submitting_before = *h.journey.step() == Step::Submitting;
            let effects = h.journey.handle(event, h.now());
            for effect in &effects {
                match effect {
                    Effect::SessionEnded(_) => {
                        prop_assert_eq!(h.journey.step(), &Step::Attract);
                        prop_assert!(h.journey.service().is_none());
                        prop_assert!(h.journey.answer("surname").is_none());
                        prop_assert!(!submitting_before, "never wiped while saving");
                    }
                    Effect::Submit(draft) => {
                        let service = h.journey.service().unwrap();
                        prop_assert_eq!(&draft.service_id, &service.id);
                        for consent in &service.consents {
                            prop_assert!(h.journey.consent_given(&consent.id));
                        }
                        prop_assert!(serde_json::from_slice::<serde_json::Value>(&draft.payload).is_ok());
                    }
                    _ => {}
                }
            }
            match h.journey.step() {
                Step::Attract => prop_assert!(h.journey.service().is_none()),
                Step::Form { page } => prop_assert!(h.journey.page_visible(*page)),
                Step::Identify(_) => prop_assert!(h.journey.service().is_some()),
                _ => {}
            }
        }
    }
}
