//! Staff mode driven through the Slint testing backend: the hidden gesture,
//! the PIN pad, lock-out, the dashboard, confirmations and the citizens'
//! out-of-service screen.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::settle;
use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_journey::{Effect, Event, Step};
use kiosk_staff::{
    ActionOutcome, AuditOutcome, CardHash, CardUid, DeadLetterInfo, Pin, PinHash, PrinterState,
    ReaderState, StaffAction, StaffConfig, StaffCredentials, StaffEffect, StaffEvent, StaffMode,
    StaffState, StaffStatus, hash_pin,
};
use kiosk_ui::generated::StaffAdapter;
use kiosk_ui::{Clock, EffectHandler, EventSender, Kiosk, ManualClock, TICK_EVERY};
use slint::{ComponentHandle, LogicalSize};

const PIN: &str = "482916";
const STAFF_CARD: [u8; 4] = [0x5a, 0x21, 0x9c, 0x33];
const DEAD: uuid::Uuid = uuid::Uuid::from_u128(0x1e2d_3c4b_5a69_4788_97a6_b5c4_d3e2_f101);

/// Records every effect; answers status refreshes like the app would.
#[derive(Clone, Default)]
struct App {
    journey: Rc<RefCell<Vec<String>>>,
    staff: Rc<RefCell<Vec<StaffEffect>>>,
}

impl EffectHandler for App {
    fn perform(&mut self, effect: Effect, _events: &EventSender) {
        self.journey.borrow_mut().push(format!("{effect:?}"));
    }

    fn perform_staff(&mut self, effect: StaffEffect, events: &EventSender) {
        if effect == StaffEffect::RefreshStatus {
            events.send_staff(StaffEvent::StatusUpdated(status()));
        }
        self.staff.borrow_mut().push(effect);
    }
}

fn status() -> StaffStatus {
    let wall = ManualClock::new(today()).wall();
    StaffStatus {
        kiosk_id: "ge-rathaus-01".into(),
        queue_depth: 7,
        oldest_undelivered_at: Some(wall - Duration::from_secs(3 * 3600)),
        dead_letters: vec![DeadLetterInfo {
            id: DEAD,
            reference: "GE-2026-7Q4M-K2".into(),
            service_id: "dog-tax".into(),
            created_at: wall - Duration::from_secs(86400),
            attempts: 4,
            last_error_class: "HTTP 422 (schema)".into(),
        }],
        last_sync_at: Some(wall - Duration::from_secs(240)),
        last_sync_attempt_at: Some(wall),
        printer: PrinterState::PaperOut,
        reader: ReaderState::Ready,
        catalogue_version: "2026.11.2".into(),
        eid: kiosk_staff::EidClientState::Connected {
            version: "1.26.2".into(),
            readers: 1,
        },
    }
}

fn today() -> time::Date {
    time::macros::date!(2026 - 11 - 24)
}

struct Harness {
    kiosk: Kiosk,
    clock: ManualClock,
    app: App,
}

fn harness() -> Harness {
    let clock = ManualClock::new(today());
    let credentials = StaffCredentials::new(
        Some(PinHash::parse(&hash_pin(&Pin::parse(PIN).unwrap()).unwrap()).unwrap()),
        vec![CardHash::of(&CardUid::new(STAFF_CARD.to_vec()))],
        Vec::new(),
    );
    let staff = StaffMode::new(StaffConfig::default(), credentials);
    let app = App::default();
    let kiosk = common::open_kiosk(&clock, staff, Box::new(app.clone()), 1920.0, 1080.0);
    Harness { kiosk, clock, app }
}

impl Harness {
    fn find(&self, label: &str) -> ElementHandle {
        common::find(&self.kiosk, label)
    }

    /// The value of the dashboard figure labelled `label`.
    fn figure(&self, label: &str) -> String {
        let values: Vec<String> =
            ElementHandle::find_by_accessible_label(self.kiosk.ui().component(), label)
                .filter_map(|e| e.accessible_value())
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
                .collect();
        assert_eq!(values.len(), 1, "figure {label:?}: {values:?}");
        values.into_iter().next().unwrap()
    }

    fn exists(&self, label: &str) -> bool {
        common::exists(&self.kiosk, label)
    }

    fn tap(&self, label: &str) {
        common::tap(&self.kiosk, &self.clock, label);
    }

