//! The UI driven like a citizen would, through the Slint testing backend:
//! elements are found by their accessible labels and tapped.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::settle;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk_catalogue::{Catalogue, FieldValue, Language};
use kiosk_journey::{Effect, Event, JourneyConfig, SessionOutcome, Step};
use kiosk_ui::generated::{AppAdapter, FormAdapter, ReceiptAdapter};
use kiosk_ui::{EffectHandler, EventSender, Kiosk, ManualClock, TICK_EVERY};
use slint::{ComponentHandle, Model};

/// Records the effects; the test plays the outbox and the printer.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Vec<String>>>);

impl EffectHandler for Recorder {
    fn perform(&mut self, effect: Effect, _events: &EventSender) {
        let name = match effect {
            Effect::StartIdentification { .. } => "start-identification".to_owned(),
            Effect::StopIdentification => "stop-identification".to_owned(),
            Effect::Submit(draft) => format!("submit {}", draft.service_id),
            Effect::PrintReceipt(_) => "print".to_owned(),
            Effect::CallStaff => "call-staff".to_owned(),
            Effect::SessionEnded(outcome) => format!("ended {outcome:?}"),
            Effect::SessionStarted => "session-started".to_owned(),
            Effect::StartEidSession { service_id, .. } => format!("eid-session {service_id}"),
            Effect::EidCommand(command) => format!("eid-command {}", command.name()),
            Effect::CompleteEidLogin { .. } => "complete-eid-login".to_owned(),
        };
        self.0.borrow_mut().push(name);
    }

    fn perform_staff(&mut self, effect: kiosk_staff::StaffEffect, _events: &EventSender) {
        self.0.borrow_mut().push(format!("staff {effect:?}"));
    }
}

struct Harness {
    kiosk: Kiosk,
    clock: ManualClock,
    effects: Recorder,
}

fn harness(width: f32, height: f32) -> Harness {
    let clock = ManualClock::new(time::macros::date!(2026 - 11 - 24));
    let effects = Recorder::default();
    let kiosk = common::open_kiosk(
        &clock,
        common::staff_without_credentials(),
        Box::new(effects.clone()),
        width,
        height,
    );
    Harness {
        kiosk,
        clock,
        effects,
    }
}

impl Harness {
    fn find(&self, label: &str) -> ElementHandle {
        common::find(&self.kiosk, label)
    }

    fn exists(&self, label: &str) -> bool {
        common::exists(&self.kiosk, label)
    }

    fn tap(&self, label: &str) {
        common::tap(&self.kiosk, &self.clock, label);
    }

    /// Taps an element that may first need scrolling into view, scrolling
    /// the form like a finger would (bounded).
    fn activate(&self, label: &str) {
        for _ in 0..30 {
            if self.count(label) > 0 {
                break;
            }
            let flickable = ElementQuery::from_root(self.kiosk.ui().component())
                .match_type_name("Flickable")
                .find_first();
            let Some(flickable) = flickable else { break };
            flickable.scroll(0.0, -150.0);
            settle();
        }
        self.find(label).invoke_accessible_default_action();
        settle();
    }

    fn count(&self, label: &str) -> usize {
        ElementHandle::find_by_accessible_label(self.kiosk.ui().component(), label)
            .filter(|e| e.accessible_role() != Some(AccessibleRole::Text))
            .count()
    }

    fn type_text(&self, text: &str) {
        for c in text.chars() {
            if c.is_uppercase() {
                self.activate("Umschalt");
                self.activate(&c.to_string());
            } else if c == ' ' {
                self.activate("Leerzeichen");
            } else {
                self.activate(&c.to_string());
            }
        }
    }

    fn step(&self) -> Step {
        self.kiosk.with_journey(|j| j.step().clone())
    }

    /// Moves journey time and Slint's mocked time together, so the kiosk's
    /// tick timer fires and sees the new time.
    fn advance(&self, by: Duration) {
        let mut left = by;
        while !left.is_zero() {
            let step = left.min(TICK_EVERY);
            self.clock.advance(step);
            i_slint_backend_testing::mock_elapsed_time(step);
            left -= step;
        }
    }

    fn text_answer(&self, field: &str) -> Option<String> {
        self.kiosk
            .with_journey(|j| match j.answer(field).map(|a| (*a.value).clone()) {
                Some(FieldValue::Text(t)) => Some(t),
                _ => None,
            })
    }
}

