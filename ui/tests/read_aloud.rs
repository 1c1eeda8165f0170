//! "Read aloud" on every citizen screen: what the headset would hear, in
//! which language, in which order, and that PIN and CAN digits never reach it.
//! Screens are staged as for the screenshots; the speaker is a test double
//! of the `Speaker` trait the UI speaks through.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_catalogue::{Catalogue, Language};
use kiosk_journey::{Effect, Journey, JourneyConfig};
use kiosk_ui::generated::{AppAdapter, EidAdapter};
use kiosk_ui::{Clock, EffectHandler, EspeakSpeaker, EventSender, Kiosk, ManualClock, SCREENS};
use slint::{ComponentHandle, LogicalSize};

struct Ignore;

impl EffectHandler for Ignore {
    fn perform(&mut self, _effect: Effect, _events: &EventSender) {}
    fn perform_staff(&mut self, _effect: kiosk_staff::StaffEffect, _events: &EventSender) {}
}

/// Remembers what would have been spoken, and in which language.
#[derive(Clone, Default)]
struct Heard(Rc<RefCell<Vec<(String, Language)>>>);

impl kiosk_ui::Speaker for Heard {
    fn speak(&mut self, text: &str, language: &Language) {
        self.0
            .borrow_mut()
            .push((text.to_owned(), language.clone()));
    }
}

struct Harness {
    kiosk: Kiosk,
    clock: ManualClock,
    catalogue: Catalogue,
    heard: Heard,
}

fn harness() -> Harness {
    i_slint_backend_testing::init_no_event_loop();
    let catalogue = Catalogue::embedded_default();
    let clock = ManualClock::new(time::macros::date!(2026 - 11 - 24));
    let journey = Journey::new(
        Arc::new(catalogue.clone()),
        JourneyConfig::default(),
        clock.now(),
    );
    let staff = kiosk_staff::StaffMode::new(
        kiosk_staff::StaffConfig::default(),
        kiosk_staff::StaffCredentials::default(),
    );
    let kiosk = Kiosk::new(journey, staff, Box::new(clock.clone()), Box::new(Ignore)).unwrap();
    let window = kiosk.ui().component();
    window.window().set_size(LogicalSize::new(1920.0, 1080.0));
    window.show().unwrap();
    let heard = Heard::default();
    kiosk.ui().set_speaker(Box::new(heard.clone()));
    Harness {
        kiosk,
        clock,
        catalogue,
        heard,
    }
}

fn settle() {
    i_slint_backend_testing::mock_elapsed_time(Duration::ZERO);
}

fn lang(code: &str) -> Language {
    Language::new(code).unwrap()
}

impl Harness {
    fn stage(&self, screen: &str, language: &str) {
        kiosk_ui::stage(
            &self.kiosk,
            &self.clock,
            &self.catalogue,
            &lang(language),
            screen,
        )
        .unwrap();
        settle();
    }

    /// What "read aloud" says now (the header button's callback).
    fn read_aloud(&self) -> (String, Language) {
        self.kiosk
            .ui()
            .component()
            .global::<AppAdapter<'_>>()
            .invoke_read_aloud();
        self.heard
            .0
            .borrow()
            .last()
            .cloned()
            .expect("something was spoken")
    }

    /// `read_aloud` on `screen` in `language`: the text, checked to be in
    /// the citizen's language.
    fn spoken(&self, screen: &str, language: &str) -> String {
        self.stage(screen, language);
        let (text, spoken_in) = self.read_aloud();
        // Before the language choice the kiosk speaks German.
        let expected = if matches!(screen, "attract" | "language") {
            "de"
        } else {
            language
        };
        assert_eq!(spoken_in.code(), expected, "{screen}");
        text
    }

    fn service_title(&self, id: &str, language: &str) -> String {
        self.catalogue
            .service(id)
            .unwrap()
            .title
            .get(&lang(language))
            .to_owned()
    }
}