    /// Taps the hidden corner of the attract screen `times` times.
    fn tap_corner(&self, times: usize) {
        for _ in 0..times {
            let corner = ElementHandle::find_by_element_id(
                self.kiosk.ui().component(),
                "MainWindow::staff-corner",
            )
            .next()
            .expect("the hidden corner is there on the attract screen");
            corner.mock_single_click(slint::platform::PointerEventButton::Left);
            self.clock.advance(Duration::from_millis(250));
            settle();
        }
    }

    fn type_pin(&self, pin: &str) {
        for digit in pin.chars() {
            self.tap(&digit.to_string());
        }
        self.tap("Anmelden");
    }

    /// Lets queued events from "other threads" (the app's answers) in.
    fn drain(&self) {
        self.kiosk.drain();
        settle();
    }

    fn state(&self) -> StaffState {
        self.kiosk.with_staff(|s| s.state())
    }

    fn screen(&self) -> String {
        self.kiosk
            .ui()
            .component()
            .global::<StaffAdapter<'_>>()
            .get_screen()
            .to_string()
    }

    /// Journey time and Slint's mocked time together, tick by tick.
    fn advance(&self, by: Duration) {
        let mut left = by;
        while !left.is_zero() {
            let step = left.min(TICK_EVERY);
            self.clock.advance(step);
            i_slint_backend_testing::mock_elapsed_time(step);
            left -= step;
        }
    }

    fn performed(&self) -> Vec<StaffAction> {
        self.app
            .staff
            .borrow()
            .iter()
            .filter_map(|e| match e {
                StaffEffect::Perform(a) => Some(*a),
                _ => None,
            })
            .collect()
    }

    fn audit_outcomes(&self) -> Vec<(String, AuditOutcome)> {
        self.app
            .staff
            .borrow()
            .iter()
            .filter_map(|e| match e {
                StaffEffect::Audit(entry) => Some((entry.action.name().to_owned(), entry.outcome)),
                _ => None,
            })
            .collect()
    }

    fn login_with_pin(&self) {
        self.tap_corner(5);
        self.type_pin(PIN);
        self.drain();
        assert_eq!(self.state(), StaffState::Dashboard);
    }
}

#[test]
fn the_hidden_gesture_and_the_pin_open_the_dashboard() {
    let h = harness();
    h.tap_corner(4);
    assert_eq!(h.state(), StaffState::Closed, "four taps are not enough");
    assert!(!h.exists("Anmelden"));
    h.advance(Duration::from_secs(4));
    h.tap_corner(5);
    assert_eq!(h.state(), StaffState::PinPad);
    assert!(h.exists("Anmeldung für das Personal"));
    assert!(!h.exists("Personal rufen"), "the citizen's header is gone");

    for digit in PIN.chars() {
        h.tap(&digit.to_string());
    }
    let pin_box = h.find("PIN");
    assert_eq!(pin_box.accessible_value().unwrap(), "6", "six dots");
    assert!(!h.exists(PIN), "the digits are never shown");
    h.tap("Anmelden");
    h.drain();
    assert_eq!(h.state(), StaffState::Dashboard);
    assert_eq!(h.screen(), "dashboard");

    // The figures the app reported.
    assert_eq!(h.figure("Warteschlange"), "7");
    assert_eq!(h.figure("Ältester offener Antrag"), "3 Std. 0 Min.");
    assert_eq!(h.figure("Letzte Übertragung"), "vor 4 Min.");
    assert_eq!(h.figure("Drucker"), "Kein Papier");
    assert_eq!(h.figure("Lesegerät"), "Bereit");
    assert_eq!(h.figure("Katalog"), "2026.11.2");
    assert_eq!(h.figure("Online-Ausweis (AusweisApp)"), "Bereit (1.26.2)");
    assert_eq!(h.figure("Angemeldet als"), "pin");
    assert!(h.exists("Kiosk ge-rathaus-01"));
    assert!(h.exists("GE-2026-7Q4M-K2"));
    assert_eq!(h.audit_outcomes(), [("login".to_owned(), AuditOutcome::Ok)]);

    // An action runs, shows that it runs, and then how it ended.
    h.tap("Testseite drucken");
    assert_eq!(h.performed(), [StaffAction::PrintTestPage]);
    assert!(h.exists("Läuft: Testseite drucken …"));
    assert_eq!(
        h.find("Jetzt synchronisieren").accessible_enabled(),
        Some(false)
    );
    h.kiosk.sender().send_staff(StaffEvent::ActionFinished {
        action: StaffAction::PrintTestPage,
        outcome: ActionOutcome::Failed("Drucker antwortet nicht".into()),
    });
    h.drain();
    assert!(h.exists("Fehlgeschlagen: Testseite drucken – Drucker antwortet nicht"));

    h.tap("Beenden");
    assert_eq!(h.state(), StaffState::Closed);
    assert_eq!(h.screen(), "");
    assert!(h.exists("Personal rufen"), "the attract screen is back");
    assert_eq!(h.kiosk.with_journey(|j| j.step().clone()), Step::Attract);
}