/// Lets Slint build the elements that the last change made appear.
fn german_title(service: &str) -> String {
    Catalogue::embedded_default()
        .service(service)
        .unwrap()
        .title
        .get(&Language::german())
        .to_owned()
}

#[test]
fn a_full_journey_is_clicked_through_by_accessible_labels() {
    let h = harness(1080.0, 1920.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    assert_eq!(h.step(), Step::Language);
    h.tap("Deutsch");
    assert_eq!(h.step(), Step::Service);
    h.tap(&german_title("lost-property"));
    assert_eq!(h.step(), Step::Form { page: 0 });

    // Page 1: what was found (a choice) and a description (multi-line text).
    let page = |h: &Harness| match h.step() {
        Step::Form { page } => page,
        other => panic!("expected a form page, got {other:?}"),
    };
    h.tap("Weiter");
    assert_eq!(page(&h), 0, "an empty page does not move on");
    assert!(h.exists("Bitte prüfen Sie die rot markierten Angaben."));
    assert!(
        h.exists("Bitte füllen Sie dieses Feld aus."),
        "the first problem is scrolled into view with its message"
    );
    let first_option = {
        let catalogue = Catalogue::embedded_default();
        let field = catalogue
            .service("lost-property")
            .unwrap()
            .field("item_type")
            .unwrap()
            .clone();
        field.kind.options().unwrap()[0]
            .label
            .get(&Language::german())
            .to_owned()
    };
    h.activate(&first_option);
    h.activate("Beschreibung der Fundsache");
    h.type_text("Roter Schirm");
    assert_eq!(
        h.text_answer("description").as_deref(),
        Some("Roter Schirm")
    );
    h.tap("Weiter");
    assert_eq!(page(&h), 1);

    // Page 2: where (text) and when (date on the numeric pad: day, month, year).
    h.activate("Wo haben Sie die Sache gefunden?");
    h.type_text("Bus 383");
    h.activate("Wann haben Sie die Sache gefunden? – Tag");
    for digit in "20112026".chars() {
        h.activate(&digit.to_string());
    }
    h.tap("Weiter");
    assert_eq!(
        page(&h),
        2,
        "{:?}",
        h.kiosk.with_journey(|j| j.problems().to_vec())
    );

    // Page 3: hand-over choice; no contact page needed when handed in here.
    let handover = {
        let catalogue = Catalogue::embedded_default();
        let field = catalogue
            .service("lost-property")
            .unwrap()
            .field("handover")
            .unwrap()
            .clone();
        let options = field.kind.options().unwrap().to_vec();
        options
            .iter()
            .find(|o| o.value != "keep")
            .unwrap()
            .label
            .get(&Language::german())
            .to_owned()
    };
    h.activate(&handover);
    h.tap("Weiter");
    assert_eq!(h.step(), Step::Review);
    assert!(h.exists("Roter Schirm"), "the review shows the answers");
    h.tap("Weiter");
    assert_eq!(h.step(), Step::Consent);

    h.tap("Absenden");
    assert_eq!(h.step(), Step::Consent, "consent is required");
    assert!(h.exists("Ohne diese Zustimmung können wir den Antrag nicht annehmen."));
    let consent_text = Catalogue::embedded_default()
        .service("lost-property")
        .unwrap()
        .consents[0]
        .text
        .get(&Language::german())
        .to_owned();
    h.activate(&consent_text);
    h.tap("Absenden");
    assert_eq!(h.step(), Step::Submitting);
    assert!(
        h.effects
            .0
            .borrow()
            .iter()
            .any(|e| e == "submit lost-property")
    );

    // The outbox saved it; the printer has no paper: the QR code is shown.
    h.kiosk.dispatch(Event::Submitted {
        reference: "GE-2026-0001".into(),
        queued_offline: false,
    });
    settle();
    assert!(h.exists("GE-2026-0001"));
    h.kiosk.dispatch(Event::ReceiptNotPrinted);
    settle();
    let receipt = h.kiosk.ui().component().global::<ReceiptAdapter<'_>>();
    assert_eq!(receipt.get_print(), "qr-code");
    assert!(h.exists("QR-Code mit der Vorgangsnummer"));
    h.tap("Fertig");
    assert_eq!(h.step(), Step::Goodbye);
    h.advance(Duration::from_secs(9));
    assert_eq!(
        h.step(),
        Step::Attract,
        "goodbye returns to the start by itself"
    );
    assert!(h.effects.0.borrow().iter().any(|e| e == "ended Completed"));
    assert!(
        h.text_answer("description").is_none(),
        "nothing of the citizen is left"
    );
    {
        use slint::Model;
        let ui = h.kiosk.ui().component();
        let form = ui.global::<kiosk_ui::generated::FormAdapter<'_>>();
        let review = ui.global::<kiosk_ui::generated::ReviewAdapter<'_>>();
        assert_eq!(form.get_rows().row_count(), 0, "no answers left in the UI");
        assert_eq!(
            review.get_pages().row_count(),
            0,
            "no answers left in the UI"
        );
    }
}

#[test]
fn the_idle_warning_counts_down_can_be_extended_and_then_wipes() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    h.tap("Große Schrift");
    assert!(h.kiosk.ui().accessibility().large_text);
    h.type_text("Erika");
    let app = h.kiosk.ui().component().global::<AppAdapter<'_>>();
    let config = JourneyConfig::default();

    h.advance(config.idle_after - Duration::from_secs(1));
    assert!(!app.get_idle_warning());
    h.advance(Duration::from_secs(2));
    assert!(
        app.get_idle_warning(),
        "the warning appears after the idle time"
    );
    assert!(h.exists("Sind Sie noch da?"));
    h.advance(Duration::from_secs(10));
    let seconds = app.get_idle_seconds();
    assert!((18..=21).contains(&seconds), "countdown shows {seconds}");

    h.tap("Mehr Zeit");
    assert!(!app.get_idle_warning());
    assert_eq!(h.text_answer("given_names").as_deref(), Some("Erika"));

    h.advance(config.idle_after + config.warning_for + Duration::from_secs(1));
    assert_eq!(h.step(), Step::Attract);
    assert!(h.effects.0.borrow().iter().any(|e| e == "ended TimedOut"));
    assert!(
        !h.kiosk.ui().accessibility().large_text,
        "the next citizen starts with the default look"
    );
    assert!(h.text_answer("given_names").is_none());
    assert!(!app.get_idle_warning());
}

