//! The eID login screens and the appointment check-in, driven through the real
//! window with the Slint testing backend: AusweisApp's messages come in as
//! journey events, the citizen taps by accessible label.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use common::settle;
use i_slint_backend_testing::{ElementHandle, ElementQuery};
use kiosk_catalogue::{Catalogue, Language};
use kiosk_journey::eid::protocol::{AccessRight, Command, Message};
use kiosk_journey::eid::{Outcome, message_codes};
use kiosk_journey::{
    Appointment, AppointmentTiming, Capabilities, Effect, EidPhase, Event, IdentifyStep, Step,
};
use kiosk_ui::generated::{EidAdapter, EidRight, EidTexts};
use kiosk_ui::{EffectHandler, EventSender, Kiosk, ManualClock};
use slint::ComponentHandle;

/// Keeps every effect the journey asked for.
#[derive(Clone, Default)]
struct Effects(Rc<RefCell<Vec<Effect>>>);

impl EffectHandler for Effects {
    fn perform(&mut self, effect: Effect, _events: &EventSender) {
        self.0.borrow_mut().push(effect);
    }

    fn perform_staff(&mut self, _effect: kiosk_staff::StaffEffect, _events: &EventSender) {}
}

impl Effects {
    /// The AusweisApp commands sent so far, by name.
    fn command_names(&self) -> Vec<&'static str> {
        self.0
            .borrow()
            .iter()
            .filter_map(|e| match e {
                Effect::EidCommand(command) => Some(command.name()),
                _ => None,
            })
            .collect()
    }
}

/// Every log line of the test's thread, with every field, span fields
/// included when a span opens (so the test sees exactly what a log would get).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures this thread's `tracing` output until the guard is dropped.
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Harness {
    kiosk: Kiosk,
    clock: ManualClock,
    effects: Effects,
}

fn harness(width: f32, height: f32) -> Harness {
    let clock = ManualClock::new(time::macros::date!(2026 - 11 - 24));
    let effects = Effects::default();
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

    fn activate(&self, label: &str) {
        self.find(label).invoke_accessible_default_action();
        settle();
    }

    fn send(&self, event: Event) {
        self.kiosk.dispatch(event);
        settle();
    }

    /// An AusweisApp message, as the SDK sends it.
    fn sdk(&self, json: &str) {
        self.send(Event::EidMessage(
            Message::parse(json).expect("SDK message"),
        ));
    }

    fn step(&self) -> Step {
        self.kiosk.with_journey(|j| j.step().clone())
    }

    fn eid(&self) -> EidAdapter<'_> {
        self.kiosk.ui().component().global::<EidAdapter<'_>>()
    }

    /// Every text the window holds where a person or a screen reader could
    /// read it: labels, values, descriptions of every element.
    fn all_texts(&self) -> Vec<String> {
        let mut texts = Vec::new();
        for element in ElementQuery::from_root(self.kiosk.ui().component()).find_all() {
            texts.extend(element.accessible_label().map(|t| t.to_string()));
            texts.extend(element.accessible_value().map(|t| t.to_string()));
            texts.extend(element.accessible_description().map(|t| t.to_string()));
            texts.extend(element.accessible_placeholder_text().map(|t| t.to_string()));
        }
        let eid = self.eid();
        texts.extend(
            [
                eid.get_screen(),
                eid.get_outcome(),
                eid.get_advice(),
                eid.get_card_problem(),
                eid.get_provider_name(),
                eid.get_transaction_info(),
            ]
            .map(|t| t.to_string()),
        );
        texts
    }

    /// From the attract screen to the route choice of the dog tax, online
    /// with AusweisApp and a reader.
    fn to_route_choice(&self, capabilities: Capabilities) {
        self.tap("Berühren Sie den Bildschirm, um zu beginnen");
        self.tap("Deutsch");
        self.send(Event::Capabilities(capabilities));
        let title = Catalogue::embedded_default()
            .service("dog-tax")
            .unwrap()
            .title
            .get(&Language::german())
            .to_owned();
        self.tap(&title);
        assert_eq!(self.step(), Step::Identify(IdentifyStep::Choosing));
    }

    /// From the route choice to the consent screen.
    fn to_consent(&self) {
        self.activate("Personalausweis (Online-Ausweis)");
        assert_eq!(
            self.step(),
            Step::Identify(IdentifyStep::Eid(EidPhase::Preparing))
        );
        assert!(self.exists("Die Anmeldung wird vorbereitet …"));
        self.send(Event::EidSessionReady {
            tc_token_url: "https://eid.example/tc".into(),
        });
        assert_eq!(self.effects.command_names(), ["RUN_AUTH"]);
        self.sdk(ACCESS_RIGHTS);
        self.sdk(CERTIFICATE);
        assert_eq!(self.eid().get_screen(), "consent");
    }

    /// Taps digits on the on-screen pad.
    fn type_digits(&self, digits: &str) {
        for digit in digits.chars() {
            self.tap(&digit.to_string());
        }
    }
}