#[test]
fn wrong_pins_lock_the_pad_even_after_leaving_it() {
    let h = harness();
    h.tap_corner(5);
    h.type_pin("111111");
    assert!(h.exists("Die PIN ist falsch. Versuche bis zur Sperre: 2"));
    h.type_pin("222222");
    h.type_pin("333333");
    assert!(
        h.exists("Zu viele falsche PINs. Die Anmeldung mit PIN ist gesperrt, noch 60 Sekunden.")
    );
    h.tap("Abbrechen");
    assert_eq!(h.state(), StaffState::Closed);

    h.advance(Duration::from_secs(20));
    h.tap_corner(5);
    assert!(
        h.exists("Zu viele falsche PINs. Die Anmeldung mit PIN ist gesperrt, noch 39 Sekunden."),
        "still locked after leaving the pad"
    );
    h.type_pin(PIN);
    assert_eq!(h.state(), StaffState::PinPad, "even the right PIN waits");

    h.advance(Duration::from_secs(25));
    assert!(
        h.exists("Zu viele falsche PINs. Die Anmeldung mit PIN ist gesperrt, noch 14 Sekunden."),
        "the countdown runs"
    );
    h.advance(Duration::from_secs(15));
    assert_eq!(
        h.state(),
        StaffState::Closed,
        "an untouched PIN pad closes itself"
    );
    h.tap_corner(5);
    let adapter = h.kiosk.ui().component().global::<StaffAdapter<'_>>();
    assert_eq!(adapter.get_locked_seconds(), 0, "the lock is over");
    h.type_pin(PIN);
    h.drain();
    assert_eq!(h.state(), StaffState::Dashboard);
    let outcomes = h.audit_outcomes();
    assert_eq!(
        outcomes.iter().filter(|(a, _)| a == "pin-lock-out").count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|(_, o)| *o == AuditOutcome::Failed)
            .count(),
        3
    );
}

#[test]
fn discarding_a_dead_letter_asks_for_confirmation() {
    let h = harness();
    // A staff card placed between citizens opens the dashboard.
    h.kiosk
        .sender()
        .send_staff(StaffEvent::CardPresented(CardUid::new(STAFF_CARD.to_vec())));
    h.drain();
    h.drain();
    assert_eq!(h.state(), StaffState::Dashboard);

    h.tap("Verwerfen: GE-2026-7Q4M-K2");
    assert_eq!(h.screen(), "confirm");
    assert!(h.exists("Antrag endgültig verwerfen?"));
    assert!(
        h.performed().is_empty(),
        "nothing discarded before the answer"
    );
    h.tap("Nein, behalten");
    assert_eq!(h.state(), StaffState::Dashboard);
    assert!(!h.exists("Antrag endgültig verwerfen?"));
    assert!(h.performed().is_empty());

    h.tap("Verwerfen: GE-2026-7Q4M-K2");
    h.tap("Ja, verwerfen");
    assert_eq!(h.performed(), [StaffAction::DiscardDeadLetter(DEAD)]);
    h.kiosk.sender().send_staff(StaffEvent::ActionFinished {
        action: StaffAction::DiscardDeadLetter(DEAD),
        outcome: ActionOutcome::Ok,
    });
    h.drain();
    assert!(h.exists("Erledigt: Verwerfen"));
    let outcomes: Vec<(String, AuditOutcome)> = h
        .audit_outcomes()
        .into_iter()
        .filter(|(a, _)| a == "discard-dead-letter")
        .collect();
    assert_eq!(
        outcomes.iter().map(|(_, o)| *o).collect::<Vec<_>>(),
        [
            AuditOutcome::Cancelled,
            AuditOutcome::Started,
            AuditOutcome::Ok
        ]
    );

    // Retrying needs no confirmation.
    h.tap("Erneut senden: GE-2026-7Q4M-K2");
    assert_eq!(
        h.performed().last(),
        Some(&StaffAction::RetryDeadLetter(DEAD))
    );
}

