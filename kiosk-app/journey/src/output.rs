//! What leaves the journey: the submission payload and the receipt content.

use kiosk_catalogue::{Field, FieldKind, FieldValue, GroupItem, Service, format_date, parse_date};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use zeroize::Zeroizing;

use crate::io::{Appointment, Origin, ReceiptContent, SubmissionDraft};
use crate::machine::Journey;

/// Serialises straight into a zeroised buffer, borrowing the answers, so no
/// unzeroised copy of the personal data is made on the way.
pub(crate) fn submission(journey: &Journey, service: &Service) -> SubmissionDraft {
    let payload = Payload { journey, service };
    // Reserve generously: a growing Vec would leave old copies in freed memory.
    let mut buffer = Zeroizing::new(Vec::with_capacity(64 * 1024));
    serde_json::to_writer(&mut *buffer, &payload).expect("serialising to a Vec cannot fail");
    SubmissionDraft {
        service_id: service.id.clone(),
        service_version: service.version,
        payload: buffer,
    }
}

/// The service id of an appointment check-in in the outbox and at the portal.
pub const CHECK_IN_SERVICE_ID: &str = "appointment-check-in";

/// The check-in's payload: which appointment arrived (the issuer-signed
/// credential identifies it to the appointment system) and the citizen's language.
pub(crate) fn check_in(appointment: &Appointment, language: &str) -> SubmissionDraft {
    #[derive(Serialize)]
    struct CheckIn<'a> {
        kind: &'static str,
        service: &'a str,
        starts_at: &'a str,
        credential: &'a str,
        language: &'a str,
    }
    let mut buffer = Zeroizing::new(Vec::with_capacity(4 * 1024));
    serde_json::to_writer(
        &mut *buffer,
        &CheckIn {
            kind: CHECK_IN_SERVICE_ID,
            service: &appointment.service,
            starts_at: &appointment.starts_at,
            credential: &appointment.credential,
            language,
        },
    )
    .expect("serialising to a Vec cannot fail");
    SubmissionDraft {
        service_id: CHECK_IN_SERVICE_ID.to_owned(),
        service_version: 1,
        payload: buffer,
    }
}

struct Payload<'a> {
    journey: &'a Journey,
    service: &'a Service,
}

#[derive(Serialize)]
struct ServiceRef<'a> {
    id: &'a str,
    version: u32,
}

#[derive(Serialize)]
struct IdentityRef {
    method: &'static str,
    verified: bool,
}

impl Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let journey = self.journey;
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry(
            "service",
            &ServiceRef {
                id: &self.service.id,
                version: self.service.version,
            },
        )?;
        map.serialize_entry("language", journey.language().code())?;
        map.serialize_entry(
            "identity",
            &journey
                .session_identity()
                .map(|(method, verified)| IdentityRef {
                    method: method.name(),
                    verified,
                }),
        )?;
        map.serialize_entry(
            "answers",
            &AnswersOut {
                journey,
                service: self.service,
            },
        )?;
        map.serialize_entry("consents", journey.session_consents())?;
        map.end()
    }
}

struct AnswersOut<'a> {
    journey: &'a Journey,
    service: &'a Service,
}

#[derive(Serialize)]
struct AnswerOut<'a> {
    value: ValueOut<'a>,
    origin: Origin,
}

impl Serialize for AnswersOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for page in self.journey.visible_pages() {
            for field in &self.service.pages[page].fields {
                if !self.journey.field_visible(field) {
                    continue;
                }
                let Some(answer) = self.journey.answer(&field.id) else {
                    continue;
                };
                if answer.value.is_empty() {
                    continue;
                }
                map.serialize_entry(
                    &field.id,
                    &AnswerOut {
                        value: ValueOut {
                            field,
                            value: &answer.value,
                        },
                        origin: answer.origin,
                    },
                )?;
            }
        }
        map.end()
    }
}

struct ValueOut<'a> {
    field: &'a Field,
    value: &'a FieldValue,
}

#[derive(Serialize)]
struct AddressOut<'a> {
    street: &'a str,
    number: &'a str,
}

impl Serialize for ValueOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            FieldValue::Text(t) | FieldValue::Choice(t) => s.serialize_str(t),
            FieldValue::Choices(c) => c.serialize(s),
            FieldValue::Checked(c) => s.serialize_bool(*c),
            FieldValue::Address { street, number } => AddressOut { street, number }.serialize(s),
            FieldValue::Group(items) => {
                let FieldKind::Group { fields, .. } = &self.field.kind else {
                    return s.serialize_none();
                };
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&ItemOut { fields, item })?;
                }
                seq.end()
            }
        }
    }
}

struct ItemOut<'a> {
    fields: &'a [Field],
    item: &'a GroupItem,
}

impl Serialize for ItemOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for field in self.fields {
            if field
                .visible_if
                .as_ref()
                .is_some_and(|c| !c.holds(self.item))
            {
                continue;
            }
            if let Some(value) = self.item.get(&field.id).filter(|v| !v.is_empty()) {
                map.serialize_entry(&field.id, &ValueOut { field, value })?;
            }
        }
        map.end()
    }
}

/// The receipt: service, reference, and only the answers the catalogue marks
/// as fit for a receipt (the checker refuses the mark on personal fields).
pub(crate) fn receipt(
    journey: &Journey,
    service: Option<&Service>,
    reference: &str,
    queued_offline: bool,
) -> ReceiptContent {
    let language = journey.language().clone();
    let mut lines = Vec::new();
    if let Some(service) = service {
        for page in journey.visible_pages() {
            for field in &service.pages[page].fields {
                if !field.on_receipt || !journey.field_visible(field) {
                    continue;
                }
                let Some(answer) = journey.answer(&field.id) else {
                    continue;
                };
                if let Some(shown) = display_value(field, &answer.value, &language) {
                    lines.push((field.label.get(&language).to_owned(), shown));
                }
            }
        }
    }
    ReceiptContent {
        service_title: service
            .map(|s| s.title.get(&language).to_owned())
            .unwrap_or_default(),
        next_steps: service
            .map(|s| s.next_steps.get(&language).to_owned())
            .unwrap_or_default(),
        language,
        reference: reference.to_owned(),
        lines,
        queued_offline,
        appointment_at: None,
    }
}

/// An answer as a citizen reads it: option labels, dates as TT.MM.JJJJ.
pub fn display_value(
    field: &Field,
    value: &FieldValue,
    language: &kiosk_catalogue::Language,
) -> Option<String> {
    let label_of = |v: &str| {
        field
            .kind
            .options()
            .and_then(|o| o.iter().find(|o| o.value == v))
            .map(|o| o.label.get(language).to_owned())
            .unwrap_or_else(|| v.to_owned())
    };
    let shown = match (value, &field.kind) {
        (FieldValue::Text(t), FieldKind::Date { .. }) => {
            parse_date(t).map(format_date).unwrap_or_else(|| t.clone())
        }
        (FieldValue::Text(t), FieldKind::Decimal { .. }) => t.replace('.', ","),
        (FieldValue::Text(t), _) => t.clone(),
        (FieldValue::Choice(c), _) => label_of(c),
        (FieldValue::Choices(c), _) => c.iter().map(|v| label_of(v)).collect::<Vec<_>>().join(", "),
        (FieldValue::Checked(true), _) => "✓".to_owned(),
        (FieldValue::Checked(false), _) => "–".to_owned(),
        (FieldValue::Address { street, number }, _) => format!("{street} {number}"),
        (FieldValue::Group(items), _) => items.len().to_string(),
    };
    (!shown.trim().is_empty()).then_some(shown)
}