#[test]
fn switching_language_mid_form_keeps_the_answers() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    h.type_text("Gül");
    assert_eq!(h.text_answer("given_names").as_deref(), Some("Gül"));

    // The globe button shows the current language and opens the list.
    h.tap("Sprache wählen");
    h.tap("Türkçe");
    assert_eq!(
        h.kiosk.with_journey(|j| j.language().code().to_owned()),
        "tr"
    );
    assert!(
        matches!(h.step(), Step::Form { page: 0 }),
        "still on the same page"
    );
    assert!(h.exists("İleri"), "chrome texts are Turkish");
    assert!(!h.exists("Weiter"));
    assert_eq!(h.text_answer("given_names").as_deref(), Some("Gül"));

    // Back to German: the typed text is still in the box.
    h.tap("Dil seçin");
    h.tap("Deutsch");
    assert!(h.exists("Weiter"));
    let catalogue = Catalogue::embedded_default();
    let label = catalogue
        .service("library-card")
        .unwrap()
        .field("given_names")
        .unwrap()
        .label
        .get(&Language::german())
        .to_owned();
    assert_eq!(h.find(&label).accessible_value().unwrap(), "Gül");
}

#[test]
fn arabic_screens_are_mirrored() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    let x = |label: &str| h.find(label).absolute_position().x;
    // German: back at the left, next at the right; language button right of the title.
    assert!(x("Zurück") < x("Weiter"));
    assert!(x("Sprache wählen") < x("Personal rufen"));

    h.tap("Sprache wählen");
    h.tap("العربية");
    assert!(h.exists("التالي"), "chrome texts are Arabic");
    // Arabic: everything swaps sides.
    assert!(
        x("رجوع") > x("التالي"),
        "back is on the right, next on the left"
    );
    assert!(x("اختر اللغة") > x("استدعاء موظف"), "header order mirrored");
    let width = 1920.0;
    assert!(x("رجوع") > width / 2.0 && x("التالي") < width / 2.0);
}