#[test]
fn out_of_service_shows_the_citizens_screen_in_every_language() {
    let h = harness();
    h.login_with_pin();
    h.tap("Außer Betrieb nehmen");
    assert!(h.exists("Kiosk außer Betrieb nehmen?"));
    h.tap("Ja, außer Betrieb nehmen");
    assert!(
        h.app
            .staff
            .borrow()
            .contains(&StaffEffect::SetInService(false))
    );
    h.tap("Beenden");
    assert_eq!(h.state(), StaffState::OutOfService);
    assert_eq!(h.screen(), "out-of-service");
    for text in [
        "Vorübergehend außer Betrieb",
        "Temporarily out of service",
        "Geçici olarak hizmet dışı",
        "خارج الخدمة مؤقتًا",
        "Тимчасово не працює",
    ] {
        assert!(h.exists(text), "{text}");
    }
    assert!(!h.exists("Personal rufen"), "no citizen's controls");

    // Citizens cannot start, whatever they touch or the app sends.
    let window = h.kiosk.ui().component();
    let centre = slint::LogicalPosition::new(960.0, 700.0);
    window
        .window()
        .dispatch_event(slint::platform::WindowEvent::PointerPressed {
            position: centre,
            button: slint::platform::PointerEventButton::Left,
        });
    window
        .window()
        .dispatch_event(slint::platform::WindowEvent::PointerReleased {
            position: centre,
            button: slint::platform::PointerEventButton::Left,
        });
    settle();
    h.kiosk.dispatch(Event::Start);
    assert_eq!(h.kiosk.with_journey(|j| j.step().clone()), Step::Attract);

    // Staff come back through the same gesture and put it back in service.
    h.login_with_pin();
    assert!(h.exists(
        "Der Kiosk ist außer Betrieb: Bürgerinnen und Bürger sehen den Hinweis „Außer Betrieb“."
    ));
    h.tap("Wieder in Betrieb nehmen");
    h.tap("Beenden");
    assert_eq!(h.state(), StaffState::Closed);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    assert_eq!(h.kiosk.with_journey(|j| j.step().clone()), Step::Language);
}

#[test]
fn staff_mode_does_not_open_during_a_citizens_session() {
    let h = harness();
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.kiosk
        .sender()
        .send_staff(StaffEvent::CardPresented(CardUid::new(STAFF_CARD.to_vec())));
    h.drain();
    assert_eq!(h.state(), StaffState::Closed);
    assert!(
        ElementHandle::find_by_element_id(h.kiosk.ui().component(), "MainWindow::staff-corner")
            .next()
            .is_none(),
        "no hidden corner outside the attract screen"
    );
}

#[test]
fn staff_screens_switch_to_english_and_close_when_idle() {
    let h = harness();
    h.login_with_pin();
    h.tap("English");
    assert!(h.exists("Sync now"));
    assert!(h.exists("Discard: GE-2026-7Q4M-K2"));
    assert_eq!(h.figure("Oldest undelivered"), "3 h 0 min");
    h.advance(Duration::from_secs(119));
    assert_eq!(h.state(), StaffState::Dashboard);
    h.advance(Duration::from_secs(2));
    assert_eq!(
        h.state(),
        StaffState::Closed,
        "two idle minutes close staff mode"
    );
    assert!(
        h.exists("Berühren Sie den Bildschirm, um zu beginnen"),
        "citizens get German again"
    );
    assert_eq!(
        h.audit_outcomes().last(),
        Some(&("logout".to_owned(), AuditOutcome::TimedOut))
    );
}

#[test]
fn staff_screens_have_large_touch_targets_in_portrait() {
    let h = harness();
    h.kiosk
        .ui()
        .component()
        .window()
        .set_size(LogicalSize::new(1080.0, 1920.0));
    settle();
    let check = |h: &Harness, screen: &str| {
        let mut count = 0;
        // The whole window (the first descendant alone would be the header).
        let root = i_slint_backend_testing::ElementRoot::root_element(h.kiosk.ui().component());
        root.visit_descendants(|element| {
            if matches!(
                element.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::TextInput)
            ) && element.size().width > 0.0
            {
                let size = element.size();
                assert!(
                    size.width >= 60.0 && size.height >= 60.0,
                    "{screen}: {:?} is only {}x{}",
                    element.accessible_label(),
                    size.width,
                    size.height
                );
                count += 1;
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        assert!(count > 5, "{screen}: found only {count} targets");
    };
    h.tap_corner(5);
    check(&h, "PIN pad");
    h.type_pin(PIN);
    h.drain();
    check(&h, "dashboard");
    h.tap("Verwerfen: GE-2026-7Q4M-K2");
    check(&h, "confirmation");
}
