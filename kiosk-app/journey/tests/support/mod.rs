//! A journey driven with explicit time, for the integration tests.

#![allow(dead_code, missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kiosk_catalogue::{Catalogue, FieldValue, IdentityAttribute, IdentityMethod, Language};
use kiosk_journey::{
    Capabilities, Effect, Event, IdentityData, Journey, JourneyConfig, Now, SessionOutcome,
};
use time::macros::date;
use zeroize::Zeroizing;

pub const TODAY: time::Date = date!(2026 - 11 - 24);

pub fn fixture_catalogue() -> Arc<Catalogue> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
    Arc::new(Catalogue::load_dir(&dir).unwrap_or_else(|e| panic!("fixture catalogue:\n{e}")))
}

pub struct Harness {
    pub journey: Journey,
    pub elapsed: Duration,
    pub effects: Vec<Effect>,
}

impl Harness {
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        let now = Now {
            elapsed: Duration::ZERO,
            today: TODAY,
        };
        let mut journey = Journey::new(catalogue, JourneyConfig::default(), now);
        journey.handle(
            Event::Capabilities(Capabilities {
                online: true,
                card_reader: true,
                eid_client: true,
            }),
            now,
        );
        Self {
            journey,
            elapsed: Duration::ZERO,
            effects: Vec::new(),
        }
    }

    pub fn fixture() -> Self {
        Self::new(fixture_catalogue())
    }

    pub fn now(&self) -> Now {
        Now {
            elapsed: self.elapsed,
            today: TODAY,
        }
    }

    /// Sends an event and returns the effects it produced (also kept in `effects`).
    pub fn send(&mut self, event: Event) -> Vec<String> {
        let effects = self.journey.handle(event, self.now());
        let names = effects.iter().map(effect_name).collect();
        self.effects.extend(effects);
        names
    }

    pub fn advance(&mut self, seconds: u64) -> Vec<String> {
        self.elapsed += Duration::from_secs(seconds);
        self.send(Event::Tick)
    }

    pub fn text(&mut self, field: &str, value: &str) {
        self.send(Event::SetAnswer {
            field: field.into(),
            value: FieldValue::Text(value.into()),
        });
    }

    pub fn choose(&mut self, field: &str, value: &str) {
        self.send(Event::SetAnswer {
            field: field.into(),
            value: FieldValue::Choice(value.into()),
        });
    }

    /// Ticks every consent of the chosen service.
    pub fn consent_to_all(&mut self) {
        let ids: Vec<String> = self
            .journey
            .service()
            .map(|s| s.consents.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        for id in ids {
            self.send(Event::SetConsent { id, given: true });
        }
    }

    /// Sets a field of a group item.
    pub fn group_answer(&mut self, group: &str, index: usize, field: &str, value: FieldValue) {
        self.send(Event::SetGroupAnswer {
            group: group.into(),
            index,
            field: field.into(),
            value,
        });
    }

    pub fn language(&mut self, code: &str) {
        self.send(Event::ChooseLanguage(Language::new(code).unwrap()));
    }

    pub fn last_submission(&self) -> Option<serde_json::Value> {
        self.effects.iter().rev().find_map(|e| match e {
            Effect::Submit(draft) => Some(serde_json::from_slice(&draft.payload).unwrap()),
            _ => None,
        })
    }

    pub fn outcomes(&self) -> Vec<SessionOutcome> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::SessionEnded(o) => Some(*o),
                _ => None,
            })
            .collect()
    }
}

pub fn effect_name(effect: &Effect) -> String {
    match effect {
        Effect::StartIdentification { method, can } => {
            format!("start-identification:{}:{}", method.name(), can.is_some())
        }
        Effect::StopIdentification => "stop-identification".into(),
        Effect::Submit(d) => format!("submit:{}", d.service_id),
        Effect::PrintReceipt(r) => format!("print:{}", r.reference),
        Effect::CallStaff => "call-staff".into(),
        Effect::SessionEnded(o) => format!("ended:{o:?}"),
        Effect::SessionStarted => "started".into(),
        Effect::StartEidSession { service_id, .. } => format!("eid-session:{service_id}"),
        Effect::EidCommand(c) => format!("eid:{}", c.name()),
        Effect::CompleteEidLogin { .. } => "eid-complete".into(),
    }
}

pub fn passport(attributes: &[(IdentityAttribute, &str)], verified: bool) -> IdentityData {
    IdentityData {
        method: IdentityMethod::Passport,
        verified,
        attributes: attributes
            .iter()
            .map(|(a, v)| (*a, Zeroizing::new((*v).to_owned())))
            .collect(),
    }
}