const ONLINE: Capabilities = Capabilities {
    online: true,
    card_reader: true,
    eid_client: true,
};

const ACCESS_RIGHTS: &str = r#"{"msg":"ACCESS_RIGHTS","chat":{
    "effective":["FamilyName","GivenNames","Address","DoctoralDegree"],
    "optional":["DoctoralDegree"],
    "required":["FamilyName","GivenNames","Address"]},
    "transactionInfo":"Hundesteuer-Anmeldung"}"#;

const CERTIFICATE: &str = r#"{"msg":"CERTIFICATE","description":{
    "issuerName":"D-Trust GmbH","issuerUrl":"https://www.d-trust.net",
    "subjectName":"Stadtverwaltung Musterstadt","subjectUrl":"https://portal.musterstadt.example",
    "termsOfUsage":"Anschrift: Rathausplatz 1","purpose":"Anmeldung im Bürgerportal"},
    "validity":{"effectiveDate":"2026-01-01","expirationDate":"2026-12-31"}}"#;

/// `ENTER_PIN`, `ENTER_CAN` or `ENTER_PUK` with the card's retry counter.
fn enter(kind: &str, retry_counter: i32, keypad: bool) -> String {
    format!(
        r#"{{"msg":"{kind}","reader":{{"name":"REINER SCT cyberJack RFID basis","attached":true,
            "keypad":{keypad},"card":{{"inoperative":false,"deactivated":false,"retryCounter":{retry_counter}}}}}}}"#
    )
}

