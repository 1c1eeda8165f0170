//! Random event sequences: staff mode never panics and its invariants hold
//! after every event.

mod support;

use std::time::Duration;

use kiosk_staff::{
    ActionOutcome, AuditOutcome, CardUid, PinDigit, PresentedToken, StaffAction, StaffEffect,
    StaffEvent, StaffState, sign_token,
};
use proptest::prelude::*;
use support::{DEAD, Harness, PIN, SEED, STAFF_UID, status};
use uuid::Uuid;

#[derive(Clone, Debug)]
enum Step {
    Event(StaffEvent),
    /// Let time pass (seconds), then tick.
    Wait(u64),
    /// Type the right PIN and submit.
    RightPin,
    /// A token for staff id `ka-0815`, valid for this many seconds.
    Token(u64),
}

fn action() -> impl Strategy<Value = StaffAction> {
    prop_oneof![
        Just(StaffAction::SyncNow),
        Just(StaffAction::PrintTestPage),
        Just(StaffAction::ReloadCatalogue),
        Just(StaffAction::OutOfService),
        Just(StaffAction::BackInService),
        Just(StaffAction::RetryDeadLetter(DEAD)),
        Just(StaffAction::DiscardDeadLetter(DEAD)),
        Just(StaffAction::DiscardDeadLetter(Uuid::nil())),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Event(StaffEvent::OpenRequested)),
        (0u8..10).prop_map(|d| Step::Event(StaffEvent::PinDigit(PinDigit::new(d).unwrap()))),
        Just(Step::Event(StaffEvent::PinBackspace)),
        Just(Step::Event(StaffEvent::PinClear)),
        Just(Step::Event(StaffEvent::PinSubmit)),
        Just(Step::RightPin),
        Just(Step::Event(StaffEvent::CardPresented(CardUid::new(
            STAFF_UID.to_vec()
        )))),
        Just(Step::Event(StaffEvent::CardPresented(CardUid::new(vec![
            1, 2, 3, 4
        ])))),
        (0u64..50_000).prop_map(Step::Token),
        Just(Step::Event(StaffEvent::TokenPresented(
            PresentedToken::new("KST1.x.1.00")
        ))),
        Just(Step::Event(StaffEvent::StatusUpdated(status()))),
        action().prop_map(|a| Step::Event(StaffEvent::ActionRequested(a))),
        Just(Step::Event(StaffEvent::Confirm)),
        Just(Step::Event(StaffEvent::Cancel)),
        (action(), any::<bool>()).prop_map(|(action, ok)| Step::Event(
            StaffEvent::ActionFinished {
                action,
                outcome: if ok {
                    ActionOutcome::Ok
                } else {
                    ActionOutcome::Failed("offline".into())
                },
            }
        )),
        Just(Step::Event(StaffEvent::Exit)),
        Just(Step::Event(StaffEvent::Activity)),
        (0u64..200).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_event(steps in prop::collection::vec(step(), 1..60)) {
        let mut h = Harness::new();
        for step in steps {
            let state_before = h.staff.state();
            let effects = match step {
                Step::Event(event) => h.send(event),
                Step::Wait(seconds) => h.advance(Duration::from_secs(seconds)),
                Step::RightPin => h.type_pin(PIN),
                Step::Token(valid) => {
                    let token = sign_token(&SEED, "ka-0815", h.now().wall + Duration::from_secs(valid)).unwrap();
                    h.send(StaffEvent::TokenPresented(PresentedToken::new(token)))
                }
            };
            let state = h.staff.state();

            // Logged in exactly on the dashboard and its confirmation.
            let open = matches!(state, StaffState::Dashboard | StaffState::Confirming(_));
            prop_assert_eq!(h.staff.staff().is_some(), open, "{:?}", state);
            // Citizens are blocked exactly while a staff screen is open or out of service.
            prop_assert_eq!(
                h.staff.blocks_citizens(),
                state != StaffState::Closed
            );
            prop_assert_eq!(state == StaffState::OutOfService, h.staff.is_out_of_service() && h.staff.screen().is_none());
            prop_assert!(h.staff.pin_len() <= kiosk_staff::Pin::MAX_LEN);

            for (i, effect) in effects.iter().enumerate() {
                match effect {
                    // Every action handed to the app is audited as started, first.
                    StaffEffect::Perform(action) => {
                        let audited = effects[..i].iter().any(|e| matches!(e,
                            StaffEffect::Audit(entry) if entry.outcome == AuditOutcome::Started
                                && entry.action == kiosk_staff::AuditAction::Action(*action)));
                        prop_assert!(audited, "{:?} not audited: {:?}", action, effects);
                        // Confirmation first for the irreversible ones.
                        if action.needs_confirmation() {
                            prop_assert_eq!(state_before, StaffState::Confirming(*action));
                        }
                    }
                    StaffEffect::SetInService(false) => {
                        prop_assert_eq!(state_before, StaffState::Confirming(StaffAction::OutOfService));
                    }
                    StaffEffect::Audit(entry) => {
                        let line = entry.to_json_line();
                        prop_assert!(!line.contains(PIN));
                        prop_assert!(line.starts_with("{\"at\":\"2026-"), "{}", line);
                    }
                    _ => {}
                }
            }
            // A running action is one the app was asked to perform.
            if let Some(running) = h.staff.running() {
                prop_assert!(h.log.contains(&StaffEffect::Perform(running)));
            }
        }
    }
}