#[test]
fn every_button_is_a_large_touch_target() {
    let h = harness(1080.0, 1920.0);
    let check = |h: &Harness, screen: &str| {
        let mut count = 0;
        // The whole window (the first descendant alone would be the header).
        let root = i_slint_backend_testing::ElementRoot::root_element(h.kiosk.ui().component());
        root.visit_descendants(|element| {
            if matches!(
                element.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::Checkbox | AccessibleRole::TextInput)
            ) {
                let size = element.size();
                // 9 mm on a 24" 1080p panel is 33 px; keys are the smallest at 64 px.
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
        assert!(count > 3, "{screen}: found only {count} targets");
    };
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    check(&h, "language");
    h.tap("Deutsch");
    check(&h, "service");
    h.tap(&german_title("dog-tax"));
    check(&h, "identify");
    h.activate("Reisepass oder Ausweis mit Zugangsnummer");
    check(&h, "can entry");
    h.tap("Zurück");
    h.activate("Ohne Ausweis: selbst eintippen");
    check(&h, "form with keyboard");
}

/// A 720x1280 panel (10.1", at most 145 ppi: 9 mm are 52 px): the letter
/// keyboard of every language fits across, every key at least 52 px wide.
#[test]
fn the_keyboards_fit_a_720_px_panel_with_9_mm_keys() {
    let h = harness(720.0, 1280.0);
    let keys = |h: &Harness| {
        let mut keys = Vec::new();
        let root = i_slint_backend_testing::ElementRoot::root_element(h.kiosk.ui().component());
        root.visit_descendants(|element| {
            if element.accessible_role() == Some(AccessibleRole::Button) {
                let (at, size) = (element.absolute_position(), element.size());
                let label = element.accessible_label().unwrap_or_default().to_string();
                keys.push((label, at.x, at.y, size.width, size.height));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        keys
    };
    let check = |h: &Harness, what: &str| {
        let keys = keys(h);
        assert!(keys.len() > 30, "{what}: only {} buttons", keys.len());
        for (label, x, y, width, height) in keys {
            assert!(
                width >= 52.0 && height >= 52.0,
                "{what}: {label:?} is only {width}x{height}"
            );
            assert!(
                x >= 0.0 && x + width <= 720.5 && y + height <= 1280.5,
                "{what}: {label:?} at {x},{y} ({width}x{height}) is off the panel"
            );
        }
    };
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    assert!(h.exists("ß"), "the German keyboard shows");
    check(&h, "German keyboard");
    // The language button, labelled in the language shown, then the next one.
    for (menu, language) in [
        ("Sprache wählen", "Türkçe"),
        ("Dil seçin", "Українська"),
        ("Оберіть мову", "العربية"),
    ] {
        h.tap(menu);
        h.tap(language);
        check(&h, language);
    }
}

/// On a 720x1280 panel the passport's CAN pad shows with its texts, no
/// scrolling needed.
#[test]
fn the_can_pad_needs_no_scrolling_on_a_720_px_panel() {
    let h = harness(720.0, 1280.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Reisepass oder Ausweis mit Zugangsnummer");
    // Above the navigation bar (136 px) at the bottom of the panel.
    for label in ["1", "0", "Bestätigen"] {
        let key = h.find(label);
        let (at, size) = (key.absolute_position(), key.size());
        assert!(
            at.y + size.height <= 1280.0 - 136.0 + 0.5,
            "{label:?} ends at {} (below the visible area)",
            at.y + size.height
        );
    }
    assert!(!h.exists("Mehr anzeigen"), "nothing continues below");
}

#[test]
fn the_can_is_typed_on_the_numeric_pad_and_never_shown() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("dog-tax"));
    h.kiosk
        .dispatch(Event::Capabilities(kiosk_journey::Capabilities {
            online: true,
            card_reader: true,
            eid_client: false,
        }));
    settle();
    h.activate("Reisepass oder Ausweis mit Zugangsnummer");
    for digit in ["1", "2", "3"] {
        h.tap(digit);
    }
    h.tap("Bestätigen");
    assert!(h.exists("Die Zugangsnummer hat genau 6 Ziffern. Bitte prüfen Sie die Eingabe."));
    assert!(!h.exists("123"), "the digits are shown as dots only");
    for digit in ["4", "5", "6"] {
        h.tap(digit);
    }
    h.tap("Bestätigen");
    assert!(matches!(
        h.step(),
        Step::Identify(kiosk_journey::IdentifyStep::Waiting(_))
    ));
    assert!(
        h.effects
            .0
            .borrow()
            .iter()
            .any(|e| e == "start-identification")
    );
    assert!(h.exists("Legen Sie Ihren Ausweis auf das Lesegerät"));
    let _ = SessionOutcome::Cancelled;
}

/// Remembers what would have been spoken.
#[derive(Clone, Default)]
struct Heard(Rc<RefCell<Vec<(String, String)>>>);

impl kiosk_ui::Speaker for Heard {
    fn speak(&mut self, text: &str, language: &Language) {
        self.0
            .borrow_mut()
            .push((text.to_owned(), language.code().to_owned()));
    }
}

#[test]
fn read_aloud_speaks_the_screen_in_the_citizens_language() {
    let h = harness(1080.0, 1920.0);
    let heard = Heard::default();
    h.kiosk.ui().set_speaker(Box::new(heard.clone()));
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Vorlesen");
    let (text, _) = heard.0.borrow().last().unwrap().clone();
    assert!(
        text.starts_with("Bürgerservice. Sprache wählen. Schaltflächen: Deutsch, English"),
        "{text}"
    );
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    h.type_text("Erika");
    h.tap("Vorlesen");
    let (text, language) = heard.0.borrow().last().unwrap().clone();
    assert_eq!(language, "de");
    assert!(
        text.starts_with(&format!("{}. Schritt 1 von ", german_title("library-card"))),
        "{text}"
    );
    assert!(
        text.contains("Ihre Angaben") && text.contains("Vorname(n): Erika"),
        "what was typed is read back: {text}"
    );

    h.tap("Sprache wählen");
    h.tap("Українська");
    h.tap("Прочитати вголос");
    let (text, language) = heard.0.borrow().last().unwrap().clone();
    assert_eq!(language, "uk");
    assert!(text.contains("Крок 1 з "), "{text}");
    assert!(
        text.contains(": Erika"),
        "answers survive the switch: {text}"
    );
}

/// Whether `element` lies wholly inside the form's visible area.
fn inside_form_view(h: &Harness, element: &ElementHandle) -> bool {
    let flickable = ElementQuery::from_root(h.kiosk.ui().component())
        .match_type_name("Flickable")
        .find_first()
        .expect("a form page");
    let (view_at, view_size) = (flickable.absolute_position(), flickable.size());
    let (at, size) = (element.absolute_position(), element.size());
    at.y >= view_at.y && at.y + size.height <= view_at.y + view_size.height
}

/// Whether the control with this label lies wholly inside the form's visible area.
fn shown_in_form(h: &Harness, label: &str) -> bool {
    inside_form_view(h, &h.find(label))
}

#[test]
fn the_field_being_typed_into_stays_in_view_when_the_text_size_changes() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap("Große Schrift");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    // The date is chosen before the new page's rows exist, as when a page
    // opens on a field far down: the row is born wanting the view.
    let form = h.kiosk.ui().component().global::<FormAdapter<'_>>();
    let rows = form.get_rows();
    let date_row = (0..rows.row_count())
        .find(|&i| rows.row_data(i).is_some_and(|r| r.kind == "date"))
        .expect("a date row");
    form.invoke_focus(date_row as i32, 1);
    settle();
    assert!(
        shown_in_form(&h, "Geburtsdatum – Monat"),
        "the month being typed is scrolled into view"
    );

    // Smaller text moves the date up, larger text down: the page follows,
    // however the text size changes.
    let ui = h.kiosk.ui();
    for large_text in [false, true] {
        ui.set_accessibility(kiosk_ui::Accessibility {
            large_text,
            ..ui.accessibility()
        });
        settle();
        assert!(
            shown_in_form(&h, "Geburtsdatum – Monat"),
            "large text {large_text}: the month being typed stays in view"
        );
    }
    for digit in "081964".chars() {
        h.activate(&digit.to_string());
    }
    assert!(shown_in_form(&h, "Geburtsdatum – Jahr"));
}

/// Whether the text (a label, not a control) lies wholly inside the form's
/// visible area.
fn text_shown_in_form(h: &Harness, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(h.kiosk.ui().component(), text)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Text))
        .any(|label| inside_form_view(h, &label))
}

#[test]
fn the_label_of_the_field_being_typed_into_shows_above_the_landscape_keyboard() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.tap(&german_title("library-card"));
    h.activate("Ohne Ausweis: selbst eintippen");
    h.type_text("Jürgen");
    assert!(
        h.exists("Leerzeichen"),
        "the letter keyboard is open for the first name"
    );
    let ui = h.kiosk.ui();
    for large_text in [false, true, false] {
        ui.set_accessibility(kiosk_ui::Accessibility {
            large_text,
            ..ui.accessibility()
        });
        settle();
        assert!(
            shown_in_form(&h, "Vorname(n)"),
            "large text {large_text}: the box being typed into is in view"
        );
        assert!(
            text_shown_in_form(&h, "Vorname(n)"),
            "large text {large_text}: its label is in view too, not under the heading"
        );
    }
}