#[test]
fn the_pin_is_typed_on_the_pad_and_reaches_ausweisapp_exactly_once() {
    let logs = Logs::default();
    let _log_guard = logs.capture();
    let h = harness(1920.0, 1080.0);
    h.to_route_choice(ONLINE);
    h.to_consent();

    // Who asks, for what; the optional right has a switch.
    for text in [
        "Stadtverwaltung Musterstadt",
        "https://portal.musterstadt.example",
        "Anmeldung im Bürgerportal",
        "D-Trust GmbH",
        "01.01.2026 bis 31.12.2026",
        "Hundesteuer-Anmeldung",
        "Familienname",
        "Vornamen",
        "Anschrift",
    ] {
        assert!(h.exists(text), "the consent screen shows {text:?}");
    }
    h.activate("Doktorgrad");
    let chat = h.effects.0.borrow().iter().find_map(|e| match e {
        Effect::EidCommand(Command::SetAccessRights { chat }) => Some(chat.clone()),
        _ => None,
    });
    assert_eq!(
        chat,
        Some(Vec::<AccessRight>::new()),
        "switched off: no optional right"
    );
    h.tap("Zustimmen");
    assert_eq!(h.effects.command_names().last(), Some(&"ACCEPT"));

    h.sdk(r#"{"msg":"INSERT_CARD"}"#);
    assert!(h.exists("Legen Sie Ihren Personalausweis auf das Lesegerät"));
    h.sdk(&enter("ENTER_PIN", 3, false));
    assert!(h.exists("Bitte geben Sie Ihre PIN ein"));
    assert!(!h.exists("Die PIN war nicht richtig. Bitte versuchen Sie es noch einmal."));

    // Too short first: explained, nothing sent.
    h.type_digits("739");
    assert_eq!(h.eid().get_digits(), 3);
    h.tap("Bestätigen");
    assert!(h.exists("Die PIN hat 6 Ziffern. Bitte geben Sie alle 6 Ziffern ein."));
    assert!(!h.effects.command_names().contains(&"SET_PIN"));
    h.tap("Löschen");
    assert_eq!(h.eid().get_digits(), 2);
    h.type_digits("9164");
    assert_eq!(h.eid().get_digits(), 6);
    let pin = "739164";
    let typed_texts = h.all_texts();
    for window in 2..=pin.len() {
        let part = &pin[..window];
        assert!(
            typed_texts.iter().all(|t| !t.contains(part)),
            "no text in the window shows the typed digits ({part})"
        );
    }
    h.tap("Bestätigen");

    let set_pins: Vec<String> = h
        .effects
        .0
        .borrow()
        .iter()
        .filter_map(|e| match e {
            Effect::EidCommand(command @ Command::SetPin { value: Some(_) }) => {
                Some(String::from_utf8(command.to_json().unwrap().to_vec()).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(set_pins.len(), 1, "exactly one SET_PIN");
    assert_eq!(
        set_pins[0],
        format!(r#"{{"cmd":"SET_PIN","value":"{pin}"}}"#)
    );
    assert_eq!(h.eid().get_digits(), 0, "the pad is empty after sending");
    assert_eq!(h.eid().get_screen(), "working");

    // A wrong PIN: said so, the attempts left, a fresh pad.
    h.sdk(&enter("ENTER_PIN", 2, false));
    assert!(h.exists("Die PIN war nicht richtig. Bitte versuchen Sie es noch einmal."));
    assert!(h.exists("Verbleibende Versuche: 2"));
    assert_eq!(h.eid().get_digits(), 0);
    h.type_digits("12");
    // Leaving the screen wipes what was typed.
    h.tap("Zurück");
    assert_eq!(h.step(), Step::Identify(IdentifyStep::Choosing));
    assert_eq!(h.effects.command_names().last(), Some(&"CANCEL"));
    assert_eq!(h.eid().get_digits(), 0);

    // The PIN appears nowhere else: not in the effects' Debug, not in a log line.
    let debug = format!("{:?}", h.effects.0.borrow());
    assert!(!debug.contains(pin), "{debug}");
    let log = logs.text();
    assert!(!log.is_empty(), "the capture saw the journey's log lines");
    for window in 3..=pin.len() {
        assert!(!log.contains(&pin[..window]), "a log line holds PIN digits");
    }
    assert!(h.all_texts().iter().all(|t| !t.contains("739")));
}

#[test]
fn the_can_the_last_attempt_and_a_blocked_pin_are_explained() {
    let h = harness(1080.0, 1920.0);
    h.to_route_choice(ONLINE);
    h.to_consent();
    h.tap("Zustimmen");
    h.sdk(&enter("ENTER_CAN", 1, false));
    assert!(h.exists("Bitte geben Sie die Zugangsnummer ein"));
    assert!(h.exists(
        "Die PIN wurde zweimal falsch eingegeben. Mit der Zugangsnummer (CAN) geben Sie den dritten und letzten Versuch frei."
    ));
    assert!(h.exists(
        "Die 6-stellige Zugangsnummer steht auf der Vorderseite Ihres Ausweises rechts unten."
    ));
    h.type_digits("482913");
    h.tap("Bestätigen");
    let cans = h
        .effects
        .0
        .borrow()
        .iter()
        .filter(|e| matches!(e, Effect::EidCommand(Command::SetCan { value: Some(_) })))
        .count();
    assert_eq!(cans, 1);

    h.sdk(&enter("ENTER_PIN", 1, false));
    assert!(h.exists(
        "Achtung, letzter Versuch: Ist die PIN wieder falsch, wird sie gesperrt. Entsperren lässt sie sich dann nur mit der PUK aus Ihrem PIN-Brief."
    ));

    // The reader has a keypad: no pad on the screen.
    h.sdk(&enter("ENTER_PIN", 1, true));
    assert!(h.exists("Geben Sie die PIN am Lesegerät ein"));
    assert!(!h.exists("Bestätigen"));

    h.sdk(&enter("ENTER_PUK", 0, false));
    assert_eq!(h.effects.command_names().last(), Some(&"CANCEL"));
    h.sdk(
        r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error",
            "minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/sal#cancellationByUser"}}"#,
    );
    assert!(matches!(
        h.step(),
        Step::Identify(IdentifyStep::Eid(EidPhase::Ended(Outcome::Failed { .. })))
    ));
    assert!(h.exists("Ihre PIN ist gesperrt, weil sie dreimal falsch eingegeben wurde."));
    assert!(h.exists(
        "Gehen Sie mit Ihrem Ausweis und Ihrem PIN-Brief mit der PUK zum Bürgerbüro. Dort wird die PIN entsperrt. Ohne PIN-Brief kann das Bürgerbüro Ihnen eine neue PIN setzen."
    ));
    assert!(!h.exists("Erneut versuchen"), "trying again cannot help");
    h.tap("Anders ausweisen");
    assert_eq!(h.step(), Step::Identify(IdentifyStep::Choosing));
}

#[test]
fn a_card_taken_away_too_early_can_be_tried_again() {
    let h = harness(1920.0, 1080.0);
    h.to_route_choice(ONLINE);
    h.to_consent();
    h.tap("Zustimmen");
    h.sdk(r#"{"msg":"INSERT_CARD"}"#);
    h.sdk(
        r#"{"msg":"READER","name":"REINER SCT cyberJack RFID basis","attached":true,"keypad":false,
            "card":{"deactivated":true,"retryCounter":3}}"#,
    );
    assert!(h.exists(
        "Die Online-Ausweisfunktion dieses Ausweises ist ausgeschaltet. Das Bürgerbüro kann sie einschalten. Bitte weisen Sie sich so lange auf einem anderen Weg aus."
    ));
    h.sdk(
        r#"{"msg":"AUTH","result":{"major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error",
            "minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/al/common#internalError",
            "reason":"Card_Removed"}}"#,
    );
    assert!(h.exists("Der Ausweis wurde zu früh vom Lesegerät genommen."));
    let sessions = |h: &Harness| {
        h.effects
            .0
            .borrow()
            .iter()
            .filter(|e| matches!(e, Effect::StartEidSession { .. }))
            .count()
    };
    assert_eq!(sessions(&h), 1);
    h.tap("Erneut versuchen");
    assert_eq!(
        sessions(&h),
        2,
        "trying again asks the portal for a new session"
    );
    assert_eq!(
        h.step(),
        Step::Identify(IdentifyStep::Eid(EidPhase::Preparing))
    );
}

#[test]
fn offline_the_route_choice_says_why_the_online_id_is_not_possible() {
    let h = harness(1920.0, 1080.0);
    h.to_route_choice(Capabilities {
        online: false,
        card_reader: true,
        eid_client: true,
    });
    assert!(h.exists("Online-Ausweis: gerade nicht möglich, der Kiosk ist offline."));
    assert!(!h.exists("Personalausweis (Online-Ausweis)"));
    // "Read aloud" says it too.
    let heard = Heard::default();
    h.kiosk.ui().set_speaker(Box::new(heard.clone()));
    h.tap("Vorlesen");
    let spoken = heard.0.borrow().last().cloned().unwrap_or_default();
    assert!(
        spoken.contains("Online-Ausweis: gerade nicht möglich, der Kiosk ist offline."),
        "{spoken}"
    );
    // Back online: offered again, the notice gone.
    h.send(Event::Capabilities(ONLINE));
    assert!(h.exists("Personalausweis (Online-Ausweis)"));
    assert!(!h.exists("Online-Ausweis: gerade nicht möglich, der Kiosk ist offline."));
}

/// Remembers what "read aloud" would have said.
#[derive(Clone, Default)]
struct Heard(Rc<RefCell<Vec<String>>>);

impl kiosk_ui::Speaker for Heard {
    fn speak(&mut self, text: &str, _language: &Language) {
        self.0.borrow_mut().push(text.to_owned());
    }
}

fn appointment(timing: AppointmentTiming) -> Event {
    Event::AppointmentShown(Appointment {
        service: "residence-certificate".into(),
        starts_at: "10:30".into(),
        timing,
        credential: "test-credential".into(),
    })
}

fn residence_certificate() -> String {
    Catalogue::embedded_default()
        .service("residence-certificate")
        .unwrap()
        .title
        .get(&Language::german())
        .to_owned()
}

#[test]
fn a_checked_in_appointment_shows_where_to_wait() {
    let h = harness(1080.0, 1920.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.tap("Deutsch");
    h.send(appointment(AppointmentTiming::Due));
    assert_eq!(h.step(), Step::Submitting);
    assert!(
        h.effects
            .0
            .borrow()
            .iter()
            .any(|e| matches!(e, Effect::Submit(_)))
    );
    h.send(Event::Submitted {
        reference: "GE-2026-T7K3-W9".into(),
        queued_offline: false,
    });
    h.send(Event::ReceiptPrinted);
    assert!(h.exists("Sie sind angemeldet"));
    assert!(h.exists(&format!("Ihr Termin um 10:30: {}", residence_certificate())));
    assert!(h.exists("Bitte nehmen Sie im Wartebereich Platz, Sie werden aufgerufen."));
    assert!(!h.exists("Ihr Antrag ist eingegangen"));
    h.tap("Fertig");
    assert_eq!(h.step(), Step::Goodbye);
}

#[test]
fn an_appointment_too_early_or_missed_says_what_to_do() {
    let h = harness(1920.0, 1080.0);
    h.tap("Berühren Sie den Bildschirm, um zu beginnen");
    h.send(appointment(AppointmentTiming::TooEarly {
        opens_at: "10:15".into(),
    }));
    assert!(h.exists("Für Ihren Termin ist es noch zu früh"));
    assert!(h.exists(&format!("Ihr Termin um 10:30: {}", residence_certificate())));
    assert!(h.exists(
        "Die Anmeldung ist ab 10:15 möglich. Bitte halten Sie Ihr Smartphone dann noch einmal an das Lesegerät."
    ));
    assert!(!h.exists("Abbrechen"), "one way out: Fertig");
    h.tap("Fertig");
    assert_eq!(h.step(), Step::Attract);

    h.send(appointment(AppointmentTiming::Missed));
    assert!(h.exists("Ihr Termin ist leider vorbei"));
    assert!(h.exists(
        "Die Zeit zum Anmelden ist leider vorbei. Bitte gehen Sie zum Empfang im Bürgerbüro, dort hilft man Ihnen weiter."
    ));
    h.send(Event::Finish);
    h.send(appointment(AppointmentTiming::OtherDay {
        date: "02.12.2026".into(),
    }));
    assert!(h.exists(&format!(
        "Ihr Termin am 02.12.2026 um 10:30: {}",
        residence_certificate()
    )));
}

/// Every message code of the eID crate has a text, in German and in every
/// bundled translation (a new code without a text fails here).
#[test]
fn every_eid_message_code_has_a_text_in_every_language() {
    let h = harness(1920.0, 1080.0);
    let texts = h.kiosk.ui().component().global::<EidTexts<'_>>();
    let codes = message_codes();
    assert!(codes.len() > 40, "{} codes", codes.len());
    assert_eq!(texts.invoke_message("eid.no_such_code".into()), "");
    slint::select_bundled_translation("").unwrap();
    let german: Vec<String> = codes
        .iter()
        .map(|code| texts.invoke_message((*code).into()).to_string())
        .collect();
    for (code, text) in codes.iter().zip(&german) {
        assert!(!text.is_empty(), "no German text for {code}");
    }
    for language in ["en", "tr", "ar", "uk"] {
        slint::select_bundled_translation(language).unwrap();
        for (code, german) in codes.iter().zip(&german) {
            let text = texts.invoke_message((*code).into()).to_string();
            assert!(!text.is_empty(), "{language}: no text for {code}");
            assert_ne!(&text, german, "{language}: {code} is not translated");
        }
        let other = texts.invoke_right_name(EidRight {
            code: "eid.right.other".into(),
            sdk: "FutureRight".into(),
            optional: false,
            enabled: true,
        });
        assert!(other.contains("FutureRight"), "{language}: {other}");
    }
    slint::select_bundled_translation("").unwrap();
}
