//! Personal data never reaches the log, `Debug` output or effects other than
//! the submission payload.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use kiosk_catalogue::{FieldValue, IdentityAttribute, IdentityMethod};
use kiosk_journey::{Event, IdentifyChoice};
use support::{Harness, passport};

/// Recognisable values that must never show up outside the payload.
const SECRETS: [&str; 7] = [
    "Zyxwert",
    "Quendolin",
    "1964-08-12",
    "12.08.1964",
    "Kowalskistr",
    "Schnuffelhund",
    "987654",
];

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_whole_journey_logs_no_personal_value() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let mut debug_dumps = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let mut h = Harness::fixture();
        h.send(Event::Start);
        h.language("de");
        h.send(Event::ChooseService("pet-test".into()));
        h.send(Event::ChooseIdentification(IdentifyChoice::Method(
            IdentityMethod::Passport,
        )));
        h.send(Event::EnterCan("987654".into()));
        let data = passport(
            &[
                (IdentityAttribute::Surname, "Zyxwert"),
                (IdentityAttribute::GivenNames, "Quendolin"),
                (IdentityAttribute::DateOfBirth, "1964-08-12"),
            ],
            true,
        );
        debug_dumps.push_str(&format!("{data:?}"));
        h.send(Event::IdentityRead(data));
        h.send(Event::SetAnswer {
            field: "address".into(),
            value: FieldValue::Address {
                street: "Kowalskistr".into(),
                number: "3".into(),
            },
        });
        h.choose("contact", "none");
        // An invalid value, so validation runs on personal data and fails.
        h.text("birth_date", "12.08.1964x");
        h.send(Event::Next);
        h.text("birth_date", "12.08.1964");
        h.send(Event::Next);
        h.send(Event::AddGroupItem {
            group: "pets".into(),
        });
        h.group_answer("pets", 0, "name", FieldValue::Text("Schnuffelhund".into()));
        h.group_answer("pets", 0, "kind", FieldValue::Choice("dog".into()));
        h.text("pickup", "01.12.2026");
        h.choose("size", "small");
        h.send(Event::Next);
        debug_dumps.push_str(&format!("{:?} {:#?}", h.journey, h.journey.problems()));
        h.send(Event::Next);
        h.consent_to_all();
        h.send(Event::Next);
        let payload = String::from_utf8(h.last_submission().unwrap().to_string().into()).unwrap();
        assert!(
            payload.contains("Zyxwert"),
            "the payload carries the answers"
        );
        debug_dumps.push_str(&format!("{:?}", h.effects));
        h.send(Event::Submitted {
            reference: "GE-K07-4F7Q-9X".into(),
            queued_offline: false,
        });
        h.send(Event::ReceiptNotPrinted);
        debug_dumps.push_str(&format!("{:?}", h.journey));
        h.advance(1000);
        h.advance(1000);
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("journey session ended"),
        "the log was captured: {log}"
    );
    for secret in SECRETS {
        assert!(
            !log.contains(secret),
            "'{secret}' leaked into the log:\n{log}"
        );
        assert!(
            !debug_dumps.contains(secret),
            "'{secret}' leaked into Debug output:\n{debug_dumps}"
        );
    }
}