/// `parts` appear in `text` in this order.
#[track_caller]
fn in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for part in parts {
        match text[from..].find(part) {
            Some(at) => from += at + part.len(),
            None => panic!("{part:?} missing (or out of order) in {text:?}"),
        }
    }
}

#[test]
fn every_citizen_screen_is_spoken_in_every_language() {
    let h = harness();
    let citizen_screens = SCREENS
        .iter()
        .filter(|s| !s.starts_with("staff-") && **s != "out-of-service");
    for screen in citizen_screens {
        for language in h.catalogue.languages.clone() {
            let text = h.spoken(screen, language.code());
            assert!(text.len() > 20, "{screen} {language:?}: {text:?}");
            if language.code() != "de" && !matches!(*screen, "attract" | "language") {
                // The UI's own words are translated, not German.
                for german in ["Schaltflächen", "Zurück", "Abbrechen", "ausgewählt", "leer"] {
                    assert!(
                        !text.split([' ', ',', '.', ':']).any(|w| w == german),
                        "{screen} {language:?} says {german:?}: {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_service_choice_reads_title_heading_tiles_and_buttons() {
    let h = harness();
    let text = h.spoken("service", "de");
    let tiles: Vec<String> = h
        .catalogue
        .services
        .iter()
        .flat_map(|s| {
            [
                s.title.get(&Language::german()).to_owned(),
                s.description.get(&Language::german()).to_owned(),
            ]
        })
        .collect();
    let mut expected = vec!["Bürgerservice", "Was möchten Sie erledigen?"];
    expected.extend(tiles.iter().map(String::as_str));
    expected.push("Schaltflächen: Zurück, Abbrechen");
    in_order(&text, &expected);

    let text = h.spoken("service", "ar");
    let title = h.service_title("library-card", "ar");
    in_order(
        &text,
        &[
            "خدمة المواطنين",
            "ماذا تريد أن تفعل؟",
            &title,
            "الأزرار: رجوع، إلغاء",
        ],
    );
    assert_eq!(EspeakSpeaker::voice(&lang("ar")), "ar");
}

#[test]
fn a_form_page_reads_fields_with_their_answers_and_messages() {
    let h = harness();
    // The first empty field holds what was typed ("Jürgen" in German).
    let text = h.spoken("form-text", "de");
    in_order(
        &text,
        &[
            "Schritt 1 von ",
            ": Jürgen",
            "Schaltflächen: Zurück, Abbrechen, Weiter",
        ],
    );
    assert!(text.contains(": leer"), "empty fields say so: {text}");

    let text = h.spoken("form-text", "uk");
    in_order(
        &text,
        &["Крок 1 з ", ": Олена", "Кнопки: Назад, Скасувати, Далі"],
    );

    // After "Weiter" on an empty page: the summary, then each field's message after it.
    let text = h.spoken("form-errors", "en");
    in_order(
        &text,
        &[
            "Step 1 of ",
            "Please check the entries marked in red.",
            ": empty",
            "Buttons: Back, Cancel, Next",
        ],
    );
    let message = h.kiosk.with_journey(|j| {
        let problem = j.problems().first().cloned().expect("a problem");
        j.message(&problem.invalid)
    });
    assert!(text.contains(&message), "{message:?} missing in {text}");
}

#[test]
fn the_receipt_spells_the_reference() {
    let h = harness();
    let text = h.spoken("receipt-qr-code", "de");
    in_order(
        &text,
        &[
            "Ihr Antrag ist eingegangen",
            "Ihre Vorgangsnummer: G E, 2 0 2 6, 7 Q 4 M, K 2",
            "Der Beleg kann gerade nicht gedruckt werden.",
            "QR-Code mit der Vorgangsnummer",
            "Schaltflächen: Fertig",
        ],
    );
    let text = h.spoken("receipt-printed", "tr");
    assert!(
        text.contains("İşlem numaranız: G E, 2 0 2 6, 7 Q 4 M, K 2"),
        "{text}"
    );
    assert!(text.ends_with("Düğmeler: Tamam"), "{text}");
}

#[test]
fn the_pin_screen_says_how_many_digits_but_never_which() {
    let h = harness();
    h.stage("eid-pin", "de");
    // Replace the staged digits with known ones.
    let eid = h.kiosk.ui().component().global::<EidAdapter<'_>>();
    for _ in 0..6 {
        eid.invoke_backspace();
    }
    for digit in ["9", "8", "7"] {
        eid.invoke_key(digit.into());
    }
    settle();
    assert_eq!(eid.get_digits(), 3);
    let (text, language) = h.read_aloud();
    assert_eq!(language.code(), "de");
    in_order(
        &text,
        &[
            "Bitte geben Sie Ihre PIN ein",
            "PIN: 3 von 6 Ziffern eingegeben",
            "Verbleibende Versuche: 2",
            "Schaltflächen: Bestätigen, Zurück, Abbrechen",
        ],
    );
    for digit in ['9', '8', '7'] {
        assert!(!text.contains(digit), "a PIN digit was spoken: {text}");
    }

    h.stage("eid-pin", "ar");
    let (text, _) = h.read_aloud();
    assert!(text.contains("يرجى إدخال رمز PIN"), "{text}");
    assert!(text.contains("تم إدخال 3 من 6 أرقام"), "{text}");

    // The passport's CAN too: the count only.
    let text = h.spoken("identify-can", "de");
    assert!(
        text.contains("Zugangsnummer: 3 von 6 Ziffern eingegeben"),
        "{text}"
    );
    for digit in ['1', '9'] {
        assert!(!text.contains(digit), "a CAN digit was spoken: {text}");
    }
}

#[test]
fn eid_consent_and_appointment_screens_are_read_in_full() {
    let h = harness();
    let text = h.spoken("eid-consent", "de");
    in_order(
        &text,
        &[
            "Anmelden mit dem Online-Ausweis",
            "Anbieter: Stadtverwaltung Musterstadt",
            "Berechtigung gültig: 01.01.2026 bis 31.12.2026",
            "Diese Daten werden aus Ihrem Ausweis gelesen:",
            "Familienname",
            "Doktorgrad: ausgewählt",
            "Schaltflächen: Zustimmen, Nicht zustimmen, Zurück, Abbrechen",
        ],
    );
    let text = h.spoken("eid-consent", "en");
    assert!(
        text.contains("Provider: Stadtverwaltung Musterstadt"),
        "{text}"
    );

    let text = h.spoken("check-in-receipt", "de");
    in_order(
        &text,
        &[
            "Sie sind angemeldet",
            "Ihr Termin um ",
            "Bitte nehmen Sie im Wartebereich Platz",
        ],
    );
    let text = h.spoken("appointment-too-early", "de");
    in_order(
        &text,
        &[
            "Für Ihren Termin ist es noch zu früh",
            "Die Anmeldung ist ab ",
            "Schaltflächen: Fertig",
        ],
    );
}

#[test]
fn overlays_are_read_instead_of_the_screen_below() {
    let h = harness();
    let text = h.spoken("idle-warning", "de");
    assert!(text.starts_with("Sind Sie noch da? In "), "{text}");
    assert!(text.ends_with("Schaltflächen: Mehr Zeit"), "{text}");
    assert!(!text.contains("Schritt"), "{text}");

    let text = h.spoken("language-menu", "en");
    assert!(
        text.starts_with("Choose language. Buttons: Deutsch, English"),
        "{text}"
    );
}

#[test]
fn the_header_button_reads_aloud() {
    let h = harness();
    h.stage("service", "de");
    let button: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(h.kiosk.ui().component(), "Vorlesen")
            .filter(|e| e.accessible_role() != Some(AccessibleRole::Text))
            .collect();
    assert_eq!(button.len(), 1);
    button[0].mock_single_click(slint::platform::PointerEventButton::Left);
    settle();
    let (text, language) = h.heard.0.borrow().last().cloned().unwrap();
    assert_eq!(language.code(), "de");
    assert!(text.contains("Was möchten Sie erledigen?"), "{text}");
}
